package history

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rs/zerolog"
	bolt "go.etcd.io/bbolt"
	"golang.org/x/sys/unix"

	"github.com/diskwatch/diskwatch/alerts/engine"
	"github.com/diskwatch/diskwatch/alerts/rules"
	"github.com/diskwatch/diskwatch/collectors/model"
)

var base = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)

// Both stores are what the engine writes to and what rules read.
var (
	_ engine.Store    = (*Store)(nil)
	_ rules.History   = (*Store)(nil)
	_ rules.Baselines = (*Store)(nil)
	_ engine.Store    = (*Mem)(nil)
	_ rules.History   = (*Mem)(nil)
	_ rules.Baselines = (*Mem)(nil)
)

func samples(v float64, subjects ...string) []model.Sample {
	var out []model.Sample
	for _, s := range subjects {
		out = append(out, model.Sample{Subject: s, Metric: "smart_attr_5_raw", Value: v}, model.Sample{Subject: s, Metric: "temperature_c", Value: 30 + v})
	}
	return out
}

func mustOpen(t *testing.T, dir string, o Options) *Store {
	t.Helper()
	s, err := Open(context.Background(), dir, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestAppendSeriesAck(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	s := mustOpen(t, dir, Options{})
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		if err := s.Append(ctx, base.Add(time.Duration(i)*time.Hour), samples(float64(i), "wwn:0x5000c500a1b2c3d4", "md0")); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Series("wwn:0x5000c500a1b2c3d4", "smart_attr_5_raw", base.Add(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	want := []rules.Point{{Time: base.Add(2 * time.Hour), Value: 2}, {Time: base.Add(3 * time.Hour), Value: 3}, {Time: base.Add(4 * time.Hour), Value: 4}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("series (-want +got):\n%s", d)
	}
	if got, _ := s.Series("md0", "nope", base); got != nil {
		t.Errorf("unknown metric: %v", got)
	}
	if got, _ := s.Series("nobody", "temperature_c", base); got != nil {
		t.Errorf("unknown subject: %v", got)
	}
	if _, ok := s.Baseline("md0", "smart_attr_5_raw"); ok {
		t.Error("baseline before any ack")
	}
	if err := s.Ack(ctx, "md0", "smart_attr_5_raw", base.Add(5*time.Hour), 8); err != nil {
		t.Fatal(err)
	}
	subj, _ := s.Subjects()
	if d := cmp.Diff([]string{"md0", "wwn:0x5000c500a1b2c3d4"}, subj); d != "" {
		t.Errorf("subjects (-want +got):\n%s", d)
	}
	// Permissions, and everything survives a reopen.
	s.Close()
	for p, mode := range map[string]os.FileMode{dir: 0o755, filepath.Join(dir, FileName): 0o600} {
		if st, err := os.Stat(p); err != nil || st.Mode().Perm() != mode {
			t.Errorf("%s: mode %v (err %v), want %v", p, st.Mode().Perm(), err, mode)
		}
	}
	s = mustOpen(t, dir, Options{})
	if b, ok := s.Baseline("md0", "smart_attr_5_raw"); !ok || b.Value != 8 || !b.Time.Equal(base.Add(5*time.Hour)) {
		t.Errorf("baseline after reopen: %v %v", b, ok)
	}
	latest, _ := s.Latest("md0")
	if d := cmp.Diff(map[string]rules.Point{"smart_attr_5_raw": {Time: base.Add(4 * time.Hour), Value: 4}, "temperature_c": {Time: base.Add(4 * time.Hour), Value: 34}}, latest); d != "" {
		t.Errorf("latest (-want +got):\n%s", d)
	}
}

func TestUnkeyableReadings(t *testing.T) {
	s := mustOpen(t, t.TempDir(), Options{})
	ctx := context.Background()
	bad := []model.Sample{{Subject: "", Metric: "x", Value: 1}, {Subject: "md0", Metric: "", Value: 1}, {Subject: "md0", Metric: "ok_metric", Value: 7}}
	if err := s.Append(ctx, base, bad); err == nil || !strings.Contains(err.Error(), "2 of 3 readings") {
		t.Errorf("unkeyable readings: %v", err)
	}
	if got, _ := s.Series("md0", "ok_metric", base); len(got) != 1 || got[0].Value != 7 {
		t.Errorf("the keyable reading was lost: %v", got)
	}
}

func TestRetentionAndDownsampling(t *testing.T) {
	s := mustOpen(t, t.TempDir(), Options{RawRetention: 7 * rules.Day, DailyRetention: 30 * rules.Day, MaxRawPoints: 100})
	ctx := context.Background()
	// A reading every 6 hours for 40 days (160 cycles), value = cycle number.
	n := 160
	for i := 0; i < n; i++ {
		if err := s.Append(ctx, base.Add(time.Duration(i)*6*time.Hour), samples(float64(i), "sda")); err != nil {
			t.Fatal(err)
		}
	}
	last := base.Add(time.Duration(n-1) * 6 * time.Hour)
	if err := s.Compact(ctx, last); err != nil {
		t.Fatal(err)
	}
	got, err := s.Series("sda", "smart_attr_5_raw", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	// Expected: for each day from the daily cut on, the day's last reading
	// older than the raw cut (day keys are the day start; days starting
	// before the daily cut are dropped), then every raw reading from the
	// raw cut on.
	var want []rules.Point
	rawCut, dailyCut := last.Add(-7*rules.Day), last.Add(-30*rules.Day)
	lastOfDay := map[time.Time]rules.Point{}
	var days []time.Time
	for i := 0; i < n; i++ {
		ti := base.Add(time.Duration(i) * 6 * time.Hour)
		d := ti.Truncate(rules.Day)
		if ti.Before(rawCut) && !d.Before(dailyCut) {
			if _, ok := lastOfDay[d]; !ok {
				days = append(days, d)
			}
			lastOfDay[d] = rules.Point{Time: ti, Value: float64(i)}
		}
	}
	for _, d := range days {
		want = append(want, lastOfDay[d])
	}
	for i := 0; i < n; i++ {
		if ti := base.Add(time.Duration(i) * 6 * time.Hour); !ti.Before(rawCut) {
			want = append(want, rules.Point{Time: ti, Value: float64(i)})
		}
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("series after retention (-want +got):\n%s", d)
	}
	if len(got) > 30+28+1 {
		t.Errorf("%d points kept", len(got))
	}
	// Bounded raw points per series.
	s2 := mustOpen(t, t.TempDir(), Options{MaxRawPoints: 10})
	for i := 0; i < 50; i++ {
		s2.Append(ctx, base.Add(time.Duration(i)*time.Minute), samples(float64(i), "sdb"))
	}
	s2.Compact(ctx, base.Add(50*time.Minute))
	got, _ = s2.Series("sdb", "smart_attr_5_raw", time.Time{})
	// 10 raw points (40..49) plus the day's last folded one (39).
	if len(got) != 11 || got[0].Value != 39 || got[10].Value != 49 {
		t.Errorf("capped series: %v", got)
	}
	// A subject that is gone for longer than the daily retention
	// disappears entirely.
	s.Append(ctx, last.Add(40*rules.Day), samples(1, "sdz"))
	s.Compact(ctx, last.Add(40*rules.Day))
	if subj, _ := s.Subjects(); !cmp.Equal(subj, []string{"sdz"}) {
		t.Errorf("subjects after retention: %v", subj)
	}
}

func TestCorruptStoreMovedAside(t *testing.T) {
	ctx := context.Background()
	cases := map[string]func(t *testing.T, path string){
		"garbage file": func(t *testing.T, path string) {
			os.WriteFile(path, bytes.Repeat([]byte("not a database "), 1000), 0o600)
		},
		"both meta pages damaged": func(t *testing.T, path string) {
			makeStore(t, path)
			damage(t, path, 16, 64)
			damage(t, path, 4096+16, 64)
		},
		"data pages damaged": func(t *testing.T, path string) {
			makeStore(t, path)
			st, _ := os.Stat(path)
			for off := int64(2 * 4096); off < st.Size(); off += 4096 {
				damage(t, path, off, 16)
			}
		},
		"unknown format version": func(t *testing.T, path string) {
			s := makeStore(t, path)
			_ = s
			db := mustOpenRaw(t, path)
			db.setVersion(t, "99")
		},
	}
	for name, spoil := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, FileName)
			spoil(t, path)
			orig, _ := os.ReadFile(path)
			var log bytes.Buffer
			now := func() time.Time { return base }
			s, err := Open(ctx, dir, Options{Log: zerolog.New(&log), Now: now})
			if err != nil {
				t.Fatalf("a corrupt store must not stop diskwatch: %v", err)
			}
			defer s.Close()
			wantAside := path + ".corrupt-20240301T000000Z"
			if s.MovedAside != wantAside {
				t.Errorf("moved aside to %q, want %q", s.MovedAside, wantAside)
			}
			if kept, _ := os.ReadFile(wantAside); !bytes.Equal(kept, orig) {
				t.Error("the corrupt file was not kept as it was")
			}
			if !strings.Contains(log.String(), `"level":"error"`) || !strings.Contains(log.String(), "corrupt: moved aside") || !strings.Contains(log.String(), wantAside) {
				t.Errorf("log line: %s", log.String())
			}
			// The fresh store works, and opening it again moves nothing.
			if err := s.Append(ctx, base, samples(1, "sda")); err != nil {
				t.Fatal(err)
			}
			s.Close()
			log.Reset()
			s2, err := Open(ctx, dir, Options{Log: zerolog.New(&log), Now: now})
			if err != nil || s2.MovedAside != "" || log.Len() != 0 {
				t.Fatalf("second open: err %v, moved %q, log %q", err, s2.MovedAside, log.String())
			}
			got, _ := s2.Series("sda", "smart_attr_5_raw", base)
			s2.Close()
			if len(got) != 1 {
				t.Errorf("fresh store lost its reading: %v", got)
			}
		})
	}
}

func makeStore(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Dir(path), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 50; i++ {
		s.Append(context.Background(), base.Add(time.Duration(i)*time.Minute), samples(float64(i), "sda", "sdb", "sdc", "md0"))
	}
	s.Close()
	return s
}

func damage(t *testing.T, path string, off int64, n int) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	junk := make([]byte, n)
	rand.New(rand.NewSource(off)).Read(junk)
	if _, err := f.WriteAt(junk, off); err != nil {
		t.Fatal(err)
	}
}

type rawDB struct{ s *Store }

func mustOpenRaw(t *testing.T, path string) rawDB {
	s, err := open(path, Options{LockTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return rawDB{s}
}

func (r rawDB) setVersion(t *testing.T, v string) {
	defer r.s.Close()
	if err := r.s.db().Update(func(tx *bolt.Tx) error { return tx.Bucket(bktMeta).Put(keyVer, []byte(v)) }); err != nil {
		t.Fatal(err)
	}
}

// TestKill9 kills a writer with SIGKILL at random moments, again and
// again, on one store: every Append that returned is there afterwards, at
// most the one being written is lost, and the store opens cleanly each
// time (no move-aside).
func TestKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	dir := t.TempDir()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(1))
	acked := -1
	for round := 0; round < 12; round++ {
		cmd := exec.Command(exe, "-test.run=^TestKill9Child$")
		cmd.Env = append(os.Environ(), "DISKWATCH_KILL9_DIR="+dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan int, 1000)
		go func() {
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				if n, err := strconv.Atoi(strings.TrimPrefix(sc.Text(), "committed ")); err == nil && strings.HasPrefix(sc.Text(), "committed ") {
					lines <- n
				}
			}
			close(lines)
		}()
		// Kill at a random moment after the writer is under way (its first
		// commit of this round), whatever the machine's speed.
		select {
		case n, ok := <-lines:
			if ok && n > acked {
				acked = n
			}
		case <-time.After(60 * time.Second):
			cmd.Process.Kill()
			t.Fatalf("round %d: the writer committed nothing in 60 s", round)
		}
		time.Sleep(time.Duration(rng.Intn(150)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		for n := range lines {
			if n > acked {
				acked = n
			}
		}
		cmd.Wait() // reaps the child: no zombie
		var log bytes.Buffer
		s, err := Open(context.Background(), dir, Options{Log: zerolog.New(&log)})
		if err != nil {
			t.Fatalf("round %d: reopen after kill -9: %v", round, err)
		}
		if s.MovedAside != "" {
			t.Fatalf("round %d: store declared corrupt after kill -9: %s", round, log.String())
		}
		for _, subj := range []string{"sda", "sdb", "md0"} {
			got, err := s.Series(subj, "smart_attr_5_raw", time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			// Values 0..k, contiguous, with k = acked or acked+1.
			for i, p := range got {
				if p.Value != float64(i) {
					t.Fatalf("round %d %s: point %d has value %v: a committed reading is missing", round, subj, i, p.Value)
				}
			}
			if k := len(got) - 1; k < acked || k > acked+1 {
				t.Fatalf("round %d %s: %d readings stored, %d acknowledged", round, subj, len(got), acked+1)
			}
		}
		s.Close()
	}
	if acked < 12 {
		t.Errorf("only %d appends committed in 12 rounds", acked+1)
	}
}

// TestKill9Child is the writer TestKill9 kills; it does nothing otherwise.
func TestKill9Child(t *testing.T) {
	dir := os.Getenv("DISKWATCH_KILL9_DIR")
	if dir == "" {
		t.Skip("helper for TestKill9")
	}
	s, err := Open(context.Background(), dir, Options{})
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(1)
	}
	got, _ := s.Series("sda", "smart_attr_5_raw", time.Time{})
	next := len(got)
	for i := next; ; i++ {
		if err := s.Append(context.Background(), base.Add(time.Duration(i)*time.Minute), samples(float64(i), "sda", "sdb", "md0")); err != nil {
			fmt.Println("append:", err)
			os.Exit(1)
		}
		fmt.Printf("committed %d\n", i)
	}
}

// mountTmpfs mounts a small tmpfs (root only); it skips the test when the
// machine does not allow mounts.
func mountTmpfs(t *testing.T, opts string) string {
	t.Helper()
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, opts); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v): read-only and full-disk behaviour untested", err)
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	return dir
}

func TestReadOnlyFileSystem(t *testing.T) {
	dir := mountTmpfs(t, "size=8m")
	ctx := context.Background()
	s := mustOpen(t, dir, Options{})
	for i := 0; i < 3; i++ {
		s.Append(ctx, base.Add(time.Duration(i)*rules.Day), samples(float64(i), "sda"))
	}
	s.Close()
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_REMOUNT|unix.MS_RDONLY, "size=8m"); err != nil {
		t.Fatal(err)
	}
	ro, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatalf("open on a read-only file system: %v", err)
	}
	defer ro.Close()
	if !ro.ReadOnly() {
		t.Error("not flagged read-only")
	}
	if got, _ := ro.Series("sda", "smart_attr_5_raw", time.Time{}); len(got) != 3 {
		t.Errorf("history not readable: %v", got)
	}
	// The engine logs the skipped readings and still evaluates the rules.
	var log bytes.Buffer
	eng := &engine.Engine{Rules: rules.Default(), Now: func() time.Time { return base.Add(3 * rules.Day) }, Store: ro, History: ro, Log: zerolog.New(&log)}
	res := eng.Cycle(ctx)
	if !strings.Contains(log.String(), "not saved") || !strings.Contains(log.String(), "read-only") {
		t.Errorf("engine log: %s", log.String())
	}
	if len(res.Findings) == 0 {
		t.Error("no findings: rules were not evaluated")
	}
	if err := ro.Append(ctx, base, samples(9, "sda")); !errors.Is(err, ErrReadOnly) {
		t.Errorf("append: %v", err)
	}
	// No store yet on a read-only file system: a clear error.
	if _, err := Open(ctx, filepath.Join(dir, "new"), Options{}); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Errorf("new store on a read-only fs: %v", err)
	}
}

func TestFullDisk(t *testing.T) {
	dir := mountTmpfs(t, "size=256k")
	ctx := context.Background()
	s := mustOpen(t, dir, Options{})
	var failed error
	i := 0
	for ; i < 5000 && failed == nil; i++ {
		subj := []string{fmt.Sprintf("disk%04d-with-a-long-identity-to-fill-pages", i)}
		failed = s.Append(ctx, base.Add(time.Duration(i)*time.Minute), samples(float64(i), subj...))
	}
	if failed == nil {
		t.Fatal("256 KiB never filled up")
	}
	if !errors.Is(failed, syscall.ENOSPC) && !strings.Contains(failed.Error(), "no space") {
		t.Logf("error on a full disk: %v", failed)
	}
	// Readings before the failure are intact and the store stays usable.
	if got, err := s.Series("disk0000-with-a-long-identity-to-fill-pages", "smart_attr_5_raw", time.Time{}); err != nil || len(got) != 1 {
		t.Errorf("earlier reading after ENOSPC: %v %v", got, err)
	}
	s.Close()
	s2, err := Open(ctx, dir, Options{})
	if err != nil || s2.MovedAside != "" {
		t.Fatalf("reopen after a full disk: %v moved %q", err, s2.MovedAside)
	}
	s2.Close()
}

// TestUnchangedWithHeartbeat: an unchanged reading is stored at most once
// per Heartbeat; a change, or the heartbeat's end, is stored; the last
// metric of a subject's bucket (Seek past its end) is handled like the
// others, and readers see the value holding in between.
func TestUnchangedWithHeartbeat(t *testing.T) {
	s := mustOpen(t, t.TempDir(), Options{})
	ctx := context.Background()
	// Every minute for 3 hours; the counter steps to 1 at minute 90, the
	// temperature (last metric in key order) never changes.
	for i := 0; i <= 180; i++ {
		v := 0.0
		if i >= 90 {
			v = 1
		}
		smp := []model.Sample{{Subject: "sda", Metric: "smart_attr_5_raw", Value: v}, {Subject: "sda", Metric: "temperature_c", Value: 40}}
		if err := s.Append(ctx, base.Add(time.Duration(i)*time.Minute), smp); err != nil {
			t.Fatal(err)
		}
	}
	at := func(m int, v float64) rules.Point {
		return rules.Point{Time: base.Add(time.Duration(m) * time.Minute), Value: v}
	}
	for metric, want := range map[string][]rules.Point{
		"smart_attr_5_raw": {at(0, 0), at(60, 0), at(90, 1), at(150, 1)},
		"temperature_c":    {at(0, 40), at(60, 40), at(120, 40), at(180, 40)},
	} {
		got, err := s.Series("sda", metric, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%s (-want +got):\n%s", metric, d)
		}
	}
	// The rules' readers see the step: held for the whole span, grew by 1.
	ps, _ := s.Series("sda", "temperature_c", base)
	if !rules.HeldFor(ps, base.Add(180*time.Minute), 3*time.Hour, func(v float64) bool { return v >= 40 }) {
		t.Errorf("temperature not seen as held for 3 h: %v", ps)
	}
	if ps, _ := s.Series("sda", "smart_attr_5_raw", base); rules.Increase(ps) != 1 {
		t.Errorf("increase %v over %v", rules.Increase(ps), ps)
	}
	// Reopened, the store knows each series' newest point from the file:
	// an unchanged reading within the heartbeat is still not stored, a
	// changed one is, and the subjects with a recent reading are listed.
	dir := s.path[:len(s.path)-len(FileName)-1]
	s.Close()
	s = mustOpen(t, dir, Options{})
	s.Append(ctx, base.Add(181*time.Minute), []model.Sample{{Subject: "sda", Metric: "temperature_c", Value: 40}, {Subject: "sda", Metric: "smart_attr_5_raw", Value: 2}})
	if ps, _ := s.Series("sda", "temperature_c", base.Add(170*time.Minute)); len(ps) != 1 {
		t.Errorf("after reopening, an unchanged reading was stored: %v", ps)
	}
	if ps, _ := s.Series("sda", "smart_attr_5_raw", base.Add(170*time.Minute)); len(ps) != 1 || ps[0].Value != 2 {
		t.Errorf("after reopening, a changed reading: %v", ps)
	}
	for since, want := range map[time.Duration][]string{170 * time.Minute: {"sda"}, 200 * time.Minute: nil} {
		if got, _ := s.SubjectsWithMetric("smart_attr_5_raw", base.Add(since)); !cmp.Equal(got, want) {
			t.Errorf("subjects with a reading since +%s: %v, want %v", since, got, want)
		}
	}
	// Heartbeat < 0 stores every reading.
	s2 := mustOpen(t, t.TempDir(), Options{Heartbeat: -1})
	for i := 0; i < 5; i++ {
		s2.Append(ctx, base.Add(time.Duration(i)*time.Minute), samples(1, "sdb"))
	}
	if ps, _ := s2.Series("sdb", "temperature_c", time.Time{}); len(ps) != 5 {
		t.Errorf("Heartbeat -1 kept %d of 5 readings", len(ps))
	}
}

// mappedRSS is the resident size in KiB of this process's mappings of path.
func mappedRSS(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skip("no /proc/self/smaps")
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	in, total := false, 0
	for sc.Scan() {
		l := sc.Text()
		if fs := strings.Fields(l); len(fs) >= 5 && strings.Contains(fs[0], "-") && !strings.HasSuffix(fs[0], ":") {
			in = len(fs) >= 6 && fs[len(fs)-1] == path
			continue
		}
		if v, ok := strings.CutPrefix(l, "Rss:"); ok && in {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			total += n
		}
	}
	return total
}

// Compaction (and the check at open) walks every page of the store;
// afterwards the pages leave the process's resident set (they stay in the page cache) and reads still
// see every point.
func TestCompactionDropsResidentPages(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{Heartbeat: -1})
	ctx := context.Background()
	var subjects []string
	for i := 0; i < 50; i++ {
		subjects = append(subjects, fmt.Sprintf("disk%02d", i))
	}
	for i := 0; i < 200; i++ {
		if err := s.Append(ctx, base.Add(time.Duration(i)*time.Minute), samples(float64(i), subjects...)); err != nil {
			t.Fatal(err)
		}
	}
	for _, subj := range subjects {
		s.Series(subj, "smart_attr_5_raw", time.Time{})
	}
	path, _ := filepath.EvalSymlinks(filepath.Join(dir, FileName))
	before := mappedRSS(t, path)
	if before < 64 {
		t.Fatalf("store mapping only %d KiB resident after reading everything: the test cannot tell", before)
	}
	if err := s.Compact(ctx, base.Add(200*time.Minute)); err != nil {
		t.Fatal(err)
	}
	after := mappedRSS(t, path)
	if after > before/4 {
		t.Errorf("store mapping resident: %d KiB before compaction, %d KiB after", before, after)
	}
	if ps, _ := s.Series("disk07", "smart_attr_5_raw", time.Time{}); len(ps) != 200 || ps[199].Value != 199 {
		t.Errorf("after dropping pages: %d points", len(ps))
	}
	t.Logf("store mapping resident: %d KiB before compaction, %d KiB after", before, after)
	// Opening checks every page, and drops them too.
	s.Close()
	s = mustOpen(t, dir, Options{})
	if reopened := mappedRSS(t, path); reopened > before/4 {
		t.Errorf("store mapping resident after open: %d KiB", reopened)
	}
}
