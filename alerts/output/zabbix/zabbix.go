// Package zabbix answers Zabbix agent items from a snapshot document:
// low-level discovery JSON (disks, arrays, UPS, sensors, ATA attributes)
// and single item values (smart.attr[DISK,5,raw], md.degraded[md0], ...).
// It only reads the document: it never touches a device. Key arguments are
// validated before use (no path tricks, no option injection).
package zabbix

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/diskwatch/diskwatch/alerts/output/snapshot"
	"github.com/diskwatch/diskwatch/collectors/model"
)

// ErrNotFound means the key's subject is not in the snapshot (the item is
// "not supported" for Zabbix).
var ErrNotFound = errors.New("not found")

// MaxArg is the longest accepted key argument.
const MaxArg = 128

// ValidateArg accepts identity strings: letters, digits and _ . : @ / + - %
// (disk IDs "wwn:0x5000c500a1b2c3d4", "serial:MODEL_SN", UPS
// "ups@127.0.0.1:3493", sensors "hwmon/coretemp/temp1"), at most MaxArg
// bytes, not starting with '-' or '/', no "..".
func ValidateArg(a string) error {
	if a == "" {
		return errors.New("empty argument")
	}
	if len(a) > MaxArg {
		return fmt.Errorf("argument longer than %d bytes", MaxArg)
	}
	if a[0] == '-' || a[0] == '/' {
		return fmt.Errorf("argument %q may not start with %q", model.Clean(a), a[:1])
	}
	if strings.Contains(a, "..") {
		return fmt.Errorf("argument %q may not contain \"..\"", model.Clean(a))
	}
	for _, r := range a {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_.:@/+-%", r)
		if !ok {
			return fmt.Errorf("argument %q: character %q not allowed", model.Clean(a), r)
		}
	}
	return nil
}

// ParseKey splits a Zabbix item key "name[a,b,c]" (or "name") into name
// and arguments. Quoted arguments ("a,b") are accepted as Zabbix writes
// them. Every argument is validated.
func ParseKey(key string) (string, []string, error) {
	name, rest, hasArgs := strings.Cut(key, "[")
	if name == "" || !validName(name) {
		return "", nil, fmt.Errorf("bad item key %q", model.Clean(key))
	}
	if !hasArgs {
		return name, nil, nil
	}
	if !strings.HasSuffix(rest, "]") {
		return "", nil, fmt.Errorf("bad item key %q: missing ]", model.Clean(key))
	}
	rest = rest[:len(rest)-1]
	var args []string
	for {
		var a string
		if strings.HasPrefix(rest, `"`) {
			end := strings.IndexByte(rest[1:], '"')
			if end < 0 {
				return "", nil, fmt.Errorf("bad item key %q: unterminated quote", model.Clean(key))
			}
			a, rest = rest[1:end+1], rest[end+2:]
			if rest != "" && rest[0] != ',' {
				return "", nil, fmt.Errorf("bad item key %q: text after a quoted argument", model.Clean(key))
			}
		} else {
			i := strings.IndexByte(rest, ',')
			if i < 0 {
				i = len(rest)
			}
			a, rest = strings.TrimSpace(rest[:i]), rest[i:]
		}
		args = append(args, a)
		if rest == "" {
			break
		}
		rest = rest[1:] // the comma
	}
	// Trailing empty arguments are unused optional ones.
	for len(args) > 0 && args[len(args)-1] == "" {
		args = args[:len(args)-1]
	}
	for _, a := range args {
		if err := ValidateArg(a); err != nil {
			return "", nil, fmt.Errorf("item %s: %w", name, err)
		}
	}
	return name, args, nil
}

func validName(n string) bool {
	for _, r := range n {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '_') {
			return false
		}
	}
	return true
}

// Kinds lists the discovery kinds.
var Kinds = []string{"disks", "arrays", "ups", "sensors", "attributes"}

// Discovery returns the LLD JSON array for kind.
func Discovery(doc *snapshot.Doc, kind string) ([]byte, error) {
	rows := []map[string]string{}
	s := doc.Snapshot
	switch kind {
	case "disks":
		for _, d := range s.Disks {
			rows = append(rows, map[string]string{
				"{#DISK}": diskName(&d), "{#DISKID}": d.Device.ID(), "{#SERIAL}": model.Clean(d.Device.Serial),
				"{#MODEL}": model.Clean(d.Device.Model), "{#PROTOCOL}": d.Device.Protocol, "{#PATH}": d.Device.Path,
			})
		}
	case "arrays":
		for _, a := range s.Arrays {
			rows = append(rows, map[string]string{"{#ARRAY}": a.Name, "{#LEVEL}": a.Level})
		}
	case "ups":
		for _, u := range s.UPS {
			short, _, _ := strings.Cut(u.Name, "@")
			rows = append(rows, map[string]string{"{#UPS}": model.Clean(u.Name), "{#UPSNAME}": model.Clean(short), "{#UPSMODEL}": model.Clean(u.Model)})
		}
	case "sensors":
		for _, x := range s.Sensors {
			rows = append(rows, map[string]string{"{#SENSOR}": x.ID, "{#SENSORLABEL}": model.Clean(x.Label), "{#SENSORKIND}": x.Kind, "{#SENSORUNIT}": x.Unit})
		}
	case "attributes":
		for _, d := range s.Disks {
			for _, a := range d.ATAAttributes {
				rows = append(rows, map[string]string{"{#DISK}": diskName(&d), "{#DISKID}": d.Device.ID(),
					"{#ATTRID}": strconv.Itoa(a.ID), "{#ATTRNAME}": model.Clean(a.Name)})
			}
		}
	default:
		return nil, fmt.Errorf("unknown discovery %q (one of %s)", model.Clean(kind), strings.Join(Kinds, ", "))
	}
	return json.Marshal(rows)
}

func diskName(d *model.Disk) string {
	if d.Device.Name != "" {
		return model.Clean(d.Device.Name)
	}
	return strings.TrimPrefix(d.Device.Path, "/dev/")
}

// findDisk matches a disk by identity, serial, kernel name or path.
func findDisk(s *model.Snapshot, arg string) (*model.Disk, error) {
	for i := range s.Disks {
		d := &s.Disks[i]
		if d.Device.ID() == arg || (d.Device.Serial != "" && model.Clean(d.Device.Serial) == arg) || diskName(d) == arg || d.Device.Path == arg {
			return d, nil
		}
	}
	return nil, fmt.Errorf("disk %s: %w", arg, ErrNotFound)
}

func findArray(s *model.Snapshot, arg string) (*model.Array, error) {
	for i := range s.Arrays {
		if s.Arrays[i].Name == arg {
			return &s.Arrays[i], nil
		}
	}
	return nil, fmt.Errorf("array %s: %w", arg, ErrNotFound)
}

func findUPS(s *model.Snapshot, arg string) (*model.UPS, error) {
	for i := range s.UPS {
		u := &s.UPS[i]
		short, _, _ := strings.Cut(u.Name, "@")
		if u.Name == arg || short == arg {
			return u, nil
		}
	}
	return nil, fmt.Errorf("UPS %s: %w", arg, ErrNotFound)
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func need(name string, args []string, n int, usage string) error {
	if len(args) < n {
		return fmt.Errorf("item %s needs %s", name, usage)
	}
	return nil
}

// Get returns the value of item key name with args, from doc, at now.
func Get(doc *snapshot.Doc, name string, args []string, now time.Time) (string, error) {
	s := doc.Snapshot
	switch name {
	case "diskwatch.status":
		return strconv.Itoa(int(doc.Status)), nil
	case "diskwatch.findings":
		n := 0
		for _, f := range doc.Findings {
			if f.Severity != model.OK && (len(args) == 0 || strings.EqualFold(args[0], f.Severity.String())) {
				n++
			}
		}
		return strconv.Itoa(n), nil
	case "diskwatch.problems":
		var p []string
		for _, f := range doc.Findings {
			if f.Severity != model.OK {
				p = append(p, f.Severity.String()+" "+model.Clean(f.Subject)+": "+model.Clean(f.Message))
			}
		}
		if len(p) == 0 {
			return "OK", nil
		}
		return strings.Join(p, "\n"), nil
	case "diskwatch.age":
		if doc.Written.IsZero() {
			return "0", nil
		}
		return num(now.Sub(doc.Written).Seconds()), nil
	case "diskwatch.alerts":
		return strconv.Itoa(len(doc.Alerts)), nil
	case "diskwatch.collector":
		if err := need(name, args, 1, "[COLLECTOR]"); err != nil {
			return "", err
		}
		for _, st := range s.Sources {
			if st.Name == args[0] {
				return st.State, nil
			}
		}
		return "", fmt.Errorf("collector %s: %w", args[0], ErrNotFound)
	case "smart.health", "smart.temp", "smart.attr", "smart.nvme", "disk.status", "smart.poweron":
		return diskItem(doc, name, args)
	case "md.state", "md.degraded", "md.sync", "md.disks", "md.mismatch":
		if err := need(name, args, 1, "[ARRAY]"); err != nil {
			return "", err
		}
		a, err := findArray(s, args[0])
		if err != nil {
			return "", err
		}
		switch name {
		case "md.state":
			if a.ArrayState != "" {
				return a.ArrayState, nil
			}
			return a.Activity, nil
		case "md.degraded":
			if a.DisksDown > 0 || a.DisksFailed > 0 || a.Degraded > 0 {
				return "1", nil
			}
			return "0", nil
		case "md.sync":
			return num(a.SyncPercent), nil
		case "md.mismatch":
			if a.MismatchCount < 0 {
				return "", fmt.Errorf("array %s: the kernel does not report mismatch_cnt: %w", args[0], ErrNotFound)
			}
			return strconv.FormatInt(a.MismatchCount, 10), nil
		default:
			if err := need(name, args, 2, "[ARRAY,total|active|failed|down|spare]"); err != nil {
				return "", err
			}
			v, ok := map[string]int{"total": a.DisksTotal, "active": a.DisksActive, "failed": a.DisksFailed, "down": a.DisksDown, "spare": a.DisksSpare}[args[1]]
			if !ok {
				return "", fmt.Errorf("md.disks: unknown state %q", args[1])
			}
			return strconv.Itoa(v), nil
		}
	case "ups.status", "ups.charge", "ups.runtime", "ups.load", "ups.reachable":
		if err := need(name, args, 1, "[UPS]"); err != nil {
			return "", err
		}
		u, err := findUPS(s, args[0])
		if err != nil {
			return "", err
		}
		var p *float64
		switch name {
		case "ups.status":
			return model.Clean(strings.Join(u.Status, " ")), nil
		case "ups.reachable":
			if u.Reachable {
				return "1", nil
			}
			return "0", nil
		case "ups.charge":
			p = u.ChargePercent
		case "ups.runtime":
			p = u.RuntimeSeconds
		case "ups.load":
			p = u.LoadPercent
		}
		if p == nil {
			return "", fmt.Errorf("UPS %s does not report %s: %w", args[0], name, ErrNotFound)
		}
		return num(*p), nil
	case "diskwatch.sensor", "sensor":
		if err := need(name, args, 1, "[SENSOR]"); err != nil {
			return "", err
		}
		for _, x := range s.Sensors {
			if x.ID == args[0] {
				return num(x.Value), nil
			}
		}
		return "", fmt.Errorf("sensor %s: %w", args[0], ErrNotFound)
	}
	return "", fmt.Errorf("unknown item %q (known: %s)", name, strings.Join(Items(), ", "))
}

// Items lists the item key names Get answers.
func Items() []string {
	n := []string{"diskwatch.status", "diskwatch.findings", "diskwatch.problems", "diskwatch.age", "diskwatch.alerts", "diskwatch.collector",
		"smart.health", "smart.temp", "smart.attr", "smart.nvme", "smart.poweron", "disk.status",
		"md.state", "md.degraded", "md.sync", "md.disks", "md.mismatch",
		"ups.status", "ups.charge", "ups.runtime", "ups.load", "ups.reachable", "diskwatch.sensor"}
	sort.Strings(n)
	return n
}

func diskItem(doc *snapshot.Doc, name string, args []string) (string, error) {
	if err := need(name, args, 1, "[DISK] (identity, serial or name)"); err != nil {
		return "", err
	}
	d, err := findDisk(doc.Snapshot, args[0])
	if err != nil {
		return "", err
	}
	switch name {
	case "smart.health":
		if d.SMARTPassed == nil {
			return "", fmt.Errorf("disk %s reports no SMART health: %w", args[0], ErrNotFound)
		}
		if *d.SMARTPassed {
			return "1", nil
		}
		return "0", nil
	case "smart.temp":
		if d.TemperatureC == nil {
			return "", fmt.Errorf("disk %s reports no temperature: %w", args[0], ErrNotFound)
		}
		return num(*d.TemperatureC), nil
	case "smart.poweron":
		if d.PowerOnHours == nil {
			return "", fmt.Errorf("disk %s reports no power-on hours: %w", args[0], ErrNotFound)
		}
		return strconv.FormatInt(*d.PowerOnHours, 10), nil
	case "disk.status":
		worst := model.OK
		id := d.Device.ID()
		for _, f := range doc.Findings {
			if f.SubjectID == id && f.Severity.Rank() > worst.Rank() {
				worst = f.Severity
			}
		}
		return strconv.Itoa(int(worst)), nil
	case "smart.attr":
		if err := need(name, args, 2, "[DISK,ID[,raw|value|worst|thresh]]"); err != nil {
			return "", err
		}
		id, err := strconv.Atoi(args[1])
		if err != nil || id < 1 || id > 255 {
			return "", fmt.Errorf("smart.attr: attribute id must be 1-255, not %q", args[1])
		}
		a := d.Attr(id)
		if a == nil {
			return "", fmt.Errorf("disk %s has no attribute %d: %w", args[0], id, ErrNotFound)
		}
		field := "raw"
		if len(args) > 2 {
			field = args[2]
		}
		switch field {
		case "raw":
			return strconv.FormatInt(a.Raw, 10), nil
		case "value":
			return strconv.Itoa(a.Value), nil
		case "worst":
			return strconv.Itoa(a.Worst), nil
		case "thresh":
			return strconv.Itoa(a.Thresh), nil
		}
		return "", fmt.Errorf("smart.attr: field must be raw, value, worst or thresh, not %q", field)
	case "smart.nvme":
		if err := need(name, args, 2, "[DISK,critical_warning|available_spare|percentage_used|media_errors|unsafe_shutdowns]"); err != nil {
			return "", err
		}
		n := d.NVMe
		if n == nil {
			return "", fmt.Errorf("disk %s is not NVMe: %w", args[0], ErrNotFound)
		}
		v, ok := map[string]float64{"critical_warning": float64(n.CriticalWarning), "available_spare": float64(n.AvailableSpare),
			"percentage_used": float64(n.PercentageUsed), "media_errors": float64(n.MediaErrors), "unsafe_shutdowns": float64(n.UnsafeShutdowns),
			"error_log_entries": float64(n.NumErrLogEntries)}[args[1]]
		if !ok {
			return "", fmt.Errorf("smart.nvme: unknown field %q", args[1])
		}
		return num(v), nil
	}
	return "", fmt.Errorf("unknown item %q", name)
}
