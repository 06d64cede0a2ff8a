package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/diskwatch/diskwatch/alerts/assemble"
	"github.com/diskwatch/diskwatch/alerts/rules"
	"github.com/diskwatch/diskwatch/collectors"
	"github.com/diskwatch/diskwatch/collectors/model"
	"github.com/diskwatch/diskwatch/collectors/ups"
)

// upsFlag collects repeated --ups URL flags. Set never fails: the flag
// package would print the raw value, password included; URLs are checked
// (with redacted errors) when the configuration is loaded.
type upsFlag []string

func (u *upsFlag) String() string {
	var out []string
	for _, s := range *u {
		if t, err := ups.ParseURL(s); err == nil {
			out = append(out, t.String())
		}
	}
	return strings.Join(out, ",")
}

// Set adds one URL.
func (u *upsFlag) Set(s string) error {
	*u = append(*u, s)
	return nil
}

// runSensors prints UPS status and sensor readings (hwmon, probes, the
// configured and --ups UPSes): what the ups.* and sensor.* rules see, and
// the sensor IDs to use in per-sensor settings.
func runSensors(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("sensors", flag.ContinueOnError)
	var c common
	c.register(fs, e)
	format := fs.String("format", "text", "output `format`: text or json")
	if code, ok := parse(fs, args, e); !ok {
		return code
	}
	if !formatOK(e, "sensors", *format, "text", "json") {
		return exitUnknown
	}
	cfg, err := c.loadConfig(rules.Default())
	if err != nil {
		fmt.Fprintf(e.stderr, "diskwatch sensors: %v\n", err)
		return exitUnknown
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	snap := collectors.Run(ctx, e.now(), assemble.Power(c.fs(), cfg))
	if *format == "json" {
		doc := struct {
			UPS     []model.UPS          `json:"ups"`
			Sensors []model.Sensor       `json:"sensors"`
			Sources []model.SourceStatus `json:"sources"`
		}{snap.UPS, snap.Sensors, snap.Sources}
		if doc.UPS == nil {
			doc.UPS = []model.UPS{}
		}
		if doc.Sensors == nil {
			doc.Sensors = []model.Sensor{}
		}
		writeJSON(e.stdout, doc)
	} else {
		writeSensorsText(e.stdout, snap)
	}
	code := exitOK
	for _, s := range snap.Sources {
		for _, m := range s.Errors {
			fmt.Fprintf(e.stderr, "diskwatch sensors: %s: %s\n", s.Name, model.Clean(m))
		}
		if s.State == model.SourceFailed {
			code = exitUnknown
		}
	}
	return code
}

func writeSensorsText(w io.Writer, snap *model.Snapshot) {
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
