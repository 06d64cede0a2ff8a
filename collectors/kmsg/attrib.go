package kmsg

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/diskwatch/diskwatch/collectors/hostroot"
	"github.com/diskwatch/diskwatch/collectors/hwraid"
	"github.com/diskwatch/diskwatch/collectors/model"
)

// resolver attributes events to disks through sysfs, caching what it read
// for one Collect.
type resolver struct {
	ctx    context.Context
	fs     hostroot.FS
	ata    map[string]string // ata3 -> sdb (built on first use)
	ids    map[string]string // sdb -> disk identity
	ctrls  []hwraid.Controller
	ctrlOK bool
}

func newResolver(ctx context.Context, fs hostroot.FS) *resolver {
	return &resolver{ctx: ctx, fs: fs, ids: map[string]string{}}
}

var ataDirRE = regexp.MustCompile(`^ata\d+$`)

// ataDisk maps an ATA port (ata3) to its disk (sdb) through the
// /sys/block/sdX symlinks, which run through .../ata3/host2/target2:0:0/...
func (r *resolver) ataDisk(port string) string {
	if r.ata == nil {
		r.ata = map[string]string{}
		ents, _ := os.ReadDir(r.fs.Sys("block"))
		for _, e := range ents {
			t, err := os.Readlink(r.fs.Sys("block", e.Name()))
			if err != nil {
				continue
			}
			for _, part := range strings.Split(t, "/") {
				if ataDirRE.MatchString(part) {
					if _, dup := r.ata[part]; !dup {
						r.ata[part] = e.Name()
					}
					break
				}
			}
		}
	}
	return r.ata[port]
}

var (
	sdPartRE   = regexp.MustCompile(`^((?:sd|hd|vd|xvd)[a-z]+)\d+$`)
	nvmePartRE = regexp.MustCompile(`^(nvme\d+n\d+)p\d+$`)
	nvmeNsRE2  = regexp.MustCompile(`^(nvme\d+)n\d+$`)
)

// wholeDisk maps a partition (sdb1, nvme0n1p2) to its disk.
func (r *resolver) wholeDisk(name string) string {
	if r.fs.Exists(r.fs.Sys("class", "block", name, "partition")) {
		if t, err := os.Readlink(r.fs.Sys("class", "block", name)); err == nil {
			return filepath.Base(filepath.Dir(t))
		}
	}
	if g := sdPartRE.FindStringSubmatch(name); g != nil && !r.fs.Exists(r.fs.Sys("block", name)) {
		return g[1]
	}
	if g := nvmePartRE.FindStringSubmatch(name); g != nil {
		return g[1]
	}
	return name
}

// identity returns the stable disk identity (model.DeviceInfo.ID) of a
// kernel disk, from sysfs; "" when nothing is known.
func (r *resolver) identity(disk string) string {
	if id, ok := r.ids[disk]; ok {
		return id
	}
	d := model.DeviceInfo{Path: "/dev/" + disk}
	ctrl := disk
	if g := nvmeNsRE2.FindStringSubmatch(disk); g != nil {
		ctrl = g[1]
	}
	if strings.HasPrefix(ctrl, "nvme") {
		d.Model, _ = r.fs.ReadString(r.fs.Sys("class", "nvme", ctrl, "model"))
		d.Serial, _ = r.fs.ReadString(r.fs.Sys("class", "nvme", ctrl, "serial"))
		d.Path = "/dev/" + ctrl
	} else if r.fs.Exists(r.fs.Sys("block", disk)) {
		wwid, _ := r.fs.ReadString(r.fs.Sys("block", disk, "device", "wwid"))
		d.WWN, d.Model, d.Serial = parseWWID(wwid)
		if d.Model == "" {
			d.Model, _ = r.fs.ReadString(r.fs.Sys("block", disk, "device", "model"))
		}
		if d.Serial == "" {
			if b, err := r.fs.ReadFile(r.fs.Sys("block", disk, "device", "vpd_pg80")); err == nil {
				d.Serial = unitSerial(b)
			}
		}
	} else {
		r.ids[disk] = ""
		return ""
	}
	id := d.ID()
	r.ids[disk] = id
	return id
}

// parseWWID reads /sys/block/sdX/device/wwid: "naa.5000c500a1b2c3d4" gives
// the WWN; an ATA disk without one has "t10.ATA     " + model (40) +
// serial (20), the libata VPD page 0x83 T10 designator.
func parseWWID(w string) (wwn, mdl, serial string) {
	switch {
	case strings.HasPrefix(w, "naa."):
		return strings.ToLower(strings.TrimPrefix(w, "naa.")), "", ""
	case strings.HasPrefix(w, "t10.ATA"):
		rest := strings.TrimPrefix(w, "t10.")
		if len(rest) > 8 {
			rest = rest[8:]
			if len(rest) >= 40 {
				return "", strings.TrimSpace(rest[:40]), strings.TrimSpace(rest[40:])
			}
			return "", strings.TrimSpace(rest), ""
		}
	}
	return "", "", ""
}

// unitSerial reads the serial from a VPD page 0x80 (Unit Serial Number).
func unitSerial(b []byte) string {
	if len(b) < 4 || b[1] != 0x80 {
		return ""
	}
	n := int(b[2])<<8 | int(b[3])
	if 4+n > len(b) {
		n = len(b) - 4
	}
	return strings.TrimSpace(string(b[4 : 4+n]))
}

// controllers lists the RAID controllers once per Collect.
func (r *resolver) controllers() []hwraid.Controller {
	if !r.ctrlOK {
		r.ctrls, _ = hwraid.Discover(r.ctx, r.fs)
		r.ctrlOK = true
	}
	return r.ctrls
}

// event builds the KernelEvent of a recognised record.
func (r *resolver) event(rec Record, m Match) model.KernelEvent {
	ev := model.KernelEvent{Seq: rec.Seq, Kind: m.Kind, Device: m.Device, Line: rec.Message, Priority: rec.Level}
	if m.Sector >= 0 {
		s := m.Sector
		ev.Sector = &s
	}
	switch {
	case m.Driver != "":
		for _, c := range r.controllers() {
			if (m.PCI != "" && c.PCI == m.PCI && c.Driver == m.Driver) || (m.PCI == "" && c.Host == m.Host && c.Driver == m.Driver) {
				ev.Controller = c.Name
				break
			}
		}
		if ev.Controller == "" {
			if m.PCI != "" {
				ev.Controller = m.Driver + " " + m.PCI
			} else {
				ev.Controller = "scsi" + itoa(m.Host)
			}
		}
		ev.Device = ev.Controller
		if m.Port >= 0 {
			p := m.Port
			ev.Port = &p
			if strings.HasPrefix(m.Driver, "3w-") {
				ev.Device = ev.Controller + " port " + itoa(p)
			} else {
				ev.Device = ev.Controller + " disk " + itoa(p)
			}
		}
	case strings.HasPrefix(m.Device, "ata"):
		if sd := r.ataDisk(m.Device); sd != "" {
			ev.Device = sd
			ev.Disk = r.identity(sd)
		}
	case m.Device != "":
		disk := r.wholeDisk(m.Device)
		ev.Device = disk
		ev.Disk = r.identity(disk)
	}
	return ev
}

func itoa(n int) string {
	if n < 0 {
		return "-" + itoa(-n)
	}
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}
