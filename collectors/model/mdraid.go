package model

import (
	"strings"
	"time"
)

// Array is one Linux software RAID (md) array, from /proc/mdstat and
// /sys/block/mdN/md.
type Array struct {
	Name  string `json:"name"`            // md0
	Path  string `json:"path"`            // /dev/md0
	UUID  string `json:"uuid,omitempty"`  // 32 lower-case hex digits, no separators
	Level string `json:"level,omitempty"` // raid1, raid5, linear, ...
	// Metadata is the superblock format, e.g. "1.2", "0.90", "external:imsm".
	Metadata string `json:"metadata,omitempty"`
	// Activity is /proc/mdstat's state: active, inactive, recovering,
	// resyncing, checking, reshaping, ...
	Activity string `json:"activity"`
	// ArrayState is sysfs md/array_state (clear, inactive, suspended,
	// readonly, read-auto, clean, active, write-pending, active-idle,
	// broken), "" when sysfs is not readable.
	ArrayState string `json:"array_state,omitempty"`
	ReadOnly   bool   `json:"read_only"`

	DisksTotal  int `json:"disks_total"`  // raid slots the array should have
	DisksActive int `json:"disks_active"` // slots in sync
	DisksFailed int `json:"disks_failed"` // members marked (F)
	DisksDown   int `json:"disks_down"`   // missing slots ("_" in [U_])
	DisksSpare  int `json:"disks_spare"`
	// Degraded is sysfs md/degraded (missing slots), -1 when unknown.
	Degraded int `json:"degraded"`

	// SyncAction is sysfs md/sync_action (idle, resync, recover, check,
	// repair, reshape, frozen), or derived from mdstat.
	SyncAction string `json:"sync_action,omitempty"`
	// SyncPending is "DELAYED" or "PENDING" when a resync waits.
	SyncPending string `json:"sync_pending,omitempty"`
	// SyncPercent, SyncSpeedKiBs and SyncETA describe a running
	// resync/recovery/check/reshape.
	SyncPercent   float64       `json:"sync_percent,omitempty"`
	SyncSpeedKiBs float64       `json:"sync_speed_kib_s,omitempty"`
	SyncETA       time.Duration `json:"sync_eta_ns,omitempty"`
	// LastSyncAction is sysfs md/last_sync_action.
	LastSyncAction string `json:"last_sync_action,omitempty"`
	// MismatchCount is sysfs md/mismatch_cnt (sectors), -1 when unknown.
	MismatchCount int64 `json:"mismatch_cnt"`
	SizeBytes     int64 `json:"size_bytes,omitempty"`

	Members []Member `json:"members"`
	// Candidates are block devices that carry this array's superblock UUID
	// but are not members: a disk re-attached and never re-added.
	Candidates []string `json:"candidates,omitempty"`
	// MountPoints where the array is mounted (for / and /boot checks).
	MountPoints []string `json:"mount_points,omitempty"`
	// Boot describes, for arrays holding / or /boot, whether each member
	// disk can boot.
	Boot []BootInfo `json:"boot,omitempty"`
}

// Member is one component device of an array.
type Member struct {
	Name string `json:"name"` // sdb1
	// Disk is the whole disk holding the member (sdb for sdb1).
	Disk string `json:"disk,omitempty"`
	// Index is the descriptor index in brackets in /proc/mdstat.
	Index int `json:"index"`
	// Slot is sysfs dev-X/slot: the raid slot, -1 for none (spare/faulty).
	Slot        int  `json:"slot"`
	Faulty      bool `json:"faulty"`
	Spare       bool `json:"spare"`
	Replacement bool `json:"replacement,omitempty"`
	// Detached: a faulty member whose block device is gone from the
	// system (unplugged, deleted); md keeps its entry until
	// `mdadm MD --remove detached`, and /dev/NAME no longer exists.
	Detached    bool `json:"detached,omitempty"`
	WriteMostly bool `json:"write_mostly,omitempty"`
	// State is sysfs dev-X/state split on commas (in_sync, faulty,
	// write_error, want_replacement, blocked, spare, ...).
	State []string `json:"state,omitempty"`
	// Errors is sysfs dev-X/errors (corrected read errors), -1 unknown.
	Errors int64 `json:"errors"`
	// BadBlocks is the number of entries in sysfs dev-X/bad_blocks plus
	// unacknowledged_bad_blocks, -1 unknown.
	BadBlocks int64 `json:"bad_blocks"`
	// BadSectors is the total sectors in those entries.
	BadSectors int64 `json:"bad_sectors,omitempty"`
	// CommandTimeoutS is the kernel's SCSI command timeout of the member's
	// disk (/sys/block/DISK/device/timeout), 0 when unknown.
	CommandTimeoutS int `json:"command_timeout_s,omitempty"`
}

// HasState reports whether the member's sysfs state includes s.
func (m Member) HasState(s string) bool {
	for _, x := range m.State {
		if x == s {
			return true
		}
	}
	return false
}

// BootInfo says whether one member disk of a / or /boot array can boot.
type BootInfo struct {
	Disk string `json:"disk"`
	// BIOS: boot code present in the MBR (bytes 0-439 not all zero).
	BIOS bool `json:"bios"`
	// EFI: an EFI system partition exists on the disk.
	EFI bool `json:"efi"`
	// Error when the disk could not be read.
	Error string `json:"error,omitempty"`
	// Skipped is the disk's power mode when the standby policy left it
	// unread ("standby"): nothing is known about its boot code.
	Skipped string `json:"skipped,omitempty"`

	// Firmware is how this host boots, which decides the check that
	// applies: "uefi" (/sys/firmware/efi exists) or "bios". Empty in
	// snapshots from before it was recorded.
	Firmware string `json:"firmware,omitempty"`
	// GRUB: the MBR's boot code is GRUB's boot.img (its "GRUB " message),
	// which needs core.img; other boot loaders' MBR code is not judged.
	GRUB bool `json:"grub,omitempty"`
	// GPT: the disk has a GPT partition table.
	GPT bool `json:"gpt,omitempty"`
	// BIOSBootPartition: a GPT BIOS boot partition (type
	// 21686148-6449-6E6F-744E-656564454649) exists.
	BIOSBootPartition bool `json:"bios_boot_partition,omitempty"`
	// CoreImg: GRUB's core.img (its diskboot first sector) sits where the
	// BIOS boot code loads it from: the start of the BIOS boot partition
	// (GPT), or the gap between the MBR and the first partition (MBR).
	CoreImg bool `json:"core_img,omitempty"`
	// ESPPartition is the number of the disk's EFI system partition, 0 when
	// it has none.
	ESPPartition int `json:"esp_partition,omitempty"`
	// Loaders are the \EFI\<dir>\**\*.efi files of the ESP's FAT file
	// system (read under UEFI only), sorted by path as named on the ESP.
	Loaders []EFIFile `json:"loaders,omitempty"`
	// ESPError says why the ESP's file system could not be read.
	ESPError string `json:"esp_error,omitempty"`
	// ESPPartUUID is the ESP's GPT partition GUID (upper case).
	ESPPartUUID string `json:"esp_partuuid,omitempty"`
	// BootEntries are the firmware's Boot#### variables (efivars) whose
	// device path names the ESP's partition GUID ("Boot0003").
	BootEntries []string `json:"boot_entries,omitempty"`
	// NoBootEntry: the firmware's boot entries were read and none names
	// this disk's ESP.
	NoBootEntry bool `json:"no_boot_entry,omitempty"`
}

// EFIFile is one boot loader on an EFI system partition.
type EFIFile struct {
	Path   string `json:"path"` // "EFI/debian/shimx64.efi", as named on the ESP
	Size   int64  `json:"size_bytes"`
	SHA256 string `json:"sha256"`
}

// ID is the array's stable identity for history and alerts: its UUID
// ("md:uuid:0a1b..."), which survives the kernel naming it md0 on one boot
// and md127 on the next; the kernel name when the UUID is unknown.
func (a *Array) ID() string {
	if a.UUID != "" {
		return "md:uuid:" + idPart(strings.ToLower(a.UUID))
	}
	return a.Name
}

// LegacyIDs are the identities the array had before it was keyed by
// UUID: its kernel name.
func (a *Array) LegacyIDs() []string {
	if a.UUID == "" {
		return nil
	}
	return []string{a.Name}
}

// Samples returns the array's numeric readings, keyed by ID.
func (a *Array) Samples() []Sample {
	b := func(v bool) float64 {
		if v {
			return 1
		}
		return 0
	}
	id := a.ID()
	s := []Sample{
		{id, "md_disks_total", float64(a.DisksTotal)},
		{id, "md_disks_active", float64(a.DisksActive)},
		{id, "md_disks_failed", float64(a.DisksFailed)},
		{id, "md_disks_down", float64(a.DisksDown)},
		{id, "md_disks_spare", float64(a.DisksSpare)},
		{id, "md_degraded", b(a.DisksDown > 0 || a.DisksFailed > 0 || a.Degraded > 0)},
		{id, "md_active", b(a.Activity != "inactive")},
		{id, "md_sync_percent", a.SyncPercent},
	}
	if a.MismatchCount >= 0 {
		s = append(s, Sample{id, "md_mismatch_cnt", float64(a.MismatchCount)})
	}
	if a.SyncSpeedKiBs > 0 {
		// A resync, check or rebuild's speed: what the next rebuild can expect.
		s = append(s, Sample{id, MetricMDSyncSpeed, a.SyncSpeedKiBs})
	}
	return s
}

// ConfArray is one ARRAY line of mdadm.conf: an array the administrator
// expects to be assembled.
type ConfArray struct {
	// Device is the array's device as written (/dev/md0, /dev/md/root), ""
	// when the line names none.
	Device string `json:"device,omitempty"`
	// UUID is 32 lower-case hex digits, "" when not given.
	UUID  string `json:"uuid,omitempty"`
	Name  string `json:"name,omitempty"`
	Level string `json:"level,omitempty"`
	// Spares is spares=N, -1 when not given.
	Spares int `json:"spares"`
	// External is set for container arrays and their members (IMSM, DDF):
	// they are assembled differently and not judged here.
	External bool `json:"external,omitempty"`
	// Line is the line number in the file, for messages.
	Line int `json:"line"`
	// Kernel is the kernel name a /dev/md/NAME device links to (md127),
	// when the link exists.
	Kernel string `json:"kernel,omitempty"`
}

// MetricMDSyncSpeed is the speed of a running resync, check or rebuild
// (KiB/s), written only while one runs.
const MetricMDSyncSpeed = "md_sync_speed_kib_s"
