// Package passthrough sends commands to disks through the Linux
// pass-through ioctls: SG_IO for SCSI commands and for ATA commands wrapped
// in SAT ATA PASS-THROUGH (16), falling back to (12); NVME_IOCTL_ADMIN_CMD
// for NVMe admin commands. It is the only package that issues these
// ioctls. CDB builders are pure and tested on their own; the ioctls are
// exercised in the QEMU rig.
package passthrough

import "encoding/binary"

// ATAProtocol is the SAT PROTOCOL field.
type ATAProtocol uint8

// SAT protocols diskwatch uses.
const (
	ATANonData ATAProtocol = 3
	ATAPIOIn   ATAProtocol = 4
	ATAPIOOut  ATAProtocol = 5
)

// ATA command opcodes and SMART feature codes.
const (
	ATAIdentify        = 0xec
	ATACheckPowerMode  = 0xe5
	ATAStandbyNow      = 0xe0
	ATASMART           = 0xb0
	ATAReadLogExt      = 0x2f
	SMARTReadData      = 0xd0
	SMARTReadThresh    = 0xd1
	SMARTExecOffline   = 0xd4
	SMARTReadLog       = 0xd5
	SMARTWriteLog      = 0xd6
	SMARTReturnStatus  = 0xda
	SMARTLBAMid        = 0x4f
	SMARTLBAHigh       = 0xc2
	OfflineShortBG     = 0x01
	OfflineExtendedBG  = 0x02
	OfflineConveyance  = 0x03
	OfflineAbort       = 0x7f
	SATOpcode16        = 0x85
	SATOpcode12        = 0xa1
	scsiLogSense       = 0x4d
	scsiInquiry        = 0x12
	scsiReadCapacity10 = 0x25
	scsiServiceIn16    = 0x9e
	scsiReadDefect10   = 0x37
	scsiSendDiagnostic = 0x1d
	scsiTestUnitReady  = 0x00
	scsiRequestSense   = 0x03
)

// ATACommand is an ATA command to send through SAT.
type ATACommand struct {
	Command  uint8
	Features uint16
	Count    uint16
	LBA      uint64 // 48 bits
	Device   uint8
	Protocol ATAProtocol
	// Extend selects a 48-bit command (EXTEND bit).
	Extend bool
	// CheckCondition (CK_COND) asks for the ATA output registers in the
	// sense data even on success: needed for RETURN STATUS and CHECK
	// POWER MODE.
	CheckCondition bool
	// Blocks is the number of 512-byte blocks transferred (PIO in/out).
	Blocks int
	// Data is what a PIO out command sends (Blocks*512 bytes).
	Data []byte
}

// flags2 is byte 2 of both pass-through CDBs: OFF_LINE 0, CK_COND,
// T_TYPE 0 (512-byte blocks), T_DIR, BYTE_BLOCK 1, T_LENGTH 2 (length in
// the COUNT field).
func (c ATACommand) flags2() byte {
	var b byte
	if c.CheckCondition {
		b |= 1 << 5
	}
	switch c.Protocol {
	case ATAPIOIn:
		b |= 1<<3 | 1<<2 | 2
	case ATAPIOOut:
		b |= 1<<2 | 2
	}
	return b
}

// CDB16 builds an ATA PASS-THROUGH (16) CDB (SAT-4 12.2.2).
func (c ATACommand) CDB16() []byte {
	b := make([]byte, 16)
	b[0] = SATOpcode16
	b[1] = byte(c.Protocol) << 1
	if c.Extend {
		b[1] |= 1
	}
	b[2] = c.flags2()
	b[3], b[4] = byte(c.Features>>8), byte(c.Features)
	b[5], b[6] = byte(c.Count>>8), byte(c.Count)
	b[7], b[8] = byte(c.LBA>>24), byte(c.LBA)
	b[9], b[10] = byte(c.LBA>>32), byte(c.LBA>>8)
	b[11], b[12] = byte(c.LBA>>40), byte(c.LBA>>16)
	b[13] = c.Device
	b[14] = c.Command
	return b
}

// CDB12 builds an ATA PASS-THROUGH (12) CDB (SAT-4 12.2.1): 28-bit only.
func (c ATACommand) CDB12() []byte {
	b := make([]byte, 12)
	b[0] = SATOpcode12
	b[1] = byte(c.Protocol) << 1
	b[2] = c.flags2()
	b[3] = byte(c.Features)
	b[4] = byte(c.Count)
	b[5], b[6], b[7] = byte(c.LBA), byte(c.LBA>>8), byte(c.LBA>>16)
	b[8] = c.Device
	b[9] = c.Command
	return b
}

// SMARTCommand returns a SMART command (B0h) with the given feature and
// LBA low (log address or offline subcommand), reading blocks sectors.
func SMARTCommand(feature uint8, lbaLow uint8, blocks int) ATACommand {
	c := ATACommand{Command: ATASMART, Features: uint16(feature), LBA: uint64(SMARTLBAHigh)<<16 | uint64(SMARTLBAMid)<<8 | uint64(lbaLow),
		Protocol: ATANonData, Count: uint16(blocks), Blocks: blocks}
	if blocks > 0 {
		c.Protocol = ATAPIOIn
	}
	return c
}

// ReadLogExtCommand returns READ LOG EXT (2Fh) for pages of a GP log.
func ReadLogExtCommand(log uint8, page uint16, pages int) ATACommand {
	// LBA(7:0) log address, LBA(15:8) page number low byte, LBA(47:40)
	// page number high byte.
	lba := uint64(log) | uint64(page&0xff)<<8 | uint64(page>>8)<<40
	return ATACommand{Command: ATAReadLogExt, LBA: lba, Count: uint16(pages), Protocol: ATAPIOIn, Extend: true, Blocks: pages}
}

// InquiryCDB builds INQUIRY (standard data, or VPD page when evpd).
func InquiryCDB(evpd bool, page uint8, alloc uint16) []byte {
	b := make([]byte, 6)
	b[0] = scsiInquiry
	if evpd {
		b[1] = 1
		b[2] = page
	}
	binary.BigEndian.PutUint16(b[3:], alloc)
	return b
}

// LogSenseCDB builds LOG SENSE for cumulative values (PC=01b) of a page.
func LogSenseCDB(page, subpage uint8, alloc uint16) []byte {
	b := make([]byte, 10)
	b[0] = scsiLogSense
	b[2] = 0x40 | page&0x3f
	b[3] = subpage
	binary.BigEndian.PutUint16(b[7:], alloc)
	return b
}

// ReadCapacity10CDB builds READ CAPACITY (10).
func ReadCapacity10CDB() []byte { return []byte{scsiReadCapacity10, 0, 0, 0, 0, 0, 0, 0, 0, 0} }

// ReadCapacity16CDB builds READ CAPACITY (16) (SERVICE ACTION IN 10h).
func ReadCapacity16CDB(alloc uint32) []byte {
	b := make([]byte, 16)
	b[0], b[1] = scsiServiceIn16, 0x10
	binary.BigEndian.PutUint32(b[10:], alloc)
	return b
}

// ReadDefect10CDB builds READ DEFECT DATA (10) asking for the grown list
// header only in long-block format.
func ReadDefect10CDB(alloc uint16) []byte {
	b := make([]byte, 10)
	b[0] = scsiReadDefect10
	b[2] = 0x08 | 0x03 // GLIST, long block format
	binary.BigEndian.PutUint16(b[7:], alloc)
	return b
}

// SCSI self-test codes for SEND DIAGNOSTIC.
const (
	SCSITestShortBG    = 1
	SCSITestExtendedBG = 2
	SCSITestAbortBG    = 4
)

// SendDiagnosticCDB builds SEND DIAGNOSTIC with a self-test code.
func SendDiagnosticCDB(code uint8) []byte {
	return []byte{scsiSendDiagnostic, code << 5, 0, 0, 0, 0}
}

// NVMe admin opcodes and log identifiers.
const (
	NVMeGetLogPage   = 0x02
	NVMeIdentify     = 0x06
	NVMeDeviceSelfTe = 0x14
	NVMeLogError     = 0x01
	NVMeLogSMART     = 0x02
	NVMeLogSelfTest  = 0x06
	NVMeAllNS        = 0xffffffff
)

// NVMeCommand is an NVMe admin command.
type NVMeCommand struct {
	Opcode uint8
	NSID   uint32
	CDW10  uint32
	CDW11  uint32
	CDW12  uint32
	CDW13  uint32
	CDW14  uint32
	CDW15  uint32
	// DataLen bytes are transferred from the controller.
	DataLen int
}

// NVMeGetLog returns a Get Log Page command for n bytes (a multiple of 4)
// of log lid.
func NVMeGetLog(lid uint8, nsid uint32, n int) NVMeCommand {
	numd := uint32(n/4 - 1)
	return NVMeCommand{Opcode: NVMeGetLogPage, NSID: nsid, CDW10: uint32(lid) | (numd&0xffff)<<16, CDW11: numd >> 16, DataLen: n}
}

// NVMeIdentifyCmd returns Identify with a CNS value (1 controller, 0
// namespace).
func NVMeIdentifyCmd(cns uint8, nsid uint32) NVMeCommand {
	return NVMeCommand{Opcode: NVMeIdentify, NSID: nsid, CDW10: uint32(cns), DataLen: 4096}
}

// NVMe self-test codes.
const (
	NVMeTestShort    = 1
	NVMeTestExtended = 2
	NVMeTestAbort    = 0xf
)

// NVMeSelfTestCmd returns Device Self-test with a code, on all namespaces.
func NVMeSelfTestCmd(code uint8) NVMeCommand {
	return NVMeCommand{Opcode: NVMeDeviceSelfTe, NSID: NVMeAllNS, CDW10: uint32(code)}
}

// SMARTWriteLogCommand returns SMART WRITE LOG (B0h/D6h) of one sector to
// log address log, sending data.
func SMARTWriteLogCommand(log uint8, data []byte) ATACommand {
	c := SMARTCommand(SMARTWriteLog, log, 1)
	c.Protocol, c.Data = ATAPIOOut, data
	return c
}
