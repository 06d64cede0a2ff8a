package smart

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/diskwatch/diskwatch/collectors/model"
	"github.com/diskwatch/diskwatch/collectors/smart/ata"
	"github.com/diskwatch/diskwatch/collectors/smart/passthrough"
	"github.com/diskwatch/diskwatch/collectors/smart/scsi"
)

// ATATransport sends ATA commands (passthrough.Device over SAT).
type ATATransport interface {
	ATA(ctx context.Context, step string, c passthrough.ATACommand, timeout time.Duration) ([]byte, *scsi.ATARegisters, error)
}

// SCSITransport sends data-in SCSI commands.
type SCSITransport interface {
	SCSIRead(ctx context.Context, step string, cdb []byte, n int, timeout time.Duration) ([]byte, error)
}

// NVMeTransport sends NVMe admin commands.
type NVMeTransport interface {
	NVMeAdmin(ctx context.Context, step string, c passthrough.NVMeCommand, timeout time.Duration) ([]byte, uint32, error)
}

// Reader reads one disk. Timeout bounds each command; DB, when set, is the
// drive database for attribute names and raw formats.
type Reader struct {
	Timeout time.Duration
	DB      *ata.DriveDB
	Standby Standby
	// SkippedBefore is how many cycles in a row this disk was skipped.
	SkippedBefore int
	// Raw, if set, receives every page read (step name -> bytes): the rig
	// test uses it to capture real pages for the decoder tests.
	Raw func(step string, b []byte)
}

func (r *Reader) timeout() time.Duration {
	if r.Timeout > 0 {
		return r.Timeout
	}
	return 10 * time.Second
}

func (r *Reader) raw(step string, b []byte) {
	if r.Raw != nil && b != nil {
		r.Raw(step, b)
	}
}

// ErrNotATA is returned when a device does not answer ATA commands through
// SAT (a SCSI disk, a bridge without SAT).
var ErrNotATA = errors.New("device does not answer ATA pass-through")

// CheckPowerMode sends CHECK POWER MODE and returns the normalized mode.
// A drive that aborts the command is taken to be in SLEEP, as smartd does
// (a sleeping drive answers nothing but a reset).
func CheckPowerMode(ctx context.Context, t ATATransport, timeout time.Duration) (string, error) {
	_, regs, err := t.ATA(ctx, "CHECK POWER MODE", passthrough.ATACommand{Command: passthrough.ATACheckPowerMode, Protocol: passthrough.ATANonData, CheckCondition: true}, timeout)
	switch {
	case errors.Is(err, passthrough.ErrATAAborted):
		return ata.PowerSleep, nil
	case err != nil:
		return ata.PowerUnknown, err
	case regs == nil:
		return ata.PowerUnknown, errors.New("CHECK POWER MODE: no ATA registers returned")
	}
	mode, _ := ata.PowerMode(uint8(regs.Count))
	return mode, nil
}

// ReadATA reads an ATA disk through SAT into d (whose Device.Path/Name are
// set by the caller). Per-step failures after IDENTIFY go to d.Errors; the
// returned error means nothing useful could be read.
func (r *Reader) ReadATA(ctx context.Context, t ATATransport, d *model.Disk) error {
	to := r.timeout()
	d.Device.Protocol, d.Device.Via = "ata", "sat"
	mode, err := CheckPowerMode(ctx, t, to)
	if err != nil {
		if errors.Is(err, passthrough.ErrUnsupported) {
			return fmt.Errorf("%w: %v", ErrNotATA, err)
		}
		// Not fatal: go on to IDENTIFY (a bridge may not return registers).
		d.Errors = append(d.Errors, err.Error())
	}
	d.PowerMode = mode
	if r.Standby.Skip(mode, r.SkippedBefore) {
		d.Skipped = mode
		return nil
	}
	idb, _, err := t.ATA(ctx, "IDENTIFY DEVICE", passthrough.ATACommand{Command: passthrough.ATAIdentify, Count: 1, Protocol: passthrough.ATAPIOIn, Blocks: 1}, to)
	if err != nil {
		if errors.Is(err, passthrough.ErrUnsupported) || errors.Is(err, passthrough.ErrATAAborted) {
			return fmt.Errorf("%w: %v", ErrNotATA, err)
		}
		return err
	}
	r.raw("identify", idb)
	id, err := ata.ParseIdentify(idb)
	if err != nil && id == nil {
		return fmt.Errorf("IDENTIFY DEVICE: %w", err)
	}
	if err != nil {
		d.Errors = append(d.Errors, err.Error())
	}
	if allZero(idb) {
		return fmt.Errorf("%w: IDENTIFY DEVICE returned only zeros", ErrNotATA)
	}
	dev := &d.Device
	dev.Model, dev.Serial, dev.Firmware, dev.WWN = id.Model, id.Serial, id.Firmware, id.WWN
	dev.Capacity, dev.RotationRate = id.Capacity(), id.RotationRate
	if id.RotationRate == 1 {
		dev.RotationRate = 0 // smartctl JSON: 0 = solid state
	}
	d.SMARTAvailable, d.SMARTEnabled = id.SMARTSupported, id.SMARTEnabled
	if !id.SMARTSupported || !id.SMARTEnabled {
		return nil
	}
	var defs *ata.Defs
	if r.DB != nil {
		var derr error
		defs, _, derr = r.DB.Lookup(id.Model, id.Firmware)
		if derr != nil {
			d.Errors = append(d.Errors, derr.Error())
		}
	}
	stepErr := func(err error) { d.Errors = append(d.Errors, err.Error()) }

	// SMART RETURN STATUS: the registers say passed or failed.
	c := passthrough.SMARTCommand(passthrough.SMARTReturnStatus, 0, 0)
	c.CheckCondition = true
	if _, regs, err := t.ATA(ctx, "SMART RETURN STATUS", c, to); err != nil {
		stepErr(err)
	} else if regs == nil {
		stepErr(errors.New("SMART RETURN STATUS: no ATA registers returned"))
	} else if passed, err := ata.ReturnStatus(regs.LBAMid, regs.LBAHigh); err != nil {
		stepErr(err)
	} else {
		d.SMARTPassed = &passed
	}

	var sd *ata.SMARTData
	if b, _, err := t.ATA(ctx, "SMART READ DATA", passthrough.SMARTCommand(passthrough.SMARTReadData, 0, 1), to); err != nil {
		stepErr(err)
	} else {
		r.raw("smart-data", b)
		if sd, err = ata.ParseSMARTData(b); err != nil {
			stepErr(err)
		}
	}
	var th []ata.Threshold
	if b, _, err := t.ATA(ctx, "SMART READ THRESHOLDS", passthrough.SMARTCommand(passthrough.SMARTReadThresh, 0, 1), to); err != nil {
		stepErr(err)
	} else {
		r.raw("smart-thresholds", b)
		if th, err = ata.ParseThresholds(b); err != nil {
			stepErr(err)
		}
	}
	if sd != nil {
		d.ATAAttributes = ata.Attributes(sd, th, defs, id.RotationRate)
		fillFromAttributes(d, sd, defs, id.RotationRate)
	}
	if id.ErrorLogging || (sd != nil && sd.ErrorLogSupported) {
		if b, _, err := t.ATA(ctx, "SMART READ LOG 0x01", passthrough.SMARTCommand(passthrough.SMARTReadLog, ata.LogSummaryError, 1), to); err != nil {
			stepErr(err)
		} else {
			r.raw("error-log", b)
			n, err := ata.ParseErrorLogCount(b)
			if err != nil {
				stepErr(err)
			}
			d.ErrorLogCount = &n
		}
	}
	if id.SelfTest || (sd != nil && sd.SelfTestSupported()) {
		if b, _, err := t.ATA(ctx, "SMART READ LOG 0x06", passthrough.SMARTCommand(passthrough.SMARTReadLog, ata.LogSelfTest, 1), to); err != nil {
			stepErr(err)
		} else {
			r.raw("selftest-log", b)
			log, err := ata.ParseSelfTestLog(b)
			if err != nil {
				stepErr(err)
			}
			if log != nil {
				if sd != nil && sd.SelfTestRunning() {
					log.Running, log.RemainingPercent = true, sd.SelfTestRemaining
				}
				if log.Running || len(log.Entries) > 0 {
					d.SelfTest = log
				}
			}
		}
	}
	if id.GPLogging && id.LBA48 && (d.TemperatureC == nil || id.RotationRate == 1) {
		r.deviceStatistics(ctx, t, d)
	}
	d.ERC = &model.ERC{Supported: id.SCTERCSupported}
	if id.SCTERCSupported {
		if err := readERC(ctx, t, d.ERC, to); err != nil {
			stepErr(err)
		}
	}
	return nil
}

// readERC reads the SCT ERC read and write limits as smartctl -l scterc
// does: the SCT status first (no other SCT command running), the ERC
// "return current" command, the status again (the command was done).
func readERC(ctx context.Context, t ATATransport, erc *model.ERC, to time.Duration) error {
	status := func(step string) (ata.SCTStatus, error) {
		b, _, err := t.ATA(ctx, step, passthrough.SMARTCommand(passthrough.SMARTReadLog, ata.LogSCT, 1), to)
		if err != nil {
			return ata.SCTStatus{}, err
		}
		return ata.ParseSCTStatus(b)
	}
	for _, sel := range []uint16{ata.ERCRead, ata.ERCWrite} {
		st, err := status("SCT STATUS")
		if err != nil {
			return err
		}
		if st.ExtStatus == 0xffff {
			return errors.New("SCT ERC: another SCT command is executing")
		}
		c := passthrough.SMARTWriteLogCommand(ata.LogSCT, ata.SCTERCGet(sel))
		c.CheckCondition = true
		step := fmt.Sprintf("SCT ERC get %d", sel)
		_, regs, err := t.ATA(ctx, step, c, to)
		if err != nil {
			return err
		}
		if st, err = status("SCT STATUS after ERC"); err != nil {
			return err
		}
		if st.ExtStatus != 0 || st.Action != 3 || st.Function != 2 {
			return fmt.Errorf("%s: unexpected SCT status %#04x (action %d, function %d)", step, st.ExtStatus, st.Action, st.Function)
		}
		if regs == nil {
			return fmt.Errorf("%s: no ATA registers returned", step)
		}
		v, ok := ata.ERCLimit(regs.Count, regs.LBALow)
		if !ok {
			return fmt.Errorf("%s: registers returned unchanged (the pass-through does not return them)", step)
		}
		n := int(v)
		if sel == ata.ERCRead {
			erc.ReadDeciseconds = &n
		} else {
			erc.WriteDeciseconds = &n
		}
	}
	return nil
}

// deviceStatistics reads GP log 04h pages 1, 5 and 7 for what the
// attributes did not give (temperature, power-on hours, the drive's
// temperature limit) and for SSD wear (percentage used endurance
// indicator). Failures here are not reported: the log is optional.
func (r *Reader) deviceStatistics(ctx context.Context, t ATATransport, d *model.Disk) {
	to := r.timeout()
	dir, _, err := t.ATA(ctx, "READ LOG EXT directory", passthrough.ReadLogExtCommand(ata.LogDirectory, 0, 1), to)
	if err != nil || ata.LogDirectoryPages(dir, ata.LogDeviceStatistics) == 0 {
		return
	}
	p0, _, err := t.ATA(ctx, "READ LOG EXT devstat 0", passthrough.ReadLogExtCommand(ata.LogDeviceStatistics, 0, 1), to)
	if err != nil {
		return
	}
	pages, err := ata.DevStatPages(p0)
	if err != nil {
		return
	}
	for _, pg := range pages {
		if pg != 1 && pg != 5 && pg != 7 {
			continue
		}
		b, _, err := t.ATA(ctx, fmt.Sprintf("READ LOG EXT devstat %d", pg), passthrough.ReadLogExtCommand(ata.LogDeviceStatistics, uint16(pg), 1), to)
		if err != nil {
			continue
		}
		r.raw(fmt.Sprintf("devstat-%d", pg), b)
		stats, _ := ata.ParseDevStatPage(b)
		for _, s := range stats {
			v := s.Value
			switch {
			case s.Page == 5 && s.Offset == 8 && d.TemperatureC == nil:
				f := float64(v)
				d.TemperatureC = &f
			case s.Page == 5 && s.Offset == 88 && d.WarnTemperatureC == nil && v > 0:
				f := float64(v)
				d.WarnTemperatureC = &f
			case s.Page == 1 && s.Offset == 16 && d.PowerOnHours == nil:
				d.PowerOnHours = &v
			case s.Page == 1 && s.Offset == 8 && d.PowerCycles == nil:
				d.PowerCycles = &v
			case s.Page == 7 && s.Offset == 8:
				pct := int(v & 0xff)
				d.EnduranceUsedPercent = &pct
			}
		}
	}
}

// fillFromAttributes sets temperature, power-on hours and power cycles
// from the attributes, as smartctl derives them: temperature from the
// first of 194, 190, 9, 220 whose format is a temperature format;
// power-on hours from 9 per its format; power cycles from 12.
func fillFromAttributes(d *model.Disk, sd *ata.SMARTData, defs *ata.Defs, rpm int) {
	byID := map[uint8]ata.RawAttribute{}
	for _, a := range sd.Attributes {
		byID[a.ID] = a
	}
	for _, id := range []uint8{194, 190, 9, 220} {
		a, ok := byID[id]
		if !ok {
			continue
		}
		def := defs.Lookup(id, rpm)
		raw := ata.RawValue(a, def)
		var t float64
		switch def.Format {
		case ata.FmtTempMinMax:
			t = float64(int8(raw))
		case ata.FmtTemp10x:
			t = float64(raw&0xffff) / 10
		default:
			continue
		}
		if t > -60 && t < 150 && t != 0 {
			d.TemperatureC = &t
			break
		}
	}
	if a, ok := byID[9]; ok {
		def := defs.Lookup(9, rpm)
		raw := ata.RawValue(a, def)
		var h int64
		switch def.Format {
		case ata.FmtMin2Hour:
			h = int64((raw&0xffff | raw>>16&0xffff<<16) / 60)
		case ata.FmtSec2Hour:
			h = int64(raw / 3600)
		case ata.FmtHalfMin2Hour:
			h = int64(raw / 120)
		case ata.FmtMsec24Hour32:
			h = int64(raw & 0xffffffff)
		case ata.FmtRaw24OptRaw8:
			h = int64(raw & 0xffffff)
		case ata.FmtRaw16OptRaw16, ata.FmtRaw16OptAvg16:
			h = int64(raw & 0xffff)
		case ata.FmtTempMinMax, ata.FmtTemp10x:
			h = -1
		default:
			h = int64(raw)
		}
		if h >= 0 {
			d.PowerOnHours = &h
		}
	}
	if a, ok := byID[12]; ok {
		v := int64(ata.RawValue(a, defs.Lookup(12, rpm)))
		d.PowerCycles = &v
	}
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
