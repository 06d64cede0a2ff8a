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

// logDisk is an ATA disk with an error log count and a self-test log
// (entries newest first, as the drive lists them).
func logDisk(errLog int64, tests ...model.SelfTestEntry) model.Disk {
	d := ataDisk(map[int]int64{5: 0, 197: 0})
	d.ErrorLogCount = &errLog
	d.SelfTest = &model.SelfTestLog{Entries: tests}
	return d
}

func passed(typ string, h int64) model.SelfTestEntry {
	return model.SelfTestEntry{Type: typ, Status: "Completed without error", Passed: true, LifetimeHour: h}
}

func failedAt(typ string, h, lba int64) model.SelfTestEntry {
	return model.SelfTestEntry{Type: typ, Status: "Completed: read failure", Failed: true, LifetimeHour: h, FailingLBA: &lba}
}

// daily feeds one reading a day and returns the non-OK findings of each day.
func daily(t *testing.T, h *history.Mem, set *rules.Set, from int, disks ...model.Disk) [][]model.Finding {
	t.Helper()
	var out [][]model.Finding
	for i, d := range disks {
		now := day0.Add(time.Duration(from+i) * rules.Day)
		snap := &model.Snapshot{Time: now, Disks: []model.Disk{d}}
		if err := h.Append(context.Background(), now, snap.Samples()); err != nil {
			t.Fatal(err)
		}
		var fs []model.Finding
		for _, f := range set.Evaluate(&rules.Input{Snapshot: snap, Now: now, History: h}, nil) {
			if f.Severity != model.OK {
				fs = append(fs, f)
			}
		}
		out = append(out, fs)
	}
	return out
}

func TestATAErrorLogGrowth(t *testing.T) {
	set := only(rules.Default(), "trend.error_log")
	h := history.NewMem(0, false, nil)
	// 98 entries for years (the smartctl_exporter ST3200820AS capture has
	// 98): quiet, however often read.
	for i, fs := range daily(t, h, set, 0, logDisk(98), logDisk(98), logDisk(98)) {
		if len(fs) != 0 {
			t.Fatalf("day %d: a static error log count warns: %v", i, briefs(fs))
		}
	}
	fs := daily(t, h, set, 3, logDisk(99))[0]
	if len(fs) != 1 || fs[0].Severity != model.Warning || !strings.Contains(fs[0].Message, "grew by 1") ||
		!strings.Contains(fs[0].Remedy, "smartctl -l error") || !strings.Contains(strings.Join(fs[0].Evidence, " "), "smartd (-l error)") {
		t.Fatalf("growth 98 -> 99: %+v", fs)
	}
	// Acknowledged at 99: quiet until it grows again.
	h.Ack(context.Background(), logDisk(0).Device.ID(), model.MetricATAErrorLogCount, day0.Add(3*rules.Day+time.Hour), 99)
	if fs := daily(t, h, set, 4, logDisk(99))[0]; len(fs) != 0 {
		t.Fatalf("acknowledged count warns: %v", briefs(fs))
	}
	if fs := daily(t, h, set, 5, logDisk(100))[0]; len(fs) != 1 {
		t.Fatalf("growth past the acknowledgement: %v", briefs(fs))
	}
	// NVMe's error information log grows on healthy drives (rejected
	// admin commands): not this rule.
	nv := model.Disk{Device: model.DeviceInfo{Path: "/dev/nvme0", Protocol: "nvme", Serial: "N1"}, NVMe: &model.NVMeHealth{}}
	h2 := history.NewMem(0, false, nil)
	var last []model.Finding
	for i, n := range []int64{14, 15, 40} {
		d := nv
		d.ErrorLogCount = &n
		last = daily(t, h2, set, i, d)[0]
	}
	if len(last) != 0 {
		t.Errorf("NVMe error log growth warned: %v", briefs(last))
	}
}

func TestSelfTestLogGainsFailure(t *testing.T) {
	set := only(rules.Default(), "trend.self_test")
	h := history.NewMem(0, false, nil)
	clean := logDisk(0, passed("short", 900), passed("long", 800))
	withFail := logDisk(0, failedAt("short", 1000, 123456), passed("short", 900), passed("long", 800))
	// A later short test passes: smart.self_test (the most recent test of
	// each kind) is quiet again, the log still gained a failure.
	passedAfter := logDisk(0, passed("short", 1024), failedAt("short", 1000, 123456), passed("short", 900), passed("long", 800))
	days := daily(t, h, set, 0, clean, clean, withFail, passedAfter)
	for i, fs := range days[:2] {
		if len(fs) != 0 {
			t.Fatalf("day %d: clean log warns: %v", i, briefs(fs))
		}
	}
	for i, fs := range days[2:] {
		if len(fs) != 1 || fs[0].Rule != "trend.self_test" || !strings.Contains(fs[0].Message, "short test at 1000 power-on hours") ||
			!strings.Contains(fs[0].Message, "LBA 123456") || !strings.Contains(fs[0].Remedy, "smartctl -t long") {
			t.Fatalf("day %d after the failure: %+v", 2+i, fs)
		}
	}
	if fs := only(rules.Default(), "smart.self_test").Evaluate(&rules.Input{Snapshot: &model.Snapshot{Disks: []model.Disk{passedAfter}}, Now: day0}, nil); len(fs) != 0 {
		t.Fatalf("smart.self_test fires on a log whose latest short test passed (so only the log rule can tell): %v", briefs(fs))
	}
	// A disk whose log was empty (the reader then reports no log at all)
	// fails its first test while watched: its power-on hours when first
	// read were below the failure's hour.
	h3 := history.NewMem(0, false, nil)
	empty := logDisk(0)
	empty.SelfTest = nil
	poh := func(d model.Disk, h int64) model.Disk { d.PowerOnHours = &h; return d }
	days = daily(t, h3, set, 0, poh(empty, 976), poh(empty, 1000), poh(logDisk(0, failedAt("short", 1010, 99)), 1024))
	if len(days[2]) != 1 || !strings.Contains(days[2][0].Message, "short test at 1010") {
		t.Fatalf("first failure in an empty log: %+v", days[2])
	}
	// A disk first seen with an old failure already in its log: nothing
	// was gained while watched.
	h2 := history.NewMem(0, false, nil)
	old := func(h int64) model.Disk { d := withFail; d.PowerOnHours = &h; return d }
	for i, fs := range daily(t, h2, set, 0, old(2000), old(2024)) {
		if len(fs) != 0 {
			t.Fatalf("day %d: an old failure warns as new: %v", i, briefs(fs))
		}
	}
}

func TestSCSINonMediumGrowth(t *testing.T) {
	set := only(rules.Default(), "trend.scsi_non_medium")
	h := history.NewMem(0, false, nil)
	sas := func(n int64) model.Disk {
		zero := int64(0)
		return model.Disk{Device: model.DeviceInfo{Path: "/dev/sdd", Protocol: "scsi", Model: "SEAGATE ST1200MM0088", Serial: "Z4028VRY"},
			SCSI: &model.SCSIHealth{GrownDefects: &zero, NonMediumErrors: &n}}
	}
	days := daily(t, h, set, 0, sas(3), sas(3), sas(7))
	if len(days[0])+len(days[1]) != 0 {
		t.Fatalf("static count warns: %v %v", briefs(days[0]), briefs(days[1]))
	}
	if fs := days[2]; len(fs) != 1 || !strings.Contains(fs[0].Message, "non-medium errors grew by 4") {
		t.Fatalf("growth: %+v", fs)
	}
}
