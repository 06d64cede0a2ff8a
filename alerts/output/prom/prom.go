// Package prom exposes diskwatch's readings as Prometheus metrics in the
// text exposition format (version 0.0.4): built from the latest snapshot
// document at every scrape, served on /metrics by the daemon and printed
// once by `diskwatch metrics` (for node_exporter's textfile collector).
// Names follow Prometheus conventions: diskwatch_ prefix, base units
// (seconds, celsius, ratios 0-1, bytes), _info metrics carrying identity
// labels.
//
// The format is written here rather than through client_golang: every
// diskwatch metric is a gauge computed from a document, which needs none
// of client_golang's registry, and leaving it (and the protobuf runtime
// it brings) out keeps about 3 MiB off the daemon's resident memory.
package prom

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"net/http"
	"runtime"
	"runtime/debug"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/prometheus/procfs"

	"github.com/diskwatch/diskwatch/alerts/output/snapshot"
	"github.com/diskwatch/diskwatch/collectors/model"
)

// Source returns the document to expose (nil: nothing collected yet).
type Source func() *snapshot.Doc

// Desc is one metric family: its name, help text and label names.
type Desc struct {
	Name, Help string
	Type       string // gauge (default) or counter
	Labels     []string
}

func desc(name, help string, labels ...string) *Desc {
	return &Desc{Name: "diskwatch_" + name, Help: help, Labels: labels}
}

// Version and Revision are diskwatch's version and source revision for
// diskwatch_build_info; main sets them from its -ldflags. An empty
// Revision is taken from the VCS stamp Go writes into the binary.
var (
	Version  = "dev"
	Revision string
)

// rankHelp maps diskwatch_finding's value: the severity's rank, worse is
// higher, so max() is the worst (the check exit codes are not ordered).
const rankHelp = "0 OK, 1 NOTICE, 2 UNKNOWN, 3 WARNING, 4 CRITICAL (ordered: max is the worst)"

var (
	dUp          = desc("up", "1 when diskwatch has a snapshot to expose.")
	dBuild       = desc("build_info", "diskwatch's version, the Go version it was built with and its source revision (always 1).", "version", "goversion", "revision")
	dLastRun     = desc("last_run_timestamp_seconds", "When the exposed readings were collected (Unix time).")
	dInterval    = desc("round_interval_seconds", "The daemon's round interval: readings older than a few of these are stale (daemon only).")
	dStatus      = desc("status", "Overall status as diskwatch check exits: 0 OK (or NOTICE), 1 WARNING, 2 CRITICAL, 3 UNKNOWN.")
	dFindings    = desc("findings", "Findings of the last evaluation by severity.", "severity")
	dFinding     = desc("finding", "One series per finding of the last evaluation, its value the severity: "+rankHelp+". Labels are stable while the finding lasts; kind is disk, array, ups, sensor, diskwatch or host; device is the kernel name (sda, md0) when there is one. Message, remedy and identity are on diskwatch_finding_info.", "rule", "subject_id", "subject", "kind", "device")
	dFindingInfo = desc("finding_info", "Text of each finding (always 1): join on rule and subject_id for its message, remedy and the subject's model, serial and path. The message may change while the finding lasts (a new series); alert on diskwatch_finding.", "rule", "subject_id", "message", "remedy", "model", "serial", "path")
	dAlerts      = desc("alerts_firing", "Firing alerts by severity (inhibited ones included).", "severity")
	dQueued      = desc("notifications_queued", "Notifications waiting in the on-disk queue for a sink.")
	dColUp       = desc("collector_up", "1 when the collector's last run succeeded (ok, or its source absent), 0 when it failed or was partial.", "collector")
	dColState    = desc("collector_state", "The collector's last run: one series per state (ok, partial, failed, absent), 1 for the current one.", "collector", "state")
	dColDur      = desc("collector_duration_seconds", "How long the collector's last run took.", "collector")
	dColFail     = desc("collector_consecutive_failures", "Rounds in a row the collector failed (daemon only).", "collector")
	dMDInfo      = desc("md_info", "md array identity (always 1).", "device", "level", "metadata", "uuid")
	dMDDisks     = desc("md_disks", "md array member slots by state (active, failed, down, spare), as node_md_disks.", "device", "state")
	dMDRequired  = desc("md_disks_required", "md array slots the array should have (as node_md_disks_required).", "device")
	dMDDegraded  = desc("md_degraded", "1 when the md array is degraded (a slot missing or a member failed).", "device")
	dMDActive    = desc("md_active", "1 when the md array is active (not inactive).", "device")
	dMDSync      = desc("md_sync_ratio", "Progress of the running resync, recovery, check or reshape (0-1), 0 when idle.", "device")
	dMDAction    = desc("md_sync_action", "md sync_action: one series per action (idle, resync, recover, check, repair, reshape, frozen), 1 for the current one.", "device", "action")
	dMDMismatch  = desc("md_mismatch_sectors", "md mismatch_cnt: sectors found inconsistent by the last check.", "device")
	dDiskInfo    = desc("disk_info", "Disk identity (always 1): device is the kernel name (as node_exporter and smartctl_exporter), disk_id the identity that survives renames.", "device", "disk_id", "path", "model", "serial", "firmware", "wwn", "protocol")
	dSmartOK     = desc("disk_smart_passed", "SMART overall health self-assessment: 1 passed, 0 failed.", "device")
	dTemp        = desc("disk_temperature_celsius", "Disk temperature.", "device")
	dPOH         = desc("disk_power_on_seconds", "Disk power-on time (from SMART power-on hours).", "device")
	dCycles      = desc("disk_power_cycles", "Disk power cycle count.", "device")
	dAttrRaw     = desc("disk_ata_attribute_raw", "ATA SMART attribute raw value.", "device", "attribute_id", "attribute_name")
	dAttrVal     = desc("disk_ata_attribute_value", "ATA SMART attribute normalized value.", "device", "attribute_id", "attribute_name")
	dAttrWorst   = desc("disk_ata_attribute_worst", "ATA SMART attribute worst normalized value.", "device", "attribute_id", "attribute_name")
	dAttrThresh  = desc("disk_ata_attribute_threshold", "ATA SMART attribute vendor failure threshold.", "device", "attribute_id", "attribute_name")
	dNVMeWarn    = desc("disk_nvme_critical_warning", "NVMe critical warning bit field (0 = none).", "device")
	dNVMeSpare   = desc("disk_nvme_available_spare_ratio", "NVMe available spare (0-1).", "device")
	dNVMeSpareTh = desc("disk_nvme_available_spare_threshold_ratio", "NVMe available spare threshold (0-1).", "device")
	dNVMeUsed    = desc("disk_nvme_percentage_used_ratio", "NVMe endurance used (0-1, may exceed 1).", "device")
	dNVMeMedia   = desc("disk_nvme_media_errors", "NVMe media and data integrity errors.", "device")
	dNVMeErrLog  = desc("disk_nvme_error_log_entries", "NVMe error information log entries.", "device")
	dNVMeUnsafe  = desc("disk_nvme_unsafe_shutdowns", "NVMe unsafe shutdowns.", "device")
	dNVMeWritten = desc("disk_nvme_written_bytes", "NVMe data written (data units x 512000 bytes).", "device")
	dSCSI        = desc("disk_scsi_errors", "SCSI grown defects and uncorrected errors.", "device", "kind")
	dUPSStatus   = desc("ups_status", "UPS status flags: one series per flag (OL, OB, LB, HB, RB, CHRG, DISCHRG, BYPASS, CAL, OFF, OVER, TRIM, BOOST, FSD, and any other the UPS reports), 1 when set.", "ups", "flag")
	dUPSReach    = desc("ups_reachable", "1 when the UPS could be read.", "ups")
	dUPSCharge   = desc("ups_battery_charge_ratio", "UPS battery charge (0-1).", "ups")
	dUPSRuntime  = desc("ups_battery_runtime_seconds", "UPS estimated runtime on battery.", "ups")
	dUPSLoad     = desc("ups_load_ratio", "UPS load (0-1).", "ups")
	dUPSVolt     = desc("ups_input_volts", "UPS input voltage.", "ups")
	dSensorInfo  = desc("sensor_info", "Sensor identity (always 1): chip, the chip's label for it, its kind, and the disk's kernel name for a drive sensor.", "sensor", "chip", "label", "kind", "device")
	dSensorAlarm = desc("sensor_alarm", "1 when the sensor chip raises its alarm.", "sensor")
	dSensorOther = desc("sensor_other_value", "A probe reading in a unit diskwatch has no base unit for (the unit label names it; one unit per sensor).", "sensor", "unit")
	// sensorUnits: one metric per unit, values in base units.
	sensorUnits = map[string]struct {
		d     *Desc
		scale float64
	}{
		"C":   {desc("sensor_temperature_celsius", "Sensor temperature.", "sensor"), 1},
		"rpm": {desc("sensor_fan_rpm", "Fan speed in revolutions per minute.", "sensor"), 1},
		"V":   {desc("sensor_voltage_volts", "Sensor voltage.", "sensor"), 1},
		"A":   {desc("sensor_current_amperes", "Sensor current.", "sensor"), 1},
		"W":   {desc("sensor_power_watts", "Sensor power.", "sensor"), 1},
		"%":   {desc("sensor_humidity_ratio", "Relative humidity (0-1).", "sensor"), 0.01},
	}
)

// upsFlags are NUT's status flags, always exposed (0 or 1) so that a flag
// turning on is a value change, not a new series.
var upsFlags = []string{"OL", "OB", "LB", "HB", "RB", "CHRG", "DISCHRG", "BYPASS", "CAL", "OFF", "OVER", "TRIM", "BOOST", "FSD"}

// mdActions are the values of md/sync_action.
var mdActions = []string{"idle", "resync", "recover", "check", "repair", "reshape", "frozen"}

// sourceStates are the states of a collector run.
var sourceStates = []string{model.SourceOK, model.SourcePartial, model.SourceFailed, model.SourceAbsent}

// series is one sample of a family.
type series struct {
	d      *Desc
	labels []string // values, in d.Labels order
	v      float64
}

// Set is the samples of one exposition, written by WriteTo.
type Set struct{ s []series }

// Add records a sample of d with label values lv (in d.Labels order).
func (m *Set) Add(d *Desc, v float64, lv ...string) {
	m.s = append(m.s, series{d: d, labels: lv, v: v})
}

// buildInfo is read once: the Go version and VCS revision stamped into
// the binary.
var buildInfo = sync.OnceValues(func() (goversion, revision string) {
	goversion = runtime.Version()
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return goversion, "unknown"
	}
	revision, dirty := "unknown", false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if dirty && revision != "unknown" {
		revision += "-dirty"
	}
	return goversion, revision
})

// Collect adds the metrics of doc (nil: nothing collected yet).
func Collect(m *Set, doc *snapshot.Doc) {
	g := m.Add
	gov, rev := buildInfo()
	if Revision != "" {
		rev = Revision
	}
	g(dBuild, 1, Version, gov, rev)
	if doc == nil || doc.Snapshot == nil {
		g(dUp, 0)
		return
	}
	g(dUp, 1)
	s := doc.Snapshot
	if !s.Time.IsZero() {
		g(dLastRun, float64(s.Time.UnixNano())/1e9)
	}
	g(dStatus, float64(doc.Status.ExitCode()))
	counts := map[string]float64{"ok": 0, "notice": 0, "warning": 0, "critical": 0, "unknown": 0}
	for _, f := range doc.Findings {
		counts[strings.ToLower(f.Severity.String())]++
	}
	for k, v := range counts {
		g(dFindings, v, k)
	}
	collectFindings(g, s, doc.Findings)
	if doc.Daemon != nil {
		ac := map[string]float64{"notice": 0, "warning": 0, "critical": 0, "unknown": 0}
		for _, a := range doc.Alerts {
			if a.Severity != model.OK {
				ac[strings.ToLower(a.Severity.String())]++
			}
		}
		for k, v := range ac {
			g(dAlerts, v, k)
		}
		g(dQueued, float64(doc.Daemon.QueuedNotifications))
		if doc.Daemon.Interval > 0 {
			g(dInterval, doc.Daemon.Interval.Seconds())
		}
		for n, v := range doc.Daemon.CollectorFailures {
			g(dColFail, float64(v), n)
		}
	}
	for _, st := range s.Sources {
		g(dColUp, b2f(st.State == model.SourceOK || st.State == model.SourceAbsent), st.Name)
		for _, x := range sourceStates {
			g(dColState, b2f(st.State == x), st.Name, x)
		}
		if !slices.Contains(sourceStates, st.State) {
			g(dColState, 1, st.Name, model.Clean(st.State))
		}
		g(dColDur, st.Duration.Seconds(), st.Name)
	}
	for i := range s.Arrays {
		collectArray(g, &s.Arrays[i])
	}
	for i := range s.Disks {
		collectDisk(g, &s.Disks[i])
	}
	for i := range s.UPS {
		collectUPS(g, &s.UPS[i])
	}
	for _, x := range s.Sensors {
		g(dSensorInfo, 1, x.ID, model.Clean(x.Chip), model.Clean(x.Label), x.Kind, model.Clean(x.Device))
		if u, ok := sensorUnits[x.Unit]; ok {
			g(u.d, x.Value*u.scale, x.ID)
		} else {
			g(dSensorOther, x.Value, x.ID, model.Clean(x.Unit))
		}
		g(dSensorAlarm, b2f(x.Alarm), x.ID)
	}
}

// diskDevice is the label a disk's series carry: its kernel name (sda,
// nvme0n1), as node_exporter and smartctl_exporter name it, else the path
// without /dev/ and the transport ("bus/0 megaraid,1").
func diskDevice(d model.DeviceInfo) string {
	if d.Name != "" {
		return model.Clean(d.Name)
	}
	name := strings.TrimPrefix(d.Path, "/dev/")
	if d.Via != "" && strings.Contains(d.Via, ",") {
		name += " " + d.Via
	}
	return model.Clean(name)
}

// collectFindings adds diskwatch_finding and diskwatch_finding_info: the
// subject's kind, kernel name and identity come from the snapshot.
func collectFindings(g gaugeFunc, s *model.Snapshot, fs []model.Finding) {
	type subj struct{ kind, device, model, serial, path string }
	subjects := map[string]subj{}
	for i := range s.Arrays {
		a := &s.Arrays[i]
		subjects[a.ID()] = subj{kind: "array", device: model.Clean(a.Name), path: model.Clean(a.Path)}
	}
	for _, d := range s.Disks {
		subjects[d.Device.ID()] = subj{"disk", diskDevice(d.Device), model.Clean(d.Device.Model), model.Clean(d.Device.Serial), model.Clean(d.Device.Path)}
	}
	for _, u := range s.UPS {
		subjects[u.Name] = subj{kind: "ups", model: model.Clean(u.Model)}
	}
	for _, x := range s.Sensors {
		subjects[x.ID] = subj{kind: "sensor", device: model.Clean(x.Device)}
	}
	for _, f := range fs {
		sj, ok := subjects[f.SubjectID]
		if !ok {
			sj = subj{kind: "host"}
			switch prefix, _, _ := strings.Cut(f.Rule, "."); {
			case strings.HasPrefix(f.SubjectID, "collector:") || prefix == "daemon" || prefix == "collector":
				sj.kind = "diskwatch"
			case strings.HasPrefix(f.SubjectID, "kernel:"):
				sj = subj{kind: "disk", device: model.Clean(strings.TrimPrefix(f.SubjectID, "kernel:"))}
			case prefix == "md":
				sj.kind = "array"
			case prefix == "smart":
				sj.kind = "disk"
			case prefix == "ups":
				sj.kind = "ups"
			case prefix == "sensor":
				sj.kind = "sensor"
			}
		}
		id := model.Clean(f.SubjectID)
		if id == "" {
			id = model.Clean(f.Subject)
		}
		g(dFinding, float64(f.Severity.Rank()), f.Rule, id, model.Clean(f.Subject), sj.kind, sj.device)
		g(dFindingInfo, 1, f.Rule, id, model.Clean(f.Message), model.Clean(f.Remedy), sj.model, sj.serial, sj.path)
	}
}

// WriteTo writes the samples in the text exposition format: families by
// name, each with HELP and TYPE, label pairs sorted by name, series sorted
// by their labels; a repeated series (same family and labels) is written
// once, the first one added.
func (m *Set) WriteTo(w io.Writer) (int64, error) {
	type line struct {
		key, text string
	}
	fams := map[string][]line{}
	descs := map[string]*Desc{}
	seen := map[string]bool{}
	for _, x := range m.s {
		var b strings.Builder
		b.WriteString(x.d.Name)
		if len(x.d.Labels) > 0 {
			idx := make([]int, len(x.d.Labels))
			for i := range idx {
				idx[i] = i
			}
			sort.Slice(idx, func(i, j int) bool { return x.d.Labels[idx[i]] < x.d.Labels[idx[j]] })
			b.WriteByte('{')
			for n, i := range idx {
				if n > 0 {
					b.WriteByte(',')
				}
				v := ""
				if i < len(x.labels) {
					v = x.labels[i]
				}
				b.WriteString(x.d.Labels[i])
				b.WriteString(`="`)
				b.WriteString(escapeLabel(v))
				b.WriteByte('"')
			}
			b.WriteByte('}')
		}
		key := b.String()
		if seen[key] {
			continue
		}
		seen[key] = true
		fams[x.d.Name] = append(fams[x.d.Name], line{key, key + " " + formatValue(x.v) + "\n"})
		descs[x.d.Name] = x.d
	}
	names := make([]string, 0, len(fams))
	for n := range fams {
		names = append(names, n)
	}
	sort.Strings(names)
	bw := bufio.NewWriter(w)
	var n int64
	for _, name := range names {
		d, ls := descs[name], fams[name]
		sort.Slice(ls, func(i, j int) bool { return ls[i].key < ls[j].key })
		typ := d.Type
		if typ == "" {
			typ = "gauge"
		}
		k, _ := fmt.Fprintf(bw, "# HELP %s %s\n# TYPE %s %s\n", name, escapeHelp(d.Help), name, typ)
		n += int64(k)
		for _, l := range ls {
			k, _ := bw.WriteString(l.text)
			n += int64(k)
		}
	}
	return n, bw.Flush()
}

var (
	labelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
)

// escapeLabel escapes a label value (and makes it valid UTF-8, which the
// format requires).
func escapeLabel(v string) string { return labelEscaper.Replace(strings.ToValidUTF8(v, "\uFFFD")) }

func escapeHelp(v string) string { return helpEscaper.Replace(v) }

func formatValue(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

type gaugeFunc func(d *Desc, v float64, lv ...string)

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func collectArray(g gaugeFunc, a *model.Array) {
	dev := model.Clean(a.Name)
	g(dMDInfo, 1, dev, a.Level, a.Metadata, a.UUID)
	g(dMDRequired, float64(a.DisksTotal), dev)
	g(dMDDisks, float64(a.DisksActive), dev, "active")
	g(dMDDisks, float64(a.DisksFailed), dev, "failed")
	g(dMDDisks, float64(a.DisksDown), dev, "down")
	g(dMDDisks, float64(a.DisksSpare), dev, "spare")
	g(dMDDegraded, b2f(a.DisksDown > 0 || a.DisksFailed > 0 || a.Degraded > 0), dev)
	g(dMDActive, b2f(a.Activity != "inactive"), dev)
	action := a.SyncAction
	if action == "" {
		action = "idle"
	}
	g(dMDSync, a.SyncPercent/100, dev)
	for _, x := range mdActions {
		g(dMDAction, b2f(x == action), dev, x)
	}
	if !slices.Contains(mdActions, action) {
		g(dMDAction, 1, dev, model.Clean(action))
	}
	if a.MismatchCount >= 0 {
		g(dMDMismatch, float64(a.MismatchCount), dev)
	}
}

func collectDisk(g gaugeFunc, d *model.Disk) {
	id := diskDevice(d.Device)
	g(dDiskInfo, 1, id, model.Clean(d.Device.ID()), model.Clean(d.Device.Path), model.Clean(d.Device.Model), model.Clean(d.Device.Serial),
		model.Clean(d.Device.Firmware), model.Clean(d.Device.WWN), d.Device.Protocol)
	if d.SMARTPassed != nil {
		g(dSmartOK, b2f(*d.SMARTPassed), id)
	}
	if d.TemperatureC != nil {
		g(dTemp, *d.TemperatureC, id)
	}
	if d.PowerOnHours != nil {
		g(dPOH, float64(*d.PowerOnHours)*3600, id)
	}
	if d.PowerCycles != nil {
		g(dCycles, float64(*d.PowerCycles), id)
	}
	seen := map[int]bool{}
	for _, a := range d.ATAAttributes {
		if seen[a.ID] {
			continue // a duplicated attribute would make a duplicate series
		}
		seen[a.ID] = true
		aid, an := strconv.Itoa(a.ID), model.Clean(a.Name)
		g(dAttrRaw, float64(a.Raw), id, aid, an)
		g(dAttrVal, float64(a.Value), id, aid, an)
		g(dAttrWorst, float64(a.Worst), id, aid, an)
		g(dAttrThresh, float64(a.Thresh), id, aid, an)
	}
	if n := d.NVMe; n != nil {
		g(dNVMeWarn, float64(n.CriticalWarning), id)
		g(dNVMeSpare, float64(n.AvailableSpare)/100, id)
		g(dNVMeSpareTh, float64(n.AvailableSpareThreshold)/100, id)
		g(dNVMeUsed, float64(n.PercentageUsed)/100, id)
		g(dNVMeMedia, float64(n.MediaErrors), id)
		g(dNVMeErrLog, float64(n.NumErrLogEntries), id)
		g(dNVMeUnsafe, float64(n.UnsafeShutdowns), id)
		g(dNVMeWritten, float64(n.DataUnitsWritten)*512000, id)
	}
	if c := d.SCSI; c != nil {
		for _, p := range []struct {
			k string
			v *int64
		}{{"grown_defects", c.GrownDefects}, {"read_uncorrected", c.ReadUncorrected}, {"write_uncorrected", c.WriteUncorrected}, {"verify_uncorrected", c.VerifyUncorrected}} {
			if p.v != nil {
				g(dSCSI, float64(*p.v), id, p.k)
			}
		}
	}
}

func collectUPS(g gaugeFunc, u *model.UPS) {
	name := model.Clean(u.Name)
	g(dUPSReach, b2f(u.Reachable), name)
	set := map[string]bool{}
	for _, f := range u.Status {
		if f = model.Clean(f); f != "" {
			set[f] = true
		}
	}
	for _, f := range upsFlags {
		g(dUPSStatus, b2f(set[f]), name, f)
		delete(set, f)
	}
	for f := range set {
		g(dUPSStatus, 1, name, f)
	}
	if u.ChargePercent != nil {
		g(dUPSCharge, *u.ChargePercent/100, name)
	}
	if u.RuntimeSeconds != nil {
		g(dUPSRuntime, *u.RuntimeSeconds, name)
	}
	if u.LoadPercent != nil {
		g(dUPSLoad, *u.LoadPercent/100, name)
	}
	if u.InputVoltage != nil {
		g(dUPSVolt, *u.InputVoltage, name)
	}
}

// Process metrics of the daemon itself (the names node_exporter and
// client_golang use), from its own /proc entry.
var (
	dCPU     = &Desc{Name: "process_cpu_seconds_total", Help: "Total user and system CPU time spent in seconds.", Type: "counter"}
	dRSS     = &Desc{Name: "process_resident_memory_bytes", Help: "Resident memory size in bytes."}
	dVSZ     = &Desc{Name: "process_virtual_memory_bytes", Help: "Virtual memory size in bytes."}
	dStart   = &Desc{Name: "process_start_time_seconds", Help: "Start time of the process since unix epoch in seconds."}
	dFDs     = &Desc{Name: "process_open_fds", Help: "Number of open file descriptors."}
	dMaxFDs  = &Desc{Name: "process_max_fds", Help: "Maximum number of open file descriptors."}
	dGorout  = &Desc{Name: "go_goroutines", Help: "Number of goroutines that currently exist."}
	dHeap    = &Desc{Name: "go_memstats_heap_alloc_bytes", Help: "Number of heap bytes allocated and still in use."}
	dGoSys   = &Desc{Name: "go_memstats_sys_bytes", Help: "Number of bytes obtained from system."}
	dGCCount = &Desc{Name: "go_gc_cycles_total", Help: "Completed GC cycles.", Type: "counter"}
)

// collectProcess adds the daemon's own process and Go runtime metrics;
// what /proc cannot say is left out.
func collectProcess(m *Set) {
	if p, err := procfs.Self(); err == nil {
		if st, err := p.Stat(); err == nil {
			m.Add(dCPU, st.CPUTime())
			m.Add(dRSS, float64(st.ResidentMemory()))
			m.Add(dVSZ, float64(st.VirtualMemory()))
			if t, err := st.StartTime(); err == nil {
				m.Add(dStart, t)
			}
		}
		if n, err := p.FileDescriptorsLen(); err == nil {
			m.Add(dFDs, float64(n))
		}
		if l, err := p.Limits(); err == nil && l.OpenFiles > 0 {
			m.Add(dMaxFDs, float64(l.OpenFiles))
		}
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m.Add(dGorout, float64(runtime.NumGoroutine()))
	m.Add(dHeap, float64(ms.HeapAlloc))
	m.Add(dGoSys, float64(ms.Sys))
	m.Add(dGCCount, float64(ms.NumGC))
}

// Handler serves /metrics for src (plus the daemon's own process and Go
// runtime metrics).
func Handler(src Source) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m Set
		Collect(&m, src())
		collectProcess(&m)
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		m.WriteTo(w)
	})
}

// WriteText writes doc's metrics once in the text exposition format.
func WriteText(w io.Writer, doc *snapshot.Doc) error {
	var m Set
	Collect(&m, doc)
	if _, err := m.WriteTo(w); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	return nil
}
