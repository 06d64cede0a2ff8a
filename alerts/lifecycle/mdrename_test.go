package lifecycle

import (
	"testing"
	"time"

	"github.com/diskwatch/diskwatch/alerts/rules"
	"github.com/diskwatch/diskwatch/collectors/model"
)

// TestMDRenamedAfterReboot: a degraded array the kernel calls md0 before a
// reboot and md127 after it is one alert (keyed by its UUID), which keeps
// firing without a new notification; its history subject is the same.
func TestMDRenamedAfterReboot(t *testing.T) {
	array := func(name string) model.Array {
		return model.Array{Name: name, Path: "/dev/" + name, UUID: "0a1b2c3d4e5f60718293a4b5c6d7e8f9", Level: "raid1", Activity: "active",
			DisksTotal: 2, DisksActive: 1, DisksDown: 1, Degraded: 1,
			Members: []model.Member{{Name: "sda1", Slot: 0, State: []string{"in_sync"}}}}
	}
	set := rules.Default()
	tr := New(Policy{})
	t0 := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	var keys []string
	var fired, resolved int
	for i, name := range []string{"md0", "md127", "md127"} {
		s := &model.Snapshot{Arrays: []model.Array{array(name)}}
		fs := set.Evaluate(&rules.Input{Snapshot: s, Now: t0.Add(time.Duration(i) * time.Hour)}, nil)
		for _, f := range fs {
			if f.Rule == "md.degraded" {
				keys = append(keys, Key(f))
				if f.Subject != name {
					t.Errorf("display name %q, want %q", f.Subject, name)
				}
			}
		}
		for _, e := range tr.Update(t0.Add(time.Duration(i)*time.Hour), fs) {
			switch e.Kind {
			case Firing:
				fired++
			case Resolved:
				resolved++
			}
		}
		if sub := s.Samples()[0].Subject; sub != "md:uuid:0a1b2c3d4e5f60718293a4b5c6d7e8f9" {
			t.Errorf("%s: history subject %q", name, sub)
		}
	}
	if len(keys) != 3 || keys[0] != keys[1] || keys[1] != keys[2] {
		t.Errorf("alert keys %v", keys)
	}
	if fired != 1 || resolved != 0 {
		t.Errorf("fired %d, resolved %d across the rename; want 1, 0", fired, resolved)
	}
}
