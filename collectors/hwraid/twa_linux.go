package hwraid

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"syscall"
	"time"
	"unsafe"

	"github.com/diskwatch/diskwatch/collectors/model"
	"github.com/diskwatch/diskwatch/collectors/smart"
	"github.com/diskwatch/diskwatch/collectors/smart/passthrough"
	"github.com/diskwatch/diskwatch/collectors/smart/scsi"
)

// TwPort sends 3ware ioctls: the buffer carries the command packet and
// its data inline (TW_Ioctl_Buf_Apache, TW_New_Ioctl), and the firmware's
// answer comes back in the same buffer. The live host's port is the
// character device; a test's is an emulated controller.
type TwPort interface {
	Ioctl(ctx context.Context, req uintptr, buf []byte) error
}

// twNode is an open 3ware controller (/dev/twaN, /dev/twlN, /dev/tweN).
type twNode struct {
	port  TwPort
	close func()
	kind  string // twaChar or tweChar
	name  string // "twa0"
}

func openTw(h *HostNative, ct Controller) (*twNode, error) {
	var kind string
	switch ct.Driver {
	case "3w-9xxx", "3w-sas":
		kind = twaChar // 9000 and 9750: the same Apache ioctl buffer
	case "3w-xxxx":
		kind = tweChar
	default:
		return nil, ErrUnsupported
	}
	if h.TW != nil {
		p, err := h.TW(ct)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", ct.Name, err)
		}
		return &twNode{port: p, close: func() {}, kind: kind, name: ct.Name}, nil
	}
	if !h.FS.IsHost() {
		return nil, ErrUnsupported
	}
	p := h.FS.Dev(ct.Name)
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: open %s: %w", ct.Name, p, err)
	}
	return &twNode{port: twFile{f}, close: func() { f.Close() }, kind: kind, name: ct.Name}, nil
}

func (n *twNode) Close() error { n.close(); return nil }

// twFile is the host's 3ware character device.
type twFile struct{ f *os.File }

// Ioctl sends one buffer and waits, giving up when ctx ends.
func (t twFile) Ioctl(ctx context.Context, req uintptr, buf []byte) error {
	ch := make(chan syscall.Errno, 1)
	fd := t.f.Fd()
	go func() {
		_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, fd, req, uintptr(unsafe.Pointer(&buf[0])))
		runtime.KeepAlive(buf)
		runtime.KeepAlive(t.f)
		ch <- errno
	}()
	select {
	case e := <-ch:
		if e != 0 {
			return e
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ioctl sends one buffer through the controller's port.
func (n *twNode) ioctl(ctx context.Context, step string, buf []byte) error {
	req := uintptr(twIoctlFirmwarePassThrough)
	if n.kind == tweChar {
		req = twCmdPacketWithData
	}
	if err := n.port.Ioctl(ctx, req, buf); err != nil {
		return fmt.Errorf("%s: %s: ioctl: %w", n.name, step, err)
	}
	return nil
}

// portCount asks a 9000-series controller for its number of ports.
func (n *twNode) portCount(ctx context.Context) (int, error) {
	if n.kind != twaChar {
		return 0, ErrUnsupported
	}
	b := TwaGetParamBuf(twInformationTable, twParamPortCount, 1)
	if err := n.ioctl(ctx, "GET PARAM port count", b); err != nil {
		return 0, err
	}
	if r, _ := ParseTwPacket(b[twaCommandOffset:]); r.Status != 0 {
		return 0, fmt.Errorf("%s: GET PARAM port count: controller status 0x%02x", n.name, r.Status)
	}
	return ParseTwPortCount(b[twaDataOffset:])
}

// twDisk is the ATA transport to one port (smart.ATATransport).
type twDisk struct {
	n    *twNode
	port uint8
}

// ATA sends an ATA command (non-data, or PIO data-in of one block;
// 48-bit commands carry their previous register bytes in the packet's
// 16-bit fields, as the firmware takes them) through the firmware
// pass-through.
func (d *twDisk) ATA(ctx context.Context, step string, c passthrough.ATACommand, _ time.Duration) ([]byte, *scsi.ATARegisters, error) {
	dev := fmt.Sprintf("%s port %d", d.n.name, d.port)
	if c.Protocol == passthrough.ATAPIOOut || c.Blocks > 1 || (!c.Extend && c.LBA>>28 != 0) || c.LBA>>48 != 0 {
		return nil, nil, &passthrough.Error{Device: dev, Step: step, Err: passthrough.ErrUnsupported}
	}
	if c.Extend && d.n.kind == tweChar {
		// The 6000-8000 series firmware predates 48-bit pass-through.
		return nil, nil, &passthrough.Error{Device: dev, Step: step, Err: passthrough.ErrUnsupported}
	}
	tc := TwATA{Command: c.Command, Features: c.Features, Count: c.Count,
		LBALow: uint16(c.LBA & 0xff), LBAMid: uint16(c.LBA >> 8 & 0xff), LBAHigh: uint16(c.LBA >> 16 & 0xff),
		Device: c.Device, DataIn: c.Protocol == passthrough.ATAPIOIn}
	if c.Extend {
		tc.LBALow |= uint16(c.LBA>>24&0xff) << 8
		tc.LBAMid |= uint16(c.LBA>>32&0xff) << 8
		tc.LBAHigh |= uint16(c.LBA>>40&0xff) << 8
	} else {
		tc.Features, tc.Count = c.Features&0xff, c.Count&0xff
	}
	var b []byte
	cmdOff, dataOff := twaCommandOffset, twaDataOffset
	if d.n.kind == tweChar {
		b, cmdOff, dataOff = TweIoctlBuf(d.port, tc), tweCommandOffset, tweDataOffset
	} else {
		b = TwaIoctlBuf(d.port, tc)
	}
	if err := d.n.ioctl(ctx, step, b); err != nil {
		return nil, nil, &passthrough.Error{Device: dev, Step: step, Err: err}
	}
	r, err := ParseTwPacket(b[cmdOff:])
	if err != nil {
		return nil, nil, &passthrough.Error{Device: dev, Step: step, Err: err}
	}
	regs := &scsi.ATARegisters{Extend: c.Extend, Status: r.ATAStatus, Error: r.ATAError, Count: r.Count & 0xff, CountLow: uint8(r.Count),
		LBALow: uint8(r.LBALow), LBAMid: uint8(r.LBAMid), LBAHigh: uint8(r.LBAHigh),
		LBA: uint64(r.LBAHigh&0xff)<<16 | uint64(r.LBAMid&0xff)<<8 | uint64(r.LBALow&0xff)}
	if c.Extend {
		regs.Count = r.Count
		regs.LBA |= uint64(r.LBALow>>8)<<24 | uint64(r.LBAMid>>8)<<32 | uint64(r.LBAHigh>>8)<<40
	}
	switch {
	case r.Status != 0:
		return nil, regs, &passthrough.Error{Device: dev, Step: step, Err: fmt.Errorf("3ware controller status 0x%02x: %w", r.Status, syscall.EIO)}
	case r.ATAStatus&0x21 != 0:
		return nil, regs, &passthrough.Error{Device: dev, Step: step, Err: passthrough.ErrATAAborted}
	}
	var data []byte
	if tc.DataIn {
		data = append([]byte(nil), b[dataOff:dataOff+512]...)
	}
	return data, regs, nil
}

// threewareTargets lists a 3ware controller's ports: the firmware's port
// count (9000 series), else the count in its units' model name.
func (h *HostNative) threewareTargets(ctx context.Context, ct Controller) ([]Target, error) {
	n, err := openTw(h, ct)
	if err != nil {
		return nil, err
	}
	defer n.Close()
	count, err := n.portCount(ctx)
	if err != nil {
		c, _, perr := ThreewarePorts(h.FS, ct)
		if perr != nil {
			return nil, errors.Join(err, perr)
		}
		count = c
	}
	ts := make([]Target, count)
	for i := range ts {
		ts[i] = Target{N: i}
	}
	return ts, nil
}

// threewareRead reads the drive on one port: CHECK POWER MODE first (a
// command a sleeping drive answers without spinning up; a port the
// controller says is empty is skipped quietly), and a drive in standby is
// left unread under the standby policy; then IDENTIFY and ATA SMART
// through the pass-through, attributes named from the drive database.
func (h *HostNative) threewareRead(ctx context.Context, ct Controller, t Target) (model.Disk, error) {
	n, err := openTw(h, ct)
	if err != nil {
		return model.Disk{}, err
	}
	defer n.Close()
	tr := &twDisk{n: n, port: uint8(t.N)}
	d := model.Disk{Device: model.DeviceInfo{Path: "/dev/" + ct.Name, Via: ct.Via(t.N, false)}}
	mode, err := smart.CheckPowerMode(ctx, tr, h.timeout())
	if err != nil {
		return model.Disk{}, fmt.Errorf("%s: %w (%w)", ct.Port(t.N), err, ErrNoDrive)
	}
	if h.standby().Skip(mode, 0) {
		d.Device.Protocol, d.PowerMode, d.Skipped = "ata", mode, mode
		return d, nil
	}
	r := smart.Reader{Timeout: h.timeout(), Standby: h.standby(), DB: h.DB}
	if err := r.ReadATA(ctx, tr, &d); err != nil {
		return d, fmt.Errorf("%s: %w", ct.Port(t.N), err)
	}
	return d, nil
}
