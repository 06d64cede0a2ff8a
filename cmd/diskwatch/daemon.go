package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	sddaemon "github.com/coreos/go-systemd/v22/daemon"
	"github.com/rs/zerolog"

	"github.com/diskwatch/diskwatch/alerts/assemble"
	"github.com/diskwatch/diskwatch/alerts/assemble/locate"
	"github.com/diskwatch/diskwatch/alerts/config"
	"github.com/diskwatch/diskwatch/alerts/engine"
	"github.com/diskwatch/diskwatch/alerts/history"
	"github.com/diskwatch/diskwatch/alerts/lifecycle"
	"github.com/diskwatch/diskwatch/alerts/notify"
	"github.com/diskwatch/diskwatch/alerts/output/prom"
	"github.com/diskwatch/diskwatch/alerts/output/snapshot"
	"github.com/diskwatch/diskwatch/alerts/rules"
	"github.com/diskwatch/diskwatch/collectors"
	"github.com/diskwatch/diskwatch/collectors/execx"
	"github.com/diskwatch/diskwatch/collectors/model"
)

// DefaultMetricsListen is where /metrics is served unless configured: the
// Prometheus exporter port list has no free 9xxx entry left, 9847 is not
// used by any exporter we know of.
const DefaultMetricsListen = "127.0.0.1:9847"

// Files in the state directory.
const (
	alertStateFile = "alerts.json"
	queueDir       = "queue"
)

func runDaemon(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("daemon", flag.ContinueOnError)
	var c common
	c.register(fs, e)
	stateDir := fs.String("state", e.getenv("DISKWATCH_STATE"), "state `DIR`: history, alert state, notification queue, snapshot (default daemon.state_dir, else "+locate.DefaultStateDir+"; env DISKWATCH_STATE)")
	listen := fs.String("metrics-listen", "", "serve Prometheus /metrics on `ADDR` (overrides daemon.metrics_listen; \"off\" disables)")
	rounds := fs.Int("rounds", 0, "stop after `N` rounds (0: run until SIGTERM); for tests and trials")
	noHistory := fs.Bool("no-history", false, "do not open the history store")
	if code, ok := parse(fs, args, e); !ok {
		return code
	}
	explicitLevel := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "log-level" || f.Name == "verbose" {
			explicitLevel = true
		}
	})
	if !explicitLevel {
		c.logLevel = "info"
	}
	if e.getenv("GOGC") == "" {
		// The daemon's live heap is small and long-lived: collecting at
		// 50 % growth instead of Go's 100 % keeps about 1.5 MiB less
		// resident (measured by `make soak`) for little CPU.
		debug.SetGCPercent(50)
	}
	log := c.logger(e)
	rs := rules.Default()
	cfg, err := c.loadConfig(rs)
	if err != nil {
		fmt.Fprintf(e.stderr, "diskwatch daemon: %v\n", err)
		return exitUnknown
	}
	d := &daemon{c: c, e: e, log: log, rs: rs, stateFlag: *stateDir, listenFlag: *listen, maxRounds: *rounds, noHistory: *noHistory}
	if err := d.start(ctx, cfg); err != nil {
		fmt.Fprintf(e.stderr, "diskwatch daemon: %v\n", err)
		return exitUnknown
	}
	return d.run(ctx)
}

// daemon is the long-running watcher.
type daemon struct {
	c          common
	e          *env
	log        zerolog.Logger
	rs         *rules.Set
	stateFlag  string
	listenFlag string
	maxRounds  int
	noHistory  bool

	cfg      *config.Config
	dir      string
	sources  *assemble.Host
	host     string
	started  time.Time
	rounds   uint64
	sched    []*scheduled
	sem      chan struct{}
	failures map[string]int
	tracker  *lifecycle.Tracker
	store    *history.Store
	latest   atomic.Pointer[snapshot.Doc]
	rngMu    sync.Mutex // collectors run concurrently
	rng      *rand.Rand

	dmu   sync.Mutex // guards disp
	disp  *notify.Dispatcher
	msgs  chan []notify.Message
	wdone chan struct{}

	metricsSrv    *http.Server
	lastHeartbeat time.Time
	selfTests     *selfTester // scheduled SMART self-tests (selftests.go)
}

// start prepares state, sinks and the metrics listener.
func (d *daemon) start(ctx context.Context, cfg *config.Config) error {
	d.started = d.e.now()
	d.rng = rand.New(rand.NewSource(d.started.UnixNano()))
	d.dir = assemble.StateDir(d.stateFlag, nil, cfg)
	d.sources = d.c.host(d.e, d.dir)
	if err := os.MkdirAll(d.dir, 0o755); err != nil {
		return fmt.Errorf("state directory: %w", err)
	}
	d.failures = map[string]int{}
	d.tracker = lifecycle.New(assemble.Policy(cfg))
	sp := filepath.Join(d.dir, alertStateFile)
	if err := d.tracker.Load(sp); err != nil {
		aside := sp + ".corrupt-" + d.started.UTC().Format("20060102T150405")
		os.Rename(sp, aside)
		d.log.Error().Err(err).Str("moved_to", aside).Msg("alert state unreadable: moved aside, starting with no alerts remembered")
		d.tracker = lifecycle.New(assemble.Policy(cfg))
	}
	if !d.noHistory {
		st, err := history.Open(ctx, d.dir, history.Options{Log: d.log})
		if err != nil {
			d.log.Error().Err(err).Msg("history store unavailable: trend rules see no history this run")
		} else {
			d.store = st
		}
	}
	q, err := notify.OpenQueue(filepath.Join(d.dir, queueDir))
	if err != nil {
		return err
	}
	if err := d.apply(cfg, q); err != nil {
		return err
	}
	d.msgs = make(chan []notify.Message, 64)
	d.wdone = make(chan struct{})
	go d.notifyWorker()
	d.serveMetrics(cfg)
	return nil
}

// apply installs a validated configuration: collectors, sinks, policy.
func (d *daemon) apply(cfg *config.Config, q *notify.Queue) error {
	sinks, err := assemble.Sinks(cfg, d.log)
	if err != nil {
		return err
	}
	host := cfg.Notify.Host
	if host == "" {
		host, _ = os.Hostname()
	}
	conc := cfg.Daemon.Concurrency
	if conc <= 0 {
		conc = 2
	}
	d.cfg, d.host = cfg, host
	d.sem = make(chan struct{}, conc)
	d.sched = nil
	for _, n := range d.sources.Sources(cfg) {
		iv := cfg.Daemon.Collectors[n.Name]
		if iv <= 0 {
			iv = d.interval()
		}
		d.sched = append(d.sched, &scheduled{d: d, inner: n, interval: iv})
	}
	d.tracker.SetPolicy(assemble.Policy(cfg))
	d.dmu.Lock()
	if q == nil && d.disp != nil {
		q = d.disp.Queue
	}
	d.disp = &notify.Dispatcher{Sinks: sinks, Queue: q, Log: d.log.With().Str("part", "notify").Logger(), Now: d.e.now}
	d.dmu.Unlock()
	return nil
}

func (d *daemon) interval() time.Duration {
	if d.cfg != nil && d.cfg.Daemon.Interval > 0 {
		return d.cfg.Daemon.Interval
	}
	return 60 * time.Second
}

// random returns a number in [0, 1).
func (d *daemon) random() float64 {
	d.rngMu.Lock()
	defer d.rngMu.Unlock()
	return d.rng.Float64()
}

func (d *daemon) jitter() float64 {
	if d.cfg.Daemon.Jitter != nil {
		return *d.cfg.Daemon.Jitter
	}
	return 0.1
}

func (d *daemon) dispatcher() *notify.Dispatcher {
	d.dmu.Lock()
	defer d.dmu.Unlock()
	return d.disp
}

// notifyWorker delivers messages off the main loop, and retries the queue
// every 30 s. It ends when d.msgs is closed and drained.
func (d *daemon) notifyWorker() {
	defer close(d.wdone)
	ctx := context.Background()
	// What a previous run left queued goes first.
	d.dispatcher().Retry(ctx, false)
	t := time.NewTicker(30 * time.Second)
	defer t.Stop()
	for {
		select {
		case ms, ok := <-d.msgs:
			if !ok {
				return
			}
			d.dispatcher().Send(ctx, ms)
		case <-t.C:
			d.dispatcher().Retry(ctx, false)
		}
	}
}

func (d *daemon) serveMetrics(cfg *config.Config) {
	addr := DefaultMetricsListen
	if cfg.Daemon.MetricsListen != nil {
		addr = *cfg.Daemon.MetricsListen
	}
	if d.listenFlag != "" {
		addr = d.listenFlag
	}
	if addr == "" || addr == "off" {
		return
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		d.log.Error().Err(err).Str("listen", addr).Msg("Prometheus /metrics not served")
		return
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", prom.Handler(d.latest.Load))
	mux.HandleFunc("/report", d.serveReport)
	// As Prometheus' own components: /-/healthy while the process serves,
	// /-/ready once the first round has published readings.
	mux.HandleFunc("/-/healthy", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "diskwatch is Healthy.")
	})
	mux.HandleFunc("/-/ready", func(w http.ResponseWriter, _ *http.Request) {
		if d.latest.Load() == nil {
			http.Error(w, "diskwatch is not ready: the first round is running.", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "diskwatch is Ready.")
	})
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "diskwatch: metrics at /metrics, health report at /report, /-/healthy, /-/ready")
	})
	d.metricsSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go d.metricsSrv.Serve(ln)
	d.log.Info().Str("listen", ln.Addr().String()).Msg("serving Prometheus /metrics")
}

// run is the main loop: rounds on a ticker, reload on SIGHUP, watchdog
// pets while rounds finish in time, graceful stop on SIGTERM.
func (d *daemon) run(ctx context.Context) int {
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
	for {
		select {
		case <-ctx.Done():
			if running {
				<-roundDone
			}
			return d.stop()
		case <-roundDone:
			running = false
			if !ready {
				ready = true
				sddaemon.SdNotify(false, sddaemon.SdNotifyReady)
				d.log.Info().Str("state", d.dir).Int("collectors", len(d.sched)).Msg("diskwatch daemon ready")
			}
			sddaemon.SdNotify(false, sddaemon.SdNotifyWatchdog)
			if reloadPending {
				reloadPending = false
				d.reload(tick)
			}
			if d.maxRounds > 0 && d.rounds >= uint64(d.maxRounds) {
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
			// A wedged round stops the petting: systemd then restarts us.
			if !running || time.Since(roundStart) < d.roundTimeout()*2 {
				sddaemon.SdNotify(false, sddaemon.SdNotifyWatchdog)
			} else {
				d.log.Error().Dur("running_for", time.Since(roundStart)).Msg("round is stuck; not petting the watchdog")
			}
		}
	}
}

// reload validates the configuration file first; a bad one keeps the
// running configuration and says why.
func (d *daemon) reload(tick *time.Ticker) {
	sddaemon.SdNotify(false, sddaemon.SdNotifyReloading)
	defer sddaemon.SdNotify(false, sddaemon.SdNotifyReady)
	cfg, err := d.c.loadConfig(d.rs)
	if err == nil {
		err = d.apply(cfg, nil)
	}
	if err != nil {
		d.log.Error().Str("error", oneLine(err.Error())).Msg("configuration reload failed; keeping the running configuration")
		return
	}
	tick.Reset(d.interval())
	d.log.Info().Int("collectors", len(d.sched)).Msg("configuration reloaded")
}

func (d *daemon) roundTimeout() time.Duration {
	var longest time.Duration
	for _, s := range d.sched {
		if t := s.timeout(); t > longest {
			longest = t
		}
	}
	conc := cap(d.sem)
	if conc < 1 {
		conc = 1
	}
	waves := (len(d.sched) + conc - 1) / conc
	if waves < 1 {
		waves = 1
	}
	return longest*time.Duration(waves) + 10*time.Second
}

// round runs one engine cycle over the scheduled collectors, updates the
// alert lifecycle, hands events to the notifier and publishes the
// snapshot.
func (d *daemon) round(ctx context.Context) {
	d.rounds++
	round := d.rounds
	var srcs []collectors.Named
	for _, s := range d.sched {
		s.round = round
		srcs = append(srcs, collectors.Named{Name: s.inner.Name, Collector: s, Timeout: d.roundTimeout()})
	}
	eng := &engine.Engine{Sources: srcs, Rules: d.rs, Settings: &d.cfg.Settings, Now: d.e.now, Log: d.log}
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

	findings := append(res.Findings, d.selfFindings(res.Snapshot, round)...)
	rules.Sort(findings)
	unseen := d.unseen(res.Snapshot, round)
	evs := d.tracker.UpdateExcept(now, findings, func(id string) bool { return unseen[id] })
	if err := d.tracker.Save(filepath.Join(d.dir, alertStateFile)); err != nil {
		d.log.Error().Err(err).Msg("alert state not saved")
	}
	if len(evs) > 0 {
		msgs := make([]notify.Message, len(evs))
		for i, ev := range evs {
			msgs[i] = notify.FromEvent(d.host, ev)
		}
		select {
		case d.msgs <- msgs:
		default:
			// The sender is behind (slow sinks): park these on disk
			// rather than stall the round and the watchdog.
			n := d.dispatcher().Defer(msgs)
			d.log.Warn().Int("queued", n).Msg("notifier busy: events queued on disk for the next retry")
		}
	}
	doc := &snapshot.Doc{Written: now, Host: d.host, Status: rules.Overall(findings), Snapshot: res.Snapshot,
		Findings: findings, Alerts: d.tracker.Active(), Daemon: &snapshot.Daemon{
			PID: os.Getpid(), Started: d.started, Rounds: round, Interval: d.interval(),
			QueuedNotifications: d.dispatcher().Queue.Len(), CollectorFailures: copyMap(d.failures)}}
	if err := snapshot.Write(filepath.Join(d.dir, snapshot.FileName), doc); err != nil {
		d.log.Error().Err(err).Msg("snapshot not written (Zabbix items fall back to reading devices)")
	}
	d.latest.Store(doc)
	d.heartbeat(ctx, now)
}

func copyMap(m map[string]int) map[string]int {
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// unseen lists the subjects (sample subjects: array names, disk
// identities, UPS names, sensor IDs) of collectors that failed this round,
// from their last good reading: their alerts are held, not resolved.
func (d *daemon) unseen(s *model.Snapshot, round uint64) map[string]bool {
	failed := map[string]bool{}
	for _, st := range s.Sources {
		if st.State == model.SourceFailed {
			failed[st.Name] = true
		}
	}
	out := map[string]bool{}
	for _, sc := range d.sched {
		if !failed[sc.inner.Name] {
			continue
		}
		sc.mu.Lock()
		good := sc.lastGood
		sc.mu.Unlock()
		if good == nil {
			continue
		}
		for _, x := range good.Samples() {
			out[x.Subject] = true
		}
	}
	return out
}

// selfFindings counts consecutive failed runs per collector and raises a
// WARNING once a collector has failed self_alert_after runs in a row.
func (d *daemon) selfFindings(s *model.Snapshot, round uint64) []model.Finding {
	after := d.cfg.Daemon.SelfAlertAfter
	if after <= 0 {
		after = 3
	}
	ran := map[string]bool{}
	for _, sc := range d.sched {
		if sc.ranRound == round {
			ran[sc.inner.Name] = true
		}
	}
	var out []model.Finding
	for _, st := range s.Sources {
		if ran[st.Name] {
			if st.State == model.SourceFailed {
				d.failures[st.Name]++
			} else {
				d.failures[st.Name] = 0
			}
		}
		if n := d.failures[st.Name]; n >= after {
			errs := make([]string, len(st.Errors))
			for i, e := range st.Errors {
				errs[i] = model.Clean(e)
			}
			out = append(out, model.Finding{
				Severity: model.Warning, Rule: "daemon.collector_failing", Subject: "collector " + st.Name, SubjectID: "collector:" + st.Name,
				Message:  fmt.Sprintf("collector %s failed %d runs in a row: %s", st.Name, n, strings.Join(errs, "; ")),
				Remedy:   "diskwatch is blind to what this collector watches until it works again: check the errors, permissions and devices",
				Evidence: errs,
			})
		}
	}
	return out
}

// heartbeat tells an outside monitor the daemon is alive, at most every
// heartbeat.interval (default 5 min), after a completed round.
func (d *daemon) heartbeat(ctx context.Context, now time.Time) {
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
func (d *daemon) stop() int {
	sddaemon.SdNotify(false, sddaemon.SdNotifyStopping)
	ft := d.cfg.Daemon.FlushTimeout
	if ft <= 0 {
		ft = 15 * time.Second
	}
	close(d.msgs)
	select {
	case <-d.wdone:
	case <-time.After(ft):
		d.log.Warn().Msg("stop: notifications still being sent; what is undelivered stays queued")
	}
	fctx, cancel := context.WithTimeout(context.Background(), ft)
	delivered, remaining := d.dispatcher().Retry(fctx, true)
	cancel()
	if err := d.tracker.Save(filepath.Join(d.dir, alertStateFile)); err != nil {
		d.log.Error().Err(err).Msg("alert state not saved")
	}
	if d.metricsSrv != nil {
		sctx, c2 := context.WithTimeout(context.Background(), 2*time.Second)
		d.metricsSrv.Shutdown(sctx)
		c2()
	}
	if d.store != nil {
		d.store.Close()
	}
	d.sources.Close()
	d.log.Info().Int("queued_delivered", delivered).Int("queued_remaining", remaining).Msg("diskwatch daemon stopped")
	return exitOK
}

// scheduled wraps a collector with its own interval (with jitter), the
// daemon's concurrency bound and its own timeout; between runs it replays
// its last result so every round evaluates a whole snapshot.
type scheduled struct {
	d        *daemon
	inner    collectors.Named
	interval time.Duration

	mu       sync.Mutex
	last     *model.Snapshot
	lastGood *model.Snapshot // the last run that read something
	lastErr  error
	next     time.Time
	round    uint64 // the round being collected
	ranRound uint64 // the last round it really ran in
}

func (s *scheduled) timeout() time.Duration {
	if s.inner.Timeout > 0 {
		return s.inner.Timeout
	}
	return 30 * time.Second
}

// Collect runs the collector if it is due, else replays its last result.
func (s *scheduled) Collect(ctx context.Context, out *model.Snapshot) error {
	now := s.d.e.now()
	// Due within half a scheduler tick: a run lands on the tick nearest
	// its time instead of slipping to the next one.
	s.mu.Lock()
	due := s.last == nil || !now.Before(s.next.Add(-s.d.interval()/2))
	s.mu.Unlock()
	if due {
		select {
		case s.d.sem <- struct{}{}:
		case <-ctx.Done():
			return fmt.Errorf("waiting for a collector slot: %w", ctx.Err())
		}
		part := &model.Snapshot{}
		cctx, cancel := context.WithTimeout(ctx, s.timeout())
		err := func() (err error) {
			defer func() {
				if r := recover(); r != nil {
					err = fmt.Errorf("collector %s panicked: %v", s.inner.Name, r)
				}
			}()
			return s.inner.Collector.Collect(cctx, part)
		}()
		if err == nil && cctx.Err() != nil {
			err = cctx.Err()
		}
		cancel()
		<-s.d.sem
		s.mu.Lock()
		s.last, s.lastErr, s.ranRound = part, err, s.round
		if err == nil || len(part.Arrays)+len(part.Disks)+len(part.UPS)+len(part.Sensors) > 0 {
			s.lastGood = part
		}
		if s.next.IsZero() || now.Sub(s.next) > s.interval {
			// First run (or after a long stall): a random phase within
			// ±jitter of the interval spreads collectors apart.
			delta := time.Duration((s.d.random()*2 - 1) * s.d.jitter() * float64(s.interval))
			s.next = now.Add(s.interval + delta)
		} else {
			// Then keep the phase: runs stay one interval apart and never
			// slip a whole scheduler tick.
			s.next = s.next.Add(s.interval)
		}
		s.mu.Unlock()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out.Merge(s.last)
	out.Sources = nil // collectors.Run records the status itself
	return s.lastErr
}

// fresh reports whether the collector's data was read in round.
func (s *scheduled) fresh(round uint64) *model.Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ranRound != round {
		return nil
	}
	return s.last
}

// freshStore appends only the readings collected in this round (not the
// replayed ones) to the history store.
type freshStore struct {
	d     *daemon
	st    *history.Store
	round uint64
}

func (f freshStore) Append(ctx context.Context, t time.Time, samples []model.Sample) error {
	keep := map[string]bool{}
	for _, s := range f.d.sched {
		if p := s.fresh(f.round); p != nil {
			for _, x := range p.Samples() {
				keep[x.Subject] = true
			}
		}
	}
	var out []model.Sample
	for _, x := range samples {
		if keep[x.Subject] {
			out = append(out, x)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return f.st.Append(ctx, t, out)
}
