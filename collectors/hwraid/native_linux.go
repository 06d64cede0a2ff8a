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
	"github.com/diskwatch/diskwatch/collectors/smart/ata"
	"github.com/diskwatch/diskwatch/collectors/smart/passthrough"
	"github.com/diskwatch/diskwatch/collectors/smart/scsi"
)

// HostNative is the native pass-through of the live host: MegaRAID
// through MFI, 3ware 9000 (twa), 9750 (twl) and 6000-8000 (twe) through
// the firmware ATA pass-through. It reads nothing under --root
// (ErrUnsupported) unless an emulated controller is set (MFI, TW).
type HostNative struct {
	FS hostroot.FS
	// Timeout bounds each command (0: 10 s).
	Timeout time.Duration
	// Standby is the power-mode policy (nil: standby, as smartd's -n
	// standby): a disk in standby is not read.
	Standby *smart.Standby
	// DB is the drive database for ATA attribute names and raw formats
	// (nil: the built-in table), as the SMART collector uses.
	DB *ata.DriveDB
	// TW returns the ioctl port of a 3ware controller (nil: its
	// character device on the host). Tests set an emulated controller.
	TW func(ct Controller) (TwPort, error)
	// MFI sends MegaRAID frames (nil: the MEGASAS_IOC_FIRMWARE ioctl on
	// the host's megaraid_sas_ioctl_node). Tests set an emulated
	// controller here; it is used under any root.
	MFI MFIPort
}

// ServesRoot reports whether the native path works under a fixture root:
// only with an emulated MFI controller.
func (h *HostNative) ServesRoot() bool { return h.MFI != nil || h.TW != nil }

func (h *HostNative) timeout() time.Duration {
	if h.Timeout > 0 {
		return h.Timeout
	}
	return 10 * time.Second
}

func (h *HostNative) standby() smart.Standby {
	if h.Standby != nil {
		return *h.Standby
	}
	return smart.Standby{Mode: "standby"}
}

// openMFI returns the MFI port for a controller and a function that
// closes it.
func (h *HostNative) openMFI(ct Controller) (*mfiCtl, func(), error) {
	if h.MFI != nil {
		return &mfiCtl{port: h.MFI, host: uint16(ct.Host)}, func() {}, nil
	}
	if !h.FS.IsHost() || unsafe.Sizeof(uintptr(0)) != 8 {
		return nil, nil, ErrUnsupported
	}
	n, err := openMFINode(h.FS)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", ct.Name, err)
	}
	return &mfiCtl{port: n, host: uint16(ct.Host)}, func() { n.Close() }, nil
}

// Targets lists a controller's physical disks. For a MegaRAID: PD GET
// LIST, then PD GET INFO for each disk (its INQUIRY tells a SATA disk,
// read through SAT, from a SAS one), and the pass-through address that
// reaches it (see PDAddrCandidates).
func (h *HostNative) Targets(ctx context.Context, ct Controller) ([]Target, error) {
	if ct.Family == Family3ware {
		if h.TW == nil && (!h.FS.IsHost() || unsafe.Sizeof(uintptr(0)) != 8) {
			return nil, ErrUnsupported
		}
		return h.threewareTargets(ctx, ct)
	}
	if ct.Family != FamilyMegaRAID {
		return nil, ErrUnsupported
	}
	m, done, err := h.openMFI(ct)
	if err != nil {
		return nil, err
	}
	defer done()
	pds, err := m.PDList(ctx, h.timeout())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ct.Name, err)
	}
	var out []Target
	for _, pd := range pds {
		if pd.SCSIDevType != 0 {
			continue // enclosures and other non-disk devices
		}
		t := Target{N: int(pd.DeviceID), Slot: int(pd.Slot), Enclosure: encl(pd.EnclDeviceID)}
		var info *PDInfo
		if in, err := m.PDInfo(ctx, pd.DeviceID, h.timeout()); err == nil {
			info = &in
			t.SATA = in.SATA()
		} else {
			t.infoErr = err.Error()
		}
		a, ok := m.resolve(ctx, pd.DeviceID, info, h.timeout())
		if !ok {
			t.noPath = fmt.Sprintf("no pass-through address reaches device id %d (tried %v): its SMART cannot be read", pd.DeviceID, PDAddrCandidates(pd.DeviceID))
		}
		t.addr, t.info = a, info
		if info == nil {
			// No PD GET INFO: ask the disk itself whether it is SATA.
			if b, err := m.Disk(a, pd.DeviceID).SCSIRead(ctx, "INQUIRY", passthrough.InquiryCDB(false, 0, 36), 36, h.timeout()); err == nil {
				if q, err := scsi.ParseInquiry(b); err == nil && strings.TrimSpace(q.Vendor) == "ATA" {
					t.SATA = true
				}
			}
		}
		out = append(out, t)
	}
	sortTargets(out)
	return out, nil
}

// Read reads one physical disk behind a MegaRAID: SCSI INQUIRY, VPD and
// log pages for a SAS/SCSI disk, ATA IDENTIFY and SMART through SAT for a
// SATA disk, all through MFI pass-through frames, the disk's power mode
// checked first (CHECK POWER MODE through SAT, REQUEST SENSE for SCSI): a
// disk in standby is left unread.
func (h *HostNative) Read(ctx context.Context, ct Controller, t Target) (model.Disk, error) {
	if ct.Family == Family3ware {
		if h.TW == nil && !h.FS.IsHost() {
			return model.Disk{}, ErrUnsupported
		}
		return h.threewareRead(ctx, ct, t)
	}
	if ct.Family != FamilyMegaRAID {
		return model.Disk{}, ErrUnsupported
	}
	d := model.Disk{Device: model.DeviceInfo{Path: fmt.Sprintf("/dev/bus/%d", ct.Host), Via: ct.Via(t.N, t.SATA)}}
	if t.noPath != "" {
		// Known to the firmware but not reachable: its identity from
		// PD GET INFO's INQUIRY data, no SMART.
		if t.info != nil {
			if q, err := scsi.ParseInquiry(t.info.Inquiry); err == nil {
				d.Device.Protocol, d.Device.Model, d.Device.Firmware = "scsi", q.ModelName(), q.Revision
			}
		}
		d.Errors = append(d.Errors, t.noPath)
		return d, nil
	}
	m, done, err := h.openMFI(ct)
	if err != nil {
		return model.Disk{}, fmt.Errorf("%s: %w", ct.Port(t.N), err)
	}
	defer done()
	r := smart.Reader{Timeout: h.timeout(), Standby: h.standby(), DB: h.DB}
	tr := m.Disk(t.addr, uint16(t.N))
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

// State reads a MegaRAID's logical drives, physical disk states and
// battery through DCMDs (none of which touches a disk's media).
func (h *HostNative) State(ctx context.Context, ct Controller) (model.Controller, error) {
	if ct.Family != FamilyMegaRAID {
		return model.Controller{}, ErrUnsupported
	}
	m, done, err := h.openMFI(ct)
	if err != nil {
		return model.Controller{}, err
	}
	defer done()
	pds, err := m.PDList(ctx, h.timeout())
	if err != nil {
		return model.Controller{}, fmt.Errorf("%s: %w", ct.Name, err)
	}
	infos := map[uint16]*PDInfo{}
	for _, pd := range pds {
		if pd.SCSIDevType != 0 {
			continue
		}
		if in, err := m.PDInfo(ctx, pd.DeviceID, h.timeout()); err == nil {
			infos[pd.DeviceID] = &in
		}
	}
	return m.State(ctx, ct, pds, infos, h.timeout()), nil
}

// mfiNode is the open MegaRAID ioctl node: the host's MFIPort.
type mfiNode struct {
	f *os.File
}

func openMFINode(fs hostroot.FS) (*mfiNode, error) {
	p := fs.Dev(MegaRAIDNode)
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", p, err)
	}
	return &mfiNode{f: f}, nil
}

func (m *mfiNode) Close() error { return m.f.Close() }

// Fire sends one frame with MEGASAS_IOC_FIRMWARE.
func (m *mfiNode) Fire(ctx context.Context, host uint16, frame, data, sense []byte) error {
	var senseAddr, dataAddr uint64
	if len(sense) > 0 {
		senseAddr = uint64(uintptr(unsafe.Pointer(&sense[0])))
	}
	if len(data) > 0 {
		dataAddr = uint64(uintptr(unsafe.Pointer(&data[0])))
	}
	sglOff := uint32(offDCMDSGL)
	if frame[offCmd] == mfiCmdPDSCSIIO {
		sglOff = offPthruSGL
	}
	pkt := IocPacket(host, frame, sglOff, dataAddr, len(data), senseAddr)
	ch := make(chan syscall.Errno, 1)
	fd := m.f.Fd()
	go func() {
		_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, fd, megasasIOCFirmware, uintptr(unsafe.Pointer(&pkt[0])))
		runtime.KeepAlive(data)
		runtime.KeepAlive(sense)
		runtime.KeepAlive(pkt)
		runtime.KeepAlive(m.f)
		ch <- errno
	}()
	select {
	case e := <-ch:
		if e != 0 {
			return fmt.Errorf("MEGASAS_IOC_FIRMWARE: %w", e)
		}
	case <-ctx.Done():
		return ctx.Err()
	}
	copy(frame, pkt[iocHeaderSize:iocHeaderSize+mfiFrameSize])
	return nil
}
