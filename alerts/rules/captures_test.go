package rules_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/diskwatch/diskwatch/alerts/history"
	"github.com/diskwatch/diskwatch/alerts/rules"
	"github.com/diskwatch/diskwatch/collectors"
	"github.com/diskwatch/diskwatch/collectors/hostroot"
	"github.com/diskwatch/diskwatch/collectors/mdraid"
	"github.com/diskwatch/diskwatch/collectors/model"
	"github.com/diskwatch/diskwatch/collectors/smartctl"
	"github.com/diskwatch/diskwatch/collectors/ups/apcupsd"
	"github.com/diskwatch/diskwatch/collectors/ups/nut"
)

// issue21Rules are the rules of issue 21: none of them may page on a
// healthy host, and a real capture read twice, a day apart, is a host
// that did not change.
var issue21Rules = []string{
	"smart.pending_sectors", "trend.error_log", "trend.self_test", "trend.scsi_non_medium",
	"ups.output_off", "ups.bypass", "ups.no_shutdown", "md.not_assembled", "md.spares_missing", "md.spare_active", "md.scterc", "md.scrub_overdue", "md.same_batch",
}

// captureRoots are the directories of real captures: the repository's
// copies (each with its SOURCES.md) and, when present, the team's shared
// fixture collection (../shared/fixtures from the checkout, or
// DISKWATCH_FIXTURES).
func captureRoots() []string {
	roots := []string{"../../collectors/smartctl/testdata", "../../collectors/smart/ata/testdata/smartctl-json",
		"../../collectors/ups/testdata", "../../collectors/mdraid/testdata/mdstat", "../../testdata/rig/captures"}
	for _, d := range []string{os.Getenv("DISKWATCH_FIXTURES"), "../../../shared/fixtures", "../../../../shared/fixtures"} {
		if d == "" {
			continue
		}
		if _, err := os.Stat(filepath.Join(d, "SOURCES.md")); err == nil {
			roots = append(roots, d)
			break
		}
	}
	return roots
}

// captureSnapshots turns every capture under root into a snapshot: smartctl
// JSON into a disk, a NUT dump or apcaccess output into a UPS, an mdstat
// file into arrays, a captured root (proc/mdstat + sys) through the md
// collector.
func captureSnapshots(t *testing.T, root string) map[string]*model.Snapshot {
	t.Helper()
	out := map[string]*model.Snapshot{}
	filepath.WalkDir(root, func(p string, de os.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if de.IsDir() {
			if _, err := os.Stat(filepath.Join(p, "proc", "mdstat")); err == nil {
				var snap model.Snapshot
				mdraid.New(hostroot.New(p)).Collect(context.Background(), &snap)
				out[p] = &snap
				return filepath.SkipDir
			}
			if de.Name() == "backblaze" || de.Name() == "hwmon" {
				return filepath.SkipDir // not inputs of these rules
			}
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil
		}
		switch {
		case strings.HasSuffix(p, ".json"):
			if d, err := smartctl.Normalize(b); err == nil {
				out[p] = &model.Snapshot{Disks: []model.Disk{d}}
			}
		case strings.HasSuffix(p, ".dev"):
			if d, err := nut.ParseDump(b); err == nil {
				out[p] = &model.Snapshot{UPS: []model.UPS{nut.ToUPS("ups@capture", d.Vars)}}
			}
		case strings.Contains(p, "apcupsd") && strings.HasSuffix(p, ".txt"):
			if st, err := apcupsd.ParseStatus(apcupsd.SplitLines(string(b))); err == nil {
				out[p] = &model.Snapshot{UPS: []model.UPS{apcupsd.ToUPS("apcupsd@capture", st)}}
			}
		case strings.Contains(p, "mdstat") && strings.HasSuffix(p, ".txt"):
			if arrays, err := mdraid.ParseMDStat(b); err == nil && len(arrays) > 0 {
				out[p] = &model.Snapshot{Arrays: arrays}
			}
		}
		return nil
	})
	return out
}

// TestIssue21RulesQuietOnCaptures runs every real capture through the
// whole default rule set twice, a day apart, with a history store (as a
// host checked daily would be), and asserts that no rule of issue 21 says
// WARNING or CRITICAL.
func TestIssue21RulesQuietOnCaptures(t *testing.T) {
	set := rules.Default()
	mine := map[string]bool{}
	for _, n := range issue21Rules {
		if _, ok := set.Lookup(n); !ok {
			t.Fatalf("rule %s is not in the default set", n)
		}
		mine[n] = true
	}
	counts := map[string]int{}
	total := 0
	for _, root := range captureRoots() {
		snaps := captureSnapshots(t, root)
		if len(snaps) == 0 {
			t.Errorf("%s: no captures read", root)
		}
		for p, snap := range snaps {
			h := history.NewMem(0, false, nil)
			for day := 0; day < 2; day++ {
				now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC).Add(time.Duration(day) * rules.Day)
				snap.Time = now
				if err := h.Append(context.Background(), now, snap.Samples()); err != nil {
					t.Fatal(err)
				}
				for _, f := range set.Evaluate(&rules.Input{Snapshot: snap, Now: now, History: h}, nil) {
					if mine[f.Rule] && (f.Severity == model.Warning || f.Severity == model.Critical) {
						t.Errorf("%s (day %d): %s %s: %s", p, day, f.Rule, f.Severity, f.Message)
					}
				}
			}
			total++
			counts[root]++
		}
	}
	for r, n := range counts {
		t.Logf("%d captures from %s", n, r)
	}
	t.Logf("%d captures, each read twice a day apart: no WARNING/CRITICAL from %d rules", total, len(issue21Rules))
	if total < 300 {
		t.Errorf("only %d captures read", total)
	}
	_ = collectors.ErrAbsent
}
