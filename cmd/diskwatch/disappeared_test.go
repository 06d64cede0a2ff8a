package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSensorDisappearedAcrossRuns: a probe read by one check and gone at the
// next is reported, through the history store that check keeps.
func TestSensorDisappearedAcrossRuns(t *testing.T) {
	root, stateDir, cfg := t.TempDir(), t.TempDir(), noConfig(t)
	hw := filepath.Join(root, "sys", "class", "hwmon", "hwmon0")
	os.MkdirAll(hw, 0o755)
	os.WriteFile(filepath.Join(hw, "name"), []byte("probe\n"), 0o644)
	os.WriteFile(filepath.Join(hw, "temp1_input"), []byte("31000\n"), 0o644)
	out, errOut, code := runCmd(t, nil, "check", "--config", cfg, "--root", root, "--state", stateDir, "--format", "json")
	if code != exitOK || !strings.Contains(out, `"sensor_temperature"`) && !strings.Contains(out, "hwmon/probe") {
		t.Fatalf("first run: exit %d\n%s\n%s", code, out, errOut)
	}
	os.RemoveAll(hw)
	saved := fixedNow
	fixedNow = fixedNow.Add(5 * time.Minute)
	defer func() { fixedNow = saved }()
	out, errOut, code = runCmd(t, nil, "check", "--config", cfg, "--root", root, "--state", stateDir)
	if code != exitWarning || !strings.Contains(out, "disappeared") {
		t.Fatalf("second run: exit %d\n%s\n%s", code, out, errOut)
	}
}
