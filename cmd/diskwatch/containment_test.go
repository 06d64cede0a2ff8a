package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDaemonHungSysfsRead is the hung-device scenario end to end, with the
// built binary: /sys/block/md0/md/array_state is a named pipe nobody ever
// writes to (a read that never returns, as a hung device's can), md0 is
// degraded in /proc/mdstat, and a sensor reads 99 °C. The sensor alerts in
// the first round, mdstat's degraded CRITICAL still arrives, the md
// collector counts as failing and raises daemon.collector_failing, and
// rounds keep their pace (the hung path is not waited on again).
func TestDaemonHungSysfsRead(t *testing.T) {
	diskwatchBin(t)
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	hw := filepath.Join(root, "sys", "class", "hwmon", "hwmon0")
	md := filepath.Join(root, "sys", "block", "md0", "md")
	for _, d := range []string{filepath.Join(root, "proc"), hw, md} {
		os.MkdirAll(d, 0o755)
	}
	os.WriteFile(filepath.Join(root, "proc", "mdstat"), []byte("Personalities : [raid1]\nmd0 : active raid1 sda1[0]\n      1048512 blocks super 1.2 [2/1] [U_]\n\nunused devices: <none>\n"), 0o644)
	os.WriteFile(filepath.Join(md, "level"), []byte("raid1\n"), 0o644)
	if err := syscall.Mkfifo(filepath.Join(md, "array_state"), 0o600); err != nil {
		t.Fatal(err)
	}
	for f, v := range map[string]string{"name": "drivetemp", "temp1_label": "disk", "temp1_input": "99000", "temp1_max": "60000", "temp1_crit": "70000"} {
		os.WriteFile(filepath.Join(hw, f), []byte(v+"\n"), 0o644)
	}
	cfg := `collectors:
  smart: {enabled: false}
  smartctl: {enabled: false}
  kmsg: {enabled: false}
  hwraid: {enabled: false}
daemon:
  interval: 1s
  collector_intervals: {mdraid: 1s, hwmon: 1s}
  metrics_listen: "off"
`
	cfgPath := filepath.Join(dir, "diskwatch.yaml")
	os.WriteFile(cfgPath, []byte(cfg), 0o600)
	start := time.Now()
	d := startDaemon(t, nil, "--root", root, "--config", cfgPath, "--state", filepath.Join(dir, "state"), "--no-history")
	at := map[string]time.Duration{}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) && len(at) < 3 {
		log := d.log.String()
		for _, rule := range []string{"sensor.limit", "md.degraded", "daemon.collector_failing"} {
			if _, ok := at[rule]; !ok && regexp.MustCompile(`"event":"firing","rule":"`+regexp.QuoteMeta(rule)+`"`).MatchString(log) {
				at[rule] = time.Since(start)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("firing after: %v", at)
	for _, rule := range []string{"sensor.limit", "md.degraded", "daemon.collector_failing"} {
		if _, ok := at[rule]; !ok {
			t.Errorf("%s never fired within 60 s:\n%s", rule, d.log.String())
		}
	}
	// One read timeout (5 s) in the first round, then rounds at their
	// pace: the sensor alert comes well before the old 40 s rounds.
	if at["sensor.limit"] > 20*time.Second {
		t.Errorf("the sensor alerted after %s", at["sensor.limit"])
	}
	if !strings.Contains(d.log.String(), "array_state") {
		t.Errorf("the hung read is not named in the log")
	}
}
