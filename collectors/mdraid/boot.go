package mdraid

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/prometheus/procfs"

	"github.com/diskwatch/diskwatch/collectors/model"
)

// espGUID is the EFI System Partition type GUID
// C12A7328-F81F-11D2-BA4B-00A0C93EC93B in its on-disk (mixed-endian) form.
var espGUID = []byte{0x28, 0x73, 0x2a, 0xc1, 0x1f, 0xf8, 0xd2, 0x11, 0xba, 0x4b, 0x00, 0xa0, 0xc9, 0x3e, 0xc9, 0x3b}

// biosBootGUID is the BIOS boot partition type GUID
// 21686148-6449-6E6F-744E-656564454649 in its on-disk form.
var biosBootGUID = []byte{0x48, 0x61, 0x68, 0x21, 0x49, 0x64, 0x6f, 0x6e, 0x74, 0x4e, 0x65, 0x65, 0x64, 0x45, 0x46, 0x49}

// BootFacts is what the first sectors of a disk say about booting it.
type BootFacts struct {
	// BIOSBootCode: the MBR's boot code area (bytes 0-439) is not blank.
	BIOSBootCode bool
	// GRUB: the boot code is GRUB's boot.img.
	GRUB bool
	// GPT: the disk has a protective MBR and a GPT header at LBA 1.
	GPT bool
	// ESP: an EFI system partition (GPT type or MBR type 0xEF) exists.
	ESP bool
	// BIOSBootPartition: a GPT BIOS boot partition exists.
	BIOSBootPartition bool
	// CoreImg: GRUB's core.img found where boot.img loads it from.
	CoreImg bool
	// ESPPart is the ESP as a partition (number, first sector, sectors).
	ESPPart Partition
	// BIOSBootPart is the BIOS boot partition (GPT).
	BIOSBootPart Partition
	// FirstStart is the first sector of the lowest partition (MBR).
	FirstStart uint64
	// ESPUUID is the ESP's GPT partition GUID.
	ESPUUID string
}

// Partition is one partition: its number (1-based) and extent in logical
// sectors. Number 0 means none.
type Partition struct {
	Number      int
	First, Size uint64
}

// ParseMBR reads the first sector (512 bytes). It reports whether the MBR
// signature is present, the boot facts it shows, and whether the disk is
// GPT (protective partition type 0xEE), in which case ParseGPT must be
// given the header and entries to find an ESP.
func ParseMBR(sector []byte) (BootFacts, bool, error) {
	if len(sector) < 512 {
		return BootFacts{}, false, fmt.Errorf("MBR: %d bytes, need 512", len(sector))
	}
	var f BootFacts
	if sector[510] != 0x55 || sector[511] != 0xaa {
		return f, false, nil
	}
	f.BIOSBootCode = !allZero(sector[0:440])
	// GRUB's boot.img carries its messages "GRUB ", "Geom", "Hard Disk",
	// "Read" and " Error", NUL-terminated.
	f.GRUB = bytes.Contains(sector[0:440], []byte("GRUB \x00")) && bytes.Contains(sector[0:440], []byte("Geom\x00"))
	gpt := false
	le := binary.LittleEndian
	for i := 0; i < 4; i++ {
		e := sector[446+16*i:]
		start, size := uint64(le.Uint32(e[8:])), uint64(le.Uint32(e[12:]))
		switch e[4] {
		case 0x00:
			continue
		case 0xee:
			gpt = true
		case 0xef:
			f.ESP = true
			if f.ESPPart.Number == 0 {
				f.ESPPart = Partition{Number: i + 1, First: start, Size: size}
			}
		}
		if start > 0 && (f.FirstStart == 0 || start < f.FirstStart) {
			f.FirstStart = start
		}
	}
	return f, gpt, nil
}

// IsCoreImg reports whether sector is the first sector of GRUB's i386-pc
// core.img: diskboot.img, which prints "loading" and the "Geom", "Read"
// and " Error" messages, and ends with its block list, whose last entry
// loads the rest of core.img to segment 0x820.
func IsCoreImg(sector []byte) bool {
	if len(sector) < 512 {
		return false
	}
	code := sector[:0x1f4]
	for _, s := range []string{"loading\x00", "Geom\x00", "Read\x00", " Error\x00"} {
		if !bytes.Contains(code, []byte(s)) {
			return false
		}
	}
	return binary.LittleEndian.Uint16(sector[0x1fe:]) == 0x0820
}

// coreImgSector is where an MBR disk's core.img starts: the sector GRUB's
// boot.img names (a little-endian LBA at offset 0x5c) when it lies in the
// gap between the MBR and the first partition, else sector 1.
func coreImgSector(mbr []byte, firstStart uint64) (uint64, bool) {
	if firstStart < 2 {
		return 0, false // no gap after the MBR
	}
	if ks := binary.LittleEndian.Uint64(mbr[0x5c:]); ks >= 1 && ks < firstStart {
		return ks, true
	}
	return 1, true
}

// GPTHeader is the part of a GPT header needed to find the entries.
type GPTHeader struct {
	EntriesLBA uint64
	NumEntries uint32
	EntrySize  uint32
}

// ParseGPTHeader decodes the GPT header sector (LBA 1).
func ParseGPTHeader(b []byte) (GPTHeader, error) {
	if len(b) < 92 || !bytes.Equal(b[0:8], []byte("EFI PART")) {
		return GPTHeader{}, fmt.Errorf("GPT: no header signature at LBA 1")
	}
	le := binary.LittleEndian
	h := GPTHeader{EntriesLBA: le.Uint64(b[72:]), NumEntries: le.Uint32(b[80:]), EntrySize: le.Uint32(b[84:])}
	if h.EntrySize < 128 || h.EntrySize > 4096 || h.NumEntries > 1024 {
		return GPTHeader{}, fmt.Errorf("GPT: implausible entry table (%d entries of %d bytes)", h.NumEntries, h.EntrySize)
	}
	return h, nil
}

// ParseGPTEntries returns the used entries of a GPT partition entry array:
// their type GUID (on-disk form) and extent.
func ParseGPTEntries(entries []byte, h GPTHeader) []GPTPartition {
	var out []GPTPartition
	le := binary.LittleEndian
	for i := uint32(0); i < h.NumEntries; i++ {
		off := int(i) * int(h.EntrySize)
		if off+128 > len(entries) {
			break
		}
		e := entries[off : off+128]
		if allZero(e[0:16]) {
			continue
		}
		first, last := le.Uint64(e[32:]), le.Uint64(e[40:])
		if last < first {
			continue
		}
		var p GPTPartition
		copy(p.Type[:], e[0:16])
		copy(p.Unique[:], e[16:32])
		p.Partition = Partition{Number: int(i) + 1, First: first, Size: last - first + 1}
		out = append(out, p)
	}
	return out
}

// GPTPartition is one used GPT entry.
type GPTPartition struct {
	Partition
	Type, Unique [16]byte
}

// GPTHasESP reports whether a GPT partition entry array holds an ESP.
func GPTHasESP(entries []byte, h GPTHeader) bool {
	for _, p := range ParseGPTEntries(entries, h) {
		if bytes.Equal(p.Type[:], espGUID) {
			return true
		}
	}
	return false
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// bootMounts are the mount points whose array must stay bootable from any
// member.
var bootMounts = map[string]bool{"/": true, "/boot": true}

// checkBoot fills Array.MountPoints and, for RAID1 arrays holding / or
// /boot, Array.Boot: whether each member's disk carries boot code or an
// EFI system partition.
func (c *Collector) checkBoot(ctx context.Context, arrays []model.Array) error {
	mounts, err := c.mounts()
	if err != nil {
		return nil // no mount table (fixture without /proc/self): nothing to check
	}
	devOf := map[string]string{} // "9:0" -> md0
	for i := range arrays {
		if d, err := c.FS.ReadString(c.FS.Sys("block", arrays[i].Name, "dev")); err == nil {
			devOf[d] = arrays[i].Name
		}
	}
	var errs []error
	fw := c.firmware()
	var entries map[string][]string
	entriesOK := false
	for i := range arrays {
		a := &arrays[i]
		for _, m := range mounts {
			if c.mountUsesArray(m, a.Name, devOf) {
				a.MountPoints = append(a.MountPoints, m.point)
			}
		}
		boot := false
		for _, p := range a.MountPoints {
			boot = boot || bootMounts[p]
		}
		if !boot || a.Level != "raid1" {
			continue
		}
		if fw == "uefi" && entries == nil {
			entries, entriesOK = c.bootEntries()
		}
		seen := map[string]bool{}
		for _, m := range a.Members {
			if m.Faulty || m.Spare {
				continue
			}
			disk := c.parentDisk(m.Name)
			if seen[disk] {
				continue
			}
			seen[disk] = true
			bi := model.BootInfo{Disk: disk}
			if asleep, mode := c.asleep(ctx, disk); asleep {
				bi.Skipped = mode // the standby policy: not woken for its boot sectors
				a.Boot = append(a.Boot, bi)
				continue
			}
			bi.Firmware = fw
			f, err := c.bootFacts(ctx, disk, fw, &bi)
			if err != nil {
				bi.Error = err.Error()
				errs = append(errs, err)
			}
			bi.BIOS, bi.GRUB, bi.EFI, bi.GPT = f.BIOSBootCode, f.GRUB, f.ESP, f.GPT
			bi.BIOSBootPartition, bi.CoreImg, bi.ESPPartition = f.BIOSBootPartition, f.CoreImg, f.ESPPart.Number
			if fw == "uefi" && f.ESPUUID != "" {
				bi.ESPPartUUID = f.ESPUUID
				if entriesOK {
					bi.BootEntries = entries[f.ESPUUID]
					bi.NoBootEntry = len(bi.BootEntries) == 0
				}
			}
			a.Boot = append(a.Boot, bi)
		}
	}
	return errors.Join(errs...)
}

type mount struct {
	dev   string // "9:0" when known
	src   string // "/dev/md0"
	point string
}

// mounts reads the host's mount table with procfs: init's (PID 1)
// mountinfo, which is the host's view even when diskwatch runs in a
// private mount namespace, else our own, else /proc/mounts.
func (c *Collector) mounts() ([]mount, error) {
	pfs, err := procfs.NewFS(c.FS.Proc())
	if err == nil {
		for _, pid := range []string{"1", "self"} {
			var mi []*procfs.MountInfo
			if pid == "1" {
				mi, err = pfs.GetProcMounts(1)
			} else {
				mi, err = pfs.GetMounts()
			}
			if err != nil {
				continue
			}
			out := make([]mount, 0, len(mi))
			for _, m := range mi {
				out = append(out, mount{dev: m.MajorMinorVer, src: m.Source, point: m.MountPoint})
			}
			return out, nil
		}
	}
	b, err := c.FS.ReadFile(c.FS.Proc("mounts"))
	if err != nil {
		return nil, err
	}
	var out []mount
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) >= 2 {
			out = append(out, mount{src: f[0], point: unescapeMount(f[1])})
		}
	}
	return out, nil
}

// unescapeMount undoes the kernel's octal escapes (\040 for space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// mountUsesArray reports whether a mount sits on md array name, directly,
// on one of its partitions, or through device-mapper (LVM, LUKS).
func (c *Collector) mountUsesArray(m mount, name string, devOf map[string]string) bool {
	var dev string
	switch {
	case m.dev != "" && devOf[m.dev] != "":
		dev = devOf[m.dev]
	case m.dev != "":
		if t, err := os.Readlink(c.FS.Sys("dev", "block", m.dev)); err == nil {
			dev = filepath.Base(t)
		}
	}
	if dev == "" && strings.HasPrefix(m.src, "/dev/") {
		dev = filepath.Base(m.src)
		if t, err := filepath.EvalSymlinks(c.FS.Path(m.src)); err == nil {
			dev = filepath.Base(t)
		}
	}
	if dev == "" {
		return false
	}
	return c.stackedOn(dev, name, 0)
}

// stackedOn reports whether block device dev is, or sits on, md array name.
func (c *Collector) stackedOn(dev, name string, depth int) bool {
	if dev == name || strings.HasPrefix(dev, name+"p") {
		return true
	}
	if depth > 8 {
		return false
	}
	slaves, err := os.ReadDir(c.FS.Sys("block", dev, "slaves"))
	if err != nil {
		return false
	}
	for _, s := range slaves {
		if c.stackedOn(s.Name(), name, depth+1) {
			return true
		}
	}
	return false
}

// bootFacts reads a disk's MBR and, for GPT disks, its partition table;
// under BIOS firmware the first sector of core.img, under UEFI the ESP's
// boot loaders (into bi).
func (c *Collector) bootFacts(ctx context.Context, disk, firmware string, bi *model.BootInfo) (BootFacts, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout())
	defer cancel()
	dev := c.FS.Dev(disk)
	mbr, err := c.FS.ReadAt(ctx, dev, 0, 512)
	if err != nil {
		return BootFacts{}, fmt.Errorf("%s: read MBR: %w", disk, err)
	}
	f, gpt, err := ParseMBR(mbr)
	if err != nil {
		return f, err
	}
	ss := int64(512)
	if v, err := c.FS.ReadInt(c.FS.Sys("block", disk, "queue", "logical_block_size")); err == nil && v >= 512 && v <= 4096 {
		ss = v
	}
	if gpt {
		f.GPT = true
		hb, err := c.FS.ReadAt(ctx, dev, ss, int(ss))
		if err != nil {
			return f, fmt.Errorf("%s: read GPT header: %w", disk, err)
		}
		h, err := ParseGPTHeader(hb)
		if err != nil {
			return f, fmt.Errorf("%s: %w", disk, err)
		}
		eb, err := c.FS.ReadAt(ctx, dev, int64(h.EntriesLBA)*ss, int(h.NumEntries*h.EntrySize))
		if err != nil {
			return f, fmt.Errorf("%s: read GPT entries: %w", disk, err)
		}
		for _, p := range ParseGPTEntries(eb, h) {
			switch {
			case bytes.Equal(p.Type[:], espGUID) && f.ESPPart.Number == 0:
				f.ESP, f.ESPPart, f.ESPUUID = true, p.Partition, GUIDString(p.Unique)
			case bytes.Equal(p.Type[:], biosBootGUID) && f.BIOSBootPart.Number == 0:
				f.BIOSBootPartition, f.BIOSBootPart = true, p.Partition
			}
		}
	}
	switch firmware {
	case "bios":
		var at uint64
		ok := false
		if f.GPT {
			at, ok = f.BIOSBootPart.First, f.BIOSBootPartition
		} else {
			at, ok = coreImgSector(mbr, f.FirstStart)
		}
		if ok && at < 1<<40 {
			sec, err := c.FS.ReadAt(ctx, dev, int64(at)*ss, 512)
			if err != nil {
				return f, fmt.Errorf("%s: read core.img sector %d: %w", disk, at, err)
			}
			f.CoreImg = IsCoreImg(sec)
		}
	case "uefi":
		if f.ESPPart.Number != 0 {
			bi.Loaders, err = c.espLoaders(ctx, dev, f.ESPPart, ss)
			if err != nil {
				bi.ESPError = fmt.Sprintf("%s partition %d: %v", disk, f.ESPPart.Number, err)
			}
		}
	}
	return f, nil
}

// firmware says how this host booted: "uefi" when the kernel exposes
// /sys/firmware/efi, else "bios".
func (c *Collector) firmware() string {
	if c.FS.Exists(c.FS.Sys("firmware", "efi")) {
		return "uefi"
	}
	return "bios"
}
