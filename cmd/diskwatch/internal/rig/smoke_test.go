package rig

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestRigSmoke(t *testing.T) {
	if os.Getenv("DISKWATCH_RIG") != "1" {
		t.Skip("set DISKWATCH_RIG=1")
	}
	ctx := context.Background()
	cache, _ := filepath.Abs("../../../../testdata/rig/work")
	vm, err := Boot(ctx, Config{CacheDir: cache, Disks: []Disk{{ID: "a0", Bus: AHCI}, {ID: "a1", Bus: AHCI}}, Log: t.Logf, Console: os.Stderr})
	if err != nil {
		t.Fatal(err)
	}
	defer vm.Close()
	if err := vm.WaitBlock(ctx, 60*time.Second, "sda", "sdb"); err != nil {
		t.Fatal(err)
	}
	r, err := vm.Exec(ctx, 30*time.Second, "ls /sys/block; cat /proc/mdstat; mdadm --version; echo err >&2; exit 7")
	t.Logf("%q %d %v", r.Output, r.Exit, err)
}
