package smart

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/diskwatch/diskwatch/collectors/hostroot"
)

// sysTree builds a fixture root laid out as Linux sysfs lays out block
// devices: /sys/block/NAME is a symlink into /sys/devices, and
// /sys/block/NAME/device links to the SCSI device (vendor, type) or the
// NVMe controller.
func sysTree(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	mk := func(p, content string) {
		p = filepath.Join(root, p)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	link := func(target, name string) {
		name = filepath.Join(root, name)
		os.MkdirAll(filepath.Dir(name), 0o755)
		if err := os.Symlink(target, name); err != nil {
			t.Fatal(err)
		}
	}
	scsiDisk := func(name, hostPath, vendor, typ string) {
		dev := "sys/devices/" + hostPath
		mk(dev+"/vendor", vendor+"\n")
		mk(dev+"/type", typ+"\n")
		mk(dev+"/block/"+name+"/size", "131072\n")
		link("../../../"+filepath.Base(hostPath), "sys/devices/"+hostPath+"/block/"+name+"/device")
		link("../devices/"+hostPath+"/block/"+name, "sys/block/"+name)
		mk("dev/"+name, "")
	}
	scsiDisk("sda", "pci0000:00/0000:00:1f.2/ata1/host0/target0:0:0/0:0:0:0", "ATA     ", "0")
	scsiDisk("sdb", "pci0000:00/0000:00:03.0/virtio1/host2/target2:0:0/2:0:0:0", "QEMU    ", "0")
	scsiDisk("sdc", "pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host6/target6:0:0/6:0:0:0", "Samsung ", "0")
	scsiDisk("sr0", "pci0000:00/0000:00:1f.2/ata2/host1/target1:0:0/1:0:0:0", "QEMU    ", "5")
	scsiDisk("sdd", "pci0000:00/0000:00:1f.2/ata3/host3/target3:0:0/3:0:0:0", "HL-DT-ST", "5")
	// NVMe: namespace nvme0n1 whose device is the controller nvme0.
	mk("sys/devices/pci0000:00/0000:00:04.0/nvme/nvme0/serial", "deadbeef\n")
	mk("sys/devices/pci0000:00/0000:00:04.0/nvme/nvme0/nvme0n1/size", "131072\n")
	link("../../nvme0", "sys/devices/pci0000:00/0000:00:04.0/nvme/nvme0/nvme0n1/device")
	link("../devices/pci0000:00/0000:00:04.0/nvme/nvme0/nvme0n1", "sys/block/nvme0n1")
	link("../../devices/pci0000:00/0000:00:04.0/nvme/nvme0", "sys/class/nvme/nvme0")
	// A controller with no namespace yet.
	mk("sys/devices/pci0000:00/0000:00:05.0/nvme/nvme1/serial", "x\n")
	link("../../devices/pci0000:00/0000:00:05.0/nvme/nvme1", "sys/class/nvme/nvme1")
	mk("dev/nvme0", "")
	mk("dev/nvme1", "")
	for _, v := range []string{"loop0", "zram0", "dm-0", "md127", "vda"} {
		mk("sys/devices/virtual/block/"+v+"/size", "8\n")
		link("../devices/virtual/block/"+v, "sys/block/"+v)
	}
	return root
}

func TestDiscover(t *testing.T) {
	fs := hostroot.New(sysTree(t))
	got, skipped, err := Discover(context.Background(), fs, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	want := []Target{
		{Name: "nvme0", Path: "/dev/nvme0", Protocol: "nvme", Via: "nvme"},
		{Name: "nvme1", Path: "/dev/nvme1", Protocol: "nvme", Via: "nvme"},
		{Name: "sda", Path: "/dev/sda", Protocol: "ata", Via: "sat"},
		{Name: "sdb", Path: "/dev/sdb", Protocol: "scsi", Via: "scsi"},
		{Name: "sdc", Path: "/dev/sdc", Protocol: "ata", Via: "sat", USB: true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("targets:\n got %+v\nwant %+v", got, want)
	}
	reasons := map[string]string{}
	for _, s := range skipped {
		reasons[s.Name] = s.Reason
	}
	for name, want := range map[string]string{"loop0": "loop device", "zram0": "compressed RAM disk", "dm-0": "device-mapper volume",
		"md127": "md RAID array (its members are read)", "sr0": "optical drive", "sdd": "SCSI peripheral type 5 is not a disk",
		"vda": "virtio-blk disk (no SMART pass-through)"} {
		if reasons[name] != want {
			t.Errorf("%s: skipped for %q, want %q", name, reasons[name], want)
		}
	}
	if _, ok := reasons["nvme0n1"]; ok {
		t.Error("namespace reported as skipped; it is read through its controller")
	}
}

func TestTargetFor(t *testing.T) {
	fs := hostroot.New(sysTree(t))
	for dev, want := range map[string]Target{
		"/dev/sda":   {Name: "sda", Path: "/dev/sda", Protocol: "ata", Via: "sat"},
		"sdb":        {Name: "sdb", Path: "/dev/sdb", Protocol: "scsi", Via: "scsi"},
		"/dev/nvme0": {Name: "nvme0", Path: "/dev/nvme0", Protocol: "nvme", Via: "nvme"},
	} {
		got, err := TargetFor(fs, dev)
		if err != nil || got != want {
			t.Errorf("%s: %+v %v", dev, got, err)
		}
	}
	if _, err := TargetFor(fs, "/dev/loop0"); err == nil {
		t.Error("loop device accepted")
	}
}

func TestDiscoverAbsent(t *testing.T) {
	if _, _, err := Discover(context.Background(), hostroot.New(t.TempDir()), zerolog.Nop()); !hostroot.IsNotExist(err) {
		t.Errorf("no /sys/block: %v", err)
	}
}

func TestStandbyPolicy(t *testing.T) {
	for _, c := range []struct {
		policy string
		mode   string
		before int
		skip   bool
	}{
		{"standby", "standby", 0, true}, {"standby", "sleep", 0, true}, {"standby", "idle", 0, false},
		{"standby", "active", 0, false}, {"standby", "unknown", 0, false},
		{"sleep", "standby", 0, false}, {"sleep", "sleep", 0, true},
		{"idle", "idle", 0, true}, {"idle", "active", 0, false},
		{"never", "sleep", 0, false},
		{"standby,3", "standby", 2, true}, {"standby,3", "standby", 3, false},
	} {
		p, err := ParseStandby(c.policy)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Skip(c.mode, c.before); got != c.skip {
			t.Errorf("-n %s, mode %s, skipped %d before: skip=%v, want %v", c.policy, c.mode, c.before, got, c.skip)
		}
	}
	for _, bad := range []string{"deep", "standby,x", "standby,-1"} {
		if _, err := ParseStandby(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	var s State
	s.Record("/dev/sda", true)
	s.Record("/dev/sda", true)
	if s.Skipped("/dev/sda") != 2 {
		t.Error("count")
	}
	s.Record("/dev/sda", false)
	if s.Skipped("/dev/sda") != 0 {
		t.Error("reset")
	}
}

// copiedRoot is a host root whose /sys/block holds copies, not links, with
// udev's database beside it (testdata/roots/README.md).
const copiedRoot = "testdata/roots/copied-udev"

// discoverLogged runs Discover on root and returns its targets, the skip
// reasons by name and its debug log.
func discoverLogged(t *testing.T, root string) ([]Target, map[string]string, string) {
	t.Helper()
	var buf bytes.Buffer
	got, skipped, err := Discover(context.Background(), hostroot.New(root), zerolog.New(&buf).Level(zerolog.DebugLevel))
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]string{}
	for _, s := range skipped {
		reasons[s.Name] = s.Reason
	}
	return got, reasons, buf.String()
}

// copiedTargets are the disks of copiedRoot as ghw's inventory shows them.
var copiedTargets = []Target{
	{Name: "nvme0", Path: "/dev/nvme0", Protocol: "nvme", Via: "nvme"},
	{Name: "nvme1", Path: "/dev/nvme1", Protocol: "nvme", Via: "nvme"},
	{Name: "sda", Path: "/dev/sda", Protocol: "ata", Via: "sat"},
	{Name: "sdb", Path: "/dev/sdb", Protocol: "ata", Via: "sat", USB: true},
	{Name: "sdc", Path: "/dev/sdc", Protocol: "scsi", Via: "scsi"},
}

// TestDiscoverFromGHW shows that ghw's inventory is what discovery uses.
// In copiedRoot no sysfs link says that sdb is behind a USB bridge; udev's
// ID_PATH, which ghw reads from /run/udev/data, does: sdb is read through
// SAT with the SCSI fallback of a bridge. ghw leaves out the unused loop0
// (size 0), skips sr0 as an optical drive (its DriveType) and loop1 (its
// StorageController); udev's model, serial and WWN are in the debug log.
func TestDiscoverFromGHW(t *testing.T) {
	got, reasons, log := discoverLogged(t, copiedRoot)
	if !reflect.DeepEqual(got, copiedTargets) {
		t.Errorf("targets:\n got %+v\nwant %+v", got, copiedTargets)
	}
	wantSkip := map[string]string{"sr0": "optical drive", "loop1": "loop device", "md0": "md RAID array (its members are read)", "dm-0": "device-mapper volume"}
	if !reflect.DeepEqual(reasons, wantSkip) {
		t.Errorf("skipped:\n got %v\nwant %v", reasons, wantSkip)
	}
	for _, want := range []string{`"message":"smart: block devices from ghw"`,
		`"device":"sda","protocol":"ata","via":"sat","usb":false,"controller":"SCSI","bus_path":"pci-0000:00:17.0-ata-1","model":"WDC_WD10EZEX-08WN4A0","serial":"WD-WCC6Y0RJ4XYZ","wwn":"0x50014ee2b5c1d2e3"`,
		`"device":"sdb","protocol":"ata","via":"sat","usb":true,"controller":"SCSI","bus_path":"pci-0000:00:14.0-usb-0:2:1.0-scsi-0:0:0:0"`,
		`"device":"nvme0n1","protocol":"nvme","via":"nvme","usb":false,"controller":"NVMe"`,
		`"device":"nvme1","protocol":"nvme","reason":"NVMe controller without a namespace"`} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %s:\n%s", want, log)
		}
	}
	if strings.Contains(log, "ghw block inventory failed") {
		t.Errorf("fell back:\n%s", log)
	}
	// The sysfs-links tree of TestDiscover goes through ghw too.
	if _, _, log := discoverLogged(t, sysTree(t)); !strings.Contains(log, "smart: block devices from ghw") {
		t.Errorf("sysTree not listed by ghw:\n%s", log)
	}
}

// copyRoot copies copiedRoot to a temporary directory.
func copyRoot(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(copiedRoot)); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestDiscoverGHWPanics: ghw v0.27 indexes the first byte of every line of
// /proc/self/mounts while it looks for a partition's mount, so an empty
// line panics it. Discovery lists /sys/block itself, says so, and loses no
// disk; what only udev knew is lost (sdb is read as plain SCSI), and the
// unused loop0 is listed as skipped.
func TestDiscoverGHWPanics(t *testing.T) {
	root := copyRoot(t)
	if err := os.WriteFile(filepath.Join(root, "proc/self/mounts"), []byte("\n/dev/sda1 /boot ext4 rw 0 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, reasons, log := discoverLogged(t, root)
	want := append([]Target(nil), copiedTargets...)
	want[3] = Target{Name: "sdb", Path: "/dev/sdb", Protocol: "scsi", Via: "scsi"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("targets:\n got %+v\nwant %+v", got, want)
	}
	if reasons["loop0"] != "loop device" || reasons["sr0"] != "optical drive" || len(reasons) != 5 {
		t.Errorf("skipped: %v", reasons)
	}
	if !strings.Contains(log, `"level":"warn","error":"ghw: panicked: runtime error: index out of range`) || !strings.Contains(log, "listed /sys/block directly") {
		t.Errorf("fallback not said:\n%s", log)
	}
}

// TestDiscoverGHWHangs: a sysfs attribute that blocks (here a FIFO with no
// writer in place of sda's queue/rotational, which ghw reads and discovery
// does not) holds ghw, not discovery: after inventoryTimeout discovery
// lists /sys/block itself; while that walk has not returned, the next
// discovery does not start another; once it returns, ghw is used again.
func TestDiscoverGHWHangs(t *testing.T) {
	root := copyRoot(t)
	fifo := filepath.Join(root, "sys/block/sda/queue/rotational")
	os.Remove(fifo)
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	defer func(d time.Duration) { inventoryTimeout = d }(inventoryTimeout)
	inventoryTimeout = 300 * time.Millisecond
	names := func(ts []Target) (n []string) {
		for _, t := range ts {
			n = append(n, t.Name)
		}
		return n
	}
	start := time.Now()
	got, _, log := discoverLogged(t, root)
	if d := time.Since(start); d < inventoryTimeout || d > inventoryTimeout+5*time.Second {
		t.Errorf("took %v with a %v bound", d, inventoryTimeout)
	}
	if !reflect.DeepEqual(names(got), names(copiedTargets)) || !strings.Contains(log, "ghw has not answered: context deadline exceeded") {
		t.Errorf("hung ghw: %v\n%s", names(got), log)
	}
	start = time.Now()
	got, _, log = discoverLogged(t, root)
	if d := time.Since(start); d >= inventoryTimeout || len(got) != len(copiedTargets) || !strings.Contains(log, "abandoned after its timeout, has not returned") {
		t.Errorf("second round (%v): %v\n%s", d, names(got), log)
	}
	// Unblock the walk: a writer opens the FIFO, and the path becomes a
	// plain file for the next walk.
	w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(fifo)
	os.WriteFile(fifo, []byte("1\n"), 0o644)
	w.WriteString("1\n")
	w.Close()
	for i := 0; ghwStuck.Load() > 0; i++ {
		if i == 500 {
			t.Fatal("the abandoned walk did not return")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got, _, log = discoverLogged(t, root); !reflect.DeepEqual(got, copiedTargets) || !strings.Contains(log, "smart: block devices from ghw") {
		t.Errorf("after the walk returned: %+v\n%s", got, log)
	}
}
