package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/diskwatch/diskwatch/alerts/history"
	"github.com/diskwatch/diskwatch/alerts/replay"
	"github.com/diskwatch/diskwatch/collectors/model"
)

func runAt(t *testing.T, now time.Time, args ...string) (string, string, int) {
	t.Helper()
	var o, e bytes.Buffer
	en := &env{stdout: &o, stderr: &e, now: func() time.Time { return now }, getenv: func(string) string { return "" }}
	code := run(context.Background(), en, args)
	return o.String(), e.String(), code
}

// mdRoot is a fixture root with one real /proc/mdstat capture.
func mdRoot(t *testing.T) string {
	root := t.TempDir()
	data, err := os.ReadFile("../../collectors/mdraid/testdata/mdstat/mdstat-md0.txt")
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(root, "proc"), 0o755)
	os.WriteFile(filepath.Join(root, "proc", "mdstat"), data, 0o644)
	return root
}

func TestCheckAppendsHistory(t *testing.T) {
	root, dir, cfg := mdRoot(t), filepath.Join(t.TempDir(), "state"), noConfig(t)
	for i := 0; i < 3; i++ {
		_, stderr, code := runAt(t, fixedNow.Add(time.Duration(i)*time.Hour), "check", "--root", root, "--config", cfg, "--state", dir)
		if code == exitUnknown {
			t.Fatalf("check exit %d: %s", code, stderr)
		}
	}
	st, err := history.Open(context.Background(), dir, history.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	subj, _ := st.Subjects()
	if len(subj) == 0 {
		t.Fatal("check --state stored nothing")
	}
	latest, _ := st.Latest(subj[0])
	for m := range latest {
		ps, _ := st.Series(subj[0], m, time.Time{})
		if len(ps) != 3 || !ps[2].Time.Equal(fixedNow.Add(2*time.Hour)) {
			t.Errorf("%s %s: %v, want 3 readings an hour apart", subj[0], m, ps)
		}
	}
	// A --root run without --state keeps no history (it is not this host).
	if _, stderr, _ := runAt(t, fixedNow, "check", "--root", root, "--config", cfg, "--log-level", "info"); strings.Contains(stderr, "history store") {
		t.Errorf("fixture run touched a history store: %s", stderr)
	}
}

func TestAckStoredDisk(t *testing.T) {
	dir := t.TempDir()
	st, err := history.Open(context.Background(), dir, history.Options{})
	if err != nil {
		t.Fatal(err)
	}
	id := model.DeviceInfo{Model: "ST3000DM001", Serial: "Z1F0ABCD"}.ID()
	st.Append(context.Background(), fixedNow.Add(-time.Hour), []model.Sample{{Subject: id, Metric: "smart_attr_5_raw", Value: 8}, {Subject: id, Metric: "smart_attr_197_raw", Value: 0}})
	st.Close()
	empty := t.TempDir()
	out, stderr, code := runAt(t, fixedNow, "ack", "--root", empty, "--config", noConfig(t), "--state", dir, id, "5")
	if code != exitOK || !strings.Contains(out, "acknowledged smart_attr_5_raw = 8") {
		t.Fatalf("ack: exit %d\n%s%s", code, out, stderr)
	}
	st, _ = history.Open(context.Background(), dir, history.Options{})
	if b, ok := st.Baseline(id, "smart_attr_5_raw"); !ok || b.Value != 8 || !b.Time.Equal(fixedNow) {
		t.Errorf("baseline %v %v", b, ok)
	}
	if _, ok := st.Baseline(id, "smart_attr_197_raw"); ok {
		t.Error("acked an attribute that was not named")
	}
	st.Close()
	if _, _, code := runAt(t, fixedNow, "ack", "--root", empty, "--config", noConfig(t), "--state", dir, "serial:NOPE"); code != exitUnknown {
		t.Errorf("ack of an unknown device: exit %d", code)
	}
}

func TestReplayCommand(t *testing.T) {
	dir := t.TempDir()
	alerts := filepath.Join(dir, "alerts.jsonl")
	stateDir := filepath.Join(dir, "state")
	out, stderr, code := runAt(t, fixedNow, "replay", "--format", "json", "--alerts-out", alerts, "--progress", "off",
		"../../alerts/replay/testdata/2013q2-slice.csv.gz")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var sum replay.Summary
	if err := json.Unmarshal([]byte(out), &sum); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if sum.Rows != 22429 || sum.Drives != 621 || sum.Failed != 62 || len(sum.Methods) != 4 {
		t.Errorf("summary: %+v", sum)
	}
	f, err := os.Open(alerts)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var first replay.AlertLine
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		if n == 0 {
			json.Unmarshal(sc.Bytes(), &first)
		}
		n++
	}
	if n == 0 || first.Serial == "" {
		t.Fatalf("alerts-out: %d lines", n)
	}
	// --progress on: a bar with the total read so far, the drive-days and
	// an elapsed:remaining estimate.
	_, stderr, code = runAt(t, fixedNow, "replay", "--progress", "on", "../../alerts/replay/testdata/2013q2-slice.csv.gz")
	if code != exitOK || !strings.Contains(stderr, "drive-days") || !regexp.MustCompile(`\d+% \|`).MatchString(stderr) || !regexp.MustCompile(`\[\d+s:\d+s\]`).MatchString(stderr) {
		t.Errorf("--progress on: exit %d, stderr %q", code, stderr)
	}
	// --state: the replayed history is in the store, dated as in the
	// data (the first 5 days of the slice, rows verbatim, to stay quick).
	short := filepath.Join(dir, "first-days.csv")
	writeFirstDays(t, "../../alerts/replay/testdata/2013q2-slice.csv.gz", short, "2013-04-14")
	if _, stderr, code := runAt(t, fixedNow, "replay", "--state", stateDir, "--progress", "off", short); code != exitOK {
		t.Fatalf("replay --state: exit %d: %s", code, stderr)
	}
	st, err := history.Open(context.Background(), stateDir, history.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	id := model.DeviceInfo{Model: first.Model, Serial: first.Serial}.ID()
	ps, err := st.Series(id, "smart_attr_5_raw", time.Time{})
	if err != nil || len(ps) == 0 {
		t.Fatalf("replayed history of %s: %v %v", id, ps, err)
	}
	if len(ps) != 5 || !ps[0].Time.Equal(time.Date(2013, 4, 10, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("history %v, want 5 daily readings from 2013-04-10 as in the data", ps)
	}
}

func writeFirstDays(t *testing.T, from, to, last string) {
	t.Helper()
	f, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	sc := bufio.NewScanner(gz)
	sc.Buffer(nil, 1<<20)
	for i := 0; sc.Scan(); i++ {
		if i == 0 || sc.Text()[:10] <= last {
			b.WriteString(sc.Text() + "\n")
		}
	}
	if err := os.WriteFile(to, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
