package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/diskwatch/diskwatch/alerts/history"
	"github.com/diskwatch/diskwatch/alerts/output/snapshot"
	"github.com/diskwatch/diskwatch/collectors/model"
)

// With daemon.state_dir in the configuration and no --state, every command
// finds the daemon's directory: the daemon writes there; metrics and zabbix
// answer from its snapshot (the host is not read: DISKWATCH_ROOT points
// nowhere); report reads its history; ack writes its baseline there;
// diskwatch-zabbix finds it through DISKWATCH_CONFIG.
func TestStateDirFromConfig(t *testing.T) {
	bin := diskwatchBin(t)
	root := t.TempDir()
	copyRoot(t, "degraded-mix", root)
	state := filepath.Join(t.TempDir(), "srv", "dw")
	cfg := filepath.Join(t.TempDir(), "diskwatch.yaml")
	// daemon.state_dir goes under daemon: (baseConfig ends inside notify:).
	os.WriteFile(cfg, []byte(strings.Replace(baseConfig, "daemon:\n", "daemon:\n  state_dir: "+state+"\n", 1)), 0o600)

	run := func(env []string, args ...string) (string, string, int) {
		t.Helper()
		c := exec.Command(bin, args...)
		if filepath.IsAbs(args[0]) {
			c = exec.Command(args[0], args[1:]...)
		}
		c.Env = append(os.Environ(), "DISKWATCH_STATE=", "DISKWATCH_CONFIG=")
		c.Env = append(c.Env, env...)
		var o, e strings.Builder
		c.Stdout, c.Stderr = &o, &e
		err := c.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return o.String(), e.String(), code
	}
	if _, errs, code := run(nil, "daemon", "--config", cfg, "--root", root, "--rounds", "1", "--metrics-listen", "off"); code != 0 {
		t.Fatalf("daemon: exit %d\n%s", code, errs)
	}
	if _, err := os.Stat(filepath.Join(state, snapshot.FileName)); err != nil {
		t.Fatalf("the daemon did not write its snapshot in daemon.state_dir: %v", err)
	}
	elsewhere := []string{"DISKWATCH_ROOT=" + t.TempDir()} // an empty host: only the snapshot knows md9
	out, errs, code := run(elsewhere, "metrics", "--config", cfg)
	if code != 0 || !strings.Contains(out, `diskwatch_md_degraded{device="md9"} 1`) {
		t.Errorf("metrics --config did not answer from daemon.state_dir: exit %d\n%s\n%s", code, errs, out)
	}
	out, errs, code = run(elsewhere, "zabbix", "--config", cfg, "get", "md.degraded[md9]")
	if code != 0 || out != "1\n" {
		t.Errorf("zabbix --config: exit %d %q %s", code, out, errs)
	}
	out, errs, code = run(append(elsewhere, "DISKWATCH_CONFIG="+cfg), filepath.Join(filepath.Dir(bin), "diskwatch-zabbix"), "get", "md.degraded[md9]")
	if code != 0 || out != "1\n" {
		t.Errorf("diskwatch-zabbix with DISKWATCH_CONFIG: exit %d %q %s", code, out, errs)
	}

	html := filepath.Join(t.TempDir(), "r.html")
	_, errs, code = run(nil, "report", "--config", cfg, "--root", root, "--html", html)
	if code != 0 || strings.Contains(errs, "no history store") {
		t.Errorf("report --config did not find the history in daemon.state_dir: exit %d\n%s", code, errs)
	}
	if b, _ := os.ReadFile(html); !strings.Contains(string(b), "md9") {
		t.Errorf("report lacks md9")
	}

	// A disk known from the history only, acknowledged through the config.
	id := model.DeviceInfo{Model: "ST3000DM001", Serial: "Z1F0ABCD"}.ID()
	st, err := history.Open(context.Background(), state, history.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st.Append(context.Background(), fixedNow, []model.Sample{{Subject: id, Metric: "smart_attr_5_raw", Value: 8}})
	st.Close()
	out, errs, code = run(nil, "ack", "--config", cfg, "--root", t.TempDir(), id, "5")
	if code != 0 || !strings.Contains(out, "acknowledged smart_attr_5_raw = 8") {
		t.Fatalf("ack --config: exit %d\n%s%s", code, out, errs)
	}
	st, _ = history.Open(context.Background(), state, history.Options{})
	defer st.Close()
	if b, ok := st.Baseline(id, "smart_attr_5_raw"); !ok || b.Value != 8 {
		t.Errorf("ack did not write its baseline in daemon.state_dir: %v %v", b, ok)
	}
}

// kernel-log finds the daemon's directory through daemon.state_dir too,
// and says how far the watcher has read this boot's kernel log. The daemon
// here watches this host's kernel log only (nothing else, no disk).
func TestKernelLogFindsDaemonStateDir(t *testing.T) {
	if f, err := os.Open("/dev/kmsg"); err != nil {
		t.Skipf("/dev/kmsg not readable here: %v", err)
	} else {
		f.Close()
	}
	state := filepath.Join(t.TempDir(), "dw")
	cfg := filepath.Join(t.TempDir(), "diskwatch.yaml")
	os.WriteFile(cfg, []byte(`collectors:
  mdraid: {enabled: false}
  smart: {enabled: false}
  smartctl: {enabled: false}
  hwraid: {enabled: false}
  hwmon: {enabled: false}
daemon:
  state_dir: `+state+`
  metrics_listen: "off"
`), 0o600)
	if out, err := exec.Command(diskwatchBin(t), "daemon", "--config", cfg, "--rounds", "1").CombinedOutput(); err != nil {
		t.Fatalf("daemon: %v\n%s", err, out)
	}
	out, errs, code := runBin(t, nil, "kernel-log", "--config", cfg)
	if code != 0 || !strings.Contains(out, "(the watcher in "+state+" has read the kernel log up to record ") {
		t.Errorf("kernel-log --config: exit %d\n%s%s", code, out, errs)
	}
}
