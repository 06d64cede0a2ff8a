package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/diskwatch/diskwatch/collectors/model"
)

// kernelRoot is a fixture root holding the real QEMU kernel-log capture
// (collectors/kmsg/testdata) and a 3w-9xxx SCSI host.
func kernelRoot(t *testing.T) string {
	root := t.TempDir()
	b, err := os.ReadFile("../../collectors/kmsg/testdata/qemu-debian6.1-errors.kmsg")
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, "4,9000,25000000,-;3w-9xxx: scsi0: AEN: ERROR (0x04:0x0009): Drive timeout detected:port=1.\n"...)
	host := filepath.Join(root, "sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0/host0/scsi_host/host0")
	for _, d := range []string{filepath.Join(root, "dev"), filepath.Join(root, "proc"), host, filepath.Join(root, "sys/class/scsi_host")} {
		os.MkdirAll(d, 0o755)
	}
	os.WriteFile(filepath.Join(root, "dev/kmsg"), b, 0o644)
	os.WriteFile(filepath.Join(root, "proc/uptime"), []byte("30.0 1.0\n"), 0o644)
	os.WriteFile(filepath.Join(host, "proc_name"), []byte("3w-9xxx\n"), 0o644)
	os.Symlink("../../devices/pci0000:00/0000:00:01.0/0000:01:00.0/host0/scsi_host/host0", filepath.Join(root, "sys/class/scsi_host/host0"))
	return root
}

func TestKernelLogCommand(t *testing.T) {
	root := kernelRoot(t)
	out, errOut, code := runCmd(t, nil, "kernel-log", "--root", root, "--format", "json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var evs []model.KernelEvent
	if err := json.Unmarshal([]byte(out), &evs); err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, e := range evs {
		kinds[e.Kind+" "+e.Device]++
	}
	if kinds["md_member_failed sdb"] != 1 || kinds["io_error sdc"] != 3 || kinds["raid_drive_timeout twa0 port 1"] != 1 {
		t.Errorf("events: %v", kinds)
	}
	out, _, code = runCmd(t, nil, "kernel-log", "--root", root)
	if code != exitOK || !strings.Contains(out, "raid_drive_timeout") || !strings.Contains(out, "twa0 port 1") {
		t.Errorf("text (exit %d):\n%s", code, out)
	}
	// A root without a kernel log: nothing, and an error.
	if _, _, code := runCmd(t, nil, "kernel-log", "--root", t.TempDir()); code != exitUnknown {
		t.Errorf("no kernel log: exit %d", code)
	}
}

func TestRaidCommand(t *testing.T) {
	root := kernelRoot(t)
	out, errOut, code := runCmd(t, nil, "raid", "--root", root)
	if code != exitOK || !strings.HasPrefix(out, "twa0       3w-9xxx       host0   0000:01:00.0 /dev/twa0") {
		t.Errorf("exit %d\n%s\n%s", code, out, errOut)
	}
	out, _, code = runCmd(t, nil, "raid", "--root", t.TempDir(), "--format", "json")
	if code != exitOK || !strings.Contains(out, `"controllers": []`) {
		t.Errorf("empty root: exit %d\n%s", code, out)
	}
}
