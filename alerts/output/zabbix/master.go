package zabbix

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"time"

	"github.com/diskwatch/diskwatch/alerts/assemble/locate"
	"github.com/diskwatch/diskwatch/alerts/output/snapshot"
	"github.com/diskwatch/diskwatch/collectors/model"
)

// MasterKey is the item the shipped template polls: one call returns the
// whole host as one JSON object, which the template's dependent items and
// discovery rules take apart with JSONPath (one process per host per
// interval, however many disks).
const MasterKey = "diskwatch.get"

// Master is the JSON object MasterKey answers. When the snapshot is
// missing, unreadable or stale, Running is 0, Error says why and what to
// do, Age is the real age when the file could be read, and no reading is
// given: dependent items then fail with an error instead of showing old
// or made-up values.
type Master struct {
	Running int      `json:"running"`
	Error   string   `json:"error"`
	Age     *float64 `json:"age,omitempty"`
	// MaxAge is the age (seconds) beyond which the snapshot is stale.
	MaxAge float64 `json:"max_age"`
	// Readings are there only when Running is 1.
	*Readings
}

// Readings are the findings and readings of a fresh snapshot. The lists
// are never null ([] when empty), so discovery sees "none" rather than
// an error.
type Readings struct {
	Host string `json:"host"`
	// Severity is the worst finding: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
	Severity int `json:"severity"`
	// Problems is one line per finding that is not OK ("OK" when none).
	Problems string `json:"problems"`
	// OtherSeverity and OtherProblems cover the findings about no disk,
	// array, UPS or sensor of the snapshot (kernel log, collectors, ...):
	// the template's host-level triggers use them so one problem pages once.
	OtherSeverity int            `json:"other_severity"`
	OtherProblems string         `json:"other_problems"`
	Findings      FindingCounts  `json:"findings"`
	Alerts        int            `json:"alerts"`
	Collectors    []MasterSource `json:"collectors"`
	Disks         []MasterDisk   `json:"disks"`
	Attributes    []MasterAttr   `json:"attributes"`
	Arrays        []MasterArray  `json:"arrays"`
	UPS           []MasterUPS    `json:"ups"`
	Sensors       []MasterSensor `json:"sensors"`
}

// FindingCounts counts findings that are not OK, by severity.
type FindingCounts struct {
	Critical int `json:"critical"`
	Warning  int `json:"warning"`
	Unknown  int `json:"unknown"`
}

// MasterSource is a collector's state in the last round.
type MasterSource struct {
	Name  string `json:"name"`
	State string `json:"state"` // ok, partial, failed, absent
	Error string `json:"error"`
}

// MasterDisk is one disk. Pointers are absent when the disk does not
// report the value (the dependent item then says so).
type MasterDisk struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Model    string `json:"model"`
	Serial   string `json:"serial"`
	Protocol string `json:"protocol"`
	Path     string `json:"path"`
	Severity int    `json:"severity"`
	Problems string `json:"problems"`
	// Health is 1 when SMART overall health passed, 0 when it failed.
	Health       *int        `json:"health,omitempty"`
	Temperature  *float64    `json:"temperature,omitempty"`
	PowerOnHours *int64      `json:"power_on_hours,omitempty"`
	NVMe         *MasterNVMe `json:"nvme,omitempty"`
}

// MasterNVMe is an NVMe drive's health log.
type MasterNVMe struct {
	CriticalWarning int    `json:"critical_warning"`
	AvailableSpare  int    `json:"available_spare"`
	PercentageUsed  int    `json:"percentage_used"`
	MediaErrors     uint64 `json:"media_errors"`
	UnsafeShutdowns uint64 `json:"unsafe_shutdowns"`
	ErrorLogEntries uint64 `json:"error_log_entries"`
}

// MasterAttr is one ATA SMART attribute of one disk.
type MasterAttr struct {
	DiskID string `json:"disk_id"`
	Disk   string `json:"disk"`
	ID     int    `json:"id"`
	Name   string `json:"name"`
	Value  int    `json:"value"`
	Worst  int    `json:"worst"`
	Thresh int    `json:"thresh"`
	Raw    int64  `json:"raw"`
}

// MasterArray is one md array. ID is its identity (model.Array.ID: the
// UUID when known), which survives the kernel renaming md0 to md127.
type MasterArray struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Level    string `json:"level"`
	State    string `json:"state"`
	Severity int    `json:"severity"`
	Problems string `json:"problems"`
	// Degraded is 1 when a slot is missing or a member failed.
	Degraded    int     `json:"degraded"`
	Sync        float64 `json:"sync"`
	DisksTotal  int     `json:"disks_total"`
	DisksActive int     `json:"disks_active"`
	DisksFailed int     `json:"disks_failed"`
	DisksDown   int     `json:"disks_down"`
	DisksSpare  int     `json:"disks_spare"`
	// Mismatch is absent when the kernel does not report it.
	Mismatch *int64 `json:"mismatch,omitempty"`
}

// MasterUPS is one UPS. Name is the short name (before "@"): Zabbix
// refuses "@" in some places.
type MasterUPS struct {
	Name      string   `json:"name"`
	Address   string   `json:"address"`
	Model     string   `json:"model"`
	Status    string   `json:"status"`
	Reachable int      `json:"reachable"`
	Severity  int      `json:"severity"`
	Problems  string   `json:"problems"`
	Charge    *float64 `json:"charge,omitempty"`
	Runtime   *float64 `json:"runtime,omitempty"`
	Load      *float64 `json:"load,omitempty"`
}

// MasterSensor is one sensor reading.
type MasterSensor struct {
	ID       string  `json:"id"`
	Label    string  `json:"label"`
	Kind     string  `json:"kind"`
	Unit     string  `json:"unit"`
	Value    float64 `json:"value"`
	Alarm    int     `json:"alarm"`
	Severity int     `json:"severity"`
	Problems string  `json:"problems"`
}

// ParseMaxAge reads the optional argument of MasterKey: empty or "auto"
// (3 daemon intervals, at least 3 minutes), seconds ("600"), or a number
// with a Zabbix time suffix s, m, h, d or w ("10m").
func ParseMaxAge(s string) (time.Duration, error) {
	if s == "" || s == "auto" {
		return 0, nil
	}
	unit := time.Second
	switch s[len(s)-1] {
	case 's':
		s = s[:len(s)-1]
	case 'm':
		unit, s = time.Minute, s[:len(s)-1]
	case 'h':
		unit, s = time.Hour, s[:len(s)-1]
	case 'd':
		unit, s = 24*time.Hour, s[:len(s)-1]
	case 'w':
		unit, s = 7*24*time.Hour, s[:len(s)-1]
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("%s: maximum snapshot age must be auto or a positive number with an optional s, m, h, d or w suffix, not %q", MasterKey, model.Clean(s))
	}
	return time.Duration(n) * unit, nil
}

// MaxAge is the age beyond which doc is stale: maxAge when set, else the
// rule every command uses (locate.SnapshotMaxAge: 3 daemon intervals, at
// least 3 minutes).
func MaxAge(doc *snapshot.Doc, maxAge time.Duration) time.Duration {
	if maxAge > 0 {
		return maxAge
	}
	var iv time.Duration
	if doc != nil && doc.Daemon != nil {
		iv = doc.Daemon.Interval
	}
	return locate.SnapshotMaxAge(iv)
}

// NewMaster builds MasterKey's answer from the snapshot read from path
// (doc, or readErr when it could not be read) at now. It never fails: a
// missing, unreadable or stale snapshot is a Master with Running 0 and
// an Error naming the file, the cause and the fix.
func NewMaster(path string, doc *snapshot.Doc, readErr error, now time.Time, maxAge time.Duration) *Master {
	m := &Master{MaxAge: MaxAge(doc, maxAge).Seconds()}
	if readErr == nil && !doc.Written.IsZero() {
		age := now.Sub(doc.Written).Seconds()
		if age < 0 {
			age = 0
		}
		m.Age = &age
	}
	if err := Usable(path, doc, readErr, now, maxAge); err != nil {
		m.Error = err.Error()
		return m
	}
	m.Running = 1
	m.Readings = readings(doc)
	return m
}

// Usable says why the snapshot read from path (doc, or readErr) cannot
// answer items at now: missing (the daemon is not running), unreadable
// (with the fix for permissions) or older than MaxAge(doc, maxAge).
func Usable(path string, doc *snapshot.Doc, readErr error, now time.Time, maxAge time.Duration) error {
	switch {
	case readErr != nil && errors.Is(readErr, fs.ErrNotExist):
		return fmt.Errorf("diskwatch is not running: no snapshot at %s (start it: systemctl enable --now diskwatch; if its state directory is elsewhere, pass --state DIR to diskwatch-zabbix in the agent's UserParameter file)", path)
	case readErr != nil && errors.Is(readErr, fs.ErrPermission):
		return fmt.Errorf("cannot read the diskwatch snapshot %s: permission denied (the state directory must be mode 0755 and snapshot.json 0644 so the agent's user can read them: chmod 0755 %s)", path, dirOf(path))
	case readErr != nil:
		return fmt.Errorf("cannot read the diskwatch snapshot: %s", oneLine(readErr.Error()))
	case doc.Written.IsZero():
		return fmt.Errorf("diskwatch snapshot %s has no time stamp: it was not written by the daemon", path)
	}
	limit := MaxAge(doc, maxAge)
	if age := now.Sub(doc.Written); age > limit {
		return fmt.Errorf("diskwatch is not running: its snapshot %s was written %s ago, more than %s (is the daemon stopped or stuck? systemctl status diskwatch)",
			path, age.Round(time.Second), limit)
	}
	return nil
}

func dirOf(p string) string {
	if i := strings.LastIndexByte(p, '/'); i > 0 {
		return p[:i]
	}
	return "."
}

func oneLine(s string) string { return strings.NewReplacer("\n", " ", "\r", " ").Replace(s) }

// readings copies the readings and findings of a fresh snapshot.
func readings(doc *snapshot.Doc) *Readings {
	s := doc.Snapshot
	m := &Readings{Host: model.Clean(doc.Host), Severity: int(doc.Status), Alerts: len(doc.Alerts),
		Collectors: []MasterSource{}, Disks: []MasterDisk{}, Attributes: []MasterAttr{}, Arrays: []MasterArray{}, UPS: []MasterUPS{}, Sensors: []MasterSensor{}}
	// Worst severity and problem lines per subject.
	worst := map[string]model.Severity{}
	lines := map[string][]string{}
	var all []string
	for _, f := range doc.Findings {
		if f.Severity == model.OK {
			continue
		}
		switch f.Severity {
		case model.Critical:
			m.Findings.Critical++
		case model.Warning:
			m.Findings.Warning++
		default:
			m.Findings.Unknown++
		}
		line := problemLine(f)
		all = append(all, line)
		id := f.SubjectID
		if id == "" {
			id = f.Subject
		}
		if w, ok := worst[id]; !ok || f.Severity.Rank() > w.Rank() {
			worst[id] = f.Severity
		}
		lines[id] = append(lines[id], line)
	}
	m.Problems = joinOK(all)
	used := map[string]bool{}
	entity := func(ids ...string) (int, string) {
		w, ok := model.OK, false
		var p []string
		seen := map[string]bool{}
		for _, id := range ids {
			if id == "" || seen[id] {
				continue
			}
			seen[id] = true
			used[id] = true
			if s, found := worst[id]; found && (!ok || s.Rank() > w.Rank()) {
				w, ok = s, true
			}
			p = append(p, lines[id]...)
		}
		return int(w), joinOK(p)
	}
	for _, st := range s.Sources {
		m.Collectors = append(m.Collectors, MasterSource{Name: st.Name, State: st.State, Error: model.Clean(strings.Join(st.Errors, "; "))})
	}
	for i := range s.Disks {
		d := &s.Disks[i]
		md := MasterDisk{ID: d.Device.ID(), Name: diskName(d), Model: model.Clean(d.Device.Model), Serial: model.Clean(d.Device.Serial),
			Protocol: d.Device.Protocol, Path: model.Clean(d.Device.Path), Temperature: d.TemperatureC, PowerOnHours: d.PowerOnHours}
		md.Severity, md.Problems = entity(md.ID)
		if d.SMARTPassed != nil {
			h := 0
			if *d.SMARTPassed {
				h = 1
			}
			md.Health = &h
		}
		if n := d.NVMe; n != nil {
			md.NVMe = &MasterNVMe{CriticalWarning: n.CriticalWarning, AvailableSpare: n.AvailableSpare, PercentageUsed: n.PercentageUsed,
				MediaErrors: n.MediaErrors, UnsafeShutdowns: n.UnsafeShutdowns, ErrorLogEntries: n.NumErrLogEntries}
		}
		m.Disks = append(m.Disks, md)
		for _, a := range d.ATAAttributes {
			m.Attributes = append(m.Attributes, MasterAttr{DiskID: md.ID, Disk: md.Name, ID: a.ID, Name: model.Clean(a.Name),
				Value: a.Value, Worst: a.Worst, Thresh: a.Thresh, Raw: a.Raw})
		}
	}
	for i := range s.Arrays {
		a := &s.Arrays[i]
		ma := MasterArray{ID: a.ID(), Name: model.Clean(a.Name), Level: a.Level, State: a.ArrayState, Sync: a.SyncPercent,
			DisksTotal: a.DisksTotal, DisksActive: a.DisksActive, DisksFailed: a.DisksFailed, DisksDown: a.DisksDown, DisksSpare: a.DisksSpare}
		if ma.State == "" {
			ma.State = a.Activity
		}
		if a.DisksDown > 0 || a.DisksFailed > 0 || a.Degraded > 0 {
			ma.Degraded = 1
		}
		if a.MismatchCount >= 0 {
			mc := a.MismatchCount
			ma.Mismatch = &mc
		}
		ma.Severity, ma.Problems = entity(a.ID(), a.Name)
		m.Arrays = append(m.Arrays, ma)
	}
	for i := range s.UPS {
		u := &s.UPS[i]
		short, _, _ := strings.Cut(u.Name, "@")
		mu := MasterUPS{Name: model.Clean(short), Address: model.Clean(u.Name), Model: model.Clean(u.Model), Status: model.Clean(strings.Join(u.Status, " ")),
			Charge: u.ChargePercent, Runtime: u.RuntimeSeconds, Load: u.LoadPercent}
		if u.Reachable {
			mu.Reachable = 1
		}
		mu.Severity, mu.Problems = entity(u.Name)
		m.UPS = append(m.UPS, mu)
	}
	for i := range s.Sensors {
		x := &s.Sensors[i]
		ms := MasterSensor{ID: x.ID, Label: model.Clean(x.Label), Kind: x.Kind, Unit: x.Unit, Value: x.Value}
		if x.Alarm {
			ms.Alarm = 1
		}
		ms.Severity, ms.Problems = entity(x.ID)
		m.Sensors = append(m.Sensors, ms)
	}
	// What no entity above took, in the findings' order.
	other, ok := model.OK, false
	var op []string
	for _, f := range doc.Findings {
		id := f.SubjectID
		if id == "" {
			id = f.Subject
		}
		if f.Severity == model.OK || used[id] {
			continue
		}
		if !ok || f.Severity.Rank() > other.Rank() {
			other, ok = f.Severity, true
		}
		op = append(op, problemLine(f))
	}
	m.OtherSeverity = int(other)
	m.OtherProblems = joinOK(op)
	return m
}

// problemLine is one finding as a line: severity, subject, message and
// what to do.
func problemLine(f model.Finding) string {
	line := f.Severity.String() + " " + model.Clean(f.Subject) + ": " + model.Clean(f.Message)
	if f.Remedy != "" {
		line += " (what to do: " + model.Clean(f.Remedy) + ")"
	}
	return line
}

func joinOK(lines []string) string {
	if len(lines) == 0 {
		return "OK"
	}
	return strings.Join(lines, "\n")
}

// JSON encodes m on one line.
func (m *Master) JSON() []byte {
	b, _ := json.Marshal(m)
	return b
}
