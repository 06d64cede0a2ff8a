package model

import (
	"fmt"
	"strings"
)

// DeviceInfo identifies a disk. Keys follow smartctl's JSON names where one
// exists.
type DeviceInfo struct {
	// Path is how the disk was reached: /dev/sda, /dev/nvme0, /dev/twa0.
	Path string `json:"path"`
	// Protocol is "ata", "nvme" or "scsi".
	Protocol string `json:"protocol"`
	// Via is the transport: "sat", "nvme", "scsi", "3ware,N", "megaraid,N",
	// "usbjmicron", ...
	Via          string `json:"via,omitempty"`
	Model        string `json:"model,omitempty"`
	Serial       string `json:"serial,omitempty"`
	Firmware     string `json:"firmware,omitempty"`
	WWN          string `json:"wwn,omitempty"`
	Capacity     int64  `json:"capacity_bytes,omitempty"`
	RotationRate int    `json:"rotation_rate,omitempty"` // rpm; 0 = SSD/unknown
	// Name is the human name used in output: "sda", "twa0 port 1".
	Name string `json:"name,omitempty"`
	// Identity, when set, is returned by ID() as it is: a disk rebuilt
	// from stored history keeps the key it was stored under.
	Identity string `json:"identity,omitempty"`
}

// ID is the disk's stable identity, surviving sdX renames and controller
// moves: the WWN when known, else model+serial, else the path.
func (d DeviceInfo) ID() string {
	switch {
	case d.Identity != "":
		return d.Identity
	case NormalizeWWN(d.WWN) != "":
		return "wwn:" + NormalizeWWN(d.WWN)
	case d.Serial != "":
		return "serial:" + idPart(d.Model) + "_" + idPart(d.Serial)
	default:
		return "path:" + d.Path + viaSuffix(d.Via)
	}
}

// LegacyIDs are the identities this disk had before WWN forms were
// normalised (a SAS disk read natively or through smartctl was
// "wwn:0x5000…"), so history stored under them can still be read.
func (d DeviceInfo) LegacyIDs() []string {
	if d.Identity != "" || d.WWN == "" {
		return nil
	}
	old := "wwn:" + strings.ToLower(strings.ReplaceAll(d.WWN, " ", ""))
	if old == d.ID() {
		return nil
	}
	return []string{old}
}

// NormalizeWWN returns the one form of a world wide name every path
// agrees on: lower-case hex digits with no prefix or separators. The
// forms it folds are smartctl's ATA "5 0014ee 2b1234567", SCSI
// logical_unit_id "0x5000c500a1b2c3d4", sysfs wwid "naa.5000C500A1B2C3D4"
// and "5000c500a1b2c3d4". Anything that is not hex after that is returned
// cleaned (printable, lower case) so it still keys the disk.
func NormalizeWWN(w string) string {
	s := strings.ToLower(strings.TrimSpace(w))
	s = strings.TrimPrefix(s, "naa.")
	s = strings.TrimPrefix(s, "0x")
	s = strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == ':' {
			return -1
		}
		return r
	}, s)
	if strings.Trim(s, "0") == "" {
		return "" // an all-zero WWN names no disk
	}
	return idPart(s)
}

func viaSuffix(via string) string {
	if via == "" || via == "sat" || via == "nvme" || via == "scsi" {
		return ""
	}
	return "#" + via
}

// idPart makes a device string usable inside an identity key: printable
// ASCII only, spaces folded to "_".
func idPart(s string) string {
	var b strings.Builder
	for _, r := range strings.TrimSpace(s) {
		switch {
		case r == ' ':
			b.WriteByte('_')
		case r > 0x20 && r < 0x7f:
			b.WriteRune(r)
		default:
			fmt.Fprintf(&b, "%%%02x", r)
		}
	}
	return b.String()
}

// Display is a terminal-safe short description: "sda (WDC WD40 SN123)".
func (d DeviceInfo) Display() string {
	name := d.Name
	if name == "" {
		name = strings.TrimPrefix(d.Path, "/dev/")
	}
	desc := strings.TrimSpace(Clean(d.Model) + " " + Clean(d.Serial))
	if desc == "" {
		return Clean(name)
	}
	return Clean(name) + " (" + desc + ")"
}

// Disk is the normalized SMART record of one disk, whatever the source
// (native ioctls, the smartctl backend, a smartctl JSON capture).
type Disk struct {
	Device DeviceInfo `json:"device"`
	// PowerMode: "active", "idle", "standby", "sleep", "unknown".
	PowerMode string `json:"power_mode,omitempty"`
	// Skipped is set when the disk was not read (e.g. in standby).
	Skipped string `json:"skipped,omitempty"`

	SMARTAvailable bool  `json:"smart_available"`
	SMARTEnabled   bool  `json:"smart_enabled,omitempty"`
	SMARTPassed    *bool `json:"smart_passed"`

	TemperatureC *float64 `json:"temperature_c"`
	PowerOnHours *int64   `json:"power_on_hours"`
	PowerCycles  *int64   `json:"power_cycles"`
	// TripTemperatureC is the drive's own temperature limit when reported
	// (SCSI trip point, NVMe WCTEMP/CCTEMP).
	WarnTemperatureC *float64 `json:"warn_temperature_c,omitempty"`
	CritTemperatureC *float64 `json:"crit_temperature_c,omitempty"`

	ATAAttributes []ATAAttribute `json:"ata_attributes,omitempty"`
	NVMe          *NVMeHealth    `json:"nvme,omitempty"`
	SCSI          *SCSIHealth    `json:"scsi,omitempty"`
	SelfTest      *SelfTestLog   `json:"self_test,omitempty"`
	// ErrorLogCount is the ATA error log count / NVMe error entries.
	ErrorLogCount *int64 `json:"error_log_count,omitempty"`
	// Errors are per-step read problems ("SMART READ DATA: EIO").
	Errors []string `json:"errors,omitempty"`
	// EnduranceUsedPercent is the share of rated write endurance used (SSD
	// wear; may pass 100): NVMe percentage used, ATA device statistics
	// "Percentage Used Endurance Indicator"; nil when not reported.
	EnduranceUsedPercent *int `json:"endurance_used_percent,omitempty"`
	// ERC is the drive's error recovery control (SCT ERC, smartctl -l
	// scterc), nil when not read (not ATA, asleep, read through smartctl).
	ERC *ERC `json:"scterc,omitempty"`
	// Smartctl is smartctl's exit status, decoded, on records that came
	// from smartctl (the backend or a capture); nil otherwise.
	Smartctl *SmartctlExit `json:"smartctl,omitempty"`
}

// SmartctlExit is smartctl's exit status bitmask, decoded (smartctl(8),
// RETURN VALUES). Bits 0-1 mean smartctl could not read the device; bit 2
// that some command failed; bits 3-7 are findings about the disk.
type SmartctlExit struct {
	Status int `json:"exit_status"`
	// Flags names each set bit: command_line_error, device_open_failed,
	// command_failed, disk_failing, prefail_at_threshold,
	// attributes_past_threshold, error_log_entries, self_test_errors.
	Flags []string `json:"flags,omitempty"`
}

// ATAAttribute is one ATA SMART attribute.
type ATAAttribute struct {
	ID        int    `json:"id"`
	Name      string `json:"name"`
	Value     int    `json:"value"`
	Worst     int    `json:"worst"`
	Thresh    int    `json:"thresh"`
	Raw       int64  `json:"raw"`
	RawString string `json:"raw_string"`
	// WhenFailed is "", "past" or "now".
	WhenFailed string `json:"when_failed"`
	Prefailure bool   `json:"prefailure,omitempty"`
}

// NVMeHealth is the NVMe SMART / Health Information log (page 0x02).
type NVMeHealth struct {
	CriticalWarning         int     `json:"critical_warning"`
	TemperatureC            float64 `json:"temperature_c"`
	AvailableSpare          int     `json:"available_spare"`
	AvailableSpareThreshold int     `json:"available_spare_threshold"`
	PercentageUsed          int     `json:"percentage_used"`
	DataUnitsRead           uint64  `json:"data_units_read"`
	DataUnitsWritten        uint64  `json:"data_units_written"`
	PowerOnHours            uint64  `json:"power_on_hours"`
	PowerCycles             uint64  `json:"power_cycles"`
	UnsafeShutdowns         uint64  `json:"unsafe_shutdowns"`
	MediaErrors             uint64  `json:"media_errors"`
	NumErrLogEntries        uint64  `json:"num_err_log_entries"`
}

// SCSIHealth holds SCSI/SAS defect and error counters.
type SCSIHealth struct {
	GrownDefects      *int64 `json:"grown_defects"`
	ReadUncorrected   *int64 `json:"read_uncorrected"`
	WriteUncorrected  *int64 `json:"write_uncorrected"`
	VerifyUncorrected *int64 `json:"verify_uncorrected"`
	// NonMediumErrors is the non-medium error count (log page 06h).
	NonMediumErrors *int64 `json:"non_medium_errors,omitempty"`
}

// SelfTestLog summarises the self-test log.
type SelfTestLog struct {
	// Running is set while a self-test is in progress.
	Running bool `json:"running,omitempty"`
	// RemainingPercent of a running test.
	RemainingPercent int             `json:"remaining_percent,omitempty"`
	Entries          []SelfTestEntry `json:"entries,omitempty"`
}

// SelfTestEntry is one completed (or aborted) self-test.
type SelfTestEntry struct {
	Type         string `json:"type"` // short, long, conveyance, ...
	Status       string `json:"status"`
	Passed       bool   `json:"passed"`
	LifetimeHour int64  `json:"lifetime_hours"`
	FailingLBA   *int64 `json:"lba_of_first_error,omitempty"`
	// Failed is set when the test completed with a failure (a read,
	// electrical, servo or handling element failed; an NVMe or SCSI
	// segment failed). Aborted and interrupted tests are neither passed
	// nor failed.
	Failed bool `json:"failed,omitempty"`
}

// Attr returns the ATA attribute with id, or nil.
func (d *Disk) Attr(id int) *ATAAttribute {
	for i := range d.ATAAttributes {
		if d.ATAAttributes[i].ID == id {
			return &d.ATAAttributes[i]
		}
	}
	return nil
}

// ERC is an ATA drive's SCT Error Recovery Control state: how long it
// retries a bad sector before reporting an error.
type ERC struct {
	// Supported is false when the drive has no SCT ERC (typical of
	// desktop drives): it may retry for minutes.
	Supported bool `json:"supported"`
	// ReadDeciseconds and WriteDeciseconds are the limits in 100 ms
	// units, 0 when disabled, nil when not read.
	ReadDeciseconds  *int `json:"read_deciseconds,omitempty"`
	WriteDeciseconds *int `json:"write_deciseconds,omitempty"`
}
