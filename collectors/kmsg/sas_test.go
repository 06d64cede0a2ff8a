package kmsg

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/diskwatch/diskwatch/collectors/hostroot"
	"github.com/diskwatch/diskwatch/collectors/model"
	"github.com/diskwatch/diskwatch/collectors/smart"
	"github.com/diskwatch/diskwatch/collectors/smart/passthrough"
)

// sasDisk answers the SCSI commands of the native reader for a SAS disk
// whose logical unit has NAA designator 5000c500a1b2c3d4: INQUIRY, the
// VPD list, 0x80 and 0x83 (SPC-4 7.8.6 layout); anything else is
// unsupported.
type sasDisk struct{}

func (sasDisk) SCSIRead(_ context.Context, step string, cdb []byte, n int, _ time.Duration) ([]byte, error) {
	var b []byte
	switch {
	case cdb[0] == 0x12 && cdb[1]&1 == 0:
		b = make([]byte, 96)
		b[2], b[3], b[4] = 6, 2, 91
		copy(b[8:], "SEAGATE ST4000NM0023    0004")
	case cdb[0] == 0x12 && cdb[2] == 0x00:
		b = []byte{0, 0, 0, 3, 0x00, 0x80, 0x83}
	case cdb[0] == 0x12 && cdb[2] == 0x80:
		b = append([]byte{0, 0x80, 0, 8}, "Z1Z0ABCD"...)
	case cdb[0] == 0x12 && cdb[2] == 0x83:
		// Binary code set, association logical unit, NAA, 8 bytes.
		b = []byte{0, 0x83, 0, 12, 0x01, 0x03, 0x00, 0x08, 0x50, 0x00, 0xc5, 0x00, 0xa1, 0xb2, 0xc3, 0xd4}
	default:
		return nil, &passthrough.Error{Device: "sas", Step: step, Err: passthrough.ErrUnsupported}
	}
	if len(b) > n {
		b = b[:n]
	}
	return b, nil
}

// TestSASAttribution: a SAS disk's kernel error lines (identity from
// sysfs wwid "naa.…") and its SMART record (identity from the native
// reader's VPD page 0x83, "0x…" as smartctl prints it) name the same disk.
func TestSASAttribution(t *testing.T) {
	root := t.TempDir()
	dev := filepath.Join(root, "sys", "devices", "pci0000:00", "0000:00:05.0", "host2", "target2:0:0", "2:0:0:0")
	for _, p := range []string{filepath.Join(dev, "block", "sdb"), filepath.Join(root, "sys", "block"), filepath.Join(root, "dev"), filepath.Join(root, "proc")} {
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dev, "wwid"), []byte("naa.5000c500a1b2c3d4\n"), 0o644)
	os.Symlink(dev, filepath.Join(dev, "block", "sdb", "device"))
	os.Symlink(filepath.Join(dev, "block", "sdb"), filepath.Join(root, "sys", "block", "sdb"))
	os.WriteFile(filepath.Join(root, "proc", "uptime"), []byte("30.00 55.00\n"), 0o644)
	// Lines in the kernel's SAS disk error format (as in this package's
	// QEMU capture, testdata/qemu-debian6.1-errors.kmsg).
	var k strings.Builder
	for i, l := range []string{
		"sd 2:0:0:0: [sdb] tag#12 FAILED Result: hostbyte=DID_OK driverbyte=DRIVER_OK cmd_age=0s",
		"sd 2:0:0:0: [sdb] tag#12 Sense Key : Medium Error [current] [descriptor] ",
		"sd 2:0:0:0: [sdb] tag#12 Add. Sense: Unrecovered read error",
		"critical medium error, dev sdb, sector 123456 op 0x0:(READ) flags 0x0 phys_seg 1 prio class 2",
	} {
		fmt.Fprintf(&k, "3,%d,%d,-;%s\n", 100+i, 1000000*(i+1), l)
	}
	os.WriteFile(filepath.Join(root, "dev", "kmsg"), []byte(k.String()), 0o644)

	evs, err := collect(t, New(hostroot.New(root), Options{Now: clock}))
	if err != nil {
		t.Fatal(err)
	}
	var d model.Disk
	if err := (&smart.Reader{}).ReadSCSI(context.Background(), sasDisk{}, &d); err != nil {
		t.Fatal(err)
	}
	if d.Device.WWN != "0x5000c500a1b2c3d4" {
		t.Fatalf("native SCSI reader WWN %q", d.Device.WWN)
	}
	n := 0
	for _, e := range evs {
		if e.Device != "sdb" {
			continue
		}
		n++
		if e.Disk != d.Device.ID() {
			t.Errorf("kernel event %s on %q, SMART record %q", e.Kind, e.Disk, d.Device.ID())
		}
	}
	if n == 0 {
		t.Fatalf("no event on sdb: %+v", evs)
	}
	t.Logf("%d kernel events and the SMART record keyed %s", n, d.Device.ID())
}
