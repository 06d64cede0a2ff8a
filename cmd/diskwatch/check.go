package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/diskwatch/diskwatch/alerts/assemble"
	"github.com/diskwatch/diskwatch/alerts/assemble/locate"
	"github.com/diskwatch/diskwatch/alerts/engine"
	"github.com/diskwatch/diskwatch/alerts/output/cli"
	"github.com/diskwatch/diskwatch/alerts/output/prom"
	"github.com/diskwatch/diskwatch/alerts/output/snapshot"
	"github.com/diskwatch/diskwatch/alerts/output/zabbix"
	"github.com/diskwatch/diskwatch/alerts/rules"
)

// diskwatch_build_info carries the version this binary was built as.
func init() { prom.Version, prom.Revision = version, revision }

func cmdCheck(e *env) *cobra.Command {
	c := &cobra.Command{Use: "check", Args: cobra.NoArgs,
		Short: "one-shot check for scripts and cron (exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN)",
		Long: "Reads every enabled source once, evaluates the rules and prints the findings, most severe first.\n" +
			"Readings are appended to the history store (--state; \"off\" keeps none) so trend rules work from cron."}
	o := newOpts(e, c, fRoot|fConfig|fUPS|fState, "warn", "text", "json", "nagios")
	showOK := c.Flags().Bool("all", false, "text: also list OK (informational) findings")
	c.RunE = func(c *cobra.Command, _ []string) error {
		s, err := o.open(c.Context(), true)
		if err != nil {
			if o.format == "nagios" && !errors.As(err, &usageError{}) {
				fmt.Fprintf(e.stdout, "DISKWATCH UNKNOWN - configuration error: %s\n", cli.OneLine(err.Error()))
			}
			return err
		}
		defer s.cancel()
		if o.state == "" && o.root != "" && o.root != "/" {
			// A --root run reads a fixture tree, not this host: its readings
			// are not this host's history unless --state says where to put them.
			o.state = "off"
		}
		dir, kdir := o.stateDir(s.cfg), o.stateDir(s.cfg)
		if dir == "off" || dir == "none" {
			kdir = assemble.StateDir("", nil, s.cfg) // the kernel log's position is kept all the same
		}
		h := o.host(kdir)
		defer h.Close()
		eng := &engine.Engine{Sources: h.Sources(s.cfg), Rules: s.rs, Settings: &s.cfg.Settings, Now: e.now, Log: s.log}
		store, hist, closeHist := assemble.OpenHistory(s.ctx, dir, s.log)
		defer closeHist()
		eng.Store, eng.History = store, hist
		res := eng.Cycle(s.ctx)
		switch o.format {
		case "json":
			cli.CheckJSON(e.stdout, res)
		case "nagios":
			cli.CheckNagios(e.stdout, res)
		default:
			cli.CheckText(e.stdout, res, *showOK)
		}
		return exitCode(res.Status.ExitCode())
	}
	return c
}

// docOpts are the flags of the commands that answer from the daemon's
// snapshot.
type docOpts struct {
	*opts
	direct bool
	maxAge time.Duration
}

func newDocOpts(e *env, c *cobra.Command) *docOpts {
	d := &docOpts{opts: newOpts(e, c, fRoot|fConfig|fUPS|fState, "warn")}
	c.Flags().BoolVar(&d.direct, "direct", false, "read the devices now even when the daemon's snapshot is fresh")
	c.Flags().DurationVar(&d.maxAge, "max-age", 0, "use the daemon's snapshot only if younger than `D` (default: 3 daemon intervals, at least 3m)")
	return d
}

// loadDoc returns the daemon's snapshot when it is fresh (no device is
// touched), else collects once directly.
func (d *docOpts) loadDoc(ctx context.Context) (*snapshot.Doc, error) {
	s, err := d.open(ctx, false)
	if err != nil {
		return nil, err
	}
	defer s.cancel()
	cfg, cfgErr := assemble.LoadConfig(d.config, nil, d.ups, s.rs)
	// A configuration that does not load still lets a fresh snapshot
	// answer; the state directory is then found without it.
	dir := d.stateDir(cfg)
	if !d.direct {
		doc, err := locate.FreshSnapshot(dir, d.e.now(), d.maxAge)
		if err == nil {
			return doc, nil
		}
		if !errors.Is(err, os.ErrNotExist) && !errors.Is(err, locate.ErrStale) {
			s.log.Warn().Err(err).Msg("daemon snapshot unusable; reading devices directly")
		}
	}
	if cfgErr != nil {
		return nil, cfgErr
	}
	h := d.host(dir)
	defer h.Close()
	eng := &engine.Engine{Sources: h.Sources(cfg), Rules: s.rs, Settings: &cfg.Settings, Now: d.e.now, Log: s.log}
	res := eng.Cycle(s.ctx)
	host, _ := os.Hostname()
	res.Snapshot.Host = host
	return &snapshot.Doc{Written: res.Snapshot.Time, Host: host, Status: res.Status, Snapshot: res.Snapshot, Findings: res.Findings}, nil
}

func cmdMetrics(e *env) *cobra.Command {
	c := &cobra.Command{Use: "metrics", Args: cobra.NoArgs,
		Short: "print the Prometheus metrics once (node_exporter textfile collector)",
		Long: "Prints the Prometheus metrics once (text format), from the daemon's snapshot when it is fresh,\n" +
			"else read now. For node_exporter's textfile collector (Debian: /var/lib/prometheus/node-exporter):\n" +
			"  diskwatch metrics > DIR/diskwatch.prom.$$ && mv DIR/diskwatch.prom.$$ DIR/diskwatch.prom"}
	d := newDocOpts(e, c)
	c.RunE = func(c *cobra.Command, _ []string) error {
		doc, err := d.loadDoc(c.Context())
		if err != nil {
			return err
		}
		return prom.WriteText(e.stdout, doc)
	}
	return c
}

func cmdZabbix(e *env) *cobra.Command {
	c := &cobra.Command{Use: "zabbix [flags] discovery KIND | get KEY | get NAME [ARG...]",
		Short: "Zabbix agent items (UserParameter): zabbix discovery KIND | zabbix get KEY",
		Long: "Items: " + strings.Join(zabbix.Items(), ", ") + ".\n" +
			"KEY is as in Zabbix (smart.attr[DISK,5,raw]) or NAME ARG... apart. DISK is the identity from discovery\n" +
			"({#DISKID}: wwn:..., serial:MODEL_SN), a serial or a kernel name. Values come from the daemon's snapshot\n" +
			"(no disk is touched); without a fresh one the item fails saying why (--direct reads the devices now).\n" +
			"Exit status 1 and a message on stderr when an item is not supported. Flags go before discovery/get:\n" +
			"what follows is the item's.",
		ValidArgs: []string{"discovery", "get"}}
	d := newDocOpts(e, c)
	c.Flags().SetInterspersed(false) // item arguments come from the Zabbix server: never flags
	c.RunE = func(c *cobra.Command, rest []string) error {
		if len(rest) < 2 || (rest[0] != "discovery" && rest[0] != "get") || (rest[0] == "discovery" && len(rest) != 2) {
			return usageError{errors.New("want discovery KIND, get KEY or get NAME ARG...")}
		}
		var name, kind string
		var kargs []string
		var err error
		if rest[0] == "discovery" {
			if kind = rest[1]; !contains(zabbix.Kinds, kind) {
				err = fmt.Errorf("unknown discovery %q (one of %s)", kind, strings.Join(zabbix.Kinds, ", "))
			}
		} else {
			name, kargs, err = zabbix.ParseKey(rest[1])
			if err == nil && len(rest) > 2 {
				if kargs != nil {
					err = errors.New("give the key either as NAME[ARGS] or as NAME ARG...")
				}
				kargs = rest[2:]
				for len(kargs) > 0 && kargs[len(kargs)-1] == "" {
					kargs = kargs[:len(kargs)-1] // unused optional arguments a UserParameter passes as ""
				}
				for _, a := range kargs {
					if err == nil {
						err = zabbix.ValidateArg(a)
					}
				}
			}
		}
		if err == nil && name == zabbix.MasterKey {
			// The template's item reads the daemon's snapshot only, as
			// diskwatch-zabbix does: never the devices.
			var maxAge time.Duration
			if len(kargs) > 1 {
				err = fmt.Errorf("%s takes one argument, the maximum snapshot age", name)
			} else if len(kargs) == 1 {
				maxAge, err = zabbix.ParseMaxAge(kargs[0])
			}
			if err == nil {
				cfg, _ := assemble.LoadConfig(d.config, nil, nil, rules.Default()) // only for daemon.state_dir
				path := filepath.Join(d.stateDir(cfg), snapshot.FileName)
				doc, rerr := snapshot.Read(path)
				fmt.Fprintf(e.stdout, "%s\n", zabbix.NewMaster(path, doc, rerr, e.now(), maxAge).JSON())
				return nil
			}
		}
		var doc *snapshot.Doc
		if err == nil && d.direct {
			doc, err = d.loadDoc(c.Context())
		} else if err == nil {
			// Items never fall back to reading the devices (as the agent's
			// unprivileged user that would answer a false OK): a missing,
			// unreadable or stale snapshot is an error saying why.
			cfg, _ := assemble.LoadConfig(d.config, nil, nil, rules.Default()) // only for daemon.state_dir
			path := filepath.Join(d.stateDir(cfg), snapshot.FileName)
			var rerr error
			doc, rerr = snapshot.Read(path)
			err = zabbix.Usable(path, doc, rerr, e.now(), d.maxAge)
		}
		var out any
		if err == nil && kind != "" {
			var b []byte
			b, err = zabbix.Discovery(doc, kind)
			out = string(b)
		} else if err == nil {
			out, err = zabbix.Get(doc, name, kargs, e.now())
		}
		if err != nil {
			if errors.As(err, &usageError{}) {
				return err
			}
			return failf(c, 1, "%s", cli.OneLine(err.Error()))
		}
		fmt.Fprintln(e.stdout, out)
		return nil
	}
	return c
}
