// Package cli holds what diskwatch's one-shot commands print: check's
// text, JSON and Nagios plugin formats, a SMART record, sensors, hardware
// RAID, kernel-log lines, and JSON with every control character escaped.
// Every device string goes through model.Clean: device strings are
// untrusted and may reach a terminal.
package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"path"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/diskwatch/diskwatch/alerts/engine"
	"github.com/diskwatch/diskwatch/collectors/hwraid"
	"github.com/diskwatch/diskwatch/collectors/model"
)

// JSON writes v as indented JSON, with DEL and the C1 controls
// (U+0080-U+009F) escaped too: encoding/json leaves them raw, and a device
// string may carry them to a terminal.
func JSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	out := make([]byte, 0, len(b)+1)
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == 0x7f || (r >= 0x80 && r < 0xa0) {
			out = fmt.Appendf(out, `\u%04x`, r)
		} else {
			out = append(out, b[:n]...)
		}
		b = b[n:]
	}
	_, err = w.Write(append(out, '\n'))
	return err
}

// CheckDoc is the JSON document `check --format json` prints.
type CheckDoc struct {
	Status   string               `json:"status"`
	Time     string               `json:"time"`
	Findings []model.Finding      `json:"findings"`
	Summary  map[string]int       `json:"summary"`
	Sources  []model.SourceStatus `json:"sources"`
	Arrays   []model.Array        `json:"arrays,omitempty"`
	Disks    []model.Disk         `json:"disks,omitempty"`
	UPS      []model.UPS          `json:"ups,omitempty"`
	Sensors  []model.Sensor       `json:"sensors,omitempty"`
	// Controllers are hardware RAID controllers' logical drives, disk
	// states and batteries.
	Controllers []model.Controller `json:"controllers,omitempty"`
}

// CheckJSON prints check's JSON document.
func CheckJSON(w io.Writer, res *engine.Result) {
	doc := CheckDoc{
		Status: res.Status.String(), Time: res.Snapshot.Time.UTC().Format("2006-01-02T15:04:05Z"),
		Findings: res.Findings, Summary: counts(res.Findings), Sources: res.Snapshot.Sources,
		Arrays: res.Snapshot.Arrays, Disks: res.Snapshot.Disks, UPS: res.Snapshot.UPS, Sensors: res.Snapshot.Sensors,
		Controllers: res.Snapshot.Controllers,
	}
	if doc.Findings == nil {
		doc.Findings = []model.Finding{}
	}
	JSON(w, doc)
}

func counts(fs []model.Finding) map[string]int {
	m := map[string]int{"OK": 0, "WARNING": 0, "CRITICAL": 0, "UNKNOWN": 0}
	for _, f := range fs {
		m[f.Severity.String()]++
	}
	return m
}

// CheckText prints one line per finding, most severe first, then a
// summary line.
func CheckText(w io.Writer, res *engine.Result, showOK bool) {
	hidden := 0
	for _, f := range res.Findings {
		if f.Severity == model.OK && !showOK && f.Rule != "collector.nothing" && f.Rule != "collector.permission" {
			hidden++
			continue
		}
		line := fmt.Sprintf("%-8s %s", f.Severity, WithSubject(f))
		if f.Remedy != "" {
			line += " — " + f.Remedy
		}
		fmt.Fprintln(w, SafeLine(line))
	}
	c := counts(res.Findings)
	s := res.Snapshot
	notice := ""
	if c["NOTICE"] > 0 {
		notice = fmt.Sprintf(", %d notice", c["NOTICE"])
	}
	fmt.Fprintf(w, "%s: %d critical, %d warning, %d unknown%s, %d info; watched %s\n",
		res.Status, c["CRITICAL"], c["WARNING"], c["UNKNOWN"], notice, c["OK"], watched(s))
	if hidden > 0 {
		fmt.Fprintf(w, "(%d informational findings hidden; --all shows them)\n", hidden)
	}
}

func watched(s *model.Snapshot) string {
	var parts []string
	add := func(n int, what string) {
		if n > 0 {
			if n > 1 && !strings.HasSuffix(what, "s") {
				what += "s"
			}
			parts = append(parts, fmt.Sprintf("%d %s", n, what))
		}
	}
	add(len(s.Arrays), "md array")
	add(len(s.Disks), "disk")
	add(len(s.UPS), "UPS")
	add(len(s.Sensors), "sensor")
	if len(parts) == 0 {
		return "nothing"
	}
	return strings.Join(parts, ", ")
}

// CheckNagios prints one status line with perfdata.
func CheckNagios(w io.Writer, res *engine.Result) {
	msg := "all " + watched(res.Snapshot) + " healthy"
	if watched(res.Snapshot) == "nothing" {
		msg = "nothing to watch on this host"
	}
	var top []string
	n := 0
	for _, f := range res.Findings {
		if f.Severity == model.OK {
			continue
		}
		n++
		if len(top) < 3 {
			top = append(top, WithSubject(f))
		}
	}
	if n > 0 {
		msg = strings.Join(top, "; ")
		if n > len(top) {
			msg += fmt.Sprintf("; and %d more", n-len(top))
		}
	}
	var perf []string
	for _, a := range res.Snapshot.Arrays {
		if a.DisksTotal == 0 || a.Activity == "inactive" {
			continue
		}
		// Fewer active disks than slots is critical: range "total:".
		perf = append(perf, fmt.Sprintf("'%s_active'=%d;;%d:;0;%d", perfLabel(a.Name), a.DisksActive, a.DisksTotal, a.DisksTotal))
	}
	for _, d := range res.Snapshot.Disks {
		if d.TemperatureC != nil {
			perf = append(perf, fmt.Sprintf("'%s_temp'=%g", perfLabel(d.Device.Name+d.Device.Path), *d.TemperatureC))
		}
	}
	line := fmt.Sprintf("DISKWATCH %s - %s", res.Status, SafeLine(msg))
	if len(perf) > 0 {
		line += " | " + strings.Join(perf, " ")
	}
	fmt.Fprintln(w, line)
}

func perfLabel(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\'' || r == '=' || r == '|' || r < 0x20 || r == ' ' {
			return '_'
		}
		return r
	}, model.Clean(s))
}

// WithSubject prefixes a finding's message with its subject unless the
// message already starts with it.
func WithSubject(f model.Finding) string {
	if strings.HasPrefix(f.Message, f.Subject) {
		return f.Message
	}
	return f.Subject + ": " + f.Message
}

// SafeLine makes a line safe for a terminal or a monitoring system: one
// line, no control characters (device strings are untrusted; rules clean
// them already, this is the last line of defence).
func SafeLine(s string) string { return model.Clean(OneLine(s)) }

// OneLine keeps an output line a single line.
func OneLine(s string) string {
	return strings.NewReplacer("\n", " ", "\r", " ").Replace(s)
}

// Disk prints one disk as a readable block. Every device string
// goes through model.Clean.
func Disk(w io.Writer, d *model.Disk) {
	dev := d.Device
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	name := model.Clean(dev.Path)
	if dev.Name != "" && path.Base(dev.Path) != dev.Name {
		name += " [" + model.Clean(dev.Name) + "]"
	}
	p("%s\n", name)
	kv := func(k, v string) {
		if v != "" {
			p("  %-16s %s\n", k+":", v)
		}
	}
	kv("model", model.Clean(dev.Model))
	kv("serial", model.Clean(dev.Serial))
	kv("firmware", model.Clean(dev.Firmware))
	kv("wwn", model.Clean(dev.WWN))
	proto := model.Clean(dev.Protocol)
	if dev.Via != "" && dev.Via != dev.Protocol {
		proto += " via " + model.Clean(dev.Via)
	}
	kv("protocol", proto)
	if dev.Capacity > 0 {
		kv("capacity", fmt.Sprintf("%s (%d bytes)", humanBytes(dev.Capacity), dev.Capacity))
	}
	switch {
	case dev.RotationRate > 1:
		kv("rotation", fmt.Sprintf("%d rpm", dev.RotationRate))
	case dev.RotationRate == 1 || (dev.RotationRate == 0 && dev.Protocol == "nvme"):
		kv("rotation", "solid state")
	}
	if d.Skipped != "" {
		kv("status", "not read: in "+model.Clean(d.Skipped)+" (not woken)")
		return
	}
	if d.PowerMode != "" {
		kv("power mode", model.Clean(d.PowerMode))
	}
	smart := "not available"
	if d.SMARTAvailable {
		smart = "available, "
		if d.SMARTEnabled {
			smart += "enabled"
		} else {
			smart += "disabled"
		}
	}
	kv("SMART", smart)
	health := "not reported"
	if d.SMARTPassed != nil {
		health = "PASSED"
		if !*d.SMARTPassed {
			health = "FAILED"
		}
	}
	kv("health", health)
	if d.TemperatureC != nil {
		t := fmt.Sprintf("%g C", *d.TemperatureC)
		var lim []string
		if d.WarnTemperatureC != nil {
			lim = append(lim, fmt.Sprintf("warning %g C", *d.WarnTemperatureC))
		}
		if d.CritTemperatureC != nil {
			lim = append(lim, fmt.Sprintf("critical %g C", *d.CritTemperatureC))
		}
		if len(lim) > 0 {
			t += " (drive limits: " + strings.Join(lim, ", ") + ")"
		}
		kv("temperature", t)
	}
	if d.PowerOnHours != nil {
		kv("power-on", fmt.Sprintf("%d hours", *d.PowerOnHours))
	}
	if d.PowerCycles != nil {
		kv("power cycles", fmt.Sprint(*d.PowerCycles))
	}
	if d.ErrorLogCount != nil {
		kv("error log", fmt.Sprintf("%d entries", *d.ErrorLogCount))
	}
	if d.EnduranceUsedPercent != nil {
		kv("endurance used", fmt.Sprintf("%d%%", *d.EnduranceUsedPercent))
	}
	if s := d.Smartctl; s != nil {
		v := fmt.Sprint(s.Status)
		if len(s.Flags) > 0 {
			v += " (" + strings.Join(s.Flags, ", ") + ")"
		}
		kv("smartctl exit", v)
	}
	for _, m := range d.Errors {
		kv("error", model.Clean(m))
	}
	if n := d.NVMe; n != nil {
		p("  NVMe health log:\n")
		p("    critical warning     0x%02x\n", n.CriticalWarning)
		p("    temperature          %g C\n", n.TemperatureC)
		p("    available spare      %d%% (threshold %d%%)\n", n.AvailableSpare, n.AvailableSpareThreshold)
		p("    percentage used      %d%%\n", n.PercentageUsed)
		p("    data units read      %d (%s)\n", n.DataUnitsRead, humanUnits(n.DataUnitsRead))
		p("    data units written   %d (%s)\n", n.DataUnitsWritten, humanUnits(n.DataUnitsWritten))
		p("    power-on hours       %d\n", n.PowerOnHours)
		p("    power cycles         %d\n", n.PowerCycles)
		p("    unsafe shutdowns     %d\n", n.UnsafeShutdowns)
		p("    media errors         %d\n", n.MediaErrors)
		p("    error log entries    %d\n", n.NumErrLogEntries)
	}
	if s := d.SCSI; s != nil {
		opt := func(v *int64) string {
			if v == nil {
				return "-"
			}
			return fmt.Sprint(*v)
		}
		p("  SCSI: grown defects %s; uncorrected errors: read %s, write %s, verify %s\n",
			opt(s.GrownDefects), opt(s.ReadUncorrected), opt(s.WriteUncorrected), opt(s.VerifyUncorrected))
	}
	if len(d.ATAAttributes) > 0 {
		p("  ID# %-24s %5s %5s %6s %-8s %-6s %s\n", "ATTRIBUTE_NAME", "VALUE", "WORST", "THRESH", "TYPE", "FAILED", "RAW")
		for _, a := range d.ATAAttributes {
			typ := "Old_age"
			if a.Prefailure {
				typ = "Pre-fail"
			}
			wf := a.WhenFailed
			if wf == "" {
				wf = "-"
			}
			p("  %3d %-24s %5d %5d %6d %-8s %-6s %s\n", a.ID, model.Clean(a.Name), a.Value, a.Worst, a.Thresh, typ, wf, model.Clean(a.RawString))
		}
	}
	if st := d.SelfTest; st != nil {
		if st.Running {
			p("  self-test in progress, %d%% remaining\n", st.RemainingPercent)
		}
		const show = 5
		if len(st.Entries) > 0 {
			p("  self-tests (most recent first):\n")
		}
		for i, t := range st.Entries {
			if i == show {
				p("    ... %d more\n", len(st.Entries)-show)
				break
			}
			mark := " "
			if t.Failed {
				mark = "!"
			}
			line := fmt.Sprintf("  %s %-10s %-34s at %d h", mark, model.Clean(t.Type), model.Clean(t.Status), t.LifetimeHour)
			if t.FailingLBA != nil {
				line += fmt.Sprintf(", first failing LBA %d", *t.FailingLBA)
			}
			p("%s\n", line)
		}
	}
}

// humanBytes prints a capacity the way disks are sold (decimal units),
// as smartctl does.
func humanBytes(n int64) string {
	units := []string{"bytes", "kB", "MB", "GB", "TB", "PB", "EB"}
	v := float64(n)
	i := 0
	for v >= 1000 && i < len(units)-1 {
		v /= 1000
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%d bytes", n)
	}
	return fmt.Sprintf("%.3g %s", v, units[i])
}

// humanUnits converts NVMe data units (1000 blocks of 512 bytes).
func humanUnits(u uint64) string {
	const unit = 512000
	if u > uint64(1<<63-1)/unit {
		return "more than 9 EB"
	}
	return humanBytes(int64(u * unit))
}
func Sensors(w io.Writer, snap *model.Snapshot) {
	num := func(p *float64, f string) string {
		if p == nil {
			return ""
		}
		return fmt.Sprintf(f, *p)
	}
	for _, u := range snap.UPS {
		if !u.Reachable {
			fmt.Fprintf(w, "UPS %s: UNREACHABLE: %s\n", model.Clean(u.Name), model.Clean(u.Error))
			continue
		}
		parts := []string{strings.Join(u.Status, " ")}
		for _, p := range []string{num(u.ChargePercent, "charge %.0f%%"), num(u.RuntimeSeconds, "runtime %.0fs"),
			num(u.LoadPercent, "load %.0f%%"), num(u.InputVoltage, "input %.1f V")} {
			if p != "" {
				parts = append(parts, p)
			}
		}
		if u.SelfTest != "" {
			parts = append(parts, "self-test "+model.Clean(u.SelfTest))
		}
		name := model.Clean(u.Name)
		if u.Model != "" {
			name += " (" + model.Clean(u.Model) + ")"
		}
		fmt.Fprintf(w, "UPS %s: %s\n", name, strings.Join(parts, ", "))
	}
	for _, s := range snap.Sensors {
		var lim []string
		for _, l := range []string{num(s.Min, "min %g"), num(s.Max, "max %g"), num(s.Crit, "crit %g")} {
			if l != "" {
				lim = append(lim, l)
			}
		}
		extra := ""
		if len(lim) > 0 {
			extra = " (" + strings.Join(lim, ", ") + ")"
		}
		if s.Alarm {
			extra += " ALARM"
		}
		if s.Device != "" {
			extra += " disk " + model.Clean(s.Device)
			if s.Disk != "" {
				extra += " " + model.Clean(s.Disk)
			}
		}
		line := fmt.Sprintf("%-45s %-16s %10.3f %-4s%s", model.Clean(s.ID), model.Clean(s.Label), s.Value, s.Unit, extra)
		fmt.Fprintln(w, strings.TrimRight(line, " "))
	}
	if len(snap.UPS)+len(snap.Sensors) == 0 {
		fmt.Fprintln(w, "no UPS or sensors found (hwmon absent, no ups: or sensors: configured, no --ups)")
	}
}

// HWRaidDoc is what `diskwatch raid --format json` prints.
type HWRaidDoc struct {
	Controllers []hwraid.Controller `json:"controllers"`
	Disks       []model.Disk        `json:"disks"`
	// State is each controller's own view: logical drives, physical
	// disk states, battery.
	State  []model.Controller `json:"state,omitempty"`
	Errors []string           `json:"errors,omitempty"`
}

func HWRaid(w io.Writer, doc *HWRaidDoc) {
	if len(doc.Controllers) == 0 {
		fmt.Fprintln(w, "no RAID controller or SAS HBA found")
		return
	}
	for _, ct := range doc.Controllers {
		fmt.Fprintf(w, "%-10s %-13s host%-3d %s %s\n", ct.Name, ct.Driver, ct.Host, orDash(ct.PCI), orDash(ct.Dev))
	}
	for _, st := range doc.State {
		for _, ld := range st.Logical {
			var mem []string
			for _, m := range ld.Members {
				mem = append(mem, m.Where()+" "+m.State)
			}
			fmt.Fprintf(w, "  %s LD %d RAID%s %s  %s\n", model.Clean(st.Name), ld.ID, model.Clean(ld.RAIDLevel), model.Clean(ld.State), model.Clean(strings.Join(mem, ", ")))
		}
		if b := st.Battery; b != nil {
			fmt.Fprintf(w, "  %s battery %s bad=%v %s\n", model.Clean(st.Name), model.Clean(b.Type), b.Bad, model.Clean(strings.Join(b.Flags, ",")))
		}
	}
	for _, d := range doc.Disks {
		smart := "SMART unavailable"
		if d.SMARTAvailable {
			smart = "SMART available"
			if d.SMARTPassed != nil && !*d.SMARTPassed {
				smart = "SMART FAILED"
			}
		}
		fmt.Fprintf(w, "  %s  via %s  %s\n", d.Device.Display(), model.Clean(d.Device.Via), smart)
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// KernelLog prints one line per kernel event: time, kind, disk, line.
func KernelLog(w io.Writer, evs []model.KernelEvent) {
	for _, ev := range evs {
		who := ev.Device
		if ev.Disk != "" {
			who += " [" + ev.Disk + "]"
		}
		fmt.Fprintf(w, "%s %-20s %-28s %s\n", ev.Time.UTC().Format(time.RFC3339), ev.Kind, model.Clean(who), model.Clean(ev.Line))
	}
}
