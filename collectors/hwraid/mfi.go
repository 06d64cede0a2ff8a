package hwraid

import (
	"encoding/binary"
	"fmt"
)

// MegaRAID MFI pass-through, from the ioctl ABI the Linux megaraid_sas
// driver documents in drivers/scsi/megaraid/megaraid_sas.h: struct
// megasas_iocpacket carries one 128-byte MFI frame (a DCMD frame for
// controller commands, a pass-through frame for SCSI commands to a
// physical disk) and up to 16 user buffers (struct iovec), sent with
// MEGASAS_IOC_FIRMWARE on /dev/megaraid_sas_ioctl_node. The driver copies
// the buffers, writes their DMA addresses into the frame's SGL at sgl_off,
// runs the frame and copies back the data, cmd_status and sense.

// MFI frame commands (enum MFI_CMD_OP).
const (
	mfiCmdPDSCSIIO = 0x04
	mfiCmdDCMD     = 0x05
)

// MFI frame flags.
const (
	mfiFrameDirRead = 0x0010
)

// MFI command status values (MFI_STAT_*) diskwatch acts on.
const (
	mfiStatOK                = 0x00
	mfiStatDeviceNotFound    = 0x0c
	mfiStatNoHWPresent       = 0x22
	mfiStatSCSIDoneWithError = 0x2d
	// mfiStatPending is what the frame's cmd_status is set to before the
	// command; the driver overwrites it with the result.
	mfiStatPending = 0xff
)

// DCMD opcodes (MR_DCMD_*).
const (
	// MRDCMDPDGetList lists the physical disks (MR_DCMD_PD_GET_LIST),
	// as smartctl's megaraid support does.
	MRDCMDPDGetList = 0x02010000
	// MRDCMDPDGetInfo returns one physical disk's MR_PD_INFO (mailbox:
	// the 16-bit device id).
	MRDCMDPDGetInfo = 0x02020000
	// MRDCMDLDGetList lists the logical drives with their state.
	MRDCMDLDGetList = 0x03010000
	// MRDCMDCfgRead reads the configuration: arrays (their member disks)
	// and logical drives (the arrays they span).
	MRDCMDCfgRead = 0x04010000
	// MRDCMDBBUStatus reads the cache battery / CacheVault status.
	MRDCMDBBUStatus = 0x05010000
)

// Frame layout offsets (megasas_header / megasas_pthru_frame /
// megasas_dcmd_frame).
const (
	mfiFrameSize     = 128
	offCmd           = 0x00
	offSenseLen      = 0x01 // pthru
	offCmdStatus     = 0x02
	offTargetID      = 0x04 // pthru
	offLUN           = 0x05 // pthru
	offCDBLen        = 0x06 // pthru
	offSGECount      = 0x07
	offFlags         = 0x10
	offTimeout       = 0x12
	offDataXferLen   = 0x14
	offSenseAddr     = 0x18 // pthru: sense buffer address (lo, hi)
	offOpcode        = 0x18 // dcmd
	offMbox          = 0x1c // dcmd: 12-byte mailbox
	offCDB           = 0x20 // pthru: 16 bytes
	offPthruSGL      = 0x30 // pthru
	offDCMDSGL       = 0x28 // dcmd (after the 12-byte mailbox at 0x1c)
	mfiSenseLen      = 32
	iocHeaderSize    = 20 // host_no, pad, sgl_off, sge_count, sense_off, sense_len
	iocMaxSGE        = 16
	iovecSize        = 16 // struct iovec on a 64-bit kernel
	IocPacketSize    = iocHeaderSize + mfiFrameSize + iocMaxSGE*iovecSize
	pdAddressSize    = 24
	pdListHeaderSize = 8
)

// megasasIOCFirmware is MEGASAS_IOC_FIRMWARE: _IOWR('M', 1, struct
// megasas_iocpacket) for the 404-byte packet of a 64-bit kernel.
const megasasIOCFirmware uintptr = 3<<30 | IocPacketSize<<16 | 'M'<<8 | 1

// DCMDFrame builds an MFI DCMD frame reading n bytes for opcode, with an
// optional mailbox (up to 12 bytes: a device id for PD GET INFO).
func DCMDFrame(opcode uint32, n int, timeoutSec uint16, mbox ...byte) []byte {
	f := make([]byte, mfiFrameSize)
	f[offCmd] = mfiCmdDCMD
	f[offCmdStatus] = mfiStatPending
	f[offSGECount] = 1
	le := binary.LittleEndian
	le.PutUint16(f[offFlags:], mfiFrameDirRead)
	le.PutUint16(f[offTimeout:], timeoutSec)
	le.PutUint32(f[offDataXferLen:], uint32(n))
	le.PutUint32(f[offOpcode:], opcode)
	copy(f[offMbox:offMbox+12], mbox)
	// The single SGE (address filled in by the driver) holds the length.
	le.PutUint32(f[offDCMDSGL+4:], uint32(n))
	return f
}

// PDAddr is where a pass-through frame sends a command: the frame's 8-bit
// target id and LUN. The firmware's device ids are 16 bits; see
// PDAddrCandidates for how one becomes an address.
type PDAddr struct{ Target, LUN uint8 }

// PDAddrCandidates are the frame addresses that may reach device id id,
// most likely first. MFI firmware puts the device id in the 8-bit target
// field (the Linux driver and smartctl do so; ids of real controllers fit
// in 8 bits). A device id above 255 cannot be written there: smartctl
// truncates it (megaraid,256 reaches device 0). QEMU's megasas numbers its
// disks (scsi-id << 8) | lun and decodes a frame the same way, so an id
// above 255 is tried as target id>>8, LUN id&0xff; an id below 256 is also
// tried that way second. The caller checks which address answers with the
// disk the firmware describes for id (VPD page 0x83 of PD GET INFO).
func PDAddrCandidates(id uint16) []PDAddr {
	split := PDAddr{Target: uint8(id >> 8), LUN: uint8(id)}
	if id > 0xff {
		return []PDAddr{split}
	}
	direct := PDAddr{Target: uint8(id)}
	if split == direct {
		return []PDAddr{direct}
	}
	return []PDAddr{direct, split}
}

// PthruFrame builds an MFI pass-through frame sending cdb to the physical
// disk at a and reading n bytes (n may be 0).
func PthruFrame(a PDAddr, cdb []byte, n int, timeoutSec uint16) ([]byte, error) {
	if len(cdb) == 0 || len(cdb) > 16 {
		return nil, fmt.Errorf("MFI pass-through: CDB of %d bytes (1..16)", len(cdb))
	}
	f := make([]byte, mfiFrameSize)
	f[offCmd] = mfiCmdPDSCSIIO
	f[offSenseLen] = mfiSenseLen
	f[offCmdStatus] = mfiStatPending
	f[offTargetID] = a.Target
	f[offLUN] = a.LUN
	f[offCDBLen] = byte(len(cdb))
	le := binary.LittleEndian
	if n > 0 {
		f[offSGECount] = 1
		le.PutUint16(f[offFlags:], mfiFrameDirRead)
		le.PutUint32(f[offPthruSGL+4:], uint32(n))
	}
	le.PutUint16(f[offTimeout:], timeoutSec)
	le.PutUint32(f[offDataXferLen:], uint32(n))
	copy(f[offCDB:], cdb)
	return f, nil
}

// IocPacket wraps a frame in struct megasas_iocpacket for SCSI host host:
// sglOff is where the frame's SGL is, data and dataLen the user buffer,
// and for a pass-through frame senseAddr the user sense buffer (its
// address is written into the frame, as the driver expects).
func IocPacket(host uint16, frame []byte, sglOff uint32, data uint64, dataLen int, senseAddr uint64) []byte {
	p := make([]byte, IocPacketSize)
	le := binary.LittleEndian
	le.PutUint16(p[0:], host)
	copy(p[iocHeaderSize:], frame)
	if dataLen > 0 {
		le.PutUint32(p[4:], sglOff)
		le.PutUint32(p[8:], 1)
		le.PutUint64(p[iocHeaderSize+mfiFrameSize:], data)
		le.PutUint64(p[iocHeaderSize+mfiFrameSize+8:], uint64(dataLen))
	}
	if senseAddr != 0 {
		le.PutUint32(p[12:], offSenseAddr)
		le.PutUint32(p[16:], mfiSenseLen)
		le.PutUint64(p[iocHeaderSize+offSenseAddr:], senseAddr)
	}
	return p
}

// PD is one physical device of a MegaRAID's PD list (MR_PD_ADDRESS).
type PD struct {
	DeviceID     uint16
	EnclDeviceID uint16
	EnclIndex    uint8
	Slot         uint8
	// SCSIDevType is the SCSI peripheral type: 0 for a disk, 0x0d for an
	// enclosure.
	SCSIDevType uint8
	SASAddr     [2]uint64
}

// ParsePDList decodes the MR_PD_LIST a PD GET LIST DCMD returns: size,
// count, then count 24-byte MR_PD_ADDRESS entries.
func ParsePDList(b []byte) ([]PD, error) {
	if len(b) < pdListHeaderSize {
		return nil, fmt.Errorf("MFI PD list: %d bytes, need at least %d", len(b), pdListHeaderSize)
	}
	le := binary.LittleEndian
	size, count := le.Uint32(b[0:]), le.Uint32(b[4:])
	if uint64(count)*pdAddressSize+pdListHeaderSize > uint64(len(b)) {
		return nil, fmt.Errorf("MFI PD list: %d entries do not fit %d bytes (size field %d)", count, len(b), size)
	}
	out := make([]PD, 0, count)
	for i := 0; i < int(count); i++ {
		e := b[pdListHeaderSize+i*pdAddressSize:]
		out = append(out, PD{
			DeviceID: le.Uint16(e[0:]), EnclDeviceID: le.Uint16(e[2:]), EnclIndex: e[4], Slot: e[5],
			SCSIDevType: e[6], SASAddr: [2]uint64{le.Uint64(e[8:]), le.Uint64(e[16:])},
		})
	}
	return out, nil
}

// errMFIStatus is an MFI command status other than OK.
type errMFIStatus struct {
	step   string
	status uint8
}

func (e errMFIStatus) Error() string {
	name := map[uint8]string{0x01: "invalid command", 0x02: "invalid DCMD opcode", 0x03: "invalid parameter",
		mfiStatDeviceNotFound: "device not found", mfiStatNoHWPresent: "no hardware present",
		0x2d: "SCSI done with error", 0x2e: "SCSI I/O failed"}[e.status]
	if name == "" {
		name = "error"
	}
	return fmt.Sprintf("%s: MFI status 0x%02x (%s)", e.step, e.status, name)
}

func (e errMFIStatus) Is(target error) bool {
	return target == ErrNoDrive && e.status == mfiStatDeviceNotFound
}
