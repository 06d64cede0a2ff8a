package hwraid

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/diskwatch/diskwatch/collectors/hostroot"
)

// hostsRoot makes a fixture root with SCSI hosts as sysfs shows them:
// /sys/class/scsi_host/hostN -> ../../devices/.../PCI/hostN/scsi_host/hostN.
func hostsRoot(t testing.TB, hosts map[int][2]string) string {
	root := t.TempDir()
	cls := filepath.Join(root, "sys", "class", "scsi_host")
	if err := os.MkdirAll(cls, 0o755); err != nil {
		t.Fatal(err)
	}
	for n, h := range hosts {
		name := "host" + itoa(n)
		rel := filepath.Join("..", "..", "devices", "pci0000:00", h[1], name, "scsi_host", name)
		dir := filepath.Join(cls, rel)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, "proc_name"), []byte(h[0]+"\n"), 0o644)
		if err := os.Symlink(rel, filepath.Join(cls, name)); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestDiscover(t *testing.T) {
	// The hosts of the QEMU capture (ahci x2, megaraid_sas x2, virtio)
	// plus 3ware and HBA hosts.
	root := hostsRoot(t, map[int][2]string{
		0: {"ahci", "0000:00:04.0"}, 1: {"ahci", "0000:00:04.0"},
		6: {"megaraid_sas", "0000:00:07.0"}, 7: {"megaraid_sas", "0000:00:08.0"},
		8: {"virtio_scsi", "0000:00:05.0"}, 9: {"3w-9xxx", "0000:03:00.0"},
		10: {"3w-9xxx", "0000:04:00.0"}, 11: {"3w-sas", "0000:05:00.0"}, 12: {"mpt3sas", "0000:06:00.0"},
	})
	cs, err := Discover(context.Background(), hostroot.New(root))
	if err != nil {
		t.Fatal(err)
	}
	want := []Controller{
		{Host: 6, Driver: "megaraid_sas", Family: FamilyMegaRAID, Index: 6, Name: "megaraid0", Dev: "/dev/megaraid_sas_ioctl_node", PCI: "0000:00:07.0"},
		{Host: 7, Driver: "megaraid_sas", Family: FamilyMegaRAID, Index: 7, Name: "megaraid1", Dev: "/dev/megaraid_sas_ioctl_node", PCI: "0000:00:08.0"},
		{Host: 9, Driver: "3w-9xxx", Family: Family3ware, Index: 0, Name: "twa0", Dev: "/dev/twa0", PCI: "0000:03:00.0"},
		{Host: 10, Driver: "3w-9xxx", Family: Family3ware, Index: 1, Name: "twa1", Dev: "/dev/twa1", PCI: "0000:04:00.0"},
		{Host: 11, Driver: "3w-sas", Family: Family3ware, Index: 0, Name: "twl0", Dev: "/dev/twl0", PCI: "0000:05:00.0"},
		{Host: 12, Driver: "mpt3sas", Family: FamilyHBA, Index: 12, Name: "host12", PCI: "0000:06:00.0"},
	}
	if len(cs) != len(want) {
		t.Fatalf("got %+v", cs)
	}
	for i := range want {
		if cs[i] != want[i] {
			t.Errorf("controller %d:\n got %+v\nwant %+v", i, cs[i], want[i])
		}
	}
	if cs[2].Port(1) != "twa0 port 1" || cs[2].Via(1, false) != "3ware,1" || cs[0].Via(5, true) != "sat+megaraid,5" || cs[0].Port(5) != "megaraid0 disk 5" {
		t.Errorf("names: %q %q %q", cs[2].Port(1), cs[2].Via(1, false), cs[0].Via(5, true))
	}
	// No sysfs at all: nothing, no error.
	if cs, err := Discover(context.Background(), hostroot.New(t.TempDir())); err != nil || len(cs) != 0 {
		t.Errorf("empty root: %v %v", cs, err)
	}
	// Under --root nothing is created.
	if err := EnsureNodes(hostroot.New(root), cs); err != nil {
		t.Error(err)
	}
}

func TestParseProcDevices(t *testing.T) {
	in := "Character devices:\n  1 mem\n  4 /dev/vc/0\n 10 misc\n245 twa\n246 megaraid_sas_ioctl\n\nBlock devices:\n  8 sd\n  9 md\n"
	m, err := ParseProcDevices([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if m["twa"] != 245 || m["megaraid_sas_ioctl"] != 246 || m["misc"] != 10 {
		t.Errorf("got %v", m)
	}
	if _, ok := m["sd"]; ok {
		t.Error("block device listed as character device")
	}
	if _, err := ParseProcDevices([]byte("Character devices:\n x y z\n")); err == nil {
		t.Error("bad line accepted")
	}
	// The host's own /proc/devices parses.
	if b, err := os.ReadFile("/proc/devices"); err == nil {
		if m, err := ParseProcDevices(b); err != nil || m["mem"] != 1 {
			t.Errorf("/proc/devices: %v %v", m, err)
		}
	}
}

func FuzzParseProcDevices(f *testing.F) {
	if b, err := os.ReadFile("/proc/devices"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("Character devices:\n245 twa\n\nBlock devices:\n  8 sd\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseProcDevices(b)
		if err == nil {
			for k := range m {
				if k == "" {
					t.Fatal("empty name")
				}
			}
		}
	})
}

func errorsIs(err, target error) bool { return errors.Is(err, target) }
