package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/diskwatch/diskwatch/alerts/assemble"
	"github.com/diskwatch/diskwatch/alerts/assemble/locate"
	"github.com/diskwatch/diskwatch/alerts/history"
	"github.com/diskwatch/diskwatch/alerts/rules"
	"github.com/diskwatch/diskwatch/collectors"
	"github.com/diskwatch/diskwatch/collectors/model"
)

// ackable are the counters an acknowledgement applies to when no
// attribute is named: the error counts the history rules alert on.
var ackable = []string{model.AttrRaw(5), model.AttrRaw(187), model.AttrRaw(188), model.AttrRaw(197), model.AttrRaw(198),
	model.AttrRaw(199), model.MetricNVMeMediaErrors, model.MetricSCSIGrownDefects, model.MetricSCSIReadUncorrected, model.MetricSCSIWriteUncorrected, model.MetricSCSIVerifyUncorrected,
	model.MetricSCSINonMedium, model.MetricATAErrorLogCount, model.MetricSelfTestLastFailure}

func runAck(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("ack", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: diskwatch ack [flags] DEVICE [ATTRIBUTE]\n\nDEVICE is /dev/sdX, a serial number, or a stored identity (wwn:..., serial:...).\nATTRIBUTE is a SMART attribute number (5, 197, ...) or a metric name (nvme_media_errors); default: every error counter.\n\nflags:")
		fs.PrintDefaults()
	}
	var c common
	c.register(fs, e)
	stateDir := fs.String("state", e.getenv("DISKWATCH_STATE"), "history store `DIR` (default daemon.state_dir, else "+locate.DefaultStateDir+"; env DISKWATCH_STATE)")
	if code, ok := parse(fs, args, e); !ok {
		return code
	}
	if fs.NArg() < 1 || fs.NArg() > 2 {
		fs.Usage()
		return exitUnknown
	}
	device := fs.Arg(0)
	var metrics []string
	if fs.NArg() == 2 {
		a := fs.Arg(1)
		if n, err := strconv.Atoi(a); err == nil {
			a = model.AttrRaw(n)
		}
		metrics = []string{a}
	}
	log := c.logger(e)
	rs := rules.Default()
	cfg, cfgErr := c.loadConfig(rs)
	*stateDir = assemble.StateDir(*stateDir, nil, cfg)
	st, err := history.Open(ctx, *stateDir, history.Options{Log: log})
	if err != nil {
		fmt.Fprintf(e.stderr, "diskwatch ack: %v\n", err)
		return exitUnknown
	}
	defer st.Close()
	now := e.now()

	// Find the disk: a fresh reading first, else the store's newest.
	subject, display := "", ""
	values := map[string]float64{}
	if cfgErr == nil {
		h := c.host(e, *stateDir)
		cctx, cancel := context.WithTimeout(ctx, c.timeout)
		snap := collectors.Run(cctx, now, h.Sources(cfg))
		cancel()
		h.Close()
		for i := range snap.Disks {
			d := &snap.Disks[i]
			if matchesDevice(d, device) {
				subject, display = d.Device.ID(), d.Device.Display()
				for _, s := range d.Samples() {
					values[s.Metric] = s.Value
				}
				break
			}
		}
	}
	if subject == "" {
		latest, err := st.Latest(device)
		if err != nil || len(latest) == 0 {
			fmt.Fprintf(e.stderr, "diskwatch ack: no disk %q found now, and no history stored under that identity\n", model.Clean(device))
			return exitUnknown
		}
		subject, display = device, model.Clean(device)
		for m, p := range latest {
			values[m] = p.Value
		}
	}
	if metrics == nil {
		metrics = ackable
	}
	n := 0
	for _, m := range metrics {
		v, ok := values[m]
		if !ok {
			continue
		}
		if err := st.Ack(ctx, subject, m, now, v); err != nil {
			fmt.Fprintf(e.stderr, "diskwatch ack: %v\n", err)
			return exitUnknown
		}
		fmt.Fprintf(e.stdout, "%s: acknowledged %s = %s; only growth beyond it alerts\n", display, m, strconv.FormatFloat(v, 'f', -1, 64))
		n++
	}
	if n == 0 {
		fmt.Fprintf(e.stderr, "diskwatch ack: %s reports none of %s\n", display, strings.Join(metrics, ", "))
		return exitUnknown
	}
	return exitOK
}

func matchesDevice(d *model.Disk, dev string) bool {
	return dev == d.Device.Path || "/dev/"+dev == d.Device.Path || dev == d.Device.Name || dev == d.Device.Serial || dev == d.Device.ID()
}
