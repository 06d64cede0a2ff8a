package rules_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/diskwatch/diskwatch/alerts/history"
	"github.com/diskwatch/diskwatch/alerts/rules"
	"github.com/diskwatch/diskwatch/collectors/model"
)

var day0 = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

func ataDisk(attrs map[int]int64) model.Disk {
	d := model.Disk{Device: model.DeviceInfo{Path: "/dev/sda", Protocol: "ata", Model: "WDC WD40EFRX", Serial: "WD-1", RotationRate: 5400}, SMARTAvailable: true}
	for _, id := range []int{5, 187, 188, 197, 198, 199} {
		if v, ok := attrs[id]; ok {
			d.ATAAttributes = append(d.ATAAttributes, model.ATAAttribute{ID: id, Raw: v, Value: 100, Thresh: 0})
		}
	}
	return d
}

// feed appends one reading per step and evaluates the set at the last one,
// as the engine does (append, then evaluate).
func feed(t *testing.T, h *history.Mem, set *rules.Set, step time.Duration, disks []model.Disk) []model.Finding {
	t.Helper()
	var fs []model.Finding
	for i, d := range disks {
		now := day0.Add(time.Duration(i) * step)
		snap := &model.Snapshot{Time: now, Disks: []model.Disk{d}}
		if err := h.Append(context.Background(), now, snap.Samples()); err != nil {
			t.Fatal(err)
		}
		fs = set.Evaluate(&rules.Input{Snapshot: snap, Now: now, History: h}, nil)
	}
	return fs
}

func only(set *rules.Set, names ...string) *rules.Set {
	var rs []*rules.Rule
	for _, n := range names {
		r, ok := set.Lookup(n)
		if !ok {
			panic(n)
		}
		rs = append(rs, r)
	}
	return rules.NewSet(rs...)
}

type brief struct {
	Rule     string
	Severity model.Severity
}

func briefs(fs []model.Finding) []brief {
	var out []brief
	for _, f := range fs {
		out = append(out, brief{f.Rule, f.Severity})
	}
	return out
}

func series(vals ...int64) []model.Disk {
	var out []model.Disk
	for _, v := range vals {
		out = append(out, ataDisk(map[int]int64{5: v, 197: 0, 199: 0}))
	}
	return out
}

func TestGrowthRules(t *testing.T) {
	set := only(rules.Default(), "trend.reallocated", "trend.pending", "trend.crc", "risk.score")
	cases := []struct {
		name  string
		disks []model.Disk
		want  []brief
	}{
		{"healthy", series(0, 0, 0, 0), nil},
		// Tiers as measured on Backblaze data (README, "Risk score").
		{"static count: notice", series(8, 8, 8, 8), []brief{{"risk.score", model.Notice}}},
		{"first reallocation: at the WARNING line (weight 4)", series(0, 0, 0, 1), []brief{{"risk.score", model.Warning}, {"trend.reallocated", model.Notice}}},
		{"grew long ago (outside 30 days)", append(series(0, 4), series(append(make([]int64, 0, 40), repeat(4, 40)...)...)...), []brief{{"risk.score", model.Notice}}},
		{"slow growth of an old count: notice", append(series(100), series(100, 101, 102, 103)...), []brief{{"risk.score", model.Notice}, {"trend.reallocated", model.Notice}}},
		{"fast growth", series(0, 0, 40, 90), []brief{{"risk.score", model.Warning}, {"trend.reallocated", model.Notice}}},
		{"many reallocated sectors", series(2500, 2500), []brief{{"risk.score", model.Warning}}},
		{"reallocations and pending growing", []model.Disk{
			ataDisk(map[int]int64{5: 0, 197: 0}), ataDisk(map[int]int64{5: 2, 197: 0}), ataDisk(map[int]int64{5: 6, 197: 8}),
		}, []brief{{"risk.score", model.Warning}, {"trend.pending", model.Notice}, {"trend.reallocated", model.Notice}}},
		{"CRC errors", []model.Disk{ataDisk(map[int]int64{5: 0, 199: 0}), ataDisk(map[int]int64{5: 0, 199: 12})}, []brief{{"trend.crc", model.Warning}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := history.NewMem(0, false, nil)
			fs := feed(t, h, set, rules.Day, c.disks)
			if d := cmp.Diff(c.want, briefs(fs)); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
			for _, f := range fs {
				if f.Severity != model.OK && len(f.Evidence) == 0 {
					t.Errorf("%s: alert without evidence: %s", f.Rule, f.Message)
				}
				if f.Rule == "trend.reallocated" && (strings.Contains(f.Message, "Pinheiro") || !strings.Contains(strings.Join(f.Evidence, ""), "Pinheiro")) {
					t.Errorf("growth alert: evidence must be said once, in Evidence: %s / %q", f.Message, f.Evidence)
				}
				if f.Rule == "trend.crc" && !strings.Contains(f.Remedy, "cable") {
					t.Errorf("CRC alert does not point at the cable: %s", f.Remedy)
				}
				if f.Rule == "risk.score" && (!strings.Contains(f.Message, "failure-risk score") || !strings.Contains(f.Message, "(weight ")) {
					t.Errorf("risk message does not explain its score: %s", f.Message)
				}
			}
		})
	}
}

func repeat(v int64, n int) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func TestNoHistoryNoTrend(t *testing.T) {
	d := ataDisk(map[int]int64{5: 8})
	snap := &model.Snapshot{Time: day0, Disks: []model.Disk{d}}
	fs := only(rules.Default(), "trend.reallocated", "trend.temperature", "trend.wear").Evaluate(&rules.Input{Snapshot: snap, Now: day0}, nil)
	if len(fs) != 0 {
		t.Errorf("findings without a history store: %+v", fs)
	}
}

func TestAcknowledgedBaseline(t *testing.T) {
	set := only(rules.Default(), "trend.reallocated", "risk.score")
	h := history.NewMem(0, false, nil)
	// 8 sectors appeared, then the operator acknowledged them.
	fs := feed(t, h, set, rules.Day, series(0, 8))
	if d := cmp.Diff([]brief{{"risk.score", model.Warning}, {"trend.reallocated", model.Notice}}, briefs(fs)); d != "" {
		t.Fatalf("before ack (-want +got):\n%s", d)
	}
	h.Ack(context.Background(), ataDisk(nil).Device.ID(), "smart_attr_5_raw", day0.Add(rules.Day+time.Hour), 8)
	h2 := h // same store, later days
	var last []model.Finding
	for i, v := range []int64{8, 8, 9} {
		now := day0.Add(time.Duration(2+i) * rules.Day)
		snap := &model.Snapshot{Time: now, Disks: []model.Disk{series(v)[0]}}
		h2.Append(context.Background(), now, snap.Samples())
		last = set.Evaluate(&rules.Input{Snapshot: snap, Now: now, History: h2}, nil)
		if i < 2 && len(last) != 0 {
			t.Fatalf("day %d: acknowledged count still alerts: %+v", i, last)
		}
	}
	if d := cmp.Diff([]brief{{"risk.score", model.Warning}, {"trend.reallocated", model.Notice}}, briefs(last)); d != "" {
		t.Fatalf("growth past the ack (-want +got):\n%s", d)
	}
	if !strings.Contains(last[1].Message, "grew by 1") || !strings.Contains(last[1].Message, "acknowledged 8") {
		t.Errorf("message: %s", last[1].Message)
	}
	if !strings.Contains(last[0].Message, "1 reallocated") {
		t.Errorf("risk counts from the acknowledged value: %s", last[0].Message)
	}
}

func tempDisk(c float64) model.Disk {
	d := ataDisk(nil)
	d.TemperatureC = &c
	return d
}

func TestTemperatureHoldAndHysteresis(t *testing.T) {
	set := only(rules.Default(), "trend.temperature")
	temps := func(vs ...float64) []model.Disk {
		var out []model.Disk
		for _, v := range vs {
			out = append(out, tempDisk(v))
		}
		return out
	}
	cases := []struct {
		name string
		vals []float64
		want []brief
	}{
		{"normal", []float64{40, 41, 42, 41}, nil},
		{"brief spike (20 min)", []float64{40, 40, 62, 62, 62}, nil},
		{"hot for 30 min", []float64{40, 62, 62, 63, 62}, []brief{{"trend.temperature", model.Warning}}},
		{"cooling but above the hysteresis", []float64{62, 62, 62, 62, 57}, []brief{{"trend.temperature", model.Warning}}},
		{"cooled below the hysteresis", []float64{62, 62, 62, 62, 54}, nil},
		{"critical for 30 min", []float64{71, 72, 72, 71}, []brief{{"trend.temperature", model.Critical}}},
		{"cold for 30 min", []float64{3, 3, 3, 3}, []brief{{"trend.temperature", model.Warning}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs := feed(t, history.NewMem(0, false, nil), set, 10*time.Minute, temps(c.vals...))
			if d := cmp.Diff(c.want, briefs(fs)); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestWearProjection(t *testing.T) {
	set := only(rules.Default(), "trend.wear")
	nv := func(used, spare int) model.Disk {
		return model.Disk{Device: model.DeviceInfo{Path: "/dev/nvme0", Protocol: "nvme", Model: "Samsung SSD 970", Serial: "S1"},
			NVMe: &model.NVMeHealth{PercentageUsed: used, AvailableSpare: spare, AvailableSpareThreshold: 10}}
	}
	cases := []struct {
		name string
		used []int
		want []brief
	}{
		{"slow: 0.1 points/day, ~500 days left", []int{50, 51, 52, 53}, nil},
		{"1 point/day from 90%: 10 days left", []int{60, 70, 80, 90}, []brief{{"trend.wear", model.Critical}}},
		{"0.5 points/day from 20%: 160 days", []int{5, 10, 15, 20}, []brief{{"trend.wear", model.Warning}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var disks []model.Disk
			for _, u := range c.used {
				disks = append(disks, nv(u, 100))
			}
			fs := feed(t, history.NewMem(0, false, nil), set, 10*rules.Day, disks)
			if d := cmp.Diff(c.want, briefs(fs)); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
	// 30 points in 3 days: a rate over less than min_span_days says nothing.
	if fs := feed(t, history.NewMem(0, false, nil), set, rules.Day, []model.Disk{nv(60, 100), nv(75, 100), nv(90, 100)}); len(fs) != 0 {
		t.Errorf("too short a span: %v", fs)
	}
	fs := feed(t, history.NewMem(0, false, nil), set, rules.Day, []model.Disk{nv(1, 100), nv(1, 95), nv(1, 85)})
	if d := cmp.Diff([]brief{{"trend.wear", model.Warning}}, briefs(fs)); d != "" || !strings.Contains(fs[0].Message, "spare fell by 15") {
		t.Errorf("spare drop (-want +got):\n%s %v", d, fs)
	}
}

// Liveness in the daemon: power-on hours that stop advancing while
// diskwatch keeps reading the disk page; the same hours missing because
// the host was off (no readings in between) do not.
func TestRiskLiveness(t *testing.T) {
	set := only(rules.Default(), "risk.score")
	poh := func(h int64) model.Disk {
		d := ataDisk(map[int]int64{5: 0})
		d.PowerOnHours = &h
		return d
	}
	// Hourly readings: 30 h advancing normally, then 50 h frozen.
	var frozen []model.Disk
	for i := int64(0); i < 80; i++ {
		frozen = append(frozen, poh(5000+min(i, 30)))
	}
	fs := feed(t, history.NewMem(0, false, nil), set, time.Hour, frozen)
	if len(fs) != 1 || fs[0].Severity != model.Warning || !strings.Contains(fs[0].Message, "power-on hours advanced less than") {
		t.Errorf("frozen power-on hours: %+v", briefs(fs))
	}
	// The host off for two days: readings before and after only.
	h := history.NewMem(0, false, nil)
	var off []model.Disk
	for i := int64(0); i < 30; i++ {
		off = append(off, poh(5000+i))
	}
	feed(t, h, set, time.Hour, off)
	now := day0.Add(30*time.Hour + 48*time.Hour)
	snap := &model.Snapshot{Time: now, Disks: []model.Disk{poh(5030)}}
	h.Append(context.Background(), now, snap.Samples())
	if fs := set.Evaluate(&rules.Input{Snapshot: snap, Now: now, History: h}, nil); len(fs) != 0 {
		t.Errorf("host off for two days: %+v", briefs(fs))
	}
	// A young drive: NOTICE alone (weight 3.5).
	fs = feed(t, history.NewMem(0, false, nil), set, time.Hour, []model.Disk{poh(10), poh(11)})
	if len(fs) != 1 || fs[0].Severity != model.Notice || !strings.Contains(fs[0].Message, "young drive") {
		t.Errorf("young drive: %+v", briefs(fs))
	}
}
