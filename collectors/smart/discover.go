// Package smart is diskwatch's native SMART collector: it finds the disks
// of a host in sysfs, picks the protocol of each (ATA through SAT, NVMe,
// SCSI/SAS), checks the power mode first so that a disk in standby is never
// spun up, and reads it through the pass-through ioctls, decoding with the
// pure packages ata, nvme and scsi. Disks it cannot read natively go to the
// smartctl backend when smartctl is installed.
package smart

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/diskwatch/diskwatch/collectors/hostroot"
)

// Target is a disk to read and how.
type Target struct {
	// Name is the kernel name ("sda", "nvme0").
	Name string
	// Path is the device node as the host sees it ("/dev/sda").
	Path string
	// Protocol is "ata", "nvme" or "scsi".
	Protocol string
	// Via is "sat" (ATA behind libata or a SAT bridge), "nvme" or "scsi".
	Via string
	// USB is set for disks behind a USB bridge: SAT is tried, and the
	// disk is read as SCSI if the bridge does not pass ATA commands.
	USB bool
}

// Skipped is a block device discovery left out, and why.
type Skipped struct {
	Name, Reason string
}

var (
	skipPrefixes = []struct{ prefix, why string }{
		{"loop", "loop device"}, {"ram", "RAM disk"}, {"zram", "compressed RAM disk"},
		{"dm-", "device-mapper volume"}, {"md", "md RAID array (its members are read)"},
		{"sr", "optical drive"}, {"fd", "floppy"}, {"nbd", "network block device"},
		{"drbd", "DRBD volume"}, {"rbd", "Ceph RBD volume"}, {"zd", "ZFS volume"},
		{"mmcblk", "MMC/SD card (no SMART)"}, {"vd", "virtio-blk disk (no SMART pass-through)"},
		{"xvd", "Xen virtual disk (no SMART)"}, {"bcache", "bcache volume"}, {"pmem", "persistent memory"},
	}
	nvmeNS   = regexp.MustCompile(`^nvme[0-9]+(c[0-9]+)?n[0-9]+$`)
	nvmeCtrl = regexp.MustCompile(`^nvme[0-9]+$`)
)

// Discover lists the disks under fs's /sys/block and /sys/class/nvme.
// Partitions, device-mapper, loop, zram, md, optical and virtual disks are
// skipped with a reason. NVMe disks are addressed by their controller node
// (/dev/nvme0), once per controller.
func Discover(fs hostroot.FS) ([]Target, []Skipped, error) {
	ents, err := os.ReadDir(fs.Sys("block"))
	if err != nil {
		return nil, nil, fmt.Errorf("discover: %w", err)
	}
	var out []Target
	var skipped []Skipped
	nvmeSeen := map[string]bool{}
	for _, e := range ents {
		name := e.Name()
		if t, why := classify(fs, name); why != "" {
			skipped = append(skipped, Skipped{name, why})
		} else if t.Protocol == "nvme" {
			if !nvmeSeen[t.Name] {
				nvmeSeen[t.Name] = true
				out = append(out, t)
			}
		} else {
			out = append(out, t)
		}
	}
	// Controllers without a namespace in /sys/block still have SMART.
	if cs, err := os.ReadDir(fs.Sys("class", "nvme")); err == nil {
		for _, c := range cs {
			if nvmeCtrl.MatchString(c.Name()) && !nvmeSeen[c.Name()] {
				nvmeSeen[c.Name()] = true
				out = append(out, Target{Name: c.Name(), Path: "/dev/" + c.Name(), Protocol: "nvme", Via: "nvme"})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, skipped, nil
}

// classify decides what /sys/block/NAME is; a non-empty reason means skip.
func classify(fs hostroot.FS, name string) (Target, string) {
	if fs.Exists(fs.Sys("block", name, "partition")) {
		return Target{}, "partition"
	}
	for _, p := range skipPrefixes {
		if strings.HasPrefix(name, p.prefix) {
			return Target{}, p.why
		}
	}
	if nvmeNS.MatchString(name) {
		ctrl := nvmeController(fs, name)
		if ctrl == "" {
			return Target{}, "NVMe namespace whose controller was not found"
		}
		return Target{Name: ctrl, Path: "/dev/" + ctrl, Protocol: "nvme", Via: "nvme"}, ""
	}
	dev := fs.Sys("block", name, "device")
	if !fs.Exists(dev) {
		return Target{}, "virtual block device (no device link)"
	}
	if typ, err := fs.ReadString(filepath.Join(dev, "type")); err == nil && typ != "0" && typ != "14" {
		// SCSI peripheral type: 0 direct access, 14 RBC; 5 is CD/DVD,
		// 1 tape, 13 enclosure.
		return Target{}, "SCSI peripheral type " + typ + " is not a disk"
	}
	t := Target{Name: name, Path: "/dev/" + name}
	link, _ := os.Readlink(fs.Sys("block", name))
	vendor, _ := fs.ReadString(filepath.Join(dev, "vendor"))
	switch {
	case strings.Contains(link, "/usb"):
		// A USB bridge: most speak SAT; a UAS bridge must never get NVMe
		// ioctls, so even a USB-NVMe bridge is driven as SCSI/SAT.
		t.Protocol, t.Via, t.USB = "ata", "sat", true
	case vendor == "ATA":
		// libata translates SCSI to ATA: SAT pass-through reaches the disk.
		t.Protocol, t.Via = "ata", "sat"
	default:
		t.Protocol, t.Via = "scsi", "scsi"
	}
	return t, ""
}

// nvmeController finds the controller of namespace nvmeXnY (or
// nvmeXcYnZ): /sys/block/NAME/device is the controller (or, for native
// multipath, the subsystem's first controller).
func nvmeController(fs hostroot.FS, ns string) string {
	if base, err := fs.LinkBase(fs.Sys("block", ns, "device")); err == nil && nvmeCtrl.MatchString(base) {
		return base
	}
	m := regexp.MustCompile(`^(nvme[0-9]+)`).FindString(ns)
	if m != "" && fs.Exists(fs.Sys("class", "nvme", m)) {
		return m
	}
	return m
}

// TargetFor builds the target for a device named on the command line or in
// the configuration ("/dev/sda", "sda", "/dev/nvme0", "/dev/nvme0n1").
func TargetFor(fs hostroot.FS, dev string) (Target, error) {
	name := filepath.Base(dev)
	if nvmeCtrl.MatchString(name) {
		return Target{Name: name, Path: "/dev/" + name, Protocol: "nvme", Via: "nvme"}, nil
	}
	if fs.Exists(fs.Sys("block", name)) {
		t, why := classify(fs, name)
		if why != "" {
			return Target{}, fmt.Errorf("%s: %s", dev, why)
		}
		return t, nil
	}
	// Not in sysfs (a /dev/sg node, a fixture root without sysfs):
	// assume SCSI and let SAT be probed.
	return Target{Name: name, Path: dev, Protocol: "ata", Via: "sat", USB: true}, nil
}
