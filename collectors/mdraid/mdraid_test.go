package mdraid

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/diskwatch/diskwatch/collectors"
	"github.com/diskwatch/diskwatch/collectors/hostroot"
	"github.com/diskwatch/diskwatch/collectors/model"
)

// root builds a fixture host root file by file.
type root struct {
	t   testing.TB
	dir string
}

func newRoot(t testing.TB) *root { return &root{t, t.TempDir()} }

func (r *root) file(rel string, data []byte) {
	p := filepath.Join(r.dir, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		r.t.Fatal(err)
	}
}

func (r *root) text(rel, s string) { r.file(rel, []byte(s)) }

// superblock12 returns a device image with a version-1.2 md superblock.
func superblock12(uuid [16]byte, level int32, size int) []byte {
	img := make([]byte, size)
	sb := img[4096:]
	le := binary.LittleEndian
	le.PutUint32(sb[0:], mdMagic)
	le.PutUint32(sb[4:], 1)
	copy(sb[16:32], uuid[:])
	copy(sb[32:], "host:0")
	le.PutUint32(sb[72:], uint32(level))
	return img
}

// blockdev adds /sys/class/block/NAME with size and dev, and /dev/NAME.
func (r *root) blockdev(name, dev string, img []byte, partition bool) {
	r.text("sys/class/block/"+name+"/dev", dev+"\n")
	r.text("sys/class/block/"+name+"/size", itoa(len(img)/512)+"\n")
	if partition {
		r.text("sys/class/block/"+name+"/partition", "1\n")
	}
	r.file("dev/"+name, img)
}

func itoa(n int) string { return string(appendInt(nil, n)) }
func appendInt(b []byte, n int) []byte {
	if n >= 10 {
		b = appendInt(b, n/10)
	}
	return append(b, byte('0'+n%10))
}

var uuidA = [16]byte{0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
var uuidB = [16]byte{0xca, 0xfe, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}

// reattachedRoot is the case an operator lived with for weeks: md0 is
// degraded while sdb1, carrying md0's superblock, sits unused.
func reattachedRoot(t testing.TB) *root {
	r := newRoot(t)
	r.text("proc/mdstat", `Personalities : [raid1]
md0 : active raid1 sda1[0]
      1047552 blocks super 1.2 [2/1] [U_]

md1 : active raid1 sdf[1] sde[0]
      1047552 blocks super 1.2 [2/2] [UU]

unused devices: <none>
`)
	r.text("sys/block/md0/md/array_state", "clean\n")
	r.text("sys/block/md0/md/degraded", "1\n")
	r.text("sys/block/md0/md/sync_action", "idle\n")
	r.text("sys/block/md0/md/dev-sda1/state", "in_sync\n")
	r.text("sys/block/md0/md/dev-sda1/slot", "0\n")
	r.text("sys/block/md0/md/dev-sda1/errors", "0\n")
	r.text("sys/block/md0/md/dev-sda1/bad_blocks", "")
	r.text("sys/class/block/sda1/holders/md0", "")
	r.blockdev("sda1", "8:1", superblock12(uuidA, 1, 16384), true)
	r.blockdev("sdb1", "8:17", superblock12(uuidA, 1, 16384), true)
	r.blockdev("sdc1", "8:33", superblock12(uuidB, 1, 16384), true)  // another array's disk
	r.blockdev("sdd", "8:48", make([]byte, 16384), false)            // blank
	r.blockdev("loop0", "7:0", superblock12(uuidA, 1, 16384), false) // never a candidate

	// md1: mdstat says [UU], sysfs says sdf is failing writes.
	r.text("sys/block/md1/md/array_state", "clean\n")
	r.text("sys/block/md1/md/degraded", "0\n")
	r.text("sys/block/md1/md/sync_action", "idle\n")
	r.text("sys/block/md1/md/last_sync_action", "check\n")
	r.text("sys/block/md1/md/mismatch_cnt", "0\n")
	r.text("sys/block/md1/md/dev-sde/state", "in_sync\n")
	r.text("sys/block/md1/md/dev-sde/slot", "0\n")
	r.text("sys/block/md1/md/dev-sde/errors", "0\n")
	r.text("sys/block/md1/md/dev-sde/bad_blocks", "")
	r.text("sys/block/md1/md/dev-sdf/state", "in_sync,write_error,want_replacement\n")
	r.text("sys/block/md1/md/dev-sdf/slot", "1\n")
	r.text("sys/block/md1/md/dev-sdf/errors", "3\n")
	r.text("sys/block/md1/md/dev-sdf/bad_blocks", "100000 1\n")
	r.text("sys/block/md1/md/dev-sdf/unacknowledged_bad_blocks", "")
	return r
}

func TestReattachedDiskIsFound(t *testing.T) {
	r := reattachedRoot(t)
	var snap model.Snapshot
	if err := New(hostroot.New(r.dir)).Collect(context.Background(), &snap); err != nil {
		t.Fatalf("Collect: %v", err)
	}
	if len(snap.Arrays) != 2 {
		t.Fatalf("arrays: %+v", snap.Arrays)
	}
	md0, md1 := snap.Arrays[0], snap.Arrays[1]
	if diff := cmp.Diff([]string{"sdb1"}, md0.Candidates); diff != "" {
		t.Errorf("md0 candidates (-want +got):\n%s", diff)
	}
	if md0.UUID != "deadbeef0102030405060708090a0b0c" || md0.Degraded != 1 || md0.ArrayState != "clean" {
		t.Errorf("md0: %+v", md0)
	}
	if md1.Candidates != nil {
		t.Errorf("md1 is not degraded but has candidates %v", md1.Candidates)
	}
	sdf := md1.Members[0]
	if sdf.Name != "sdf" {
		sdf = md1.Members[1]
	}
	want := model.Member{Name: "sdf", Disk: "sdf", Index: 1, Slot: 1, State: []string{"in_sync", "write_error", "want_replacement"}, Errors: 3, BadBlocks: 1, BadSectors: 1}
	if diff := cmp.Diff(want, sdf); diff != "" {
		t.Errorf("sdf (-want +got):\n%s", diff)
	}
	if md1.LastSyncAction != "check" || md1.MismatchCount != 0 {
		t.Errorf("md1 sysfs: %+v", md1)
	}
}

func TestUdevDatabaseAvoidsDiskReads(t *testing.T) {
	r := reattachedRoot(t)
	// udev knows sdb1's UUID: the collector must use it even though the
	// device node holds no superblock any more.
	r.file("dev/sdb1", make([]byte, 16384))
	r.text("run/udev/data/b8:17", "E:ID_FS_TYPE=linux_raid_member\nE:ID_FS_UUID=deadbeef-0102-0304-0506-0708090a0b0c\n")
	var snap model.Snapshot
	if err := New(hostroot.New(r.dir)).Collect(context.Background(), &snap); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"sdb1"}, snap.Arrays[0].Candidates); diff != "" {
		t.Errorf("candidates (-want +got):\n%s", diff)
	}
}

func TestVanishedDeviceIsAnErrorNotAFailure(t *testing.T) {
	r := reattachedRoot(t)
	os.Remove(filepath.Join(r.dir, "dev/sdd")) // listed in sysfs, gone from /dev
	var snap model.Snapshot
	err := New(hostroot.New(r.dir)).Collect(context.Background(), &snap)
	if err == nil {
		t.Fatal("no error for a vanished device")
	}
	if len(snap.Arrays) != 2 || len(snap.Arrays[0].Candidates) != 1 {
		t.Errorf("the other results were lost: %+v", snap.Arrays)
	}
}

func TestAbsent(t *testing.T) {
	var snap model.Snapshot
	err := New(hostroot.New(t.TempDir())).Collect(context.Background(), &snap)
	if !errors.Is(err, collectors.ErrAbsent) {
		t.Fatalf("no mdstat: %v", err)
	}
	r := newRoot(t)
	r.text("proc/mdstat", "Personalities : \nunused devices: <none>\n")
	err = New(hostroot.New(r.dir)).Collect(context.Background(), &snap)
	if !errors.Is(err, collectors.ErrAbsent) {
		t.Fatalf("no arrays: %v", err)
	}
}

func TestSuperblockVersions(t *testing.T) {
	img := superblock12(uuidA, 5, 8192)
	sb, err := ParseSuperblock("1.2", img[4096:])
	if err != nil || sb.UUID != "deadbeef0102030405060708090a0b0c" || sb.Level != 5 || sb.Name != "host:0" {
		t.Fatalf("1.2: %+v %v", sb, err)
	}
	// 0.90: magic, major 0, uuid words at 20, 52, 56, 60.
	b := make([]byte, 64)
	le := binary.LittleEndian
	le.PutUint32(b[0:], mdMagic)
	le.PutUint32(b[20:], 0x11111111)
	le.PutUint32(b[52:], 0x22222222)
	le.PutUint32(b[56:], 0x33333333)
	le.PutUint32(b[60:], 0x44444444)
	le.PutUint32(b[28:], 1)
	sb, err = ParseSuperblock("0.90", b)
	if err != nil || sb.UUID != "11111111222222223333333344444444" || sb.Level != 1 {
		t.Fatalf("0.90: %+v %v", sb, err)
	}
	if _, err := ParseSuperblock("1.2", make([]byte, 256)); !errors.Is(err, ErrNoSuperblock) {
		t.Fatalf("blank: %v", err)
	}
	if _, err := ParseSuperblock("1.2", img[4096:4100]); err == nil {
		t.Fatal("short: no error")
	}
	offs := superblockOffsets(1 << 20)
	got := map[string]int64{}
	for _, o := range offs {
		got[o.Version] = o.Offset
	}
	want := map[string]int64{"1.2": 4096, "1.1": 0, "1.0": (1<<20 - 8192), "0.90": (1<<20 - 65536)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("offsets (-want +got):\n%s", diff)
	}
}

func FuzzParseSuperblock(f *testing.F) {
	f.Add("1.2", superblock12(uuidA, 1, 8192)[4096:])
	f.Add("0.90", make([]byte, 64))
	f.Fuzz(func(t *testing.T, v string, b []byte) {
		sb, err := ParseSuperblock(v, b)
		if err == nil && len(sb.UUID) != 32 {
			t.Fatalf("uuid %q", sb.UUID)
		}
	})
}
