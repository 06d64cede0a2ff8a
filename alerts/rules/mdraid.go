package rules

import (
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/diskwatch/diskwatch/collectors/model"
)

// MDRules are the software RAID rules.
func MDRules() []*Rule {
	return []*Rule{mdDegraded, mdInactive, mdReadOnly, mdMemberError, mdMismatch, mdSync, mdBoot, mdBootEntry}
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
	Summary: "a member disk of a RAID1 holding / or /boot cannot boot the machine on its own, or the members' EFI system partitions drifted apart",
	Eval: func(in *Input, _ Params) []model.Finding {
		var out []model.Finding
		for i := range in.Snapshot.Arrays {
			a := &in.Snapshot.Arrays[i]
			var bootable, problems, fixes, related []string
			for _, b := range a.Boot {
				if b.Error != "" || b.Skipped != "" || (b.Firmware == "uefi" && b.ESPError != "") {
					continue // unknown, not broken: never a false cry
				}
				d := model.Clean(b.Disk)
				problem, fix := bootProblem(a, b, d)
				if problem == "" {
					bootable = append(bootable, d)
					continue
				}
				problems = append(problems, problem)
				fixes = append(fixes, fix)
				related = append(related, d)
			}
			if drift, fix := espDrift(a); drift != "" {
				problems = append(problems, drift)
				fixes = append(fixes, fix)
			}
			if len(problems) == 0 {
				continue
			}
			msg := fmt.Sprintf("%s holds %s: %s", a.Name, strings.Join(a.MountPoints, " and "), strings.Join(problems, "; "))
			if len(related) > 0 {
				msg += fmt.Sprintf(": if %s dies the machine will not boot", strings.Join(bootable, "/"))
			}
			f := mdFinding(a, model.Warning, msg, strings.Join(fixes, "; "))
			f.Related = related
			out = append(out, f)
		}
		return out
	},
}

var mdBootEntry = &Rule{
	Name:    "md.boot_entry",
	Summary: "under UEFI, the EFI system partition of a member disk of a RAID1 holding / or /boot has no firmware boot entry (efivars Boot####) naming it",
	Eval: func(in *Input, _ Params) []model.Finding {
		var out []model.Finding
		for i := range in.Snapshot.Arrays {
			a := &in.Snapshot.Arrays[i]
			var missing, fixes, with []string
			for _, b := range a.Boot {
				d := model.Clean(b.Disk)
				if b.Firmware != "uefi" || b.Error != "" || b.ESPPartition == 0 {
					continue
				}
				if !b.NoBootEntry {
					if len(b.BootEntries) > 0 {
						with = append(with, d)
					}
					continue
				}
				missing = append(missing, fmt.Sprintf("%s (%s)", d, partName(d, b.ESPPartition)))
				fixes = append(fixes, fmt.Sprintf("efibootmgr -c -d /dev/%s -p %d -L 'debian (%s)' -l '%s'", d, b.ESPPartition, d, loaderPath(b.Loaders)))
			}
			if len(missing) == 0 {
				continue
			}
			msg := fmt.Sprintf("%s holds %s, but no firmware boot entry names the EFI system partition of member disk %s", a.Name, strings.Join(a.MountPoints, " and "), strings.Join(missing, ", "))
			if len(with) > 0 {
				msg += fmt.Sprintf(": if %s dies the firmware may not try it", strings.Join(with, "/"))
			}
			f := mdFinding(a, model.Notice, msg, "add one: "+strings.Join(fixes, "; "))
			for _, m := range missing {
				f.Related = append(f.Related, strings.Fields(m)[0])
			}
			out = append(out, f)
		}
		return out
	},
}

// loaderPath is the loader a boot entry should start, as firmware writes
// paths: shim when the ESP has it, else GRUB, else the first loader.
func loaderPath(ls []model.EFIFile) string {
	p := `EFI/debian/shimx64.efi`
	for _, pref := range []string{"shimx64.efi", "grubx64.efi"} {
		found := false
		for _, l := range ls {
			if strings.EqualFold(path.Base(l.Path), pref) && !strings.EqualFold(path.Dir(l.Path), "EFI/BOOT") {
				p, found = l.Path, true
				break
			}
		}
		if found {
			break
		}
	}
	return `\` + strings.ReplaceAll(strings.ReplaceAll(model.Clean(p), "'", "?"), "/", `\`)
}

// bootProblem says what keeps member disk d from booting the machine on
// its own under the host's firmware, and the fix; "" when it can.
func bootProblem(a *model.Array, b model.BootInfo, d string) (problem, fix string) {
	grub := fmt.Sprintf("grub-install /dev/%s (on Debian: dpkg-reconfigure grub-pc and select every member disk of %s, so that GRUB updates install to all of them)", d, a.Name)
	switch b.Firmware {
	case "bios":
		switch {
		case b.BIOS && !b.GRUB:
			return "", "" // another boot loader's code: not judged
		case b.GPT && !b.BIOSBootPartition:
			return fmt.Sprintf("member disk %s is GPT but has no BIOS boot partition for GRUB's core.img", d),
				fmt.Sprintf("create one in the free space before the first partition (sgdisk -n 0:34:2047 -t 0:ef02 /dev/%s), then %s", d, grub)
		case !b.BIOS:
			return fmt.Sprintf("member disk %s has no boot code in its MBR", d), "install it: " + grub
		case !b.CoreImg && b.GPT:
			return fmt.Sprintf("member disk %s has no GRUB core.img in its BIOS boot partition", d), "install it: " + grub
		case !b.CoreImg:
			return fmt.Sprintf("member disk %s has no GRUB core.img in the gap after its MBR", d), "install it: " + grub
		}
	case "uefi":
		switch {
		case b.ESPPartition == 0:
			return fmt.Sprintf("member disk %s has no EFI system partition", d),
				fmt.Sprintf("create an ESP on %s as large as a good member's (sgdisk -n 0:0:+512M -t 0:ef00 /dev/%s), copy the good ESP onto it (dd, both unmounted) and add a boot entry: efibootmgr -c -d /dev/%s -p N -L debian-%s -l '\\EFI\\debian\\shimx64.efi'", d, d, d, d)
		case len(b.Loaders) == 0:
			part := partName(d, b.ESPPartition)
			return fmt.Sprintf("the EFI system partition of member disk %s (%s) holds no \\EFI\\*\\*.efi boot loader", d, part),
				fmt.Sprintf("copy a good member's ESP onto /dev/%s (dd if=/dev/GOOD_ESP of=/dev/%s, both unmounted), or mount it and run grub-install --target=x86_64-efi --efi-directory=MOUNTPOINT --bootloader-id=debian", part, part)
		}
	default: // a snapshot from before the firmware was recorded
		if !b.BIOS && !b.EFI {
			return fmt.Sprintf("member disk %s has no boot code in its MBR and no EFI system partition", d),
				fmt.Sprintf("install the boot loader on it: grub-install /dev/%s (BIOS), or create and populate an ESP on it (UEFI)", d)
		}
	}
	return "", ""
}

// espDrift reports members whose ESPs hold different boot loaders (path,
// size or checksum of the \EFI\**\*.efi files), and the fix.
func espDrift(a *model.Array) (string, string) {
	sets := map[string][]string{} // loader set -> disks
	var order []string
	files := map[string]map[string]bool{} // disk -> loader keys
	named := map[string]string{}          // upper-cased path -> path as named
	for _, b := range a.Boot {
		if b.Firmware != "uefi" || b.Error != "" || b.ESPError != "" || len(b.Loaders) == 0 {
			continue
		}
		keys := make([]string, 0, len(b.Loaders))
		d := model.Clean(b.Disk)
		files[d] = map[string]bool{}
		for _, l := range b.Loaders {
			up := strings.ToUpper(l.Path) // FAT names are case-insensitive
			if _, ok := named[up]; !ok {
				named[up] = l.Path
			}
			k := fmt.Sprintf("%s\x00%d\x00%s", up, l.Size, l.SHA256)
			keys = append(keys, k)
			files[d][k] = true
		}
		sort.Strings(keys)
		set := strings.Join(keys, "\n")
		if _, ok := sets[set]; !ok {
			order = append(order, set)
		}
		sets[set] = append(sets[set], d)
	}
	if len(sets) < 2 {
		return "", ""
	}
	// The files not on every member, by path.
	var differ []string
	seen := map[string]bool{}
	for _, set := range order {
		for _, k := range strings.Split(set, "\n") {
			p, _, _ := strings.Cut(k, "\x00")
			everywhere := true
			for _, fs := range files {
				everywhere = everywhere && fs[k]
			}
			if !everywhere && !seen[p] {
				seen[p] = true
				differ = append(differ, model.Clean(named[p]))
			}
		}
	}
	var groups []string
	for _, set := range order {
		groups = append(groups, strings.Join(sets[set], "+"))
	}
	return fmt.Sprintf("the EFI system partitions of its members drifted apart (%s differ: %s), so the machine boots a different loader depending on the disk", strings.Join(groups, " vs "), strings.Join(differ, ", ")),
		"copy the up-to-date ESP (the one mounted at /boot/efi) onto the others (dd, both unmounted, or rsync -a --delete /boot/efi/ MOUNTPOINT/), or run grub-install --target=x86_64-efi --efi-directory=MOUNTPOINT for each member's ESP after every GRUB update"
}

// partName is the kernel name of partition n of disk d: sda1, nvme0n1p1.
func partName(d string, n int) string {
	if d != "" && d[len(d)-1] >= '0' && d[len(d)-1] <= '9' {
		return fmt.Sprintf("%sp%d", d, n)
	}
	return fmt.Sprintf("%s%d", d, n)
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
