package mdraid

import (
	"context"
	"testing"

	"github.com/diskwatch/diskwatch/collectors/hostroot"
	"github.com/diskwatch/diskwatch/collectors/model"
)

// TestDetachedMember: a failed member unplugged from the system keeps its
// md entry (sdb[2](F)) while its block device is gone from
// /sys/class/block. Seen in the QEMU rig (testdata/rig, stage
// 08-replugged-readded): `mdadm --remove /dev/sdb` then fails, only
// `mdadm --remove detached` works.
func TestDetachedMember(t *testing.T) {
	r := newRoot(t)
	r.text("proc/mdstat", "Personalities : [raid1]\nmd0 : active raid1 sde[3] sdb[2](F) sda[0]\n      64512 blocks super 1.2 [2/2] [UU]\n\nunused devices: <none>\n")
	for n, st := range map[string]string{"sda": "in_sync", "sdb": "faulty", "sde": "in_sync"} {
		r.text("sys/block/md0/md/dev-"+n+"/state", st+"\n")
	}
	r.text("sys/class/block/sda/size", "131072\n")
	r.text("sys/class/block/sde/size", "131072\n")
	got := collectOne(t, r.dir)
	for _, m := range got.Members {
		if want := m.Name == "sdb"; m.Detached != want {
			t.Errorf("%s: detached = %v, want %v", m.Name, m.Detached, want)
		}
	}
	// Without a /sys/class/block to look in, nothing is called detached.
	r2 := newRoot(t)
	r2.text("proc/mdstat", "Personalities : [raid1]\nmd0 : active raid1 sdb[2](F) sda[0]\n      64512 blocks super 1.2 [2/1] [U_]\n\nunused devices: <none>\n")
	r2.text("sys/block/md0/md/dev-sdb/state", "faulty\n")
	for _, m := range collectOne(t, r2.dir).Members {
		if m.Detached {
			t.Errorf("%s called detached without /sys/class/block", m.Name)
		}
	}
}

// TestDetachedMemberRigCapture reads the real capture of that stage.
func TestDetachedMemberRigCapture(t *testing.T) {
	a := collectOne(t, "../../testdata/rig/captures/08-replugged-readded")
	n := 0
	for _, m := range a.Members {
		if m.Detached {
			n++
			if !m.Faulty {
				t.Errorf("%s detached but not faulty", m.Name)
			}
		}
	}
	if n != 1 || a.DisksActive != 2 {
		t.Errorf("want one detached member of an in-sync md0, got %+v", a)
	}
}

func collectOne(t *testing.T, dir string) model.Array {
	t.Helper()
	var snap model.Snapshot
	if err := New(hostroot.New(dir)).Collect(context.Background(), &snap); err != nil {
		t.Fatalf("collect %s: %v", dir, err)
	}
	for _, a := range snap.Arrays {
		if a.Name == "md0" {
			return a
		}
	}
	t.Fatalf("no md0 in %s", dir)
	return model.Array{}
}
