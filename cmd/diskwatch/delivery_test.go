package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/diskwatch/diskwatch/alerts/notify/webhook"
)

// idemReceiver is a webhook receiver that deduplicates on the message id
// (Idempotency-Key), and can be down (503), slow or up.
type idemReceiver struct {
	mode atomic.Int32 // 0 down, 1 slow, 2 up
	mu   sync.Mutex
	ids  map[string]map[string]int // "kind key" -> id -> deliveries
}

const (
	rcvDown = iota
	rcvSlow
	rcvUp
)

func (r *idemReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	switch r.mode.Load() {
	case rcvDown:
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	case rcvSlow:
		time.Sleep(time.Duration(100+rand.Intn(400)) * time.Millisecond)
	}
	body, _ := io.ReadAll(req.Body)
	var p webhook.Payload
	if err := json.Unmarshal(body, &p); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	k := string(p.Kind) + " " + p.Alert.Key
	if r.ids[k] == nil {
		r.ids[k] = map[string]int{}
	}
	r.ids[k][req.Header.Get("Idempotency-Key")]++
}

// mdRootN writes a root whose first n arrays of 10 are degraded.
func mdRootN(t *testing.T, root string, degraded int) {
	var b strings.Builder
	b.WriteString("Personalities : [raid1]\n")
	for i := 0; i < 10; i++ {
		slots := "[2/2] [UU]"
		members := fmt.Sprintf("sda%d[0] sdb%d[1]", i+1, i+1)
		if i < degraded {
			slots, members = "[2/1] [U_]", fmt.Sprintf("sda%d[0]", i+1)
		}
		fmt.Fprintf(&b, "md%d : active raid1 %s\n      1048512 blocks super 1.2 %s\n\n", i, members, slots)
	}
	b.WriteString("unused devices: <none>\n")
	os.MkdirAll(filepath.Join(root, "proc"), 0o755)
	tmp := filepath.Join(root, "proc", ".mdstat.tmp")
	os.WriteFile(tmp, []byte(b.String()), 0o644)
	os.Rename(tmp, filepath.Join(root, "proc", "mdstat"))
}

// TestDeliveryKill9 kills the daemon with SIGKILL (and now and then stops
// it with SIGTERM) at random moments while it delivers to a webhook that
// is down, slow or up, again and again over one state directory; half way
// five arrays heal. After a last run with the receiver up, every event was
// delivered — the ten firings and the five resolutions — and each under
// one id only (an idempotent receiver sees each event once).
// DISKWATCH_KILL9_ITERATIONS sets the count (default 40; make fuzz runs
// 300).
func TestDeliveryKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	diskwatchBin(t)
	iters := 40
	if n, err := strconv.Atoi(os.Getenv("DISKWATCH_KILL9_ITERATIONS")); err == nil && n > 0 {
		iters = n
	}
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	mdRootN(t, root, 10)
	rcv := &idemReceiver{ids: map[string]map[string]int{}}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	cfg := fmt.Sprintf(`collectors:
  smart: {enabled: false}
  smartctl: {enabled: false}
  kmsg: {enabled: false}
  hwraid: {enabled: false}
  hwmon: {enabled: false}
daemon:
  interval: 1s
  collector_intervals: {mdraid: 1s, hwmon: 1s}
  metrics_listen: "off"
  flush_timeout: 1s
notify:
  resolve_after: 1
  webhook:
    - url: %s/hook
`, srv.URL)
	cfgPath := filepath.Join(dir, "diskwatch.yaml")
	os.WriteFile(cfgPath, []byte(cfg), 0o600)
	state := filepath.Join(dir, "state")
	args := []string{"daemon", "--root", root, "--config", cfgPath, "--state", state, "--no-history"}
	rng := rand.New(rand.NewSource(22))
	kills, terms := 0, 0
	start := time.Now()
	for i := 0; i < iters; i++ {
		if i == iters/2 {
			mdRootN(t, root, 5)
		}
		rcv.mode.Store(int32(rng.Intn(3)))
		cmd := exec.Command(diskwatchBin(t), args...)
		var log syncBuf
		cmd.Stdout, cmd.Stderr = &log, &log
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(rng.Intn(1500)) * time.Millisecond)
		if rng.Intn(4) == 0 {
			terms++
			cmd.Process.Signal(syscall.SIGTERM)
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("iteration %d: SIGTERM: %v\n%s", i, err, log.String())
				}
			case <-time.After(20 * time.Second):
				cmd.Process.Kill()
				t.Fatalf("iteration %d: no exit 20 s after SIGTERM:\n%s", i, log.String())
			}
		} else {
			kills++
			cmd.Process.Signal(syscall.SIGKILL)
			cmd.Wait()
		}
		if strings.Contains(log.String(), "panic:") || strings.Contains(log.String(), "fatal error") {
			t.Fatalf("iteration %d: crash:\n%s", i, log.String())
		}
	}
	// The last run, receiver up, until everything is out.
	rcv.mode.Store(rcvUp)
	cmd := exec.Command(diskwatchBin(t), append(args, "--rounds", "4")...)
	var log syncBuf
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Run(); err != nil {
		t.Fatalf("last run: %v\n%s", err, log.String())
	}
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	var problems []string
	for i := 0; i < 10; i++ {
		want := map[string]bool{"firing": true, "resolved": i >= 5}
		for kind, should := range want {
			k := fmt.Sprintf("%s md.degraded|md%d", kind, i)
			switch ids := rcv.ids[k]; {
			case should && len(ids) == 0:
				problems = append(problems, k+": never delivered")
			case !should && len(ids) > 0:
				problems = append(problems, k+": delivered, but it never happened")
			case len(ids) > 1:
				problems = append(problems, fmt.Sprintf("%s: delivered under %d ids %v", k, len(ids), ids))
			}
		}
	}
	total, dups := 0, 0
	for _, ids := range rcv.ids {
		for _, n := range ids {
			total += n
			dups += n - 1
		}
	}
	t.Logf("%d iterations (%d kill -9, %d SIGTERM) in %s; receiver got %d deliveries of %d events (%d repeats of an id, deduplicated)",
		iters, kills, terms, time.Since(start).Round(time.Second), total, len(rcv.ids), dups)
	if len(problems) > 0 {
		t.Errorf("%d problems:\n%s\nlast run:\n%s", len(problems), strings.Join(problems, "\n"), log.String())
	}
}

// TestDeliveryENOSPC: the state directory's file system fills up while
// arrays degrade. The alerts are delivered all the same (kept in memory),
// daemon.notify_queue_unwritable fires; when space returns the queue is
// written again, the self-alert resolves, and a restart announces nothing
// again under a new id.
func TestDeliveryENOSPC(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to mount a small tmpfs")
	}
	diskwatchBin(t)
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	os.MkdirAll(state, 0o755)
	if err := syscall.Mount("tmpfs", state, "tmpfs", 0, "size=1m"); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v", err)
	}
	defer syscall.Unmount(state, syscall.MNT_DETACH)
	root := filepath.Join(dir, "root")
	mdRootN(t, root, 0)
	rcv := &idemReceiver{ids: map[string]map[string]int{}}
	rcv.mode.Store(rcvUp)
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	cfgPath := filepath.Join(dir, "diskwatch.yaml")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf(`collectors:
  smart: {enabled: false}
  smartctl: {enabled: false}
  kmsg: {enabled: false}
  hwraid: {enabled: false}
  hwmon: {enabled: false}
daemon:
  interval: 1s
  collector_intervals: {mdraid: 1s, hwmon: 1s}
  metrics_listen: "off"
notify:
  resolve_after: 1
  webhook:
    - url: %s/hook
`, srv.URL)), 0o600)
	args := []string{"--root", root, "--config", cfgPath, "--state", state, "--no-history"}
	d := startDaemon(t, nil, args...)
	d.waitLog(t, "diskwatch daemon ready", 1, 20*time.Second)
	// Fill the file system.
	f, err := os.Create(filepath.Join(state, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := f.Write(make([]byte, 4096)); err != nil {
			break
		}
	}
	f.Close()
	mdRootN(t, root, 3)
	delivered := func(k string) bool { rcv.mu.Lock(); defer rcv.mu.Unlock(); return len(rcv.ids[k]) > 0 }
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 30 s:\n%s", what, d.log.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	for i := 0; i < 3; i++ {
		waitFor(fmt.Sprintf("md%d firing delivered on a full disk", i), func() bool { return delivered(fmt.Sprintf("firing md.degraded|md%d", i)) })
	}
	waitFor("the self-alert", func() bool {
		return delivered("firing daemon.notify_queue_unwritable|notify-queue:" + filepath.Join(state, "queue"))
	})
	if !strings.Contains(d.log.String(), "no space left on device") {
		t.Errorf("the log does not say why:\n%s", d.log.String())
	}
	os.Remove(filepath.Join(state, "filler"))
	d.waitLog(t, "notification queue writable again", 1, 30*time.Second)
	waitFor("the self-alert resolved", func() bool {
		return delivered("resolved daemon.notify_queue_unwritable|notify-queue:" + filepath.Join(state, "queue"))
	})
	d.cmd.Process.Signal(syscall.SIGTERM)
	d.wait(t, 20*time.Second)
	d2 := startDaemon(t, nil, append(args, "--rounds", "2")...)
	d2.wait(t, 30*time.Second)
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	for k, ids := range rcv.ids {
		if len(ids) > 1 {
			t.Errorf("%s delivered under %d ids", k, len(ids))
		}
	}
	t.Logf("events delivered: %d (%v)", len(rcv.ids), rcv.ids)
}

// TestDeliveryHangingSinkAndSIGTERM: one webhook never answers, another
// works. The working one gets every alert at once (the hanging one delays
// nobody); SIGTERM stops the daemon within its flush timeout with the
// hanging sink's messages queued on disk; after a restart with that
// receiver back, they are delivered, each event under one id.
func TestDeliveryHangingSinkAndSIGTERM(t *testing.T) {
	diskwatchBin(t)
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	mdRootN(t, root, 7)
	hangRelease := make(chan struct{})
	var hanging atomic.Bool
	hanging.Store(true)
	later := &idemReceiver{ids: map[string]map[string]int{}}
	later.mode.Store(rcvUp)
	hangSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hanging.Load() {
			select {
			case <-hangRelease:
			case <-r.Context().Done():
			}
			return
		}
		later.ServeHTTP(w, r)
	}))
	defer hangSrv.Close()
	defer close(hangRelease)
	good := &idemReceiver{ids: map[string]map[string]int{}}
	good.mode.Store(rcvUp)
	goodSrv := httptest.NewServer(good)
	defer goodSrv.Close()
	cfgPath := filepath.Join(dir, "diskwatch.yaml")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf(`collectors:
  smart: {enabled: false}
  smartctl: {enabled: false}
  kmsg: {enabled: false}
  hwraid: {enabled: false}
  hwmon: {enabled: false}
daemon:
  interval: 1s
  collector_intervals: {mdraid: 1s, hwmon: 1s}
  metrics_listen: "off"
  flush_timeout: 2s
notify:
  webhook:
    - url: %s/hang
    - url: %s/good
`, hangSrv.URL, goodSrv.URL)), 0o600)
	state := filepath.Join(dir, "state")
	args := []string{"--root", root, "--config", cfgPath, "--state", state, "--no-history"}
	start := time.Now()
	d := startDaemon(t, nil, args...)
	count := func(r *idemReceiver) int { r.mu.Lock(); defer r.mu.Unlock(); return len(r.ids) }
	for count(good) < 7 {
		if time.Since(start) > 20*time.Second {
			t.Fatalf("the working sink got %d of 7 alerts in 20 s beside a hanging one:\n%s", count(good), d.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("working sink had all 7 alerts %s after start, beside a sink that never answers", time.Since(start).Round(time.Millisecond))
	stop := time.Now()
	d.cmd.Process.Signal(syscall.SIGTERM)
	if code := d.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("exit %d", code)
	}
	t.Logf("stopped %s after SIGTERM", time.Since(stop).Round(time.Millisecond))
	if time.Since(stop) > 10*time.Second {
		t.Errorf("stop took %s with a 2 s flush timeout", time.Since(stop))
	}
	queued, _ := filepath.Glob(filepath.Join(state, "queue", "webhook-*", "*.json"))
	if len(queued) != 7 {
		t.Fatalf("%d messages queued on disk for the hanging sink, want 7:\n%s", len(queued), d.log.String())
	}
	hanging.Store(false)
	d2 := startDaemon(t, nil, append(args, "--rounds", "2")...)
	d2.wait(t, 30*time.Second)
	if n := count(later); n != 7 {
		t.Errorf("after restart the receiver got %d of 7:\n%s", n, d2.log.String())
	}
	for _, r := range []*idemReceiver{good, later} {
		r.mu.Lock()
		for k, ids := range r.ids {
			if len(ids) != 1 {
				t.Errorf("%s under %d ids", k, len(ids))
			}
		}
		r.mu.Unlock()
	}
}
