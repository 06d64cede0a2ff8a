package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/diskwatch/diskwatch/alerts/assemble"
	"github.com/diskwatch/diskwatch/alerts/daemon"
	"github.com/diskwatch/diskwatch/alerts/rules"
	"github.com/diskwatch/diskwatch/collectors/hostroot"
	"github.com/diskwatch/diskwatch/collectors/ups/upstest"
)

// soakRoot writes a fixture host with 32 RAID1 arrays over 64 member disks
// (every fourth array degraded, so alerts stay active) and 16 hwmon sensors.
func soakRoot(t *testing.T, dir string) {
	var md strings.Builder
	md.WriteString("Personalities : [raid1]\n")
	for i := 0; i < 32; i++ {
		a, b := fmt.Sprintf("sd%d", 2*i), fmt.Sprintf("sd%d", 2*i+1)
		if i%4 == 0 {
			fmt.Fprintf(&md, "md%d : active raid1 %s[0]\n      1047552 blocks super 1.2 [2/1] [U_]\n\n", i, a)
		} else {
			fmt.Fprintf(&md, "md%d : active raid1 %s[0] %s[1]\n      1047552 blocks super 1.2 [2/2] [UU]\n\n", i, a, b)
		}
		for _, m := range []string{a, b} {
			p := filepath.Join(dir, "sys", "block", fmt.Sprintf("md%d", i), "md", "dev-"+m)
			os.MkdirAll(p, 0o755)
			os.WriteFile(filepath.Join(p, "state"), []byte("in_sync\n"), 0o644)
			os.WriteFile(filepath.Join(p, "errors"), []byte("0\n"), 0o644)
			os.WriteFile(filepath.Join(p, "bad_blocks"), nil, 0o644)
		}
		os.WriteFile(filepath.Join(dir, "sys", "block", fmt.Sprintf("md%d", i), "md", "array_state"), []byte("clean\n"), 0o644)
	}
	md.WriteString("unused devices: <none>\n")
	os.MkdirAll(filepath.Join(dir, "proc"), 0o755)
	os.WriteFile(filepath.Join(dir, "proc", "mdstat"), []byte(md.String()), 0o644)
	for i := 0; i < 16; i++ {
		hw := filepath.Join(dir, "sys", "class", "hwmon", fmt.Sprintf("hwmon%d", i))
		os.MkdirAll(hw, 0o755)
		os.WriteFile(filepath.Join(hw, "name"), []byte(fmt.Sprintf("chip%d\n", i)), 0o644)
		os.WriteFile(filepath.Join(hw, "temp1_input"), []byte("41000\n"), 0o644)
		os.WriteFile(filepath.Join(hw, "temp1_max"), []byte("80000\n"), 0o644)
	}
}

// mappingRSS sums the resident KiB of the mappings of file in a smaps file
// (-1 when it cannot be read).
func mappingRSS(smaps, file string) int {
	b, err := os.ReadFile(smaps)
	if err != nil {
		return -1
	}
	in, total := false, 0
	for _, l := range strings.Split(string(b), "\n") {
		if fs := strings.Fields(l); len(fs) >= 5 && strings.Contains(fs[0], "-") && !strings.HasSuffix(fs[0], ":") {
			in = fs[len(fs)-1] == file
			continue
		}
		if v, ok := strings.CutPrefix(l, "Rss:"); ok && in {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			total += n
		}
	}
	return total
}

// procStatus reads a field of /proc/self/status in kB.
func procStatus(field string) int { return statusField("/proc/self/status", field) }

// statusField reads a field of a /proc/PID/status file in kB (-1 when
// it cannot).
func statusField(path, field string) int {
	f, err := os.Open(path)
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	return -1
}

func openFDs() int {
	es, _ := os.ReadDir("/proc/self/fd")
	return len(es)
}

// TestSoak runs the daemon's rounds (collect → store → rules → lifecycle →
// notify → snapshot) 10,000 times in a child process over a fixture host,
// with the clock advancing a minute a round, and checks that resident
// memory, goroutines and open files stay flat. DISKWATCH_SOAK_ROUNDS
// changes the count; `make soak` runs it.
func TestSoak(t *testing.T) {
	if os.Getenv("DISKWATCH_SOAK_CHILD") == "1" {
		soakChild(t)
		return
	}
	if os.Getenv("DISKWATCH_SOAK") == "" {
		t.Skip("the soak runs with DISKWATCH_SOAK=1 (make soak)")
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^TestSoak$", "-test.v")
	stateDir := t.TempDir()
	cmd.Env = append(os.Environ(), "DISKWATCH_SOAK_CHILD=1", "GOGC=50", "DISKWATCH_SOAK_STATE="+stateDir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("soak child: %v\n%s", err, out)
	}
	stats := map[string][6]int{}
	for _, l := range strings.Split(string(out), "\n") {
		var at string
		var rss, hwm, gr, fds, anon, file int
		if n, _ := fmt.Sscanf(strings.TrimSpace(l), "soak %s rss=%d hwm=%d goroutines=%d fds=%d anon=%d file=%d", &at, &rss, &hwm, &gr, &fds, &anon, &file); n == 7 {
			stats[at] = [6]int{rss, hwm, gr, fds, anon, file}
		}
	}
	early, last := stats["early"], stats["last"]
	if early == ([6]int{}) || last == ([6]int{}) {
		t.Fatalf("no stats from the child:\n%s", out)
	}
	t.Logf("after half the rounds: RSS %d KiB, goroutines %d, fds %d; at the end: RSS %d KiB (peak %d KiB = %.1f MiB; %d KiB private, %d KiB file-backed: program text and the memory-mapped store), goroutines %d, fds %d",
		early[0], early[2], early[3], last[0], last[1], float64(last[1])/1024, last[4], last[5], last[2], last[3])
	if last[2] > early[2] || last[3] > early[3] {
		t.Errorf("goroutines or open files grew: %v -> %v", early, last)
	}
	if last[0] > early[0]*5/4+2048 {
		t.Errorf("resident memory grew from %d to %d KiB", early[0], last[0])
	}
	soakRealDaemon(t, stateDir)
}

// soakRealDaemon runs the shipped binary (built as `make build` does:
// static, stripped) as `diskwatch daemon` over the same fixture host and
// the history the rounds above left in stateDir (which end now), one
// round a second with /metrics served, for DISKWATCH_SOAK_REAL_ROUNDS
// rounds (default 180), and reports its peak resident memory: the figure
// an operator sees in top, which the test process above (a larger,
// dynamically linked binary) cannot give. The target is 20 MiB.
func soakRealDaemon(t *testing.T, stateDir string) {
	rounds := 180
	if v, err := strconv.Atoi(os.Getenv("DISKWATCH_SOAK_REAL_ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "diskwatch")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	root := filepath.Join(dir, "root")
	soakRoot(t, root)
	cfg := filepath.Join(dir, "diskwatch.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("daemon:\n  interval: 1s\n  collector_intervals: {mdraid: 1s, smart: 1s, smartctl: 1s, hwraid: 1s, hwmon: 1s, probes: 1s}\n  metrics_listen: 127.0.0.1:%d\n", upstest.FreePort(t))), 0o600)
	cmd := exec.Command(bin, "daemon", "--root", root, "--state", stateDir, "--config", cfg, "--rounds", strconv.Itoa(rounds), "--log-level", "error")
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	status := filepath.Join("/proc", strconv.Itoa(cmd.Process.Pid), "status")
	var hwm, anon, file, store, samples int
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for running := true; running; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("daemon: %v\n%s", err, out.String())
			}
			running = false
		case <-tick.C:
			if h := statusField(status, "VmHWM"); h > 0 {
				hwm, anon, file = h, statusField(status, "RssAnon"), statusField(status, "RssFile")
				if st := mappingRSS(filepath.Join(filepath.Dir(status), "smaps"), filepath.Join(stateDir, "history.db")); st >= 0 {
					store = st
				}
				samples++
			}
		}
	}
	if samples < rounds/2 {
		t.Fatalf("only %d samples of the daemon's memory in %d rounds", samples, rounds)
	}
	var size int64
	if fi, err := os.Stat(filepath.Join(stateDir, "history.db")); err == nil {
		size = fi.Size()
	}
	t.Logf("diskwatch daemon (static, stripped), %d one-second rounds over 64 disks, 32 arrays, 16 sensors, after the history above (store %.1f MiB): peak RSS %d KiB = %.1f MiB (last: %d KiB private, %d KiB file-backed of which %d KiB the store's mapping)",
		rounds, float64(size)/(1<<20), hwm, float64(hwm)/1024, anon, file, store)
	if hwm > 20*1024 {
		t.Errorf("peak RSS %.1f MiB is above the 20 MiB target", float64(hwm)/1024)
	}
}

func soakChild(t *testing.T) {
	rounds := 10000
	if v, err := strconv.Atoi(os.Getenv("DISKWATCH_SOAK_ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	root, stateDir := t.TempDir(), os.Getenv("DISKWATCH_SOAK_STATE")
	if stateDir == "" {
		stateDir = t.TempDir()
	}
	soakRoot(t, root)
	cfgPath := filepath.Join(t.TempDir(), "diskwatch.yaml")
	os.WriteFile(cfgPath, []byte("daemon:\n  metrics_listen: \"off\"\n"), 0o600)
	// The rounds end a few minutes before now, so the real daemon that
	// follows carries on the same history.
	clock := time.Now().UTC().Add(-time.Duration(rounds+5) * time.Minute).Truncate(time.Minute)
	rs := rules.Default()
	cfg, err := assemble.LoadConfig(cfgPath, nil, nil, rs)
	if err != nil {
		t.Fatal(err)
	}
	d := daemon.New(daemon.Options{FS: hostroot.New(root), StateDir: stateDir, Rules: rs, MetricsListen: "off", Log: zerolog.Nop(),
		Now: func() time.Time { return clock }})
	ctx := context.Background()
	if err := d.Start(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	report := func(at string) {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		fmt.Printf("soak %s rss=%d hwm=%d goroutines=%d fds=%d anon=%d file=%d heap=%d sys=%d\n", at, procStatus("VmRSS"), procStatus("VmHWM"), runtime.NumGoroutine(), openFDs(),
			procStatus("RssAnon"), procStatus("RssFile"), ms.HeapAlloc>>10, ms.Sys>>10)
	}
	start := time.Now()
	for i := 1; i <= rounds; i++ {
		clock = clock.Add(time.Minute)
		d.Round(ctx)
		if i == rounds/2 {
			// The history store's raw series stop growing after
			// MaxRawPoints (4032) rounds; from here on memory must be flat.
			report("early")
		}
	}
	report("last")
	fmt.Printf("soak %d rounds in %s\n", rounds, time.Since(start).Round(time.Millisecond))
	if doc := d.Latest(); doc == nil || len(doc.Snapshot.Arrays) != 32 || len(doc.Snapshot.Sensors) != 16 {
		t.Errorf("last round did not see the fixture host")
	}
	d.Stop()
}
