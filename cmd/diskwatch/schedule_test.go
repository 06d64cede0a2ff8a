package main

import (
	"context"
	"errors"
	"math/rand"
	"os"
	"strings"
	"sync"
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

func testDaemon(now func() time.Time, conc int, jitter float64) *daemon {
	return &daemon{e: &env{now: now}, cfg: &config.Config{Daemon: config.Daemon{Interval: time.Second, Jitter: &jitter}},
		sem: make(chan struct{}, conc), rng: rand.New(rand.NewSource(1))}
}

// A collector runs when due (interval ± jitter) and its last result is
// replayed in between.
func TestScheduledIntervalJitter(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	now := t0
	d := testDaemon(func() time.Time { return now }, 2, 0.1)
	calls := 0
	s := &scheduled{d: d, interval: 10 * time.Second, inner: collectors.Named{Name: "md", Collector: collectFunc(func(_ context.Context, out *model.Snapshot) error {
		calls++
		out.Arrays = append(out.Arrays, model.Array{Name: "md0"})
		return nil
	})}}
	collect := func(at time.Duration) *model.Snapshot {
		now = t0.Add(at)
		out := &model.Snapshot{}
		if err := s.Collect(context.Background(), out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	collect(0)
	if out := collect(5 * time.Second); calls != 1 || len(out.Arrays) != 1 {
		t.Fatalf("at 5s: %d calls, %d arrays (want 1 call, the result replayed)", calls, len(out.Arrays))
	}
	if s.next.Before(t0.Add(9*time.Second)) || s.next.After(t0.Add(11*time.Second)) {
		t.Errorf("next run %s, want within 10s ± 10%%", s.next.Sub(t0))
	}
	collect(8 * time.Second) // earlier than next - half a tick (1s)
	if calls != 1 {
		t.Errorf("ran before its interval")
	}
	collect(11*time.Second + time.Millisecond)
	if calls != 2 {
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
// its own timeout and the others finish.
func TestScheduledConcurrencyAndTimeout(t *testing.T) {
	now := time.Now()
	d := testDaemon(func() time.Time { return now }, 2, 0)
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
		return nil
	})
	hung := collectFunc(func(ctx context.Context, out *model.Snapshot) error {
		<-ctx.Done()
		return ctx.Err()
	})
	var ss []*scheduled
	for i := 0; i < 5; i++ {
		ss = append(ss, &scheduled{d: d, interval: time.Minute, inner: collectors.Named{Name: "busy", Collector: busy, Timeout: time.Second}})
	}
	hs := &scheduled{d: d, interval: time.Minute, inner: collectors.Named{Name: "hung", Collector: hung, Timeout: 100 * time.Millisecond}}
	var wg sync.WaitGroup
	errs := make([]error, len(ss))
	start := time.Now()
	var hungErr error
	var hungTook time.Duration
	wg.Add(1)
	go func() {
		defer wg.Done()
		hungErr = hs.Collect(context.Background(), &model.Snapshot{})
		hungTook = time.Since(start)
	}()
	for i, s := range ss {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Collect(context.Background(), &model.Snapshot{})
		}()
	}
	wg.Wait()
	if p := peak.Load(); p > 2 {
		t.Errorf("%d collectors ran at once, bound is 2", p)
	}
	for i, err := range errs {
		if err != nil {
			t.Errorf("busy %d: %v", i, err)
		}
	}
	if !errors.Is(hungErr, context.DeadlineExceeded) {
		t.Errorf("hung collector: %v, want deadline exceeded", hungErr)
	}
	if hungTook > 2*time.Second {
		t.Errorf("hung collector took %s to be cut (timeout 100ms + slot wait)", hungTook)
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
