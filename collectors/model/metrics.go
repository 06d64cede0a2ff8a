package model

import (
	"slices"
	"strconv"
	"strings"
)

// Disk metric names: the series a disk's readings are stored under in the
// history store, and the names metrics, Zabbix items, the report and `ack`
// use. They are defined here once; Disk.Samples writes them, Disk.Metric
// reads one back from a live disk and DiskFromMetrics rebuilds a disk from
// stored values.
const (
	MetricSMARTPassed = "smart_passed"
	// MetricSMARTEnabled is 1 with SMART enabled, 0 disabled; written only
	// for disks with SMART.
	MetricSMARTEnabled = "smart_enabled"
	MetricTemperatureC = "temperature_c"
	MetricPowerOnHours = "power_on_hours"
	MetricPowerCycles  = "power_cycles"

	MetricNVMeCriticalWarning  = "nvme_critical_warning"
	MetricNVMeAvailableSpare   = "nvme_available_spare"
	MetricNVMePercentageUsed   = "nvme_percentage_used"
	MetricNVMeMediaErrors      = "nvme_media_errors"
	MetricNVMeErrLogEntries    = "nvme_num_err_log_entries"
	MetricNVMeUnsafeShutdowns  = "nvme_unsafe_shutdowns"
	MetricNVMeDataUnitsWritten = "nvme_data_units_written"

	MetricSCSIGrownDefects      = "scsi_grown_defects"
	MetricSCSIReadUncorrected   = "scsi_read_uncorrected"
	MetricSCSIWriteUncorrected  = "scsi_write_uncorrected"
	MetricSCSIVerifyUncorrected = "scsi_verify_uncorrected"
	// MetricSCSINonMedium is the SCSI non-medium error count (log page
	// 06h): errors not tied to the medium (transport, resets, hardware).
	MetricSCSINonMedium = "scsi_non_medium_errors"

	// MetricATAErrorLogCount is the ATA error log's lifetime count
	// (smartctl -l error), for ATA disks only (NVMe has its own).
	MetricATAErrorLogCount = "ata_error_log_count"
	// MetricSelfTestLastFailure is the power-on hour of the newest failed
	// entry in the self-test log, 0 for a log without failures: it grows
	// when the log gains a failure.
	MetricSelfTestLastFailure = "self_test_last_failure_hours"
)

// AttrRaw is the metric of ATA attribute id's raw value ("smart_attr_5_raw").
func AttrRaw(id int) string { return "smart_attr_" + strconv.Itoa(id) + "_raw" }

// AttrValue is the metric of ATA attribute id's normalised value
// ("smart_attr_177_value").
func AttrValue(id int) string { return "smart_attr_" + strconv.Itoa(id) + "_value" }

// ParseAttrMetric splits an attribute metric name: its id and whether it is
// the raw value (else the normalised one).
func ParseAttrMetric(metric string) (id int, raw, ok bool) {
	rest, ok := strings.CutPrefix(metric, "smart_attr_")
	if !ok {
		return 0, false, false
	}
	num, kind, _ := strings.Cut(rest, "_")
	id, err := strconv.Atoi(num)
	if err != nil || (kind != "raw" && kind != "value") {
		return 0, false, false
	}
	return id, kind == "raw", true
}

// diskMetric is one scalar disk reading: how to read it from a disk and how
// to put a stored value back.
type diskMetric struct {
	name string
	get  func(d *Disk) (float64, bool)
	set  func(d *Disk, v float64)
}

func i64(p *int64) (float64, bool) {
	if p == nil {
		return 0, false
	}
	return float64(*p), true
}

func nvme(d *Disk) *NVMeHealth {
	if d.NVMe == nil {
		d.NVMe = &NVMeHealth{}
	}
	return d.NVMe
}

func scsi(d *Disk) *SCSIHealth {
	if d.SCSI == nil {
		d.SCSI = &SCSIHealth{}
	}
	return d.SCSI
}

func ptr[T any](v T) *T { return &v }

func nvmeMetric(name string, get func(n *NVMeHealth) float64, set func(n *NVMeHealth, v float64)) diskMetric {
	return diskMetric{name,
		func(d *Disk) (float64, bool) {
			if d.NVMe == nil {
				return 0, false
			}
			return get(d.NVMe), true
		},
		func(d *Disk, v float64) { set(nvme(d), v) }}
}

func scsiMetric(name string, field func(c *SCSIHealth) **int64) diskMetric {
	return diskMetric{name,
		func(d *Disk) (float64, bool) {
			if d.SCSI == nil {
				return 0, false
			}
			return i64(*field(d.SCSI))
		},
		func(d *Disk, v float64) { *field(scsi(d)) = ptr(int64(v)) }}
}

// diskMetrics lists every scalar disk metric, in the order samples are
// written. ATA attributes come after them (AttrRaw, AttrValue).
var diskMetrics = []diskMetric{
	{MetricSMARTPassed,
		func(d *Disk) (float64, bool) {
			if d.SMARTPassed == nil {
				return 0, false
			}
			if *d.SMARTPassed {
				return 1, true
			}
			return 0, true
		},
		func(d *Disk, v float64) { d.SMARTPassed = ptr(v != 0) }},
	{MetricSMARTEnabled,
		func(d *Disk) (float64, bool) {
			if d.SMARTEnabled {
				return 1, d.SMARTAvailable
			}
			return 0, d.SMARTAvailable
		},
		func(d *Disk, v float64) { d.SMARTAvailable, d.SMARTEnabled = true, v != 0 }},
	{MetricTemperatureC,
		func(d *Disk) (float64, bool) {
			if d.TemperatureC == nil {
				return 0, false
			}
			return *d.TemperatureC, true
		},
		func(d *Disk, v float64) { d.TemperatureC = ptr(v) }},
	{MetricPowerOnHours, func(d *Disk) (float64, bool) { return i64(d.PowerOnHours) },
		func(d *Disk, v float64) { d.PowerOnHours = ptr(int64(v)) }},
	{MetricPowerCycles, func(d *Disk) (float64, bool) { return i64(d.PowerCycles) },
		func(d *Disk, v float64) { d.PowerCycles = ptr(int64(v)) }},
	nvmeMetric(MetricNVMeCriticalWarning, func(n *NVMeHealth) float64 { return float64(n.CriticalWarning) },
		func(n *NVMeHealth, v float64) { n.CriticalWarning = int(v) }),
	nvmeMetric(MetricNVMeAvailableSpare, func(n *NVMeHealth) float64 { return float64(n.AvailableSpare) },
		func(n *NVMeHealth, v float64) { n.AvailableSpare = int(v) }),
	nvmeMetric(MetricNVMePercentageUsed, func(n *NVMeHealth) float64 { return float64(n.PercentageUsed) },
		func(n *NVMeHealth, v float64) { n.PercentageUsed = int(v) }),
	nvmeMetric(MetricNVMeMediaErrors, func(n *NVMeHealth) float64 { return float64(n.MediaErrors) },
		func(n *NVMeHealth, v float64) { n.MediaErrors = uint64(v) }),
	nvmeMetric(MetricNVMeErrLogEntries, func(n *NVMeHealth) float64 { return float64(n.NumErrLogEntries) },
		func(n *NVMeHealth, v float64) { n.NumErrLogEntries = uint64(v) }),
	nvmeMetric(MetricNVMeUnsafeShutdowns, func(n *NVMeHealth) float64 { return float64(n.UnsafeShutdowns) },
		func(n *NVMeHealth, v float64) { n.UnsafeShutdowns = uint64(v) }),
	nvmeMetric(MetricNVMeDataUnitsWritten, func(n *NVMeHealth) float64 { return float64(n.DataUnitsWritten) },
		func(n *NVMeHealth, v float64) { n.DataUnitsWritten = uint64(v) }),
	scsiMetric(MetricSCSIGrownDefects, func(c *SCSIHealth) **int64 { return &c.GrownDefects }),
	scsiMetric(MetricSCSIReadUncorrected, func(c *SCSIHealth) **int64 { return &c.ReadUncorrected }),
	scsiMetric(MetricSCSIWriteUncorrected, func(c *SCSIHealth) **int64 { return &c.WriteUncorrected }),
	scsiMetric(MetricSCSIVerifyUncorrected, func(c *SCSIHealth) **int64 { return &c.VerifyUncorrected }),
	scsiMetric(MetricSCSINonMedium, func(c *SCSIHealth) **int64 { return &c.NonMediumErrors }),
	{MetricATAErrorLogCount,
		func(d *Disk) (float64, bool) {
			if d.NVMe != nil || d.Device.Protocol == "nvme" || d.Device.Protocol == "scsi" {
				return 0, false
			}
			return i64(d.ErrorLogCount)
		},
		func(d *Disk, v float64) { d.ErrorLogCount = ptr(int64(v)) }},
	{MetricSelfTestLastFailure,
		func(d *Disk) (float64, bool) {
			if e := d.LastFailedSelfTest(); e != nil {
				return float64(e.LifetimeHour), true
			}
			return 0, d.SelfTest != nil // a log without failures
		},
		// Only the newest failure is stored, not the whole log.
		func(d *Disk, v float64) {
			d.SelfTest = &SelfTestLog{}
			if v > 0 {
				d.SelfTest.Entries = []SelfTestEntry{{Type: "unknown", Status: "failed", Failed: true, LifetimeHour: int64(v)}}
			}
		}},
}

// LastFailedSelfTest is the newest failed entry of the self-test log, or
// nil.
func (d *Disk) LastFailedSelfTest() *SelfTestEntry {
	if d.SelfTest == nil {
		return nil
	}
	var last *SelfTestEntry
	for i := range d.SelfTest.Entries {
		if e := &d.SelfTest.Entries[i]; e.Failed && (last == nil || e.LifetimeHour > last.LifetimeHour) {
			last = e
		}
	}
	return last
}

// Samples flattens a disk's readings into history samples.
func (d *Disk) Samples() []Sample {
	id := d.Device.ID()
	var s []Sample
	for _, m := range diskMetrics {
		if v, ok := m.get(d); ok {
			s = append(s, Sample{id, m.name, v})
		}
	}
	for _, a := range d.ATAAttributes {
		s = append(s, Sample{id, AttrRaw(a.ID), float64(a.Raw)}, Sample{id, AttrValue(a.ID), float64(a.Value)})
	}
	return s
}

// Metric reads one metric of a disk's current readings by name, without
// building every sample.
func (d *Disk) Metric(name string) (float64, bool) {
	if id, raw, ok := ParseAttrMetric(name); ok {
		a := d.Attr(id)
		if a == nil {
			return 0, false
		}
		if raw {
			return float64(a.Raw), true
		}
		return float64(a.Value), true
	}
	for _, m := range diskMetrics {
		if m.name == name {
			return m.get(d)
		}
	}
	return 0, false
}

// DiskFromMetrics rebuilds a disk known only from stored readings: every
// metric Samples wrote comes back into its field. The identity is kept as
// stored (id is DeviceInfo.ID's form, "wwn:…", "serial:MODEL_SERIAL",
// "path:…") and names the disk.
func DiskFromMetrics(id string, latest map[string]float64) Disk {
	kind, rest, _ := strings.Cut(id, ":")
	d := Disk{Device: DeviceInfo{Name: rest, Identity: id}}
	switch kind {
	case "wwn":
		d.Device.WWN = rest
	case "serial":
		// The stored ID is "MODEL_SERIAL" with spaces folded.
		d.Device.Name = strings.ReplaceAll(rest, "_", " ")
	case "path":
		d.Device.Path = rest
	}
	attrs := map[int]*ATAAttribute{}
	var ids []int
	for name, v := range latest {
		if id, raw, ok := ParseAttrMetric(name); ok {
			a := attrs[id]
			if a == nil {
				a = &ATAAttribute{ID: id}
				attrs[id] = a
				ids = append(ids, id)
			}
			if raw {
				a.Raw = int64(v)
				a.RawString = strconv.FormatInt(a.Raw, 10)
			} else {
				a.Value, a.Worst = int(v), int(v)
			}
			continue
		}
		for _, m := range diskMetrics {
			if m.name == name {
				m.set(&d, v)
			}
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		d.ATAAttributes = append(d.ATAAttributes, *attrs[id])
	}
	switch {
	case len(ids) > 0:
		d.Device.Protocol = "ata"
	case d.NVMe != nil:
		d.Device.Protocol = "nvme"
	case d.SCSI != nil:
		d.Device.Protocol = "scsi"
	}
	if _, stored := latest[MetricSMARTEnabled]; !stored {
		// Stored before smart_enabled was: attributes, a health status and
		// NVMe's log are only read with SMART on.
		d.SMARTAvailable = d.Device.Protocol != "" || d.SMARTPassed != nil
		d.SMARTEnabled = len(ids) > 0 || d.NVMe != nil || d.SMARTPassed != nil
	}
	return d
}
