// Package mfiemu is an emulated MegaRAID controller behind the MFI ioctl,
// for tests: it answers the frames MEGASAS_IOC_FIRMWARE carries (DCMDs
// for the PD list, PD info, LD list, configuration and battery; SCSI
// pass-through to its physical disks) with bytes laid out as the firmware
// lays them out (the MFI structures of the Linux megaraid_sas and BSD mfi
// headers), and its disks answer SCSI and ATA PASS-THROUGH (16) commands
// from real captured pages (see Disk, SCSIDisk, SATADisk). It decodes
// frames on its own, by the documented offsets: it shares no code with the
// hwraid package it tests.
package mfiemu

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
)

// MFI status codes the emulator returns.
const (
	StatOK             = 0x00
	StatInvalidDCMD    = 0x02
	StatInvalidParam   = 0x03
	StatDeviceNotFound = 0x0c
	StatNoHWPresent    = 0x22
	StatSCSIDoneError  = 0x2d
)

// Controller is one emulated MegaRAID at SCSI host Host.
type Controller struct {
	Host uint16
	PDs  []*PD
	LDs  []LD
	// BBU is the battery; nil answers BBU STATUS with NO HW PRESENT.
	BBU *BBU
	// SplitAddressing addresses physical disks as QEMU's megasas does:
	// device id = target<<8 | lun. Otherwise (real firmware) the frame's
	// target id is the device id.
	SplitAddressing bool

	mu  sync.Mutex
	log []string
}

// PD is one physical disk.
type PD struct {
	DeviceID uint16
	// Encl is the enclosure device id (0xffff: none); Slot its slot.
	Encl uint16
	Slot uint8
	// FWState is MR_PD_STATE (0x18 online, 0x11 failed, 0x14 rebuild,
	// 0x40 JBOD, ...).
	FWState uint16
	// RebuildPercent, when set, makes a rebuild active at that progress.
	RebuildPercent            *float64
	MediaErr, OtherErr, PredF uint32
	// SATA marks a SATA disk (DDF interface bits).
	SATA bool
	Disk Disk
}

// LD is one logical drive; Members are device ids row by row (0xffff: a
// missing disk), MemberStates the firmware state of each row.
type LD struct {
	Target       uint8
	Name         string
	Level        uint8
	State        uint8 // 0 offline, 1 partially degraded, 2 degraded, 3 optimal
	SizeBlocks   uint64
	Members      []uint16
	MemberStates []uint16
}

// BBU is the battery status (mfi_bbu_status).
type BBU struct {
	Type           uint8 // 1 iBBU, 2 BBU
	FWStatus       uint32
	VoltageMV      uint16
	TemperatureC   uint16
	SOHGood        bool
	RelativeCharge uint16
}

// Disk answers a SCSI CDB with data-in bytes, or with sense data (a CHECK
// CONDITION).
type Disk interface {
	SCSI(cdb []byte, n int) (data, sense []byte)
}

// Log returns the commands the controller was sent, in order.
func (c *Controller) Log() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.log...)
}

func (c *Controller) note(s string) {
	c.mu.Lock()
	c.log = append(c.log, s)
	c.mu.Unlock()
}

// Fire implements the ioctl: frame is the 128-byte MFI frame (status
// written back at byte 2, SCSI status at 3), data the data-in buffer,
// sense the sense buffer of a pass-through frame.
func (c *Controller) Fire(ctx context.Context, host uint16, frame, data, sense []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if host != c.Host {
		return fmt.Errorf("no MegaRAID at SCSI host %d: %w", host, errNoDevice)
	}
	if len(frame) < 64 {
		return fmt.Errorf("frame of %d bytes", len(frame))
	}
	le := binary.LittleEndian
	// The transfer length must fit the buffer the caller gave.
	if xfer := int(le.Uint32(frame[0x14:])); xfer > len(data) {
		return fmt.Errorf("data_xfer_len %d > buffer %d: %w", xfer, len(data), errFault)
	}
	switch frame[0] {
	case 0x05: // DCMD
		op := le.Uint32(frame[0x18:])
		st := c.dcmd(op, frame[0x1c:0x28], data)
		c.note(fmt.Sprintf("DCMD %08x -> %02x", op, st))
		frame[2] = st
	case 0x04: // PD SCSI IO
		target, lun, cdbLen := frame[4], frame[5], int(frame[6])
		if cdbLen < 1 || cdbLen > 16 {
			frame[2] = StatInvalidParam
			return nil
		}
		cdb := append([]byte(nil), frame[0x20:0x20+cdbLen]...)
		pd := c.pdAt(target, lun)
		if pd == nil {
			c.note(fmt.Sprintf("PTHRU %d:%d %02x -> not found", target, lun, cdb[0]))
			frame[2] = StatDeviceNotFound
			return nil
		}
		out, sb := pd.Disk.SCSI(cdb, len(data))
		c.note(fmt.Sprintf("PTHRU dev %d %x", pd.DeviceID, cdb))
		copy(data, out)
		if sb != nil {
			copy(sense, sb)
			frame[2], frame[3] = StatSCSIDoneError, 0x02
			return nil
		}
		frame[2], frame[3] = StatOK, 0
	default:
		frame[2] = 0x01 // invalid command
	}
	return nil
}

var (
	errNoDevice = fmt.Errorf("no such device")
	errFault    = fmt.Errorf("bad address")
)

func (c *Controller) pdAt(target, lun uint8) *PD {
	for _, p := range c.PDs {
		if c.SplitAddressing {
			if uint8(p.DeviceID>>8) == target && uint8(p.DeviceID) == lun {
				return p
			}
		} else if lun == 0 && p.DeviceID == uint16(target) {
			return p
		}
	}
	return nil
}

func (c *Controller) pd(id uint16) *PD {
	for _, p := range c.PDs {
		if p.DeviceID == id {
			return p
		}
	}
	return nil
}

func (c *Controller) dcmd(op uint32, mbox, buf []byte) uint8 {
	le := binary.LittleEndian
	clear(buf)
	switch op {
	case 0x02010000: // PD GET LIST: size, count, MR_PD_ADDRESS[24]
		need := 8 + 24*len(c.PDs)
		if len(buf) < need {
			return StatInvalidParam
		}
		le.PutUint32(buf[0:], uint32(need))
		le.PutUint32(buf[4:], uint32(len(c.PDs)))
		for i, p := range c.PDs {
			e := buf[8+24*i:]
			le.PutUint16(e[0:], p.DeviceID)
			le.PutUint16(e[2:], p.Encl)
			e[5], e[6], e[7] = p.Slot, 0, 1
			le.PutUint64(e[8:], 0x5000000000000000|uint64(p.DeviceID))
		}
	case 0x02020000: // PD GET INFO: MR_PD_INFO (512 bytes)
		if len(buf) < 512 {
			return StatInvalidParam
		}
		p := c.pd(le.Uint16(mbox))
		if p == nil {
			return StatDeviceNotFound
		}
		le.PutUint16(buf[0:], p.DeviceID)
		if inq, _ := p.Disk.SCSI([]byte{0x12, 0, 0, 0, 96, 0}, 96); inq != nil {
			copy(buf[4:100], inq)
		}
		if vpd, sb := p.Disk.SCSI([]byte{0x12, 1, 0x83, 0, 64, 0}, 64); sb == nil {
			copy(buf[100:164], vpd)
		}
		le.PutUint32(buf[168:], p.MediaErr)
		le.PutUint32(buf[172:], p.OtherErr)
		le.PutUint32(buf[176:], p.PredF)
		le.PutUint16(buf[184:], p.FWState)
		ddf := uint16(1 << 13) // SAS
		if p.SATA {
			ddf = 1 << 15 // SATA 3G
		}
		le.PutUint16(buf[188:], ddf)
		le.PutUint16(buf[256:], p.Encl)
		buf[259] = p.Slot
		if p.RebuildPercent != nil {
			le.PutUint32(buf[260:], 1)
			le.PutUint16(buf[264:], uint16(*p.RebuildPercent*0xffff/100+0.5))
		}
	case 0x03010000: // LD GET LIST: count, reserved, {ref, state, size}[]
		if len(buf) < 8+16*len(c.LDs) {
			return StatInvalidParam
		}
		le.PutUint32(buf[0:], uint32(len(c.LDs)))
		for i, l := range c.LDs {
			e := buf[8+16*i:]
			e[0], e[4] = l.Target, l.State
			le.PutUint64(e[8:], l.SizeBlocks)
		}
	case 0x04010000: // CFG READ: header, arrays (one per LD), LD configs
		const arr, ldc = 32 + 32*8, 256
		need := 32 + len(c.LDs)*(arr+ldc)
		if len(buf) < need {
			le.PutUint32(buf[0:], uint32(need))
			return StatOK // the caller reads the size and asks again
		}
		le.PutUint32(buf[0:], uint32(need))
		le.PutUint16(buf[4:], uint16(len(c.LDs)))
		le.PutUint16(buf[6:], arr)
		le.PutUint16(buf[8:], uint16(len(c.LDs)))
		le.PutUint16(buf[10:], ldc)
		le.PutUint16(buf[14:], 40)
		for i, l := range c.LDs {
			a := buf[32+i*arr:]
			le.PutUint64(a[0:], l.SizeBlocks)
			a[8] = uint8(len(l.Members))
			le.PutUint16(a[10:], uint16(i))
			for j, m := range l.Members {
				r := a[32+8*j:]
				le.PutUint16(r[0:], m)
				le.PutUint16(r[4:], l.MemberStates[j])
				if p := c.pd(m); p != nil {
					r[6], r[7] = uint8(p.Encl), p.Slot
				} else {
					r[6], r[7] = 0xff, 0xff
				}
			}
			d := buf[32+len(c.LDs)*arr+i*ldc:]
			d[0] = l.Target
			copy(d[4:20], l.Name)
			d[32], d[36], d[37], d[38] = l.Level, uint8(len(l.Members)), 1, l.State
			le.PutUint64(d[64+8:], l.SizeBlocks)
			le.PutUint16(d[64+16:], uint16(i))
		}
	case 0x05010000: // BBU STATUS: mfi_bbu_status (64 bytes)
		if c.BBU == nil {
			return StatNoHWPresent
		}
		if len(buf) < 64 {
			return StatInvalidParam
		}
		b := c.BBU
		buf[0] = b.Type
		le.PutUint16(buf[2:], b.VoltageMV)
		le.PutUint16(buf[6:], b.TemperatureC)
		le.PutUint32(buf[8:], b.FWStatus)
		le.PutUint16(buf[34:], b.RelativeCharge)
		if b.SOHGood {
			buf[42] = 1
		}
	default:
		return StatInvalidDCMD
	}
	return StatOK
}
