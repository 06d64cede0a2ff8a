package rules_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/diskwatch/diskwatch/alerts/history"
	"github.com/diskwatch/diskwatch/alerts/rules"
	"github.com/diskwatch/diskwatch/collectors/model"
)

func TestScrubOverdue(t *testing.T) {
	set := only(rules.Default(), "md.scrub_overdue")
	const u = "3aaa012229827cfa5331ad66ca767371"
	// run feeds one reading a day for days days; checkDay (if >= 0) is a
	// day the array was seen checking, doneDay a day the kernel logged
	// "data-check done" (a check too short to be seen running).
	run := func(days, checkDay, doneDay int) []model.Finding {
		h := history.NewMem(0, false, nil)
		var fs []model.Finding
		for day := 0; day < days; day++ {
			now := day0.Add(time.Duration(day) * rules.Day)
			a := raid1("md0", u, 2, 0)
			a.SyncAction = "idle"
			if day == checkDay {
				a.SyncAction = "check"
			}
			snap := &model.Snapshot{Time: now, Arrays: []model.Array{a}}
			if day == doneDay {
				snap.Events = []model.KernelEvent{{Kind: model.KindMDCheckDone, Device: "md0", Time: now.Add(-time.Hour), Line: "md: md0: data-check done."}}
			}
			if err := h.Append(context.Background(), now, snap.Samples()); err != nil {
				t.Fatal(err)
			}
			fs = set.Evaluate(&rules.Input{Snapshot: snap, Now: now, History: h}, nil)
			if day < 35 && len(fs) != 0 {
				t.Fatalf("day %d, watched less than 35 days: %v", day, briefs(fs))
			}
		}
		return fs
	}
	if fs := run(60, -1, -1); len(fs) != 1 || fs[0].Severity != model.Warning || !strings.Contains(fs[0].Remedy, "echo check > /sys/block/md0/md/sync_action") {
		t.Fatalf("never checked in 60 days: %+v", fs)
	}
	if fs := run(60, 40, -1); len(fs) != 0 {
		t.Fatalf("seen checking 20 days ago: %v", briefs(fs))
	}
	if fs := run(60, -1, 50); len(fs) != 0 {
		t.Fatalf("kernel logged a check 10 days ago: %v", briefs(fs))
	}
	fs := run(60, 10, -1)
	if len(fs) != 1 || !strings.Contains(fs[0].Message, "last check seen 2024-03-11") {
		t.Fatalf("last check 50 days ago: %+v", fs)
	}
	// A running check or rebuild is not overdue; raid0 has nothing to scrub.
	h := history.NewMem(0, false, nil)
	for day := 0; day < 40; day++ {
		now := day0.Add(time.Duration(day) * rules.Day)
		a := raid1("md0", u, 2, 0)
		a.Level = "raid0"
		snap := &model.Snapshot{Time: now, Arrays: []model.Array{a}}
		h.Append(context.Background(), now, snap.Samples())
		if fs := set.Evaluate(&rules.Input{Snapshot: snap, Now: now, History: h}, nil); len(fs) != 0 {
			t.Fatalf("raid0: %v", briefs(fs))
		}
	}
}
