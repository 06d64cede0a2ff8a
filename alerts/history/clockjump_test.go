package history

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/diskwatch/diskwatch/alerts/rules"
	"github.com/diskwatch/diskwatch/collectors/model"
)

// TestClockJumpsBackRatesStaySane is fault 10 of the trust issue at the
// history level: readings taken after the wall clock jumped back an hour
// land before older ones. A flat counter must not look like growth, rates
// must stay finite, and real growth after the jump must still be seen.
func TestClockJumpsBackRatesStaySane(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	st, err := Open(context.Background(), t.TempDir(), Options{Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	set := rules.Default()
	disk := func(realloc int64) model.Disk {
		passed := true
		return model.Disk{Device: model.DeviceInfo{Path: "/dev/sda", Protocol: "ata", Model: "M", Serial: "S"}, SMARTAvailable: true, SMARTPassed: &passed,
			ATAAttributes: []model.ATAAttribute{{ID: 5, Name: "Reallocated_Sector_Ct", Value: 100, Worst: 100, Thresh: 36, Raw: realloc}}}
	}
	round := func(now time.Time, realloc int64) []model.Finding {
		snap := &model.Snapshot{Time: now, Disks: []model.Disk{disk(realloc)}}
		if err := st.Append(context.Background(), now, snap.Samples()); err != nil {
			t.Fatal(err)
		}
		fs := set.Evaluate(&rules.Input{Snapshot: snap, Now: now, History: st}, nil)
		for _, f := range fs {
			for k, v := range f.Values {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					t.Fatalf("%s: %s = %v", f.Rule, k, v)
				}
			}
		}
		return fs
	}
	alerts := func(fs []model.Finding) []string {
		var out []string
		for _, f := range fs {
			if f.Severity == model.Warning || f.Severity == model.Critical {
				out = append(out, f.Rule)
			}
		}
		return out
	}
	// A day of hourly rounds with 8 reallocated sectors, flat.
	for h := 0; h <= 24; h++ {
		round(t0.Add(time.Duration(h)*time.Hour), 8)
	}
	jump := t0.Add(24*time.Hour - time.Hour)
	for m := 0; m < 120; m += 10 {
		if a := alerts(round(jump.Add(time.Duration(m)*time.Minute), 8)); len(a) != 0 {
			t.Fatalf("flat counter after the clock jump alerted: %v", a)
		}
	}
	// Real growth after the jump is still seen.
	if a := alerts(round(jump.Add(2*time.Hour), 40)); len(a) == 0 {
		t.Fatal("growth after the clock jump not alerted")
	}
}
