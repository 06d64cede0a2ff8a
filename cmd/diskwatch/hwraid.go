package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/diskwatch/diskwatch/alerts/assemble"
	"github.com/diskwatch/diskwatch/alerts/rules"
	"github.com/diskwatch/diskwatch/collectors"
	"github.com/diskwatch/diskwatch/collectors/hwraid"
	"github.com/diskwatch/diskwatch/collectors/kmsg"
	"github.com/diskwatch/diskwatch/collectors/model"
)

// raidJSON is what `diskwatch raid --format json` prints.
type raidJSON struct {
	Controllers []hwraid.Controller `json:"controllers"`
	Disks       []model.Disk        `json:"disks"`
	// State is each controller's own view: logical drives, physical
	// disk states, battery.
	State  []model.Controller `json:"state,omitempty"`
	Errors []string           `json:"errors,omitempty"`
}

// runRaid implements `diskwatch raid`: the RAID controllers found and the
// physical disks read behind them.
func runRaid(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("raid", flag.ContinueOnError)
	var c common
	c.register(fs, e)
	format := fs.String("format", "text", "output `format`: text or json")
	if code, ok := parse(fs, args, e); !ok {
		return code
	}
	if !formatOK(e, "raid", *format, "text", "json") {
		return exitUnknown
	}
	cfg, err := c.loadConfig(rules.Default())
	if err != nil {
		fmt.Fprintf(e.stderr, "diskwatch raid: %v\n", err)
		return exitUnknown
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var doc raidJSON
	doc.Controllers, err = hwraid.Discover(ctx, c.fs())
	if err != nil {
		doc.Errors = append(doc.Errors, err.Error())
	}
	snap := collectors.Run(ctx, e.now(), []collectors.Named{assemble.HWRaid(c.fs(), cfg)})
	doc.Disks = snap.Disks
	doc.State = snap.Controllers
	for _, s := range snap.Sources {
		doc.Errors = append(doc.Errors, s.Errors...)
	}
	if *format == "json" {
		if doc.Controllers == nil {
			doc.Controllers = []hwraid.Controller{}
		}
		if doc.Disks == nil {
			doc.Disks = []model.Disk{}
		}
		writeJSON(e.stdout, doc)
	} else {
		writeRaidText(e.stdout, &doc)
	}
	if len(doc.Errors) > 0 {
		for _, m := range doc.Errors {
			fmt.Fprintln(e.stderr, "diskwatch raid:", model.Clean(m))
		}
		return exitUnknown
	}
	return exitOK
}

func writeRaidText(w io.Writer, doc *raidJSON) {
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

// runKernelLog implements `diskwatch kernel-log`: the disk-related lines
// of the whole kernel log, recognised and attributed, without touching the
// watcher's saved position.
func runKernelLog(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("kernel-log", flag.ContinueOnError)
	var c common
	c.register(fs, e)
	format := fs.String("format", "text", "output `format`: text or json")
	if code, ok := parse(fs, args, e); !ok {
		return code
	}
	if !formatOK(e, "kernel-log", *format, "text", "json") {
		return exitUnknown
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	col := kmsg.New(c.fs(), kmsg.Options{Now: e.now, Keep: 100 * 365 * 24 * time.Hour})
	defer col.Close()
	var snap model.Snapshot
	err := col.Collect(ctx, &snap)
	if *format == "json" {
		evs := snap.Events
		if evs == nil {
			evs = []model.KernelEvent{}
		}
		writeJSON(e.stdout, evs)
	} else {
		for _, ev := range snap.Events {
			who := ev.Device
			if ev.Disk != "" {
				who += " [" + ev.Disk + "]"
			}
			fmt.Fprintf(e.stdout, "%s %-20s %-28s %s\n", ev.Time.UTC().Format(time.RFC3339), ev.Kind, model.Clean(who), model.Clean(ev.Line))
		}
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "diskwatch kernel-log: %s\n", model.Clean(err.Error()))
		return exitUnknown
	}
	return exitOK
}
