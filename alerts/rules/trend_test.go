package rules

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)

// pts builds a daily series starting at t0 from values.
func pts(vs ...float64) []Point {
	out := make([]Point, len(vs))
	for i, v := range vs {
		out[i] = Point{Time: t0.Add(time.Duration(i) * Day), Value: v}
	}
	return out
}

func at(day int) time.Time { return t0.Add(time.Duration(day) * Day) }

func TestTrendKinds(t *testing.T) {
	type res struct {
		Window      int
		Increase    float64
		Within3     float64
		Rate        float64
		RateOK      bool
		NewNonZero  bool
		Accel       bool
		HeldFor2d   bool
		Held3       bool
		Hyst        bool
		ChangeSince float64
		Exceeds     bool
	}
	gt0 := func(v float64) bool { return v > 0 }
	cases := []struct {
		name string
		ps   []Point
		now  time.Time
		want res
	}{
		{"empty", nil, at(0), res{}},
		{"flat zero", pts(0, 0, 0, 0, 0), at(4), res{Window: 4, RateOK: true}},
		{"static non-zero", pts(8, 8, 8, 8, 8), at(4), res{Window: 4, RateOK: true, HeldFor2d: true, Held3: true, Exceeds: true}},
		{"first reallocation", pts(0, 0, 0, 0, 1), at(4), res{Window: 4, Increase: 1, Within3: 1, Rate: 0.25, RateOK: true, NewNonZero: true, Accel: true, ChangeSince: 1, Exceeds: true}},
		{"steady growth", pts(0, 1, 2, 3, 4, 5, 6, 7), at(7), res{Window: 4, Increase: 7, Within3: 4, Rate: 1, RateOK: true, HeldFor2d: true, Held3: true, ChangeSince: 7, Exceeds: true}},
		{"accelerating", pts(0, 0, 1, 1, 1, 5, 9), at(6), res{Window: 4, Increase: 9, Within3: 8, Rate: 1.8, RateOK: true, Accel: true, HeldFor2d: true, Held3: true, ChangeSince: 9, Exceeds: true}},
		{"pending cleared", pts(0, 4, 4, 0, 0), at(4), res{Window: 4, Increase: 4, Within3: 4, Rate: 1, RateOK: true}},
		{"hot then cooling", pts(40, 61, 58, 57), at(3), res{Window: 4, Increase: 21, Within3: 21, Rate: 7, RateOK: true, Accel: true, HeldFor2d: true, Held3: true, Hyst: true, ChangeSince: 17, Exceeds: true}},
		{"hot then cooled", pts(61, 62, 50), at(2), res{Window: 3, Increase: 1, Within3: 1, Rate: 0.5, RateOK: true, Accel: true, HeldFor2d: true, Held3: true, ChangeSince: -11, Exceeds: true}},
		{"counter reset", pts(10, 12, 0, 3), at(3), res{Window: 4, Increase: 5, Within3: 5, Rate: 5.0 / 3, RateOK: true, NewNonZero: true, Accel: true, ChangeSince: -7, Exceeds: true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got res
			got.Window = len(Window(c.ps, c.now.Add(-3*Day)))
			got.Increase = Increase(c.ps)
			got.Within3 = IncreaseWithin(c.ps, c.now, 3*Day)
			got.Rate, got.RateOK = RatePerDay(c.ps, c.now, 4*Day, 2*Day)
			got.NewNonZero = NewNonZero(c.ps, c.now, 3*Day)
			got.Accel = Accelerating(c.ps, c.now, 2*Day, 2, 1)
			got.HeldFor2d = HeldFor(c.ps, c.now, 2*Day, gt0)
			got.Held3 = HeldSamples(c.ps, 3, gt0)
			got.Hyst = Hysteresis{On: 60, Off: 55}.State(c.ps)
			if len(c.ps) > 0 {
				got.ChangeSince = ChangeSince(c.ps[0], c.ps)
				l, _ := Last(c.ps)
				got.Exceeds = Exceeds(l.Value, 0)
			}
			if d := cmp.Diff(c.want, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestVendorThreshAndFallingHysteresis(t *testing.T) {
	got := []bool{AtOrBelowThresh(36, 36), AtOrBelowThresh(37, 36), AtOrBelowThresh(0, 0), AtOrBelowThresh(1, 0)}
	if d := cmp.Diff([]bool{true, false, false, false}, got); d != "" {
		t.Errorf("AtOrBelowThresh (-want +got):\n%s", d)
	}
	cold := Hysteresis{On: 5, Off: 10, Falling: true}
	states := []bool{cold.State(pts(20, 4)), cold.State(pts(4, 8)), cold.State(pts(4, 8, 11)), cold.State(pts(20, 6))}
	if d := cmp.Diff([]bool{true, true, false, false}, states); d != "" {
		t.Errorf("falling hysteresis (-want +got):\n%s", d)
	}
	days := []float64{DaysUntil(90, 100, 1), DaysUntil(100, 100, 1), DaysUntil(50, 100, 0)}
	if days[0] != 10 || days[1] != 0 || days[2] < 1e300 {
		t.Errorf("DaysUntil = %v", days)
	}
}
