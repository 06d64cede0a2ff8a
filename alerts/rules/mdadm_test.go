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

func raid1(name, uuid string, active, spares int) model.Array {
	a := model.Array{Name: name, Path: "/dev/" + name, UUID: uuid, Level: "raid1", Activity: "active", DisksTotal: 2,
		DisksActive: active, DisksSpare: spares, DisksDown: 2 - active, MismatchCount: 0}
	return a
}

func TestMDAdmConfEvents(t *testing.T) {
	set := only(rules.Default(), "md.not_assembled", "md.spares_missing")
	const u0, u1 = "3aaa012229827cfa5331ad66ca767371", "8c2b5a2e05f14a5f8f3a1b2c3d4e5f60"
	conf := []model.ConfArray{
		{Device: "/dev/md0", UUID: u0, Spares: 1, Line: 21},
		{Device: "/dev/md/data", UUID: u1, Spares: -1, Line: 22},
		{UUID: "22222222222222222222222222222222", Spares: -1, External: true, Line: 26},
	}
	eval := func(arrays ...model.Array) []model.Finding {
		return set.Evaluate(&rules.Input{Snapshot: &model.Snapshot{Arrays: arrays, MDConf: conf}, Now: day0}, nil)
	}
	// Both assembled (md/data as md127, matched by UUID), md0 with its spare.
	if fs := eval(raid1("md0", u0, 2, 1), raid1("md127", u1, 2, 0)); len(fs) != 0 {
		t.Fatalf("healthy: %v", briefs(fs))
	}
	// md/data not assembled; md0 lost its spare.
	fs := eval(raid1("md0", u0, 2, 0))
	if len(fs) != 2 {
		t.Fatalf("got %+v", fs)
	}
	for _, f := range fs {
		switch f.Rule {
		case "md.not_assembled":
			if f.Severity != model.Warning || f.Subject != "/dev/md/data" || !strings.Contains(f.Message, "line 22") ||
				!strings.Contains(f.Remedy, "mdadm --assemble /dev/md/data --uuid="+u1) {
				t.Errorf("not assembled: %+v", f)
			}
		case "md.spares_missing":
			if f.Severity != model.Warning || f.Subject != "md0" || !strings.Contains(f.Message, "spares=1") || !strings.Contains(f.Remedy, "mdadm /dev/md0 --add") {
				t.Errorf("spares missing: %+v", f)
			}
		default:
			t.Errorf("unexpected %+v", f)
		}
	}
	// An array whose UUID could not be read might be md/data: no claim.
	if fs := eval(raid1("md0", u0, 2, 1), raid1("md127", "", 2, 0)); len(fs) != 0 {
		t.Errorf("unsure match reported: %v", briefs(fs))
	}
	// Matched by name when the file gives no UUID.
	conf = []model.ConfArray{{Device: "/dev/md5", Spares: -1, Line: 3}}
	if fs := eval(raid1("md5", u0, 2, 0)); len(fs) != 0 {
		t.Errorf("matched by name: %v", briefs(fs))
	}
	if fs := eval(raid1("md0", u0, 2, 0)); len(fs) != 1 || fs[0].Rule != "md.not_assembled" {
		t.Errorf("md5 missing: %v", briefs(fs))
	}
}

func TestSpareBecameActive(t *testing.T) {
	set := only(rules.Default(), "md.spare_active")
	h := history.NewMem(0, false, nil)
	const u = "3aaa012229827cfa5331ad66ca767371"
	var last []model.Finding
	// Whole with a spare, a member fails and the spare rebuilds, whole again.
	for i, a := range []model.Array{raid1("md0", u, 2, 1), raid1("md0", u, 2, 1), raid1("md0", u, 1, 0), raid1("md0", u, 2, 0), raid1("md0", u, 2, 0)} {
		now := day0.Add(time.Duration(i) * time.Hour)
		snap := &model.Snapshot{Arrays: []model.Array{a}}
		h.Append(context.Background(), now, snap.Samples())
		last = set.Evaluate(&rules.Input{Snapshot: snap, Now: now, History: h}, nil)
		if i < 3 && len(last) != 0 {
			t.Fatalf("step %d: %v", i, briefs(last))
		}
	}
	if len(last) != 1 || last[0].Severity != model.Notice || !strings.Contains(last[0].Message, "spare became active") || !strings.Contains(last[0].Message, "0 spare(s) left") {
		t.Fatalf("after the rebuild: %+v", last)
	}
	// A day later it has been said.
	now := day0.Add(30 * time.Hour)
	snap := &model.Snapshot{Arrays: []model.Array{raid1("md0", u, 2, 0)}}
	h.Append(context.Background(), now, snap.Samples())
	if fs := set.Evaluate(&rules.Input{Snapshot: snap, Now: now, History: h}, nil); len(fs) != 0 {
		t.Errorf("a day later: %v", briefs(fs))
	}
}
