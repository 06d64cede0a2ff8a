package mdraid

import (
	"context"
	"encoding/binary"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/diskwatch/diskwatch/collectors/hostroot"
	"github.com/diskwatch/diskwatch/collectors/model"
)

// mbrDisk returns a disk image with an MBR; bootCode puts a boot loader
// stub in it; partType is partition 1's type byte.
func mbrDisk(bootCode bool, partType byte) []byte {
	img := make([]byte, 64*1024)
	if bootCode {
		copy(img, []byte{0xeb, 0x63, 0x90}) // jmp, as GRUB's boot.img starts
	}
	img[446+4] = partType
	img[510], img[511] = 0x55, 0xaa
	return img
}

// gptDisk returns a protective-MBR GPT image whose entry 1 has typeGUID.
func gptDisk(typeGUID []byte) []byte {
	img := mbrDisk(false, 0xee)
	h := img[512:]
	copy(h, "EFI PART")
	le := binary.LittleEndian
	le.PutUint64(h[72:], 2)   // entries at LBA 2
	le.PutUint32(h[80:], 128) // entries
	le.PutUint32(h[84:], 128) // entry size
	copy(img[1024:], typeGUID)
	le.PutUint64(img[1024+32:], 34)  // first LBA
	le.PutUint64(img[1024+40:], 100) // last LBA
	return img
}

func bootRoot(t *testing.T, sdb []byte) *root {
	r := newRoot(t)
	r.text("proc/mdstat", `Personalities : [raid1]
md0 : active raid1 sdb1[1] sda1[0]
      1047552 blocks super 1.2 [2/2] [UU]

unused devices: <none>
`)
	r.text("proc/1/mountinfo", "22 1 9:0 / / rw,relatime shared:1 - ext4 /dev/md0 rw\n"+
		"23 22 0:21 / /proc rw,nosuid shared:2 - proc proc rw\n")
	r.text("sys/block/md0/dev", "9:0\n")
	r.blockdev("sda1", "8:1", superblock12(uuidA, 1, 16384), true)
	r.blockdev("sdb1", "8:17", superblock12(uuidA, 1, 16384), true)
	r.file("dev/sda", mbrDisk(true, 0xfd))
	r.file("dev/sdb", sdb)
	return r
}

func TestBootRedundancy(t *testing.T) {
	// sda: a stub boot code, no partition table gap: no core.img.
	sda := model.BootInfo{Disk: "sda", Firmware: "bios", BIOS: true}
	for _, tc := range []struct {
		name string
		sdb  []byte
		want []model.BootInfo
	}{
		{"sdb has no boot code", mbrDisk(false, 0xfd), []model.BootInfo{{Disk: "sdb", Firmware: "bios"}, sda}},
		{"sdb has boot code", mbrDisk(true, 0xfd), []model.BootInfo{{Disk: "sdb", Firmware: "bios", BIOS: true}, sda}},
		{"sdb is GPT with an ESP", gptDisk(espGUID), []model.BootInfo{{Disk: "sdb", Firmware: "bios", GPT: true, EFI: true, ESPPartition: 1}, sda}},
		{"sdb is GPT without an ESP", gptDisk(make([]byte, 16)), []model.BootInfo{{Disk: "sdb", Firmware: "bios", GPT: true}, sda}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := bootRoot(t, tc.sdb)
			var snap model.Snapshot
			if err := New(hostroot.New(r.dir)).Collect(context.Background(), &snap); err != nil {
				t.Fatal(err)
			}
			a := snap.Arrays[0]
			if diff := cmp.Diff([]string{"/"}, a.MountPoints); diff != "" {
				t.Errorf("mount points (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.want, a.Boot); diff != "" {
				t.Errorf("boot (-want +got):\n%s", diff)
			}
		})
	}
}

// TestBootStandby: a member disk the standby policy says is asleep is not
// read (its image here is empty: a read would fail) and is reported as
// skipped, not as a disk that cannot boot.
func TestBootStandby(t *testing.T) {
	r := bootRoot(t, nil)
	var snap model.Snapshot
	c := New(hostroot.New(r.dir))
	c.Asleep = func(_ context.Context, disk string) (bool, string) { return disk == "sdb", "standby" }
	if err := c.Collect(context.Background(), &snap); err != nil {
		t.Fatal(err)
	}
	want := []model.BootInfo{{Disk: "sdb", Skipped: "standby"}, {Disk: "sda", Firmware: "bios", BIOS: true}}
	if diff := cmp.Diff(want, snap.Arrays[0].Boot); diff != "" {
		t.Errorf("boot (-want +got):\n%s", diff)
	}
	// Without the policy the empty disk is read, and fails.
	snap = model.Snapshot{}
	if err := New(hostroot.New(r.dir)).Collect(context.Background(), &snap); err == nil {
		t.Error("reading the empty sdb did not fail: the test cannot tell a read from a skip")
	}
}

func TestUnescapeMount(t *testing.T) {
	if got := unescapeMount(`/mnt/a\040b`); got != "/mnt/a b" {
		t.Errorf("got %q", got)
	}
	if got := unescapeMount(`/x\`); got != `/x\` {
		t.Errorf("got %q", got)
	}
}

func FuzzBootSectors(f *testing.F) {
	f.Add(mbrDisk(true, 0xfd)[:512], gptDisk(espGUID)[512:1024], gptDisk(espGUID)[1024:])
	f.Fuzz(func(t *testing.T, mbr, hdr, entries []byte) {
		ParseMBR(mbr)
		IsCoreImg(mbr)
		if h, err := ParseGPTHeader(hdr); err == nil {
			GPTHasESP(entries, h)
		}
	})
}
