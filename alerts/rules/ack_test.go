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

// TestAckSilencesStaticCounts: every count rule honours an acknowledged
// baseline. A disk with 8 pending sectors that never change warns once
// smartd-style (smart.pending_sectors); after `diskwatch ack DISK 197` it is
// quiet on every later run, and warns again only when the count grows past
// what was accepted — the Scrutiny complaint (#380, #713).
func TestAckSilencesStaticCounts(t *testing.T) {
	set := only(rules.Default(), "smart.pending_sectors", "trend.pending", "risk.score")
	h := history.NewMem(0, false, nil)
	pending := func(v int64) model.Disk { return ataDisk(map[int]int64{5: 0, 197: v, 198: 0}) }
	eval := func(i int, d model.Disk) []model.Finding {
		now := day0.Add(time.Duration(i) * time.Hour)
		snap := &model.Snapshot{Time: now, Disks: []model.Disk{d}}
		if err := h.Append(context.Background(), now, snap.Samples()); err != nil {
			t.Fatal(err)
		}
		var out []model.Finding
		for _, f := range set.Evaluate(&rules.Input{Snapshot: snap, Now: now, History: h}, nil) {
			if f.Severity != model.OK {
				out = append(out, f)
			}
		}
		return out
	}
	for i := 0; i < 3; i++ {
		fs := eval(i, pending(8))
		if got := briefs(fs); !cmp.Equal(got, []brief{{"risk.score", model.Notice}, {"smart.pending_sectors", model.Notice}}) {
			t.Fatalf("run %d before ack: %v", i, got)
		}
	}
	if err := h.Ack(context.Background(), pending(8).Device.ID(), "smart_attr_197_raw", day0.Add(3*time.Hour), 8); err != nil {
		t.Fatal(err)
	}
	for i := 4; i < 30; i++ {
		if fs := eval(i, pending(8)); len(fs) != 0 {
			t.Fatalf("run %d: an acknowledged static count still alerts: %v", i, briefs(fs))
		}
	}
	// A remapped sector (the count falls) is not growth either.
	if fs := eval(30, pending(7)); len(fs) != 0 {
		t.Fatalf("a falling count alerts: %v", briefs(fs))
	}
	fs := eval(31, pending(9))
	if d := cmp.Diff([]brief{{"risk.score", model.Notice}, {"smart.pending_sectors", model.Notice}, {"trend.pending", model.Notice}}, briefs(fs)); d != "" {
		t.Fatalf("growth past the acknowledged 8 (-want +got):\n%s", d)
	}
	if m := fs[1].Message; !strings.Contains(m, "raw 9") || !strings.Contains(m, "acknowledged") {
		t.Errorf("message does not say it grew past the acknowledgement: %s", m)
	}
}
