package hwraid

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"syscall"
	"time"

	"github.com/diskwatch/diskwatch/collectors/model"
	"github.com/diskwatch/diskwatch/collectors/smart/passthrough"
	"github.com/diskwatch/diskwatch/collectors/smart/scsi"
)

// MFIPort sends MFI frames to MegaRAID controllers: what the
// MEGASAS_IOC_FIRMWARE ioctl on /dev/megaraid_sas_ioctl_node does. The
// live host's port is the ioctl; a test's is an emulated controller.
type MFIPort interface {
	// Fire sends frame (128 bytes) to the controller at SCSI host host,
	// with data as its one data-in buffer (may be empty) and, for a
	// pass-through frame, sense to receive the sense bytes. As the driver
	// copies the frame back, the firmware's command status lands in
	// frame[2] and the SCSI status in frame[3].
	Fire(ctx context.Context, host uint16, frame, data, sense []byte) error
}

// mfiCtl talks to one MegaRAID controller through a port.
type mfiCtl struct {
	port MFIPort
	host uint16
}

// run sends one frame and returns its command status and sense bytes.
func (m *mfiCtl) run(ctx context.Context, step string, frame, data []byte, pthru bool) (uint8, []byte, error) {
	var sense []byte
	if pthru {
		sense = make([]byte, mfiSenseLen)
	}
	if err := m.port.Fire(ctx, m.host, frame, data, sense); err != nil {
		return 0, nil, fmt.Errorf("%s: %w", step, err)
	}
	return frame[offCmdStatus], sense, nil
}

// dcmd runs a DCMD reading n bytes.
func (m *mfiCtl) dcmd(ctx context.Context, step string, opcode uint32, n int, timeout time.Duration, mbox ...byte) ([]byte, error) {
	buf := make([]byte, n)
	st, _, err := m.run(ctx, step, DCMDFrame(opcode, n, secs(timeout), mbox...), buf, false)
	if err != nil {
		return nil, err
	}
	if st != mfiStatOK {
		return nil, errMFIStatus{step, st}
	}
	return buf, nil
}

// PDList runs the PD GET LIST DCMD.
func (m *mfiCtl) PDList(ctx context.Context, timeout time.Duration) ([]PD, error) {
	b, err := m.dcmd(ctx, "PD GET LIST", MRDCMDPDGetList, pdListHeaderSize+256*pdAddressSize, timeout)
	if err != nil {
		return nil, err
	}
	return ParsePDList(b)
}

// PDInfo runs PD GET INFO for device id.
func (m *mfiCtl) PDInfo(ctx context.Context, id uint16, timeout time.Duration) (PDInfo, error) {
	b, err := m.dcmd(ctx, fmt.Sprintf("PD GET INFO %d", id), MRDCMDPDGetInfo, pdInfoSize, timeout, byte(id), byte(id>>8))
	if err != nil {
		return PDInfo{}, err
	}
	return ParsePDInfo(b)
}

// Disk is the pass-through transport to the physical disk at a.
func (m *mfiCtl) Disk(a PDAddr, id uint16) *mfiDisk { return &mfiDisk{m: m, addr: a, id: id} }

// resolve finds the frame address that reaches device id: the candidate
// whose VPD page 0x83 is the one the firmware gave in PD GET INFO. Without
// that page to compare, the first candidate (the documented address) is
// used. ok is false when no candidate answers with the disk.
func (m *mfiCtl) resolve(ctx context.Context, id uint16, info *PDInfo, timeout time.Duration) (PDAddr, bool) {
	cands := PDAddrCandidates(id)
	if info == nil || !info.HasVPD83() {
		return cands[0], true
	}
	for _, a := range cands {
		b, err := m.Disk(a, id).SCSIRead(ctx, "INQUIRY VPD 0x83", passthrough.InquiryCDB(true, 0x83, uint16(len(info.VPD83))), len(info.VPD83), timeout)
		if err == nil && bytes.Equal(b, info.VPD83) {
			return a, true
		}
	}
	return PDAddr{}, false
}

// State reads the controller's logical drives, the state of its physical
// disks and its battery.
func (m *mfiCtl) State(ctx context.Context, ct Controller, pds []PD, infos map[uint16]*PDInfo, timeout time.Duration) model.Controller {
	out := model.Controller{Name: ct.Name, Host: ct.Host, Family: string(ct.Family)}
	fail := func(err error) { out.Errors = append(out.Errors, err.Error()) }
	phys := map[uint16]model.PhysicalDisk{}
	for _, pd := range pds {
		if pd.SCSIDevType != 0 {
			continue
		}
		p := model.PhysicalDisk{DeviceID: int(pd.DeviceID), Enclosure: encl(pd.EnclDeviceID), Slot: int(pd.Slot), State: "unknown"}
		if in := infos[pd.DeviceID]; in != nil {
			p.State = PDStateName(in.FWState)
			p.MediaErrors, p.OtherErrors, p.PredictiveFailures = int64(in.MediaErrors), int64(in.OtherErrors), int64(in.PredFailures)
			if in.Rebuilding || in.FWState == PDStateRebuild {
				v := in.RebuildPercent
				p.RebuildPercent = &v
			}
		}
		phys[pd.DeviceID] = p
		out.Physical = append(out.Physical, p)
	}
	lds, err := m.LDList(ctx, timeout)
	if err != nil {
		fail(err)
	}
	var cfg Config
	if len(lds) > 0 {
		if cfg, err = m.Config(ctx, timeout); err != nil {
			fail(err)
		}
	}
	arrays := map[uint16]CfgArray{}
	for _, a := range cfg.Arrays {
		arrays[a.Ref] = a
	}
	cfgLD := map[uint8]CfgLD{}
	for _, l := range cfg.LDs {
		cfgLD[l.TargetID] = l
	}
	for _, l := range lds {
		ld := model.LogicalDrive{ID: int(l.TargetID), State: LDStateName(l.State), SizeBytes: int64(l.Size) * 512}
		if c, ok := cfgLD[l.TargetID]; ok {
			ld.Name = c.Name
			ld.RAIDLevel = strconv.Itoa(int(c.RAIDLevel))
			if len(c.Arrays) > 1 && (c.RAIDLevel == 1 || c.RAIDLevel == 5 || c.RAIDLevel == 6) {
				ld.RAIDLevel += "0" // spanned: 10, 50, 60
			}
			for _, ref := range c.Arrays {
				for _, mem := range arrays[ref].Members {
					p, known := phys[mem.DeviceID]
					switch {
					case mem.DeviceID == 0xffff:
						p = model.PhysicalDisk{DeviceID: -1, Enclosure: -1, Slot: -1, State: "missing"}
					case !known:
						p = model.PhysicalDisk{DeviceID: int(mem.DeviceID), Enclosure: encl(uint16(mem.Encl)), Slot: int(mem.Slot)}
					}
					if mem.DeviceID != 0xffff {
						// The array row's state is the disk's state in
						// this array.
						p.State = PDStateName(mem.FWState)
						if known && phys[mem.DeviceID].RebuildPercent != nil {
							p.RebuildPercent = phys[mem.DeviceID].RebuildPercent
						}
					}
					ld.Members = append(ld.Members, p)
				}
			}
		}
		out.Logical = append(out.Logical, ld)
	}
	if b, err := m.BBU(ctx, timeout); err != nil {
		var st errMFIStatus
		if !errors.As(err, &st) || (st.status != mfiStatNoHWPresent && st.status != 0x01 && st.status != 0x02) {
			fail(err)
		}
	} else if b.Type != BBUTypeNone {
		out.Battery = &model.Battery{Type: bbuTypeName(b.Type), Bad: b.Bad(), Flags: b.Flags(), VoltageMV: int(b.VoltageMV), TemperatureC: int(b.TemperatureC)}
	}
	return out
}

func encl(id uint16) int {
	if id == 0xffff || id == 0xff {
		return -1
	}
	return int(id)
}

func bbuTypeName(t uint8) string {
	switch t {
	case BBUTypeIBBU:
		return "ibbu"
	case BBUTypeBBU:
		return "bbu"
	}
	return fmt.Sprintf("type_%d", t)
}

// LDList runs LD GET LIST.
func (m *mfiCtl) LDList(ctx context.Context, timeout time.Duration) ([]LD, error) {
	b, err := m.dcmd(ctx, "LD GET LIST", MRDCMDLDGetList, ldListSize, timeout)
	if err != nil {
		return nil, err
	}
	return ParseLDList(b)
}

// Config runs CFG READ, again with a longer buffer when the configuration
// does not fit the first.
func (m *mfiCtl) Config(ctx context.Context, timeout time.Duration) (Config, error) {
	n := cfgReadSize
	for try := 0; ; try++ {
		b, err := m.dcmd(ctx, "CFG READ", MRDCMDCfgRead, n, timeout)
		if err != nil {
			return Config{}, err
		}
		c, size, err := ParseConfig(b)
		if err != nil && int(size) > n && size <= 1<<20 && try == 0 {
			n = int(size)
			continue
		}
		return c, err
	}
}

// BBU runs BBU STATUS.
func (m *mfiCtl) BBU(ctx context.Context, timeout time.Duration) (BBUStatus, error) {
	b, err := m.dcmd(ctx, "BBU STATUS", MRDCMDBBUStatus, bbuStatusSize, timeout)
	if err != nil {
		return BBUStatus{}, err
	}
	return ParseBBUStatus(b)
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

// mfiDisk sends SCSI and SAT commands to one physical disk through MFI
// pass-through frames (smart.SCSITransport and smart.ATATransport).
type mfiDisk struct {
	m    *mfiCtl
	addr PDAddr
	id   uint16
}

func (d *mfiDisk) name() string { return fmt.Sprintf("megaraid host%d disk %d", d.m.host, d.id) }

func (d *mfiDisk) send(ctx context.Context, step string, cdb []byte, n int, timeout time.Duration) ([]byte, *scsi.Sense, error) {
	frame, err := PthruFrame(d.addr, cdb, n, secs(timeout))
	if err != nil {
		return nil, nil, &passthrough.Error{Device: d.name(), Step: step, Err: err}
	}
	var buf []byte
	if n > 0 {
		buf = make([]byte, n)
	}
	st, sb, err := d.m.run(ctx, step, frame, buf, true)
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
