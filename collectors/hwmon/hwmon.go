// Package hwmon reads the kernel's hardware monitoring sensors from
// /sys/class/hwmon (Documentation/hwmon/sysfs-interface.rst): temperatures,
// fans, voltages, currents, power and humidity with their labels and the
// chip's own min/max/crit limits and alarm flags, converted to base units.
// Drive sensors (drivetemp, nvme) are tied to their disk through the hwmon
// device link.
package hwmon

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/diskwatch/diskwatch/collectors"
	"github.com/diskwatch/diskwatch/collectors/hostroot"
	"github.com/diskwatch/diskwatch/collectors/model"
)

// Collector reads every hwmon chip through a host root.
type Collector struct {
	FS hostroot.FS
	// SkipDrivetemp leaves drivetemp chips unread: reading a drive's
	// temperature can reset its spin-down timer on some drives.
	SkipDrivetemp bool
	// Asleep, when set, is asked before a drive's sensors (drivetemp) are
	// read: a disk it says is asleep under the standby policy is left
	// unread this cycle (reading drivetemp sends ATA commands to the
	// disk). Kernel disk name in, as smart.Standby.Asleep.
	Asleep func(ctx context.Context, disk string) (bool, string)
}

// New returns a collector reading through fs.
func New(fs hostroot.FS) *Collector { return &Collector{FS: fs} }

// kinds maps a sysfs sensor type to its kind, unit and the divisor from
// the sysfs unit (millidegree, millivolt, milliampere, microwatt,
// milli-percent; fans are in rpm).
var kinds = map[string]struct {
	kind, unit string
	div        float64
}{
	"temp":     {"temperature", "C", 1000},
	"fan":      {"fan", "rpm", 1},
	"in":       {"voltage", "V", 1000},
	"curr":     {"current", "A", 1000},
	"power":    {"power", "W", 1e6},
	"humidity": {"humidity", "%", 1000},
}

// Attr is one parsed attribute file name: "temp1_crit_alarm" is type
// "temp", index 1, attribute "crit_alarm".
type Attr struct {
	Type  string
	Index int
	Name  string
}

// ParseAttrName splits a hwmon attribute file name. ok is false for files
// that are not sensor attributes of a supported type (name, uevent, pwm*,
// intrusion*, ...).
func ParseAttrName(file string) (a Attr, ok bool) {
	base, attr, found := strings.Cut(file, "_")
	if !found || attr == "" {
		return a, false
	}
	i := len(base)
	for i > 0 && base[i-1] >= '0' && base[i-1] <= '9' {
		i--
	}
	if i == 0 || i == len(base) || len(base)-i > 4 {
		return a, false
	}
	typ := base[:i]
	if _, known := kinds[typ]; !known {
		return a, false
	}
	n, err := strconv.Atoi(base[i:])
	if err != nil {
		return a, false
	}
	return Attr{typ, n, attr}, true
}

// ParseValue converts the text of a value attribute of sensor type typ to
// base units (°C, V, A, W, %, rpm).
func ParseValue(typ, text string) (float64, error) {
	k, ok := kinds[typ]
	if !ok {
		return 0, fmt.Errorf("unknown sensor type %q", typ)
	}
	s := strings.TrimSpace(text)
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("not an integer: %q", clip(s))
	}
	return float64(v) / k.div, nil
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// Collect implements collectors.Collector.
func (c *Collector) Collect(ctx context.Context, out *model.Snapshot) error {
	classDir := c.FS.Sys("class", "hwmon")
	ents, err := os.ReadDir(classDir)
	if hostroot.IsNotExist(err) || (err == nil && len(ents) == 0) {
		return fmt.Errorf("no hwmon chips in %s: %w", classDir, collectors.ErrAbsent)
	}
	if err != nil {
		return fmt.Errorf("hwmon: list %s: %w", classDir, err)
	}
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		names = append(names, e.Name())
	}
	sort.Slice(names, func(i, j int) bool { return natLess(names[i], names[j]) })
	var errs []error
	seen := map[string]bool{}
	for _, n := range names {
		if err := ctx.Err(); err != nil {
			errs = append(errs, fmt.Errorf("hwmon: %w", err))
			break
		}
		ss, err := c.readChip(ctx, filepath.Join(classDir, n), n)
		if err != nil {
			errs = append(errs, err)
		}
		for _, s := range ss {
			if seen[s.ID] {
				s.ID += "#" + n
			}
			seen[s.ID] = true
			out.Sensors = append(out.Sensors, s)
		}
	}
	return errors.Join(errs...)
}

// natLess orders hwmon2 before hwmon10.
func natLess(a, b string) bool {
	na, ea := strconv.Atoi(strings.TrimPrefix(a, "hwmon"))
	nb, eb := strconv.Atoi(strings.TrimPrefix(b, "hwmon"))
	if ea == nil && eb == nil {
		return na < nb
	}
	return a < b
}

type sensorFiles struct {
	attrs map[string]string // attribute -> file path
}

// readChip reads one hwmonN directory.
func (c *Collector) readChip(ctx context.Context, dir, hwName string) ([]model.Sensor, error) {
	chip, _ := c.FS.ReadString(filepath.Join(dir, "name"))
	chip = model.Clean(chip)
	if chip == "" {
		chip = hwName
	}
	if chip == "drivetemp" && c.SkipDrivetemp {
		return nil, nil
	}
	files, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("hwmon %s: %w", hwName, err)
	}
	groups := map[Attr]*sensorFiles{}
	collect := func(d string, fs []os.DirEntry) {
		for _, f := range fs {
			a, ok := ParseAttrName(f.Name())
			if !ok {
				continue
			}
			key := Attr{a.Type, a.Index, ""}
			g := groups[key]
			if g == nil {
				g = &sensorFiles{attrs: map[string]string{}}
				groups[key] = g
			}
			if _, dup := g.attrs[a.Name]; !dup {
				g.attrs[a.Name] = filepath.Join(d, f.Name())
			}
		}
	}
	collect(dir, files)
	// Old drivers keep their attributes in the device directory.
	if len(groups) == 0 {
		if dfs, err := os.ReadDir(filepath.Join(dir, "device")); err == nil {
			collect(filepath.Join(dir, "device"), dfs)
		}
	}
	disk, kname := c.diskOf(dir, chip)
	if chip == "drivetemp" && kname != "" && c.Asleep != nil {
		if asleep, _ := c.Asleep(ctx, kname); asleep {
			return nil, nil // the standby policy: not woken for a temperature
		}
	}
	devKey := disk
	if devKey == "" {
		devKey = deviceKey(dir, hwName)
	}
	keys := make([]Attr, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].Type != keys[j].Type {
			return keys[i].Type < keys[j].Type
		}
		return keys[i].Index < keys[j].Index
	})
	var out []model.Sensor
	var errs []error
	for _, k := range keys {
		g := groups[k]
		s, err := c.readSensor(k, g, chip)
		if err != nil {
			errs = append(errs, fmt.Errorf("hwmon %s (%s) %s%d: %w", hwName, chip, k.Type, k.Index, err))
			continue
		}
		if s == nil {
			continue
		}
		s.ID = fmt.Sprintf("hwmon/%s@%s/%s%d", chip, devKey, k.Type, k.Index)
		s.Disk, s.Device = disk, kname
		out = append(out, *s)
	}
	return out, errors.Join(errs...)
}

// deviceKey names the device a chip belongs to, stable across boots
// (hwmonN numbers are not): the base name of its device link, else of the
// directory above ".../hwmon/hwmonN", else hwName.
func deviceKey(dir, hwName string) string {
	if t, err := filepath.EvalSymlinks(filepath.Join(dir, "device")); err == nil {
		return filepath.Base(t)
	}
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return hwName
	}
	parent := filepath.Dir(real)
	if filepath.Base(parent) == "hwmon" {
		parent = filepath.Dir(parent)
	}
	if parent == filepath.Dir(dir) || filepath.Base(parent) == "class" {
		return hwName // a chip directory right in class/hwmon
	}
	return filepath.Base(parent)
}

// readSensor reads one sensor; nil when it has no readable value (no
// input, a fault flag, or a read error such as ENODATA from a sleeping
// drive: the kernel's way of saying "no reading now").
func (c *Collector) readSensor(k Attr, g *sensorFiles, chip string) (*model.Sensor, error) {
	in, ok := g.attrs["input"]
	if !ok && k.Type == "power" {
		in, ok = g.attrs["average"]
	}
	if !ok {
		return nil, nil
	}
	if f, ok := g.attrs["fault"]; ok {
		if v, err := c.FS.ReadString(f); err == nil && v == "1" {
			return nil, nil
		}
	}
	raw, err := c.FS.ReadString(in)
	if err != nil {
		if errors.Is(err, fs.ErrPermission) {
			return nil, err
		}
		return nil, nil
	}
	v, err := ParseValue(k.Type, raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Base(in), err)
	}
	kd := kinds[k.Type]
	s := &model.Sensor{Kind: kd.kind, Unit: kd.unit, Value: v, Chip: chip}
	if l, ok := g.attrs["label"]; ok {
		if t, err := c.FS.ReadString(l); err == nil {
			s.Label = model.Clean(t)
		}
	}
	for attr, dst := range map[string]**float64{"min": &s.Min, "max": &s.Max, "crit": &s.Crit} {
		p, ok := g.attrs[attr]
		if !ok {
			continue
		}
		t, err := c.FS.ReadString(p)
		if err != nil {
			continue
		}
		if x, err := ParseValue(k.Type, t); err == nil {
			*dst = &x
		}
	}
	for _, attr := range []string{"alarm", "min_alarm", "max_alarm", "crit_alarm", "lcrit_alarm", "emergency_alarm"} {
		if p, ok := g.attrs[attr]; ok {
			if t, err := c.FS.ReadString(p); err == nil && t == "1" {
				s.Alarm = true
			}
		}
	}
	return s, nil
}

// diskOf ties a drive's hwmon chip to its disk: the nvme driver's hwmon
// device is the NVMe controller (model and serial in sysfs); drivetemp's
// is the SCSI device, whose block/ directory names the disk and whose wwid
// gives its WWN. It returns the disk identity (model.DeviceInfo.ID) when
// it can be formed, and the kernel name.
func (c *Collector) diskOf(dir, chip string) (id, kname string) {
	dev, err := filepath.EvalSymlinks(filepath.Join(dir, "device"))
	if err != nil {
		return "", ""
	}
	switch {
	case chip == "nvme":
		kname = filepath.Base(dev)
		mdl, _ := c.FS.ReadString(filepath.Join(dev, "model"))
		ser, _ := c.FS.ReadString(filepath.Join(dev, "serial"))
		if mdl != "" && ser != "" {
			id = model.DeviceInfo{Path: "/dev/" + kname, Protocol: "nvme", Model: mdl, Serial: ser}.ID()
		}
		return id, kname
	default:
		blk, err := os.ReadDir(filepath.Join(dev, "block"))
		if err != nil || len(blk) == 0 {
			return "", ""
		}
		kname = blk[0].Name()
		if w, err := c.FS.ReadString(filepath.Join(dev, "wwid")); err == nil && strings.HasPrefix(w, "naa.") {
			id = model.DeviceInfo{Path: "/dev/" + kname, WWN: strings.TrimPrefix(w, "naa.")}.ID()
		}
		return id, kname
	}
}
