// Package ata decodes the ATA data structures diskwatch reads over SAT
// (SCSI/ATA Translation): IDENTIFY DEVICE, SMART READ DATA / READ
// THRESHOLDS, the SMART RETURN STATUS registers, the summary error log, the
// self-test log, the device statistics log (GP log 0x04) and the CHECK
// POWER MODE result. The layouts follow T13 ACS-3/ACS-4. Every function
// here is pure: bytes in, values out, no I/O.
package ata

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// SectorSize is the size of one ATA data page (IDENTIFY, SMART data, logs).
const SectorSize = 512

// ErrShort is returned for a buffer smaller than the structure it should
// hold.
var ErrShort = errors.New("ata: buffer too short")

// ErrChecksum is returned when a structure's checksum byte does not make
// the 512-byte sum zero. The decoded values are still returned with it.
var ErrChecksum = errors.New("ata: checksum mismatch")

// Identify is the decoded IDENTIFY DEVICE data.
type Identify struct {
	Model    string
	Serial   string
	Firmware string
	// WWN is the world wide name as smartctl prints it ("5 0014ee
	// 2b1234567"), empty when the device reports none.
	WWN     string
	WWNNAA  uint8
	WWNOUI  uint32
	WWNID   uint64
	Sectors uint64 // user addressable logical sectors
	// LogicalSectorSize in bytes (512 unless word 106 says otherwise).
	LogicalSectorSize uint32
	// RotationRate: 0 unknown, 1 non-rotating (SSD), else rpm.
	RotationRate    int
	SMARTSupported  bool
	SMARTEnabled    bool
	SelfTest        bool // SMART self-test supported
	ErrorLogging    bool // SMART error logging supported
	LBA48           bool
	GPLogging       bool // General Purpose Logging feature set supported
	ChecksumPresent bool // word 255 signature A5h
	// SCT Command Transport (word 206 bit 0) and its Error Recovery
	// Control command (bit 3): the drive's read/write recovery time limit.
	SCTSupported    bool
	SCTERCSupported bool
}

// Capacity returns the user capacity in bytes.
func (id *Identify) Capacity() int64 {
	ss := uint64(id.LogicalSectorSize)
	if ss == 0 {
		ss = 512
	}
	return int64(id.Sectors * ss)
}

func word(b []byte, w int) uint16 { return binary.LittleEndian.Uint16(b[2*w:]) }

// ataString decodes an ATA string: each 16-bit word holds two characters,
// the first in the high byte. Trailing spaces and NULs are trimmed.
func ataString(b []byte, first, words int) string {
	out := make([]byte, 0, 2*words)
	for w := first; w < first+words; w++ {
		v := word(b, w)
		out = append(out, byte(v>>8), byte(v))
	}
	return strings.TrimRight(strings.TrimLeft(string(out), " "), " \x00")
}

// validWord reports whether a capability word is meaningful: bit 15 clear,
// bit 14 set (ACS "words 82-87 valid" convention).
func validWord(v uint16) bool { return v&0xc000 == 0x4000 }

// ParseIdentify decodes 512 bytes of IDENTIFY DEVICE data. A bad checksum
// (when word 255 carries the A5h signature) is reported as ErrChecksum
// together with the decoded data.
func ParseIdentify(b []byte) (*Identify, error) {
	if len(b) < SectorSize {
		return nil, fmt.Errorf("identify device: %d bytes: %w", len(b), ErrShort)
	}
	b = b[:SectorSize]
	id := &Identify{
		Serial:            ataString(b, 10, 10),
		Firmware:          ataString(b, 23, 4),
		Model:             ataString(b, 27, 20),
		LogicalSectorSize: 512,
	}
	w82, w83, w84 := word(b, 82), word(b, 83), word(b, 84)
	w85, w86, w87 := word(b, 85), word(b, 86), word(b, 87)
	if w82 != 0 && w82 != 0xffff {
		id.SMARTSupported = w82&1 != 0
		id.SMARTEnabled = w85&1 != 0
	}
	if validWord(w83) {
		id.LBA48 = w83&(1<<10) != 0
	}
	if validWord(w84) {
		id.ErrorLogging = w84&1 != 0
		id.SelfTest = w84&2 != 0
		id.GPLogging = w84&(1<<5) != 0
	} else if validWord(w87) {
		id.ErrorLogging = w87&1 != 0
		id.SelfTest = w87&2 != 0
		id.GPLogging = w87&(1<<5) != 0
	}
	_ = w86
	if w206 := word(b, 206); validWord(w206) {
		id.SCTSupported = w206&1 != 0
		id.SCTERCSupported = id.SCTSupported && w206&(1<<3) != 0
	}
	// Capacity: 48-bit count when the feature set is supported, else the
	// 28-bit count in words 60-61.
	lba28 := uint64(word(b, 60)) | uint64(word(b, 61))<<16
	id.Sectors = lba28
	if id.LBA48 {
		v := uint64(word(b, 100)) | uint64(word(b, 101))<<16 | uint64(word(b, 102))<<32 | uint64(word(b, 103))<<48
		if v > 0 {
			id.Sectors = v
		}
	}
	if w106 := word(b, 106); validWord(w106) && w106&(1<<12) != 0 {
		words := uint32(word(b, 117)) | uint32(word(b, 118))<<16
		if words >= 256 {
			id.LogicalSectorSize = 2 * words
		}
	}
	// WWN, words 108-111, when word 84/87 bit 8 says it is there.
	if (validWord(w84) && w84&(1<<8) != 0) || (validWord(w87) && w87&(1<<8) != 0) {
		w108, w109, w110, w111 := word(b, 108), word(b, 109), word(b, 110), word(b, 111)
		if w108|w109|w110|w111 != 0 {
			id.WWNNAA = uint8(w108 >> 12)
			id.WWNOUI = uint32(w108&0x0fff)<<12 | uint32(w109>>4)
			id.WWNID = uint64(w109&0xf)<<32 | uint64(w110)<<16 | uint64(w111)
			id.WWN = fmt.Sprintf("%x %06x %09x", id.WWNNAA, id.WWNOUI, id.WWNID)
		}
	}
	switch r := word(b, 217); {
	case r == 1:
		id.RotationRate = 1
	case r >= 0x0401 && r <= 0xfffe:
		id.RotationRate = int(r)
	}
	if b[510] == 0xa5 {
		id.ChecksumPresent = true
		if !checksumOK(b) {
			return id, fmt.Errorf("identify device: %w", ErrChecksum)
		}
	}
	return id, nil
}

// checksumOK reports whether the 512 bytes sum to zero modulo 256.
func checksumOK(b []byte) bool {
	var s byte
	for _, c := range b[:SectorSize] {
		s += c
	}
	return s == 0
}

// Power modes as CHECK POWER MODE reports them, normalized to the words
// model.Disk.PowerMode uses.
const (
	PowerActive  = "active"
	PowerIdle    = "idle"
	PowerStandby = "standby"
	PowerSleep   = "sleep"
	PowerUnknown = "unknown"
)

// PowerMode maps the COUNT field returned by CHECK POWER MODE (E5h) to a
// power mode name, and to the detail smartctl prints.
func PowerMode(count uint8) (mode, detail string) {
	switch count {
	case 0x00:
		return PowerStandby, "STANDBY"
	case 0x01:
		return PowerStandby, "STANDBY_Y"
	case 0x40:
		return PowerActive, "NV_CACHE_SPUN_DOWN"
	case 0x41:
		return PowerActive, "NV_CACHE_SPUN_UP"
	case 0x80:
		return PowerIdle, "IDLE"
	case 0x81:
		return PowerIdle, "IDLE_A"
	case 0x82:
		return PowerIdle, "IDLE_B"
	case 0x83:
		return PowerIdle, "IDLE_C"
	case 0xff:
		return PowerActive, "ACTIVE or IDLE"
	}
	return PowerUnknown, fmt.Sprintf("0x%02x", count)
}

// SMART RETURN STATUS register signatures (LBA mid / LBA high).
const (
	statusGoodMid, statusGoodHigh = 0x4f, 0xc2
	statusBadMid, statusBadHigh   = 0xf4, 0x2c
)

// ReturnStatus interprets the LBA mid/high registers returned by SMART
// RETURN STATUS: passed is true for 4Fh/C2h, false for F4h/2Ch; any other
// pair is an error (the bridge did not return the registers).
func ReturnStatus(lbaMid, lbaHigh uint8) (passed bool, err error) {
	switch {
	case lbaMid == statusGoodMid && lbaHigh == statusGoodHigh:
		return true, nil
	case lbaMid == statusBadMid && lbaHigh == statusBadHigh:
		return false, nil
	}
	return false, fmt.Errorf("smart return status: unexpected registers lba mid 0x%02x lba high 0x%02x", lbaMid, lbaHigh)
}
