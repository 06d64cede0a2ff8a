//go:build linux

package passthrough

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/diskwatch/diskwatch/collectors/smart/scsi"
)

// Direction of a SCSI data transfer.
type Direction int32

// SG_IO transfer directions.
const (
	DirNone     Direction = -1
	DirToDev    Direction = -2
	DirFromDev  Direction = -3
	sgIO                  = 0x2285
	nvmeAdmin             = 0xc0484e41 // _IOWR('N', 0x41, struct nvme_admin_cmd)
	senseLen              = 64
	statusCheck           = 0x02
)

// sgIOHdr is struct sg_io_hdr (include/scsi/sg.h), 88 bytes on 64-bit.
type sgIOHdr struct {
	interfaceID    int32
	dxferDirection int32
	cmdLen         uint8
	mxSbLen        uint8
	iovecCount     uint16
	dxferLen       uint32
	dxferp         uintptr
	cmdp           uintptr
	sbp            uintptr
	timeout        uint32
	flags          uint32
	packID         int32
	usrPtr         uintptr
	status         uint8
	maskedStatus   uint8
	msgStatus      uint8
	sbLenWr        uint8
	hostStatus     uint16
	driverStatus   uint16
	resid          int32
	duration       uint32
	info           uint32
}

// nvmeAdminCmd is struct nvme_admin_cmd (include/uapi/linux/nvme_ioctl.h),
// 72 bytes.
type nvmeAdminCmd struct {
	opcode      uint8
	flags       uint8
	rsvd1       uint16
	nsid        uint32
	cdw2, cdw3  uint32
	metadata    uint64
	addr        uint64
	metadataLen uint32
	dataLen     uint32
	cdw10       uint32
	cdw11       uint32
	cdw12       uint32
	cdw13       uint32
	cdw14       uint32
	cdw15       uint32
	timeoutMS   uint32
	result      uint32
}

// Kind of device node.
type Kind int

// Device node kinds: NVMe controller/namespace nodes take NVMe ioctls
// only; everything else takes SG_IO only.
const (
	KindSCSI Kind = iota
	KindNVMe
)

var nvmeName = regexp.MustCompile(`^nvme[0-9]+(n[0-9]+)?$`)

// KindOf tells from a /dev path which ioctl family it takes.
func KindOf(path string) Kind {
	if nvmeName.MatchString(filepath.Base(path)) {
		return KindNVMe
	}
	return KindSCSI
}

// Device is an open disk node.
type Device struct {
	Path string
	Kind Kind
	f    *os.File
	// use12 is set once ATA PASS-THROUGH (16) was refused.
	use12 bool
}

// Open opens a device node read-only and non-blocking (as smartctl does:
// opening never spins a disk up). A permission failure wraps
// fs.ErrPermission.
func Open(path string) (*Device, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, &Error{Device: path, Step: "open", Err: err}
	}
	return &Device{Path: path, Kind: KindOf(path), f: f}, nil
}

// Close closes the node.
func (d *Device) Close() error { return d.f.Close() }

// Error is a pass-through failure: which device, which step, and the errno,
// SCSI status/sense or NVMe status behind it.
type Error struct {
	Device, Step string
	Err          error
	// Sense is the decoded sense data of a CHECK CONDITION, if any.
	Sense *scsi.Sense
	// NVMeStatus is the NVMe completion status (0 when not an NVMe
	// status failure).
	NVMeStatus uint32
	// HostStatus/DriverStatus of SG_IO when the transport failed.
	HostStatus, DriverStatus uint16
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("%s: %s", e.Device, e.Step)
	switch {
	case e.Sense != nil:
		msg += ": " + e.Sense.String()
		if e.Sense.ATA != nil && e.Sense.ATA.Status&1 != 0 {
			msg += fmt.Sprintf(" [ATA status 0x%02x error 0x%02x]", e.Sense.ATA.Status, e.Sense.ATA.Error)
		}
	case e.NVMeStatus != 0:
		msg += fmt.Sprintf(": NVMe status 0x%04x", e.NVMeStatus)
	case e.HostStatus != 0 || e.DriverStatus != 0:
		msg += fmt.Sprintf(": host status 0x%x driver status 0x%x", e.HostStatus, e.DriverStatus)
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap exposes the errno (errors.Is(err, fs.ErrPermission) works).
func (e *Error) Unwrap() error { return e.Err }

// ErrUnsupported marks a command the device or bridge refused as invalid
// (ILLEGAL REQUEST / invalid opcode or field, NVMe invalid opcode/field).
var ErrUnsupported = errors.New("command not supported by the device")

// ErrWrongKind is returned when an NVMe command is aimed at a SCSI node or
// the reverse.
var ErrWrongKind = errors.New("wrong ioctl family for this device node")

// ioctl runs one ioctl in its own goroutine so a stuck device cannot hold
// the caller past ctx; the kernel timeout in the request bounds the ioctl
// itself. keep holds the buffers the request points to.
func (d *Device) ioctl(ctx context.Context, req uintptr, arg unsafe.Pointer, keep ...any) (uintptr, error) {
	type res struct {
		r   uintptr
		err error
	}
	ch := make(chan res, 1)
	fd := d.f.Fd()
	go func() {
		r, _, errno := unix.Syscall(unix.SYS_IOCTL, fd, req, uintptr(arg))
		runtime.KeepAlive(keep)
		runtime.KeepAlive(d.f)
		if errno != 0 {
			ch <- res{r, errno}
			return
		}
		ch <- res{r, nil}
	}()
	select {
	case r := <-ch:
		return r.r, r.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// SCSIResult is what came back from an SG_IO command.
type SCSIResult struct {
	Status uint8
	Sense  *scsi.Sense
	// Resid is the number of bytes not transferred.
	Resid int
}

func msTimeout(ctx context.Context, t time.Duration) uint32 {
	if dl, ok := ctx.Deadline(); ok {
		if r := time.Until(dl); r < t { // bound the kernel timeout by ctx
			t = r
		}
	}
	if t < 100*time.Millisecond {
		t = 100 * time.Millisecond
	}
	return uint32(t / time.Millisecond)
}

// SCSI sends one SCSI command through SG_IO. A CHECK CONDITION comes back
// as a result with Sense set and no error: the caller decides (SAT uses it
// to return ATA registers). Transport failures are errors.
func (d *Device) SCSI(ctx context.Context, step string, cdb []byte, dir Direction, buf []byte, timeout time.Duration) (*SCSIResult, error) {
	if d.Kind != KindSCSI {
		return nil, &Error{Device: d.Path, Step: step, Err: ErrWrongKind}
	}
	sense := make([]byte, senseLen)
	h := sgIOHdr{
		interfaceID:    'S',
		dxferDirection: int32(dir),
		cmdLen:         uint8(len(cdb)),
		mxSbLen:        senseLen,
		dxferLen:       uint32(len(buf)),
		cmdp:           uintptr(unsafe.Pointer(&cdb[0])),
		sbp:            uintptr(unsafe.Pointer(&sense[0])),
		timeout:        msTimeout(ctx, timeout),
	}
	if len(buf) > 0 {
		h.dxferp = uintptr(unsafe.Pointer(&buf[0]))
	} else {
		h.dxferDirection = int32(DirNone)
	}
	if _, err := d.ioctl(ctx, sgIO, unsafe.Pointer(&h), cdb, sense, buf); err != nil {
		return nil, &Error{Device: d.Path, Step: step, Err: err}
	}
	res := &SCSIResult{Status: h.status, Resid: int(h.resid)}
	if h.sbLenWr > 0 {
		s, err := scsi.ParseSense(sense[:h.sbLenWr])
		if err == nil {
			res.Sense = s
		}
	}
	// DRIVER_SENSE (0x08) only says sense data is there.
	if h.hostStatus != 0 || h.driverStatus&^0x08 != 0 {
		if h.hostStatus == 0x03 || h.driverStatus&^0x08 == 0x06 { // DID_TIME_OUT, DRIVER_TIMEOUT
			return res, &Error{Device: d.Path, Step: step, HostStatus: h.hostStatus, DriverStatus: h.driverStatus, Err: syscall.ETIMEDOUT}
		}
		return res, &Error{Device: d.Path, Step: step, HostStatus: h.hostStatus, DriverStatus: h.driverStatus, Err: syscall.EIO}
	}
	return res, nil
}

// SCSIRead sends a data-in SCSI command and fails on any CHECK CONDITION
// other than RECOVERED ERROR. It returns the bytes transferred.
func (d *Device) SCSIRead(ctx context.Context, step string, cdb []byte, n int, timeout time.Duration) ([]byte, error) {
	buf := make([]byte, n)
	dir := DirFromDev
	if n == 0 {
		dir = DirNone
	}
	res, err := d.SCSI(ctx, step, cdb, dir, buf, timeout)
	if err != nil {
		return nil, err
	}
	if err := checkStatus(d.Path, step, res); err != nil {
		return nil, err
	}
	got := n - res.Resid
	if got < 0 || got > n {
		got = n
	}
	return buf[:got], nil
}

func checkStatus(path, step string, res *SCSIResult) error {
	if res.Status == 0 {
		return nil
	}
	if res.Sense == nil {
		return &Error{Device: path, Step: step, Err: fmt.Errorf("SCSI status 0x%02x without sense data", res.Status)}
	}
	switch res.Sense.Key {
	case scsi.KeyNoSense, scsi.KeyRecovered:
		return nil
	case scsi.KeyIllegalRequest:
		return &Error{Device: path, Step: step, Sense: res.Sense, Err: ErrUnsupported}
	}
	return &Error{Device: path, Step: step, Sense: res.Sense, Err: syscall.EIO}
}

// ATA sends an ATA command through SAT: ATA PASS-THROUGH (16), or (12)
// when the device refused (16) as an invalid opcode (then remembered). It
// returns the data read and, when CheckCondition was asked for or the
// command failed, the ATA output registers.
func (d *Device) ATA(ctx context.Context, step string, c ATACommand, timeout time.Duration) ([]byte, *scsi.ATARegisters, error) {
	if d.Kind != KindSCSI {
		return nil, nil, &Error{Device: d.Path, Step: step, Err: ErrWrongKind}
	}
	buf := make([]byte, 512*c.Blocks)
	copy(buf, c.Data)
	dir := DirNone
	switch c.Protocol {
	case ATAPIOIn:
		dir = DirFromDev
	case ATAPIOOut:
		dir = DirToDev
	}
	for {
		cdb := c.CDB16()
		if d.use12 {
			if c.Extend {
				return nil, nil, &Error{Device: d.Path, Step: step, Err: fmt.Errorf("48-bit command needs ATA PASS-THROUGH (16): %w", ErrUnsupported)}
			}
			cdb = c.CDB12()
		}
		res, err := d.SCSI(ctx, step, cdb, dir, buf, timeout)
		if err != nil {
			return nil, nil, err
		}
		var regs *scsi.ATARegisters
		if res.Sense != nil {
			regs = res.Sense.ATA
		}
		if res.Status == 0 {
			return buf, regs, nil
		}
		s := res.Sense
		if s == nil {
			return nil, nil, &Error{Device: d.Path, Step: step, Err: fmt.Errorf("SCSI status 0x%02x without sense data", res.Status)}
		}
		switch {
		case s.Key == scsi.KeyRecovered && s.ASC == 0 && s.ASCQ == 0x1d && regs != nil:
			// CK_COND: registers returned, command succeeded unless the
			// ATA status says ERR.
			if regs.Status&0x01 != 0 {
				return nil, regs, &Error{Device: d.Path, Step: step, Sense: s, Err: ErrATAAborted}
			}
			return buf, regs, nil
		case s.Key == scsi.KeyNoSense && regs != nil:
			return buf, regs, nil
		case s.Key == scsi.KeyIllegalRequest && s.ASC == 0x20 && !d.use12:
			d.use12 = true
			continue
		case s.Key == scsi.KeyIllegalRequest:
			return nil, regs, &Error{Device: d.Path, Step: step, Sense: s, Err: ErrUnsupported}
		case s.Key == scsi.KeyAbortedCommand && regs != nil:
			return nil, regs, &Error{Device: d.Path, Step: step, Sense: s, Err: ErrATAAborted}
		}
		return nil, regs, &Error{Device: d.Path, Step: step, Sense: s, Err: syscall.EIO}
	}
}

// ErrATAAborted marks an ATA command the drive completed with ERR set
// (typically ABRT: not supported, or refused in the current state).
var ErrATAAborted = errors.New("ATA command aborted by the device")

// NVMeAdmin sends an NVMe admin command and returns the data read and the
// completion's command-specific result (DW0).
func (d *Device) NVMeAdmin(ctx context.Context, step string, c NVMeCommand, timeout time.Duration) ([]byte, uint32, error) {
	if d.Kind != KindNVMe {
		return nil, 0, &Error{Device: d.Path, Step: step, Err: ErrWrongKind}
	}
	var buf []byte
	cmd := nvmeAdminCmd{opcode: c.Opcode, nsid: c.NSID, cdw10: c.CDW10, cdw11: c.CDW11, cdw12: c.CDW12,
		cdw13: c.CDW13, cdw14: c.CDW14, cdw15: c.CDW15, timeoutMS: msTimeout(ctx, timeout)}
	if c.DataLen > 0 {
		buf = make([]byte, c.DataLen)
		cmd.addr = uint64(uintptr(unsafe.Pointer(&buf[0])))
		cmd.dataLen = uint32(c.DataLen)
	}
	r, err := d.ioctl(ctx, nvmeAdmin, unsafe.Pointer(&cmd), buf)
	if err != nil {
		return nil, 0, &Error{Device: d.Path, Step: step, Err: err}
	}
	if r != 0 {
		st := uint32(r)
		e := &Error{Device: d.Path, Step: step, NVMeStatus: st, Err: syscall.EIO}
		// Generic status: 01h invalid opcode, 02h invalid field.
		if sc, sct := st&0xff, (st>>8)&0x7; sct == 0 && (sc == 1 || sc == 2) {
			e.Err = ErrUnsupported
		}
		return nil, 0, e
	}
	return buf, cmd.result, nil
}
