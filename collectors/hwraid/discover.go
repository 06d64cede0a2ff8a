// Package hwraid finds hardware RAID controllers and the disks behind
// them (3ware 9000/9750/6000-8000, LSI MegaRAID) and reads those disks:
// natively through the controllers' firmware pass-through ioctls, and
// through the smartctl backend with the matching -d type when the native
// path fails.
//
// Discovery reads /sys/class/scsi_host/host*/proc_name and /proc/devices
// through hostroot; the controllers' character devices (/dev/twa0,
// /dev/megaraid_sas_ioctl_node) are created from /proc/devices' major when
// missing, as smartctl does, on the live host only.
package hwraid

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/diskwatch/diskwatch/collectors/hostroot"
)

// Family is the kind of controller.
type Family string

// Controller families.
const (
	// Family3ware is a 3ware controller (twa, twl or twe device).
	Family3ware Family = "3ware"
	// FamilyMegaRAID is an LSI/Broadcom MegaRAID (MFI) controller.
	FamilyMegaRAID Family = "megaraid"
	// FamilyHBA is a plain SAS HBA (mpt3sas, mpi3mr): its disks are
	// ordinary SCSI disks (sdX) read by the normal SMART path.
	FamilyHBA Family = "hba"
)

// driverInfo says what a SCSI host driver (proc_name) is.
type driverInfo struct {
	family Family
	// chr is the character device name prefix ("twa") and the
	// /proc/devices name its major is listed under.
	chr string
}

var drivers = map[string]driverInfo{
	"3w-9xxx":      {Family3ware, "twa"},
	"3w-sas":       {Family3ware, "twl"},
	"3w-xxxx":      {Family3ware, "twe"},
	"megaraid_sas": {FamilyMegaRAID, "megaraid_sas_ioctl"},
	"mpt3sas":      {FamilyHBA, ""},
	"mpt2sas":      {FamilyHBA, ""},
	"mpi3mr":       {FamilyHBA, ""},
}

// MegaRAIDNode is the MFI ioctl node every MegaRAID controller shares.
const MegaRAIDNode = "megaraid_sas_ioctl_node"

// Controller is one RAID controller or HBA found in sysfs.
type Controller struct {
	// Host is the SCSI host number (hostN).
	Host int `json:"host"`
	// Driver is the host's proc_name: 3w-9xxx, 3w-sas, 3w-xxxx,
	// megaraid_sas, mpt3sas, mpi3mr.
	Driver string `json:"driver"`
	Family Family `json:"family"`
	// Index is the controller's number among those of its driver, in host
	// order: the N of /dev/twaN. For MegaRAID it is the host number, which
	// is what the MFI ioctl addresses.
	Index int `json:"index"`
	// Name is the controller's short name in output: twa0, twl1, twe0,
	// megaraid0 (index among MegaRAID hosts), host4 for an HBA.
	Name string `json:"name"`
	// Dev is the host path of the character device the controller is
	// reached through (/dev/twa0, /dev/megaraid_sas_ioctl_node); empty for
	// an HBA.
	Dev string `json:"dev,omitempty"`
	// PCI is the controller's PCI address (0000:02:00.0) when sysfs says.
	PCI string `json:"pci,omitempty"`
}

// Port names a disk behind the controller in output: "twa0 port 1",
// "megaraid0 disk 5".
func (c Controller) Port(n int) string {
	if c.Family == Family3ware {
		return fmt.Sprintf("%s port %d", c.Name, n)
	}
	return fmt.Sprintf("%s disk %d", c.Name, n)
}

// Via is the smartctl -d type of disk n behind the controller: "3ware,1",
// "megaraid,5". sat selects "sat+megaraid,N" for a SATA disk behind a
// MegaRAID.
func (c Controller) Via(n int, sat bool) string {
	switch c.Family {
	case Family3ware:
		return fmt.Sprintf("3ware,%d", n)
	case FamilyMegaRAID:
		if sat {
			return fmt.Sprintf("sat+megaraid,%d", n)
		}
		return fmt.Sprintf("megaraid,%d", n)
	}
	return ""
}

var hostRE = regexp.MustCompile(`^host(\d+)$`)
var pciRE = regexp.MustCompile(`^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$`)

// Discover lists the RAID controllers and HBAs of the host root, ordered by
// host number. A host whose driver is not one of ours is skipped. It does
// not create device nodes (see EnsureNodes).
func Discover(ctx context.Context, fs hostroot.FS) ([]Controller, error) {
	dir := fs.Sys("class", "scsi_host")
	ents, err := os.ReadDir(dir)
	if err != nil {
		if hostroot.IsNotExist(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("raid discovery: list %s: %w", dir, err)
	}
	var out []Controller
	var errs []error
	for _, e := range ents {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		m := hostRE.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		host, _ := strconv.Atoi(m[1])
		pn, err := fs.ReadString(filepath.Join(dir, e.Name(), "proc_name"))
		if err != nil {
			if !hostroot.IsNotExist(err) {
				errs = append(errs, fmt.Errorf("raid discovery: %s: read proc_name: %w", e.Name(), err))
			}
			continue
		}
		if _, ok := drivers[pn]; !ok {
			continue
		}
		c := Controller{Host: host, Driver: pn, Family: drivers[pn].family}
		if t, err := os.Readlink(filepath.Join(dir, e.Name())); err == nil {
			c.PCI = pciOf(t)
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Host < out[j].Host })
	seen := map[string]int{}
	for i := range out {
		c := &out[i]
		d := drivers[c.Driver]
		n := seen[c.Driver]
		seen[c.Driver]++
		switch c.Family {
		case Family3ware:
			c.Index = n
			c.Name = fmt.Sprintf("%s%d", d.chr, n)
			c.Dev = fmt.Sprintf("/dev/%s%d", d.chr, n)
		case FamilyMegaRAID:
			c.Index = c.Host
			c.Name = fmt.Sprintf("megaraid%d", n)
			c.Dev = "/dev/" + MegaRAIDNode
		default:
			c.Index = c.Host
			c.Name = fmt.Sprintf("host%d", c.Host)
		}
	}
	return out, errors.Join(errs...)
}

// pciOf returns the last PCI address in a sysfs device path.
func pciOf(target string) string {
	parts := strings.Split(target, "/")
	for i := len(parts) - 1; i >= 0; i-- {
		if pciRE.MatchString(parts[i]) {
			return parts[i]
		}
	}
	return ""
}

// ParseProcDevices reads the character-device section of /proc/devices
// into name -> major.
func ParseProcDevices(b []byte) (map[string]uint32, error) {
	out := map[string]uint32{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	inChar := false
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "":
			continue
		case strings.HasPrefix(line, "Character devices"):
			inChar = true
			continue
		case strings.HasPrefix(line, "Block devices"):
			inChar = false
			continue
		}
		if !inChar {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 2 {
			return nil, fmt.Errorf("/proc/devices: bad line %q", line)
		}
		maj, err := strconv.ParseUint(f[0], 10, 32)
		if err != nil {
			return nil, fmt.Errorf("/proc/devices: bad major in %q", line)
		}
		out[f[1]] = uint32(maj)
	}
	return out, sc.Err()
}

// NodeFor says which character device a controller needs: its path under
// /dev, the /proc/devices name of its major, and its minor.
func NodeFor(c Controller) (path, name string, minor uint32, ok bool) {
	d, found := drivers[c.Driver]
	if !found || d.chr == "" {
		return "", "", 0, false
	}
	if c.Family == FamilyMegaRAID {
		return "/dev/" + MegaRAIDNode, d.chr, 0, true
	}
	return c.Dev, d.chr, uint32(c.Index), true
}

// EnsureNodes creates the controllers' missing character devices from the
// majors in /proc/devices, as smartctl does. It only acts on the live host
// (never under --root) and only for devices that do not exist yet.
func EnsureNodes(fs hostroot.FS, cs []Controller) error {
	if !fs.IsHost() {
		return nil
	}
	var majors map[string]uint32
	var errs []error
	for _, c := range cs {
		path, name, minor, ok := NodeFor(c)
		if !ok || fs.Exists(path) {
			continue
		}
		if majors == nil {
			b, err := fs.ReadFile(fs.Proc("devices"))
			if err != nil {
				return fmt.Errorf("%s: read /proc/devices: %w", c.Name, err)
			}
			if majors, err = ParseProcDevices(b); err != nil {
				return fmt.Errorf("%s: %w", c.Name, err)
			}
		}
		maj, ok := majors[name]
		if !ok {
			errs = append(errs, fmt.Errorf("%s: %s is not in /proc/devices (driver not loaded?)", c.Name, name))
			continue
		}
		dev := int((maj << 8) | (minor & 0xff) | ((minor &^ 0xff) << 12))
		if err := syscall.Mknod(path, syscall.S_IFCHR|0o600, dev); err != nil && !errors.Is(err, os.ErrExist) {
			errs = append(errs, fmt.Errorf("%s: create %s (char %d:%d): %w", c.Name, path, maj, minor, err))
		}
	}
	return errors.Join(errs...)
}
