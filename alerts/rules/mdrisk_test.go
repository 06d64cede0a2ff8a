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

// TestRebuildRiskBeforeAdd: a RAID1 lost a member; the remedy to re-add
// says what the rebuild depends on — the surviving member's counts and
// age, the size and time at the speed the array last synced at — and
// "back up first" when the survivor has unreadable sectors itself.
func TestRebuildRiskBeforeAdd(t *testing.T) {
	set := only(rules.Default(), "md.degraded")
	const u = "3aaa012229827cfa5331ad66ca767371"
	survivor := func(pending int64) model.Disk {
		d := ataDisk(map[int]int64{5: 0, 197: pending, 198: 0})
		d.Device.Path = "/dev/sda"
		poh := int64(41233)
		d.PowerOnHours = &poh
		return d
	}
	array := func(sync float64) model.Array {
		a := raid1("md0", u, 1, 0)
		a.SizeBytes = 4_000_000_000_000
		a.Candidates = []string{"sdb"}
		a.Members = []model.Member{{Name: "sda1", Disk: "sda", Slot: 0}}
		a.SyncSpeedKiBs = sync
		return a
	}
	h := history.NewMem(0, false, nil)
	// A month ago a check ran at 120,000 KiB/s.
	past := &model.Snapshot{Arrays: []model.Array{array(120000)}}
	h.Append(context.Background(), day0.Add(-30*rules.Day), past.Samples())
	eval := func(d model.Disk) model.Finding {
		snap := &model.Snapshot{Time: day0, Arrays: []model.Array{array(0)}, Disks: []model.Disk{d}}
		h.Append(context.Background(), day0, snap.Samples())
		fs := set.Evaluate(&rules.Input{Snapshot: snap, Now: day0, History: h}, nil)
		if len(fs) != 1 || fs[0].Severity != model.Critical {
			t.Fatalf("%+v", fs)
		}
		return fs[0]
	}
	f := eval(survivor(8))
	if !strings.HasPrefix(f.Remedy, "BACK UP FIRST") || !strings.Contains(f.Remedy, "8 pending") ||
		!strings.Contains(f.Remedy, "then re-add it: mdadm /dev/md0 --add /dev/sdb") ||
		!strings.Contains(f.Remedy, "writes 4.0 TB") || !strings.Contains(f.Remedy, "about 9h03m at the 123 MB/s") {
		t.Errorf("survivor at risk: %s", f.Remedy)
	}
	if ev := strings.Join(f.Evidence, " "); !strings.Contains(ev, "41233 power-on hours") || !strings.Contains(ev, "0 reallocated") {
		t.Errorf("evidence: %v", f.Evidence)
	}
	f = eval(survivor(0))
	if strings.Contains(f.Remedy, "BACK UP FIRST") || !strings.HasPrefix(f.Remedy, "re-add it:") || !strings.Contains(f.Remedy, "about 9h03m") {
		t.Errorf("healthy survivor: %s", f.Remedy)
	}
	_ = time.Second
}

func TestSameBatchMembers(t *testing.T) {
	set := only(rules.Default(), "md.same_batch")
	disk := func(path, serial, fw string, poh int64) model.Disk {
		d := ataDisk(nil)
		d.Device.Path, d.Device.Serial, d.Device.Firmware, d.PowerOnHours = path, serial, fw, &poh
		return d
	}
	a := raid1("md0", "", 2, 0)
	a.Members = []model.Member{{Name: "sda1", Disk: "sda"}, {Name: "sdb1", Disk: "sdb"}}
	eval := func(ds ...model.Disk) []model.Finding {
		return set.Evaluate(&rules.Input{Snapshot: &model.Snapshot{Arrays: []model.Array{a}, Disks: ds}, Now: day0}, nil)
	}
	fs := eval(disk("/dev/sda", "WD-1", "82.00A82", 41233), disk("/dev/sdb", "WD-2", "82.00A82", 41250))
	if len(fs) != 1 || fs[0].Severity != model.OK || !strings.Contains(fs[0].Message, "41233 h") || !strings.Contains(fs[0].Message, "sdb (WDC WD40EFRX WD-2) 41250 h") {
		t.Fatalf("one batch: %+v", fs)
	}
	if fs := eval(disk("/dev/sda", "WD-1", "82.00A82", 41233), disk("/dev/sdb", "WD-2", "82.00A82", 20000)); len(fs) != 0 {
		t.Errorf("ages apart: %v", briefs(fs))
	}
	if fs := eval(disk("/dev/sda", "WD-1", "82.00A82", 41233), disk("/dev/sdb", "WD-2", "80.00A80", 41250)); len(fs) != 0 {
		t.Errorf("firmware differs: %v", briefs(fs))
	}
}
