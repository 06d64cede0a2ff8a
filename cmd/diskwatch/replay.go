package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/diskwatch/diskwatch/alerts/config"
	"github.com/diskwatch/diskwatch/alerts/history"
	"github.com/diskwatch/diskwatch/alerts/output/cli"
	"github.com/diskwatch/diskwatch/alerts/replay"
	"github.com/diskwatch/diskwatch/alerts/replay/backblaze"
	"github.com/diskwatch/diskwatch/alerts/rules"
	"github.com/diskwatch/diskwatch/collectors/model"
)

func cmdReplay(e *env) *cobra.Command {
	c := &cobra.Command{Use: "replay DATA", Args: cobra.ExactArgs(1),
		Short: "run the rules over Backblaze drive-stats history and measure lead time and false alarms",
		Long:  "DATA is Backblaze drive-stats data: a .csv, a .csv.gz, a .zip of them (Backblaze's quarterly archive), or a directory of those (read in name = date order; data in any other row order is sorted on disk first)."}
	o := newOpts(e, c, 0, "info", "text", "json")
	cfgPath := c.Flags().String("config", e.getenv("DISKWATCH_CONFIG"), "configuration `FILE` whose risk.score tiers (rules: risk.score: notice/warn/crit, global) apply (default: built-in)")
	alertsOut := c.Flags().String("alerts-out", "", "write one JSON line per drive ever alerted to `FILE`")
	stateDir := c.Flags().String("state", "", "also write the replayed history into the history store in `DIR` (dated as in the data)")
	progress := c.Flags().String("progress", "auto", "progress bar with the total and an ETA: auto (on a terminal), on, off")
	half := c.Flags().String("half", "", "replay only half of the drives, split by a hash of the serial: A (the half the tiers were designed on) or B")
	c.RunE = func(c *cobra.Command, args []string) error {
		s, err := o.open(c.Context(), false)
		if err != nil {
			return err
		}
		if *half != "" && *half != "A" && *half != "B" {
			return usageError{fmt.Errorf("--half %q: want A or B", model.Clean(*half))}
		}
		src, err := backblaze.Open(args[0])
		if err != nil {
			return err
		}
		defer src.Close()
		opts := replay.Options{Half: *half, Thresholds: func() bool { return src.Thresholds }, Tiers: rules.DefaultTiers}
		if *cfgPath != "" {
			cfg, err := config.Load(*cfgPath, true, s.rs)
			if err != nil {
				return err
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
				return err
			}
			defer f.Close()
			opts.AlertsOut = f
		}
		if *stateDir != "" {
			st, err := history.Open(c.Context(), *stateDir, history.Options{Log: s.log, Bulk: true, CompactEvery: 7 * rules.Day})
			if err != nil {
				return err
			}
			defer func() {
				if err := st.Close(); err != nil {
					fmt.Fprintf(e.stderr, "diskwatch replay: %v\n", err)
				}
			}()
			opts.Extra = st
		}
		var bar *progressbar.ProgressBar
		if f, ok := e.stderr.(*os.File); *progress == "on" || (*progress == "auto" && ok && isatty.IsTerminal(f.Fd())) {
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
		sum, err := replay.Run(c.Context(), src, opts, e.now)
		if errors.Is(err, replay.ErrUnsorted) {
			// Data not in date order (a file per drive, a shuffled export):
			// sort it on disk, bounded in memory, and replay again.
			src.Close()
			sorted, serr := backblaze.OpenSorted(c.Context(), args[0], backblaze.SortOptions{})
			if serr != nil {
				return serr
			}
			defer sorted.Close()
			fmt.Fprintln(e.stderr, "diskwatch replay: the rows are not in date order; sorted them in a temporary directory first")
			opts.Thresholds = func() bool { return sorted.Thresholds }
			sum, err = replay.Run(c.Context(), sorted, opts, e.now)
		}
		if bar != nil {
			bar.Finish() // clears its line before the summary is printed
		}
		if err != nil {
			return err
		}
		if o.format == "json" {
			return cli.JSON(e.stdout, sum)
		}
		sum.WriteText(e.stdout)
		return nil
	}
	return c
}
