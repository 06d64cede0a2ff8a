package zabbix_test

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/diskwatch/diskwatch/alerts/output/internal/testdoc"
	"github.com/diskwatch/diskwatch/alerts/output/snapshot"
	"github.com/diskwatch/diskwatch/alerts/output/zabbix"
)

// masterJSON decodes NewMaster's answer as Zabbix's JSONPath sees it.
func masterJSON(t *testing.T, m *zabbix.Master) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(m.JSON(), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestMasterFresh(t *testing.T) {
	doc := testdoc.Doc()
	now := testdoc.Time.Add(42 * time.Second)
	v := masterJSON(t, zabbix.NewMaster("/s/snapshot.json", doc, nil, now, 0))
	if v["running"] != 1.0 || v["error"] != "" || v["age"] != 42.0 || v["max_age"] != 180.0 {
		t.Errorf("running %v error %q age %v max_age %v", v["running"], v["error"], v["age"], v["max_age"])
	}
	// Every entity of the snapshot is there, with its own findings.
	for list, n := range map[string]int{"disks": len(doc.Snapshot.Disks), "arrays": len(doc.Snapshot.Arrays), "ups": 1, "sensors": 1} {
		if got := len(v[list].([]any)); got != n {
			t.Errorf("%s: %d, want %d", list, got, n)
		}
	}
	var attrs int
	for _, d := range doc.Snapshot.Disks {
		attrs += len(d.ATAAttributes)
	}
	if attrs == 0 || len(v["attributes"].([]any)) != attrs {
		t.Errorf("attributes: %d, want %d", len(v["attributes"].([]any)), attrs)
	}
	// Findings: counted once each; each non-OK one lands on its entity
	// or among the others, never both and never lost.
	lines := 0
	for _, f := range doc.Findings {
		if f.Severity != 0 {
			lines++
		}
	}
	got := 0
	for _, list := range []string{"disks", "arrays", "ups", "sensors"} {
		for _, e := range v[list].([]any) {
			if p := e.(map[string]any)["problems"].(string); p != "OK" {
				got += len(strings.Split(p, "\n"))
			}
		}
	}
	if p := v["other_problems"].(string); p != "OK" {
		got += len(strings.Split(p, "\n"))
	}
	if lines == 0 || got != lines {
		t.Errorf("%d problem lines over the entities, want %d", got, lines)
	}
	if p := v["problems"].(string); len(strings.Split(p, "\n")) != lines {
		t.Errorf("host problems: %q", p)
	}
	// Unknown values are absent, not made up: the mdstat capture has no sysfs
	// (no mismatch_cnt).
	for _, a := range v["arrays"].([]any) {
		if _, ok := a.(map[string]any)["mismatch"]; ok {
			t.Errorf("array %v: mismatch without sysfs", a)
		}
	}
	// A degraded array is CRITICAL with what to do.
	found := false
	for _, a := range v["arrays"].([]any) {
		a := a.(map[string]any)
		if a["degraded"] == 1.0 && a["severity"] == 2.0 && strings.Contains(a["problems"].(string), "what to do: ") {
			found = true
		}
	}
	if !found {
		t.Errorf("no degraded array is CRITICAL with a remedy: %v", v["arrays"])
	}
}

// A snapshot that cannot answer is said so, with the real age when the
// file was read, and carries no reading at all.
func TestMasterNotRunning(t *testing.T) {
	doc := testdoc.Doc()
	dir := t.TempDir()
	path := filepath.Join(dir, snapshot.FileName)
	_, missing := snapshot.Read(path)
	cases := []struct {
		name    string
		doc     *snapshot.Doc
		err     error
		now     time.Time
		maxAge  time.Duration
		age     any
		wantErr string
	}{
		{"missing", nil, missing, testdoc.Time, 0, nil, "diskwatch is not running: no snapshot at " + path},
		{"denied", nil, fmt.Errorf("snapshot: %w", &fs.PathError{Op: "open", Path: path, Err: fs.ErrPermission}), testdoc.Time, 0, nil, "permission denied (the state directory must be mode 0755 and snapshot.json 0644 so the agent's user can read them: chmod 0755 " + dir + ")"},
		{"corrupt", nil, fmt.Errorf("snapshot %s: corrupt: unexpected end of JSON input", path), testdoc.Time, 0, nil, "cannot read the diskwatch snapshot: snapshot " + path + ": corrupt"},
		{"stale (auto)", doc, nil, testdoc.Time.Add(181 * time.Second), 0, 181.0, "was written 3m1s ago, more than 3m0s"},
		{"stale (macro)", doc, nil, testdoc.Time.Add(31 * time.Second), 30 * time.Second, 31.0, "was written 31s ago, more than 30s"},
	}
	for _, c := range cases {
		v := masterJSON(t, zabbix.NewMaster(path, c.doc, c.err, c.now, c.maxAge))
		if v["running"] != 0.0 || !strings.Contains(v["error"].(string), c.wantErr) || v["age"] != c.age {
			t.Errorf("%s: running %v, age %v, error %q (want %q)", c.name, v["running"], v["age"], v["error"], c.wantErr)
		}
		for _, k := range []string{"severity", "problems", "disks", "arrays", "ups", "sensors", "attributes"} {
			if _, ok := v[k]; ok {
				t.Errorf("%s: %s given without a fresh snapshot", c.name, k)
			}
		}
	}
	// A real unreadable file (not as root: root reads anything).
	if os.Geteuid() != 0 {
		os.WriteFile(path, []byte("{}"), 0o000)
		d, err := snapshot.Read(path)
		if v := masterJSON(t, zabbix.NewMaster(path, d, err, testdoc.Time, 0)); !strings.Contains(v["error"].(string), "permission denied") {
			t.Errorf("unreadable file: %q", v["error"])
		}
	}
}

func TestParseMaxAge(t *testing.T) {
	for in, want := range map[string]time.Duration{"": 0, "auto": 0, "600": 10 * time.Minute, "30s": 30 * time.Second, "10m": 10 * time.Minute, "2h": 2 * time.Hour, "1d": 24 * time.Hour, "1w": 7 * 24 * time.Hour} {
		if got, err := zabbix.ParseMaxAge(in); err != nil || got != want {
			t.Errorf("ParseMaxAge(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"0", "-5m", "5x", "m", "1.5h", "{$DISKWATCH.SNAPSHOT.MAXAGE}"} {
		if _, err := zabbix.ParseMaxAge(in); err == nil {
			t.Errorf("ParseMaxAge(%q): no error", in)
		}
	}
}
