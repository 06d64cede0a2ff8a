package mdraid

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/diskwatch/diskwatch/collectors/hostroot"
	"github.com/diskwatch/diskwatch/collectors/model"
)

// The disk images here are made by the real tools: sgdisk (gdisk) and
// sfdisk (fdisk) partition them, grub-mkimage (grub-pc-bin,
// grub-efi-amd64-bin) builds GRUB's core.img and EFI binary, mkfs.vfat
// (dosfstools) and mmd/mcopy (mtools) make and fill the ESP. .ci/setup
// installs them.

const (
	imgMiB     = 24
	espFirst   = 2048  // ESP: sectors 2048..34815 (16 MiB)
	espLast    = 34815 // inclusive
	grubPCDir  = "/usr/lib/grub/i386-pc"
	grubEFIDir = "/usr/lib/grub/x86_64-efi"
)

func need(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (.ci/setup installs gdisk, fdisk, dosfstools, mtools, grub-pc-bin, grub-efi-amd64-bin)", tool)
		}
	}
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "MTOOLS_SKIP_CHECK=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}

// sparse returns a path to a new empty image of imgMiB.
func sparse(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(imgMiB << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return p
}

func read(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// grubPC returns GRUB's boot.img and a core.img built by grub-mkimage.
func grubPC(t *testing.T) (boot, core []byte) {
	need(t, "grub-mkimage")
	p := filepath.Join(t.TempDir(), "core.img")
	run(t, "grub-mkimage", "-d", grubPCDir, "-O", "i386-pc", "-o", p, "-p", "(md/0)/boot/grub", "biosdisk", "part_gpt", "part_msdos", "diskfilter", "mdraid1x", "ext2")
	return read(t, filepath.Join(grubPCDir, "boot.img")), read(t, p)
}

// biosGPT partitions a disk with sgdisk: a BIOS boot partition (1 MiB at
// sector 2048) and a Linux RAID partition; withCore writes GRUB's boot.img
// into the protective MBR and core.img into the BIOS boot partition, as
// grub-install does.
func biosGPT(t *testing.T, withCore bool) []byte {
	need(t, "sgdisk")
	p := sparse(t, "disk.img")
	run(t, "sgdisk", "-n", "1:2048:4095", "-t", "1:ef02", "-n", "2:4096:0", "-t", "2:fd00", p)
	img := read(t, p)
	if withCore {
		boot, core := grubPC(t)
		copy(img[:440], boot[:440])
		copy(img[2048*512:], core)
	}
	return img
}

// biosMBR partitions a disk with sfdisk (one Linux RAID partition from
// sector 2048); withCore writes boot.img into the MBR and core.img into
// the gap after it.
func biosMBR(t *testing.T, withCore bool) []byte {
	need(t, "sfdisk")
	p := sparse(t, "disk.img")
	cmd := exec.Command("sfdisk", "-q", p)
	cmd.Stdin = strings.NewReader("label: dos\nstart=2048, type=fd\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sfdisk: %v\n%s", err, out)
	}
	img := read(t, p)
	if withCore {
		boot, core := grubPC(t)
		copy(img[:440], boot[:440])
		copy(img[512:], core)
	}
	return img
}

// uefiGPT partitions a disk with sgdisk: an ESP (sectors 2048-34815) and a
// Linux RAID partition. The ESP gets a FAT file system from mkfs.vfat and
// the files given (path -> content) copied in with mtools.
func uefiGPT(t *testing.T, partGUID string, files map[string][]byte) []byte {
	need(t, "sgdisk", "mkfs.vfat", "mmd", "mcopy")
	p := sparse(t, "disk.img")
	run(t, "sgdisk", "-n", "1:2048:34815", "-t", "1:ef00", "-u", "1:"+partGUID, "-n", "2:34816:0", "-t", "2:fd00", p)
	dir := t.TempDir()
	esp := filepath.Join(dir, "esp.img")
	run(t, "mkfs.vfat", "-C", esp, "16384")
	made := map[string]bool{}
	for name, data := range files {
		parts := strings.Split(name, "/")
		for i := 1; i < len(parts); i++ {
			if d := strings.Join(parts[:i], "/"); !made[d] {
				run(t, "mmd", "-i", esp, "::/"+d)
				made[d] = true
			}
		}
		src := filepath.Join(dir, "src")
		if err := os.WriteFile(src, data, 0o644); err != nil {
			t.Fatal(err)
		}
		run(t, "mcopy", "-o", "-i", esp, src, "::/"+name)
	}
	img := read(t, p)
	copy(img[espFirst*512:], read(t, esp))
	return img
}

// grubEFI returns a GRUB EFI binary built by grub-mkimage; prefix makes two
// builds differ as two GRUB versions would.
func grubEFI(t *testing.T, prefix string) []byte {
	need(t, "grub-mkimage")
	p := filepath.Join(t.TempDir(), "grubx64.efi")
	run(t, "grub-mkimage", "-d", grubEFIDir, "-O", "x86_64-efi", "-o", p, "-p", prefix, "part_gpt", "fat", "ext2", "mdraid1x")
	return read(t, p)
}

// collectBoot runs the collector on a root whose md0 (RAID1 on sda1 and
// sdb1) holds /, with the two disk images; uefi adds /sys/firmware/efi.
func collectBoot(t *testing.T, uefi bool, sda, sdb []byte, efivars map[string][]byte) []model.BootInfo {
	t.Helper()
	r := bootRoot(t, sdb)
	r.file("dev/sda", sda)
	if uefi {
		r.text("sys/firmware/efi/fw_platform_size", "64\n")
	}
	for name, b := range efivars {
		r.file("sys/firmware/efi/efivars/"+name+"-"+efiGlobal, b)
	}
	var snap model.Snapshot
	if err := New(hostroot.New(r.dir)).Collect(context.Background(), &snap); err != nil {
		t.Fatal(err)
	}
	return snap.Arrays[0].Boot
}

func sum(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func TestBootBIOSRealImages(t *testing.T) {
	good := biosGPT(t, true)
	for _, tc := range []struct {
		name string
		sdb  []byte
		want model.BootInfo
	}{
		{"GPT pair with core.img", biosGPT(t, true),
			model.BootInfo{Disk: "sdb", Firmware: "bios", GPT: true, BIOS: true, GRUB: true, BIOSBootPartition: true, CoreImg: true}},
		{"GPT member without core.img", biosGPT(t, false),
			model.BootInfo{Disk: "sdb", Firmware: "bios", GPT: true, BIOSBootPartition: true}},
		{"MBR member with core.img in the gap", biosMBR(t, true),
			model.BootInfo{Disk: "sdb", Firmware: "bios", BIOS: true, GRUB: true, CoreImg: true}},
		{"MBR member with boot code but an empty gap", func() []byte {
			img := biosMBR(t, false)
			boot, _ := grubPC(t)
			copy(img[:440], boot[:440])
			return img
		}(), model.BootInfo{Disk: "sdb", Firmware: "bios", BIOS: true, GRUB: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := collectBoot(t, false, good, tc.sdb, nil)
			want := []model.BootInfo{tc.want, {Disk: "sda", Firmware: "bios", GPT: true, BIOS: true, GRUB: true, BIOSBootPartition: true, CoreImg: true}}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("boot (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBootUEFIRealImages(t *testing.T) {
	grub := grubEFI(t, "/EFI/debian")
	newer := grubEFI(t, "/EFI/debian-new")
	healthy := map[string][]byte{"EFI/debian/grubx64.efi": grub, "EFI/debian/grub.cfg": []byte("configfile x\n"), "EFI/BOOT/BOOTX64.EFI": grub}
	loaders := func(g []byte) []model.EFIFile {
		return []model.EFIFile{
			{Path: "EFI/BOOT/BOOTX64.EFI", Size: int64(len(grub)), SHA256: sum(grub)},
			{Path: "EFI/debian/grubx64.efi", Size: int64(len(g)), SHA256: sum(g)},
		}
	}
	sda := uefiGPT(t, guidA, healthy)
	wantSda := model.BootInfo{Disk: "sda", Firmware: "uefi", GPT: true, EFI: true, ESPPartition: 1, Loaders: loaders(grub), ESPPartUUID: guidA}
	for _, tc := range []struct {
		name string
		sdb  []byte
		vars map[string][]byte
		want model.BootInfo
	}{
		{"healthy pair", uefiGPT(t, guidB, healthy), nil,
			model.BootInfo{Disk: "sdb", Firmware: "uefi", GPT: true, EFI: true, ESPPartition: 1, Loaders: loaders(grub), ESPPartUUID: guidB}},
		{"empty ESP", uefiGPT(t, guidB, map[string][]byte{"EFI/debian/grub.cfg": []byte("x")}), nil,
			model.BootInfo{Disk: "sdb", Firmware: "uefi", GPT: true, EFI: true, ESPPartition: 1, ESPPartUUID: guidB}},
		{"drifted ESP", uefiGPT(t, guidB, map[string][]byte{"EFI/debian/grubx64.efi": newer, "EFI/BOOT/BOOTX64.EFI": grub}), nil,
			model.BootInfo{Disk: "sdb", Firmware: "uefi", GPT: true, EFI: true, ESPPartition: 1, Loaders: loaders(newer), ESPPartUUID: guidB}},
		{"no ESP", biosGPT(t, true), nil,
			model.BootInfo{Disk: "sdb", Firmware: "uefi", GPT: true, BIOS: true, GRUB: true, BIOSBootPartition: true}},
		{"boot entry for sdb's ESP", uefiGPT(t, guidB, healthy), map[string][]byte{"Boot0001": loadOption(guidA), "Boot0004": loadOption(guidB), "BootOrder": {7, 0, 0, 0, 1, 0, 4, 0}},
			model.BootInfo{Disk: "sdb", Firmware: "uefi", GPT: true, EFI: true, ESPPartition: 1, Loaders: loaders(grub), ESPPartUUID: guidB, BootEntries: []string{"Boot0004"}}},
		{"no boot entry for sdb's ESP", uefiGPT(t, guidB, healthy), map[string][]byte{"Boot0001": loadOption(guidA), "Boot0002": pxeOption()},
			model.BootInfo{Disk: "sdb", Firmware: "uefi", GPT: true, EFI: true, ESPPartition: 1, Loaders: loaders(grub), ESPPartUUID: guidB, NoBootEntry: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := collectBoot(t, true, sda, tc.sdb, tc.vars)
			want := []model.BootInfo{tc.want, wantSda}
			if tc.vars != nil {
				want[1].BootEntries = []string{"Boot0001"}
			}
			if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("boot (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCoreImgSignature: GRUB's boot.img (the MBR) is not mistaken for
// core.img; the real core.img is recognised.
func TestCoreImgSignature(t *testing.T) {
	boot, core := grubPC(t)
	if IsCoreImg(boot) {
		t.Error("boot.img taken for core.img")
	}
	if !IsCoreImg(core[:512]) {
		t.Error("grub-mkimage's core.img not recognised")
	}
	if IsCoreImg(make([]byte, 512)) || IsCoreImg(core[:100]) {
		t.Error("zeros or a short sector taken for core.img")
	}
}

const (
	guidA = "11111111-2222-3333-4444-555555555555"
	guidB = "AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE"
)

// guidBytes is a canonical GUID in its on-disk (mixed-endian) form.
func guidBytes(s string) []byte {
	h, _ := hex.DecodeString(strings.ReplaceAll(s, "-", ""))
	return []byte{h[3], h[2], h[1], h[0], h[5], h[4], h[7], h[6], h[8], h[9], h[10], h[11], h[12], h[13], h[14], h[15]}
}

func utf16z(s string) []byte {
	var b []byte
	for _, r := range s + "\x00" {
		b = append(b, byte(r), 0)
	}
	return b
}

// efiVar is an efivarfs file: 4 bytes of attributes (non-volatile, boot
// service and runtime access), then an EFI_LOAD_OPTION as the UEFI
// specification lays it out (active, file path list length, description,
// device path nodes ending in an end node).
func efiVar(desc string, nodes ...[]byte) []byte {
	var path []byte
	for _, n := range nodes {
		path = append(path, n...)
	}
	path = append(path, 0x7f, 0xff, 4, 0)
	b := []byte{7, 0, 0, 0, 1, 0, 0, 0, byte(len(path)), byte(len(path) >> 8)}
	b = append(b, utf16z(desc)...)
	return append(b, path...)
}

// loadOption is a Boot#### entry for \EFI\debian\shimx64.efi on the GPT
// partition partGUID (partition 1, sectors 2048-34815).
func loadOption(partGUID string) []byte {
	hd := make([]byte, 42)
	hd[0], hd[1], hd[2] = 4, 1, 42
	binary.LittleEndian.PutUint32(hd[4:], 1)
	binary.LittleEndian.PutUint64(hd[8:], espFirst)
	binary.LittleEndian.PutUint64(hd[16:], espLast-espFirst+1)
	copy(hd[24:], guidBytes(partGUID))
	hd[40], hd[41] = 2, 2 // GPT, GUID signature
	name := utf16z(`\EFI\debian\shimx64.efi`)
	file := append([]byte{4, 4, byte(4 + len(name)), 0}, name...)
	return efiVar("debian", hd, file)
}

// pxeOption is a network boot entry: a MAC address node, no disk.
func pxeOption() []byte {
	mac := make([]byte, 37)
	mac[0], mac[1], mac[2] = 3, 11, 37
	return efiVar("UEFI PXEv4", mac)
}

func TestParseLoadOption(t *testing.T) {
	for _, tc := range []struct {
		name    string
		b       []byte
		want    []string
		wantErr bool
	}{
		{"disk entry", loadOption(guidB), []string{guidB}, false},
		{"network entry", pxeOption(), nil, false},
		{"truncated path", loadOption(guidB)[:40], nil, true},
		{"too short", []byte{7, 0, 0}, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseLoadOption(tc.b)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v, want error %v", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzLoadOption(f *testing.F) {
	f.Add(loadOption(guidA))
	f.Add(pxeOption())
	f.Fuzz(func(t *testing.T, b []byte) { ParseLoadOption(b) })
}
