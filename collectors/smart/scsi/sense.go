package scsi

import (
	"encoding/binary"
	"fmt"
)

// Sense keys.
const (
	KeyNoSense        = 0x0
	KeyRecovered      = 0x1
	KeyNotReady       = 0x2
	KeyMediumError    = 0x3
	KeyHardwareError  = 0x4
	KeyIllegalRequest = 0x5
	KeyUnitAttention  = 0x6
	KeyAbortedCommand = 0xb
)

// Sense is decoded sense data.
type Sense struct {
	Descriptor     bool // descriptor format (72h/73h) rather than fixed
	Deferred       bool
	Key, ASC, ASCQ uint8
	// Info is the INFORMATION field when valid.
	Info      uint64
	InfoValid bool
	// ATA holds the ATA registers returned by an ATA PASS-THROUGH with
	// CK_COND set (ATA Status Return descriptor 09h, or the fixed-format
	// fields SAT defines), when present.
	ATA *ATARegisters
}

// ATARegisters are the ATA output registers SAT returns in sense data.
type ATARegisters struct {
	Extend                    bool
	Error, Status, Device     uint8
	Count                     uint16
	LBA                       uint64
	LBALow, LBAMid, LBAHigh   uint8 // bits 7:0, 15:8, 23:16 of LBA
	CountLow, LBAHighExtended uint8
}

// ParseSense decodes fixed (70h/71h) or descriptor (72h/73h) sense data.
func ParseSense(b []byte) (*Sense, error) {
	if len(b) < 1 {
		return nil, fmt.Errorf("sense: empty: %w", ErrShort)
	}
	code := b[0] & 0x7f
	s := &Sense{}
	switch code {
	case 0x70, 0x71:
		if len(b) < 14 {
			if len(b) < 3 {
				return nil, fmt.Errorf("sense: fixed format, %d bytes: %w", len(b), ErrShort)
			}
			s.Key = b[2] & 0x0f
			s.Deferred = code == 0x71
			return s, nil
		}
		s.Deferred = code == 0x71
		s.Key = b[2] & 0x0f
		s.ASC, s.ASCQ = b[12], b[13]
		s.InfoValid = b[0]&0x80 != 0
		s.Info = uint64(binary.BigEndian.Uint32(b[3:]))
		if s.ASC == 0x00 && s.ASCQ == 0x1d {
			// SAT fixed format: ERROR in INFORMATION byte 0 (b[3]),
			// STATUS b[4], DEVICE b[5], COUNT(7:0) b[6]; byte 8 bit 7
			// EXTEND; LBA(7:0) b[9], LBA(15:8) b[10], LBA(23:16) b[11].
			r := &ATARegisters{Error: b[3], Status: b[4], Device: b[5], Count: uint16(b[6]), Extend: b[8]&0x80 != 0,
				LBALow: b[9], LBAMid: b[10], LBAHigh: b[11]}
			r.LBA = uint64(b[9]) | uint64(b[10])<<8 | uint64(b[11])<<16
			r.CountLow = b[6]
			s.ATA = r
		}
		return s, nil
	case 0x72, 0x73:
		if len(b) < 8 {
			return nil, fmt.Errorf("sense: descriptor format, %d bytes: %w", len(b), ErrShort)
		}
		s.Descriptor = true
		s.Deferred = code == 0x73
		s.Key = b[1] & 0x0f
		s.ASC, s.ASCQ = b[2], b[3]
		n := int(b[7])
		d := b[8:]
		if len(d) > n {
			d = d[:n]
		}
		for len(d) >= 2 {
			l := int(d[1])
			if len(d) < 2+l {
				return s, fmt.Errorf("sense: descriptor 0x%02x length %d, have %d: %w", d[0], l, len(d)-2, ErrShort)
			}
			body := d[:2+l]
			switch d[0] {
			case 0x00: // information
				if l >= 0x0a {
					s.InfoValid = body[2]&0x80 != 0
					s.Info = binary.BigEndian.Uint64(body[4:])
				}
			case 0x09: // ATA status return
				if l >= 0x0c {
					r := &ATARegisters{Extend: body[2]&1 != 0, Error: body[3],
						Count: uint16(body[4])<<8 | uint16(body[5]), Device: body[12], Status: body[13]}
					// bytes 6..11: LBA(31:24) LBA(7:0) LBA(39:32) LBA(15:8) LBA(47:40) LBA(23:16)
					r.LBA = uint64(body[7]) | uint64(body[9])<<8 | uint64(body[11])<<16 |
						uint64(body[6])<<24 | uint64(body[8])<<32 | uint64(body[10])<<40
					r.LBALow, r.LBAMid, r.LBAHigh = body[7], body[9], body[11]
					r.CountLow = body[5]
					s.ATA = r
				}
			}
			d = d[2+l:]
		}
		return s, nil
	}
	return nil, fmt.Errorf("sense: unknown response code 0x%02x", code)
}

// String is a one-line description: "ILLEGAL REQUEST: invalid command
// operation code (ASC 0x20 ASCQ 0x00)".
func (s *Sense) String() string {
	return fmt.Sprintf("%s: %s (ASC 0x%02x ASCQ 0x%02x)", KeyName(s.Key), SenseDescription(s.ASC, s.ASCQ), s.ASC, s.ASCQ)
}

// KeyName names a sense key.
func KeyName(k uint8) string {
	names := []string{"NO SENSE", "RECOVERED ERROR", "NOT READY", "MEDIUM ERROR", "HARDWARE ERROR",
		"ILLEGAL REQUEST", "UNIT ATTENTION", "DATA PROTECT", "BLANK CHECK", "VENDOR SPECIFIC",
		"COPY ABORTED", "ABORTED COMMAND", "RESERVED", "VOLUME OVERFLOW", "MISCOMPARE", "COMPLETED"}
	if int(k) < len(names) {
		return names[k]
	}
	return fmt.Sprintf("key 0x%x", k)
}

// SenseDescription names the common additional sense codes (SPC-5 annex
// D); others are given by number.
func SenseDescription(asc, ascq uint8) string {
	switch {
	case asc == 0 && ascq == 0:
		return "no additional sense information"
	case asc == 0 && ascq == 0x1d:
		return "ATA pass through information available"
	case asc == 0x04 && ascq == 0x02:
		return "logical unit not ready, initializing command required"
	case asc == 0x04:
		return "logical unit not ready"
	case asc == 0x0b && ascq == 0x01:
		return "warning - specified temperature exceeded"
	case asc == 0x0b:
		return "warning"
	case asc == 0x11:
		return "unrecovered read error"
	case asc == 0x20:
		return "invalid command operation code"
	case asc == 0x24:
		return "invalid field in cdb"
	case asc == 0x25:
		return "logical unit not supported"
	case asc == 0x29:
		return "power on, reset, or bus device reset occurred"
	case asc == 0x3a:
		return "medium not present"
	case asc == 0x44:
		return "internal target failure"
	case asc == 0x5d && ascq == 0xff:
		return "failure prediction threshold exceeded (false)"
	case asc == 0x5d && ascq >= 0x10 && ascq <= 0x6c:
		return "hardware impending failure"
	case asc == 0x5d:
		return "failure prediction threshold exceeded"
	}
	return fmt.Sprintf("asc 0x%02x ascq 0x%02x", asc, ascq)
}
