package daemon

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/diskwatch/diskwatch/alerts/config"
	"github.com/diskwatch/diskwatch/collectors"
	"github.com/diskwatch/diskwatch/collectors/model"
)

type collectFunc func(ctx context.Context, out *model.Snapshot) error

func (f collectFunc) Collect(ctx context.Context, out *model.Snapshot) error { return f(ctx, out) }

func testDaemon(now func() time.Time, conc int, jitter float64) *Daemon {
	return &Daemon{now: now, cfg: &config.Config{Daemon: config.Daemon{Interval: time.Second, Jitter: &jitter, Concurrency: conc}},
		rng: rand.New(rand.NewSource(1)), self: selfWatch{failures: map[string]int{}}}
}

// A collector runs when due (interval ± jitter) and its last result is
// replayed in between.
func TestScheduledIntervalJitter(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	d := testDaemon(nil, 2, 0.1)
	calls := 0
	s := &scheduled{interval: 10 * time.Second, inner: collectors.Named{Name: "md", Collector: collectFunc(func(_ context.Context, out *model.Snapshot) error {
		calls++
		out.Arrays = append(out.Arrays, model.Array{Name: "md0"})
		return nil
	})}}
	d.sched = []*scheduled{s}
	round := uint64(0)
	collect := func(at time.Duration) *model.Snapshot {
		round++
		return d.collect(context.Background(), t0.Add(at), round)
	}
	collect(0)
	if out := collect(5 * time.Second); calls != 1 || len(out.Arrays) != 1 || len(out.Sources) != 1 {
		t.Fatalf("at 5s: %d calls, %d arrays, %d source statuses (want 1 call, the result and its status replayed)", calls, len(out.Arrays), len(out.Sources))
	}
	if s.next.Before(t0.Add(9*time.Second)) || s.next.After(t0.Add(11*time.Second)) {
		t.Errorf("next run %s, want within 10s ± 10%%", s.next.Sub(t0))
	}
	collect(8 * time.Second) // earlier than next - half a tick (1s)
	if calls != 1 {
		t.Errorf("ran before its interval")
	}
	if ran := d.ranIn(round); ran["md"] {
		t.Errorf("a replayed result counts as a run")
	}
	collect(11*time.Second + time.Millisecond)
	if calls != 2 || !d.ranIn(round)["md"] {
		t.Errorf("did not run once due: %d calls", calls)
	}
	// Jitter spreads runs: over many draws the next times differ.
	seen := map[time.Time]bool{}
	for i := 0; i < 20; i++ {
		s.next = time.Time{}
		collect(time.Hour)
		seen[s.next] = true
	}
	if len(seen) < 10 {
		t.Errorf("jitter gave only %d distinct next times in 20 runs", len(seen))
	}
}

// At most daemon.concurrency collectors run at once; a hung one is cut at
// its own timeout (once: by collectors.RunEach) and the others finish; a
// panicking one is reported failed, the round goes on.
func TestScheduledConcurrencyAndTimeout(t *testing.T) {
	d := testDaemon(nil, 2, 0)
	var cur, peak atomic.Int32
	busy := collectFunc(func(ctx context.Context, out *model.Snapshot) error {
		n := cur.Add(1)
		defer cur.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(50 * time.Millisecond)
		out.Arrays = append(out.Arrays, model.Array{Name: "md0"})
		return nil
	})
	hung := collectFunc(func(ctx context.Context, out *model.Snapshot) error {
		<-ctx.Done()
		return ctx.Err()
	})
	boom := collectFunc(func(ctx context.Context, out *model.Snapshot) error { panic("boom") })
	d.sched = []*scheduled{{interval: time.Minute, inner: collectors.Named{Name: "hung", Collector: hung, Timeout: 100 * time.Millisecond}},
		{interval: time.Minute, inner: collectors.Named{Name: "boom", Collector: boom}}}
	for i := 0; i < 5; i++ {
		d.sched = append(d.sched, &scheduled{interval: time.Minute, inner: collectors.Named{Name: fmt.Sprintf("busy%d", i), Collector: busy, Timeout: time.Second}})
	}
	start := time.Now()
	snap := d.collect(context.Background(), start, 1)
	took := time.Since(start)
	if p := peak.Load(); p > 2 {
		t.Errorf("%d collectors ran at once, bound is 2", p)
	}
	states := map[string]model.SourceStatus{}
	for _, st := range snap.Sources {
		states[st.Name] = st
	}
	for i := 0; i < 5; i++ {
		if st := states[fmt.Sprintf("busy%d", i)]; st.State != model.SourceOK {
			t.Errorf("busy %d: %+v", i, st)
		}
	}
	if st := states["hung"]; st.State != model.SourceFailed || !strings.Contains(strings.Join(st.Errors, " "), "deadline exceeded") {
		t.Errorf("hung collector: %+v, want failed with deadline exceeded", st)
	}
	if st := states["boom"]; st.State != model.SourceFailed || !strings.Contains(strings.Join(st.Errors, " "), "panicked: boom") {
		t.Errorf("panicking collector: %+v", st)
	}
	if took > 2*time.Second {
		t.Errorf("the round took %s (hung cut at 100ms after its slot)", took)
	}
	// Three failed runs in a row raise the self-watch finding.
	var fs []model.Finding
	for r := uint64(2); r <= 4; r++ {
		for _, s := range d.sched {
			s.next = time.Time{}
			s.last = nil
		}
		snap = d.collect(context.Background(), start, r)
		fs = d.self.evaluate(snap.Sources, d.ranIn(r), 3)
	}
	if len(fs) != 2 || fs[0].Rule != "daemon.collector_failing" {
		t.Errorf("self-watch after 4 failed runs: %+v", fs)
	}
}

// The heartbeat command runs (argv, no shell) after a round, at most once
// per heartbeat interval.
func TestHeartbeatCommand(t *testing.T) {
	dir := t.TempDir()
	out := dir + "/beats"
	script := dir + "/beat.sh"
	os.WriteFile(script, []byte("#!/bin/sh\necho \"$1\" >> "+out+"\n"), 0o755)
	t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	d := testDaemon(func() time.Time { return t0 }, 1, 0)
	d.cfg.Daemon.Heartbeat = config.Heartbeat{Command: []string{script, "alive; not a shell"}, Interval: time.Minute}
	d.log = zerolog.Nop()
	d.heartbeat(context.Background(), t0)
	d.heartbeat(context.Background(), t0.Add(30*time.Second)) // within the interval: skipped
	d.heartbeat(context.Background(), t0.Add(61*time.Second))
	var b []byte
	for i := 0; i < 100; i++ {
		b, _ = os.ReadFile(out)
		if strings.Count(string(b), "\n") >= 2 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	b, _ = os.ReadFile(out)
	if string(b) != "alive; not a shell\nalive; not a shell\n" {
		t.Errorf("heartbeats: %q (want two, argument passed as is)", b)
	}
}
