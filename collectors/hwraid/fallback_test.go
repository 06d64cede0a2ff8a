package hwraid

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/diskwatch/diskwatch/collectors"
	"github.com/diskwatch/diskwatch/collectors/hostroot"
	"github.com/diskwatch/diskwatch/collectors/model"
	"github.com/diskwatch/diskwatch/collectors/smartctl"
)

// standIn writes a stand-in smartctl into a directory put first on PATH.
// It appends its arguments to the returned log and answers with the
// capture chosen by the -d type (replies: type -> capture file, exit
// status). --scan-open prints scan.
func standIn(t *testing.T, replies map[string][2]string, scan string) (logPath string) {
	t.Helper()
	dir := t.TempDir()
	logPath = filepath.Join(dir, "calls.log")
	abs, _ := filepath.Abs("testdata/smartctl")
	var sb strings.Builder
	fmt.Fprintf(&sb, "#!/bin/sh\necho \"$*\" >> '%s'\ncase \"$*\" in\n", logPath)
	fmt.Fprintf(&sb, "  *--scan-open*) cat <<'EOF'\n%sEOF\n    exit 0;;\n", scan)
	for typ, r := range replies {
		fmt.Fprintf(&sb, "  *\"-d %s \"*) cat '%s'; exit %s;;\n", typ, filepath.Join(abs, r[0]), r[1])
	}
	sb.WriteString("esac\necho '{}'\nexit 1\n")
	if err := os.WriteFile(filepath.Join(dir, "smartctl"), []byte(sb.String()), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return logPath
}

// threewareRoot is a fixture root with a 3w-9xxx at host 0 exporting one
// unit (sda, "AMCC 9650SE-4LPML DISK": a 4-port controller) and /dev/twa0.
func threewareRoot(t *testing.T) string {
	root := hostsRoot(t, map[int][2]string{0: {"3w-9xxx", "0000:01:00.0"}, 3: {"megaraid_sas", "0000:02:00.0"}})
	unit := filepath.Join(root, "sys", "devices", "pci0000:00", "0000:01:00.0", "host0", "target0:0:0", "0:0:0:0", "block", "sda", "device")
	os.MkdirAll(unit, 0o755)
	os.WriteFile(filepath.Join(unit, "vendor"), []byte("AMCC    \n"), 0o644)
	os.WriteFile(filepath.Join(unit, "model"), []byte("9650SE-4LPML DISK\n"), 0o644)
	os.MkdirAll(filepath.Join(root, "sys", "block"), 0o755)
	os.Symlink("../devices/pci0000:00/0000:01:00.0/host0/target0:0:0/0:0:0:0/block/sda", filepath.Join(root, "sys", "block", "sda"))
	os.MkdirAll(filepath.Join(root, "dev"), 0o755)
	os.WriteFile(filepath.Join(root, "dev", "twa0"), nil, 0o600)
	return root
}

func TestSmartctlFallback(t *testing.T) {
	log := standIn(t, map[string][2]string{
		"3ware,0":    {"ST3500418AS_11.json", "0"},
		"3ware,1":    {"smart-megaraid1.json", "4"},
		"3ware,2":    {"smart-fail.json", "2"}, // empty port
		"3ware,3":    {"WDC_WD20EFRX-68EUZN0_17.json", "0"},
		"megaraid,0": {"smart-megaraid1.json", "4"}, // the same disk seen twice: kept once
		"megaraid,1": {"WDC_WD20EFRX-68EUZN0_17.json", "0"},
	}, "/dev/sda -d scsi # /dev/sda, SCSI device\n/dev/bus/3 -d megaraid,0 # /dev/bus/3 [megaraid_disk_00], SCSI device\n/dev/bus/3 -d megaraid,1 # /dev/bus/3 [megaraid_disk_01], SCSI device\n/dev/bus/9 -d megaraid,7 # another controller\n")
	root := threewareRoot(t)
	c := New(hostroot.New(root), nil, smartctl.Backend{})
	var s model.Snapshot
	err := c.Collect(context.Background(), &s)
	if err != nil {
		t.Fatalf("collect: %v", err)
	}
	calls, _ := os.ReadFile(log)
	want := "--json=c -a -n standby -d 3ware,0 -- /dev/twa0\n" +
		"--json=c -a -n standby -d 3ware,1 -- /dev/twa0\n" +
		"--json=c -a -n standby -d 3ware,2 -- /dev/twa0\n" +
		"--json=c -a -n standby -d 3ware,3 -- /dev/twa0\n" +
		"--scan-open\n" +
		"--json=c -a -n standby -d megaraid,0 -- /dev/bus/3\n" +
		"--json=c -a -n standby -d megaraid,1 -- /dev/bus/3\n"
	if string(calls) != want {
		t.Errorf("smartctl calls:\n%s\nwant:\n%s", calls, want)
	}
	var got []string
	for _, d := range s.Disks {
		got = append(got, fmt.Sprintf("%s|%s|%s|%s", d.Device.Name, d.Device.Via, d.Device.Path, d.Device.Model))
	}
	wantDisks := []string{
		"twa0 port 0|3ware,0|/dev/twa0|ST3500418AS",
		"twa0 port 1|3ware,1|/dev/twa0|WD4000FYYX",
		"twa0 port 3|3ware,3|/dev/twa0|WDC WD20EFRX-68EUZN0",
		// megaraid,0 is the WD4000FYYX of twa0 port 1 again (same WWN):
		// dropped; megaraid,1 repeats port 3's model and serial too.
	}
	if strings.Join(got, "\n") != strings.Join(wantDisks, "\n") {
		t.Errorf("disks:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantDisks, "\n"))
	}
	for _, d := range s.Disks {
		if d.Smartctl == nil || len(d.ATAAttributes) == 0 {
			t.Errorf("%s: not a full record: %+v", d.Device.Name, d)
		}
	}
}

// TestFallbackSkipsOSDisk: a MegaRAID JBOD disk the OS also sees as sdb
// (same WWN) is left to the SMART collector.
func TestFallbackSkipsOSDisk(t *testing.T) {
	standIn(t, map[string][2]string{"megaraid,4": {"smart-megaraid1.json", "4"}},
		"/dev/bus/3 -d megaraid,4 # /dev/bus/3 [megaraid_disk_04], SCSI device\n")
	root := hostsRoot(t, map[int][2]string{3: {"megaraid_sas", "0000:02:00.0"}})
	b, _ := os.ReadFile("testdata/smartctl/smart-megaraid1.json")
	d, err := smartctl.Normalize(b)
	if err != nil || d.Device.WWN == "" {
		t.Fatalf("capture: %v %+v", err, d.Device)
	}
	c := New(hostroot.New(root), nil, smartctl.Backend{})
	var s model.Snapshot
	if err := c.Collect(context.Background(), &s); err != nil || len(s.Disks) != 1 || s.Disks[0].Device.Name != "megaraid0 disk 4" || s.Disks[0].Device.Via != "megaraid,4" {
		t.Fatalf("without sdb: %v %+v", err, s.Disks)
	}
	dev := filepath.Join(root, "sys", "block", "sdb", "device")
	os.MkdirAll(dev, 0o755)
	os.WriteFile(filepath.Join(dev, "wwid"), []byte("naa."+strings.ReplaceAll(d.Device.WWN, " ", "")+"\n"), 0o644)
	s = model.Snapshot{}
	if err := c.Collect(context.Background(), &s); err != nil || len(s.Disks) != 0 {
		t.Fatalf("with sdb: %v %+v", err, s.Disks)
	}
}

// TestFallbackDeviceIDAbove255: smartctl --scan-open lists QEMU's
// megaraid,256, but smartctl would read device 0 there; the fallback does
// not ask it, and says why.
func TestFallbackDeviceIDAbove255(t *testing.T) {
	log := standIn(t, map[string][2]string{"megaraid,0": {"smart-megaraid1.json", "4"}, "megaraid,256": {"smart-megaraid1.json", "4"}},
		"/dev/bus/3 -d megaraid,0 # /dev/bus/3 [megaraid_disk_00], SCSI device\n/dev/bus/3 -d megaraid,256 # /dev/bus/3 [megaraid_disk_256], SCSI device\n")
	root := hostsRoot(t, map[int][2]string{3: {"megaraid_sas", "0000:02:00.0"}})
	var s model.Snapshot
	err := New(hostroot.New(root), nil, smartctl.Backend{}).Collect(context.Background(), &s)
	if err == nil || !strings.Contains(err.Error(), "megaraid0 disk 256: smartctl cannot address device id 256") || len(s.Disks) != 1 || s.Disks[0].Device.Name != "megaraid0 disk 0" {
		t.Errorf("err %v, disks %+v", err, s.Disks)
	}
	if calls, _ := os.ReadFile(log); strings.Contains(string(calls), "megaraid,256 --") {
		t.Errorf("smartctl asked for megaraid,256:\n%s", calls)
	}
}

func TestFallbackAbsentAndUnknownPorts(t *testing.T) {
	var s model.Snapshot
	err := New(hostroot.New(t.TempDir()), nil, smartctl.Backend{}).Collect(context.Background(), &s)
	if !errorsIs(err, collectors.ErrAbsent) {
		t.Fatalf("no controller: %v", err)
	}
	// A fixture root with a controller but nothing that can reach it
	// (no smartctl reader, the native path is the live host's): absent,
	// not a failure.
	err = New(hostroot.New(threewareRoot(t)), &HostNative{FS: hostroot.New(threewareRoot(t))}, nil).Collect(context.Background(), &s)
	if !errorsIs(err, collectors.ErrAbsent) || !strings.Contains(err.Error(), "twa0") {
		t.Fatalf("fixture root without smartctl: %v", err)
	}
	// A 3ware with no unit in sysfs: the port count is unknown and no
	// port is tried blindly.
	log := standIn(t, nil, "")
	root := hostsRoot(t, map[int][2]string{0: {"3w-9xxx", "0000:01:00.0"}})
	err = New(hostroot.New(root), nil, smartctl.Backend{}).Collect(context.Background(), &s)
	if err == nil || !strings.Contains(err.Error(), "port count") {
		t.Fatalf("unknown ports: %v", err)
	}
	if b, _ := os.ReadFile(log); len(b) != 0 {
		t.Errorf("smartctl was called: %s", b)
	}
}

func TestParseScan(t *testing.T) {
	in := "/dev/sda -d scsi # /dev/sda, SCSI device\n/dev/bus/0 -d megaraid,0 # /dev/bus/0 [megaraid_disk_00], SCSI device\n" +
		"/dev/bus/0 -d sat+megaraid,2 # x\n# a note\n/dev/nvme0 -d nvme # /dev/nvme0, NVMe device\n"
	es := ParseScan([]byte(in))
	if len(es) != 4 || es[1] != (ScanEntry{"/dev/bus/0", "megaraid,0"}) {
		t.Fatalf("got %+v", es)
	}
	ts := MegaRAIDTargets(es, 0)
	if len(ts) != 2 || ts[0] != (Target{N: 0}) || ts[1] != (Target{N: 2, SATA: true}) {
		t.Errorf("targets %+v", ts)
	}
	if ts := MegaRAIDTargets(es, 1); len(ts) != 0 {
		t.Errorf("host 1: %+v", ts)
	}
}

func FuzzParseScan(f *testing.F) {
	f.Add([]byte("/dev/bus/0 -d megaraid,0 # /dev/bus/0 [megaraid_disk_00], SCSI device\n"))
	f.Add([]byte("/dev/sda -d scsi # /dev/sda, SCSI device\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, e := range ParseScan(b) {
			if e.Dev == "" || e.Type == "" {
				t.Fatalf("empty entry from %q", b)
			}
		}
		for _, tg := range MegaRAIDTargets(ParseScan(b), 0) {
			if tg.N < 0 {
				t.Fatal("negative id")
			}
		}
	})
}

// nativeStub is a Native whose answers a test sets: the collector's
// choice between the native path and smartctl is what is tested.
type nativeStub struct {
	targets []Target
	tErr    error
	read    func(t Target) (model.Disk, error)
}

func (n nativeStub) Targets(context.Context, Controller) ([]Target, error) { return n.targets, n.tErr }
func (n nativeStub) Read(_ context.Context, _ Controller, t Target) (model.Disk, error) {
	return n.read(t)
}

func TestNativeThenFallback(t *testing.T) {
	log := standIn(t, map[string][2]string{"3ware,2": {"WDC_WD20EFRX-68EUZN0_17.json", "0"}}, "")
	root := threewareRoot(t)
	os.RemoveAll(filepath.Join(root, "sys", "class", "scsi_host", "host3")) // the 3ware only
	nat := nativeStub{targets: []Target{{N: 0}, {N: 1}, {N: 2}}, read: func(tg Target) (model.Disk, error) {
		switch tg.N {
		case 0:
			return model.Disk{Device: model.DeviceInfo{Model: "NATIVE", Serial: "N0", Protocol: "ata"}, SMARTAvailable: true}, nil
		case 1:
			return model.Disk{}, fmt.Errorf("IDENTIFY: %w", ErrNoDrive)
		}
		return model.Disk{}, fmt.Errorf("ioctl: %w", os.ErrInvalid)
	}}
	c := New(hostroot.New(root), nat, smartctl.Backend{})
	var s model.Snapshot
	if err := c.Collect(context.Background(), &s); err != nil {
		b, _ := os.ReadFile(log)
		t.Fatalf("%v; smartctl calls:\n%s", err, b)
	}
	var got []string
	for _, d := range s.Disks {
		got = append(got, d.Device.Name+"|"+d.Device.Via+"|"+d.Device.Model)
	}
	want := "twa0 port 0|3ware,0|NATIVE\ntwa0 port 2|3ware,2|WDC WD20EFRX-68EUZN0"
	if strings.Join(got, "\n") != want {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), want)
	}
	// smartctl ran for the port the native path failed on, only.
	if b, _ := os.ReadFile(log); string(b) != "--json=c -a -n standby -d 3ware,2 -- /dev/twa0\n" {
		t.Errorf("smartctl calls: %q", b)
	}
}

// TestRealScanOutput: smartctl --scan-open as it ran in the QEMU guest
// (megasas at host 6, megasas-gen2 at host 7) gives one target per
// controller, and the fallback reads it as "megaraid0 disk 0".
func TestRealScanOutput(t *testing.T) {
	scan, err := os.ReadFile("testdata/scan-open-qemu-megasas.txt")
	if err != nil {
		t.Fatal(err)
	}
	es := ParseScan(scan)
	if len(es) != 5 {
		t.Fatalf("entries %+v", es)
	}
	for _, h := range []int{6, 7} {
		if ts := MegaRAIDTargets(es, h); len(ts) != 1 || ts[0] != (Target{N: 0}) {
			t.Errorf("host %d: %+v", h, ts)
		}
	}
	log := standIn(t, map[string][2]string{"megaraid,0": {"smart-megaraid1.json", "4"}}, string(scan))
	root := hostsRoot(t, map[int][2]string{6: {"megaraid_sas", "0000:00:07.0"}})
	var s model.Snapshot
	if err := New(hostroot.New(root), nil, smartctl.Backend{}).Collect(context.Background(), &s); err != nil {
		t.Fatal(err)
	}
	if len(s.Disks) != 1 || s.Disks[0].Device.Name != "megaraid0 disk 0" || s.Disks[0].Device.Path != "/dev/bus/6" || s.Disks[0].Device.Via != "megaraid,0" {
		t.Errorf("disks %+v", s.Disks)
	}
	if b, _ := os.ReadFile(log); string(b) != "--scan-open\n--json=c -a -n standby -d megaraid,0 -- /dev/bus/6\n" {
		t.Errorf("calls %q", b)
	}
}
