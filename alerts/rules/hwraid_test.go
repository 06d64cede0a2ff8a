package rules

import (
	"strings"
	"testing"
	"time"

	"github.com/diskwatch/diskwatch/collectors/model"
)

func TestHWRaidRules(t *testing.T) {
	pct := 45.0
	online := func(slot int) model.PhysicalDisk {
		return model.PhysicalDisk{DeviceID: slot + 8, Enclosure: 32, Slot: slot, State: "online"}
	}
	with := func(p model.PhysicalDisk, st string) model.PhysicalDisk { p.State = st; return p }
	rb := with(online(1), "rebuild")
	rb.RebuildPercent = &pct
	for _, c := range []struct {
		name     string
		ctrl     model.Controller
		sev      model.Severity
		rule     string
		contains []string
	}{
		{"optimal", model.Controller{Name: "megaraid0", Logical: []model.LogicalDrive{{ID: 0, RAIDLevel: "1", State: "optimal", Members: []model.PhysicalDisk{online(0), online(1)}}}}, model.OK, "", nil},
		{"degraded names the slot", model.Controller{Name: "megaraid0", Logical: []model.LogicalDrive{{ID: 0, RAIDLevel: "1", State: "degraded",
			Members: []model.PhysicalDisk{online(0), with(online(1), "failed")}}}},
			model.Critical, "hwraid.logical_drive", []string{"megaraid0 LD 0", "DEGRADED", "enclosure 32 slot 1 failed", "replace the disk in enclosure 32 slot 1"}},
		{"missing member", model.Controller{Name: "megaraid0", Logical: []model.LogicalDrive{{ID: 2, RAIDLevel: "5", State: "degraded",
			Members: []model.PhysicalDisk{online(0), online(1), {DeviceID: -1, Enclosure: -1, Slot: -1, State: "missing"}}}}},
			model.Critical, "hwraid.logical_drive", []string{"LD 2", "missing disk missing"}},
		{"rebuilding", model.Controller{Name: "megaraid0", Logical: []model.LogicalDrive{{ID: 0, State: "degraded", Members: []model.PhysicalDisk{online(0), rb}}}},
			model.Warning, "hwraid.logical_drive", []string{"rebuilding", "slot 1 rebuild (45% rebuilt)"}},
		{"offline", model.Controller{Name: "megaraid1", Logical: []model.LogicalDrive{{ID: 1, State: "offline", Members: []model.PhysicalDisk{with(online(0), "failed"), with(online(1), "failed")}}}},
			model.Critical, "hwraid.logical_drive", []string{"OFFLINE"}},
		{"3ware unit degraded", model.Controller{Name: "twa0", Family: "3ware", Logical: []model.LogicalDrive{{ID: 0, RAIDLevel: "5", State: "degraded",
			Members: []model.PhysicalDisk{{DeviceID: 0, Enclosure: -1, Slot: 0, State: "online"}, {DeviceID: 1, Enclosure: -1, Slot: 1, State: "failed"}}}}},
			model.Critical, "hwraid.logical_drive", []string{"twa0 LD 0", "slot 1 failed", "tw_cli /c0 show"}},
		{"dead BBU", model.Controller{Name: "megaraid0", Battery: &model.Battery{Type: "ibbu", Bad: true, Flags: []string{"voltage_low", "replace_pack"}}},
			model.Warning, "hwraid.battery", []string{"voltage_low, replace_pack", "write-back"}},
		{"good BBU", model.Controller{Name: "megaraid0", Battery: &model.Battery{Type: "bbu", Flags: []string{"charging"}}}, model.OK, "", nil},
		{"predictive failure", model.Controller{Name: "megaraid0", Physical: []model.PhysicalDisk{{DeviceID: 4, Enclosure: -1, Slot: 4, State: "online", PredictiveFailures: 2, DiskID: "wwn:5000c500a1b2c3d4"}}},
			model.Warning, "hwraid.physical_disk", []string{"2 predictive failure"}},
	} {
		s := &model.Snapshot{Controllers: []model.Controller{c.ctrl}}
		var got []model.Finding
		for _, f := range Default().Evaluate(&Input{Snapshot: s, Now: time.Unix(0, 0)}, nil) {
			if strings.HasPrefix(f.Rule, "hwraid.") {
				got = append(got, f)
			}
		}
		if c.rule == "" {
			if len(got) != 0 {
				t.Errorf("%s: %+v", c.name, got)
			}
			continue
		}
		if len(got) != 1 || got[0].Rule != c.rule || got[0].Severity != c.sev {
			t.Errorf("%s: %+v", c.name, got)
			continue
		}
		text := got[0].Subject + ": " + got[0].Message + " | " + got[0].Remedy
		for _, w := range c.contains {
			if !strings.Contains(text, w) {
				t.Errorf("%s: %q lacks %q", c.name, text, w)
			}
		}
	}
}
