// Package daemon is `diskwatch daemon`: rounds on a scheduler (each
// collector at its own interval, at most daemon.concurrency at a time),
// the rules plus the daemon's watch over itself, the alert lifecycle, the
// notification sinks with their on-disk queue, the snapshot for Zabbix and
// `diskwatch metrics`, and the HTTP server (/metrics, /report). The command
// in cmd/diskwatch only reads flags and the environment and calls Start and
// Run.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	sddaemon "github.com/coreos/go-systemd/v22/daemon"
	"github.com/rs/zerolog"

	"github.com/diskwatch/diskwatch/alerts/assemble"
	"github.com/diskwatch/diskwatch/alerts/config"
	"github.com/diskwatch/diskwatch/alerts/daemon/control"
	"github.com/diskwatch/diskwatch/alerts/engine"
	"github.com/diskwatch/diskwatch/alerts/history"
	"github.com/diskwatch/diskwatch/alerts/lifecycle"
	"github.com/diskwatch/diskwatch/alerts/notify"
	"github.com/diskwatch/diskwatch/alerts/output/snapshot"
	"github.com/diskwatch/diskwatch/alerts/rules"
	"github.com/diskwatch/diskwatch/collectors/execx"
	"github.com/diskwatch/diskwatch/collectors/hostroot"
	"github.com/diskwatch/diskwatch/collectors/model"
)

// Files in the state directory.
const (
	AlertStateFile = "alerts.json"
	QueueDir       = "queue"
)

// Options are what the command hands the daemon.
type Options struct {
	// FS is the host root the collectors read.
	FS hostroot.FS
	// StateDir is the resolved state directory (assemble.StateDir).
	StateDir string
	// Load reads the configuration again on SIGHUP.
	Load func() (*config.Config, error)
	// Rules is the rule set (rules.Default()).
	Rules *rules.Set
	// MetricsListen overrides daemon.metrics_listen ("off" disables).
	MetricsListen string
	// Rounds stops the daemon after that many rounds (0: until the context
	// ends).
	Rounds int
	// NoHistory leaves the history store closed.
	NoHistory bool
	Log       zerolog.Logger
	// Now is the clock.
	Now func() time.Time
}

// Daemon is the long-running watcher.
type Daemon struct {
	opt Options
	log zerolog.Logger
	now func() time.Time

	cfg     *config.Config
	dir     string
	sources *assemble.Host
	host    string
	started time.Time
	rounds  uint64
	sched   []*scheduled
	self    selfWatch
	tracker *lifecycle.Tracker
	store   *history.Store
	latest  atomic.Pointer[snapshot.Doc]
	rngMu   sync.Mutex
	rng     *rand.Rand

	// outbox is the per-sink notification queues and their workers.
	outbox *notify.Outbox

	httpSrv       *http.Server
	stopControl   context.CancelFunc
	reportSem     chan struct{} // one /report built at a time
	lastHeartbeat time.Time
	selfTests     *selfTester // scheduled SMART self-tests (selftests.go)
}

// New returns a daemon; Start prepares it.
func New(opt Options) *Daemon {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Rules == nil {
		opt.Rules = rules.Default()
	}
	return &Daemon{opt: opt, log: opt.Log, now: opt.Now, dir: opt.StateDir, reportSem: make(chan struct{}, ReportConcurrency)}
}

// Start prepares state, sinks and the HTTP listener for cfg.
func (d *Daemon) Start(ctx context.Context, cfg *config.Config) error {
	d.started = d.now()
	d.rng = rand.New(rand.NewSource(d.started.UnixNano()))
	if err := os.MkdirAll(d.dir, 0o755); err != nil {
		return fmt.Errorf("state directory: %w", err)
	}
	// The Zabbix agent reads snapshot.json as its own user: a directory
	// made private (by an older `diskwatch check`, or by hand) hides it.
	if st, err := os.Stat(d.dir); err == nil && st.Mode().Perm()&0o005 != 0o005 {
		d.log.Warn().Str("state", d.dir).Str("mode", fmt.Sprintf("%04o", st.Mode().Perm())).
			Msg("state directory not readable by other users: Zabbix items cannot read snapshot.json and say 'permission denied' (chmod 0755 it; the files that must stay private are 0600)")
	}
	d.sources = &assemble.Host{FS: d.opt.FS, StateDir: d.dir, Now: d.now}
	d.self.failures = map[string]int{}
	d.tracker = lifecycle.New(assemble.Policy(cfg))
	sp := filepath.Join(d.dir, AlertStateFile)
	if err := d.tracker.Load(sp); err != nil {
		aside := sp + ".corrupt-" + d.started.UTC().Format("20060102T150405")
		os.Rename(sp, aside)
		d.log.Error().Err(err).Str("moved_to", aside).Msg("alert state unreadable: moved aside, starting with no alerts remembered")
		d.tracker = lifecycle.New(assemble.Policy(cfg))
	}
	ob, err := notify.OpenOutbox(filepath.Join(d.dir, QueueDir), d.log.With().Str("part", "notify").Logger(), d.now)
	if err != nil {
		return err
	}
	d.outbox = ob
	// Messages queued (or delivered) after the alert state was last
	// saved: the state takes them in, so they are neither lost nor
	// announced again under a new id.
	if pend := ob.Pending(); len(pend) > 0 {
		for _, m := range pend {
			d.tracker.Adopt(m.Kind, m.Time, m.Alert)
		}
		d.log.Info().Int("messages", len(pend)).Msg("notification queue: messages of the last run taken into the alert state")
	}
	if !d.opt.NoHistory {
		st, err := history.Open(ctx, d.dir, history.Options{Log: d.log})
		if err != nil {
			d.log.Error().Err(err).Msg("history store unavailable: trend rules see no history this run")
		} else {
			d.store = st
			// While the daemon owns the store, report, ack and check use it
			// through the control socket (package control says why).
			cctx, cancel := context.WithCancel(context.Background())
			srv, err := control.Serve(cctx, d.dir, st, func() any { return d.latest.Load() })
			if err != nil {
				d.log.Error().Err(err).Msg("control socket not served: report, ack and check --state wait for the store while the daemon runs")
			}
			d.stopControl = func() {
				cancel()
				if srv != nil {
					srv.Close() // before the store closes
				}
			}
		}
	}
	if err := d.apply(cfg); err != nil {
		return err
	}
	d.serveHTTP(cfg)
	return nil
}

// apply installs a validated configuration: collectors, sinks, policy.
func (d *Daemon) apply(cfg *config.Config) error {
	sinks, err := assemble.Sinks(cfg, d.log)
	if err != nil {
		return err
	}
	if err := d.outbox.SetSinks(sinks, assemble.LegacySinkNames(cfg)); err != nil {
		return err
	}
	host := cfg.Notify.Host
	if host == "" {
		host, _ = os.Hostname()
	}
	d.cfg, d.host = cfg, host
	d.sched = nil
	for _, n := range d.sources.Sources(cfg) {
		d.sched = append(d.sched, &scheduled{inner: n, interval: cfg.Daemon.CollectorInterval(n.Name)})
	}
	d.tracker.SetPolicy(assemble.Policy(cfg))
	return nil
}

func (d *Daemon) interval() time.Duration {
	if d.cfg != nil {
		return d.cfg.Daemon.Tick()
	}
	return config.DefaultInterval
}

// intervals says how often each collector runs: "smart=30m mdraid=1m ...".
func (d *Daemon) intervals() string {
	var parts []string
	for _, s := range d.sched {
		iv := s.interval.String()
		if strings.HasSuffix(iv, "m0s") {
			iv = strings.TrimSuffix(iv, "0s")
		}
		if strings.HasSuffix(iv, "h0m") {
			iv = strings.TrimSuffix(iv, "0m")
		}
		parts = append(parts, s.inner.Name+"="+iv)
	}
	return strings.Join(parts, " ")
}

func (d *Daemon) concurrency() int {
	if d.cfg.Daemon.Concurrency > 0 {
		return d.cfg.Daemon.Concurrency
	}
	return 2
}

// ReadyWithin is the longest the daemon waits for its first round before
// telling systemd it is ready.
var ReadyWithin = 30 * time.Second

// Run is the main loop: rounds on a ticker, reload on SIGHUP, watchdog
// pets while rounds finish in time, graceful stop when ctx ends.
func (d *Daemon) Run(ctx context.Context) error {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	var wdTick <-chan time.Time
	if wd, err := sddaemon.SdWatchdogEnabled(false); err == nil && wd > 0 {
		t := time.NewTicker(wd / 2)
		defer t.Stop()
		wdTick = t.C
		d.log.Info().Dur("every", wd/2).Msg("systemd watchdog enabled")
	}
	tick := time.NewTicker(d.interval())
	defer tick.Stop()

	roundDone := make(chan struct{}, 1)
	running := false
	var roundStart time.Time
	reloadPending := false
	startRound := func() {
		running = true
		roundStart = time.Now()
		go func() {
			d.round(ctx)
			roundDone <- struct{}{}
		}()
	}
	startRound()
	ready := false
	becomeReady := func(why string) {
		if ready {
			return
		}
		ready = true
		sddaemon.SdNotify(false, sddaemon.SdNotifyReady)
		d.log.Info().Str("state", d.dir).Int("collectors", len(d.sched)).Str("intervals", d.intervals()).Str("after", why).Msg("diskwatch daemon ready")
	}
	// Ready after the first round, or after ReadyWithin if it is slow
	// (hardware RAID tools, many disks): start-up stays well inside
	// systemd's start timeout (90 s by default), and the first round goes
	// on meanwhile.
	readyT := time.NewTimer(ReadyWithin)
	defer readyT.Stop()
	for {
		select {
		case <-readyT.C:
			if !ready {
				d.log.Warn().Dur("running_for", time.Since(roundStart)).Msg("first round still running; ready now, its results come when it ends")
			}
			becomeReady("first round still running")
		case <-ctx.Done():
			if running {
				<-roundDone
			}
			return d.stop()
		case <-roundDone:
			running = false
			becomeReady("first round")
			sddaemon.SdNotify(false, sddaemon.SdNotifyWatchdog)
			if reloadPending {
				reloadPending = false
				d.reload(tick)
			}
			if d.opt.Rounds > 0 && d.rounds >= uint64(d.opt.Rounds) {
				return d.stop()
			}
		case <-tick.C:
			if !running {
				startRound()
			}
		case <-hup:
			if running {
				reloadPending = true
			} else {
				d.reload(tick)
			}
		case <-wdTick:
			// A wedged round stops the petting: systemd then restarts
			// us. Every collector is abandoned at its timeout and the
			// round's context ends at roundTimeout, so a round still
			// running 30 s after that is stuck outside the collectors.
			if !running || time.Since(roundStart) < d.roundTimeout()+30*time.Second {
				sddaemon.SdNotify(false, sddaemon.SdNotifyWatchdog)
			} else {
				d.log.Error().Dur("running_for", time.Since(roundStart)).Msg("round is stuck; not petting the watchdog")
			}
		}
	}
}

// reload validates the configuration file first; a bad one keeps the
// running configuration and says why.
func (d *Daemon) reload(tick *time.Ticker) {
	sddaemon.SdNotify(false, sddaemon.SdNotifyReloading)
	defer sddaemon.SdNotify(false, sddaemon.SdNotifyReady)
	if d.opt.Load == nil {
		return
	}
	cfg, err := d.opt.Load()
	if err == nil {
		err = sinklessReload(d.cfg, cfg)
	}
	if err == nil {
		err = d.apply(cfg)
	}
	if err != nil {
		d.log.Error().Str("error", oneLine(err.Error())).Msg("configuration reload failed; keeping the running configuration")
		return
	}
	tick.Reset(d.interval())
	d.log.Info().Int("collectors", len(d.sched)).Msg("configuration reloaded")
}

// roundTimeout is how long a round may take: the longest collector timeout
// per wave of daemon.concurrency collectors, plus 10 s.
func (d *Daemon) roundTimeout() time.Duration {
	var longest time.Duration
	for _, s := range d.sched {
		if t := s.timeout(); t > longest {
			longest = t
		}
	}
	conc := d.concurrency()
	waves := (len(d.sched) + conc - 1) / conc
	if waves < 1 {
		waves = 1
	}
	return longest*time.Duration(waves) + 10*time.Second
}

// Round runs one round now, outside Run's schedule (the soak test drives
// rounds with its own clock).
func (d *Daemon) Round(ctx context.Context) { d.round(ctx) }

// Latest returns the snapshot of the last finished round (nil before one).
func (d *Daemon) Latest() *snapshot.Doc { return d.latest.Load() }

// Stop flushes notifications, saves state and closes what Start opened,
// for a daemon driven by Round instead of Run.
func (d *Daemon) Stop() error { return d.stop() }

// round runs one engine cycle over the scheduled collectors, updates the
// alert lifecycle, hands events to the notifier and publishes the
// snapshot.
func (d *Daemon) round(ctx context.Context) {
	d.rounds++
	round := d.rounds
	eng := &engine.Engine{Collect: func(ctx context.Context, now time.Time) *model.Snapshot { return d.collect(ctx, now, round) },
		Rules: d.opt.Rules, Settings: &d.cfg.Settings, Now: d.now, Log: d.log}
	if d.store != nil {
		eng.Store = freshStore{d: d, st: d.store, round: round}
		eng.History = d.store
	}
	rctx, cancel := context.WithTimeout(ctx, d.roundTimeout())
	res := eng.Cycle(rctx)
	cancel()
	if ctx.Err() != nil {
		// Stopping: collectors were cut short; what they did not read
		// must not look like recovered.
		d.log.Info().Msg("round interrupted by shutdown; not evaluated")
		return
	}
	d.runSelfTests(ctx)
	now := res.Snapshot.Time
	res.Snapshot.Host = d.host

	findings := append(res.Findings, d.self.evaluate(res.Snapshot.Sources, d.ranIn(round), d.cfg.Daemon.SelfAlertAfter)...)
	findings = append(findings, d.outbox.Findings()...)
	rules.Sort(findings)
	unseen := d.unseen(res.Snapshot)
	evs := d.tracker.UpdateExcept(now, findings, func(id string) bool { return unseen[id] })
	// The messages reach every sink's queue on disk before the state
	// that says they were notified is saved; the sinks' workers deliver.
	if len(evs) > 0 {
		msgs := make([]notify.Message, len(evs))
		for i, ev := range evs {
			msgs[i] = notify.FromEvent(d.host, ev)
		}
		if err := d.outbox.Enqueue(msgs); err != nil {
			d.log.Error().Err(err).Int("messages", len(msgs)).Msg("notification queue not written: messages kept in memory")
		}
	}
	if err := d.tracker.Save(filepath.Join(d.dir, AlertStateFile)); err != nil {
		d.log.Error().Err(err).Msg("alert state not saved")
	} else {
		d.outbox.Checkpoint()
	}
	doc := &snapshot.Doc{Written: now, Host: d.host, Status: rules.Overall(findings), Snapshot: res.Snapshot,
		Findings: findings, Alerts: d.tracker.Active(), Daemon: &snapshot.Daemon{
			PID: os.Getpid(), Started: d.started, Rounds: round, Interval: d.interval(),
			QueuedNotifications: d.outbox.Len(), CollectorFailures: d.self.counts()}}
	if err := snapshot.Write(filepath.Join(d.dir, snapshot.FileName), doc); err != nil {
		d.log.Error().Err(err).Msg("snapshot not written (Zabbix items fall back to reading devices)")
	}
	d.latest.Store(doc)
	d.heartbeat(ctx, now)
}

// heartbeat tells an outside monitor the daemon is alive, at most every
// heartbeat.interval (default 5 min), after a completed round.
func (d *Daemon) heartbeat(ctx context.Context, now time.Time) {
	hb := d.cfg.Daemon.Heartbeat
	if hb.URL == "" && len(hb.Command) == 0 {
		return
	}
	iv := hb.Interval
	if iv <= 0 {
		iv = 5 * time.Minute
	}
	if !d.lastHeartbeat.IsZero() && now.Sub(d.lastHeartbeat) < iv {
		return
	}
	d.lastHeartbeat = now
	go func() {
		hctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		var err error
		if hb.URL != "" {
			var req *http.Request
			req, err = http.NewRequestWithContext(hctx, http.MethodGet, hb.URL, nil)
			if err == nil {
				var resp *http.Response
				resp, err = http.DefaultClient.Do(req)
				if err == nil {
					resp.Body.Close()
					if resp.StatusCode/100 != 2 {
						err = errors.New(resp.Status)
					}
				}
			}
			if err != nil {
				err = notify.RedactedError(fmt.Errorf("heartbeat %s: %w", notify.SafeURL(hb.URL), unwrapURL(err)), hb.URL)
			}
		} else {
			err = execx.Cmd{Name: hb.Command[0], Args: hb.Command[1:], Timeout: 20 * time.Second}.Run(hctx)
		}
		if err != nil {
			d.log.Warn().Err(err).Msg("heartbeat failed")
		}
	}()
}

func unwrapURL(err error) error {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) && strings.HasPrefix(err.Error(), "Get ") {
		return ue.Unwrap()
	}
	return err
}

// stop flushes pending notifications within flush_timeout and saves the
// state.
func (d *Daemon) stop() error {
	sddaemon.SdNotify(false, sddaemon.SdNotifyStopping)
	ft := d.cfg.Daemon.FlushTimeout
	if ft <= 0 {
		ft = 15 * time.Second
	}
	// Each sink's worker finishes the delivery in progress (within
	// flush_timeout); everything undelivered is in the queue on disk.
	fctx, cancel := context.WithTimeout(context.Background(), ft)
	remaining := d.outbox.Close(fctx)
	cancel()
	if err := d.tracker.Save(filepath.Join(d.dir, AlertStateFile)); err != nil {
		d.log.Error().Err(err).Msg("alert state not saved")
	} else {
		d.outbox.Checkpoint()
	}
	if d.httpSrv != nil {
		sctx, c2 := context.WithTimeout(context.Background(), 2*time.Second)
		d.httpSrv.Shutdown(sctx)
		c2()
	}
	if d.stopControl != nil {
		d.stopControl()
	}
	if d.store != nil {
		d.store.Close()
	}
	d.sources.Close()
	d.log.Info().Int("queued_remaining", remaining).Msg("diskwatch daemon stopped")
	return nil
}

// oneLine keeps a log field a single line.
func oneLine(s string) string {
	return strings.NewReplacer("\n", " ", "\r", " ").Replace(s)
}

// sinklessReload refuses a reload that would remove every notification
// sink of the running configuration (an emptied or truncated file reads as
// the defaults, which have none) unless the new one says so with
// notify.allow_no_sinks.
func sinklessReload(running, next *config.Config) error {
	count := func(c *config.Config) int {
		n := c.Notify
		k := len(n.Email) + len(n.Webhook) + len(n.Exec) + len(n.Alertmanager)
		if n.Syslog != nil && (n.Syslog.Enabled == nil || *n.Syslog.Enabled) {
			k++
		}
		return k
	}
	if running == nil || count(running) == 0 || count(next) > 0 || next.Notify.AllowNoSinks {
		return nil
	}
	return fmt.Errorf("the new configuration has no notification sink (the running one has %d): an emptied or truncated file? Set notify.allow_no_sinks: true to run with the log alone", count(running))
}
