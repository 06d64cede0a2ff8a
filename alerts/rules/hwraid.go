package rules

import (
	"fmt"
	"strings"

	"github.com/diskwatch/diskwatch/collectors/model"
)

// HWRaidRules are the rules on hardware RAID controllers' own state:
// logical drives (units), the physical disks the firmware sees, and the
// cache battery.
func HWRaidRules() []*Rule {
	return []*Rule{hwraidLD, hwraidPD, hwraidBattery}
}

func ldSubject(c *model.Controller, ld *model.LogicalDrive) (string, string) {
	name := fmt.Sprintf("%s LD %d", model.Clean(c.Name), ld.ID)
	if ld.Name != "" {
		name += " (" + model.Clean(ld.Name) + ")"
	}
	return name, fmt.Sprintf("%s/ld%d", c.ID(), ld.ID)
}

// memberList renders members "slot 1 failed, slot 2 online".
func memberList(ms []model.PhysicalDisk, pick func(model.PhysicalDisk) bool) []string {
	var out []string
	for _, m := range ms {
		if pick(m) {
			s := m.Where() + " " + model.Clean(m.State)
			if m.RebuildPercent != nil {
				s += fmt.Sprintf(" (%.0f%% rebuilt)", *m.RebuildPercent)
			}
			out = append(out, s)
		}
	}
	return out
}

func memberOK(m model.PhysicalDisk) bool { return m.State == "online" || m.State == "jbod" }

func storcli(c *model.Controller) string {
	if c.Family == "3ware" {
		return fmt.Sprintf("tw_cli /c%s show", strings.TrimLeft(model.Clean(c.Name), "abcdefghijklmnopqrstuvwxyz"))
	}
	return "storcli /call show all (or MegaCli -LDInfo -Lall -aALL)"
}

var hwraidLD = &Rule{
	Name:    "hwraid.logical_drive",
	Summary: "a hardware RAID logical drive (MegaRAID virtual drive, 3ware unit) is degraded, rebuilding or offline",
	Eval: func(in *Input, _ Params) []model.Finding {
		var out []model.Finding
		for i := range in.Snapshot.Controllers {
			c := &in.Snapshot.Controllers[i]
			for j := range c.Logical {
				ld := &c.Logical[j]
				subj, id := ldSubject(c, ld)
				bad := memberList(ld.Members, func(m model.PhysicalDisk) bool { return !memberOK(m) })
				rebuilding := len(bad) > 0
				for _, m := range ld.Members {
					if !memberOK(m) && m.State != "rebuild" {
						rebuilding = false
					}
				}
				level := ""
				if ld.RAIDLevel != "" {
					level = " (RAID" + model.Clean(ld.RAIDLevel) + ")"
				}
				f := model.Finding{Subject: subj, SubjectID: id, Values: map[string]float64{}}
				var slots []string
				for _, m := range ld.Members {
					if !memberOK(m) {
						slots = append(slots, m.Where())
					}
				}
				f.Related = slots
				switch ld.State {
				case "optimal", "ok":
					continue
				case "offline", "inoperable":
					f.Severity = model.Critical
					f.Message = fmt.Sprintf("%s%s is %s: its data is not available; members: %s",
						subj, level, strings.ToUpper(ld.State), strings.Join(memberList(ld.Members, func(model.PhysicalDisk) bool { return true }), ", "))
					f.Remedy = "do not re-initialise or recreate it; check the failed members' cabling and power, then see " + storcli(c) + "; restore from backup if members are lost"
				case "degraded", "partially_degraded", "rebuilding":
					if rebuilding || ld.State == "rebuilding" {
						f.Severity = model.Warning
						f.Message = fmt.Sprintf("%s%s is rebuilding: %s; no redundancy until it ends", subj, level, strings.Join(bad, ", "))
						f.Remedy = "let the rebuild finish and avoid heavy I/O; replace any other disk that reports errors first"
						for _, m := range ld.Members {
							if m.RebuildPercent != nil {
								f.Values["percent"] = *m.RebuildPercent
							}
						}
					} else {
						f.Severity = model.Critical
						what := "DEGRADED"
						if ld.State == "partially_degraded" {
							what = "PARTIALLY DEGRADED (one more failure is still survivable, two are not)"
						}
						if len(bad) == 0 {
							bad = []string{"a member is missing"}
						}
						f.Message = fmt.Sprintf("%s%s is %s: %s", subj, level, what, strings.Join(bad, ", "))
						f.Remedy = fmt.Sprintf("replace the disk in %s with one of at least the same size; the controller rebuilds onto it (or onto a hot spare); see %s",
							strings.Join(slots, " and "), storcli(c))
					}
				default:
					f.Severity = model.Warning
					f.Message = fmt.Sprintf("%s%s is in state %q", subj, level, model.Clean(ld.State))
					f.Remedy = "see " + storcli(c)
				}
				out = append(out, f)
			}
		}
		return out
	},
}

var hwraidPD = &Rule{
	Name:    "hwraid.physical_disk",
	Summary: "a disk behind a hardware RAID controller is failed or unconfigured-bad, or the firmware counts predictive failures on it",
	Eval: func(in *Input, _ Params) []model.Finding {
		var out []model.Finding
		for i := range in.Snapshot.Controllers {
			c := &in.Snapshot.Controllers[i]
			inLD := map[int]bool{}
			for _, ld := range c.Logical {
				for _, m := range ld.Members {
					inLD[m.DeviceID] = true
				}
			}
			for _, p := range c.Physical {
				subj := model.Clean(c.Name) + " " + p.Where()
				id := p.DiskID
				if id == "" {
					id = fmt.Sprintf("%s/pd%d", c.ID(), p.DeviceID)
				}
				switch {
				case (p.State == "failed" || p.State == "unconfigured_bad" || p.State == "offline") && !inLD[p.DeviceID]:
					// Members of a logical drive are reported by
					// hwraid.logical_drive, naming the slot.
					out = append(out, model.Finding{Severity: model.Warning, Subject: subj, SubjectID: id,
						Message: fmt.Sprintf("the disk in %s (device id %d) is %s", p.Where(), p.DeviceID, model.Clean(p.State)),
						Remedy:  "replace it; see " + storcli(c)})
				case p.PredictiveFailures > 0:
					out = append(out, model.Finding{Severity: model.Warning, Subject: subj, SubjectID: id,
						Message: fmt.Sprintf("the controller counts %d predictive failure(s) (SMART trips) on the disk in %s", p.PredictiveFailures, p.Where()),
						Remedy:  "plan its replacement: the drive predicts its own failure", Values: map[string]float64{"predictive_failures": float64(p.PredictiveFailures)}})
				}
			}
		}
		return out
	},
}

var hwraidBattery = &Rule{
	Name:    "hwraid.battery",
	Summary: "a RAID controller's cache battery (BBU) or CacheVault cannot protect the write cache",
	Eval: func(in *Input, _ Params) []model.Finding {
		var out []model.Finding
		for i := range in.Snapshot.Controllers {
			c := &in.Snapshot.Controllers[i]
			b := c.Battery
			if b == nil || !b.Bad {
				continue
			}
			flags := make([]string, len(b.Flags))
			for i, f := range b.Flags {
				flags[i] = model.Clean(f)
			}
			out = append(out, model.Finding{Severity: model.Warning, Subject: model.Clean(c.Name) + " battery", SubjectID: c.ID() + "/battery",
				Message: fmt.Sprintf("the cache battery of %s has failed (%s): write-back caching is off or unprotected, and a power loss can lose cached writes",
					model.Clean(c.Name), strings.Join(flags, ", ")),
				Remedy: "replace the battery/CacheVault module; until then keep logical drives in write-through (see " + storcli(c) + ")"})
		}
		return out
	},
}
