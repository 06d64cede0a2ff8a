package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/diskwatch/diskwatch/alerts/assemble"
	"github.com/diskwatch/diskwatch/alerts/engine"
	"github.com/diskwatch/diskwatch/alerts/history"
	"github.com/diskwatch/diskwatch/alerts/report"
	"github.com/diskwatch/diskwatch/alerts/rules"
	"github.com/diskwatch/diskwatch/collectors"
	"github.com/diskwatch/diskwatch/collectors/model"
)

func cmdReport(e *env) *cobra.Command {
	c := &cobra.Command{Use: "report --html FILE", Args: cobra.NoArgs,
		Short: "write a self-contained HTML health report with trend charts (--html FILE)",
		Long: "Reads this host now and the history store (through the daemon while it runs), and writes one HTML\n" +
			"page with each disk's and array's state, findings and trend charts."}
	o := newOpts(e, c, fRoot|fConfig|fUPS|fState, "warn")
	htmlOut := c.Flags().String("html", "", "write the HTML report to `FILE` (- for standard output)")
	since := c.Flags().String("since", "90d", "history window: `DURATION` such as 90d, 2w, 36h")
	noCollect := c.Flags().Bool("no-collect", false, "report from the history store alone; do not read this host")
	c.MarkFlagRequired("html")
	c.RunE = func(c *cobra.Command, _ []string) error {
		window, err := assemble.ParseWindow(*since)
		if err != nil {
			return usageError{fmt.Errorf("--since: %v", err)}
		}
		s, err := o.open(c.Context(), true)
		if err != nil {
			return err
		}
		defer s.cancel()
		dir := o.stateDir(s.cfg)
		var hist assemble.Shared
		if _, err := os.Stat(filepath.Join(dir, history.FileName)); err == nil {
			if hist, _, err = assemble.OpenShared(s.ctx, dir, history.Options{Log: s.log, Now: e.now}); err != nil {
				return err
			}
			defer hist.Close()
		} else {
			s.log.Warn().Str("dir", dir).Msg("no history store there: the report shows current state without trends")
		}
		now := e.now()
		snap := &model.Snapshot{Time: now}
		if !*noCollect {
			h := o.host(dir)
			defer h.Close()
			snap = (&engine.Engine{Sources: h.Sources(s.cfg), Rules: s.rs, Settings: &s.cfg.Settings, Now: e.now, Log: s.log}).Cycle(s.ctx).Snapshot
		}
		host := ""
		if h, err := os.Hostname(); err == nil && o.root == "" {
			host = h
		}
		var rh rules.History
		var sh assemble.StoredHistory
		if hist != nil {
			rh, sh = hist, hist
		}
		findings := func(snap *model.Snapshot) []model.Finding {
			return s.rs.Evaluate(&rules.Input{Snapshot: snap, Now: snap.Time, History: rh}, &s.cfg.Settings)
		}
		r, err := assemble.Report(c.Context(), snap, findings, sh, host, now, window, s.log)
		if err != nil {
			return err
		}
		if *htmlOut == "-" {
			return report.Render(e.stdout, r)
		}
		if err := writeAtomic(*htmlOut, func(w io.Writer) error { return report.Render(w, r) }); err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "report written to %s: %d disks, %d arrays, %d UPS/sensors; overall %s\n",
			*htmlOut, len(r.Rows), len(r.Arrays), len(r.Env), r.Status)
		return nil
	}
	return c
}

// writeAtomic writes a file through a temporary one beside it, synced and
// renamed, mode 0644.
func writeAtomic(path string, write func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".diskwatch-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	if err := errors.Join(f.Chmod(0o644), f.Sync(), f.Close(), os.Rename(f.Name(), path)); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// ackable are the counters an acknowledgement applies to when no
// attribute is named: the error counts the history rules alert on.
var ackable = []string{model.AttrRaw(5), model.AttrRaw(187), model.AttrRaw(188), model.AttrRaw(197), model.AttrRaw(198),
	model.AttrRaw(199), model.MetricNVMeMediaErrors, model.MetricSCSIGrownDefects, model.MetricSCSIReadUncorrected, model.MetricSCSIWriteUncorrected, model.MetricSCSIVerifyUncorrected,
	model.MetricSCSINonMedium, model.MetricATAErrorLogCount, model.MetricSelfTestLastFailure}

func cmdAck(e *env) *cobra.Command {
	c := &cobra.Command{Use: "ack DEVICE [ATTRIBUTE]", Args: cobra.RangeArgs(1, 2),
		Short: "accept a disk's current error counts; from now on only growth alerts",
		Long: "DEVICE is /dev/sdX, a serial number, or a stored identity (wwn:..., serial:...).\n" +
			"ATTRIBUTE is a SMART attribute number (5, 197, ...) or a metric name (nvme_media_errors); default: every\n" +
			"error counter. While the daemon runs, the acknowledgement goes through it and applies from its next round."}
	o := newOpts(e, c, fRoot|fConfig|fState, "warn")
	c.RunE = func(c *cobra.Command, args []string) error {
		s, err := o.open(c.Context(), false)
		if err != nil {
			return err
		}
		defer s.cancel()
		device := args[0]
		var metrics []string
		if len(args) == 2 {
			a := args[1]
			if n, err := strconv.Atoi(a); err == nil {
				a = model.AttrRaw(n)
			}
			metrics = []string{a}
		}
		cfg, cfgErr := assemble.LoadConfig(o.config, nil, nil, s.rs)
		dir := o.stateDir(cfg)
		st, viaDaemon, err := assemble.OpenShared(s.ctx, dir, history.Options{Log: s.log})
		if err != nil {
			return err
		}
		defer st.Close()
		now := e.now()
		// Find the disk: a fresh reading first, else the store's newest.
		subject, display := "", ""
		values := map[string]float64{}
		if cfgErr == nil {
			h := o.host(dir)
			snap := collectors.Run(s.ctx, now, h.Sources(cfg))
			h.Close()
			for i := range snap.Disks {
				if d := &snap.Disks[i]; matchesDevice(d, device) {
					subject, display = d.Device.ID(), d.Device.Display()
					for _, x := range d.Samples() {
						values[x.Metric] = x.Value
					}
					break
				}
			}
		}
		if subject == "" {
			latest, err := st.Latest(device)
			if err != nil || len(latest) == 0 {
				return failf(c, exitUnknown, "no disk %q found now, and no history stored under that identity", model.Clean(device))
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
			if err := st.Ack(s.ctx, subject, m, now, v); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "%s: acknowledged %s = %s; only growth beyond it alerts\n", display, m, strconv.FormatFloat(v, 'f', -1, 64))
			n++
		}
		if n == 0 {
			return failf(c, exitUnknown, "%s reports none of %s", display, strings.Join(metrics, ", "))
		}
		if viaDaemon {
			fmt.Fprintln(e.stdout, "(recorded by the running daemon: applies from its next round)")
		}
		return nil
	}
	return c
}

func matchesDevice(d *model.Disk, dev string) bool {
	return dev == d.Device.Path || "/dev/"+dev == d.Device.Path || dev == d.Device.Name || dev == d.Device.Serial || dev == d.Device.ID()
}
