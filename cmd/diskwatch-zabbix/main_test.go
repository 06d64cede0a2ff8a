package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/diskwatch/diskwatch/alerts/output/snapshot"
	"github.com/diskwatch/diskwatch/collectors/model"
)

var now = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func call(t *testing.T, state string, args ...string) (string, string, int) {
	var o, e bytes.Buffer
	env := map[string]string{"DISKWATCH_STATE": state, "PATH": "/nonexistent"}
	code := run(args, &o, &e, func(k string) string { return env[k] }, now)
	return o.String(), e.String(), code
}

func TestFastPath(t *testing.T) {
	state := t.TempDir()
	doc := &snapshot.Doc{Written: now.Add(-time.Minute), Status: model.Warning, Daemon: &snapshot.Daemon{Interval: time.Minute},
		Snapshot: &model.Snapshot{Arrays: []model.Array{{Name: "md0", Level: "raid1", DisksTotal: 2, DisksActive: 2, Degraded: 0}}}}
	if err := snapshot.Write(filepath.Join(state, snapshot.FileName), doc); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		out  string
		code int
	}{
		{[]string{"get", "md.degraded[md0]"}, "0\n", 0},
		{[]string{"get", "md.degraded", "md0", ""}, "0\n", 0},
		{[]string{"get", "diskwatch.status"}, "1\n", 0},
		{[]string{"discovery", "arrays"}, `[{"{#ARRAY}":"md0","{#LEVEL}":"raid1"}]` + "\n", 0},
		{[]string{"get", "md.degraded", "--root=/"}, "", 1},
		{[]string{"get", "md.degraded[md0]", "x"}, "", 1},
		{[]string{"get", "md.degraded[md1]"}, "", 1},
		{[]string{"nope"}, "", 2},
	} {
		out, errs, code := call(t, state, c.args...)
		if out != c.out || code != c.code {
			t.Errorf("%v: %q (stderr %q) exit %d, want %q exit %d", c.args, out, errs, code, c.out, c.code)
		}
	}
	// The template's item: the whole host as JSON.
	out, errs, code := call(t, state, "get", "diskwatch.get", "auto")
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil || code != 0 || errs != "" || m["running"] != 1.0 || m["age"] != 60.0 {
		t.Errorf("diskwatch.get: %q %q exit %d", out, errs, code)
	}
	// A stale snapshot answers nothing but why: no fallback that reads
	// devices as the agent's unprivileged user, nothing on stdout for a
	// single item; the template's item says running 0 with the real age.
	doc.Written = now.Add(-time.Hour)
	snapshot.Write(filepath.Join(state, snapshot.FileName), doc)
	out, errs, code = call(t, state, "get", "md.degraded[md0]")
	if code != 1 || out != "" || !strings.Contains(errs, "diskwatch is not running: its snapshot "+state+"/snapshot.json was written 1h0m0s ago, more than 3m0s") {
		t.Errorf("stale: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	for _, key := range []string{"diskwatch.get[]", "diskwatch.get[auto]", "diskwatch.get[10m]"} {
		out, errs, code = call(t, state, "get", key)
		m = nil
		if err := json.Unmarshal([]byte(out), &m); err != nil || code != 0 || errs != "" || m["running"] != 0.0 || m["age"] != 3600.0 || m["severity"] != nil {
			t.Errorf("%s stale: %q %q exit %d", key, out, errs, code)
		}
	}
	out, errs, code = call(t, state, "get", "diskwatch.get", "2h")
	if !strings.Contains(out, `"running":1`) || code != 0 {
		t.Errorf("max age 2h: %q %q", out, errs)
	}
	out, errs, code = call(t, state, "get", "diskwatch.get", "2x")
	if out != "" || code != 1 || !strings.Contains(errs, "maximum snapshot age") {
		t.Errorf("bad max age: %q %q %d", out, errs, code)
	}
	// No snapshot at all.
	out, errs, code = call(t, t.TempDir(), "get", "diskwatch.get[]")
	if !strings.Contains(out, `"running":0,"error":"diskwatch is not running: no snapshot at `) || code != 0 {
		t.Errorf("missing: %q %q", out, errs)
	}
}
