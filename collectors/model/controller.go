package model

import "fmt"

// Controller is a hardware RAID controller's own view of its storage, as
// its firmware reports it: logical drives (MegaRAID) or units (3ware),
// the physical disks behind it and its cache battery.
type Controller struct {
	// Name is the controller's short name in output: megaraid0, twa0.
	Name string `json:"name"`
	// Host is the SCSI host number.
	Host int `json:"host"`
	// Family is "megaraid" or "3ware".
	Family string `json:"family"`
	// Serial is the controller's serial number when the firmware gives it.
	Serial  string         `json:"serial,omitempty"`
	Logical []LogicalDrive `json:"logical_drives,omitempty"`
	// Physical are the physical disks as the firmware sees them (state,
	// slot, error counters); their SMART is in Snapshot.Disks under
	// DiskID.
	Physical []PhysicalDisk `json:"physical_disks,omitempty"`
	// Battery is the cache battery or CacheVault; nil when the firmware
	// says there is none or cannot be asked.
	Battery *Battery `json:"battery,omitempty"`
	// Errors are read problems ("LD GET LIST: MFI status 0x03").
	Errors []string `json:"errors,omitempty"`
}

// LogicalDrive is a MegaRAID logical drive (virtual drive) or a 3ware
// unit.
type LogicalDrive struct {
	// ID is the firmware's number: the MegaRAID target id, the 3ware unit.
	ID   int    `json:"id"`
	Name string `json:"name,omitempty"`
	// RAIDLevel is "0", "1", "5", "6", "10", ... as the firmware says.
	RAIDLevel string `json:"raid_level,omitempty"`
	// State is "optimal", "partially_degraded", "degraded", "offline"
	// (MegaRAID), or "ok", "degraded", "rebuilding", "inoperable",
	// "initializing", "verifying" (3ware).
	State     string `json:"state"`
	SizeBytes int64  `json:"size_bytes,omitempty"`
	// Members are the slots of the disks it is built from, in row order;
	// a missing disk is a member with DeviceID -1.
	Members []PhysicalDisk `json:"members,omitempty"`
}

// PhysicalDisk is one disk as the controller firmware sees it.
type PhysicalDisk struct {
	// DeviceID is the firmware's device id (MegaRAID) or port (3ware); -1
	// for a missing member.
	DeviceID int `json:"device_id"`
	// Enclosure is the enclosure device id; -1 when the disk is not in an
	// enclosure.
	Enclosure int `json:"enclosure"`
	Slot      int `json:"slot"`
	// State is the firmware state: "online", "failed", "rebuild",
	// "offline", "hot_spare", "unconfigured_good", "unconfigured_bad",
	// "jbod", "missing".
	State string `json:"state"`
	// RebuildPercent is set while the disk is being rebuilt.
	RebuildPercent *float64 `json:"rebuild_percent,omitempty"`
	MediaErrors    int64    `json:"media_errors,omitempty"`
	OtherErrors    int64    `json:"other_errors,omitempty"`
	// PredictiveFailures counts the disk's SMART trips seen by the
	// firmware.
	PredictiveFailures int64 `json:"predictive_failures,omitempty"`
	// DiskID is the disk's identity (DeviceInfo.ID) when it was read, so
	// its SMART record joins this one.
	DiskID string `json:"disk_id,omitempty"`
}

// Where names the disk's place: "slot 3", "enclosure 32 slot 3",
// "missing".
func (p PhysicalDisk) Where() string {
	switch {
	case p.DeviceID < 0:
		return "missing disk"
	case p.Enclosure >= 0:
		return fmt.Sprintf("enclosure %d slot %d", p.Enclosure, p.Slot)
	}
	return fmt.Sprintf("slot %d", p.Slot)
}

// Battery is a RAID controller's cache battery (BBU) or CacheVault.
type Battery struct {
	// Type is "ibbu", "bbu" or "type_N".
	Type string `json:"type"`
	// Bad says it cannot protect the write cache (the firmware's failure
	// bits, or a bad state of health).
	Bad bool `json:"bad"`
	// Flags are the firmware's status bits that are set ("voltage_low",
	// "learn_cycle_failed", "replace_pack", ...).
	Flags        []string `json:"flags,omitempty"`
	VoltageMV    int      `json:"voltage_mv,omitempty"`
	TemperatureC int      `json:"temperature_c,omitempty"`
}

// ID is the controller's stable identity for history and alerts: its
// serial when known, else its name.
func (c *Controller) ID() string {
	if c.Serial != "" {
		return "ctrl:" + c.Family + ":" + idPart(c.Serial)
	}
	return "ctrl:" + c.Name
}
