package history

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/diskwatch/diskwatch/alerts/rules"
	"github.com/diskwatch/diskwatch/collectors/model"
)

func TestMemCompressKeepFilter(t *testing.T) {
	m := NewMem(10*rules.Day, true, rules.HistoryMetric)
	ctx := context.Background()
	vals := []float64{0, 0, 0, 0, 1, 1, 1, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5}
	for i, v := range vals {
		m.Append(ctx, base.Add(time.Duration(i)*rules.Day), []model.Sample{
			{Subject: "sda", Metric: "smart_attr_5_raw", Value: v},
			{Subject: "sda", Metric: "power_on_hours", Value: float64(i)}, // not read by the rules: not kept
		})
	}
	got, _ := m.Series("sda", "smart_attr_5_raw", time.Time{})
	day := func(i int) time.Time { return base.Add(time.Duration(i) * rules.Day) }
	// Kept: the last 10 days (9..19) as run ends, the run of 5s starting
	// at day 7 clipped to the window start.
	want := []rules.Point{{Time: day(9), Value: 5}, {Time: day(19), Value: 5}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if got, _ := m.Series("sda", "power_on_hours", time.Time{}); got != nil {
		t.Errorf("unwanted metric kept: %v", got)
	}
	// Without Keep, the runs' ends are all there and growth is intact.
	m2 := NewMem(0, true, nil)
	for i, v := range vals {
		m2.Append(ctx, day(i), []model.Sample{{Subject: "sda", Metric: "smart_attr_5_raw", Value: v}})
	}
	got, _ = m2.Series("sda", "smart_attr_5_raw", time.Time{})
	want = []rules.Point{{Time: day(0), Value: 0}, {Time: day(3), Value: 0}, {Time: day(4), Value: 1}, {Time: day(6), Value: 1},
		{Time: day(7), Value: 5}, {Time: day(19), Value: 5}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("compressed (-want +got):\n%s", d)
	}
	if inc := rules.Increase(got); inc != 5 {
		t.Errorf("increase over the compressed series %v, want 5", inc)
	}
	// Out-of-order and same-time appends.
	m2.Append(ctx, day(5).Add(time.Hour), []model.Sample{{Subject: "sda", Metric: "smart_attr_5_raw", Value: 2}})
	m2.Append(ctx, day(19), []model.Sample{{Subject: "sda", Metric: "smart_attr_5_raw", Value: 6}})
	got, _ = m2.Series("sda", "smart_attr_5_raw", day(5))
	want = []rules.Point{{Time: day(5).Add(time.Hour), Value: 2}, {Time: day(6), Value: 1}, {Time: day(7), Value: 5}, {Time: day(19), Value: 6}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("out of order (-want +got):\n%s", d)
	}
	m2.Forget("sda")
	if got, _ := m2.Series("sda", "smart_attr_5_raw", time.Time{}); got != nil || m2.Len() != 0 {
		t.Errorf("forgotten subject still there: %v", got)
	}
}
