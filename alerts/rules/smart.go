package rules

import (
	"fmt"
	"strings"

	"github.com/diskwatch/diskwatch/collectors/model"
)

// SMARTRules are the disk health rules: SMART self-assessment, attribute
// thresholds, NVMe critical warnings and wear, temperature, self-tests and
// error logs. They read the normalized record, whatever its source (native
// reads, the smartctl backend, a smartctl capture).
func SMARTRules() []*Rule {
	return []*Rule{smartHealth, smartAttribute, smartPending, nvmeCritical, smartWear, nvmeSpare,
		smartTemperature, smartSelfTest, smartErrorLog, scsiCounters, smartNotRead, smartDisabled}
}

// perReadDisk makes a rule's Eval from a check of one disk, run on every
// disk read this cycle (a disk skipped in standby is not judged on stale
// readings).
func perReadDisk(check func(in *Input, p Params, d *model.Disk) []model.Finding) func(*Input, Params) []model.Finding {
	return func(in *Input, p Params) []model.Finding {
		var out []model.Finding
		for i := range in.Snapshot.Disks {
			if d := &in.Snapshot.Disks[i]; readable(d) {
				out = append(out, check(in, p, d)...)
			}
		}
		return out
	}
}

// smartctlCmd is the smartctl command line that shows a disk's details,
// with the -d type when the disk sits behind a controller.
func smartctlCmd(d *model.Disk, opt string) string {
	s := "smartctl " + opt
	if v := d.Device.Via; v != "" && (strings.Contains(v, ",") || strings.HasPrefix(v, "usb")) {
		s += " -d " + model.Clean(v)
	}
	p := model.Clean(d.Device.Path)
	if n := model.Clean(d.Device.Name); p == "" && n != "" && !strings.ContainsAny(n, " /\\") {
		p = "/dev/" + n
	}
	if p == "" {
		// A disk known only from history (no device node here).
		p = "DEVICE"
	}
	return s + " " + p
}

// readable reports whether the disk was read this cycle (not skipped in
// standby).
func readable(d *model.Disk) bool { return d.Skipped == "" }

var smartHealth = &Rule{
	Name:    "smart.health",
	Summary: "the drive's own SMART health self-assessment says FAILED (CRITICAL)",
	Eval: perReadDisk(func(in *Input, _ Params, d *model.Disk) (out []model.Finding) {
		if d.SMARTPassed == nil || *d.SMARTPassed {
			return nil
		}
		if d.NVMe != nil && d.NVMe.CriticalWarning != 0 {
			return // smart.nvme_critical_warning names each bit
		}
		f := diskFinding(d, model.Critical, "SMART health self-assessment FAILED: the drive predicts its own failure",
			"back up its data now and replace the disk; "+smartctlCmd(d, "-x")+" shows why")
		for _, a := range d.ATAAttributes {
			if attrWhenFailed(&a) == "now" {
				f.Evidence = append(f.Evidence, fmt.Sprintf("attribute %d %s at or below threshold (value %d, threshold %d, raw %s)",
					a.ID, model.Clean(a.Name), a.Value, a.Thresh, model.Clean(a.RawString)))
			}
		}
		out = append(out, f)
		return out
	}),
}

// attrWhenFailed is the attribute's when_failed, computed the way smartctl
// does when the source did not say: a threshold of 0 never fails, and
// normalized values 0, 254 and 255 are not valid values.
func attrWhenFailed(a *model.ATAAttribute) string {
	if a.WhenFailed != "" {
		return a.WhenFailed
	}
	if a.Thresh == 0 || a.Thresh >= 254 {
		return ""
	}
	switch {
	case a.Value >= 1 && a.Value <= 253 && a.Value <= a.Thresh:
		return "now"
	case a.Worst >= 1 && a.Worst <= 253 && a.Worst <= a.Thresh:
		return "past"
	}
	return ""
}

// isTemperatureAttr reports whether the attribute is a temperature: its
// normalized value falls with heat (190 is often 100 minus degrees), so
// at-threshold means "hot", not "worn out".
func isTemperatureAttr(a *model.ATAAttribute) bool {
	return a.ID == 190 || a.ID == 194 || strings.Contains(strings.ToLower(a.Name), "temperature")
}

var smartAttribute = &Rule{
	Name: "smart.attribute",
	Summary: "(findings smart.attribute.ID) an ATA SMART attribute is at or below its threshold now (CRITICAL) or was in the past (WARNING); " +
		"temperature attributes (190, 194) only WARNING now and info in the past; threshold 0 never fails",
	Eval: perReadDisk(func(in *Input, _ Params, d *model.Disk) (out []model.Finding) {
		for j := range d.ATAAttributes {
			a := &d.ATAAttributes[j]
			wf := attrWhenFailed(a)
			if wf == "" {
				continue
			}
			kind := "old-age"
			if a.Prefailure {
				kind = "pre-failure"
			}
			desc := fmt.Sprintf("attribute %d %s (%s) value %d, worst %d, threshold %d, raw %s",
				a.ID, model.Clean(a.Name), kind, a.Value, a.Worst, a.Thresh, model.Clean(a.RawString))
			var f model.Finding
			switch {
			case wf == "now" && isTemperatureAttr(a):
				f = diskFinding(d, model.Warning, desc+": the drive is at its temperature limit now",
					"improve cooling (airflow, fans, dust) and check the drive temperature")
			case wf == "now":
				f = diskFinding(d, model.Critical, desc+": FAILING NOW",
					"back up its data and plan to replace the disk; "+smartctlCmd(d, "-x")+" shows the details")
			case isTemperatureAttr(a):
				f = diskFinding(d, model.OK, desc+": the drive was at its temperature limit in the past", "")
			default:
				f = diskFinding(d, model.Warning, desc+": was at or below threshold in the past",
					"watch this disk; run a long self-test ("+smartctlCmd(d, "-t long")+") and replace it if the attribute keeps falling")
			}
			// One alert per attribute: a second attribute failing is news.
			f.Rule = fmt.Sprintf("smart.attribute.%d", a.ID)
			f.Values = map[string]float64{"id": float64(a.ID), "value": float64(a.Value), "worst": float64(a.Worst), "thresh": float64(a.Thresh), "raw": float64(a.Raw)}
			out = append(out, f)
		}
		return out
	}),
}

var smartPending = &Rule{
	Name: "smart.pending_sectors",
	Summary: "ATA attribute 197 (current pending sectors) or 198 (offline uncorrectable) raw count is above max (default 0) " +
		"and above any acknowledged baseline (`diskwatch ack DISK 197`): sectors the drive could not read (NOTICE: back up; on Backblaze data 2.4 % of never-failed drives " +
		"show one within 40 days, README; risk.score pages when there are many or they grow fast)",
	Params: map[string]float64{"max": 0},
	Eval: perReadDisk(func(in *Input, p Params, d *model.Disk) (out []model.Finding) {
		limit := p.Get("max", diskMatch(d))
		var ev []string
		var worst int64
		for _, id := range []int{197, 198} {
			a := d.Attr(id)
			if a == nil || a.Raw <= int64(limit) {
				continue
			}
			b, acked := baseline(in, d.Device.ID(), fmt.Sprintf("smart_attr_%d_raw", id))
			if acked && float64(a.Raw) <= b.Value {
				continue // the operator accepted this count; only growth alerts
			}
			e := fmt.Sprintf("%d %s raw %d", a.ID, model.Clean(a.Name), a.Raw)
			if acked {
				e += fmt.Sprintf(" (grew beyond %s acknowledged on %s)", num(b.Value), b.Time.UTC().Format("2006-01-02"))
			}
			ev = append(ev, e)
			worst = max(worst, a.Raw)
		}
		if len(ev) == 0 {
			return
		}
		f := diskFinding(d, model.Notice, "has unreadable sectors: "+strings.Join(ev, ", "),
			"back up its data; run a long self-test ("+smartctlCmd(d, "-t long")+"); replace the disk if the count grows")
		f.Values = map[string]float64{"sectors": float64(worst)}
		out = append(out, f)
		return out
	}),
}

// nvmeBits are the NVMe SMART/Health critical warning bits (NVMe base
// spec, Get Log Page 02h, byte 0).
var nvmeBits = []struct {
	mask     int
	rule     string
	sev      model.Severity
	msg, fix string
}{
	{0x01, "spare_below_threshold", model.Critical, "available spare capacity has fallen below the drive's threshold",
		"the drive is running out of spare blocks: back up its data and replace it"},
	{0x02, "temperature", model.Warning, "temperature is above an over-temperature or below an under-temperature threshold",
		"improve cooling; the drive throttles or shuts down if it stays too hot"},
	{0x04, "reliability_degraded", model.Critical, "NVM subsystem reliability has been degraded (media errors or internal errors)",
		"back up its data now and replace the drive"},
	{0x08, "read_only", model.Critical, "the media has been placed in read-only mode",
		"the drive no longer accepts writes: copy its data off and replace it"},
	{0x10, "volatile_backup_failed", model.Critical, "the volatile memory backup device (power-loss protection) has failed",
		"data in flight can be lost on a power cut: replace the drive"},
	{0x20, "pmr_read_only", model.Critical, "the persistent memory region has become read-only or unreliable",
		"replace the drive"},
}

var nvmeCritical = &Rule{
	Name:    "smart.nvme_critical_warning",
	Summary: "an NVMe critical warning bit is set; each bit is its own finding, named (temperature WARNING, the others CRITICAL)",
	Eval: perReadDisk(func(in *Input, _ Params, d *model.Disk) (out []model.Finding) {
		if d.NVMe == nil || d.NVMe.CriticalWarning == 0 {
			return nil
		}
		w := d.NVMe.CriticalWarning
		for _, b := range nvmeBits {
			if w&b.mask == 0 {
				continue
			}
			f := diskFinding(d, b.sev, fmt.Sprintf("NVMe critical warning (0x%02x): %s", w, b.msg), b.fix)
			f.Rule = "smart.nvme_critical_warning." + b.rule
			f.Values = map[string]float64{"critical_warning": float64(w)}
			out = append(out, f)
		}
		if rest := w &^ 0x3f; rest != 0 {
			f := diskFinding(d, model.Warning, fmt.Sprintf("NVMe critical warning (0x%02x): bits 0x%02x not defined by the NVMe spec this diskwatch knows", w, rest),
				smartctlCmd(d, "-x")+" and the drive vendor's documentation say more")
			f.Rule = "smart.nvme_critical_warning.other"
			out = append(out, f)
		}
		return out
	}),
}

var smartWear = &Rule{
	Name: "smart.wear",
	Summary: "SSD endurance used (NVMe percentage used, ATA device statistics percentage used) at or above warn " +
		"(default 80 %, WARNING) or crit (default 95 %, CRITICAL)",
	Params: map[string]float64{"warn": 80, "crit": 95},
	Eval: perReadDisk(func(in *Input, p Params, d *model.Disk) (out []model.Finding) {
		var used float64
		switch {
		case d.EnduranceUsedPercent != nil:
			used = float64(*d.EnduranceUsedPercent)
		case d.NVMe != nil:
			used = float64(d.NVMe.PercentageUsed)
		default:
			return
		}
		m := diskMatch(d)
		var f model.Finding
		switch {
		case used >= p.Get("crit", m):
			f = diskFinding(d, model.Critical, fmt.Sprintf("has used %.0f%% of its rated write endurance", used),
				"replace the drive soon; worn-out flash turns read-only or loses data")
		case used >= p.Get("warn", m):
			f = diskFinding(d, model.Warning, fmt.Sprintf("has used %.0f%% of its rated write endurance", used),
				"plan its replacement; check what writes so much (the amount written grows with it)")
		default:
			return
		}
		f.Values = map[string]float64{"percentage_used": used}
		out = append(out, f)
		return out
	}),
}

var nvmeSpare = &Rule{
	Name: "smart.nvme_spare",
	Summary: "NVMe available spare below its threshold while the drive did not set the spare warning bit (CRITICAL); " +
		"a drive reporting 0 for both does not report spare and is left alone",
	Eval: perReadDisk(func(in *Input, _ Params, d *model.Disk) (out []model.Finding) {
		if d.NVMe == nil {
			return nil
		}
		n := d.NVMe
		if n.AvailableSpare == 0 && n.AvailableSpareThreshold == 0 {
			return // not reported (QEMU's NVMe does this)
		}
		if n.CriticalWarning&0x01 != 0 || n.AvailableSpare >= n.AvailableSpareThreshold {
			return // the critical-warning rule reports the bit
		}
		f := diskFinding(d, model.Critical, fmt.Sprintf("available spare %d%% is below its threshold %d%%", n.AvailableSpare, n.AvailableSpareThreshold),
			"the drive is running out of spare blocks: back up its data and replace it")
		f.Values = map[string]float64{"available_spare": float64(n.AvailableSpare), "available_spare_threshold": float64(n.AvailableSpareThreshold)}
		out = append(out, f)
		return out
	}),
}

var smartTemperature = &Rule{
	Name: "smart.temperature",
	Summary: "drive temperature above the drive's own limit (SCSI trip point, NVMe WCTEMP/CCTEMP, ATA SCT limits) or above the " +
		"configured limits: hdd_warn/hdd_crit (default 55/65 C) for spinning disks, ssd_warn/ssd_crit (default 70/80 C) for the others",
	Params: map[string]float64{"hdd_warn": 55, "hdd_crit": 65, "ssd_warn": 70, "ssd_crit": 80},
	Eval: perReadDisk(func(in *Input, p Params, d *model.Disk) (out []model.Finding) {
		t, ok := diskTemperature(d)
		if !ok {
			return
		}
		m := diskMatch(d)
		warn, crit := p.Get("ssd_warn", m), p.Get("ssd_crit", m)
		if d.Device.RotationRate > 1 {
			warn, crit = p.Get("hdd_warn", m), p.Get("hdd_crit", m)
		}
		var f model.Finding
		switch {
		case d.CritTemperatureC != nil && t >= *d.CritTemperatureC:
			f = diskFinding(d, model.Critical, fmt.Sprintf("temperature %.0f C is at or above the drive's own critical limit %.0f C", t, *d.CritTemperatureC),
				"cool it now (airflow, fans) or power it down; heat this high damages the drive")
		case crit > 0 && t >= crit:
			f = diskFinding(d, model.Critical, fmt.Sprintf("temperature %.0f C is at or above the critical limit %.0f C", t, crit),
				"cool it now (airflow, fans); limits per disk: devices: [{match: {serial: ...}, rules: {smart.temperature: {...}}}]")
		case d.WarnTemperatureC != nil && t >= *d.WarnTemperatureC:
			f = diskFinding(d, model.Warning, fmt.Sprintf("temperature %.0f C is at or above the drive's recommended maximum %.0f C", t, *d.WarnTemperatureC),
				"improve cooling (airflow, fans, dust)")
		case warn > 0 && t >= warn:
			f = diskFinding(d, model.Warning, fmt.Sprintf("temperature %.0f C is at or above the warning limit %.0f C", t, warn),
				"improve cooling (airflow, fans, dust)")
		default:
			return
		}
		f.Values = map[string]float64{"temperature_c": t}
		out = append(out, f)
		return out
	}),
}

// diskTemperature is the current temperature; 0 is "not reported" (a
// RAID volume answers 0).
func diskTemperature(d *model.Disk) (float64, bool) {
	if d.TemperatureC != nil && *d.TemperatureC > 0 {
		return *d.TemperatureC, true
	}
	if d.NVMe != nil && d.NVMe.TemperatureC > 0 {
		return d.NVMe.TemperatureC, true
	}
	return 0, false
}

var smartSelfTest = &Rule{
	Name:    "smart.self_test",
	Summary: "(findings smart.self_test.TYPE) the most recent self-test of a kind (short, long, ...) failed (CRITICAL); aborted tests do not count",
	Eval: perReadDisk(func(in *Input, _ Params, d *model.Disk) (out []model.Finding) {
		if d.SelfTest == nil {
			return nil
		}
		seen := map[string]bool{}
		for _, e := range d.SelfTest.Entries { // most recent first
			if seen[e.Type] {
				continue
			}
			if e.Passed || e.Failed {
				seen[e.Type] = true
			}
			if !e.Failed {
				continue
			}
			msg := fmt.Sprintf("the most recent %s self-test failed: %s (at %d power-on hours", model.Clean(e.Type), model.Clean(e.Status), e.LifetimeHour)
			if e.FailingLBA != nil {
				msg += fmt.Sprintf(", first failing LBA %d", *e.FailingLBA)
			}
			msg += ")"
			f := diskFinding(d, model.Critical, msg,
				"back up its data; the drive found sectors it cannot read. Run the test again ("+smartctlCmd(d, "-t "+testArg(e.Type))+
					") and replace the disk if it fails again")
			f.Rule = "smart.self_test." + testWordSafe(e.Type)
			f.Values = map[string]float64{"lifetime_hours": float64(e.LifetimeHour)}
			out = append(out, f)
		}
		return out
	}),
}

// testWordSafe keeps a test type usable inside a rule name.
func testWordSafe(typ string) string {
	b := []byte(strings.ToLower(typ))
	for i, c := range b {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			b[i] = '_'
		}
	}
	if len(b) == 0 {
		return "unknown"
	}
	return string(b)
}

func testArg(typ string) string {
	switch typ {
	case "short", "long", "conveyance":
		return typ
	}
	return "long"
}

var smartErrorLog = &Rule{
	Name: "smart.error_log",
	Summary: "the drive's error log has entries (info, one-shot): a lifetime count, often old or harmless; " +
		"its growth is what the history trend rules alert on",
	Eval: perReadDisk(func(in *Input, _ Params, d *model.Disk) (out []model.Finding) {
		if d.ErrorLogCount == nil || *d.ErrorLogCount <= 0 {
			return nil
		}
		what := "ATA error log"
		if d.NVMe != nil {
			what = "NVMe error information log"
		}
		entries := "entries"
		if *d.ErrorLogCount == 1 {
			entries = "entry"
		}
		f := diskFinding(d, model.OK, fmt.Sprintf("%d %s in the %s over its lifetime", *d.ErrorLogCount, entries, what),
			smartctlCmd(d, "-l error")+" lists them; a count that grows is what matters")
		f.Values = map[string]float64{"error_log_count": float64(*d.ErrorLogCount)}
		out = append(out, f)
		return out
	}),
}

var scsiCounters = &Rule{
	Name: "smart.scsi_counters",
	Summary: "SCSI/SAS grown defects and uncorrected read/write/verify errors (info, one-shot): lifetime counts; " +
		"their growth is what the history trend rules alert on",
	Eval: perReadDisk(func(in *Input, _ Params, d *model.Disk) (out []model.Finding) {
		if d.SCSI == nil {
			return nil
		}
		var parts []string
		vals := map[string]float64{}
		for _, c := range []struct {
			name string
			v    *int64
		}{{"grown defects", d.SCSI.GrownDefects}, {"uncorrected read errors", d.SCSI.ReadUncorrected},
			{"uncorrected write errors", d.SCSI.WriteUncorrected}, {"uncorrected verify errors", d.SCSI.VerifyUncorrected}} {
			if c.v != nil && *c.v > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", *c.v, c.name))
				vals[strings.ReplaceAll(c.name, " ", "_")] = float64(*c.v)
			}
		}
		if len(parts) == 0 {
			return
		}
		f := diskFinding(d, model.OK, "lifetime counters: "+strings.Join(parts, ", "),
			smartctlCmd(d, "-x")+" shows the logs; counts that grow are what matter")
		f.Values = vals
		out = append(out, f)
		return out
	}),
}

var smartNotRead = &Rule{
	Name:    "smart.not_read",
	Summary: "a disk was skipped because it is in standby (never woken), or has no SMART (a RAID volume, a virtual disk): info",
	Eval: func(in *Input, _ Params) []model.Finding {
		var out []model.Finding
		for i := range in.Snapshot.Disks {
			d := &in.Snapshot.Disks[i]
			switch {
			case d.Skipped != "":
				out = append(out, diskFinding(d, model.OK, fmt.Sprintf("in %s: not read this time, so as not to spin it up", model.Clean(d.Skipped)), ""))
			case (d.Device.Protocol == "scsi" || d.Device.Protocol == "") && !d.SMARTAvailable && d.SMARTPassed == nil && len(d.ATAAttributes) == 0 && d.NVMe == nil:
				// ATA and NVMe always have SMART (NVMe: mandatory); a SCSI
				// device without the informational exceptions page has none.
				out = append(out, diskFinding(d, model.OK, "reports no SMART data (a RAID volume or virtual disk?): its health is not watched here",
					"watch the physical disks behind it: smartctl --scan-open lists them (e.g. -d megaraid,N), add them under collectors.smartctl.devices"))
			}
		}
		return out
	},
}

var smartDisabled = &Rule{
	Name:    "smart.disabled",
	Summary: "SMART is available on the drive but disabled, so it cannot predict a failure (info, with the command that enables it)",
	Eval: perReadDisk(func(in *Input, _ Params, d *model.Disk) (out []model.Finding) {
		if !d.SMARTAvailable || d.SMARTEnabled || d.Device.Protocol == "nvme" || d.NVMe != nil {
			return nil // NVMe health reporting cannot be switched off
		}
		out = append(out, diskFinding(d, model.OK, "SMART is supported but disabled: the drive will not warn before it fails",
			"enable it: "+smartctlCmd(d, "-s on")))
		return out
	}),
}
