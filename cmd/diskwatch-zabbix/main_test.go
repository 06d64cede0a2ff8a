package main

import (
	"bytes"
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
	// A stale snapshot hands over to `diskwatch zabbix` (absent here: the
	// error says so).
	doc.Written = now.Add(-time.Hour)
	snapshot.Write(filepath.Join(state, snapshot.FileName), doc)
	_, errs, code := call(t, state, "get", "md.degraded[md0]")
	if code == 0 || !strings.Contains(errs, "diskwatch") {
		t.Errorf("stale: exit %d, %q", code, errs)
	}
}
