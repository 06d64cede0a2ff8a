// Package scsi decodes the SCSI data diskwatch reads from SCSI/SAS disks:
// standard INQUIRY, VPD pages 80h/83h/B1h, READ CAPACITY, LOG SENSE pages
// (supported pages 00h, write/read/verify error counters 02h/03h/05h,
// temperature 0Dh, start-stop cycle counter 0Eh, self-test results 10h,
// background scan 15h, informational exceptions 2Fh), the READ DEFECT DATA
// header, and sense data in fixed and descriptor format. Layouts follow
// T10 SPC-5 and SBC-4. Pure functions: bytes in, values out.
package scsi

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// ErrShort is returned for a buffer smaller than its own header says.
var ErrShort = errors.New("scsi: buffer too short")

// Inquiry is the decoded standard INQUIRY data.
type Inquiry struct {
	PeripheralQualifier, DeviceType uint8
	Version                         uint8
	Vendor, Product, Revision       string
}

// Peripheral device types diskwatch cares about.
const (
	TypeDisk      = 0x00
	TypeTape      = 0x01
	TypeCDROM     = 0x05
	TypeEnclosure = 0x0d
	TypeRAID      = 0x0c
)

// ParseInquiry decodes standard INQUIRY data (at least 36 bytes).
func ParseInquiry(b []byte) (*Inquiry, error) {
	if len(b) < 36 {
		return nil, fmt.Errorf("inquiry: %d bytes: %w", len(b), ErrShort)
	}
	return &Inquiry{
		PeripheralQualifier: b[0] >> 5,
		DeviceType:          b[0] & 0x1f,
		Version:             b[2],
		Vendor:              strings.TrimSpace(string(b[8:16])),
		Product:             strings.TrimSpace(string(b[16:32])),
		Revision:            strings.TrimSpace(string(b[32:36])),
	}, nil
}

// ModelName is the model as smartctl prints it: vendor and product.
func (q *Inquiry) ModelName() string {
	return strings.TrimSpace(q.Vendor + " " + q.Product)
}

// vpdPayload checks a VPD page header (page code in byte 1, length in
// bytes 2-3) and returns the payload.
func vpdPayload(b []byte, page uint8) ([]byte, error) {
	if len(b) < 4 {
		return nil, fmt.Errorf("vpd page 0x%02x: %d bytes: %w", page, len(b), ErrShort)
	}
	if b[1] != page {
		return nil, fmt.Errorf("vpd page 0x%02x: device returned page 0x%02x", page, b[1])
	}
	n := int(binary.BigEndian.Uint16(b[2:]))
	if len(b) < 4+n {
		return nil, fmt.Errorf("vpd page 0x%02x: length %d, have %d: %w", page, n, len(b)-4, ErrShort)
	}
	return b[4 : 4+n], nil
}

// ParseSerialVPD decodes the Unit Serial Number VPD page (80h).
func ParseSerialVPD(b []byte) (string, error) {
	p, err := vpdPayload(b, 0x80)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(strings.TrimRight(string(p), "\x00")), nil
}

// Designator is one identification descriptor of VPD page 83h.
type Designator struct {
	CodeSet, Association, Type uint8
	Value                      []byte
}

// ParseDeviceIDVPD decodes the Device Identification VPD page (83h).
func ParseDeviceIDVPD(b []byte) ([]Designator, error) {
	p, err := vpdPayload(b, 0x83)
	if err != nil {
		return nil, err
	}
	var out []Designator
	for len(p) >= 4 {
		n := int(p[3])
		if len(p) < 4+n {
			return out, fmt.Errorf("vpd page 0x83: designator length %d, have %d: %w", n, len(p)-4, ErrShort)
		}
		out = append(out, Designator{CodeSet: p[0] & 0x0f, Association: p[1] >> 4 & 0x3, Type: p[1] & 0x0f, Value: p[4 : 4+n]})
		p = p[4+n:]
	}
	return out, nil
}

// LogicalUnitNAA returns the logical unit's NAA designator (type 3,
// association 0) in hex, the "Logical Unit id" smartctl prints without
// its 0x prefix; "" when there is none.
func LogicalUnitNAA(ds []Designator) string {
	for _, d := range ds {
		if d.Type == 3 && d.Association == 0 && len(d.Value) >= 8 {
			return hex.EncodeToString(d.Value)
		}
	}
	return ""
}

// ParseRotationVPD decodes the Block Device Characteristics VPD page (B1h)
// medium rotation rate: 0 not reported, 1 non-rotating, else rpm.
func ParseRotationVPD(b []byte) (int, error) {
	p, err := vpdPayload(b, 0xb1)
	if err != nil {
		return 0, err
	}
	if len(p) < 2 {
		return 0, fmt.Errorf("vpd page 0xb1: %w", ErrShort)
	}
	r := int(binary.BigEndian.Uint16(p))
	if r == 1 || (r >= 0x401 && r <= 0xfffe) {
		return r, nil
	}
	return 0, nil
}

// ParseVPDList decodes Supported VPD Pages (00h).
func ParseVPDList(b []byte) ([]uint8, error) {
	p, err := vpdPayload(b, 0x00)
	if err != nil {
		return nil, err
	}
	return append([]uint8(nil), p...), nil
}

// ParseReadCapacity10 decodes READ CAPACITY(10) data: last LBA and block
// length. lastLBA 0xffffffff means "use READ CAPACITY(16)".
func ParseReadCapacity10(b []byte) (lastLBA uint32, blockLen uint32, err error) {
	if len(b) < 8 {
		return 0, 0, fmt.Errorf("read capacity(10): %w", ErrShort)
	}
	return binary.BigEndian.Uint32(b), binary.BigEndian.Uint32(b[4:]), nil
}

// ParseReadCapacity16 decodes READ CAPACITY(16) data.
func ParseReadCapacity16(b []byte) (lastLBA uint64, blockLen uint32, err error) {
	if len(b) < 12 {
		return 0, 0, fmt.Errorf("read capacity(16): %w", ErrShort)
	}
	return binary.BigEndian.Uint64(b), binary.BigEndian.Uint32(b[8:]), nil
}

// Capacity returns the capacity in bytes from the last LBA and block size.
func Capacity(lastLBA uint64, blockLen uint32) int64 {
	if blockLen == 0 || lastLBA == ^uint64(0) {
		return 0
	}
	return int64((lastLBA + 1) * uint64(blockLen))
}

// ParseDefectHeader decodes the 4-byte header of READ DEFECT DATA(10) and
// returns the number of defects in the grown list: the list length divided
// by the size of one entry in the returned format.
func ParseDefectHeader(b []byte) (int64, error) {
	if len(b) < 4 {
		return 0, fmt.Errorf("read defect data: %w", ErrShort)
	}
	if b[1]&0x08 == 0 {
		return 0, errors.New("read defect data: grown list not valid (GLISTV clear)")
	}
	n := int64(binary.BigEndian.Uint16(b[2:]))
	size := int64(8)
	switch b[1] & 0x07 {
	case 0: // short block format
		size = 4
	case 3, 4, 5: // long block, bytes from index, physical sector
		size = 8
	case 6: // vendor specific
		return 0, errors.New("read defect data: vendor-specific format")
	default:
		size = 8
	}
	return n / size, nil
}

// ParseDefectHeader12 decodes the 8-byte header of READ DEFECT DATA(12).
func ParseDefectHeader12(b []byte) (int64, error) {
	if len(b) < 8 {
		return 0, fmt.Errorf("read defect data(12): %w", ErrShort)
	}
	if b[1]&0x08 == 0 {
		return 0, errors.New("read defect data: grown list not valid (GLISTV clear)")
	}
	n := int64(binary.BigEndian.Uint32(b[4:]))
	if b[1]&0x07 == 0 {
		return n / 4, nil
	}
	return n / 8, nil
}
