package hwraid

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"github.com/diskwatch/diskwatch/collectors/hostroot"
	"github.com/diskwatch/diskwatch/collectors/model"
	"github.com/diskwatch/diskwatch/collectors/smart"
	"github.com/diskwatch/diskwatch/collectors/smart/passthrough"
	"github.com/diskwatch/diskwatch/collectors/smart/scsi"
)

// HostNative is the native pass-through of the live host: MegaRAID
// through MFI, 3ware 9000 (twa) and 6000-8000 (twe) through the firmware
// ATA pass-through. It reads nothing under --root (ErrUnsupported) and
// leaves 9750 (twl) controllers to the smartctl fallback.
type HostNative struct {
	FS hostroot.FS
	// Timeout bounds each command (0: 10 s).
	Timeout time.Duration
}

func (h *HostNative) timeout() time.Duration {
	if h.Timeout > 0 {
		return h.Timeout
	}
	return 10 * time.Second
}

// Targets lists a MegaRAID's physical disks with a PD GET LIST DCMD, and
// asks each for its INQUIRY to tell SATA disks (vendor "ATA", read through
// SAT) from SAS/SCSI ones.
func (h *HostNative) Targets(ctx context.Context, ct Controller) ([]Target, error) {
	if !h.FS.IsHost() || unsafe.Sizeof(uintptr(0)) != 8 {
		return nil, ErrUnsupported
	}
	if ct.Family == Family3ware {
		return h.threewareTargets(ctx, ct)
	}
	if ct.Family != FamilyMegaRAID {
		return nil, ErrUnsupported
	}
	m, err := openMFI(h.FS, ct.Host)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ct.Name, err)
	}
	defer m.Close()
	pds, err := m.PDList(ctx, h.timeout())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ct.Name, err)
	}
	var out []Target
	for _, pd := range pds {
		if pd.SCSIDevType != 0 {
			continue // enclosures and other non-disk devices
		}
		t := Target{N: int(pd.DeviceID)}
		d := m.Disk(pd.DeviceID)
		if b, err := d.SCSIRead(ctx, "INQUIRY", passthrough.InquiryCDB(false, 0, 36), 36, h.timeout()); err == nil {
			if q, err := scsi.ParseInquiry(b); err == nil && strings.TrimSpace(q.Vendor) == "ATA" {
				t.SATA = true
			}
		}
		out = append(out, t)
	}
	sortTargets(out)
	return out, nil
}

// Read reads one physical disk behind a MegaRAID: SCSI INQUIRY, VPD and
// log pages for a SAS/SCSI disk, ATA IDENTIFY and SMART through SAT for a
// SATA disk, all through MFI pass-through frames.
func (h *HostNative) Read(ctx context.Context, ct Controller, t Target) (model.Disk, error) {
	if !h.FS.IsHost() {
		return model.Disk{}, ErrUnsupported
	}
	if ct.Family == Family3ware {
		return h.threewareRead(ctx, ct, t)
	}
	if ct.Family != FamilyMegaRAID {
		return model.Disk{}, ErrUnsupported
	}
	m, err := openMFI(h.FS, ct.Host)
	if err != nil {
		return model.Disk{}, fmt.Errorf("%s: %w", ct.Port(t.N), err)
	}
	defer m.Close()
	d := model.Disk{Device: model.DeviceInfo{Path: fmt.Sprintf("/dev/bus/%d", ct.Host), Via: ct.Via(t.N, false)}}
	r := smart.Reader{Timeout: h.timeout()}
	tr := m.Disk(uint16(t.N))
	if t.SATA {
		err = r.ReadATA(ctx, tr, &d)
	} else {
		err = r.ReadSCSI(ctx, tr, &d)
	}
	if err != nil {
		return d, fmt.Errorf("%s: %w", ct.Port(t.N), err)
	}
	return d, nil
}

// mfiNode is the open MegaRAID ioctl node, addressing one SCSI host.
type mfiNode struct {
	f    *os.File
	host uint16
}

func openMFI(fs hostroot.FS, host int) (*mfiNode, error) {
	p := fs.Dev(MegaRAIDNode)
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", p, err)
	}
	return &mfiNode{f: f, host: uint16(host)}, nil
}

func (m *mfiNode) Close() error { return m.f.Close() }

// run sends one ioctl packet built around frame, reading into data, and
// returns the frame's command status and the sense bytes.
func (m *mfiNode) run(ctx context.Context, step string, frame []byte, sglOff uint32, data []byte, pthru bool) (uint8, []byte, error) {
	var sense []byte
	var senseAddr uint64
	if pthru {
		sense = make([]byte, mfiSenseLen)
		senseAddr = uint64(uintptr(unsafe.Pointer(&sense[0])))
	}
	var dataAddr uint64
	if len(data) > 0 {
		dataAddr = uint64(uintptr(unsafe.Pointer(&data[0])))
	}
	pkt := IocPacket(m.host, frame, sglOff, dataAddr, len(data), senseAddr)
	type res struct{ errno syscall.Errno }
	ch := make(chan res, 1)
	fd := m.f.Fd()
	go func() {
		_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, fd, megasasIOCFirmware, uintptr(unsafe.Pointer(&pkt[0])))
		runtime.KeepAlive(data)
		runtime.KeepAlive(sense)
		runtime.KeepAlive(pkt)
		runtime.KeepAlive(m.f)
		ch <- res{errno}
	}()
	select {
	case r := <-ch:
		if r.errno != 0 {
			return 0, nil, fmt.Errorf("%s: MEGASAS_IOC_FIRMWARE: %w", step, r.errno)
		}
	case <-ctx.Done():
		return 0, nil, fmt.Errorf("%s: %w", step, ctx.Err())
	}
	return pkt[iocHeaderSize+offCmdStatus], sense, nil
}

// PDList runs the PD GET LIST DCMD.
func (m *mfiNode) PDList(ctx context.Context, timeout time.Duration) ([]PD, error) {
	buf := make([]byte, pdListHeaderSize+256*pdAddressSize)
	st, _, err := m.run(ctx, "PD GET LIST", DCMDFrame(MRDCMDPDGetList, len(buf), secs(timeout)), offDCMDSGL, buf, false)
	if err != nil {
		return nil, err
	}
	if st != mfiStatOK {
		return nil, errMFIStatus{"PD GET LIST", st}
	}
	return ParsePDList(buf)
}

func secs(d time.Duration) uint16 {
	s := d / time.Second
	if s < 1 {
		s = 1
	}
	if s > 0xffff {
		s = 0xffff
	}
	return uint16(s)
}

// Disk is the pass-through transport to one physical disk.
func (m *mfiNode) Disk(id uint16) *mfiDisk { return &mfiDisk{m: m, id: id} }

// mfiDisk sends SCSI and SAT commands to one physical disk through MFI
// pass-through frames (smart.SCSITransport and smart.ATATransport).
type mfiDisk struct {
	m  *mfiNode
	id uint16
}

func (d *mfiDisk) name() string { return fmt.Sprintf("megaraid host%d disk %d", d.m.host, d.id) }

func (d *mfiDisk) send(ctx context.Context, step string, cdb []byte, n int, timeout time.Duration) ([]byte, *scsi.Sense, error) {
	frame, err := PthruFrame(d.id, cdb, n, secs(timeout))
	if err != nil {
		return nil, nil, &passthrough.Error{Device: d.name(), Step: step, Err: err}
	}
	var buf []byte
	if n > 0 {
		buf = make([]byte, n)
	}
	st, sb, err := d.m.run(ctx, step, frame, offPthruSGL, buf, true)
	if err != nil {
		return nil, nil, &passthrough.Error{Device: d.name(), Step: step, Err: err}
	}
	switch st {
	case mfiStatOK:
		return buf, nil, nil
	case mfiStatSCSIDoneWithError:
		s, perr := scsi.ParseSense(sb)
		if perr != nil {
			return nil, nil, &passthrough.Error{Device: d.name(), Step: step, Err: errMFIStatus{step, st}}
		}
		return buf, s, nil
	}
	return nil, nil, &passthrough.Error{Device: d.name(), Step: step, Err: errMFIStatus{step, st}}
}

// SCSIRead sends a data-in SCSI command.
func (d *mfiDisk) SCSIRead(ctx context.Context, step string, cdb []byte, n int, timeout time.Duration) ([]byte, error) {
	buf, s, err := d.send(ctx, step, cdb, n, timeout)
	if err != nil {
		return nil, err
	}
	if s != nil {
		e := &passthrough.Error{Device: d.name(), Step: step, Sense: s, Err: syscall.EIO}
		if s.Key == scsi.KeyIllegalRequest {
			e.Err = passthrough.ErrUnsupported
		}
		return nil, e
	}
	return buf, nil
}

// ATA sends an ATA command through SAT (ATA PASS-THROUGH (16)) inside an
// MFI pass-through frame, as smartctl's sat+megaraid does.
func (d *mfiDisk) ATA(ctx context.Context, step string, c passthrough.ATACommand, timeout time.Duration) ([]byte, *scsi.ATARegisters, error) {
	n := 0
	if c.Protocol == passthrough.ATAPIOIn {
		n = 512 * c.Blocks
	}
	buf, s, err := d.send(ctx, step, c.CDB16(), n, timeout)
	if err != nil {
		return nil, nil, err
	}
	if s == nil {
		return buf, nil, nil
	}
	regs := s.ATA
	switch {
	case s.Key == scsi.KeyRecovered && s.ASC == 0 && s.ASCQ == 0x1d && regs != nil:
		if regs.Status&0x01 != 0 {
			return nil, regs, &passthrough.Error{Device: d.name(), Step: step, Sense: s, Err: passthrough.ErrATAAborted}
		}
		return buf, regs, nil
	case s.Key == scsi.KeyNoSense && regs != nil:
		return buf, regs, nil
	case s.Key == scsi.KeyIllegalRequest:
		return nil, regs, &passthrough.Error{Device: d.name(), Step: step, Sense: s, Err: passthrough.ErrUnsupported}
	case s.Key == scsi.KeyAbortedCommand && regs != nil:
		return nil, regs, &passthrough.Error{Device: d.name(), Step: step, Sense: s, Err: passthrough.ErrATAAborted}
	}
	return nil, regs, &passthrough.Error{Device: d.name(), Step: step, Sense: s, Err: syscall.EIO}
}
