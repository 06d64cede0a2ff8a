// Package assemble is the one place that builds diskwatch from its
// configuration: the configuration itself (file, --ups URLs), the state
// directory, the collectors (sources), the notification sinks and the
// history store of a one-shot command. Every command and the daemon use it,
// so a setting means the same thing everywhere.
//
// What diskwatch-zabbix needs (where the state is, when the snapshot is
// fresh) lives in the small package locate beneath this one.
package assemble

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"

	"github.com/diskwatch/diskwatch/alerts/assemble/locate"
	"github.com/diskwatch/diskwatch/alerts/config"
	"github.com/diskwatch/diskwatch/alerts/daemon/control"
	"github.com/diskwatch/diskwatch/alerts/engine"
	"github.com/diskwatch/diskwatch/alerts/history"
	"github.com/diskwatch/diskwatch/alerts/rules"
	"github.com/diskwatch/diskwatch/collectors"
	"github.com/diskwatch/diskwatch/collectors/hostroot"
	"github.com/diskwatch/diskwatch/collectors/hwmon"
	"github.com/diskwatch/diskwatch/collectors/hwraid"
	"github.com/diskwatch/diskwatch/collectors/kmsg"
	"github.com/diskwatch/diskwatch/collectors/mdraid"
	"github.com/diskwatch/diskwatch/collectors/probe"
	"github.com/diskwatch/diskwatch/collectors/smart"
	"github.com/diskwatch/diskwatch/collectors/smartctl"
	"github.com/diskwatch/diskwatch/collectors/ups"
)

// LoadConfig loads the configuration named by path (a --config flag; ""
// for $DISKWATCH_CONFIG, else the default file, else the embedded default)
// and adds the UPS URLs given on the command line.
func LoadConfig(path string, getenv func(string) string, upsURLs []string, rs *rules.Set) (*config.Config, error) {
	p, explicit := locate.ConfigPath(path, getenv)
	cfg, err := config.Load(p, explicit, rs)
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, raw := range upsURLs {
		t, err := ups.ParseURL(raw)
		if err == nil {
			err = t.LoadCA(os.ReadFile)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("--ups: %w", err))
			continue
		}
		cfg.UPS = append(cfg.UPS, config.UPSURL{URL: raw, Target: t})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return cfg, nil
}

// StateDir resolves the state directory for cfg: flag, else
// $DISKWATCH_STATE, else daemon.state_dir, else /var/lib/diskwatch.
func StateDir(flag string, getenv func(string) string, cfg *config.Config) string {
	configured := ""
	if cfg != nil {
		configured = cfg.Daemon.StateDir
	}
	return locate.StateDir(flag, getenv, configured)
}

// Host builds the collectors of one host root. It keeps the kernel-log
// collector between calls to Sources, so a daemon reads /dev/kmsg from one
// open descriptor across rounds and reloads and sees bursts that span them.
type Host struct {
	FS hostroot.FS
	// StateDir is where collectors that remember something between runs
	// keep it (the kernel log's position), on the live host only.
	StateDir string
	// Now is the clock.
	Now func() time.Time

	kmsg *kmsg.Collector
}

// Sources returns the collectors cfg enables.
func (h *Host) Sources(cfg *config.Config) []collectors.Named {
	var out []collectors.Named
	if cfg.Collectors.MDRaid.On() {
		md := mdraid.New(h.FS)
		md.Asleep = Asleep(h.FS, cfg)
		out = append(out, collectors.Named{Name: "mdraid", Collector: md, Timeout: 30 * time.Second})
	}
	if sc := cfg.Collectors.Smartctl; sc.On() {
		out = append(out, Smartctl(h.FS, sc))
	}
	if sm := cfg.Collectors.Smart; sm.On() {
		out = append(out, Smart(h.FS, sm))
	}
	if cfg.Collectors.KMsg.On() {
		out = append(out, h.KMsg())
	}
	if cfg.Collectors.HWRaid.On() {
		out = append(out, HWRaid(h.FS, cfg))
	}
	return append(out, Power(h.FS, cfg)...)
}

// KMsg returns the host's kernel-log collector. On the live host its
// position is kept in StateDir; under a fixture root nothing is kept and
// the whole log is read.
func (h *Host) KMsg() collectors.Named {
	if h.kmsg == nil {
		dir := ""
		if h.FS.IsHost() {
			dir = h.StateDir
		}
		h.kmsg = kmsg.New(h.FS, kmsg.Options{StateDir: dir, Now: h.Now})
	}
	return collectors.Named{Name: "kmsg", Collector: h.kmsg, Timeout: 20 * time.Second}
}

// Close releases the kernel log.
func (h *Host) Close() error {
	if h.kmsg == nil {
		return nil
	}
	return h.kmsg.Close()
}

// Smartctl builds the smartctl collector for the configured devices.
func Smartctl(fs hostroot.FS, sc config.Smartctl) collectors.Named {
	devs := make([]smartctl.Device, len(sc.Devices))
	for i, d := range sc.Devices {
		devs[i] = smartctl.Device{Path: d.Path, Type: d.Type}
	}
	b := smartctl.Backend{Program: sc.Program, Timeout: sc.Timeout, NoCheck: sc.NoCheck}
	per := sc.Timeout
	if per <= 0 {
		per = smartctl.DefaultTimeout
	}
	// Four devices at a time, each bounded by its own timeout.
	return collectors.Named{Name: "smartctl", Collector: smartctl.New(fs, devs, b), Timeout: per*time.Duration((len(devs)+3)/4) + 5*time.Second}
}

// Smart builds the native SMART collector. The smartctl fallback is used
// on the live host only: under --root it would read the host's disks.
func Smart(fs hostroot.FS, sm config.Smart) collectors.Named {
	c := smart.New(fs)
	c.Devices = sm.Devices
	c.Timeout = sm.Timeout
	if p, err := smart.ParseStandby(sm.Standby); err == nil {
		c.Standby = p
	}
	if !sm.Fallback() || !fs.IsHost() {
		c.Fallback = nil
	}
	return collectors.Named{Name: "smart", Collector: c, Timeout: 2 * time.Minute}
}

// StandbyPolicy is the one power-mode policy of every path that reads a
// disk: collectors.smart.standby (default standby, as smartd's -n
// standby).
func StandbyPolicy(cfg *config.Config) smart.Standby {
	p, err := smart.ParseStandby(cfg.Collectors.Smart.Standby)
	if err != nil {
		return smart.Standby{Mode: "standby"}
	}
	return p
}

// Asleep is the standby check other collectors ask before they read a
// disk (drivetemp's temperature, md boot sectors and superblocks): the
// SMART standby policy, the power mode probed without waking the disk.
// Nil under --root, where no disk is read.
func Asleep(fs hostroot.FS, cfg *config.Config) func(ctx context.Context, disk string) (bool, string) {
	if !fs.IsHost() {
		return nil
	}
	p := StandbyPolicy(cfg)
	return func(ctx context.Context, disk string) (bool, string) { return p.Asleep(ctx, fs, disk) }
}

// HWRaid builds the collector of disks behind 3ware and MegaRAID
// controllers: MFI pass-through natively, smartctl (-d 3ware,N /
// megaraid,N) as the fallback, both on the live host only.
func HWRaid(fs hostroot.FS, cfg *config.Config) collectors.Named {
	var sc hwraid.SmartctlReader
	if fs.IsHost() {
		sc = smartctl.Backend{Program: cfg.Collectors.Smartctl.Program, Timeout: cfg.Collectors.Smartctl.Timeout, NoCheck: cfg.Collectors.Smartctl.NoCheck}
	}
	p := StandbyPolicy(cfg)
	// ATA disks behind the controllers are decoded with the same drive
	// database as the SMART collector's.
	db := smart.New(fs).DriveDB()
	c := hwraid.New(fs, &hwraid.HostNative{FS: fs, Standby: &p, DB: db}, sc)
	c.SmartctlProgram = cfg.Collectors.Smartctl.Program
	return collectors.Named{Name: "hwraid", Collector: c, Timeout: 2 * time.Minute}
}

// Power builds the hwmon, UPS and probe collectors.
func Power(fs hostroot.FS, cfg *config.Config) []collectors.Named {
	var out []collectors.Named
	if cfg.Collectors.Hwmon.On() {
		h := hwmon.New(fs)
		h.SkipDrivetemp = !cfg.Collectors.Hwmon.DrivetempOn()
		h.Asleep = Asleep(fs, cfg)
		out = append(out, collectors.Named{Name: "hwmon", Collector: h, Timeout: 10 * time.Second})
	}
	if ts := cfg.UPSTargets(); len(ts) > 0 {
		// Each UPS gets 5 s per step; they are read one after another.
		out = append(out, collectors.Named{Name: "ups", Collector: ups.New(ts, 5*time.Second), Timeout: time.Duration(len(ts))*15*time.Second + 5*time.Second})
	}
	if ps := cfg.ProbeSpecs(); len(ps) > 0 {
		var total time.Duration
		for _, p := range ps {
			t := p.Timeout
			if t <= 0 {
				t = 10 * time.Second
			}
			total += t
		}
		out = append(out, collectors.Named{Name: "probes", Collector: probe.New(fs, ps), Timeout: total + 5*time.Second})
	}
	return out
}

// Shared is the history as a one-shot command sees it: the store itself,
// or, while a daemon owns it, the daemon's store through its control
// socket (everything but Ack read-only there).
type Shared interface {
	rules.History
	rules.Baselines
	StoredHistory
	Ack(ctx context.Context, subject, metric string, t time.Time, v float64) error
	Close() error
}

// OpenShared opens the history in dir: through the running daemon's control
// socket when one answers there (viaDaemon), else the store itself.
func OpenShared(ctx context.Context, dir string, opt history.Options) (h Shared, viaDaemon bool, err error) {
	if _, err := os.Stat(filepath.Join(dir, control.SocketName)); err == nil {
		if c, err := control.Dial(ctx, dir); err == nil {
			return c, true, nil
		}
	}
	st, err := history.Open(ctx, dir, opt)
	if err != nil {
		return nil, false, err
	}
	return st, false, nil
}

// OpenHistory opens the history in dir for check ("off" or "none": no
// history). The store itself gives both sides; a running daemon's gives
// the read side only (store is nil: the daemon keeps its own readings). A
// history that cannot be opened costs the trend rules, never the check:
// the reason is logged, at info level when dir is the default (which a
// non-root user cannot create), else at warn.
func OpenHistory(ctx context.Context, dir string, log zerolog.Logger) (store engine.Store, hist rules.History, closer func()) {
	closer = func() {}
	if dir == "off" || dir == "none" {
		return nil, nil, closer
	}
	h, viaDaemon, err := OpenShared(ctx, dir, history.Options{Log: log, LockTimeout: 2 * time.Second})
	if err != nil {
		ev := log.Warn()
		if dir == locate.DefaultStateDir {
			ev = log.Info()
		}
		ev.Err(err).Msg("history store unavailable: readings not kept, trend rules see no history this run")
		return nil, nil, closer
	}
	closer = func() { h.Close() }
	if viaDaemon {
		log.Debug().Str("dir", dir).Msg("history read through the running daemon (its own rounds keep the readings)")
		return nil, h, closer
	}
	st := h.(*history.Store)
	if st.ReadOnly() {
		log.Warn().Str("store", st.Path()).Msg("history store is on a read-only file system: readings of this run are not kept")
	}
	return st, st, closer
}
