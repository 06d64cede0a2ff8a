// Command diskwatch watches disks, RAID arrays, UPSes and sensors and warns
// before a disk dies. See README.md.
//
// This package reads flags and the environment and chooses exit codes; the
// work is done in alerts/assemble, alerts/daemon and alerts/output. The
// commands and flags are defined once (cobra), and help, completion and the
// man page are generated from them.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/diskwatch/diskwatch/alerts/assemble"
	"github.com/diskwatch/diskwatch/alerts/assemble/locate"
	"github.com/diskwatch/diskwatch/alerts/config"
	"github.com/diskwatch/diskwatch/alerts/output/logfmt"
	"github.com/diskwatch/diskwatch/alerts/rules"
	"github.com/diskwatch/diskwatch/collectors/hostroot"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// revision is the source revision, set at build time with -ldflags
// "-X main.revision=..." (the Makefile does); empty: the VCS stamp Go
// writes into the binary, if any.
var revision string

// Exit codes, the monitoring-plugins convention.
const (
	exitOK       = 0
	exitWarning  = 1
	exitCritical = 2
	exitUnknown  = 3
)

// env is what every command gets: streams, clock, environment.
type env struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	now            func() time.Time
}

func main() {
	if code, ok := superviseCheck(os.Args[1:], os.Stdout, os.Stderr); ok {
		os.Exit(code)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	e := &env{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, now: time.Now}
	code := run(ctx, e, os.Args[1:])
	stop()
	reportVerdict(code)
	os.Exit(code)
}

// exitCode ends a command with that status; what it had to say is said.
type exitCode int

func (c exitCode) Error() string { return fmt.Sprintf("exit status %d", int(c)) }

// usageError is a mistake on the command line.
type usageError struct{ error }

func run(ctx context.Context, e *env, args []string) int {
	root := newRoot(e)
	root.SetArgs(args)
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	if len(args) == 0 {
		root.SetOut(e.stderr)
		fmt.Fprint(e.stderr, "usage: diskwatch COMMAND [flags]\n\n")
		root.Help()
		return exitUnknown
	}
	cmd, err := root.ExecuteContextC(ctx)
	var code exitCode
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &code):
		return int(code)
	}
	fmt.Fprintf(e.stderr, "%s: %s\n", cmd.CommandPath(), strings.TrimSpace(err.Error()))
	var ue usageError
	if errors.As(err, &ue) || !cmd.Runnable() || strings.Contains(err.Error(), "flag") || strings.Contains(err.Error(), "arg") {
		fmt.Fprintf(e.stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
	}
	return exitUnknown
}

func newRoot(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:   "diskwatch",
		Short: "disk and RAID health watchdog: warns before a disk dies, and says what to do",
		Long: "diskwatch reads SMART, Linux software RAID, the kernel log, UPSes and sensors, and raises\n" +
			"predictive alerts. Exit status of check: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.",
		Version:           version,
		SilenceErrors:     true,
		SilenceUsage:      true,
		CompletionOptions: cobra.CompletionOptions{HiddenDefaultCmd: false},
	}
	root.SetVersionTemplate("diskwatch {{.Version}}\n")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddGroup(&cobra.Group{ID: "watch", Title: "Watching:"}, &cobra.Group{ID: "inspect", Title: "Looking at one part:"},
		&cobra.Group{ID: "state", Title: "History and alerts:"})
	for _, c := range []*cobra.Command{cmdCheck(e), cmdDaemon(e), cmdMetrics(e), cmdZabbix(e)} {
		c.GroupID = "watch"
		root.AddCommand(c)
	}
	for _, c := range []*cobra.Command{cmdSmart(e), cmdSensors(e), cmdHWRaid(e), cmdKernelLog(e), cmdSelfTest(e)} {
		c.GroupID = "inspect"
		root.AddCommand(c)
	}
	for _, c := range []*cobra.Command{cmdReport(e), cmdAck(e), cmdReplay(e), cmdNotify(e)} {
		c.GroupID = "state"
		root.AddCommand(c)
	}
	root.AddCommand(cmdConfig(e), cmdMan(), &cobra.Command{Use: "version", Short: "print the version", Args: cobra.NoArgs,
		Run: func(c *cobra.Command, _ []string) { fmt.Fprintln(c.OutOrStdout(), "diskwatch", version) }})
	return root
}

// Which shared flags a command takes.
const (
	fRoot   = 1 << iota // --root, --timeout
	fConfig             // --config
	fUPS                // --ups
	fState              // --state
)

// opts are the flags commands share; each command registers the ones that
// apply to it.
type opts struct {
	e                   *env
	root, config, state string
	timeout             time.Duration
	ups                 []string
	format              string
	formats             []string
	logLevel, logFormat string
	verbose             bool
}

// newOpts registers the shared flags of which on c, --format when formats
// are given (the first is the default), and the logging flags (level
// defaults to logLevel).
func newOpts(e *env, c *cobra.Command, which int, logLevel string, formats ...string) *opts {
	o := &opts{e: e, formats: formats}
	f := c.Flags()
	if which&fRoot != 0 {
		f.StringVar(&o.root, "root", e.getenv("DISKWATCH_ROOT"), "read /proc, /sys, /dev and /run under `DIR` instead of / (env DISKWATCH_ROOT)")
		f.DurationVar(&o.timeout, "timeout", 60*time.Second, "overall deadline of one collection")
	}
	if which&fConfig != 0 {
		f.StringVar(&o.config, "config", e.getenv(locate.EnvConfig), "configuration `FILE` (default "+locate.DefaultConfig+"; env DISKWATCH_CONFIG)")
	}
	if which&fUPS != 0 {
		f.StringArrayVar(&o.ups, "ups", nil, "watch the UPS at `URL`: nut://[user:pass@]host[:port][/upsname] or apcupsd://host[:port] (repeatable; adds to the config's ups:)")
	}
	if which&fState != 0 {
		f.StringVar(&o.state, "state", e.getenv(locate.EnvState), "state `DIR`: history store, alert state, snapshot (default daemon.state_dir, else "+locate.DefaultStateDir+"; env DISKWATCH_STATE)")
	}
	if len(formats) > 0 {
		f.StringVar(&o.format, "format", formats[0], "output `format`: "+strings.Join(formats, ", "))
		c.RegisterFlagCompletionFunc("format", cobra.FixedCompletions(formats, cobra.ShellCompDirectiveNoFileComp))
	}
	f.StringVar(&o.logLevel, "log-level", logLevel, "log `level`: debug, info, warn or error")
	f.StringVar(&o.logFormat, "log-format", "auto", "log `format`: logfmt, json or console (auto: console on a terminal, logfmt elsewhere, with journal priorities under systemd)")
	f.BoolVar(&o.verbose, "verbose", false, "log what is skipped and why (same as --log-level debug)")
	c.RegisterFlagCompletionFunc("log-level", cobra.FixedCompletions([]string{"debug", "info", "warn", "error"}, cobra.ShellCompDirectiveNoFileComp))
	c.RegisterFlagCompletionFunc("log-format", cobra.FixedCompletions([]string{"logfmt", "json", "console"}, cobra.ShellCompDirectiveNoFileComp))
	c.Flags().SortFlags = false
	return o
}

// session is what a command's shared opening gives it.
type session struct {
	ctx    context.Context
	cancel context.CancelFunc
	log    zerolog.Logger
	rs     *rules.Set
	cfg    *config.Config // nil unless asked for
}

// open is every command's shared opening: checks --format and the logging
// flags, makes the logger, loads the configuration (when withConfig) and
// sets the deadline (--timeout, when the command has it).
func (o *opts) open(ctx context.Context, withConfig bool) (*session, error) {
	if len(o.formats) > 0 && !contains(o.formats, o.format) {
		return nil, usageError{fmt.Errorf("--format must be %s, not %q", strings.Join(o.formats, ", "), o.format)}
	}
	log, err := o.logger()
	if err != nil {
		return nil, usageError{err}
	}
	s := &session{ctx: log.WithContext(ctx), cancel: func() {}, log: log, rs: rules.Default()}
	if withConfig {
		if s.cfg, err = assemble.LoadConfig(o.config, nil, o.ups, s.rs); err != nil {
			return nil, err
		}
	}
	if o.timeout > 0 {
		s.ctx, s.cancel = context.WithTimeout(s.ctx, o.timeout)
	}
	return s, nil
}

func (o *opts) fs() hostroot.FS { return hostroot.New(o.root) }

// stateDir resolves --state for the loaded configuration.
func (o *opts) stateDir(cfg *config.Config) string { return assemble.StateDir(o.state, nil, cfg) }

// host returns the collector builder of --root keeping state in dir.
func (o *opts) host(dir string) *assemble.Host {
	return &assemble.Host{FS: o.fs(), StateDir: dir, Now: o.e.now}
}

// logger makes the logger the flags and the environment ask for.
func (o *opts) logger() (zerolog.Logger, error) {
	level := o.logLevel
	if o.verbose {
		level = "debug"
	}
	return logfmt.Logger(o.e.stderr, level, o.logFormat, o.e.getenv("JOURNAL_STREAM"))
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// failf prints "diskwatch CMD: message" and ends with status code.
func failf(c *cobra.Command, code int, format string, a ...any) error {
	fmt.Fprintf(c.ErrOrStderr(), "%s: %s\n", c.CommandPath(), fmt.Sprintf(format, a...))
	return exitCode(code)
}

// changed reports whether a flag was given on the command line.
func changed(c *cobra.Command, name string) bool {
	f := c.Flags().Lookup(name)
	return f != nil && f.Changed
}

var _ = pflag.ContinueOnError
