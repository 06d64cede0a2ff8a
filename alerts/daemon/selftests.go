package daemon

import (
	"context"
	"errors"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"

	"github.com/diskwatch/diskwatch/alerts/config"
	"github.com/diskwatch/diskwatch/alerts/selftest"
	"github.com/diskwatch/diskwatch/collectors/model"
	"github.com/diskwatch/diskwatch/collectors/smart"
)

// selfTestFile is where the daemon remembers, per disk and test kind, the
// latest scheduled self-test it started.
const selfTestFile = "selftests.json"

// startSelfTest starts a self-test on a device: smart.StartSelfTest, or a
// fake in tests.
type startSelfTest func(ctx context.Context, dev, kind string, timeout time.Duration) (string, error)

// selfTester starts the self-tests scheduled in collectors.smart.self_tests
// on the disks the smart collector reads, one round at a time.
type selfTester struct {
	path  string
	loc   *time.Location // the zone schedule times are in
	start startSelfTest
	log   zerolog.Logger

	state *selftest.State
	// ids maps a device path to the identity it had when last read
	// awake: a disk skipped in standby is known only by its path.
	ids map[string]string
	// waiting holds, per disk and kind, the slot already logged as
	// waiting (asleep, a test running), so it is logged once at info.
	waiting map[string]time.Time
}

func newSelfTester(d *Daemon) *selfTester {
	fs := d.opt.FS
	return &selfTester{
		path: filepath.Join(d.dir, selfTestFile), loc: time.Local, log: d.log.With().Str("part", "selftest").Logger(),
		start: func(ctx context.Context, dev, kind string, timeout time.Duration) (string, error) {
			return smart.StartSelfTest(ctx, fs, dev, kind, timeout)
		},
	}
}

// runSelfTests starts the self-tests due now on the disks of the smart
// collector's last reading.
func (d *Daemon) runSelfTests(ctx context.Context) {
	sm := d.cfg.Collectors.Smart
	if sm.SelfTests.Plan(nil).IsZero() {
		return
	}
	if d.selfTests == nil {
		d.selfTests = newSelfTester(d)
	}
	var disks []model.Disk
	for _, s := range d.sched {
		if s.inner.Name == "smart" {
			s.mu.Lock()
			if s.lastGood != nil {
				disks = s.lastGood.Disks
			}
			s.mu.Unlock()
		}
	}
	d.selfTests.round(ctx, sm.SelfTests, sm.Timeout, d.now(), disks)
}

// round starts, on each disk, the test due at now (a long one before a
// short one; one test per disk), and saves the state when anything was
// started or given up on.
func (st *selfTester) round(ctx context.Context, cfg config.SelfTests, timeout time.Duration, now time.Time, disks []model.Disk) {
	plan := cfg.Plan(st.loc)
	if st.state == nil {
		s, err := selftest.Load(st.path)
		if err != nil {
			st.log.Error().Str("error", model.Clean(err.Error())).Msg("self-test state unreadable: starting afresh (a test of the latest slot may run again)")
		}
		st.state, st.ids, st.waiting = s, map[string]string{}, map[string]time.Time{}
	}
	only := map[string]bool{}
	for _, p := range cfg.Devices {
		only[p] = true
	}
	changed := false
	for _, d := range disks {
		path := d.Device.Path
		if path == "" || (len(only) > 0 && !only[path]) {
			continue
		}
		id := d.Device.ID()
		switch {
		case d.Skipped != "":
			// Not read (standby): the identity is the one it had awake.
			if id = st.ids[path]; id == "" {
				continue
			}
		case !d.SMARTAvailable:
			continue // no SMART, no self-tests
		default:
			st.ids[path] = id
		}
		recs := st.state.Disk(id)
		kind, slot := plan.Due(now, recs)
		if kind == "" {
			continue
		}
		ev := func(e *zerolog.Event) *zerolog.Event {
			return e.Str("device", model.Clean(path)).Str("disk", model.Clean(id)).Str("test", kind).Time("slot", slot)
		}
		msg, err := st.start(ctx, path, kind, timeout)
		switch {
		case err == nil:
			plan.Settle(recs, kind, slot, now, "")
			changed = true
			ev(st.log.Info()).Msg("self-test started: " + model.Clean(msg))
		case errors.Is(err, smart.ErrAsleep) || errors.Is(err, smart.ErrSelfTestRunning):
			key := id + "\x00" + kind
			e := st.log.Debug()
			if !st.waiting[key].Equal(slot) {
				st.waiting[key], e = slot, st.log.Info()
			}
			ev(e).Str("reason", model.Clean(err.Error())).Msg("self-test not started now: retried next round")
		case ctx.Err() != nil:
			return // stopping; nothing settled
		default:
			plan.Settle(recs, kind, slot, now, model.Clean(err.Error()))
			changed = true
			ev(st.log.Warn()).Str("error", model.Clean(err.Error())).Msg("self-test could not be started: not retried before its next time")
		}
	}
	if !changed {
		return
	}
	st.state.Prune(now.AddDate(0, 0, -90))
	if err := st.state.Save(st.path); err != nil {
		st.log.Error().Str("error", model.Clean(err.Error())).Msg("self-test state not saved: a restart may start the same test again")
	}
}
