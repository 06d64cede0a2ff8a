package hwraid

import (
	"encoding/binary"
	"fmt"
)

// 3ware firmware pass-through, from the ioctl ABI the Linux 3w-9xxx and
// 3w-xxxx drivers document in drivers/scsi/3w-9xxx.h and 3w-xxxx.h, and
// the ATA pass-through command packet smartmontools sends through it:
//
//   - 9000 series (/dev/twaN): ioctl TW_IOCTL_FIRMWARE_PASS_THROUGH
//     (0x108) on a TW_Ioctl_Buf_Apache: a 24-byte TW_Ioctl_Driver_Command,
//     488 bytes of padding, the 1024-byte TW_Command_Full (a 128-byte
//     header, then the command packet) and the data buffer at byte 1536.
//   - 6000-8000 series (/dev/tweN): ioctl TW_CMD_PACKET_WITH_DATA (0x1f)
//     on a TW_New_Ioctl: the data length, 508 bytes of padding, the
//     512-byte TW_Command and the data at byte 1024.
//
// The command packet for an ATA command is the old-style packet with
// opcode TW_OP_ATA_PASSTHRU (0x11): the port in unit, the ATA registers
// as 16-bit fields, one SGL entry at dword 5 that the driver fills in.
// The firmware returns the ATA status in command and the error in
// features. The 16-bit register fields carry a 48-bit command's
// "previous" (HOB) bytes in their high byte. 9750 controllers (/dev/twlN,
// 3w-sas) take the same TW_Ioctl_Buf_Apache through the same ioctl
// (3w-sas.h defines TW_IOCTL_FIRMWARE_PASS_THROUGH as 3w-9xxx.h does, and
// smartmontools drives both the same way).

// Kinds of 3ware character device.
const (
	twaChar = "twa" // 3w-9xxx
	tweChar = "twe" // 3w-xxxx
)

// 3ware ioctl numbers and layout.
const (
	twIoctlFirmwarePassThrough = 0x108
	twCmdPacketWithData        = 0x1f
	twaDataOffset              = 1536 // sizeof(TW_Ioctl_Buf_Apache) - 1
	twaCommandOffset           = 512 + 128
	tweDataOffset              = 1024 // sizeof(TW_New_Ioctl) - 1
	tweCommandOffset           = 512
	twOpATAPassthru            = 0x11
	twOpGetParam               = 0x12
	twInformationTable         = 0x0403
	twParamPortCount           = 3
	twCommandSize64            = 5 // TW_COMMAND_SIZE on a 64-bit kernel
)

// TwATA is an ATA command for the 3ware pass-through packet.
type TwATA struct {
	Command uint8
	// Features and Count are 16 bits: the high byte is the 48-bit
	// command's previous content (HOB).
	Features uint16
	Count    uint16
	// LBALow, LBAMid, LBAHigh are the sector number and cylinder low/high
	// registers: LBA 7:0, 15:8, 23:16 in the low byte, 31:24, 39:32,
	// 47:40 in the high byte for a 48-bit command.
	LBALow, LBAMid, LBAHigh uint16
	Device                  uint8
	// DataIn is set for a PIO data-in command reading 512 bytes.
	DataIn bool
}

// twaPassthru writes the TW_Passthru packet for port at p; addrSize is
// the size of an SGL entry's address (8 for 3w-9xxx on a 64-bit kernel,
// 4 for 3w-xxxx).
func twaPassthru(p []byte, port uint8, c TwATA, addrSize int) {
	le := binary.LittleEndian
	if c.DataIn {
		p[0] = 5<<5 | twOpATAPassthru // SGL at dword 5
		p[1] = 7
		le.PutUint16(p[6:], 0xd)
		le.PutUint32(p[20+addrSize:], 512) // sg_list[0].length (address set by the driver)
	} else {
		p[0] = twOpATAPassthru
		p[1] = 5
		le.PutUint16(p[6:], 0x8)
	}
	p[2] = 0xff // request_id: the driver sets its own
	p[3] = port
	p[4] = 0   // status
	p[5] = 0x1 // flags
	le.PutUint16(p[8:], c.Features)
	le.PutUint16(p[10:], c.Count)
	le.PutUint16(p[12:], c.LBALow)
	le.PutUint16(p[14:], c.LBAMid)
	le.PutUint16(p[16:], c.LBAHigh)
	p[18] = c.Device
	p[19] = c.Command
}

// TwaIoctlBuf builds the TW_Ioctl_Buf_Apache of a 9000-series ATA
// pass-through to port, with room for 512 bytes of data.
func TwaIoctlBuf(port uint8, c TwATA) []byte {
	b := make([]byte, twaDataOffset+512)
	le := binary.LittleEndian
	le.PutUint32(b[0:], twIoctlFirmwarePassThrough) // control_code
	if c.DataIn {
		le.PutUint32(b[20:], 512) // buffer_length
	}
	twaPassthru(b[twaCommandOffset:], port, c, 8)
	return b
}

// TwaGetParamBuf builds the TW_Ioctl_Buf_Apache of a GET PARAM of one
// parameter (table, id, size bytes), as the driver's own twa_get_param.
func TwaGetParamBuf(table, param, size uint16) []byte {
	b := make([]byte, twaDataOffset+512)
	le := binary.LittleEndian
	le.PutUint32(b[0:], twIoctlFirmwarePassThrough)
	le.PutUint32(b[20:], 512)
	p := b[twaCommandOffset:]
	p[0] = 2<<5 | twOpGetParam // SGL at dword 2
	p[1] = twCommandSize64
	p[2] = 0xff
	le.PutUint16(p[6:], 1) // parameter_count
	le.PutUint32(p[8+8:], 512)
	d := b[twaDataOffset:]
	le.PutUint16(d[0:], table|0x8000)
	le.PutUint16(d[2:], param)
	le.PutUint16(d[4:], size)
	return b
}

// TweIoctlBuf builds the TW_New_Ioctl of a 6000-8000 series ATA
// pass-through to port, with room for 512 bytes of data.
func TweIoctlBuf(port uint8, c TwATA) []byte {
	b := make([]byte, tweDataOffset+512)
	if c.DataIn {
		binary.LittleEndian.PutUint32(b[0:], 512) // data_buffer_length
	}
	twaPassthru(b[tweCommandOffset:], port, c, 4)
	return b
}

// TwResult is what the firmware returned in the command packet.
type TwResult struct {
	// Status is the 3ware controller status (0 = success).
	Status uint8
	// ATAStatus and ATAError are the drive's registers.
	ATAStatus, ATAError uint8
	// Count and the LBA registers are 16 bits (HOB in the high byte).
	Count          uint16
	LBALow, LBAMid uint16
	LBAHigh        uint16
}

// Failed reports whether the controller or the drive refused the command
// (controller status non-zero, or ATA ERR / device fault).
func (r TwResult) Failed() bool { return r.Status != 0 || r.ATAStatus&0x21 != 0 }

// ParseTwPacket reads the returned command packet at p.
func ParseTwPacket(p []byte) (TwResult, error) {
	if len(p) < 20 {
		return TwResult{}, fmt.Errorf("3ware command packet: %d bytes, need 20", len(p))
	}
	le := binary.LittleEndian
	return TwResult{Status: p[4], ATAStatus: p[19], ATAError: p[8], Count: le.Uint16(p[10:]), LBALow: le.Uint16(p[12:]),
		LBAMid: le.Uint16(p[14:]), LBAHigh: le.Uint16(p[16:])}, nil
}

// ParseTwPortCount reads the TW_Param_Apache a port-count GET PARAM
// returned: table, id, size, actual size, then the 1-byte count.
func ParseTwPortCount(d []byte) (int, error) {
	if len(d) < 9 {
		return 0, fmt.Errorf("3ware GET PARAM: %d bytes, need 9", len(d))
	}
	n := int(d[8])
	if n == 0 || n > 32 {
		return 0, fmt.Errorf("3ware GET PARAM: port count %d", n)
	}
	return n, nil
}
