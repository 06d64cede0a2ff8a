package daemon

import (
	"context"
	"sync"
	"time"

	"github.com/diskwatch/diskwatch/alerts/history"
	"github.com/diskwatch/diskwatch/collectors"
	"github.com/diskwatch/diskwatch/collectors/model"
)

// scheduled is one collector with its own interval (with jitter). Between
// runs its last result is replayed, so every round evaluates a whole
// snapshot. Its timeout and panic are contained by collectors.RunEach,
// nowhere else.
type scheduled struct {
	inner    collectors.Named
	interval time.Duration

	mu       sync.Mutex
	last     *model.Snapshot // with its source status
	lastGood *model.Snapshot // the last run that read something
	next     time.Time
	ranRound uint64 // the last round it really ran in
}

func (s *scheduled) timeout() time.Duration {
	if s.inner.Timeout > 0 {
		return s.inner.Timeout
	}
	return 30 * time.Second
}

// due reports whether the collector runs at now: never run yet, or due
// within half a scheduler tick (a run lands on the tick nearest its time
// instead of slipping to the next one).
func (s *scheduled) due(now time.Time, tick time.Duration) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last == nil || !now.Before(s.next.Add(-tick/2))
}

// ran records a run's result and schedules the next one.
func (s *scheduled) ran(part *model.Snapshot, round uint64, now time.Time, random func() float64, jitter float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.last, s.ranRound = part, round
	failed := false
	for _, st := range part.Sources {
		failed = failed || st.State == model.SourceFailed
	}
	if !failed {
		s.lastGood = part
	}
	if s.next.IsZero() || now.Sub(s.next) > s.interval {
		// First run (or after a long stall): a random phase within
		// ±jitter of the interval spreads collectors apart.
		delta := time.Duration((random()*2 - 1) * jitter * float64(s.interval))
		s.next = now.Add(s.interval + delta)
	} else {
		// Then keep the phase: runs stay one interval apart and never
		// slip a whole scheduler tick.
		s.next = s.next.Add(s.interval)
	}
}

// collect runs the collectors due at now (at most daemon.concurrency at a
// time) and merges their fresh results with the others' last ones.
func (d *Daemon) collect(ctx context.Context, now time.Time, round uint64) *model.Snapshot {
	var due []*scheduled
	var set []collectors.Named
	for _, s := range d.sched {
		if s.due(now, d.interval()) {
			due = append(due, s)
			set = append(set, s.inner)
		}
	}
	parts := collectors.RunEach(ctx, set, d.concurrency())
	for i, s := range due {
		s.ran(parts[i], round, now, d.random, d.jitter())
	}
	var all []*model.Snapshot
	for _, s := range d.sched {
		s.mu.Lock()
		if s.last != nil {
			all = append(all, s.last)
		}
		s.mu.Unlock()
	}
	return collectors.Merge(now, all)
}

// random returns a number in [0, 1).
func (d *Daemon) random() float64 {
	d.rngMu.Lock()
	defer d.rngMu.Unlock()
	return d.rng.Float64()
}

func (d *Daemon) jitter() float64 {
	if d.cfg.Daemon.Jitter != nil {
		return *d.cfg.Daemon.Jitter
	}
	return 0.1
}

// ranIn lists the collectors that really ran in round.
func (d *Daemon) ranIn(round uint64) map[string]bool {
	ran := map[string]bool{}
	for _, s := range d.sched {
		s.mu.Lock()
		if s.ranRound == round {
			ran[s.inner.Name] = true
		}
		s.mu.Unlock()
	}
	return ran
}

// unseen lists the subjects (sample subjects: array names, disk
// identities, UPS names, sensor IDs) of collectors that failed this round,
// from their last good reading: their alerts are held, not resolved.
func (d *Daemon) unseen(s *model.Snapshot) map[string]bool {
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

// freshStore appends only the readings collected in this round (not the
// replayed ones) to the history store.
type freshStore struct {
	d     *Daemon
	st    *history.Store
	round uint64
}

// Append implements engine.Store.
func (f freshStore) Append(ctx context.Context, t time.Time, samples []model.Sample) error {
	keep := map[string]bool{}
	for _, s := range f.d.sched {
		s.mu.Lock()
		if s.ranRound == f.round && s.last != nil {
			for _, x := range s.last.Samples() {
				keep[x.Subject] = true
			}
		}
		s.mu.Unlock()
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
