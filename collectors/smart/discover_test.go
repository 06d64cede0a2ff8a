package smart

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

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
	got, skipped, err := Discover(fs)
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
	if _, _, err := Discover(hostroot.New(t.TempDir())); !hostroot.IsNotExist(err) {
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
