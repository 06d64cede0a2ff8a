package rules

import (
	"fmt"
	"strings"
	"time"

	"github.com/diskwatch/diskwatch/collectors/model"
)

// MDRules are the software RAID rules.
func MDRules() []*Rule {
	return []*Rule{mdDegraded, mdInactive, mdReadOnly, mdMemberError, mdMismatch, mdSync, mdBoot}
}

func mdMatch(a *model.Array) model.Match { return model.Match{Path: a.Path} }

func mdFinding(a *model.Array, sev model.Severity, msg, remedy string) model.Finding {
	return model.Finding{Severity: sev, Subject: model.Clean(a.Name), SubjectID: a.ID(), Message: msg, Remedy: remedy, Match: mdMatch(a)}
}

// slotMap renders "[2/1] [U_]" from the counts.
func slotMap(a *model.Array) string {
	if a.DisksTotal == 0 {
		return ""
	}
	return fmt.Sprintf("[%d/%d]", a.DisksTotal, a.DisksActive)
}

func isContainer(a *model.Array) bool {
	// An IMSM/DDF container ("super external:imsm") is always listed as
	// inactive; its member arrays ("external:/md127/0") carry the state.
	return strings.HasPrefix(a.Metadata, "external:") && !strings.HasPrefix(a.Metadata, "external:/")
}

func names(ms []model.Member, pick func(model.Member) bool) []string {
	var out []string
	for _, m := range ms {
		if pick(m) {
			out = append(out, model.Clean(m.Name))
		}
	}
	return out
}

func progress(a *model.Array) string {
	s := fmt.Sprintf("%.1f%% done", a.SyncPercent)
	if a.SyncSpeedKiBs > 0 {
		s += fmt.Sprintf(", %.0f MiB/s", a.SyncSpeedKiBs/1024)
	}
	if a.SyncETA > 0 {
		s += ", about " + roughDuration(a.SyncETA) + " left"
	}
	return s
}

var mdDegraded = &Rule{
	Name:    "md.degraded",
	Summary: "an md array is missing a member or has a failed one, and is not rebuilding",
	Eval: func(in *Input, _ Params) []model.Finding {
		var out []model.Finding
		for i := range in.Snapshot.Arrays {
			a := &in.Snapshot.Arrays[i]
			if a.Activity == "inactive" {
				continue
			}
			failed := names(a.Members, func(m model.Member) bool { return m.Faulty })
			missing := a.DisksDown
			if a.Degraded > missing {
				missing = a.Degraded
			}
			if missing == 0 && len(failed) == 0 {
				continue
			}
			rebuilding := a.SyncAction == "recover" && a.SyncPending == ""
			queued := a.SyncPending != "" && a.DisksSpare > 0
			var f model.Finding
			detached := names(a.Members, func(m model.Member) bool { return m.Faulty && m.Detached })
			switch {
			case missing == 0 && len(detached) == len(failed):
				// Every slot is in sync; the failed member(s) are gone from
				// the system (unplugged, or replaced and re-added under a new
				// name) and only md's stale entry is left.
				f = mdFinding(a, model.Warning,
					fmt.Sprintf("%s (%s) is in sync %s but still lists failed member(s) %s, whose device is gone (unplugged or replaced); redundancy is intact",
						a.Name, a.Level, slotMap(a), strings.Join(failed, ", ")),
					removeHint(a, failed))
			case missing == 0:
				// Every slot is in sync but a failed device is still attached.
				f = mdFinding(a, model.Critical,
					fmt.Sprintf("%s (%s) has failed member(s) %s; redundancy is intact %s but the failed disk must be replaced",
						a.Name, a.Level, strings.Join(failed, ", "), slotMap(a)),
					removeHint(a, failed))
			case rebuilding:
				f = mdFinding(a, model.Warning,
					fmt.Sprintf("%s (%s) is rebuilding %s: %s; no redundancy until it completes", a.Name, a.Level, slotMap(a), progress(a)),
					"wait for the rebuild; avoid heavy I/O and do not remove any other member")
				f.Rule = "md.rebuilding"
				f.Values = map[string]float64{"percent": a.SyncPercent, "speed_kib_s": a.SyncSpeedKiBs, "eta_s": a.SyncETA.Seconds()}
				if len(failed) > 0 {
					f.Message += "; failed member(s) still attached: " + strings.Join(failed, ", ")
				}
			case queued:
				f = mdFinding(a, model.Warning,
					fmt.Sprintf("%s (%s) is degraded %s; rebuild onto a spare is queued (%s=%s)", a.Name, a.Level, slotMap(a), a.SyncAction, a.SyncPending),
					"the rebuild starts when the array it waits for is done; check /proc/mdstat")
				f.Rule = "md.rebuilding"
			default:
				msg := fmt.Sprintf("%s (%s) is DEGRADED %s: %d of %d slots missing", a.Name, a.Level, slotMap(a), missing, a.DisksTotal)
				if len(failed) > 0 {
					msg += "; failed: " + strings.Join(failed, ", ")
				}
				if a.SyncAction != "" && a.SyncAction != "idle" {
					msg += "; " + a.SyncAction + " running, which does not restore redundancy"
				}
				remedy := ""
				if len(a.Candidates) > 0 {
					var cmds []string
					for _, c := range a.Candidates {
						cmds = append(cmds, fmt.Sprintf("mdadm %s --add /dev/%s", a.Path, model.Clean(c)))
					}
					msg += fmt.Sprintf("; /dev/%s carries this array's superblock but is not a member (re-attached, never re-added)",
						strings.Join(a.Candidates, ", /dev/"))
					remedy = "re-add it: " + strings.Join(cmds, "; ")
				} else {
					remedy = removeHint(a, failed)
					if remedy != "" {
						remedy += "; then "
					}
					remedy += fmt.Sprintf("add a replacement disk: mdadm %s --add /dev/NEWDISK", a.Path)
				}
				f = mdFinding(a, model.Critical, msg, remedy)
				f.Related = append(failed, a.Candidates...)
				withRebuildRisk(in, a, &f)
			}
			f.Values = mergeValues(f.Values, map[string]float64{"disks_total": float64(a.DisksTotal), "disks_active": float64(a.DisksActive), "disks_failed": float64(len(failed))})
			out = append(out, f)
		}
		return out
	},
}

// removeHint says how to remove the failed members: by device, or with
// mdadm's "detached" keyword for members whose device no longer exists
// (mdadm cannot stat /dev/NAME for them).
func removeHint(a *model.Array, failed []string) string {
	var cmds []string
	gone := false
	for _, n := range failed {
		if m := memberNamed(a, n); m != nil && m.Detached {
			gone = true
			continue
		}
		cmds = append(cmds, fmt.Sprintf("mdadm %s --remove /dev/%s", a.Path, n))
	}
	if gone {
		cmds = append(cmds, fmt.Sprintf("mdadm %s --remove detached", a.Path))
	}
	return strings.Join(cmds, "; ")
}

func memberNamed(a *model.Array, clean string) *model.Member {
	for i := range a.Members {
		if model.Clean(a.Members[i].Name) == clean {
			return &a.Members[i]
		}
	}
	return nil
}

func mergeValues(a, b map[string]float64) map[string]float64 {
	if a == nil {
		return b
	}
	for k, v := range b {
		a[k] = v
	}
	return a
}

var mdInactive = &Rule{
	Name:    "md.inactive",
	Summary: "an md array is inactive (not assembled/running) or failed",
	Eval: func(in *Input, _ Params) []model.Finding {
		var out []model.Finding
		for i := range in.Snapshot.Arrays {
			a := &in.Snapshot.Arrays[i]
			if isContainer(a) {
				continue
			}
			switch {
			case a.Activity == "inactive" || a.ArrayState == "inactive":
				out = append(out, mdFinding(a, model.Critical,
					fmt.Sprintf("%s is INACTIVE (members: %s); its data is not available", a.Name, strings.Join(names(a.Members, func(model.Member) bool { return true }), ", ")),
					fmt.Sprintf("inspect with mdadm --examine on the members, then mdadm --assemble --scan (or mdadm --run %s)", a.Path)))
			case a.ArrayState == "broken" || a.ArrayState == "clear":
				out = append(out, mdFinding(a, model.Critical,
					fmt.Sprintf("%s array_state is %q: the array has failed", a.Name, a.ArrayState),
					fmt.Sprintf("check members with mdadm --detail %s and the kernel log", a.Path)))
			}
		}
		return out
	},
}

var mdReadOnly = &Rule{
	Name:    "md.readonly",
	Summary: "an md array is read-only",
	Eval: func(in *Input, _ Params) []model.Finding {
		var out []model.Finding
		for i := range in.Snapshot.Arrays {
			a := &in.Snapshot.Arrays[i]
			if !a.ReadOnly || a.Activity == "inactive" {
				continue
			}
			if a.ArrayState == "read-auto" {
				// auto-read-only is the normal state of a freshly assembled
				// array until its first write.
				out = append(out, mdFinding(a, model.OK, fmt.Sprintf("%s is auto-read-only until its first write", a.Name), ""))
				continue
			}
			out = append(out, mdFinding(a, model.Warning, fmt.Sprintf("%s is read-only: writes fail", a.Name),
				fmt.Sprintf("if unintended: mdadm --readwrite %s", a.Path)))
		}
		return out
	},
}

var mdMemberError = &Rule{
	Name:    "md.member_error",
	Summary: "a member's sysfs state shows write errors, a wanted replacement or faulty, or it has recorded bad blocks, even while /proc/mdstat shows it in sync",
	Params:  map[string]float64{"bad_blocks": 1},
	Eval: func(in *Input, p Params) []model.Finding {
		var out []model.Finding
		for i := range in.Snapshot.Arrays {
			a := &in.Snapshot.Arrays[i]
			for _, m := range a.Members {
				var why []string
				for _, s := range []string{"write_error", "want_replacement", "faulty", "blocked"} {
					if m.HasState(s) {
						why = append(why, s)
					}
				}
				limit := p.Get("bad_blocks", mdMatch(a))
				if m.BadBlocks > 0 && float64(m.BadBlocks) >= limit {
					why = append(why, fmt.Sprintf("%d bad-block entries (%d sectors)", m.BadBlocks, m.BadSectors))
				}
				if len(why) == 0 || (m.Faulty && len(why) == 1 && why[0] == "faulty") {
					continue // a plain (F) member is md.degraded's finding
				}
				f := mdFinding(a, model.Critical,
					fmt.Sprintf("%s member %s: %s (sysfs state %q)", a.Name, model.Clean(m.Name), strings.Join(why, ", "), strings.Join(m.State, ",")),
					fmt.Sprintf("the disk is failing writes: replace it (mdadm %s --add /dev/NEWDISK; mdadm %s --replace /dev/%s --with /dev/NEWDISK)", a.Path, a.Path, model.Clean(m.Name)))
				f.Related = []string{model.Clean(m.Name)}
				f.Values = map[string]float64{"bad_blocks": float64(m.BadBlocks), "errors": float64(m.Errors)}
				out = append(out, f)
			}
		}
		return out
	},
}

var mdMismatch = &Rule{
	Name:    "md.mismatch",
	Summary: "mismatch_cnt > 0 after a completed check on raid4/5/6 (raid1/10 report harmless mismatches and are info only unless raid1_warn is 1)",
	Params:  map[string]float64{"min": 1, "raid1_warn": 0},
	Eval: func(in *Input, p Params) []model.Finding {
		var out []model.Finding
		for i := range in.Snapshot.Arrays {
			a := &in.Snapshot.Arrays[i]
			if a.MismatchCount <= 0 || float64(a.MismatchCount) < p.Get("min", mdMatch(a)) {
				continue
			}
			if a.SyncAction != "idle" || (a.LastSyncAction != "check" && a.LastSyncAction != "") {
				continue // only a finished check's count means anything
			}
			parity := a.Level == "raid4" || a.Level == "raid5" || a.Level == "raid6"
			sev := model.OK
			msg := fmt.Sprintf("%s: last check found %d mismatched sectors", a.Name, a.MismatchCount)
			remedy := ""
			switch {
			case parity:
				sev = model.Warning
				msg += "; on " + a.Level + " this means parity and data disagree"
				remedy = fmt.Sprintf("check the members' SMART and kernel log, then run a repair: echo repair > /sys/block/%s/md/sync_action", a.Name)
			case p.Get("raid1_warn", mdMatch(a)) != 0:
				sev = model.Warning
				remedy = fmt.Sprintf("echo repair > /sys/block/%s/md/sync_action", a.Name)
			default:
				msg += "; on " + a.Level + " this is usually harmless (swap or in-flight writes), not alarming"
			}
			f := mdFinding(a, sev, msg, remedy)
			f.Values = map[string]float64{"mismatch_cnt": float64(a.MismatchCount)}
			out = append(out, f)
		}
		return out
	},
}

var mdSync = &Rule{
	Name:    "md.sync",
	Summary: "a resync, check or reshape is running (or waiting) while redundancy is intact: info",
	Eval: func(in *Input, _ Params) []model.Finding {
		var out []model.Finding
		for i := range in.Snapshot.Arrays {
			a := &in.Snapshot.Arrays[i]
			if a.SyncAction == "" || a.SyncAction == "idle" || a.SyncAction == "recover" || a.Activity == "inactive" {
				continue
			}
			if a.DisksDown > 0 || a.Degraded > 0 {
				continue // md.degraded speaks for it
			}
			msg := fmt.Sprintf("%s: %s in progress, %s; redundancy intact", a.Name, a.SyncAction, progress(a))
			if a.SyncPending != "" {
				msg = fmt.Sprintf("%s: %s %s (waits for another array on the same disks); redundancy intact", a.Name, a.SyncAction, strings.ToLower(a.SyncPending))
			}
			f := mdFinding(a, model.OK, msg, "")
			f.Values = map[string]float64{"percent": a.SyncPercent}
			out = append(out, f)
		}
		return out
	},
}

var mdBoot = &Rule{
	Name:    "md.boot",
	Summary: "a member disk of a RAID1 holding / or /boot has neither boot code in its MBR nor an EFI system partition",
	Eval: func(in *Input, _ Params) []model.Finding {
		var out []model.Finding
		for i := range in.Snapshot.Arrays {
			a := &in.Snapshot.Arrays[i]
			var bootable, cannot []string
			for _, b := range a.Boot {
				switch {
				case b.Error != "" || b.Skipped != "":
					continue
				case b.BIOS || b.EFI:
					bootable = append(bootable, b.Disk)
				default:
					cannot = append(cannot, model.Clean(b.Disk))
				}
			}
			for _, d := range cannot {
				f := mdFinding(a, model.Warning,
					fmt.Sprintf("%s holds %s, but member disk %s has no boot code in its MBR and no EFI system partition: if %s dies the machine will not boot",
						a.Name, strings.Join(a.MountPoints, " and "), d, strings.Join(bootable, "/")),
					fmt.Sprintf("install the boot loader on it: grub-install /dev/%s (BIOS), or create and populate an ESP on it (UEFI)", d))
				f.Related = []string{d}
				out = append(out, f)
			}
		}
		return out
	},
}

// roughDuration prints a duration as an operator reads it: "40s", "17m",
// "31h10m".
func roughDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return d.Round(time.Second).String()
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Round(time.Minute)/time.Minute))
	default:
		d = d.Round(time.Minute)
		return fmt.Sprintf("%dh%02dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
}
