package rules

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/diskwatch/diskwatch/collectors/hostroot"
	"github.com/diskwatch/diskwatch/collectors/kmsg"
	"github.com/diskwatch/diskwatch/collectors/model"
)

var kt0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// kernelSnapshot runs the kernel-log collector over a fixture root made
// of the real QEMU capture (collectors/kmsg/testdata) plus the extra lines,
// with the guest's sdc (ata3, AHCIERR) in sysfs and a 3w-9xxx host0.
func kernelSnapshot(t *testing.T, extra ...string) *model.Snapshot {
	t.Helper()
	root := t.TempDir()
	data, err := os.ReadFile("../../collectors/kmsg/testdata/qemu-debian6.1-errors.kmsg")
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range extra {
		data = append(data, fmt.Sprintf("3,%d,%d,-;%s\n", 10000+i, 25000000+i, l)...)
	}
	mk := func(p, content string) {
		p = filepath.Join(root, p)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mk("dev/kmsg", string(data))
	mk("proc/uptime", "30.0 1.0\n")
	target := "../devices/pci0000:00/0000:00:04.0/ata3/host2/target2:0:0/2:0:0:0/block/sdc"
	mk("sys/devices/pci0000:00/0000:00:04.0/ata3/host2/target2:0:0/2:0:0:0/block/sdc/device/wwid",
		"t10.ATA     QEMU HARDDISK                           AHCIERR             \n")
	os.MkdirAll(filepath.Join(root, "sys/block"), 0o755)
	if err := os.Symlink(target, filepath.Join(root, "sys/block/sdc")); err != nil {
		t.Fatal(err)
	}
	mk("sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0/host0/scsi_host/host0/proc_name", "3w-9xxx\n")
	os.MkdirAll(filepath.Join(root, "sys/class/scsi_host"), 0o755)
	os.Symlink("../../devices/pci0000:00/0000:00:01.0/0000:01:00.0/host0/scsi_host/host0", filepath.Join(root, "sys/class/scsi_host/host0"))
	s := &model.Snapshot{Time: kt0}
	c := kmsg.New(hostroot.New(root), kmsg.Options{Now: func() time.Time { return kt0 }})
	if err := c.Collect(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	return s
}

func kfind(fs []model.Finding, rule, subject string) *model.Finding {
	for i := range fs {
		if fs[i].Rule == rule && strings.HasPrefix(fs[i].Subject, subject) {
			return &fs[i]
		}
	}
	return nil
}

func TestKernelRulesCapture(t *testing.T) {
	snap := kernelSnapshot(t, "3w-9xxx: scsi0: AEN: ERROR (0x04:0x0009): Drive timeout detected:port=1.")
	// The SMART side knows sdc: its display name is used.
	snap.Disks = []model.Disk{{Device: model.DeviceInfo{Path: "/dev/sdc", Model: "QEMU HARDDISK", Serial: "AHCIERR", Name: "sdc"}}}
	set := NewSet(KernelLogRules()...)
	fs := set.Evaluate(&Input{Snapshot: snap, Now: kt0}, nil)

	b := kfind(fs, "kernel.error_burst", "sdc (QEMU HARDDISK AHCIERR)")
	if b == nil || b.Severity != model.Warning || b.Values["kernel_errors"] != 16 || len(b.Evidence) != maxEvidence {
		t.Fatalf("burst on sdc: %+v\nall: %+v", b, fs)
	}
	if !strings.Contains(b.Evidence[len(b.Evidence)-1], "sdc") {
		t.Errorf("evidence %q", b.Evidence)
	}
	// sde had 2 I/O errors: below the default count of 3.
	if f := kfind(fs, "kernel.error_burst", "sde"); f != nil {
		t.Errorf("unexpected burst on sde: %+v", f)
	}
	m := kfind(fs, "kernel.media_error", "nvme0n1")
	if m == nil || !strings.Contains(m.Message, "100000, 110000") {
		t.Errorf("media error on nvme0n1: %+v", m)
	}
	tw := kfind(fs, "kernel.raid_drive_timeout", "twa0 port 1")
	if tw == nil || tw.Severity != model.Warning || !strings.Contains(tw.Remedy, "smartctl -a -d 3ware,1 /dev/twa0") {
		t.Errorf("3ware timeout: %+v", tw)
	}

	// A MegaRAID event names the smartctl command with the path its
	// record was read through.
	mr := kernelSnapshot(t, "megaraid_sas 0000:02:00.0: 4714 (578050300s/0x0002/CRIT) - Command timeout on PD 04(e0x20/s4) Path 5000c50012345679, CDB: 28 00 00 00 00 00 00 00 08 00")
	for i := range mr.Events {
		if strings.HasPrefix(mr.Events[i].Line, "megaraid_sas") {
			mr.Events[i].Controller, mr.Events[i].Device = "megaraid0", "megaraid0 disk 4"
		}
	}
	mr.Disks = []model.Disk{{Device: model.DeviceInfo{Path: "/dev/bus/6", Name: "megaraid0 disk 4", Model: "ST4000NM0023", Serial: "Z1Z0"}}}
	f := kfind(set.Evaluate(&Input{Snapshot: mr, Now: kt0}, nil), "kernel.raid_drive_timeout", "megaraid0 disk 4 (ST4000NM0023 Z1Z0)")
	if f == nil || !strings.Contains(f.Remedy, "smartctl -a -d megaraid,4 /dev/bus/6") {
		t.Errorf("megaraid timeout: %+v", f)
	}

	// Configurable: a higher count, and a later evaluation, give none.
	st := &Settings{Global: map[string]map[string]float64{"kernel.error_burst": {"count": 17}}}
	if f := kfind(set.Evaluate(&Input{Snapshot: snap, Now: kt0}, st), "kernel.error_burst", "sdc"); f != nil {
		t.Errorf("count 17: %+v", f)
	}
	late := set.Evaluate(&Input{Snapshot: snap, Now: kt0.Add(2 * time.Hour)}, nil)
	if len(late) != 0 {
		t.Errorf("two hours later: %+v", late)
	}
}

func TestKernelRulesNames(t *testing.T) {
	for _, r := range KernelLogRules() {
		if !strings.HasPrefix(r.Name, "kernel.") || r.Summary == "" {
			t.Errorf("rule %q", r.Name)
		}
	}
}
