package main

import (
	"context"
	"encoding/json"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/diskwatch/diskwatch/alerts/history"
)

// TestCheckDamagedStoreBinary drives the built binary the way cron does
// (`diskwatch check --state DIR`) over a real store (a Backblaze replay,
// then check's own readings) damaged by seeded byte flips past the meta
// pages: every run ends within a deadline, never with a Go fatal error or
// exit 2, and either moves the store aside (saying so in a finding and
// the log) or reads it intact. DISKWATCH_STORE_FUZZ_SEEDS sets the count
// (make fuzz runs hundreds).
func TestCheckDamagedStoreBinary(t *testing.T) {
	bin := diskwatchBin(t)
	seeds := 30
	if n, err := strconv.Atoi(os.Getenv("DISKWATCH_STORE_FUZZ_SEEDS")); err == nil && n > 0 {
		seeds = n
	} else if testing.Short() {
		seeds = 8
	}
	dir := t.TempDir()
	root, cfg := mdRoot(t), noConfig(t)
	state := filepath.Join(dir, "state")
	short := filepath.Join(dir, "first-days.csv")
	writeFirstDays(t, "../../alerts/replay/testdata/2013q2-slice.csv.gz", short, "2013-04-14")
	if out, err := exec.Command(bin, "replay", "--state", state, "--progress", "off", short).CombinedOutput(); err != nil {
		t.Fatalf("replay --state: %v\n%s", err, out)
	}
	for i := 0; i < 3; i++ {
		if out, err := exec.Command(bin, "check", "--root", root, "--config", cfg, "--state", state).CombinedOutput(); err != nil {
			t.Fatalf("check: %v\n%s", err, out)
		}
	}
	pristine, err := os.ReadFile(filepath.Join(state, history.FileName))
	if err != nil {
		t.Fatal(err)
	}
	ps := int64(os.Getpagesize())
	t.Logf("store %d bytes; %d seeds of 20 flips", len(pristine), seeds)
	const deadline = 60 * time.Second
	tally := map[string]int{}
	var slowest time.Duration
	for seed := int64(1); seed <= int64(seeds); seed++ {
		sd := filepath.Join(dir, "s"+strconv.FormatInt(seed, 10))
		os.MkdirAll(sd, 0o700)
		b := append([]byte(nil), pristine...)
		rng := rand.New(rand.NewSource(seed))
		for i := 0; i < 20; i++ {
			b[2*ps+rng.Int63n(int64(len(b))-2*ps)] ^= byte(1 + rng.Intn(255))
		}
		if err := os.WriteFile(filepath.Join(sd, history.FileName), b, 0o600); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		cmd := exec.CommandContext(ctx, bin, "check", "--root", root, "--config", cfg, "--state", sd, "--format", "json")
		cmd.Env = append(os.Environ(), "GOTRACEBACK=single")
		var so, se syncBuf
		cmd.Stdout, cmd.Stderr = &so, &se
		start := time.Now()
		err := cmd.Run()
		took := time.Since(start)
		timedOut := ctx.Err() != nil
		cancel()
		if took > slowest {
			slowest = took
		}
		if timedOut {
			t.Fatalf("seed %d: check did not end within %s", seed, deadline)
		}
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				t.Fatalf("seed %d: check killed by %v\n%s", seed, ws.Signal(), se.String())
			}
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		// The log may quote the verifier's crash; diskwatch's own would
		// start a line.
		for _, l := range strings.Split(se.String(), "\n") {
			if strings.HasPrefix(l, "fatal error") || strings.HasPrefix(l, "panic:") || strings.HasPrefix(l, "goroutine ") {
				t.Fatalf("seed %d: a Go crash (exit %d):\n%s", seed, code, se.String())
			}
		}
		var doc struct {
			Status   string `json:"status"`
			Findings []struct {
				Rule    string `json:"rule"`
				Message string `json:"message"`
			} `json:"findings"`
		}
		if err := json.Unmarshal([]byte(so.String()), &doc); err != nil {
			t.Fatalf("seed %d: exit %d, output not JSON: %v\n%s\n%s", seed, code, err, so.String(), se.String())
		}
		moved, _ := filepath.Glob(filepath.Join(sd, history.FileName+".corrupt-*"))
		finding := false
		for _, f := range doc.Findings {
			if f.Rule == "history.store_moved_aside" {
				finding = true
			}
		}
		switch {
		case len(moved) == 1 && finding && code == exitWarning && strings.Contains(se.String(), "moved aside"):
			tally["moved aside (WARNING finding, log line)"]++
		case len(moved) == 0 && !finding && code == exitOK:
			tally["read intact (OK)"]++
		default:
			t.Fatalf("seed %d: exit %d, moved %v, finding %v:\n%s\n%s", seed, code, moved, finding, so.String(), se.String())
		}
		// The next run is clean either way.
		out, err := exec.Command(bin, "check", "--root", root, "--config", cfg, "--state", sd).CombinedOutput()
		if err != nil {
			t.Fatalf("seed %d: the run after: %v\n%s", seed, err, out)
		}
		os.RemoveAll(sd)
	}
	t.Logf("%d seeds through the binary: %v; slowest run %s", seeds, tally, slowest.Round(time.Millisecond))
}
