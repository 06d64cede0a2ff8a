package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/diskwatch/diskwatch/alerts/assemble"
	"github.com/diskwatch/diskwatch/alerts/output/cli"
	"github.com/diskwatch/diskwatch/collectors"
	"github.com/diskwatch/diskwatch/collectors/hwraid"
	"github.com/diskwatch/diskwatch/collectors/kmsg"
	"github.com/diskwatch/diskwatch/collectors/model"
	"github.com/diskwatch/diskwatch/collectors/smart"
	"github.com/diskwatch/diskwatch/collectors/smartctl"
)

// reportSources prints each source's errors as "diskwatch CMD: NAME: msg"
// and says whether one failed outright.
func reportSources(c *cobra.Command, snap *model.Snapshot) (failed bool) {
	for _, s := range snap.Sources {
		for _, m := range s.Errors {
			fmt.Fprintf(c.ErrOrStderr(), "%s: %s: %s\n", c.CommandPath(), s.Name, model.Clean(m))
		}
		failed = failed || s.State == model.SourceFailed
	}
	return failed
}

func cmdSmart(e *env) *cobra.Command {
	c := &cobra.Command{Use: "smart [DEVICE...] | smart --smartctl-json FILE...",
		Short: "SMART record of each disk (or of smartctl -j captures)",
		Long: "Prints the normalized SMART record of each disk (all disks the SMART collectors find, or the\n" +
			"DEVICEs named), or of each smartctl JSON capture."}
	o := newOpts(e, c, fRoot|fConfig, "warn", "text", "json")
	captures := c.Flags().Bool("smartctl-json", false, "the arguments are files of `smartctl -j` output to normalize, not devices")
	devType := c.Flags().StringP("d", "d", "", "smartctl -d `TYPE` for DEVICE arguments read through smartctl (megaraid,N, 3ware,N, sat, ...)")
	c.RunE = func(c *cobra.Command, pos []string) error {
		s, err := o.open(c.Context(), !*captures)
		if err != nil {
			return err
		}
		defer s.cancel()
		var disks []model.Disk
		var errs []string
		var why string // when no disk is read
		if *captures {
			if len(pos) == 0 {
				return usageError{fmt.Errorf("--smartctl-json needs at least one FILE")}
			}
			for _, f := range pos {
				b, err := smartctl.ReadCapture(f)
				if err == nil {
					var d model.Disk
					if d, err = smartctl.Normalize(b); err == nil {
						disks = append(disks, d)
						continue
					}
					err = fmt.Errorf("%s: %w", f, err)
				}
				errs = append(errs, err.Error())
			}
		} else {
			var set []collectors.Named
			if sc := s.cfg.Collectors.Smartctl; sc.On() {
				set = append(set, assemble.Smartctl(o.fs(), sc))
			}
			if sm := s.cfg.Collectors.Smart; sm.On() {
				set = append(set, assemble.Smart(o.fs(), sm))
			}
			snap := collectors.Run(s.ctx, e.now(), set)
			for _, st := range snap.Sources {
				for _, m := range st.Errors {
					errs = append(errs, st.Name+": "+m)
				}
			}
			disks = snap.Disks
			if len(disks) == 0 {
				why = assemble.WhyNoDisks(s.ctx, o.fs(), len(set) > 0)
			}
			if len(pos) > 0 {
				var rest []string
				disks, rest = assemble.PickDisks(disks, pos)
				// Devices no SMART collector produced: read them through
				// smartctl (live host only).
				for _, dev := range rest {
					if !o.fs().IsHost() {
						errs = append(errs, dev+": not found under --root "+o.fs().Root())
						continue
					}
					d, err := smartctl.Read(s.ctx, dev, *devType)
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
		if o.format == "json" {
			if disks == nil {
				disks = []model.Disk{}
			}
			cli.JSON(e.stdout, disks)
		} else {
			if len(disks) == 0 {
				fmt.Fprintln(e.stdout, "no disks read"+why)
			}
			for i := range disks {
				if i > 0 {
					fmt.Fprintln(e.stdout)
				}
				cli.Disk(e.stdout, &disks[i])
			}
		}
		if len(errs) > 0 {
			return exitCode(exitUnknown)
		}
		return nil
	}
	return c
}

func cmdSensors(e *env) *cobra.Command {
	c := &cobra.Command{Use: "sensors", Args: cobra.NoArgs,
		Short: "print UPS status (config ups:, --ups URL) and sensor readings (hwmon, probes) with their IDs"}
	o := newOpts(e, c, fRoot|fConfig|fUPS, "warn", "text", "json")
	c.RunE = func(c *cobra.Command, _ []string) error {
		s, err := o.open(c.Context(), true)
		if err != nil {
			return err
		}
		defer s.cancel()
		snap := collectors.Run(s.ctx, e.now(), assemble.Power(o.fs(), s.cfg))
		if o.format == "json" {
			doc := struct {
				UPS     []model.UPS          `json:"ups"`
				Sensors []model.Sensor       `json:"sensors"`
				Sources []model.SourceStatus `json:"sources"`
			}{append([]model.UPS{}, snap.UPS...), append([]model.Sensor{}, snap.Sensors...), snap.Sources}
			cli.JSON(e.stdout, doc)
		} else {
			cli.Sensors(e.stdout, snap)
		}
		if reportSources(c, snap) {
			return exitCode(exitUnknown)
		}
		return nil
	}
	return c
}

func cmdHWRaid(e *env) *cobra.Command {
	c := &cobra.Command{Use: "hwraid", Aliases: []string{"raid"}, Args: cobra.NoArgs,
		Short: "list hardware RAID controllers and the physical disks read behind them (collector hwraid)"}
	o := newOpts(e, c, fRoot|fConfig, "warn", "text", "json")
	c.RunE = func(c *cobra.Command, _ []string) error {
		s, err := o.open(c.Context(), true)
		if err != nil {
			return err
		}
		defer s.cancel()
		var doc cli.HWRaidDoc
		doc.Controllers, err = hwraid.Discover(s.ctx, o.fs())
		if err != nil {
			doc.Errors = append(doc.Errors, err.Error())
		}
		snap := collectors.Run(s.ctx, e.now(), []collectors.Named{assemble.HWRaid(o.fs(), s.cfg)})
		doc.Disks = snap.Disks
		doc.State = snap.Controllers
		for _, s := range snap.Sources {
			doc.Errors = append(doc.Errors, s.Errors...)
		}
		if o.format == "json" {
			doc.Controllers = append([]hwraid.Controller{}, doc.Controllers...)
			doc.Disks = append([]model.Disk{}, doc.Disks...)
			cli.JSON(e.stdout, doc)
		} else {
			cli.HWRaid(e.stdout, &doc)
		}
		for _, m := range doc.Errors {
			fmt.Fprintln(e.stderr, "diskwatch hwraid:", model.Clean(m))
		}
		if len(doc.Errors) > 0 {
			return exitCode(exitUnknown)
		}
		return nil
	}
	return c
}

func cmdKernelLog(e *env) *cobra.Command {
	c := &cobra.Command{Use: "kernel-log", Args: cobra.NoArgs,
		Short: "print the disk errors and RAID events in the kernel log, attributed to disks",
		Long: "Reads the whole kernel log (without moving the daemon's saved position) and prints the lines\n" +
			"diskwatch recognises: disk errors, timeouts, resets, md and controller events."}
	o := newOpts(e, c, fRoot|fConfig|fState, "warn", "text", "json")
	c.RunE = func(c *cobra.Command, _ []string) error {
		s, err := o.open(c.Context(), false)
		if err != nil {
			return err
		}
		defer s.cancel()
		cfg, _ := assemble.LoadConfig(o.config, nil, nil, s.rs) // only for daemon.state_dir
		dir := o.stateDir(cfg)
		col := kmsg.New(o.fs(), kmsg.Options{Now: e.now, Keep: 100 * 365 * 24 * time.Hour})
		defer col.Close()
		var snap model.Snapshot
		err = col.Collect(s.ctx, &snap)
		switch {
		case o.format == "json":
			cli.JSON(e.stdout, append([]model.KernelEvent{}, snap.Events...))
		case len(snap.Events) == 0 && err == nil:
			fmt.Fprintf(e.stdout, "no disk errors or RAID events in the kernel log (%s read, nothing recognised)\n", o.fs().Dev("kmsg"))
		default:
			cli.KernelLog(e.stdout, snap.Events)
		}
		if err != nil {
			return failf(c, exitUnknown, "%s", model.Clean(err.Error()))
		}
		// Where the watcher is: the daemon's position in its state directory.
		if seq, ok, perr := kmsg.Position(o.fs(), dir); o.format == "text" && perr == nil && ok {
			newer := 0
			for _, ev := range snap.Events {
				if ev.Seq > seq {
					newer++
				}
			}
			fmt.Fprintf(e.stdout, "(the watcher in %s has read the kernel log up to record %d of this boot; %d of these events are newer)\n", dir, seq, newer)
		}
		return nil
	}
	return c
}

func cmdSelfTest(e *env) *cobra.Command {
	c := &cobra.Command{Use: "selftest DEVICE short|long", Args: cobra.ExactArgs(2),
		Short:     "start a SMART self-test by hand",
		ValidArgs: []string{"short", "long"},
		Long: "Starts a SMART self-test in the background (ATA SMART EXECUTE OFFLINE IMMEDIATE, NVMe Device\n" +
			"Self-test, SCSI SEND DIAGNOSTIC). Refuses a disk in standby and a disk already testing. Read the\n" +
			"result later with `diskwatch smart DEVICE`."}
	o := newOpts(e, c, fRoot, "warn")
	c.RunE = func(c *cobra.Command, pos []string) error {
		s, err := o.open(c.Context(), false)
		if err != nil {
			return err
		}
		defer s.cancel()
		msg, err := smart.StartSelfTest(s.ctx, o.fs(), pos[0], pos[1], 10*time.Second)
		if err != nil {
			return failf(c, exitUnknown, "%s", model.Clean(err.Error()))
		}
		fmt.Fprintln(e.stdout, model.Clean(msg))
		return nil
	}
	return c
}
