// Package nvme decodes the NVMe admin data diskwatch reads: Identify
// Controller, Identify Namespace, the SMART / Health Information log (log
// page 02h), the error information log (01h) and the device self-test log
// (06h). Layouts follow the NVM Express Base Specification 2.0. Pure
// functions: bytes in, values out.
package nvme

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strings"

	"github.com/diskwatch/diskwatch/collectors/model"
)

// Sizes of the structures.
const (
	IdentifySize   = 4096
	SMARTLogSize   = 512
	ErrorEntrySize = 64
	SelfTestSize   = 564
)

// ErrShort is returned for a buffer smaller than the structure.
var ErrShort = errors.New("nvme: buffer too short")

// Controller is the decoded Identify Controller data structure (CNS 01h).
type Controller struct {
	VendorID, SubsystemVendorID uint16
	Serial, Model, Firmware     string
	IEEEOUI                     uint32
	ControllerID                uint16
	Version                     uint32 // VER: major<<16 | minor<<8 | tertiary
	// OACS bit 4: Device Self-test command supported.
	SelfTestSupported bool
	// ErrorLogEntries is ELPE+1, the error log entries kept.
	ErrorLogEntries int
	// WarningTempK / CriticalTempK are WCTEMP / CCTEMP in kelvin (0 = not
	// reported).
	WarningTempK, CriticalTempK int
	TotalCapacity               Uint128 // TNVMCAP in bytes
	Namespaces                  uint32  // NN
}

// ParseIdentifyController decodes 4096 bytes of Identify Controller data.
func ParseIdentifyController(b []byte) (*Controller, error) {
	if len(b) < IdentifySize {
		return nil, fmt.Errorf("identify controller: %d bytes: %w", len(b), ErrShort)
	}
	le16 := func(o int) uint16 { return binary.LittleEndian.Uint16(b[o:]) }
	c := &Controller{
		VendorID:          le16(0),
		SubsystemVendorID: le16(2),
		Serial:            trim(b[4:24]),
		Model:             trim(b[24:64]),
		Firmware:          trim(b[64:72]),
		IEEEOUI:           uint32(b[73]) | uint32(b[74])<<8 | uint32(b[75])<<16,
		ControllerID:      le16(78),
		Version:           binary.LittleEndian.Uint32(b[80:]),
		SelfTestSupported: le16(256)&(1<<4) != 0,
		ErrorLogEntries:   int(b[262]) + 1,
		WarningTempK:      int(le16(266)),
		CriticalTempK:     int(le16(268)),
		TotalCapacity:     u128(b[280:296]),
		Namespaces:        binary.LittleEndian.Uint32(b[516:]),
	}
	return c, nil
}

// KelvinToC converts an NVMe kelvin reading to Celsius the way smartctl
// does (273, not 273.15).
func KelvinToC(k int) int { return k - 273 }

func trim(b []byte) string { return strings.TrimRight(string(b), " \x00") }

// Namespace is what diskwatch needs from Identify Namespace (CNS 00h).
type Namespace struct {
	Size, Capacity, Utilization uint64 // NSZE, NCAP, NUSE in logical blocks
	LBASize                     uint32 // bytes per logical block of the format in use
	EUI64                       uint64
	NGUID                       [16]byte
}

// ParseIdentifyNamespace decodes 4096 bytes of Identify Namespace data.
func ParseIdentifyNamespace(b []byte) (*Namespace, error) {
	if len(b) < IdentifySize {
		return nil, fmt.Errorf("identify namespace: %d bytes: %w", len(b), ErrShort)
	}
	ns := &Namespace{
		Size:        binary.LittleEndian.Uint64(b[0:]),
		Capacity:    binary.LittleEndian.Uint64(b[8:]),
		Utilization: binary.LittleEndian.Uint64(b[16:]),
		EUI64:       binary.BigEndian.Uint64(b[120:]),
	}
	copy(ns.NGUID[:], b[104:120])
	// FLBAS bits 3:0 (and 6:5 for formats above 16) index the LBA format
	// table at byte 128; LBADS (bits 23:16) is log2 of the block size.
	idx := int(b[26]&0x0f) | int(b[26]>>5&0x3)<<4
	if idx > 63 {
		return ns, fmt.Errorf("identify namespace: LBA format index %d", idx)
	}
	lbads := b[128+4*idx+2]
	if lbads < 9 || lbads > 31 {
		return ns, fmt.Errorf("identify namespace: LBA data size 2^%d", lbads)
	}
	ns.LBASize = 1 << lbads
	return ns, nil
}

// Bytes is the namespace size in bytes (saturating).
func (ns *Namespace) Bytes() int64 {
	if ns.LBASize == 0 || ns.Size > math.MaxInt64/uint64(ns.LBASize) {
		return 0
	}
	return int64(ns.Size * uint64(ns.LBASize))
}

// Uint128 is an NVMe 128-bit little-endian counter.
type Uint128 struct{ Hi, Lo uint64 }

func u128(b []byte) Uint128 {
	return Uint128{Lo: binary.LittleEndian.Uint64(b), Hi: binary.LittleEndian.Uint64(b[8:])}
}

// Uint64 returns the value, saturated at the largest uint64 when the high
// half is set.
func (u Uint128) Uint64() uint64 {
	if u.Hi != 0 {
		return math.MaxUint64
	}
	return u.Lo
}

// String renders the full decimal value.
func (u Uint128) String() string {
	v := new(big.Int).SetUint64(u.Hi)
	v.Lsh(v, 64)
	v.Or(v, new(big.Int).SetUint64(u.Lo))
	return v.String()
}

// Critical warning bits of the SMART / Health log, byte 0.
const (
	WarnSpare        = 1 << 0 // available spare below threshold
	WarnTemperature  = 1 << 1 // temperature above/below a threshold
	WarnReliability  = 1 << 2 // NVM subsystem reliability degraded
	WarnReadOnly     = 1 << 3 // media placed in read-only mode
	WarnVolatileMem  = 1 << 4 // volatile memory backup failed
	WarnPersistentMR = 1 << 5 // persistent memory region read-only
)

// CriticalWarningNames names each set bit of a critical warning byte.
func CriticalWarningNames(w int) []string {
	names := []string{
		"available spare below threshold", "temperature outside a threshold",
		"NVM subsystem reliability degraded", "media placed in read-only mode",
		"volatile memory backup device failed", "persistent memory region read-only",
	}
	var out []string
	for i, n := range names {
		if w&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	for i := len(names); i < 8; i++ {
		if w&(1<<i) != 0 {
			out = append(out, fmt.Sprintf("reserved bit %d", i))
		}
	}
	return out
}

// Health is the decoded SMART / Health Information log page (02h).
type Health struct {
	CriticalWarning         int
	CompositeTempK          int
	AvailableSpare          int
	AvailableSpareThreshold int
	PercentageUsed          int
	EnduranceCritWarning    int
	DataUnitsRead           Uint128
	DataUnitsWritten        Uint128
	HostReadCommands        Uint128
	HostWriteCommands       Uint128
	ControllerBusyTime      Uint128
	PowerCycles             Uint128
	PowerOnHours            Uint128
	UnsafeShutdowns         Uint128
	MediaErrors             Uint128
	NumErrLogEntries        Uint128
	WarningTempTime         uint32 // minutes above WCTEMP
	CriticalCompTime        uint32 // minutes above CCTEMP
	// SensorsK are temperature sensors 1-8 in kelvin (0 = not present).
	SensorsK [8]int
}

// ParseHealth decodes the 512-byte SMART / Health Information log page.
func ParseHealth(b []byte) (*Health, error) {
	if len(b) < SMARTLogSize {
		return nil, fmt.Errorf("smart/health log: %d bytes: %w", len(b), ErrShort)
	}
	h := &Health{
		CriticalWarning:         int(b[0]),
		CompositeTempK:          int(binary.LittleEndian.Uint16(b[1:])),
		AvailableSpare:          int(b[3]),
		AvailableSpareThreshold: int(b[4]),
		PercentageUsed:          int(b[5]),
		EnduranceCritWarning:    int(b[6]),
		DataUnitsRead:           u128(b[32:]),
		DataUnitsWritten:        u128(b[48:]),
		HostReadCommands:        u128(b[64:]),
		HostWriteCommands:       u128(b[80:]),
		ControllerBusyTime:      u128(b[96:]),
		PowerCycles:             u128(b[112:]),
		PowerOnHours:            u128(b[128:]),
		UnsafeShutdowns:         u128(b[144:]),
		MediaErrors:             u128(b[160:]),
		NumErrLogEntries:        u128(b[176:]),
		WarningTempTime:         binary.LittleEndian.Uint32(b[192:]),
		CriticalCompTime:        binary.LittleEndian.Uint32(b[196:]),
	}
	for i := range h.SensorsK {
		h.SensorsK[i] = int(binary.LittleEndian.Uint16(b[200+2*i:]))
	}
	return h, nil
}

// Model converts the health log into the normalized record's section.
func (h *Health) Model() *model.NVMeHealth {
	return &model.NVMeHealth{
		CriticalWarning:         h.CriticalWarning,
		TemperatureC:            float64(KelvinToC(h.CompositeTempK)),
		AvailableSpare:          h.AvailableSpare,
		AvailableSpareThreshold: h.AvailableSpareThreshold,
		PercentageUsed:          h.PercentageUsed,
		DataUnitsRead:           h.DataUnitsRead.Uint64(),
		DataUnitsWritten:        h.DataUnitsWritten.Uint64(),
		PowerOnHours:            h.PowerOnHours.Uint64(),
		PowerCycles:             h.PowerCycles.Uint64(),
		UnsafeShutdowns:         h.UnsafeShutdowns.Uint64(),
		MediaErrors:             h.MediaErrors.Uint64(),
		NumErrLogEntries:        h.NumErrLogEntries.Uint64(),
	}
}

// ErrorEntry is one entry of the error information log (01h).
type ErrorEntry struct {
	ErrorCount   uint64
	SQID, CmdID  uint16
	Status       uint16 // status field (bits 15:1 of the completion DW3)
	LBA          uint64
	NSID         uint32
	ParamErrLocn uint16
}

// ParseErrorLog decodes error information log entries; entries with an
// error count of 0 are empty and left out.
func ParseErrorLog(b []byte) ([]ErrorEntry, error) {
	if len(b)%ErrorEntrySize != 0 || len(b) == 0 {
		return nil, fmt.Errorf("error log: %d bytes is not a multiple of %d", len(b), ErrorEntrySize)
	}
	var out []ErrorEntry
	for o := 0; o+ErrorEntrySize <= len(b); o += ErrorEntrySize {
		e := b[o:]
		n := binary.LittleEndian.Uint64(e)
		if n == 0 {
			continue
		}
		out = append(out, ErrorEntry{
			ErrorCount:   n,
			SQID:         binary.LittleEndian.Uint16(e[8:]),
			CmdID:        binary.LittleEndian.Uint16(e[10:]),
			Status:       binary.LittleEndian.Uint16(e[12:]) >> 1,
			ParamErrLocn: binary.LittleEndian.Uint16(e[14:]),
			LBA:          binary.LittleEndian.Uint64(e[16:]),
			NSID:         binary.LittleEndian.Uint32(e[24:]),
		})
	}
	return out, nil
}

// selfTestResult names the result (bits 3:0 of byte 0 of an entry).
func selfTestResult(r uint8) string {
	switch r {
	case 0:
		return "Completed without error"
	case 1:
		return "Aborted: Self-test command"
	case 2:
		return "Aborted: Controller Reset"
	case 3:
		return "Aborted: Namespace removed"
	case 4:
		return "Aborted: Format NVM command"
	case 5:
		return "Fatal or unknown test error"
	case 6:
		return "Completed: unknown failed segment"
	case 7:
		return "Completed: failed segments"
	case 8:
		return "Aborted: unknown reason"
	case 9:
		return "Aborted: sanitize operation"
	}
	return fmt.Sprintf("Unknown result (0x%x)", r)
}

// SelfTestFailed reports whether a result code means a fault was found.
func SelfTestFailed(r uint8) bool { return r >= 5 && r <= 7 }

// ParseSelfTestLog decodes the 564-byte device self-test log (06h):
// current operation (byte 0), completion (byte 1) and 20 result entries of
// 28 bytes, newest first. Unused entries (result Fh) are left out.
func ParseSelfTestLog(b []byte) (*model.SelfTestLog, error) {
	if len(b) < SelfTestSize {
		return nil, fmt.Errorf("self-test log: %d bytes: %w", len(b), ErrShort)
	}
	log := &model.SelfTestLog{}
	if op := b[0] & 0x0f; op != 0 {
		log.Running = true
		log.RemainingPercent = 100 - int(b[1]&0x7f)
	}
	for i := 0; i < 20; i++ {
		e := b[4+28*i : 4+28*(i+1)]
		res := e[0] & 0x0f
		if res == 0x0f {
			continue
		}
		typ := "vendor"
		switch e[0] >> 4 {
		case 1:
			typ = "short"
		case 2:
			typ = "long"
		case 0xe:
			typ = "vendor"
		}
		entry := model.SelfTestEntry{
			Type:         typ,
			Status:       selfTestResult(res),
			Passed:       res == 0,
			Failed:       SelfTestFailed(res),
			LifetimeHour: int64(binary.LittleEndian.Uint64(e[4:]) & math.MaxInt64),
		}
		if SelfTestFailed(res) && e[2]&0x02 != 0 { // FLBA valid
			lba := int64(binary.LittleEndian.Uint64(e[16:]) & math.MaxInt64)
			entry.FailingLBA = &lba
		}
		log.Entries = append(log.Entries, entry)
	}
	return log, nil
}
