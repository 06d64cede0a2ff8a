package ata

import (
	"encoding/binary"
	"fmt"
)

// SCT Command Transport (ACS-3 8.3 and 8.3.4): commands are written to
// SMART log E0h, their status read back from it. diskwatch sends only the
// Error Recovery Control command with function "return current" — never
// a set, and no other action (some SCT actions write the medium).

// LogSCT is the SCT command/status log address.
const LogSCT = 0xe0

// SCT ERC timers (selection code).
const (
	ERCRead  = 1
	ERCWrite = 2
)

// SCTERCGet is the 512-byte SCT command block that asks for the current
// read (ERCRead) or write (ERCWrite) recovery time limit: action code 3
// (Error Recovery Control), function code 2 (return current), selection
// code, little-endian words.
func SCTERCGet(selection uint16) []byte {
	b := make([]byte, SectorSize)
	binary.LittleEndian.PutUint16(b[0:], 3)
	binary.LittleEndian.PutUint16(b[2:], 2)
	binary.LittleEndian.PutUint16(b[4:], selection)
	return b
}

// SCTStatus is the part of the SCT status response (log E0h read) that
// says what the last SCT command did.
type SCTStatus struct {
	FormatVersion uint16
	// ExtStatus is the extended status code: 0 done, FFFFh a command is
	// still executing.
	ExtStatus, Action, Function uint16
}

// ParseSCTStatus decodes the SCT status response: format version (word
// 0), extended status code (bytes 14-15), action code (16-17), function
// code (18-19).
func ParseSCTStatus(b []byte) (SCTStatus, error) {
	if len(b) < SectorSize {
		return SCTStatus{}, fmt.Errorf("sct status: %d bytes: %w", len(b), ErrShort)
	}
	s := SCTStatus{FormatVersion: binary.LittleEndian.Uint16(b[0:]), ExtStatus: binary.LittleEndian.Uint16(b[14:]),
		Action: binary.LittleEndian.Uint16(b[16:]), Function: binary.LittleEndian.Uint16(b[18:])}
	if s.FormatVersion == 0 || s.FormatVersion == 0xffff {
		return s, fmt.Errorf("sct status: format version %#04x: not an SCT status", s.FormatVersion)
	}
	return s, nil
}

// ERCLimit is the recovery time limit (in 100 ms units, 0 = disabled) the
// drive returns in the COUNT (bits 7:0) and LBA (bits 15:8) output
// registers of the SCT ERC "return current" command. ok is false when the
// registers came back as they were sent (E0h/01h: a pass-through that does
// not return registers), as smartctl checks.
func ERCLimit(count uint16, lbaLow uint8) (limit uint16, ok bool) {
	if uint8(count) == 1 && lbaLow == LogSCT {
		return 0, false
	}
	return uint16(uint8(count)) | uint16(lbaLow)<<8, true
}
