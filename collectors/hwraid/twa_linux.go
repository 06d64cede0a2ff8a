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

// twNode is an open 3ware character device (/dev/twaN or /dev/tweN).
type twNode struct {
	f    *os.File
	kind string // twaChar or tweChar
	name string // "twa0"
}

func openTw(h *HostNative, ct Controller) (*twNode, error) {
	var kind string
	switch ct.Driver {
	case "3w-9xxx":
		kind = twaChar
	case "3w-xxxx":
		kind = tweChar
	default:
		return nil, ErrUnsupported // 3w-sas (twl): smartctl
	}
	p := h.FS.Dev(ct.Name)
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: open %s: %w", ct.Name, p, err)
	}
	return &twNode{f: f, kind: kind, name: ct.Name}, nil
}

func (n *twNode) Close() error { return n.f.Close() }

// ioctl sends one buffer and waits, giving up when ctx ends.
func (n *twNode) ioctl(ctx context.Context, step string, buf []byte) error {
	req := uintptr(twIoctlFirmwarePassThrough)
	if n.kind == tweChar {
		req = twCmdPacketWithData
	}
	ch := make(chan syscall.Errno, 1)
	fd := n.f.Fd()
	go func() {
		_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, fd, req, uintptr(unsafe.Pointer(&buf[0])))
		runtime.KeepAlive(buf)
		runtime.KeepAlive(n.f)
		ch <- errno
	}()
	select {
	case e := <-ch:
		if e != 0 {
			return fmt.Errorf("%s: %s: ioctl: %w", n.name, step, e)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%s: %s: %w", n.name, step, ctx.Err())
	}
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

// ATA sends a 28-bit ATA command (non-data, or PIO data-in of one block)
// through the firmware pass-through.
func (d *twDisk) ATA(ctx context.Context, step string, c passthrough.ATACommand, _ time.Duration) ([]byte, *scsi.ATARegisters, error) {
	dev := fmt.Sprintf("%s port %d", d.n.name, d.port)
	if c.Extend || c.Protocol == passthrough.ATAPIOOut || c.Blocks > 1 || c.LBA>>24 != 0 {
		return nil, nil, &passthrough.Error{Device: dev, Step: step, Err: passthrough.ErrUnsupported}
	}
	tc := TwATA{Command: c.Command, Features: uint8(c.Features), Count: uint8(c.Count), LBALow: uint8(c.LBA),
		LBAMid: uint8(c.LBA >> 8), LBAHigh: uint8(c.LBA >> 16), Device: c.Device, DataIn: c.Protocol == passthrough.ATAPIOIn}
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
	regs := &scsi.ATARegisters{Status: r.ATAStatus, Error: r.ATAError, Count: uint16(r.Count), LBALow: r.LBALow, LBAMid: r.LBAMid, LBAHigh: r.LBAHigh,
		LBA: uint64(r.LBAHigh)<<16 | uint64(r.LBAMid)<<8 | uint64(r.LBALow)}
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

// threewareRead reads the drive on one port: IDENTIFY first (an empty port
// is skipped quietly), then ATA SMART through the pass-through.
func (h *HostNative) threewareRead(ctx context.Context, ct Controller, t Target) (model.Disk, error) {
	n, err := openTw(h, ct)
	if err != nil {
		return model.Disk{}, err
	}
	defer n.Close()
	tr := &twDisk{n: n, port: uint8(t.N)}
	if _, _, err := tr.ATA(ctx, "IDENTIFY DEVICE", passthrough.ATACommand{Command: passthrough.ATAIdentify, Protocol: passthrough.ATAPIOIn, Count: 1, Blocks: 1}, h.timeout()); err != nil {
		return model.Disk{}, fmt.Errorf("%s: %w (%w)", ct.Port(t.N), err, ErrNoDrive)
	}
	d := model.Disk{Device: model.DeviceInfo{Path: "/dev/" + ct.Name, Via: ct.Via(t.N, false)}}
	r := smart.Reader{Timeout: h.timeout()}
	if err := r.ReadATA(ctx, tr, &d); err != nil {
		return d, fmt.Errorf("%s: %w", ct.Port(t.N), err)
	}
	return d, nil
}
