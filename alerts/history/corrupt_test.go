package history

import (
	"bytes"
	"context"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/diskwatch/diskwatch/alerts/rules"
	"github.com/diskwatch/diskwatch/collectors/model"
)

// realisticStore writes a store the way a daemon does over weeks: 24
// subjects (disks, arrays, sensors), a dozen metrics each, readings every
// hour for 12 days (compaction folds the first days into daily
// points), and acknowledged baselines.
func realisticStore(t testing.TB, dir string) string {
	t.Helper()
	s, err := Open(context.Background(), dir, Options{Log: zerolog.Nop(), Heartbeat: -1, Bulk: true, RawRetention: 5 * rules.Day})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var subjects []string
	for i := 0; i < 16; i++ {
		subjects = append(subjects, fmt.Sprintf("wwn-0x5000c500%08x", i*7919))
	}
	subjects = append(subjects, "md0", "md1", "md127", "ups@localhost", "hwmon:coretemp/temp1", "hwmon:nvme/temp1", "hwmon:drivetemp/temp1", "ups:apc")
	metrics := []string{"smart_attr_5_raw", "smart_attr_187_raw", "smart_attr_197_raw", "smart_attr_198_raw", "temperature_c",
		"power_on_hours", "nvme_media_errors", "md_degraded", "md_mismatch_cnt", "alert_level", "ups_battery_charge", "sensor_c"}
	t0 := base
	for step := 0; step < 12*24; step++ {
		at := t0.Add(time.Duration(step) * time.Hour)
		var smp []model.Sample
		for i, sub := range subjects {
			for j, m := range metrics {
				if (i+j)%3 == 0 {
					continue
				}
				smp = append(smp, model.Sample{Subject: sub, Metric: m, Value: float64(step/(1+j)) + float64(i)})
			}
		}
		if err := s.Append(ctx, at, smp); err != nil {
			t.Fatal(err)
		}
	}
	for i, sub := range subjects[:8] {
		if err := s.Ack(ctx, sub, "smart_attr_5_raw", t0, float64(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, FileName)
}

// flipBytes changes n random bytes (seeded) of the file past its two meta
// pages, and returns the offsets changed.
func flipBytes(t testing.TB, path string, seed int64, n int) []int64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ps := int64(os.Getpagesize())
	rng := rand.New(rand.NewSource(seed))
	var offs []int64
	for i := 0; i < n; i++ {
		off := 2*ps + rng.Int63n(int64(len(b))-2*ps)
		b[off] ^= byte(1 + rng.Intn(255))
		offs = append(offs, off)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return offs
}

// outcome is how one damaged store ended.
type outcome string

const (
	movedAtOpen   outcome = "moved aside at open"
	movedAtRun    outcome = "damage found by a read, moved aside at the next append"
	movedAtReopen outcome = "read intact, but written to it showed damage at the next open, which moved it aside"
	readIntact    outcome = "read intact (the flips hit free space or values)"
	corruptResult outcome = "FAILED"
)

// exercise opens a damaged store and uses it the way the daemon does;
// it returns how it ended or an error saying what went wrong.
func exercise(dir string) (outcome, error) {
	ctx := context.Background()
	var log bytes.Buffer
	now := base.Add(13 * rules.Day)
	s, err := Open(ctx, dir, Options{Log: zerolog.New(&log), Now: func() time.Time { return now }})
	if err != nil {
		return corruptResult, fmt.Errorf("open: %v", err)
	}
	defer s.Close()
	if s.MovedAside != "" {
		if len(s.Findings(now)) != 1 || !strings.Contains(log.String(), "moved aside") {
			return corruptResult, fmt.Errorf("moved aside without a finding or log line: %s", log.String())
		}
		if err := s.Append(ctx, now, samples(1, "sda")); err != nil {
			return corruptResult, fmt.Errorf("the fresh store: %v", err)
		}
		lastReason.Store(s.movedReason)
		return movedAtOpen, nil
	}
	var readErr error
	subs, err := s.Subjects()
	if err != nil {
		readErr = err
	}
	for _, sub := range subs {
		if _, err := s.Latest(sub); err != nil && readErr == nil {
			readErr = err
		}
		for _, m := range []string{"smart_attr_5_raw", "temperature_c", "md_degraded", "sensor_c"} {
			if _, err := s.Series(sub, m, base); err != nil && readErr == nil {
				readErr = err
			}
		}
		s.Baseline(sub, "smart_attr_5_raw")
	}
	if _, err := s.SubjectsWithMetric("sensor_c", now.Add(-rules.Day)); err != nil && readErr == nil {
		readErr = err
	}
	if _, err := s.SubjectsWithMetric("sensor_c", base); err != nil && readErr == nil {
		readErr = err
	}
	aerr := s.Append(ctx, now, samples(2, "sda", "md0"))
	if readErr == nil && aerr == nil {
		if err := s.Compact(ctx, now.Add(rules.Day)); err != nil {
			readErr = err
		}
	}
	if readErr != nil || s.Damaged() != "" {
		// A read found damage the open-time check did not: the store
		// must be replaced by the next append, and work.
		if err := s.Append(ctx, now.Add(time.Minute), samples(3, "sda")); err != nil {
			return corruptResult, fmt.Errorf("after damage found at run time (%v): append: %v", readErr, err)
		}
		if len(s.Findings(now.Add(time.Minute))) == 0 {
			return corruptResult, fmt.Errorf("damage found at run time (%v) but no finding", readErr)
		}
		if ps, err := s.Series("sda", "smart_attr_5_raw", base); err != nil || len(ps) != 1 {
			return corruptResult, fmt.Errorf("the fresh store after a run-time reset: %v %v", ps, err)
		}
		return movedAtRun, nil
	}
	if aerr != nil {
		return corruptResult, fmt.Errorf("append to a store read intact: %v", aerr)
	}
	s.Close()
	// Opened again, it must be accepted as it was (it was written by us
	// since).
	s2, err := Open(ctx, dir, Options{Log: zerolog.New(&log), Now: func() time.Time { return now }})
	if err != nil {
		return corruptResult, fmt.Errorf("reopen: %v", err)
	}
	defer s2.Close()
	if s2.MovedAside != "" {
		// Latent damage (in pages the check does not read, such as
		// free ones) that the writes put to use: found at the next
		// open, which moved it aside and started afresh.
		if len(s2.Findings(now)) != 1 {
			return corruptResult, fmt.Errorf("moved aside at the reopen without a finding")
		}
		return movedAtReopen, nil
	}
	return readIntact, nil
}

// lastReason is the reason of the last move at open (for the tally).
var lastReason atomic.Value

// reasonKind sorts the reasons a store was moved aside.
func reasonKind(r string) string {
	switch {
	case strings.Contains(r, "crashed the verifier"):
		return "verifier crashed (fatal fault: would have killed diskwatch)"
	case strings.Contains(r, "did not finish"):
		return "verifier hung (killed at the deadline)"
	case strings.Contains(r, "faulted"):
		return "fault recovered in the verifier"
	}
	return "bbolt check or format error"
}

// fuzzSeeds is how many damaged stores a test tries: a short default,
// DISKWATCH_STORE_FUZZ_SEEDS for a long run (make fuzz sets it).
func fuzzSeeds(def int) int {
	if n, err := strconv.Atoi(os.Getenv("DISKWATCH_STORE_FUZZ_SEEDS")); err == nil && n > 0 {
		return n
	}
	if testing.Short() {
		return def / 4
	}
	return def
}

// TestCorruptionFuzz flips 20 bytes past the meta pages of a real store,
// seed after seed: every case must end within a deadline, without a fatal
// error (which would end this test binary), the store either moved aside
// or read intact.
func TestCorruptionFuzz(t *testing.T) {
	seeds := fuzzSeeds(100)
	// A healthy store of this size is read in well under a second; a
	// shorter deadline keeps the hung seeds quick.
	defer func(v time.Duration) { VerifyTimeout = v }(VerifyTimeout)
	VerifyTimeout = 8 * time.Second
	pristine := realisticStore(t, t.TempDir())
	orig, err := os.ReadFile(pristine)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("store %d bytes (%d pages); %d seeds, 20 byte flips each", len(orig), len(orig)/os.Getpagesize(), seeds)
	const deadline = 45 * time.Second
	counts := map[outcome]int{}
	kinds := map[string]int{}
	var slowest time.Duration
	for seed := int64(1); seed <= int64(seeds); seed++ {
		dir := t.TempDir()
		path := filepath.Join(dir, FileName)
		if err := os.WriteFile(path, orig, 0o600); err != nil {
			t.Fatal(err)
		}
		flipBytes(t, path, seed, 20)
		type res struct {
			o   outcome
			err error
		}
		ch := make(chan res, 1)
		start := time.Now()
		go func() { o, err := exercise(dir); ch <- res{o, err} }()
		select {
		case r := <-ch:
			if r.err != nil {
				t.Fatalf("seed %d: %v", seed, r.err)
			}
			counts[r.o]++
			if r.o == movedAtOpen {
				kinds[reasonKind(lastReason.Load().(string))]++
			}
		case <-time.After(deadline):
			t.Fatalf("seed %d: not done within %s (a hang)", seed, deadline)
		}
		if d := time.Since(start); d > slowest {
			slowest = d
		}
		os.RemoveAll(dir)
	}
	t.Logf("outcomes over %d seeds: %d %s; %d %s; %d %s; %d %s; slowest case %s",
		seeds, counts[movedAtOpen], movedAtOpen, counts[movedAtRun], movedAtRun, counts[movedAtReopen], movedAtReopen,
		counts[readIntact], readIntact, slowest.Round(time.Millisecond))
	t.Logf("why moved aside at open: %v", kinds)
	if counts[movedAtOpen] == 0 {
		t.Error("no seed damaged the store enough to be moved aside: the fuzzer is not reaching the pages")
	}
}

// FuzzStoreCorruption is the same check driven by Go's fuzzer (make fuzz):
// any seed and any number of flips.
func FuzzStoreCorruption(f *testing.F) {
	for _, s := range []int64{1, 7, 42, 1000} {
		f.Add(s, uint8(20))
	}
	VerifyTimeout = 8 * time.Second
	var once sync.Once
	var orig []byte
	f.Fuzz(func(t *testing.T, seed int64, n uint8) {
		once.Do(func() {
			d, err := os.MkdirTemp("", "dw-fuzz-store-")
			if err != nil {
				t.Fatal(err)
			}
			defer os.RemoveAll(d)
			orig, err = os.ReadFile(realisticStore(t, d))
			if err != nil {
				t.Fatal(err)
			}
		})
		dir := t.TempDir()
		path := filepath.Join(dir, FileName)
		if err := os.WriteFile(path, orig, 0o600); err != nil {
			t.Fatal(err)
		}
		flipBytes(t, path, seed, 1+int(n%64))
		ch := make(chan error, 1)
		go func() { _, err := exercise(dir); ch <- err }()
		select {
		case err := <-ch:
			if err != nil {
				t.Fatalf("seed %d, %d flips: %v", seed, 1+int(n%64), err)
			}
		case <-time.After(45 * time.Second):
			t.Fatalf("seed %d: not done within 45 s", seed)
		}
	})
}

// A store damaged while open (here: truncated under it, so reads of its
// mapping fault with SIGBUS; or its pages overwritten) makes calls fail
// with an error — never a crash, never a lock left held — and the next
// Append moves it aside and goes on with a fresh one.
func TestDamagedWhileOpen(t *testing.T) {
	for _, how := range []string{"truncated", "overwritten"} {
		t.Run(how, func(t *testing.T) {
			dir := t.TempDir()
			path := realisticStore(t, dir)
			var log bytes.Buffer
			now := base.Add(13 * rules.Day)
			s, err := Open(context.Background(), dir, Options{Log: zerolog.New(&log), Now: func() time.Time { return now }})
			if err != nil || s.MovedAside != "" {
				t.Fatalf("open: %v %q", err, s.MovedAside)
			}
			defer s.Close()
			switch how {
			case "truncated":
				if err := os.Truncate(path, 2*int64(os.Getpagesize())); err != nil {
					t.Fatal(err)
				}
			case "overwritten":
				f, err := os.OpenFile(path, os.O_WRONLY, 0)
				if err != nil {
					t.Fatal(err)
				}
				junk := bytes.Repeat([]byte{0xff, 0x13, 0x00, 0x7f}, 1<<20)
				f.WriteAt(junk, 2*int64(os.Getpagesize()))
				f.Close()
			}
			s.mu.Lock()
			s.newest = nil // the index is read again from the file
			s.mu.Unlock()
			done := make(chan string, 1)
			go func() {
				var errs []string
				if _, err := s.SubjectsWithMetric("sensor_c", base); err != nil {
					errs = append(errs, err.Error())
				}
				if _, err := s.Series("md0", "md_degraded", base); err != nil {
					errs = append(errs, err.Error())
				}
				if _, err := s.Latest("md0"); err != nil {
					errs = append(errs, err.Error())
				}
				if err := s.Append(context.Background(), now, samples(9, "sda")); err != nil {
					errs = append(errs, "append: "+err.Error())
				}
				done <- strings.Join(errs, "\n")
			}()
			var errs string
			select {
			case errs = <-done:
			case <-time.After(20 * time.Second):
				t.Fatal("calls on a store damaged while open hang (a lock left held?)")
			}
			t.Logf("errors: %s", errs)
			if s.Damaged() == "" && !strings.Contains(errs, "corrupt") {
				t.Fatalf("damage not noticed: %q", errs)
			}
			// The next Append replaces it; the one after works normally.
			if err := s.Append(context.Background(), now.Add(time.Minute), samples(1, "sda")); err != nil {
				t.Fatalf("append after damage: %v", err)
			}
			// The fresh store holds the two appends since the damage.
			if ps, err := s.Series("sda", "smart_attr_5_raw", base); err != nil || len(ps) != 2 {
				t.Fatalf("fresh store: %v %v", ps, err)
			}
			if f := s.Findings(now.Add(2 * time.Minute)); len(f) != 1 || f[0].Rule != "history.store_moved_aside" {
				t.Fatalf("findings: %+v", f)
			}
			if !strings.Contains(log.String(), "moved aside") {
				t.Errorf("no log line: %s", log.String())
			}
			matches, _ := filepath.Glob(path + ".corrupt-*")
			if len(matches) != 1 {
				t.Errorf("moved-aside files: %v", matches)
			}
		})
	}
}

// A start that finds the opening marker (the last process died while
// opening the store) moves the store aside instead of dying the same way.
func TestOpeningMarkerMovesAside(t *testing.T) {
	dir := t.TempDir()
	realisticStore(t, dir)
	if err := writeMarker(dir); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	s, err := Open(context.Background(), dir, Options{Log: zerolog.New(&log)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.MovedAside == "" || !strings.Contains(log.String(), "did not finish opening it") {
		t.Fatalf("moved %q, log %s", s.MovedAside, log.String())
	}
	if exists(filepath.Join(dir, markerName)) {
		t.Error("marker left behind after a successful open")
	}
}
