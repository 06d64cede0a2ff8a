package daemon

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/diskwatch/diskwatch/alerts/config"
	"github.com/diskwatch/diskwatch/alerts/rules"
	"github.com/diskwatch/diskwatch/collectors"
	"github.com/diskwatch/diskwatch/collectors/model"
	"github.com/diskwatch/diskwatch/collectors/smart"
)

// fakeDisks emulates disks answering StartSelfTest: asleep ones refuse, a
// started test runs for a while (short 2 min, long 90 min) and refuses a
// second one, others cannot self-test at all.
type fakeDisks struct {
	now     func() time.Time
	asleep  map[string]bool
	cannot  map[string]bool
	running map[string]time.Time
	calls   []string // "sda long", ... (every attempt)
}

func (f *fakeDisks) start(_ context.Context, dev, kind string, _ time.Duration) (string, error) {
	name := strings.TrimPrefix(dev, "/dev/")
	f.calls = append(f.calls, name+" "+kind)
	switch {
	case f.asleep[name]:
		return "", fmt.Errorf("%s: %w (power mode standby)", dev, smart.ErrAsleep)
	case f.cannot[name]:
		return "", fmt.Errorf("%s: the controller does not support Device Self-test", dev)
	case f.now().Before(f.running[name]):
		return "", fmt.Errorf("%s: %w (80%% remaining)", dev, smart.ErrSelfTestRunning)
	}
	f.running[name] = f.now().Add(map[string]time.Duration{"short": 2 * time.Minute, "long": 90 * time.Minute}[kind])
	return dev + ": " + kind + " self-test started", nil
}

func (f *fakeDisks) took() []string {
	c := f.calls
	f.calls = nil
	sort.Strings(c)
	return c
}

// The daemon starts the scheduled self-tests on the smart collector's
// disks: long before short, never on a sleeping disk (retried each round,
// logged once), never while a test runs, once per slot across restarts,
// a missed slot made up at start-up; a disk that cannot self-test is not
// asked again before its next time.
func TestDaemonSelfTests(t *testing.T) {
	loc := time.FixedZone("UTC+1", 3600)
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
		if err != nil {
			t.Fatal(err)
		}
		return v.UTC() // the clock's zone does not matter, the scheduler's does
	}
	now := at("2026-03-04 10:00") // a Wednesday
	cfg, err := config.Parse("x.yaml", []byte("collectors:\n  smart:\n    self_tests:\n      short: \"daily 02:00\"\n      long: \"weekly sun 03:00\"\n"), rules.Default())
	if err != nil {
		t.Fatal(err)
	}
	disk := func(name, serial string, smartOK bool) model.Disk {
		return model.Disk{Device: model.DeviceInfo{Path: "/dev/" + name, Name: name, Protocol: "ata", Model: "QEMU HARDDISK", Serial: serial}, SMARTAvailable: smartOK}
	}
	sleepy := disk("sdb", "B", true)
	disks := []model.Disk{disk("sda", "A", true), sleepy, disk("sdc", "", false), disk("nvme0", "N", true)}
	disks[1].Device.Model = "EVIL\x1b[2J" // device strings are cleaned in logs
	smartSrc := &scheduled{inner: collectors.Named{Name: "smart"}, lastGood: &model.Snapshot{Disks: disks}}

	dir := t.TempDir()
	var logs bytes.Buffer
	f := &fakeDisks{now: func() time.Time { return now }, asleep: map[string]bool{"sdb": true}, cannot: map[string]bool{"nvme0": true}, running: map[string]time.Time{}}
	newDaemon := func() *Daemon {
		d := testDaemon(func() time.Time { return now }, 1, 0)
		d.cfg, d.dir, d.sched = cfg, dir, []*scheduled{smartSrc}
		d.log = zerolog.New(&logs)
		d.selfTests = newSelfTester(d)
		d.selfTests.loc, d.selfTests.start = loc, f.start
		return d
	}
	d := newDaemon()
	step := func(when string, want ...string) {
		t.Helper()
		now = at(when)
		d.runSelfTests(context.Background())
		if got := f.took(); strings.Join(got, ", ") != strings.Join(want, ", ") {
			t.Errorf("%s: attempts %q, want %q", when, got, want)
		}
	}
	// First start on a Wednesday: Sunday's long test is due (it wins over
	// today's short one); sdc has no SMART and is never asked.
	step("2026-03-04 10:00", "nvme0 long", "sda long", "sdb long")
	if n := strings.Count(logs.String(), `"level":"info","part":"selftest","device":"/dev/sdb"`); n != 1 {
		t.Errorf("asleep disk logged %d times at info, want 1:\n%s", n, logs.String())
	}
	step("2026-03-04 10:01", "sdb long") // still asleep: retried, not logged at info again
	if n := strings.Count(logs.String(), `"level":"info","part":"selftest","device":"/dev/sdb"`); n != 1 {
		t.Errorf("asleep disk logged %d times at info after a retry, want 1", n)
	}
	f.asleep["sdb"] = false
	step("2026-03-04 10:30", "sdb long") // awake: started
	step("2026-03-04 23:00")             // nothing due: short slots settled by the long tests

	// Restart (a new daemon reads the state file): nothing again.
	d = newDaemon()
	step("2026-03-04 23:30")
	// Daemon down over Thursday 02:00, back at 09:00: made up once.
	d = newDaemon()
	step("2026-03-05 09:00", "nvme0 short", "sda short", "sdb short")
	step("2026-03-05 09:01")
	// Sunday: short at 02:00, long at 03:00; sda's short is still running
	// at 03:00 (this fake's short test takes 2 minutes: make it longer).
	step("2026-03-08 02:00", "nvme0 short", "sda short", "sdb short")
	f.running["sda"] = at("2026-03-08 03:10")
	step("2026-03-08 03:00", "nvme0 long", "sda long", "sdb long")
	step("2026-03-08 03:05", "sda long") // refused while the short one runs
	step("2026-03-08 03:10", "sda long") // started
	step("2026-03-08 03:11")

	// A disk skipped in standby is known by its path only: its identity
	// is the one it had awake, so its records are found.
	sleepy.Skipped, sleepy.Device.Serial, sleepy.Device.Model = "standby", "", ""
	smartSrc.lastGood = &model.Snapshot{Disks: []model.Disk{sleepy}}
	f.asleep["sdb"] = true
	step("2026-03-09 02:00", "sdb short")
	d = newDaemon() // restarted: the identity of a disk never seen awake is unknown
	step("2026-03-09 02:01")

	// collectors.smart.self_tests.devices limits the disks.
	cfg.Collectors.Smart.SelfTests.Devices = []string{"/dev/sda"}
	smartSrc.lastGood = &model.Snapshot{Disks: disks}
	step("2026-03-10 02:00", "sda short")

	out := logs.String()
	for _, w := range []string{`"test":"long"`, `"message":"self-test started: /dev/sda: long self-test started"`, `"disk":"serial:EVIL`, `"level":"warn"`, "not retried before its next time"} {
		if !strings.Contains(out, w) {
			t.Errorf("log lacks %s:\n%s", w, out)
		}
	}
	if strings.Contains(out, "\x1b") || strings.Contains(out, `\u001b`) {
		t.Errorf("raw control character in the log:\n%s", out)
	}
	st, err := os.Stat(filepath.Join(dir, selfTestFile))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("state file: %v %v", st, err)
	}
	// No schedule: nothing at all, no state read.
	cfg.Collectors.Smart.SelfTests = config.SelfTests{}
	d.selfTests = nil
	step("2026-03-11 02:00")
	if d.selfTests != nil {
		t.Error("self-tester made without a schedule")
	}
}
