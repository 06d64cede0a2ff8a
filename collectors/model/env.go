package model

import "time"

// UPS is the status of one UPS (NUT or apcupsd).
type UPS struct {
	// Name is the UPS's identity: "testups@127.0.0.1:3493", "apcupsd@host:3551".
	Name   string `json:"name"`
	Source string `json:"source"` // "nut" or "apcupsd"
	Model  string `json:"model,omitempty"`
	// Status holds the NUT status flags (OL, OB, LB, RB, CHRG, FSD, ...).
	Status []string `json:"status"`
	// Reachable is false when the server or UPS could not be read
	// (communication lost).
	Reachable      bool     `json:"reachable"`
	ChargePercent  *float64 `json:"battery_charge_percent,omitempty"`
	RuntimeSeconds *float64 `json:"battery_runtime_seconds,omitempty"`
	LoadPercent    *float64 `json:"load_percent,omitempty"`
	InputVoltage   *float64 `json:"input_voltage,omitempty"`
	// SelfTest is the last self-test result as the UPS reports it.
	SelfTest string `json:"self_test,omitempty"`
	// SelfTestFailed is set when that result is a failure.
	SelfTestFailed bool `json:"self_test_failed,omitempty"`
	// Vars holds every raw variable read.
	Vars map[string]string `json:"vars,omitempty"`

	// Error says why the UPS could not be read (Reachable false). It never
	// holds a password.
	Error string `json:"error,omitempty"`
	// Clients are the addresses of the upsmon clients logged into upsd
	// for this UPS (NUT LIST CLIENT): who shuts systems down on battery.
	// nil when unknown (apcupsd, an upsd without LIST CLIENT).
	Clients []string `json:"clients,omitempty"`
	// Alarm is the UPS's own alarm text (NUT ups.alarm), if any.
	Alarm string `json:"alarm,omitempty"`
	// ChargeLowPercent and RuntimeLowSeconds are the UPS's own low-battery
	// thresholds (NUT battery.charge.low / battery.runtime.low, apcupsd
	// MBATTCHG / MINTIMEL).
	ChargeLowPercent  *float64 `json:"battery_charge_low_percent,omitempty"`
	RuntimeLowSeconds *float64 `json:"battery_runtime_low_seconds,omitempty"`
	BatteryVoltage    *float64 `json:"battery_voltage,omitempty"`
	OutputVoltage     *float64 `json:"output_voltage,omitempty"`
	// TemperatureC is the UPS's internal or battery temperature.
	TemperatureC *float64 `json:"temperature_c,omitempty"`
	// OnBatterySeconds is how long the UPS has been on battery by its own
	// count (apcupsd TONBATT), when it says.
	OnBatterySeconds *float64 `json:"on_battery_seconds,omitempty"`
}

// HasStatus reports whether the UPS status includes flag.
func (u *UPS) HasStatus(flag string) bool {
	for _, s := range u.Status {
		if s == flag {
			return true
		}
	}
	return false
}

// Samples returns the UPS's numeric readings. An unreachable UPS has only
// ups_reachable 0: its last state is unknown, not "on line".
func (u *UPS) Samples() []Sample {
	if !u.Reachable {
		return []Sample{{u.Name, "ups_reachable", 0}}
	}
	var s []Sample
	for _, p := range []struct {
		m string
		v *float64
	}{{"ups_battery_charge_percent", u.ChargePercent}, {"ups_battery_runtime_seconds", u.RuntimeSeconds},
		{"ups_load_percent", u.LoadPercent}, {"ups_input_voltage", u.InputVoltage},
		{"ups_battery_voltage", u.BatteryVoltage}, {"ups_output_voltage", u.OutputVoltage},
		{"ups_temperature_celsius", u.TemperatureC}} {
		if p.v != nil {
			s = append(s, Sample{u.Name, p.m, *p.v})
		}
	}
	ob := 0.0
	if u.HasStatus("OB") {
		ob = 1
	}
	s = append(s, Sample{u.Name, "ups_on_battery", ob})
	for _, f := range []struct{ flag, metric string }{
		{"LB", "ups_low_battery"}, {"RB", "ups_replace_battery"}, {"OVER", "ups_overload"}, {"FSD", "ups_forced_shutdown"},
		{"BYPASS", "ups_bypass"}, {"OFF", "ups_output_off"},
	} {
		v := 0.0
		if u.HasStatus(f.flag) {
			v = 1
		}
		s = append(s, Sample{u.Name, f.metric, v})
	}
	return append(s, Sample{u.Name, "ups_reachable", 1})
}

// Sensor is one environmental reading (hwmon, drive temperature, external
// probe).
type Sensor struct {
	// ID is stable: "hwmon/coretemp/temp1", "cmd/room".
	ID    string `json:"id"`
	Label string `json:"label,omitempty"`
	// Kind: temperature, fan, voltage, current, power, humidity, other.
	Kind  string   `json:"kind"`
	Unit  string   `json:"unit"` // "C", "rpm", "V", "A", "W", "%"
	Value float64  `json:"value"`
	Min   *float64 `json:"min,omitempty"`
	Max   *float64 `json:"max,omitempty"`
	Crit  *float64 `json:"crit,omitempty"`
	// Alarm is set when the chip raises its own alarm flag.
	Alarm bool `json:"alarm,omitempty"`
	// Disk ties a drive temperature sensor to its disk identity.
	Disk string `json:"disk,omitempty"`
	// Device is the kernel name of the disk a drive sensor belongs to
	// ("sda", "nvme0"), when known.
	Device string `json:"device,omitempty"`
	// Chip is the hwmon chip name ("coretemp", "nct6779", "drivetemp") or
	// the probe's source ("command", "file").
	Chip string `json:"chip,omitempty"`
}

// Samples returns the sensor's reading.
func (s *Sensor) Samples() []Sample {
	return []Sample{{s.ID, "sensor_" + s.Kind, s.Value}}
}

// KernelEvent is one recognised kernel log line attributed to a disk.
type KernelEvent struct {
	Seq  uint64    `json:"seq"`
	Time time.Time `json:"time"`
	// Kind: ata_error, ata_timeout, io_error, nvme_reset, nvme_timeout,
	// md_member_failed, raid_aen, ...
	Kind string `json:"kind"`
	// Device is the kernel name (sda, ata3, nvme0) and Disk its identity
	// when it could be resolved.
	Device string `json:"device"`
	Disk   string `json:"disk,omitempty"`
	Line   string `json:"line"`
	// Priority is the line's syslog level (0 emerg .. 7 debug).
	Priority int `json:"priority"`
	// Controller and Port name a disk behind a RAID controller when the
	// line is a controller event ("twa0", port 1; "megaraid0", disk 5).
	Controller string `json:"controller,omitempty"`
	Port       *int   `json:"port,omitempty"`
	// Sector is the failing sector when the line gives one.
	Sector *int64 `json:"sector,omitempty"`
}

// Kernel event kinds (KernelEvent.Kind). Counted kinds are one per
// incident (one failed command, one failed request); the others are the
// lines around an incident, kept as evidence.
const (
	KindATATimeout    = "ata_timeout"     // res ... Emask 0x4 (timeout), qc timeout
	KindATAError      = "ata_error"       // res ... Emask ... (HSM violation), (ATA bus error), ...
	KindATAException  = "ata_exception"   // ataN.00: exception Emask ... (evidence)
	KindATACommand    = "ata_command"     // ataN.00: failed command: READ FPDMA QUEUED (evidence)
	KindATALinkReset  = "ata_link_reset"  // ataN: hard resetting link (evidence)
	KindMediaError    = "media_error"     // (media error), error: { UNC }, Medium Error, critical medium error
	KindIOError       = "io_error"        // I/O error, dev sdX, sector N
	KindIOTimeout     = "io_timeout"      // timeout error, dev sdX, sector N
	KindBufferIOError = "buffer_io_error" // Buffer I/O error on dev sdX1 (evidence)
	KindSCSITimeout   = "scsi_timeout"    // [sdX] tag#N timing out command
	KindSCSIError     = "scsi_error"      // [sdX] ... Sense Key : Hardware Error / FAILED Result (evidence)
	KindNVMeTimeout   = "nvme_timeout"    // nvme nvme0: I/O 12 QID 3 timeout
	KindNVMeReset     = "nvme_reset"      // nvme nvme0: resetting controller
	KindNVMeDown      = "nvme_down"       // nvme nvme0: controller is down; will reset
	KindNVMeIOError   = "nvme_io_error"   // nvme0n1: I/O Cmd(0x2) @ LBA ..., I/O Error (evidence: the block layer line follows)
	KindMDFailed      = "md_member_failed"
	KindMDKicked      = "md_member_kicked"
	// KindMDCheckDone: "md: md0: data-check done." — a check (scrub) of
	// the array finished; Device is the array.
	KindMDCheckDone = "md_check_done"
	// RAID controller events (3ware AEN, megaraid_sas event log).
	KindRAIDTimeout     = "raid_drive_timeout"
	KindRAIDDriveError  = "raid_drive_error"
	KindRAIDRemoved     = "raid_drive_removed"
	KindRAIDInserted    = "raid_drive_inserted"
	KindRAIDFailed      = "raid_drive_failed"
	KindRAIDRebuild     = "raid_rebuild_started"
	KindRAIDRebuildDone = "raid_rebuild_done"
	KindRAIDRebuildFail = "raid_rebuild_failed"
	KindRAIDDegraded    = "raid_unit_degraded"
	KindRAIDSMART       = "raid_smart_threshold"
	KindRAIDEvent       = "raid_event"
)

// CountedKind reports whether kind is one incident (a failed command or
// request) for burst counting, rather than a line of context.
func CountedKind(kind string) bool {
	switch kind {
	case KindATATimeout, KindATAError, KindMediaError, KindIOError, KindIOTimeout,
		KindSCSITimeout, KindNVMeTimeout, KindNVMeReset, KindNVMeDown, KindRAIDTimeout, KindRAIDDriveError:
		return true
	}
	return false
}
