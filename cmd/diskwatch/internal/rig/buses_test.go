package rig

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// requireRig skips a real-kernel test unless DISKWATCH_RIG=1, and fails
// (under CI) or skips when a program the rig needs is missing.
func requireRig(t *testing.T) {
	t.Helper()
	if os.Getenv("DISKWATCH_RIG") != "1" {
		t.Skip("real-kernel QEMU test: run with DISKWATCH_RIG=1 (make test-rig)")
	}
	if m := Missing(); len(m) > 0 {
		if os.Getenv("CI") != "" {
			t.Fatalf("rig programs missing: %s (.ci/setup installs them)", strings.Join(m, ", "))
		}
		t.Skipf("rig programs missing: %s (run .ci/setup)", strings.Join(m, ", "))
	}
}

// TestRigBuses boots one machine with a disk on every bus the rig offers
// and checks that each appears in the guest under its serial, that
// smartctl finds them, and that a step's output and exit code come back
// exactly.
func TestRigBuses(t *testing.T) {
	requireRig(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cache, err := filepath.Abs("../../../../testdata/rig/work")
	if err != nil {
		t.Fatal(err)
	}
	disks := []Disk{{ID: "a0", Bus: AHCI}, {ID: "n0", Bus: NVMe}, {ID: "v0", Bus: VirtioSCSI}, {ID: "l0", Bus: LSI}, {ID: "m0", Bus: MegaSAS}}
	vm, err := Boot(ctx, Config{CacheDir: cache, Disks: disks, Log: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer vm.Close()
	var bySerial map[string]string
	for i := 0; ; i++ {
		if bySerial, err = vm.BlockBySerial(ctx); err != nil {
			t.Fatal(err)
		}
		if len(bySerial) >= len(disks) || i == 60 {
			break
		}
		time.Sleep(time.Second)
	}
	for _, d := range disks {
		if bySerial[d.ID] == "" {
			t.Errorf("disk %s (%s) not seen in the guest; have %v", d.ID, d.Bus, bySerial)
		}
	}
	if !strings.HasPrefix(bySerial["n0"], "nvme") {
		t.Errorf("NVMe disk is %q", bySerial["n0"])
	}
	r, err := vm.Exec(ctx, time.Minute, "smartctl --scan-open; printf 'a\\000b\\n' >&2; exit 7")
	if err != nil {
		t.Fatal(err)
	}
	out := string(r.Output)
	if r.Exit != 7 || !strings.HasSuffix(out, "a\x00b\n") {
		t.Errorf("exit %d, output %q: want exit 7 and the exact bytes", r.Exit, out)
	}
	for _, want := range []string{"-d sat", "/dev/nvme0 -d nvme", "-d megaraid,0"} {
		if !strings.Contains(out, want) {
			t.Errorf("smartctl --scan-open lacks %q:\n%s", want, out)
		}
	}
	// A QMP command reaches the NVMe device.
	if _, err := vm.QMP(ctx, "qom-set", map[string]any{"path": "/machine/peripheral/n0", "property": "smart_critical_warning", "value": 4}); err != nil {
		t.Errorf("qmp: %v", err)
	}
	r, err = vm.Exec(ctx, 5*time.Second, "sleep 30")
	if err != nil || r.Exit != 137 {
		t.Errorf("guest timeout: exit %d, err %v; want 137 (killed)", r.Exit, err)
	}
	// A step the host stops waiting for is reported with QEMU's view of
	// the machine; the next step still works.
	sctx, scancel := context.WithTimeout(ctx, 2*time.Second)
	_, err = vm.Exec(sctx, 10*time.Second, "sleep 6")
	scancel()
	if err == nil || !strings.Contains(err.Error(), `"running": true`) || !strings.Contains(err.Error(), "info cpus") {
		t.Errorf("host timeout: %v", err)
	}
	if r, err = vm.Exec(ctx, time.Minute, "echo after"); err != nil || string(r.Output) != "after\n" {
		t.Errorf("step after an abandoned one: %q %v", r.Output, err)
	}
}
