package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/diskwatch/diskwatch/alerts/assemble"
	"github.com/diskwatch/diskwatch/alerts/assemble/locate"
	"github.com/diskwatch/diskwatch/alerts/engine"
	"github.com/diskwatch/diskwatch/alerts/history"
	"github.com/diskwatch/diskwatch/alerts/report"
	"github.com/diskwatch/diskwatch/alerts/rules"
	"github.com/diskwatch/diskwatch/collectors/model"
)

func runReport(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	var c common
	c.register(fs, e)
	htmlOut := fs.String("html", "", "write the HTML report to `FILE` (- for standard output)")
	stateDir := fs.String("state", e.getenv("DISKWATCH_STATE"), "history store `DIR` (default daemon.state_dir, else "+locate.DefaultStateDir+"; env DISKWATCH_STATE)")
	since := fs.String("since", "90d", "history window: `DURATION` such as 90d, 2w, 36h")
	noCollect := fs.Bool("no-collect", false, "report from the history store alone; do not read this host")
	if code, ok := parse(fs, args, e); !ok {
		return code
	}
	if *htmlOut == "" {
		fmt.Fprintln(e.stderr, "diskwatch report: --html FILE is required")
		return exitUnknown
	}
	window, err := assemble.ParseWindow(*since)
	if err != nil {
		fmt.Fprintf(e.stderr, "diskwatch report: --since: %v\n", err)
		return exitUnknown
	}
	log := c.logger(e)
	rs := rules.Default()
	cfg, err := c.loadConfig(rs)
	if err != nil {
		fmt.Fprintf(e.stderr, "diskwatch report: %v\n", err)
		return exitUnknown
	}
	*stateDir = assemble.StateDir(*stateDir, nil, cfg)
	var hist *history.Store
	if _, err := os.Stat(filepath.Join(*stateDir, history.FileName)); err == nil {
		hist, err = history.Open(ctx, *stateDir, history.Options{Log: log, Now: e.now})
		if err != nil {
			fmt.Fprintf(e.stderr, "diskwatch report: %v\n", err)
			return exitUnknown
		}
		defer hist.Close()
	} else {
		log.Warn().Str("dir", *stateDir).Msg("no history store there: the report shows current state without trends")
	}
	now := e.now()
	snap := &model.Snapshot{Time: now}
	if !*noCollect {
		cctx, cancel := context.WithTimeout(ctx, c.timeout)
		h := c.host(e, *stateDir)
		defer h.Close()
		eng := &engine.Engine{Sources: h.Sources(cfg), Rules: rs, Settings: &cfg.Settings, Now: e.now, Log: log}
		snap = eng.Cycle(cctx).Snapshot
		cancel()
	}
	host := ""
	if h, err := os.Hostname(); err == nil && c.root == "" {
		host = h
	}
	var h rules.History
	if hist != nil {
		h = hist
	}
	findings := func(s *model.Snapshot) []model.Finding {
		return rs.Evaluate(&rules.Input{Snapshot: s, Now: s.Time, History: h}, &cfg.Settings)
	}
	r, err := assemble.Report(ctx, snap, findings, hist, host, now, window, log)
	if err != nil {
		fmt.Fprintf(e.stderr, "diskwatch report: %v\n", err)
		return exitUnknown
	}
	var w io.Writer = e.stdout
	var f *os.File
	if *htmlOut != "-" {
		f, err = os.CreateTemp(filepath.Dir(*htmlOut), ".report-*.html")
		if err != nil {
			fmt.Fprintf(e.stderr, "diskwatch report: %v\n", err)
			return exitUnknown
		}
		defer os.Remove(f.Name())
		w = f
	}
	if err := report.Render(w, r); err != nil {
		fmt.Fprintf(e.stderr, "diskwatch report: render: %v\n", err)
		return exitUnknown
	}
	if f != nil {
		if err := errors.Join(f.Chmod(0o644), f.Sync(), f.Close(), os.Rename(f.Name(), *htmlOut)); err != nil {
			fmt.Fprintf(e.stderr, "diskwatch report: write %s: %v\n", *htmlOut, err)
			return exitUnknown
		}
		fmt.Fprintf(e.stderr, "report written to %s: %d disks, %d arrays, %d UPS/sensors; overall %s\n",
			*htmlOut, len(r.Rows), len(r.Arrays), len(r.Env), r.Status)
	}
	return exitOK
}
