package hwraid

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// MegaRAID controller state as the MFI firmware reports it through DCMDs.
// Layouts from the MFI headers published with the Linux megaraid_sas
// driver (megaraid_sas.h: MR_PD_INFO, MR_LD_LIST, MR_CONFIG_DATA) and the
// BSD mfi drivers (mfireg.h: mfi_pd_info, mfi_ld_list, mfi_config_data,
// mfi_bbu_status), which QEMU's megasas emulation also follows.

// Sizes of the DCMD replies diskwatch asks for.
const (
	pdInfoSize = 512
	// ldListSize holds 64 logical drives (MFI_MAX_LD), what every MFI
	// firmware accepts; QEMU refuses a longer buffer.
	ldListSize    = 8 + 64*16
	ldListEntry   = 16
	bbuStatusSize = 64
	// cfgReadSize is enough for the configuration of a large controller
	// (a 4 KiB first read; a longer one is read again at its size).
	cfgReadSize   = 4096
	cfgHeaderSize = 32
	cfgArraySize  = 32 + 32*8
	cfgLDSize     = 256
	cfgMaxRow     = 32
)

// PD firmware states (MR_PD_STATE).
const (
	PDStateUnconfiguredGood = 0x00
	PDStateUnconfiguredBad  = 0x01
	PDStateHotSpare         = 0x02
	PDStateOffline          = 0x10
	PDStateFailed           = 0x11
	PDStateRebuild          = 0x14
	PDStateOnline           = 0x18
	PDStateCopyback         = 0x20
	PDStateSystem           = 0x40
)

// PDStateName names a PD firmware state as storcli does (lower case).
func PDStateName(s uint16) string {
	switch s {
	case PDStateUnconfiguredGood:
		return "unconfigured_good"
	case PDStateUnconfiguredBad:
		return "unconfigured_bad"
	case PDStateHotSpare:
		return "hot_spare"
	case PDStateOffline:
		return "offline"
	case PDStateFailed:
		return "failed"
	case PDStateRebuild:
		return "rebuild"
	case PDStateOnline:
		return "online"
	case PDStateCopyback:
		return "copyback"
	case PDStateSystem:
		return "jbod"
	}
	return fmt.Sprintf("state_0x%02x", s)
}

// LD states (MR_LD_STATE).
const (
	LDStateOffline           = 0
	LDStatePartiallyDegraded = 1
	LDStateDegraded          = 2
	LDStateOptimal           = 3
)

// LDStateName names a logical drive state.
func LDStateName(s uint8) string {
	switch s {
	case LDStateOffline:
		return "offline"
	case LDStatePartiallyDegraded:
		return "partially_degraded"
	case LDStateDegraded:
		return "degraded"
	case LDStateOptimal:
		return "optimal"
	}
	return fmt.Sprintf("state_%d", s)
}

// PDInfo is the part of MR_PD_INFO diskwatch uses.
type PDInfo struct {
	DeviceID uint16
	// Inquiry is the standard INQUIRY data the firmware got from the disk
	// (96 bytes); VPD83 its device identification page (first 64 bytes).
	Inquiry, VPD83 []byte
	SCSIDevType    uint8
	MediaErrors    uint32
	OtherErrors    uint32
	PredFailures   uint32
	FWState        uint16
	// DDFType is the interface and role bits (0x2000 SAS, 0x4000/0x8000
	// SATA).
	DDFType      uint16
	RawSize      uint64 // in 512-byte blocks
	EnclDeviceID uint16
	Slot         uint8
	// Rebuilding is set while a rebuild runs; RebuildPercent is its
	// progress.
	Rebuilding     bool
	RebuildPercent float64
}

// ParsePDInfo decodes a PD GET INFO reply.
func ParsePDInfo(b []byte) (PDInfo, error) {
	if len(b) < 294 {
		return PDInfo{}, fmt.Errorf("MFI PD info: %d bytes, need 294", len(b))
	}
	le := binary.LittleEndian
	p := PDInfo{
		DeviceID: le.Uint16(b[0:]), Inquiry: append([]byte(nil), b[4:100]...), VPD83: append([]byte(nil), b[100:164]...),
		SCSIDevType: b[165], MediaErrors: le.Uint32(b[168:]), OtherErrors: le.Uint32(b[172:]), PredFailures: le.Uint32(b[176:]),
		FWState: le.Uint16(b[184:]), DDFType: le.Uint16(b[188:]), RawSize: le.Uint64(b[232:]),
		EnclDeviceID: le.Uint16(b[256:]), Slot: b[259],
	}
	// prog_info at 260: active bits, then rebuild {progress, elapsed}.
	if le.Uint32(b[260:])&1 != 0 {
		p.Rebuilding = true
		p.RebuildPercent = float64(le.Uint16(b[264:])) * 100 / 0xffff
	}
	return p, nil
}

// SATA reports whether the disk is a SATA disk: its INQUIRY vendor is
// "ATA" (the controller's SAT layer answers for it) or the DDF type says
// SATA.
func (p PDInfo) SATA() bool {
	if len(p.Inquiry) >= 16 && string(bytes.TrimSpace(p.Inquiry[8:16])) == "ATA" {
		return true
	}
	return p.DDFType&0xc000 != 0
}

// HasVPD83 reports whether the firmware returned a device identification
// page for the disk (not all zero, not QEMU's 0x7f "not filled").
func (p PDInfo) HasVPD83() bool {
	return len(p.VPD83) >= 4 && p.VPD83[1] == 0x83 && !bytes.Equal(p.VPD83[4:], make([]byte, len(p.VPD83)-4))
}

// LD is one logical drive of MR_LD_LIST.
type LD struct {
	TargetID uint8
	State    uint8
	Size     uint64 // in 512-byte blocks
}

// ParseLDList decodes an LD GET LIST reply.
func ParseLDList(b []byte) ([]LD, error) {
	if len(b) < 8 {
		return nil, fmt.Errorf("MFI LD list: %d bytes, need at least 8", len(b))
	}
	le := binary.LittleEndian
	n := le.Uint32(b[0:])
	if uint64(n)*ldListEntry+8 > uint64(len(b)) {
		return nil, fmt.Errorf("MFI LD list: %d entries do not fit %d bytes", n, len(b))
	}
	out := make([]LD, 0, n)
	for i := 0; i < int(n); i++ {
		e := b[8+i*ldListEntry:]
		out = append(out, LD{TargetID: e[0], State: e[4], Size: le.Uint64(e[8:])})
	}
	return out, nil
}

// CfgArrayMember is one row of an array in the configuration.
type CfgArrayMember struct {
	DeviceID uint16 // 0xffff: the row has no disk (missing)
	FWState  uint16
	Encl     uint8
	Slot     uint8
}

// CfgArray is one array (disk group) of the configuration.
type CfgArray struct {
	Ref     uint16
	Members []CfgArrayMember
}

// CfgLD is one logical drive of the configuration.
type CfgLD struct {
	TargetID  uint8
	Name      string
	RAIDLevel uint8
	State     uint8
	NumDrives uint8
	// Arrays are the array refs of its spans.
	Arrays []uint16
}

// Config is MR_CONFIG_DATA: arrays and logical drives.
type Config struct {
	Arrays []CfgArray
	LDs    []CfgLD
}

// ParseConfig decodes a CFG READ reply. size is the reply's own size
// field, for a caller that must read again with a longer buffer.
func ParseConfig(b []byte) (Config, uint32, error) {
	if len(b) < cfgHeaderSize {
		return Config{}, 0, fmt.Errorf("MFI config: %d bytes, need %d", len(b), cfgHeaderSize)
	}
	le := binary.LittleEndian
	size := le.Uint32(b[0:])
	na, asz := int(le.Uint16(b[4:])), int(le.Uint16(b[6:]))
	nl, lsz := int(le.Uint16(b[8:])), int(le.Uint16(b[10:]))
	// array_size / log_drv_size are the sizes of one entry on most
	// firmware and of all entries on some (QEMU); either way an entry is
	// cfgArraySize / cfgLDSize bytes.
	_, _ = asz, lsz
	need := cfgHeaderSize + na*cfgArraySize + nl*cfgLDSize
	if int(size) > len(b) || need > len(b) {
		return Config{}, size, fmt.Errorf("MFI config: %d arrays and %d logical drives need %d bytes, have %d (size field %d)", na, nl, need, len(b), size)
	}
	var c Config
	off := cfgHeaderSize
	for i := 0; i < na; i++ {
		a := b[off:]
		ar := CfgArray{Ref: le.Uint16(a[10:])}
		nd := int(a[8])
		if nd > cfgMaxRow {
			return Config{}, size, fmt.Errorf("MFI config: array %d has %d drives (max %d)", ar.Ref, nd, cfgMaxRow)
		}
		for j := 0; j < nd; j++ {
			m := a[32+j*8:]
			ar.Members = append(ar.Members, CfgArrayMember{DeviceID: le.Uint16(m[0:]), FWState: le.Uint16(m[4:]), Encl: m[6], Slot: m[7]})
		}
		c.Arrays = append(c.Arrays, ar)
		off += cfgArraySize
	}
	for i := 0; i < nl; i++ {
		l := b[off:]
		ld := CfgLD{TargetID: l[0], Name: string(bytes.TrimRight(l[4:20], "\x00 ")), RAIDLevel: l[32], NumDrives: l[36], State: l[38]}
		depth := int(l[37])
		if depth > 8 {
			depth = 8
		}
		for j := 0; j < depth; j++ {
			ld.Arrays = append(ld.Arrays, le.Uint16(l[64+j*24+16:]))
		}
		c.LDs = append(c.LDs, ld)
		off += cfgLDSize
	}
	return c, size, nil
}

// BBU battery types (mfi_bbu_status.battery_type).
const (
	BBUTypeNone = 0
	BBUTypeIBBU = 1
	BBUTypeBBU  = 2
)

// BBU status bits (mfi_bbu_status.fw_status).
var bbuFlagNames = []string{"pack_missing", "voltage_low", "temperature_high", "charging", "discharging",
	"learn_cycle_requested", "learn_cycle_active", "learn_cycle_failed", "learn_cycle_timeout", "i2c_errors",
	"replace_pack", "capacity_low", "learn_required"}

// bbuBad are the status bits that mean the battery (or CacheVault) cannot
// protect the write cache: PACK_MISSING, VOLTAGE_LOW, TEMPERATURE_HIGH,
// LEARN_CYC_FAIL, LEARN_CYC_TIMEOUT, I2C_ERR_DETECT, REPLACE_PACK,
// CAPACITY_LOW.
const bbuBad = 1<<0 | 1<<1 | 1<<2 | 1<<7 | 1<<8 | 1<<9 | 1<<10 | 1<<11

// BBUStatus is mfi_bbu_status.
type BBUStatus struct {
	Type         uint8
	VoltageMV    uint16
	CurrentMA    int16
	TemperatureC uint16
	FWStatus     uint32
	// SOHGood is the state-of-health bit of a type-2 (BBU) pack.
	SOHGood bool
	// RelativeCharge is the charge in percent (iBBU/BBU gas gauge).
	RelativeCharge uint16
}

// ParseBBUStatus decodes a BBU STATUS reply.
func ParseBBUStatus(b []byte) (BBUStatus, error) {
	if len(b) < bbuStatusSize {
		return BBUStatus{}, fmt.Errorf("MFI BBU status: %d bytes, need %d", len(b), bbuStatusSize)
	}
	le := binary.LittleEndian
	return BBUStatus{Type: b[0], VoltageMV: le.Uint16(b[2:]), CurrentMA: int16(le.Uint16(b[4:])), TemperatureC: le.Uint16(b[6:]),
		FWStatus: le.Uint32(b[8:]), RelativeCharge: le.Uint16(b[34:]), SOHGood: b[42] != 0}, nil
}

// Flags names the set status bits.
func (s BBUStatus) Flags() []string {
	var out []string
	for i, n := range bbuFlagNames {
		if s.FWStatus&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return out
}

// Present reports whether the controller has a battery or CacheVault.
func (s BBUStatus) Present() bool {
	return s.Type != BBUTypeNone && s.FWStatus&1 == 0
}

// Bad reports whether the battery or CacheVault cannot protect the write
// cache, as the BSD mfi drivers decide: a type-2 pack by its
// state-of-health bit, every other type by the failure bits of fw_status.
// A controller with no battery at all (type none) is not bad.
func (s BBUStatus) Bad() bool {
	if s.Type == BBUTypeNone {
		return false
	}
	if s.Type == BBUTypeBBU && !s.SOHGood {
		return true
	}
	return s.FWStatus&bbuBad != 0
}
