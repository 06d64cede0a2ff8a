package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/diskwatch/diskwatch/alerts/assemble"
	"github.com/diskwatch/diskwatch/alerts/assemble/locate"
	"github.com/diskwatch/diskwatch/alerts/engine"
	"github.com/diskwatch/diskwatch/alerts/output/prom"
	"github.com/diskwatch/diskwatch/alerts/output/snapshot"
	"github.com/diskwatch/diskwatch/alerts/output/zabbix"
	"github.com/diskwatch/diskwatch/alerts/rules"
)

// diskwatch_build_info carries the version this binary was built as.
func init() { prom.Version, prom.Revision = version, revision }

// docFlags are the flags of the commands that read the daemon's snapshot.
type docFlags struct {
	common
	stateDir string
	direct   bool
	maxAge   time.Duration
}

func (f *docFlags) register(fs *flag.FlagSet, e *env) {
	f.common.register(fs, e)
	fs.StringVar(&f.stateDir, "state", e.getenv("DISKWATCH_STATE"), "the daemon's state `DIR`, where it publishes snapshot.json (default daemon.state_dir, else "+locate.DefaultStateDir+"; env DISKWATCH_STATE)")
	fs.BoolVar(&f.direct, "direct", false, "read the devices now even when the daemon's snapshot is fresh")
	fs.DurationVar(&f.maxAge, "max-age", 0, "use the daemon's snapshot only if younger than `D` (default: 3 daemon intervals, at least 3m)")
}

// loadDoc returns the daemon's snapshot when it is fresh (no device is
// touched), else collects once directly. from says which.
func (f *docFlags) loadDoc(ctx context.Context, e *env) (doc *snapshot.Doc, from string, err error) {
	rs := rules.Default()
	cfg, cfgErr := f.loadConfig(rs)
	// A configuration that does not load still lets a fresh snapshot
	// answer; the state directory is then found without it.
	dir := assemble.StateDir(f.stateDir, nil, cfg)
	if !f.direct {
		d, rerr := locate.FreshSnapshot(dir, e.now(), f.maxAge)
		if rerr == nil {
			return d, "daemon", nil
		}
		if !errors.Is(rerr, os.ErrNotExist) && !errors.Is(rerr, locate.ErrStale) {
			log := f.logger(e)
			log.Warn().Err(rerr).Msg("daemon snapshot unusable; reading devices directly")
		}
	}
	if cfgErr != nil {
		return nil, "", cfgErr
	}
	h := f.host(e, dir)
	defer h.Close()
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	eng := &engine.Engine{Sources: h.Sources(cfg), Rules: rs, Settings: &cfg.Settings, Now: e.now, Log: f.logger(e)}
	res := eng.Cycle(ctx)
	host, _ := os.Hostname()
	res.Snapshot.Host = host
	return &snapshot.Doc{Written: res.Snapshot.Time, Host: host, Status: res.Status, Snapshot: res.Snapshot, Findings: res.Findings}, "direct", nil
}

func runMetrics(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("metrics", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: diskwatch metrics [flags]\n\nPrints the Prometheus metrics once (text format), from the daemon's snapshot when it\nis fresh, else read now. For node_exporter's textfile collector:\n  diskwatch metrics > /var/lib/node_exporter/diskwatch.prom.tmp && mv ... diskwatch.prom\n\nflags:")
		fs.PrintDefaults()
	}
	var f docFlags
	f.register(fs, e)
	if code, ok := parse(fs, args, e); !ok {
		return code
	}
	doc, _, err := f.loadDoc(ctx, e)
	if err != nil {
		fmt.Fprintf(e.stderr, "diskwatch metrics: %v\n", err)
		return exitUnknown
	}
	if err := prom.WriteText(e.stdout, doc); err != nil {
		fmt.Fprintf(e.stderr, "diskwatch metrics: %v\n", err)
		return exitUnknown
	}
	return exitOK
}

func runZabbix(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("zabbix", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), `usage: diskwatch zabbix discovery disks|arrays|ups|sensors|attributes
       diskwatch zabbix get KEY            (KEY as in Zabbix: smart.attr[DISK,5,raw])
       diskwatch zabbix get NAME [ARG...]  (the same, arguments apart)

Items: %s.
DISK is the identity from discovery ({#DISKID}: wwn:..., serial:MODEL_SN), a serial or a
kernel name. Values come from the daemon's snapshot when it is fresh (no disk is touched),
else the devices are read now. Exit status 1 and a message on stderr when an item is
not supported.

flags:
`, strings.Join(zabbix.Items(), ", "))
		fs.PrintDefaults()
	}
	var f docFlags
	f.register(fs, e)
	if code, ok := parse(fs, args, e); !ok {
		return code
	}
	rest := fs.Args()
	if len(rest) < 2 {
		fs.Usage()
		return exitUnknown
	}
	var name string
	var kargs []string
	var kind string
	switch rest[0] {
	case "discovery":
		if len(rest) != 2 {
			fs.Usage()
			return exitUnknown
		}
		kind = rest[1]
		valid := false
		for _, k := range zabbix.Kinds {
			valid = valid || k == kind
		}
		if !valid {
			fmt.Fprintf(e.stderr, "diskwatch zabbix: unknown discovery %q (one of %s)\n", oneLine(kind), strings.Join(zabbix.Kinds, ", "))
			return 1
		}
	case "get":
		var err error
		if len(rest) == 2 {
			name, kargs, err = zabbix.ParseKey(rest[1])
		} else {
			name, kargs, err = zabbix.ParseKey(rest[1])
			if err == nil && kargs != nil {
				err = errors.New("give the key either as NAME[ARGS] or as NAME ARG...")
			}
			if err == nil {
				kargs = trimEmpty(rest[2:])
				for _, a := range kargs {
					if err = zabbix.ValidateArg(a); err != nil {
						break
					}
				}
			}
		}
		if err != nil {
			fmt.Fprintf(e.stderr, "diskwatch zabbix: %s\n", oneLine(err.Error()))
			return 1
		}
	default:
		fs.Usage()
		return exitUnknown
	}
	if name == zabbix.MasterKey {
		// The template's item reads the daemon's snapshot only, as
		// diskwatch-zabbix does: never the devices.
		var maxAge time.Duration
		var err error
		if len(kargs) > 1 {
			err = fmt.Errorf("%s takes one argument, the maximum snapshot age", name)
		} else if len(kargs) == 1 {
			maxAge, err = zabbix.ParseMaxAge(kargs[0])
		}
		if err != nil {
			fmt.Fprintf(e.stderr, "diskwatch zabbix: %s\n", oneLine(err.Error()))
			return 1
		}
		cfg, _ := f.loadConfig(rules.Default()) // only for daemon.state_dir
		path := assemble.StateDir(f.stateDir, nil, cfg) + "/" + snapshot.FileName
		doc, rerr := snapshot.Read(path)
		fmt.Fprintf(e.stdout, "%s\n", zabbix.NewMaster(path, doc, rerr, e.now(), maxAge).JSON())
		return exitOK
	}
	doc, _, err := f.loadDoc(ctx, e)
	if err != nil {
		fmt.Fprintf(e.stderr, "diskwatch zabbix: %s\n", oneLine(err.Error()))
		return 1
	}
	if kind != "" {
		b, err := zabbix.Discovery(doc, kind)
		if err != nil {
			fmt.Fprintf(e.stderr, "diskwatch zabbix: %s\n", oneLine(err.Error()))
			return 1
		}
		fmt.Fprintf(e.stdout, "%s\n", b)
		return exitOK
	}
	v, err := zabbix.Get(doc, name, kargs, e.now())
	if err != nil {
		fmt.Fprintf(e.stderr, "diskwatch zabbix: %s\n", oneLine(err.Error()))
		return 1
	}
	fmt.Fprintln(e.stdout, v)
	return exitOK
}

// trimEmpty drops trailing empty arguments (unused optional ones that a
// UserParameter passes as "").
func trimEmpty(a []string) []string {
	for len(a) > 0 && a[len(a)-1] == "" {
		a = a[:len(a)-1]
	}
	return a
}
