package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

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
	window, err := parseWindow(*since)
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
		return rs.Evaluate(&rules.Input{Snapshot: s, Now: now, History: h}, &cfg.Settings)
	}
	r, err := buildReport(ctx, snap, findings, hist, host, now, window, log)
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
			*htmlOut, len(r.Disks), len(r.Arrays), len(r.Env), r.Status)
	}
	return exitOK
}

// buildReport assembles the report of snap (not modified) plus the disks
// known only from history; findings evaluates the rules on the combined
// snapshot. hist may be nil.
func buildReport(ctx context.Context, snap *model.Snapshot, findings func(*model.Snapshot) []model.Finding,
	hist *history.Store, host string, now time.Time, window time.Duration, log zerolog.Logger) (*report.Report, error) {
	s := *snap
	s.Disks = append([]model.Disk(nil), snap.Disks...)
	in := report.Input{Host: host, Now: now, Since: now.Add(-window), Snapshot: &s}
	if hist != nil {
		in.History = hist
		if err := addStoredSubjects(&s, hist); err != nil {
			log.Warn().Err(err).Msg("history store: some subjects could not be read")
		}
		in.Alerts = alertMarks(hist, &s, in.Since)
	}
	in.Findings = findings(&s)
	return report.Build(ctx, in)
}

var windowRE = regexp.MustCompile(`^(\d+)([wdhm])$`)

// parseWindow reads "90d", "2w", "36h", "30m" or a Go duration.
func parseWindow(s string) (time.Duration, error) {
	if m := windowRE.FindStringSubmatch(s); m != nil {
		n, _ := strconv.Atoi(m[1])
		unit := map[string]time.Duration{"w": 7 * 24 * time.Hour, "d": 24 * time.Hour, "h": time.Hour, "m": time.Minute}[m[2]]
		return time.Duration(n) * unit, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q is not a duration like 90d, 2w or 36h", s)
	}
	return d, nil
}

// addStoredSubjects adds to snap the disks known only from history (a fleet
// replayed into the store, a disk since removed), rebuilt from their
// latest stored readings so the same rules judge them.
func addStoredSubjects(snap *model.Snapshot, hist *history.Store) error {
	live := map[string]bool{}
	for _, d := range snap.Disks {
		live[d.Device.ID()] = true
	}
	subjects, err := hist.Subjects()
	if err != nil {
		return err
	}
	var errs []error
	for _, id := range subjects {
		kind, _, ok := strings.Cut(id, ":")
		if !ok || live[id] || (kind != "wwn" && kind != "serial" && kind != "path") {
			continue
		}
		latest, err := hist.Latest(id)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		values := make(map[string]float64, len(latest))
		for m, p := range latest {
			values[m] = p.Value
		}
		snap.Disks = append(snap.Disks, model.DiskFromMetrics(id, values))
	}
	snap.Sort()
	return errors.Join(errs...)
}

// alertMarks reads the alert_level series the engine stores after each
// evaluation and marks every rise.
func alertMarks(hist *history.Store, snap *model.Snapshot, since time.Time) map[string][]report.Mark {
	out := map[string][]report.Mark{}
	var subjects []string
	for _, d := range snap.Disks {
		subjects = append(subjects, d.Device.ID())
	}
	for _, a := range snap.Arrays {
		subjects = append(subjects, a.Name)
	}
	for _, s := range subjects {
		ps, err := hist.Series(s, engine.AlertLevelMetric, since)
		if err != nil {
			continue
		}
		prev := 0.0
		for _, p := range ps {
			if p.Value > prev {
				sev := model.Severity(int(p.Value))
				out[s] = append(out[s], report.Mark{Time: p.Time, Severity: sev.String()})
			}
			prev = p.Value
		}
	}
	return out
}

// serveReport is the daemon's /report: the same page as `diskwatch report`,
// from the latest round and the daemon's history store (?since=90d).
func (d *daemon) serveReport(w http.ResponseWriter, r *http.Request) {
	doc := d.latest.Load()
	if doc == nil || doc.Snapshot == nil {
		http.Error(w, "no round finished yet", http.StatusServiceUnavailable)
		return
	}
	window := 90 * 24 * time.Hour
	if s := r.URL.Query().Get("since"); s != "" {
		v, err := parseWindow(s)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		window = v
	}
	// The round's own findings, as the alerts were computed; disks known
	// only from history get none.
	fs := make([]model.Finding, 0, len(doc.Findings))
	for _, f := range doc.Findings {
		fs = append(fs, model.Finding{Severity: model.Severity(f.Severity), Rule: f.Rule, Subject: f.Subject, SubjectID: f.SubjectID,
			Message: f.Message, Remedy: f.Remedy, Evidence: f.Evidence, Related: f.Related, Values: f.Values})
	}
	rep, err := buildReport(r.Context(), doc.Snapshot, func(*model.Snapshot) []model.Finding { return fs },
		d.store, doc.Host, d.e.now(), window, d.log)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:")
	if err := report.Render(w, rep); err != nil {
		d.log.Warn().Err(err).Msg("/report: render failed")
	}
}
