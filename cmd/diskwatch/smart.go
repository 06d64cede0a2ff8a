package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"github.com/diskwatch/diskwatch/alerts/assemble"
	"github.com/diskwatch/diskwatch/alerts/rules"
	"github.com/diskwatch/diskwatch/collectors"
	"github.com/diskwatch/diskwatch/collectors/model"
	"github.com/diskwatch/diskwatch/collectors/smartctl"
)

// smartSources are the collectors whose disks `diskwatch smart` prints:
// the native SMART collector and the smartctl backend.
var smartSources = map[string]bool{"smart": true, "smartctl": true}

// runSmart implements `diskwatch smart [DEVICE...]` and `diskwatch smart
// --smartctl-json FILE...`.
func runSmart(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("smart", flag.ContinueOnError)
	var c common
	c.register(fs, e)
	format := fs.String("format", "text", "output `format`: text or json (an array of records)")
	captures := fs.Bool("smartctl-json", false, "the arguments are files of `smartctl -j` output to normalize, not devices")
	devType := fs.String("d", "", "smartctl -d `TYPE` for DEVICE arguments read through smartctl (megaraid,N, 3ware,N, sat, ...)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: diskwatch smart [flags] [DEVICE...]\n       diskwatch smart --smartctl-json FILE...\n\n"+
			"Prints the normalized SMART record of each disk (all disks the SMART collectors find, or\n"+
			"the DEVICEs named), or of each smartctl JSON capture.\n\nflags:")
		fs.PrintDefaults()
	}
	pos, code, ok := parseInterleaved(fs, args, e)
	if !ok {
		return code
	}
	if !formatOK(e, "smart", *format, "text", "json") {
		return exitUnknown
	}
	var disks []model.Disk
	var errs []string
	if *captures {
		if len(pos) == 0 {
			fmt.Fprintln(e.stderr, "diskwatch smart: --smartctl-json needs at least one FILE")
			return exitUnknown
		}
		for _, f := range pos {
			b, err := os.ReadFile(f)
			if err != nil {
				errs = append(errs, err.Error())
				continue
			}
			d, err := smartctl.Normalize(b)
			if err != nil {
				errs = append(errs, f+": "+err.Error())
				continue
			}
			disks = append(disks, d)
		}
	} else {
		cfg, err := c.loadConfig(rules.Default())
		if err != nil {
			fmt.Fprintf(e.stderr, "diskwatch smart: %v\n", err)
			return exitUnknown
		}
		ctx = c.logger(e).WithContext(ctx) // --verbose: what is skipped and why
		ctx, cancel := context.WithTimeout(ctx, c.timeout)
		defer cancel()
		var set []collectors.Named
		for _, s := range (&assemble.Host{FS: c.fs(), Now: e.now}).Sources(cfg) {
			if smartSources[s.Name] {
				set = append(set, s)
			}
		}
		snap := collectors.Run(ctx, e.now(), set)
		for _, st := range snap.Sources {
			for _, m := range st.Errors {
				errs = append(errs, st.Name+": "+m)
			}
		}
		disks = snap.Disks
		if len(pos) > 0 {
			var rest []string
			disks, rest = pickDisks(disks, pos)
			// Devices no SMART collector produced: read them through
			// smartctl (live host only).
			for _, dev := range rest {
				if !c.fs().IsHost() {
					errs = append(errs, dev+": not found under --root "+c.fs().Root())
					continue
				}
				d, err := smartctl.Read(ctx, dev, *devType)
				if err != nil {
					errs = append(errs, err.Error())
					continue
				}
				disks = append(disks, d)
			}
		}
	}
	for _, m := range errs {
		fmt.Fprintln(e.stderr, "diskwatch smart: "+model.Clean(m))
	}
	if *format == "json" {
		if disks == nil {
			disks = []model.Disk{}
		}
		writeJSON(e.stdout, disks)
	} else {
		if len(disks) == 0 {
			fmt.Fprintln(e.stdout, "no disks read")
		}
		for i := range disks {
			if i > 0 {
				fmt.Fprintln(e.stdout)
			}
			writeDiskText(e.stdout, &disks[i])
		}
	}
	if len(errs) > 0 {
		return exitUnknown
	}
	return exitOK
}

// parseInterleaved parses flags that may come before, between or after
// the positional arguments ("smart /dev/sda --format json").
func parseInterleaved(fs *flag.FlagSet, args []string, e *env) (pos []string, code int, ok bool) {
	for {
		if code, ok := parse(fs, args, e); !ok {
			return nil, code, false
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, 0, true
		}
		if rest[0] == "--" {
			return append(pos, rest[1:]...), 0, true
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// pickDisks keeps the disks named by want (a path, "/dev/sda", or a name,
// "sda") in the order asked, and returns the names nothing matched.
func pickDisks(disks []model.Disk, want []string) (picked []model.Disk, missing []string) {
	for _, w := range want {
		found := false
		for _, d := range disks {
			if d.Device.Path == w || d.Device.Name == w || path.Base(d.Device.Path) == w {
				picked = append(picked, d)
				found = true
			}
		}
		if !found {
			missing = append(missing, w)
		}
	}
	return picked, missing
}

// writeDiskText prints one disk as a readable block. Every device string
// goes through model.Clean.
func writeDiskText(w io.Writer, d *model.Disk) {
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
