// Package twemu is an emulated 3ware 9000/9750 controller behind the
// TW_IOCTL_FIRMWARE_PASS_THROUGH ioctl, for tests: it reads the
// TW_Ioctl_Buf_Apache the way the firmware does (the command packet at
// byte 640, the data at 1536; layout of the Linux 3w-9xxx.h / 3w-sas.h
// headers), answers GET PARAM for the port count and ATA pass-through to
// its ports, whose drives (mfiemu.SATADisk) answer from real pages. It
// shares no code with the hwraid package it tests.
package twemu

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"

	"github.com/diskwatch/diskwatch/collectors/hwraid/mfiemu"
)

const (
	ioctlPassThrough = 0x108
	cmdOff           = 640
	dataOff          = 1536
	// statusNoDrive is the controller status for a command to an empty
	// port (any non-zero status fails the command).
	statusNoDrive = 0x0f
)

// Controller is one emulated controller; Ports[i] is the drive on port i
// (nil: empty).
type Controller struct {
	Ports []*mfiemu.SATADisk

	mu  sync.Mutex
	log []string
}

// Log returns the commands the controller was sent.
func (c *Controller) Log() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.log...)
}

// ext48 are the 48-bit ATA commands a reader may send.
var ext48 = map[uint8]bool{0x2f: true, 0x24: true, 0x25: true, 0x27: true}

// Ioctl implements hwraid.TwPort.
func (c *Controller) Ioctl(ctx context.Context, req uintptr, buf []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if req != ioctlPassThrough || len(buf) < dataOff+512 {
		return fmt.Errorf("ioctl %#x on a %d-byte buffer: invalid argument", req, len(buf))
	}
	le := binary.LittleEndian
	p, data := buf[cmdOff:], buf[dataOff:dataOff+512]
	switch p[0] & 0x1f {
	case 0x12: // GET PARAM
		table, param := le.Uint16(data[0:])&^0x8000, le.Uint16(data[2:])
		c.note(fmt.Sprintf("GET PARAM %04x/%d", table, param))
		if table == 0x0403 && param == 3 {
			data[8] = byte(len(c.Ports))
			p[4] = 0
			return nil
		}
		p[4] = 0x01
	case 0x11: // ATA pass-through
		port := int(p[3])
		cmd := p[19]
		c.note(fmt.Sprintf("ATA port %d cmd %02x features %04x", port, cmd, le.Uint16(p[8:])))
		if port >= len(c.Ports) || c.Ports[port] == nil {
			p[4] = statusNoDrive
			return nil
		}
		dataIn := le.Uint16(p[6:]) == 0xd
		proto := byte(3) // non-data
		if dataIn {
			proto = 4 // PIO data-in
		}
		ext := byte(0)
		if ext48[cmd] {
			ext = 1
		}
		f, n, l, m, h := le.Uint16(p[8:]), le.Uint16(p[10:]), le.Uint16(p[12:]), le.Uint16(p[14:]), le.Uint16(p[16:])
		cdb := []byte{0x85, proto<<1 | ext, 0x2e, byte(f >> 8), byte(f), byte(n >> 8), byte(n), byte(l >> 8), byte(l),
			byte(m >> 8), byte(m), byte(h >> 8), byte(h), p[18], cmd, 0}
		out, sense := c.Ports[port].SCSI(cdb, 512)
		p[4] = 0
		if sense != nil && len(sense) >= 22 && sense[8] == 0x09 {
			// The drive's output registers from the SAT descriptor.
			d := sense[8:]
			p[8], p[19] = d[3], d[13]
			le.PutUint16(p[10:], uint16(d[4])<<8|uint16(d[5]))
			le.PutUint16(p[12:], uint16(d[6])<<8|uint16(d[7]))
			le.PutUint16(p[14:], uint16(d[8])<<8|uint16(d[9]))
			le.PutUint16(p[16:], uint16(d[10])<<8|uint16(d[11]))
			return nil
		}
		if sense != nil {
			p[4] = 0x01
			return nil
		}
		copy(data, out)
		p[8], p[19] = 0, 0x50
	default:
		p[4] = 0x01
	}
	return nil
}

func (c *Controller) note(s string) {
	c.mu.Lock()
	c.log = append(c.log, s)
	c.mu.Unlock()
}
