package smart

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/diskwatch/diskwatch/collectors"
	"github.com/diskwatch/diskwatch/collectors/hostroot"
	"github.com/diskwatch/diskwatch/collectors/model"
)

// In a fixture root the device nodes are regular files: the kernel answers
// SG_IO and the NVMe ioctl on them with ENOTTY, a real failure of every
// disk. Each disk's error names the device and the step; none stops the
// others.
func TestCollectFixtureRootErrors(t *testing.T) {
	c := New(hostroot.New(sysTree(t)))
	c.Fallback = nil
	var snap model.Snapshot
	err := c.Collect(context.Background(), &snap)
	if err == nil {
		t.Fatal("no error from regular files")
	}
	msg := err.Error()
	for _, want := range []string{"/dev/sda: IDENTIFY DEVICE", "/dev/sdb: INQUIRY", "/dev/nvme0: Identify Controller", "/dev/nvme1: Identify Controller"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if len(snap.Disks) != 0 {
		t.Errorf("records from regular files: %+v", snap.Disks)
	}
}

func TestCollectAbsent(t *testing.T) {
	var snap model.Snapshot
	if err := New(hostroot.New(t.TempDir())).Collect(context.Background(), &snap); !errors.Is(err, collectors.ErrAbsent) {
		t.Errorf("no sysfs: %v", err)
	}
}

// A fallback reader (smartctl in production) takes over a disk the native
// layer cannot read, and says so in the record.
func TestCollectFallback(t *testing.T) {
	c := New(hostroot.New(sysTree(t)))
	c.Devices = []string{"/dev/sdb"}
	c.Fallback = func(_ context.Context, dev, typ string) (model.Disk, error) {
		return model.Disk{Device: model.DeviceInfo{Path: dev, Protocol: "scsi", Via: typ}}, nil
	}
	var snap model.Snapshot
	if err := c.Collect(context.Background(), &snap); err != nil {
		t.Fatal(err)
	}
	if len(snap.Disks) != 1 || snap.Disks[0].Device.Path != "/dev/sdb" || len(snap.Disks[0].Errors) != 1 || !strings.Contains(snap.Disks[0].Errors[0], "INQUIRY") {
		t.Errorf("%+v", snap.Disks)
	}
}
