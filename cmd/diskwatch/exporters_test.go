package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/diskwatch/diskwatch/alerts/output/snapshot"
	"github.com/diskwatch/diskwatch/collectors/model"
)

func writeCfg(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "diskwatch.yaml")
	os.WriteFile(p, []byte(baseConfig), 0o600)
	return p
}

// `diskwatch metrics` with no daemon reads the root directly; the output
// passes promtool.
func TestMetricsCommandDirect(t *testing.T) {
	out, errs, code := runCmd(t, map[string]string{"DISKWATCH_ROOT": "testdata/roots/degraded-mix"},
		"metrics", "--state", t.TempDir(), "--config", writeCfg(t))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(out, `diskwatch_md_degraded{device="md9"} 1`) || !strings.Contains(out, `diskwatch_md_disks{device="md9",state="failed"} 2`) {
		t.Errorf("metrics:\n%s", out)
	}
	promtoolCheck(t, []byte(out))
}

// promtoolCheck runs `promtool check metrics` over a metrics exposition
// when promtool is installed (Debian package prometheus).
func promtoolCheck(t *testing.T, metrics []byte) {
	t.Helper()
	if p, err := exec.LookPath("promtool"); err == nil {
		c := exec.Command(p, "check", "metrics")
		c.Stdin = bytes.NewReader(metrics)
		if o, err := c.CombinedOutput(); err != nil || len(bytes.TrimSpace(o)) > 0 {
			t.Errorf("promtool check metrics: %v\n%s", err, o)
		}
	}
}

// With a fresh daemon snapshot, metrics and zabbix items come from it and
// never read the root; a stale one is ignored.
func TestSnapshotPreferredWhenFresh(t *testing.T) {
	state := t.TempDir()
	doc := &snapshot.Doc{Written: fixedNow, Host: "fromdaemon", Status: model.Critical,
		Snapshot: &model.Snapshot{Time: fixedNow, Arrays: []model.Array{{Name: "md77", DisksTotal: 2, DisksActive: 1, DisksDown: 1, Degraded: 1, MismatchCount: -1}}},
		Daemon:   &snapshot.Daemon{Interval: 60e9}}
	if err := snapshot.Write(filepath.Join(state, snapshot.FileName), doc); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"DISKWATCH_ROOT": "/nonexistent-root", "DISKWATCH_STATE": state}
	out, errs, code := runCmd(t, env, "zabbix", "get", "md.degraded[md77]")
	if code != 0 || out != "1\n" {
		t.Errorf("zabbix get from snapshot: %q %q %d", out, errs, code)
	}
	out, _, _ = runCmd(t, env, "metrics")
	if !strings.Contains(out, `diskwatch_md_degraded{device="md77"} 1`) {
		t.Errorf("metrics not from the snapshot:\n%s", out)
	}
	// Stale (older than 3 intervals): a Zabbix item says so and reads
	// nothing else; --direct reads the devices.
	doc.Written = fixedNow.Add(-10 * 60e9)
	snapshot.Write(filepath.Join(state, snapshot.FileName), doc)
	env["DISKWATCH_ROOT"] = "testdata/roots/degraded-mix"
	env["DISKWATCH_CONFIG"] = writeCfg(t)
	for _, item := range []string{"md77", "md9"} {
		if out, errs, code := runCmd(t, env, "zabbix", "get", "md.degraded", item); code != 1 || out != "" || !strings.Contains(errs, "diskwatch is not running: its snapshot "+state+"/snapshot.json was written 10m0s ago, more than 3m0s") {
			t.Errorf("stale snapshot, %s: %q %q %d", item, out, errs, code)
		}
	}
	if out, _, code := runCmd(t, env, "zabbix", "--direct", "get", "md.degraded", "md9"); code != 0 || out != "1\n" {
		t.Errorf("direct read: %q %d", out, code)
	}
	// Bad keys never reach a lookup.
	for _, args := range [][]string{{"get", "md.state[--root=/]"}, {"get", "md.state", "../x"}, {"discovery", "../../etc"}, {"get", "md.state[md0]", "extra"}} {
		if _, errs, code := runCmd(t, env, append([]string{"zabbix"}, args...)...); code != 1 || errs == "" {
			t.Errorf("zabbix %v: exit %d, stderr %q", args, code, errs)
		}
	}
}

// The shipped example configuration is valid.
func TestExampleConfigValid(t *testing.T) {
	out, errs, code := runCmd(t, nil, "config", "check", "../../contrib/diskwatch.example.yaml")
	if code != 0 {
		t.Fatalf("contrib/diskwatch.example.yaml: exit %d\n%s%s", code, out, errs)
	}
}
