package hwraid

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/diskwatch/diskwatch/collectors"
	"github.com/diskwatch/diskwatch/collectors/hostroot"
	"github.com/diskwatch/diskwatch/collectors/model"
)

// SmartctlReader reads one device through smartctl: collectors/smartctl's
// Backend (Read(ctx, dev, devType)).
type SmartctlReader interface {
	Read(ctx context.Context, dev, devType string) (model.Disk, error)
}

// Native is a controller's own pass-through: it lists the physical disks
// behind the controller and reads them. ErrUnsupported from either method
// sends the collector to the smartctl fallback.
type Native interface {
	// Targets lists the physical disks (3ware ports, MegaRAID device ids).
	Targets(ctx context.Context, c Controller) ([]Target, error)
	// Read reads one physical disk.
	Read(ctx context.Context, c Controller, t Target) (model.Disk, error)
}

// StateReader is a native path that also reads a controller's own state
// (logical drives, physical disk states, battery).
type StateReader interface {
	State(ctx context.Context, c Controller) (model.Controller, error)
}

// ErrUnsupported says a native path cannot handle a controller.
var ErrUnsupported = errors.New("native pass-through not supported for this controller")

// ErrNoDrive says a controller port holds no drive: skipped quietly.
var ErrNoDrive = errors.New("no drive on this port")

// Target is one physical disk behind a controller.
type Target struct {
	// N is the 3ware port or the MegaRAID device id: the N of -d 3ware,N
	// and -d megaraid,N.
	N int
	// SATA is set for a SATA disk behind a MegaRAID (-d sat+megaraid,N).
	SATA bool
	// Slot and Enclosure place a MegaRAID disk (Enclosure -1: none).
	Slot, Enclosure int

	// Native path details: the pass-through address, the firmware's PD
	// info, and why the disk cannot be reached when it cannot.
	addr    PDAddr
	info    *PDInfo
	infoErr string
	noPath  string
}

// Collector reads the disks behind hardware RAID controllers: natively
// when Native handles the controller, else through smartctl with the -d
// type built from discovery.
type Collector struct {
	fs hostroot.FS
	// Native is the pass-through (nil: none).
	Native Native
	// Smartctl is the fallback (nil: none). Set it on the live host only:
	// smartctl talks to the host's devices, not to a --root tree.
	Smartctl SmartctlReader
	// SmartctlProgram is the smartctl that lists a MegaRAID's disks
	// (smartctl --scan-open) when the native PD list is not available
	// ("" = smartctl from PATH).
	SmartctlProgram string
}

// New returns a collector over the host root.
func New(fs hostroot.FS, native Native, sc SmartctlReader) *Collector {
	return &Collector{fs: fs, Native: native, Smartctl: sc}
}

// Collect finds the RAID controllers and reads every disk behind them.
// Each disk's record is named "twa0 port 1" / "megaraid0 disk 5" with Via
// "3ware,1" / "megaraid,5". A disk the OS also sees as a plain disk (same
// WWN or model+serial as a /sys/block disk) is left to the SMART
// collector, and a disk seen twice here is kept once.
func (c *Collector) Collect(ctx context.Context, out *model.Snapshot) error {
	all, err := Discover(ctx, c.fs)
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	var ctrls []Controller
	for _, ct := range all {
		if ct.Family == Family3ware || ct.Family == FamilyMegaRAID {
			ctrls = append(ctrls, ct)
		}
	}
	if len(ctrls) == 0 {
		return errors.Join(append(errs, fmt.Errorf("no 3ware or MegaRAID controller: %w", collectors.ErrAbsent))...)
	}
	if sr, ok := c.Native.(interface{ ServesRoot() bool }); !c.fs.IsHost() && c.Smartctl == nil && !(ok && sr.ServesRoot()) {
		// The pass-through talks to the live host's controllers; a
		// fixture root has none to talk to.
		names := make([]string, len(ctrls))
		for i, ct := range ctrls {
			names[i] = ct.Name
		}
		return fmt.Errorf("%s: disks behind RAID controllers are read on the live host only, not under --root %s: %w",
			strings.Join(names, ", "), c.fs.Root(), collectors.ErrAbsent)
	}
	if err := EnsureNodes(c.fs, ctrls); err != nil {
		errs = append(errs, err)
	}
	osDisks := osDiskIDs(c.fs)
	seen := map[string]bool{}
	for _, ct := range ctrls {
		disks, err := c.readController(ctx, ct)
		if err != nil {
			errs = append(errs, err)
		}
		if sr, ok := c.Native.(StateReader); ok {
			st, err := sr.State(ctx, ct)
			switch {
			case errors.Is(err, ErrUnsupported):
			case err != nil:
				errs = append(errs, fmt.Errorf("%s: controller state: %w", ct.Name, err))
			default:
				joinDisks(&st, ct, disks)
				out.Controllers = append(out.Controllers, st)
			}
		}
		for _, d := range disks {
			id := d.Device.ID()
			if d.Device.Serial != "" || d.Device.WWN != "" {
				if osDisks[id] || seen[id] {
					continue
				}
				seen[id] = true
			}
			out.Disks = append(out.Disks, d)
		}
	}
	return errors.Join(errs...)
}

// joinDisks sets each physical disk's DiskID from the disk records read
// behind the same controller (by device id), so a finding about a slot
// and the disk's SMART record name the same disk.
func joinDisks(st *model.Controller, ct Controller, disks []model.Disk) {
	ids := map[int]string{}
	for _, d := range disks {
		var n int
		if _, err := fmt.Sscanf(d.Device.Name, ct.Name+" disk %d", &n); err == nil && (d.Device.Serial != "" || d.Device.WWN != "") {
			ids[n] = d.Device.ID()
		}
	}
	set := func(p *model.PhysicalDisk) {
		if id, ok := ids[p.DeviceID]; ok && p.DeviceID >= 0 {
			p.DiskID = id
		}
	}
	for i := range st.Physical {
		set(&st.Physical[i])
	}
	for i := range st.Logical {
		for j := range st.Logical[i].Members {
			set(&st.Logical[i].Members[j])
		}
	}
}

// readController reads every disk behind one controller.
func (c *Collector) readController(ctx context.Context, ct Controller) ([]model.Disk, error) {
	var errs []error
	targets, native, err := c.targets(ctx, ct)
	if err != nil {
		return nil, err
	}
	var out []model.Disk
	for _, t := range targets {
		if ctx.Err() != nil {
			errs = append(errs, fmt.Errorf("%s: %w", ct.Name, ctx.Err()))
			break
		}
		var d model.Disk
		var rerr error = ErrUnsupported
		if native {
			d, rerr = c.Native.Read(ctx, ct, t)
		}
		if rerr != nil && !errors.Is(rerr, ErrNoDrive) && c.Smartctl != nil {
			// The native path failed or cannot do it: smartctl with the
			// controller's -d type.
			nd, nerr := d, rerr
			d, rerr = c.smartctlRead(ctx, ct, t)
			if rerr != nil && native && !errors.Is(nerr, ErrUnsupported) {
				d, rerr = nd, nerr // smartctl did no better: keep the native result
			}
		}
		switch {
		case errors.Is(rerr, ErrNoDrive):
			continue
		case errors.Is(rerr, ErrUnsupported):
			errs = append(errs, fmt.Errorf("%s: no way to read it (native pass-through unsupported and smartctl not available)", ct.Port(t.N)))
			continue
		case rerr != nil && d.Device.Serial == "" && d.Device.Model == "":
			errs = append(errs, rerr)
			continue
		case rerr != nil:
			d.Errors = append(d.Errors, rerr.Error())
		}
		d.Device.Name = ct.Port(t.N)
		d.Device.Via = ct.Via(t.N, t.SATA)
		if d.Device.Path == "" {
			d.Device.Path = ct.Dev
		}
		out = append(out, d)
	}
	return out, errors.Join(errs...)
}

// targets lists the disks behind a controller: natively when possible,
// else from what the host tells about the controller (never a blind scan
// of every possible N).
func (c *Collector) targets(ctx context.Context, ct Controller) ([]Target, bool, error) {
	if c.Native != nil {
		ts, err := c.Native.Targets(ctx, ct)
		if err == nil {
			return ts, true, nil
		}
		if !errors.Is(err, ErrUnsupported) && c.Smartctl == nil {
			return nil, false, err
		}
	}
	if c.Smartctl == nil {
		return nil, false, fmt.Errorf("%s: native pass-through unsupported and no smartctl fallback", ct.Name)
	}
	switch ct.Family {
	case Family3ware:
		n, _, err := ThreewarePorts(c.fs, ct)
		if err != nil {
			return nil, false, err
		}
		ts := make([]Target, n)
		for i := range ts {
			ts[i] = Target{N: i}
		}
		return ts, false, nil
	case FamilyMegaRAID:
		ts, err := c.megaraidScan(ctx, ct)
		return ts, false, err
	}
	return nil, false, fmt.Errorf("%s: %w", ct.Name, ErrUnsupported)
}

// smartctlRead reads one disk through smartctl with the -d type of its
// controller. A MegaRAID device id above 255 is not sent to smartctl: it
// writes the id into the pass-through frame's 8-bit target field, so
// -d megaraid,256 reads device 0 (seen in the rig: MEGA0's serial for
// MEGA1's id) and the record would describe the wrong disk.
func (c *Collector) smartctlRead(ctx context.Context, ct Controller, t Target) (model.Disk, error) {
	if ct.Family == FamilyMegaRAID && t.N > 0xff {
		return model.Disk{}, fmt.Errorf("%s: smartctl cannot address device id %d (its frame's target id is 8 bits: -d megaraid,%d reaches device %d); not read through smartctl",
			ct.Port(t.N), t.N, t.N, t.N&0xff)
	}
	dev := ct.Dev
	if ct.Family == FamilyMegaRAID {
		// smartctl addresses a MegaRAID by its SCSI host: /dev/bus/N.
		dev = fmt.Sprintf("/dev/bus/%d", ct.Host)
	}
	d, err := c.Smartctl.Read(ctx, dev, ct.Via(t.N, t.SATA))
	d.Device.Path = dev // what was read, whatever smartctl calls it
	if err != nil && ct.Family == Family3ware && d.Device.Serial == "" && d.Smartctl != nil && d.Smartctl.Status&2 != 0 {
		// smartctl could not open the port: no drive there.
		return d, ErrNoDrive
	}
	return d, err
}

// unitModelRE reads a 3ware unit's model ("9650SE-4LPML DISK",
// "9750-8i DISK", "9550SX-12 DISK"): the number after the dash is the
// controller's port count.
var unitModelRE = regexp.MustCompile(`^(9\d{3}[A-Z]*|[78]\d{3}[A-Z]*)-(\d+)`)

// ThreewarePorts tells how many ports a 3ware controller has from the
// model of the units it exports (the SCSI disks under its host in sysfs).
// It is the fallback when the firmware cannot be asked.
func ThreewarePorts(fs hostroot.FS, ct Controller) (int, string, error) {
	ents, _ := os.ReadDir(fs.Sys("block"))
	hostDir := fmt.Sprintf("/host%d/", ct.Host)
	for _, e := range ents {
		t, err := os.Readlink(fs.Sys("block", e.Name()))
		if err != nil || !strings.Contains(t, hostDir) {
			continue
		}
		mdl, err := fs.ReadString(fs.Sys("block", e.Name(), "device", "model"))
		if err != nil {
			continue
		}
		if g := unitModelRE.FindStringSubmatch(mdl); g != nil {
			n, _ := strconv.Atoi(g[2])
			if n > 0 && n <= 32 {
				return n, g[0], nil
			}
		}
	}
	return 0, "", fmt.Errorf("%s: cannot tell its port count (no unit with a model like 9650SE-4LP in sysfs, and the firmware could not be asked)", ct.Name)
}

// osDiskIDs returns the identities of the disks the OS sees directly
// (/sys/block/sd*): WWN from device/wwid, else model+serial of a t10 ATA
// wwid.
func osDiskIDs(fs hostroot.FS) map[string]bool {
	out := map[string]bool{}
	ents, _ := os.ReadDir(fs.Sys("block"))
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), "sd") {
			continue
		}
		w, err := fs.ReadString(filepath.Join(fs.Sys("block", e.Name()), "device", "wwid"))
		if err != nil {
			continue
		}
		d := model.DeviceInfo{Path: "/dev/" + e.Name()}
		switch {
		case strings.HasPrefix(w, "naa."):
			d.WWN = strings.TrimPrefix(w, "naa.")
		case strings.HasPrefix(w, "t10.ATA") && len(w) > 12+40:
			rest := w[len("t10.")+8:]
			d.Model, d.Serial = strings.TrimSpace(rest[:40]), strings.TrimSpace(rest[40:])
		default:
			continue
		}
		out[d.ID()] = true
	}
	return out
}

// sortTargets orders targets by N.
func sortTargets(ts []Target) {
	sort.Slice(ts, func(i, j int) bool { return ts[i].N < ts[j].N })
}
