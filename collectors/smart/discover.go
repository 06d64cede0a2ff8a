// Package smart is diskwatch's native SMART collector: it finds the disks
// of a host (ghw's block-device inventory, then sysfs), picks the protocol
// of each (ATA through SAT, NVMe, SCSI/SAS), checks the power mode first so
// that a disk in standby is never spun up, and reads it through the
// pass-through ioctls, decoding with the pure packages ata, nvme and scsi.
// Disks it cannot read natively go to the smartctl backend when smartctl
// is installed.
package smart

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jaypipes/ghw"
	"github.com/jaypipes/ghw/pkg/block"
	"github.com/rs/zerolog"

	"github.com/diskwatch/diskwatch/collectors/hostroot"
	"github.com/diskwatch/diskwatch/collectors/model"
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

// inventoryTimeout bounds ghw's walk of the block devices. ghw (v0.27)
// takes no deadline: its context.Context carries options only, and it
// reads every attribute with a plain os.ReadFile. A sysfs attribute whose
// driver blocks in its show handler would hold discovery, and so the whole
// SMART collection, until the collector's own deadline ended it with no
// disk read. So ghw runs in a goroutine of its own and discovery waits for
// it at most inventoryTimeout (less when ctx ends sooner); then it lists
// /sys/block itself, as it did before ghw, and the stuck goroutine is
// abandoned (it ends when the kernel returns, like hostroot.ReadAt's).
// While an abandoned walk has not returned, later rounds do not start
// another: they list /sys/block at once, so a hung file costs one
// goroutine, not one a round.
var inventoryTimeout = 5 * time.Second

// ghwStuck counts the ghw walks abandoned that have not returned.
var ghwStuck atomic.Int32

// walk states.
const (
	walkRunning int32 = iota
	walkDone
	walkAbandoned
)

// blockDev is one entry of the block-device inventory: a /sys/block name
// and, when the inventory came from ghw, what ghw said of it. ghw's
// strings come from udev's database (/run/udev/data) and are "" when udev
// has none.
type blockDev struct {
	name       string
	fromGHW    bool
	driveType  block.DriveType
	controller block.StorageController
	// busPath is udev's ID_PATH ("pci-0000:00:14.0-usb-0:1:1.0-scsi-0:0:0:0").
	busPath, model, serial, wwn string
}

// Discover lists the disks of fs: the block devices ghw finds under fs's
// /sys/block (ghw chrooted at fs.Root(), so a fixture root under --root is
// read as the host would be), plus the NVMe controllers of /sys/class/nvme
// that have no namespace. Partitions, device-mapper, loop, zram, md,
// optical and virtual disks are skipped with a reason. NVMe disks are
// addressed by their controller node (/dev/nvme0), once per controller.
//
// When ghw fails (it panics, cannot list /sys/block, or does not answer
// within inventoryTimeout) Discover lists /sys/block itself and says so to
// log; an error means neither could list it. log also gets, at debug
// level, each disk found with what udev knows of it, and ghw's warnings.
func Discover(ctx context.Context, fs hostroot.FS, log zerolog.Logger) ([]Target, []Skipped, error) {
	devs, err := ghwInventory(ctx, fs, log)
	if err != nil {
		ghwErr := err
		if devs, err = listSysBlock(fs); err != nil {
			// No /sys/block at all (a fixture root without sysfs) is not
			// news; anything else names both failures.
			if !hostroot.IsNotExist(err) {
				err = fmt.Errorf("%w (and %v)", err, ghwErr)
			}
			return nil, nil, fmt.Errorf("discover: %w", err)
		}
		log.Warn().Err(ghwErr).Str("root", fs.Root()).Msg("smart: ghw block inventory failed; listed /sys/block directly")
	} else {
		log.Debug().Int("devices", len(devs)).Str("root", fs.Root()).Msg("smart: block devices from ghw")
	}
	var out []Target
	var skipped []Skipped
	nvmeSeen := map[string]bool{}
	for _, d := range devs {
		t, why := classify(fs, d)
		switch {
		case why != "":
			skipped = append(skipped, Skipped{d.name, why})
			continue
		case t.Protocol == "nvme" && nvmeSeen[t.Name]:
			continue
		case t.Protocol == "nvme":
			nvmeSeen[t.Name] = true
		}
		out = append(out, t)
		if e := log.Debug(); e.Enabled() {
			e.Str("device", model.Clean(d.name)).Str("protocol", t.Protocol).Str("via", t.Via).Bool("usb", t.USB)
			if d.fromGHW {
				e.Str("controller", d.controller.String())
				for _, kv := range [][2]string{{"bus_path", d.busPath}, {"model", d.model}, {"serial", d.serial}, {"wwn", d.wwn}} {
					if kv[1] != "" {
						e.Str(kv[0], model.Clean(kv[1]))
					}
				}
			}
			e.Msg("smart: found")
		}
	}
	// Controllers without a namespace in /sys/block still have SMART.
	if cs, err := os.ReadDir(fs.Sys("class", "nvme")); err == nil {
		for _, c := range cs {
			if nvmeCtrl.MatchString(c.Name()) && !nvmeSeen[c.Name()] {
				nvmeSeen[c.Name()] = true
				out = append(out, Target{Name: c.Name(), Path: "/dev/" + c.Name(), Protocol: "nvme", Via: "nvme"})
				log.Debug().Str("device", c.Name()).Str("protocol", "nvme").Str("reason", "NVMe controller without a namespace").Msg("smart: found")
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, skipped, nil
}

// ghwInventory asks ghw for the block devices under fs's root, bounded as
// inventoryTimeout says. ghw leaves out loop devices of size 0 (unused);
// it reports a /sys/block it cannot list as no disks at all (a nil slice),
// which is an error here.
func ghwInventory(ctx context.Context, fs hostroot.FS, log zerolog.Logger) ([]blockDev, error) {
	if ghwStuck.Load() > 0 {
		return nil, errors.New("an earlier ghw walk, abandoned after its timeout, has not returned (a sysfs read hung?)")
	}
	type result struct {
		info *ghw.BlockInfo
		err  error
	}
	ch := make(chan result, 1)
	var state atomic.Int32
	go func() {
		defer func() {
			if !state.CompareAndSwap(walkRunning, walkDone) {
				ghwStuck.Add(-1) // abandoned: it has returned now
			}
		}()
		defer func() {
			if r := recover(); r != nil {
				ch <- result{nil, fmt.Errorf("panicked: %v", r)}
			}
		}()
		// No external tools (block runs none today anyway); ghw's log
		// goes to ours at debug level, not to its default, stderr.
		info, err := ghw.Block(ghw.WithChroot(fs.Root()), ghw.WithDisableTools(), ghw.WithLogger(slog.New(debugHandler{log})))
		ch <- result{info, err}
	}()
	ctx, cancel := context.WithTimeout(ctx, inventoryTimeout)
	defer cancel()
	var r result
	select {
	case r = <-ch:
	case <-ctx.Done():
		if state.CompareAndSwap(walkRunning, walkAbandoned) {
			ghwStuck.Add(1)
			return nil, fmt.Errorf("ghw has not answered: %w", ctx.Err())
		}
		r = <-ch // it returned just now
	}
	if r.err != nil {
		return nil, fmt.Errorf("ghw: %w", r.err)
	}
	if r.info == nil || r.info.Disks == nil {
		return nil, fmt.Errorf("ghw could not list %s", fs.Sys("block"))
	}
	devs := make([]blockDev, 0, len(r.info.Disks))
	for _, d := range r.info.Disks {
		devs = append(devs, blockDev{name: d.Name, fromGHW: true, driveType: d.DriveType, controller: d.StorageController,
			busPath: known(d.BusPath), model: known(d.Model), serial: known(d.SerialNumber), wwn: known(d.WWN)})
	}
	return devs, nil
}

// known maps ghw's "unknown" to "".
func known(s string) string {
	if s == "unknown" {
		return ""
	}
	return s
}

// listSysBlock is the inventory without ghw: the names in /sys/block.
func listSysBlock(fs hostroot.FS) ([]blockDev, error) {
	ents, err := os.ReadDir(fs.Sys("block"))
	if err != nil {
		return nil, err
	}
	devs := make([]blockDev, 0, len(ents))
	for _, e := range ents {
		devs = append(devs, blockDev{name: e.Name()})
	}
	return devs, nil
}

// debugHandler is a log/slog handler that passes ghw's messages to a
// zerolog logger at debug level (--verbose shows them).
type debugHandler struct{ log zerolog.Logger }

func (h debugHandler) Enabled(context.Context, slog.Level) bool {
	return h.log.GetLevel() <= zerolog.DebugLevel
}
func (h debugHandler) Handle(_ context.Context, r slog.Record) error {
	h.log.Debug().Str("ghw_level", r.Level.String()).Msg("smart: ghw: " + model.Clean(r.Message))
	return nil
}
func (h debugHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h debugHandler) WithGroup(string) slog.Handler      { return h }

// classify decides what /sys/block/NAME is; a non-empty reason means skip.
// ghw's drive type and storage controller decide first when the inventory
// came from ghw; the name table covers what ghw calls unknown (dm, md,
// zram, nbd, ...) and the listing without ghw. Then sysfs decides: the
// SCSI peripheral type, and the path to the disk for the protocol.
func classify(fs hostroot.FS, d blockDev) (Target, string) {
	name := d.name
	if fs.Exists(fs.Sys("block", name, "partition")) {
		return Target{}, "partition"
	}
	if why := ghwSkip(d); why != "" {
		return Target{}, why
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
	case strings.Contains(link, "/usb") || strings.Contains(d.busPath, "-usb-"):
		// A USB bridge (the sysfs path, or udev's ID_PATH when /sys/block
		// holds copies rather than links): most speak SAT; a UAS bridge
		// must never get NVMe ioctls, so even a USB-NVMe bridge is driven
		// as SCSI/SAT.
		t.Protocol, t.Via, t.USB = "ata", "sat", true
	case vendor == "ATA":
		// libata translates SCSI to ATA: SAT pass-through reaches the disk.
		t.Protocol, t.Via = "ata", "sat"
	default:
		t.Protocol, t.Via = "scsi", "scsi"
	}
	return t, ""
}

// ghwSkip is the reason to skip a device by what ghw says it is ("" to
// keep it, or when ghw did not see it). ghw's types say nothing of
// device-mapper, md or zram (unknown), and it calls a Xen disk SCSI: the
// name table decides those.
func ghwSkip(d blockDev) string {
	if !d.fromGHW {
		return ""
	}
	switch {
	case d.controller == block.StorageControllerLoop || d.driveType == block.DriveTypeVirtual:
		return "loop device"
	case d.driveType == block.DriveTypeODD:
		return "optical drive"
	case d.driveType == block.DriveTypeFDD:
		return "floppy"
	case d.controller == block.StorageControllerVirtIO:
		return "virtio-blk disk (no SMART pass-through)"
	case d.controller == block.StorageControllerMMC:
		return "MMC/SD card (no SMART)"
	}
	return ""
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
		t, why := classify(fs, blockDev{name: name})
		if why != "" {
			return Target{}, fmt.Errorf("%s: %s", dev, why)
		}
		return t, nil
	}
	// Not in sysfs (a /dev/sg node, a fixture root without sysfs):
	// assume SCSI and let SAT be probed.
	return Target{Name: name, Path: dev, Protocol: "ata", Via: "sat", USB: true}, nil
}
