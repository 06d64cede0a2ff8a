// Package smartctl turns smartctl's JSON output (`smartctl -j`, any of -a,
// -x, -i, -H, -A, for ATA/SAT, NVMe, SCSI/SAS, megaraid, 3ware and USB
// bridges) into diskwatch's normalized SMART record, and runs smartctl as a
// backend for device types the native SMART layer does not handle.
//
// Normalize is pure. Read runs smartctl through collectors/execx, never
// waking a disk in standby. The record's keys follow smartctl's names: an
// attribute's raw is smartctl's raw.value, when_failed is "", "past" or
// "now", smart_passed is smart_status.passed (null when not reported).
package smartctl

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/diskwatch/diskwatch/collectors/model"
)

// Exit status bits (smartctl(8), RETURN VALUES).
const (
	ExitCommandLine   = 1 << 0 // command line did not parse
	ExitOpenFailed    = 1 << 1 // device open failed, or it is in a low-power mode (-n)
	ExitCommandFailed = 1 << 2 // some SMART or other command to the disk failed
	ExitDiskFailing   = 1 << 3 // SMART status: DISK FAILING
	ExitPrefail       = 1 << 4 // prefail attributes at or below threshold
	ExitPastThreshold = 1 << 5 // some attribute was at or below threshold in the past
	ExitErrorLog      = 1 << 6 // the device error log has entries
	ExitSelfTestLog   = 1 << 7 // the self-test log has errors
)

var exitFlagNames = [8]string{
	"command_line_error", "device_open_failed", "command_failed", "disk_failing",
	"prefail_at_threshold", "attributes_past_threshold", "error_log_entries", "self_test_errors",
}

// DecodeExit names the bits of a smartctl exit status.
func DecodeExit(status int) *model.SmartctlExit {
	e := &model.SmartctlExit{Status: status}
	for i, n := range exitFlagNames {
		if status&(1<<i) != 0 {
			e.Flags = append(e.Flags, n)
		}
	}
	return e
}

// ErrNotDevice is returned for a JSON document that is not about one device
// (a `smartctl --scan` listing, or an unrelated document).
var ErrNotDevice = errors.New("not a smartctl device report")

// ErrNoData is returned (with the partial record) when smartctl reported no
// device data at all, only messages: the device could not be opened or
// identified.
var ErrNoData = errors.New("smartctl read no device data")

// standbyRE matches smartctl's message when -n made it skip a disk in a
// low-power mode: "Device is in STANDBY mode, exit(2)", "... SLEEP mode",
// "... STANDBY (OS) mode", "... IDLE_B mode".
var standbyRE = regexp.MustCompile(`Device is in ([A-Z_]+)(?: \([A-Z]+\))? mode`)

// Normalize turns one smartctl JSON document into the normalized record.
//
// A document with device data gives the record and a nil error; an
// unexpected value type in some field is noted in Errors and the rest is
// kept. A document with only smartctl's messages (the device could not be
// opened) gives the partial record (path, messages, exit status) and an
// error wrapping ErrNoData. A disk that smartctl skipped because it was in
// standby (-n standby) gives a record with Skipped set and no error.
// Invalid JSON and documents that are not a device report are errors.
func Normalize(data []byte) (model.Disk, error) {
	var d model.Disk
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return d, errors.New("smartctl JSON: empty input")
	}
	if data[0] != '{' {
		return d, fmt.Errorf("smartctl JSON: %w (input does not start with '{': %q)", ErrNotDevice, firstLine(data))
	}
	var doc document
	err := json.Unmarshal(data, &doc)
	var typeErr *json.UnmarshalTypeError
	switch {
	case err == nil:
	case errors.As(err, &typeErr):
		// Decoding went on past the bad field; say which, keep the rest.
		d.Errors = append(d.Errors, fmt.Sprintf("smartctl JSON: field %s: unexpected %s", typeErr.Field, typeErr.Value))
	default:
		return d, fmt.Errorf("smartctl JSON: %w", err)
	}
	doc.scsiSelfTests = scsiSelfTestsFrom(data)
	fill(&d, &doc)

	if doc.Device == nil && !hasData(&doc) {
		if doc.Devices != nil {
			return d, fmt.Errorf("smartctl JSON: %w: a `smartctl --scan` device list", ErrNotDevice)
		}
		if doc.Smartctl == nil {
			return d, fmt.Errorf("smartctl JSON: %w: no device and no smartctl section", ErrNotDevice)
		}
	}
	if d.Skipped != "" {
		return d, nil
	}
	if !hasData(&doc) {
		what := "no device data"
		if len(d.Errors) > 0 {
			what = strings.Join(d.Errors, "; ")
		}
		if d.Smartctl != nil {
			what += fmt.Sprintf(" (exit status %d)", d.Smartctl.Status)
		}
		name := d.Device.Path
		if name == "" {
			name = "device"
		}
		return d, fmt.Errorf("smartctl: %s: %w: %s", model.Clean(name), ErrNoData, model.Clean(what))
	}
	return d, nil
}

// hasData reports whether the document carries anything about the device
// beyond its name.
func hasData(doc *document) bool {
	return doc.ModelName != "" || doc.SCSIModelName != "" || doc.Product != "" || doc.SCSIProduct != "" ||
		doc.SerialNumber != "" || doc.SMARTStatus != nil || doc.SMARTSupport != nil ||
		doc.ATASMARTAttributes != nil || doc.NVMeSMARTHealth != nil || doc.Temperature != nil ||
		doc.UserCapacity != nil || doc.SCSIErrorCounterLog != nil || doc.SCSIGrownDefectList != nil
}

func fill(d *model.Disk, doc *document) {
	if s := doc.Smartctl; s != nil {
		for _, m := range s.Messages {
			if mm := standbyRE.FindStringSubmatch(m.String); mm != nil {
				mode := strings.ToLower(mm[1])
				d.PowerMode = mode
				if strings.HasPrefix(mode, "standby") || strings.HasPrefix(mode, "sleep") || strings.HasPrefix(mode, "idle") {
					d.Skipped = mode
				}
				continue
			}
			if m.Severity == "error" {
				d.Errors = append(d.Errors, m.String)
			}
		}
		if s.ExitStatus != nil {
			d.Smartctl = DecodeExit(*s.ExitStatus)
			noteCommandFailed(d)
		}
	}
	if pm := powerMode(doc.PowerMode); pm != "" && d.PowerMode == "" {
		d.PowerMode = pm
	}

	dev := &d.Device
	if doc.Device != nil {
		dev.Path = doc.Device.Name
		dev.Via = doc.Device.Type
		dev.Protocol = protocol(doc.Device.Protocol, doc.Device.Type)
	} else if s := doc.Smartctl; s != nil && len(s.Argv) > 1 {
		// Error-only output: the device is the last argument.
		if last := s.Argv[len(s.Argv)-1]; !strings.HasPrefix(last, "-") {
			dev.Path = last
		}
	}
	if dev.Protocol == "" {
		switch {
		case doc.NVMeSMARTHealth != nil:
			dev.Protocol = "nvme"
		case doc.ATASMARTAttributes != nil:
			dev.Protocol = "ata"
		case doc.SCSIErrorCounterLog != nil || doc.SCSIGrownDefectList != nil:
			dev.Protocol = "scsi"
		}
	}
	if strings.Contains(dev.Via, ",") && dev.Path != "" {
		// Several disks behind one controller path: the name says which.
		_, port, _ := strings.Cut(dev.Via, "+")
		if port == "" {
			port = dev.Via
		}
		dev.Name = path.Base(dev.Path) + " " + port
	}
	dev.Model = firstNonEmpty(doc.ModelName, doc.SCSIModelName, join(doc.Vendor, doc.Product), join(doc.SCSIVendor, doc.SCSIProduct))
	dev.Serial = doc.SerialNumber
	dev.Firmware = firstNonEmpty(doc.FirmwareVersion, doc.Revision, doc.SCSIRevision)
	switch {
	case doc.WWN != nil:
		// As smartctl prints "LU WWN Device Id".
		dev.WWN = fmt.Sprintf("%x %06x %09x", doc.WWN.NAA, doc.WWN.OUI, doc.WWN.ID)
	case doc.LogicalUnitID != "":
		dev.WWN = doc.LogicalUnitID
	}
	switch {
	case doc.UserCapacity != nil && doc.UserCapacity.Bytes.set:
		dev.Capacity = doc.UserCapacity.Bytes.Int64()
	case doc.NVMeTotalCapacity != nil && doc.NVMeTotalCapacity.set:
		dev.Capacity = doc.NVMeTotalCapacity.Int64()
	}
	if doc.RotationRate != nil {
		dev.RotationRate = *doc.RotationRate
	}

	if s := doc.SMARTSupport; s != nil && s.Available != nil {
		d.SMARTAvailable = *s.Available
		d.SMARTEnabled = s.Enabled != nil && *s.Enabled
	} else {
		// -H or -A alone does not print smart_support; data means support.
		d.SMARTAvailable = doc.SMARTStatus != nil || doc.ATASMARTAttributes != nil || doc.NVMeSMARTHealth != nil
		d.SMARTEnabled = d.SMARTAvailable
	}
	if s := doc.SMARTStatus; s != nil && s.Passed != nil {
		v := *s.Passed
		d.SMARTPassed = &v
	}

	if t := doc.Temperature; t != nil {
		if t.Current != nil {
			v := *t.Current
			d.TemperatureC = &v
		}
		if t.DriveTrip != nil && *t.DriveTrip > 0 {
			v := *t.DriveTrip
			d.CritTemperatureC = &v
		}
	}
	if p := doc.PowerOnTime; p != nil {
		d.PowerOnHours = p.Hours.ptr64()
	}
	d.PowerCycles = doc.PowerCycleCount.ptr64()
	if d.PowerCycles == nil && doc.SCSIStartStop != nil {
		d.PowerCycles = doc.SCSIStartStop.AccumulatedStartStopCycles.ptr64()
	}
	tempLimits(d, doc)

	if a := doc.ATASMARTAttributes; a != nil {
		d.ATAAttributes = make([]model.ATAAttribute, 0, len(a.Table))
		for _, t := range a.Table {
			d.ATAAttributes = append(d.ATAAttributes, model.ATAAttribute{
				ID: t.ID, Name: t.Name, Value: t.Value, Worst: t.Worst, Thresh: t.Thresh,
				Raw: t.Raw.Value.Int64(), RawString: t.Raw.String,
				WhenFailed: whenFailed(t.WhenFailed), Prefailure: t.Flags.Prefailure,
			})
		}
	}
	if n := doc.NVMeSMARTHealth; n != nil {
		d.NVMe = &model.NVMeHealth{
			CriticalWarning:         n.CriticalWarning.Int(),
			TemperatureC:            float64(n.Temperature.Int64()),
			AvailableSpare:          n.AvailableSpare.Int(),
			AvailableSpareThreshold: n.AvailableSpareThreshold.Int(),
			PercentageUsed:          n.PercentageUsed.Int(),
			DataUnitsRead:           n.DataUnitsRead.Uint64(),
			DataUnitsWritten:        n.DataUnitsWritten.Uint64(),
			PowerOnHours:            n.PowerOnHours.Uint64(),
			PowerCycles:             n.PowerCycles.Uint64(),
			UnsafeShutdowns:         n.UnsafeShutdowns.Uint64(),
			MediaErrors:             n.MediaErrors.Uint64(),
			NumErrLogEntries:        n.NumErrLogEntries.Uint64(),
		}
		if n.NumErrLogEntries.set {
			v := n.NumErrLogEntries.Int64()
			d.ErrorLogCount = &v
		}
	}
	if dev.Protocol == "scsi" || doc.SCSIGrownDefectList != nil || doc.SCSIErrorCounterLog != nil {
		s := &model.SCSIHealth{GrownDefects: doc.SCSIGrownDefectList.ptr64()}
		if e := doc.SCSIErrorCounterLog; e != nil {
			s.ReadUncorrected = uncorrected(e.Read)
			s.WriteUncorrected = uncorrected(e.Write)
			s.VerifyUncorrected = uncorrected(e.Verify)
		}
		if s.GrownDefects != nil || s.ReadUncorrected != nil || s.WriteUncorrected != nil || s.VerifyUncorrected != nil {
			d.SCSI = s
		}
	}
	if e := doc.ATASMARTErrorLog; e != nil {
		// The extended (GP) log counts every error; the summary log wraps.
		if e.Extended != nil && e.Extended.Count != nil && e.Extended.Count.set {
			d.ErrorLogCount = e.Extended.Count.ptr64()
		} else if e.Summary != nil {
			d.ErrorLogCount = e.Summary.Count.ptr64()
		}
	}
	d.SelfTest = selfTests(doc)
	d.EnduranceUsedPercent = enduranceUsed(doc)
	if e := doc.SCTERC; e != nil && e.Read != nil {
		d.ERC = &model.ERC{Supported: true}
		for _, t := range []struct {
			src *struct {
				Enabled     bool `json:"enabled"`
				Deciseconds *int `json:"deciseconds"`
			}
			dst **int
		}{{e.Read, &d.ERC.ReadDeciseconds}, {e.Write, &d.ERC.WriteDeciseconds}} {
			if t.src == nil {
				continue
			}
			v := 0 // "enabled": false is a disabled limit
			if t.src.Enabled && t.src.Deciseconds != nil {
				v = *t.src.Deciseconds
			}
			*t.dst = &v
		}
	}
}

// enduranceUsed is the SSD wear percentage: smartctl 7.4's endurance_used,
// else ATA device statistics page 7 (Solid State Device Statistics)
// offset 8 (Percentage Used Endurance Indicator, ACS-4), else NVMe's
// percentage used.
func enduranceUsed(doc *document) *int {
	v := func(n *num) *int {
		if n == nil || !n.set {
			return nil
		}
		x := n.Int()
		return &x
	}
	if e := doc.EnduranceUsed; e != nil && e.CurrentPercent != nil {
		return v(e.CurrentPercent)
	}
	if s := doc.ATADeviceStatistics; s != nil {
		for _, p := range s.Pages {
			if p.Number != 7 {
				continue
			}
			for _, t := range p.Table {
				if t.Offset == 8 && t.Flags.Valid {
					return v(t.Value)
				}
			}
		}
	}
	if n := doc.NVMeSMARTHealth; n != nil && n.PercentageUsed.set {
		return v(&n.PercentageUsed)
	}
	return nil
}

// commandFailedNote is the record's error for exit status bit 2.
const commandFailedNote = "smartctl: some SMART or other command to the disk failed (exit status bit 2): the record may be incomplete"

// noteCommandFailed notes exit status bit 2 in Errors, once.
func noteCommandFailed(d *model.Disk) {
	if d.Smartctl == nil || d.Smartctl.Status&ExitCommandFailed == 0 {
		return
	}
	for _, e := range d.Errors {
		if e == commandFailedNote {
			return
		}
	}
	d.Errors = append(d.Errors, commandFailedNote)
}

func uncorrected(c *scsiCounters) *int64 {
	if c == nil {
		return nil
	}
	return c.TotalUncorrectedErrors.ptr64()
}

// tempLimits takes the drive's own temperature limits: NVMe WCTEMP/CCTEMP,
// ATA SCT recommended operating maximum and absolute limit. SCSI's trip
// point is taken with temperature.
func tempLimits(d *model.Disk, doc *document) {
	set := func(dst **float64, v *float64) {
		if *dst == nil && v != nil && *v > 0 {
			x := *v
			*dst = &x
		}
	}
	if t := doc.NVMeCompositeTemperatureThreshold; t != nil {
		set(&d.WarnTemperatureC, t.Warning)
		set(&d.CritTemperatureC, t.Critical)
	}
	if s := doc.ATASCTStatus; s != nil && s.Temperature != nil {
		set(&d.WarnTemperatureC, s.Temperature.OpLimitMax)
		set(&d.CritTemperatureC, s.Temperature.LimitMax)
	}
	if h := doc.ATASCTTemperatureHistory; h != nil && h.Temperature != nil {
		set(&d.WarnTemperatureC, h.Temperature.OpLimitMax)
		set(&d.CritTemperatureC, h.Temperature.LimitMax)
	}
}

// selfTests builds the self-test summary from whichever log the document
// has: ATA (extended log preferred, it holds more entries), NVMe, SCSI.
// Entries are most recent first, as smartctl lists them.
func selfTests(doc *document) *model.SelfTestLog {
	var st model.SelfTestLog
	if s := doc.ATASMARTData; s != nil && s.SelfTest != nil && s.SelfTest.Status != nil {
		// Upper nibble 15: a self-test is running.
		if s.SelfTest.Status.Value>>4 == 15 {
			st.Running = true
			if r := s.SelfTest.Status.RemainingPercent; r != nil {
				st.RemainingPercent = *r
			}
		}
	}
	if l := doc.ATASMARTSelfTestLog; l != nil {
		tab := l.Standard
		if l.Extended != nil && len(l.Extended.Table) > 0 {
			tab = l.Extended
		}
		if tab != nil {
			for _, t := range tab.Table {
				e := model.SelfTestEntry{
					Type: ataTestType(t.Type.Value, t.Type.String), Status: t.Status.String,
					LifetimeHour: t.LifetimeHours.Int64(), FailingLBA: t.LBA.ptr64(),
				}
				if t.Status.Passed != nil {
					e.Passed = *t.Status.Passed
					e.Failed = !*t.Status.Passed
				}
				st.Entries = append(st.Entries, e)
			}
		}
	}
	if l := doc.NVMeSelfTestLog; l != nil {
		if op := l.CurrentOperation; op != nil && op.Value&0xf != 0 {
			st.Running = true
			if c := l.CurrentCompletion; c != nil {
				st.RemainingPercent = 100 - *c
			}
		}
		for _, t := range l.Table {
			e := model.SelfTestEntry{
				Type: nvmeTestType(t.Code.Value, t.Code.String), Status: t.Result.String,
				LifetimeHour: t.PowerOnHours.Int64(), FailingLBA: t.LBA.ptr64(),
			}
			// NVMe base spec, Self-test Result Data Structure: 0 completed
			// without error; 5 fatal/unknown error, 6 unknown failed
			// segment, 7 failed segments; 1-4, 8, 9 aborted.
			switch t.Result.Value {
			case 0:
				e.Passed = true
			case 5, 6, 7:
				e.Failed = true
			}
			st.Entries = append(st.Entries, e)
		}
	}
	for _, t := range doc.scsiSelfTests {
		e := model.SelfTestEntry{
			Type: scsiTestType(t.Code.Value, t.Code.String), Status: t.Result.String,
			LifetimeHour: t.PowerOnTime.Hours.Int64(),
		}
		if t.LBAFirstFailure != nil {
			e.FailingLBA = t.LBAFirstFailure.Value.ptr64()
		}
		// SPC self-test results: 0 completed; 1, 2 aborted; 3 unknown
		// error; 4-7 a segment failed; 15 in progress.
		switch {
		case t.Result.Value == 0:
			e.Passed = true
		case t.Result.Value >= 3 && t.Result.Value <= 7:
			e.Failed = true
		case t.Result.Value == 15:
			st.Running = true
		}
		st.Entries = append(st.Entries, e)
	}
	if !st.Running && len(st.Entries) == 0 {
		return nil
	}
	return &st
}

func ataTestType(v int, s string) string {
	// ATA self-test log: the LBA 7:0 value of SMART EXECUTE OFFLINE
	// IMMEDIATE; 0x81-0x84 are the captive variants.
	switch v & 0x7f {
	case 0:
		return "offline"
	case 1:
		return "short"
	case 2:
		return "long"
	case 3:
		return "conveyance"
	case 4:
		return "selective"
	}
	return testWord(s)
}

func nvmeTestType(v int, s string) string {
	switch v {
	case 1:
		return "short"
	case 2:
		return "long"
	}
	return testWord(s)
}

func scsiTestType(v int, s string) string {
	// SPC self-test code: 1 background short, 2 background extended,
	// 5 foreground short, 6 foreground extended.
	switch v {
	case 1, 5:
		return "short"
	case 2, 6:
		return "long"
	}
	return testWord(s)
}

func testWord(s string) string {
	l := strings.ToLower(s)
	switch {
	case strings.Contains(l, "short"):
		return "short"
	case strings.Contains(l, "extended") || strings.Contains(l, "long"):
		return "long"
	case strings.Contains(l, "conveyance"):
		return "conveyance"
	case strings.Contains(l, "selective"):
		return "selective"
	case strings.Contains(l, "vendor"):
		return "vendor"
	case l == "":
		return "unknown"
	}
	return strings.Join(strings.Fields(l), "_")
}

func whenFailed(s string) string {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "now", "failing_now":
		return "now"
	case "past", "in_the_past":
		return "past"
	}
	return ""
}

func protocol(p, typ string) string {
	switch strings.ToLower(p) {
	case "ata":
		return "ata"
	case "nvme":
		return "nvme"
	case "scsi":
		return "scsi"
	}
	switch {
	case strings.Contains(typ, "nvme"):
		return "nvme"
	case strings.HasPrefix(typ, "sat") || strings.HasPrefix(typ, "ata") || strings.HasPrefix(typ, "usb") || strings.HasPrefix(typ, "3ware"):
		return "ata"
	case strings.HasPrefix(typ, "scsi"):
		return "scsi"
	}
	return strings.ToLower(p)
}

// powerMode reads a "power_mode" member if smartctl wrote one, either a
// string or an object with a string.
func powerMode(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		var o struct {
			String string `json:"string"`
		}
		if json.Unmarshal(raw, &o) != nil {
			return ""
		}
		s = o.String
	}
	l := strings.ToLower(s)
	for _, m := range []string{"standby", "sleep", "idle", "active"} {
		if strings.Contains(l, m) {
			return m
		}
	}
	return ""
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if strings.TrimSpace(s) != "" {
			return s
		}
	}
	return ""
}

func join(a, b string) string {
	return strings.TrimSpace(strings.TrimSpace(a) + " " + strings.TrimSpace(b))
}

func firstLine(b []byte) string {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i]
	}
	if len(b) > 80 {
		b = b[:80]
	}
	return string(b)
}

// scsiSelfTestsFrom collects the numbered "scsi_self_test_N" members, which
// smartctl writes as separate top-level keys, in order of N.
func scsiSelfTestsFrom(data []byte) []scsiSelfTest {
	if !bytes.Contains(data, []byte(`"scsi_self_test_`)) {
		return nil
	}
	var top map[string]json.RawMessage
	if json.Unmarshal(data, &top) != nil {
		return nil
	}
	type ent struct {
		n int
		t scsiSelfTest
	}
	var es []ent
	for k, raw := range top {
		ns, ok := strings.CutPrefix(k, "scsi_self_test_")
		if !ok {
			continue
		}
		n, err := strconv.Atoi(ns)
		if err != nil {
			continue
		}
		var t scsiSelfTest
		if json.Unmarshal(raw, &t) != nil {
			continue
		}
		es = append(es, ent{n, t})
	}
	sort.Slice(es, func(i, j int) bool { return es[i].n < es[j].n })
	out := make([]scsiSelfTest, len(es))
	for i, e := range es {
		out[i] = e.t
	}
	return out
}
