package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/diskwatch/diskwatch/alerts/config"
	"github.com/diskwatch/diskwatch/collectors/hostroot"
	"github.com/diskwatch/diskwatch/collectors/model"
)

// The kernel-log collector keeps its position in the command's --state
// directory (not daemon.state_dir) on the live host.
func TestKmsgPositionInStateDir(t *testing.T) {
	if _, err := os.Stat("/dev/kmsg"); err != nil {
		t.Skip("no /dev/kmsg here")
	}
	flagDir, cfgDir := t.TempDir(), t.TempDir()
	cfg := &config.Config{}
	cfg.Daemon.StateDir = cfgDir
	now := func() time.Time { return time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC) }
	src := kmsgSource(hostroot.New("/"), cfg, runState{stateDir: flagDir, now: now})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var snap model.Snapshot
	if err := src.Collector.Collect(ctx, &snap); err != nil {
		t.Skipf("/dev/kmsg not readable here: %v", err)
	}
	if _, err := os.Stat(filepath.Join(flagDir, "kmsg-position.json")); err != nil {
		t.Errorf("position not kept in the --state directory: %v", err)
	}
	if es, _ := os.ReadDir(cfgDir); len(es) != 0 {
		t.Errorf("daemon.state_dir used although --state was given: %v", es)
	}
}
