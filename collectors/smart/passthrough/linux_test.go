//go:build linux

package passthrough

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"unsafe"
)

func TestKernelStructSizes(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) == 8 {
		if s := unsafe.Sizeof(sgIOHdr{}); s != 88 {
			t.Errorf("sg_io_hdr is %d bytes, the kernel's is 88", s)
		}
	}
	if s := unsafe.Sizeof(nvmeAdminCmd{}); s != 72 {
		t.Errorf("nvme_admin_cmd is %d bytes, the kernel's is 72", s)
	}
}

func TestKindOf(t *testing.T) {
	for p, k := range map[string]Kind{"/dev/nvme0": KindNVMe, "/dev/nvme12n1": KindNVMe, "/dev/sda": KindSCSI,
		"/dev/sg3": KindSCSI, "/dev/nvme0n1p1": KindSCSI, "/dev/bus/0": KindSCSI} {
		if g := KindOf(p); g != k {
			t.Errorf("%s: %v", p, g)
		}
	}
}

// A regular file is not a disk: SG_IO fails with ENOTTY (a real kernel
// answer, no mock), and NVMe ioctls are refused before reaching the
// kernel when the node is not an NVMe one.
func TestIoctlOnRegularFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "sda")
	os.WriteFile(p, make([]byte, 4096), 0o600)
	d, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	_, err = d.SCSIRead(context.Background(), "inquiry", InquiryCDB(false, 0, 96), 96, 0)
	var pe *Error
	if !errors.As(err, &pe) || pe.Step != "inquiry" || pe.Device != p {
		t.Fatalf("got %v", err)
	}
	if _, _, err := d.NVMeAdmin(context.Background(), "identify", NVMeIdentifyCmd(1, 0), 0); !errors.Is(err, ErrWrongKind) {
		t.Errorf("NVMe ioctl on a SCSI node: %v", err)
	}
	n := filepath.Join(t.TempDir(), "nvme0")
	os.WriteFile(n, nil, 0o600)
	nd, err := Open(n)
	if err != nil {
		t.Fatal(err)
	}
	defer nd.Close()
	if _, _, err := nd.ATA(context.Background(), "identify", ATACommand{Command: ATAIdentify, Protocol: ATAPIOIn, Blocks: 1, Count: 1}, 0); !errors.Is(err, ErrWrongKind) {
		t.Errorf("SG_IO on an NVMe node: %v", err)
	}
}

func TestOpenPermission(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root opens everything")
	}
	p := filepath.Join(t.TempDir(), "sdz")
	os.WriteFile(p, nil, 0)
	if _, err := Open(p); !errors.Is(err, fs.ErrPermission) {
		t.Errorf("got %v", err)
	}
}
