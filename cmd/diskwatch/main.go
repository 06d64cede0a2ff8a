// Command diskwatch watches disks, RAID arrays, UPSes and sensors and warns
// before a disk dies. See README.md.
//
// This package is the only place that reads flags and the environment and
// calls os.Exit.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"

	"github.com/diskwatch/diskwatch/alerts/assemble"
	"github.com/diskwatch/diskwatch/alerts/config"
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

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env *env, args []string) int
}

// env is what every subcommand gets: streams, clock, environment.
type env struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	now            func() time.Time
}

func commands() []command {
	return []command{
		{"check", "one-shot check for scripts and cron (exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN)", runCheck},
		{"replay", "run the rules over Backblaze drive-stats history and measure lead time and false alarms", runReplay},
		{"ack", "ack DEVICE [ATTRIBUTE]: accept a disk's current error counts; from now on only growth alerts", runAck},
		{"config", "config check FILE | config default", runConfig},
		{"sensors", "print UPS status (config ups:, --ups URL) and sensor readings (hwmon, probes) with their IDs", runSensors},
		{"raid", "list hardware RAID controllers and the physical disks read behind them", runRaid},
		{"kernel-log", "print the disk errors and RAID events in the kernel log, attributed to disks", runKernelLog},
		{"daemon", "watch continuously: alerts (log, email, webhook, exec, Alertmanager, syslog), Prometheus /metrics, snapshot for Zabbix", runDaemon},
		{"metrics", "print the Prometheus metrics once (node_exporter textfile collector)", runMetrics},
		{"zabbix", "zabbix discovery KIND | zabbix get KEY: Zabbix agent items (UserParameter)", runZabbix},
		{"report", "write a self-contained HTML health report with trend charts (--html FILE)", runReport},
		{"smart", "SMART record of each disk (or of smartctl -j captures): smart [DEVICE...] | smart --smartctl-json FILE...", runSmart},
		{"selftest", "start a SMART self-test by hand: selftest DEVICE short|long", runSelfTest},
		{"version", "print the version", func(_ context.Context, e *env, _ []string) int {
			fmt.Fprintln(e.stdout, "diskwatch", version)
			return exitOK
		}},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	e := &env{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, now: time.Now}
	code := run(ctx, e, os.Args[1:])
	stop()
	os.Exit(code)
}

func run(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(e.stderr)
		if len(args) == 0 {
			return exitUnknown
		}
		return exitOK
	}
	if args[0] == "--version" || args[0] == "-version" {
		args = []string{"version"}
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, e, args[1:])
		}
	}
	fmt.Fprintf(e.stderr, "diskwatch: unknown command %q\n", args[0])
	usage(e.stderr)
	return exitUnknown
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: diskwatch COMMAND [flags]\n\ncommands:")
	cs := commands()
	sort.Slice(cs, func(i, j int) bool { return cs[i].name < cs[j].name })
	for _, c := range cs {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'diskwatch COMMAND -h' for a command's flags.")
}

// common holds the flags every collecting command shares.
type common struct {
	root     string
	cfgPath  string
	logLevel string
	verbose  bool
	timeout  time.Duration
	ups      upsFlag
}

func (c *common) register(fs *flag.FlagSet, e *env) {
	fs.StringVar(&c.root, "root", e.getenv("DISKWATCH_ROOT"), "read /proc, /sys, /dev and /run under `DIR` instead of / (env DISKWATCH_ROOT)")
	fs.StringVar(&c.cfgPath, "config", e.getenv("DISKWATCH_CONFIG"), "configuration `FILE` (default "+config.DefaultPath+"; env DISKWATCH_CONFIG)")
	fs.StringVar(&c.logLevel, "log-level", "warn", "log `level`: debug, info, warn, error")
	fs.BoolVar(&c.verbose, "verbose", false, "log what is skipped and why (same as --log-level debug)")
	fs.DurationVar(&c.timeout, "timeout", 60*time.Second, "overall deadline of one collection")
	fs.Var(&c.ups, "ups", "watch the UPS at `URL`: nut://[user:pass@]host[:port][/upsname] or apcupsd://host[:port] (repeatable; adds to the config's ups:)")
}

func (c *common) logger(e *env) zerolog.Logger {
	lvl, err := zerolog.ParseLevel(c.logLevel)
	if err != nil || c.logLevel == "" {
		lvl = zerolog.WarnLevel
	}
	if c.verbose {
		lvl = zerolog.DebugLevel
	}
	var w io.Writer = e.stderr
	if f, ok := e.stderr.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
		w = zerolog.ConsoleWriter{Out: e.stderr, TimeFormat: time.TimeOnly}
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger()
}

func (c *common) fs() hostroot.FS { return hostroot.New(c.root) }

// loadConfig loads the configuration file named by --config, or the
// default path, or the embedded default.
func (c *common) loadConfig(rs *rules.Set) (*config.Config, error) {
	return assemble.LoadConfig(c.cfgPath, nil, c.ups, rs)
}

// host returns the collector builder of --root with its state directory.
func (c *common) host(e *env, stateDir string) *assemble.Host {
	return &assemble.Host{FS: c.fs(), StateDir: stateDir, Now: e.now}
}

// parse parses flags; it returns false (and the exit code) on error or -h.
func parse(fs *flag.FlagSet, args []string, e *env) (int, bool) {
	fs.SetOutput(e.stderr)
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return exitOK, false
		}
		return exitUnknown, false
	}
	return 0, true
}

// formatOK reports whether format is one of allowed; otherwise it says so
// on standard error for command cmd.
func formatOK(e *env, cmd, format string, allowed ...string) bool {
	for _, a := range allowed {
		if format == a {
			return true
		}
	}
	list := strings.Join(allowed[:len(allowed)-1], ", ") + " or " + allowed[len(allowed)-1]
	fmt.Fprintf(e.stderr, "diskwatch %s: --format must be %s, not %q\n", cmd, list, format)
	return false
}

// writeJSON writes v as indented JSON, with DEL and the C1 controls
// (U+0080-U+009F) escaped too: encoding/json leaves them raw, and a device
// string may carry them to a terminal.
func writeJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	out := make([]byte, 0, len(b)+1)
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == 0x7f || (r >= 0x80 && r < 0xa0) {
			out = fmt.Appendf(out, `\u%04x`, r)
		} else {
			out = append(out, b[:n]...)
		}
		b = b[n:]
	}
	_, err = w.Write(append(out, '\n'))
	return err
}

func runConfig(_ context.Context, e *env, args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(e.stderr, "usage: diskwatch config check FILE | diskwatch config default")
		return exitUnknown
	}
	switch args[0] {
	case "default":
		e.stdout.Write(config.DefaultYAML())
		return exitOK
	case "check":
		if len(args) != 2 {
			fmt.Fprintln(e.stderr, "usage: diskwatch config check FILE")
			return exitUnknown
		}
		if _, err := config.Load(args[1], true, rules.Default()); err != nil {
			for _, l := range strings.Split(err.Error(), "\n") {
				fmt.Fprintln(e.stderr, l)
			}
			return exitUnknown
		}
		fmt.Fprintf(e.stdout, "%s: OK\n", args[1])
		return exitOK
	}
	fmt.Fprintf(e.stderr, "diskwatch config: unknown subcommand %q\n", args[0])
	return exitUnknown
}
