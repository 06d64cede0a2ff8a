package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/schollz/progressbar/v3"

	"github.com/diskwatch/diskwatch/alerts/config"
	"github.com/diskwatch/diskwatch/alerts/history"
	"github.com/diskwatch/diskwatch/alerts/replay"
	"github.com/diskwatch/diskwatch/alerts/replay/backblaze"
	"github.com/diskwatch/diskwatch/alerts/rules"
	"github.com/diskwatch/diskwatch/collectors/model"
)

func runReplay(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: diskwatch replay [flags] DATA\n\nDATA is Backblaze drive-stats data: a .csv, a .csv.gz, or a directory of daily files (read in name = date order).\n\nflags:")
		fs.PrintDefaults()
	}
	alertsOut := fs.String("alerts-out", "", "write one JSON line per drive ever alerted to `FILE`")
	format := fs.String("format", "text", "summary `format`: text or json")
	stateDir := fs.String("state", "", "also write the replayed history into the history store in `DIR` (dated as in the data)")
	progress := fs.String("progress", "auto", "progress bar with the total and an ETA: auto (on a terminal), on, off")
	cfgPath := fs.String("config", e.getenv("DISKWATCH_CONFIG"), "configuration `FILE` whose risk.score tiers (rules: risk.score: notice/warn/crit, global) apply (default: built-in)")
	half := fs.String("half", "", "replay only half of the drives, split by a hash of the serial: A (the half the tiers were designed on) or B")
	if code, ok := parse(fs, args, e); !ok {
		return code
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return exitUnknown
	}
	if !formatOK(e, "replay", *format, "text", "json") {
		return exitUnknown
	}
	if *half != "" && *half != "A" && *half != "B" {
		fmt.Fprintf(e.stderr, "diskwatch replay: --half %q: want A or B\n", model.Clean(*half))
		return exitUnknown
	}
	src, err := backblaze.Open(fs.Arg(0))
	if err != nil {
		fmt.Fprintf(e.stderr, "diskwatch replay: %v\n", err)
		return exitUnknown
	}
	defer src.Close()
	opts := replay.Options{Half: *half, Thresholds: func() bool { return src.Thresholds }, Tiers: rules.DefaultTiers}
	if *cfgPath != "" {
		cfg, err := config.Load(*cfgPath, true, rules.Default())
		if err != nil {
			fmt.Fprintf(e.stderr, "diskwatch replay: %v\n", err)
			return exitUnknown
		}
		opts.Tiers = rules.TiersFrom(&cfg.Settings)
	}
	bad := 0
	opts.BadRow = func(err error) {
		bad++
		if bad <= 10 {
			fmt.Fprintf(e.stderr, "diskwatch replay: skipped a row: %v\n", err)
		} else if bad == 11 {
			fmt.Fprintln(e.stderr, "diskwatch replay: more rows skipped; the count is in the summary")
		}
	}
	if *alertsOut != "" {
		f, err := os.OpenFile(*alertsOut, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			fmt.Fprintf(e.stderr, "diskwatch replay: %v\n", err)
			return exitUnknown
		}
		defer f.Close()
		opts.AlertsOut = f
	}
	if *stateDir != "" {
		log := (&common{logLevel: "info"}).logger(e)
		st, err := history.Open(ctx, *stateDir, history.Options{Log: log, Bulk: true, CompactEvery: 7 * rules.Day})
		if err != nil {
			fmt.Fprintf(e.stderr, "diskwatch replay: %v\n", err)
			return exitUnknown
		}
		defer func() {
			if err := st.Close(); err != nil {
				fmt.Fprintf(e.stderr, "diskwatch replay: %v\n", err)
			}
		}()
		opts.Extra = st
	}
	showBar := *progress == "on"
	if *progress == "auto" {
		if f, ok := e.stderr.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
			showBar = true
		}
	}
	var bar *progressbar.ProgressBar
	if showBar {
		// The total is the input's size as stored; the bar shows it with
		// an ETA, and the drive-days read so far.
		_, total := src.Progress()
		bar = progressbar.NewOptions64(total, progressbar.OptionSetWriter(e.stderr), progressbar.OptionSetDescription("replay"),
			progressbar.OptionShowBytes(true), progressbar.OptionSetPredictTime(true), progressbar.OptionShowElapsedTimeOnFinish(),
			progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionClearOnFinish())
		opts.Progress = func(rows int64) {
			done, _ := src.Progress()
			bar.Describe(fmt.Sprintf("replay: %d drive-days", rows))
			bar.Set64(done)
		}
	}
	sum, err := replay.Run(ctx, src, opts, e.now)
	if errors.Is(err, replay.ErrUnsorted) {
		// Data not in date order (a file per drive, a shuffled export):
		// sort it on disk, bounded in memory, and replay again.
		src.Close()
		sorted, serr := backblaze.OpenSorted(ctx, fs.Arg(0), backblaze.SortOptions{})
		if serr != nil {
			fmt.Fprintf(e.stderr, "diskwatch replay: %v\n", serr)
			return exitUnknown
		}
		defer sorted.Close()
		fmt.Fprintln(e.stderr, "diskwatch replay: the rows are not in date order; sorted them in a temporary directory first")
		opts.Thresholds = func() bool { return sorted.Thresholds }
		sum, err = replay.Run(ctx, sorted, opts, e.now)
	}
	if bar != nil {
		bar.Finish() // clears its line before the summary is printed
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "diskwatch replay: %v\n", err)
		return exitUnknown
	}
	if *format == "json" {
		writeJSON(e.stdout, sum)
	} else {
		sum.WriteText(e.stdout)
	}
	return exitOK
}
