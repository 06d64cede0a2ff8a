package smart

import (
	"context"
	"errors"
	"fmt"

	"github.com/diskwatch/diskwatch/collectors/model"
	"github.com/diskwatch/diskwatch/collectors/smart/passthrough"
	"github.com/diskwatch/diskwatch/collectors/smart/scsi"
)

// ReadSCSI reads a SCSI/SAS disk: INQUIRY and VPD pages for identity,
// READ CAPACITY, then the log pages the disk lists as supported. A disk
// without the informational exceptions page has no SMART: that is
// reported as smart_available false, not as an error.
func (r *Reader) ReadSCSI(ctx context.Context, t SCSITransport, d *model.Disk) error {
	to := r.timeout()
	d.Device.Protocol = "scsi"
	if d.Device.Via == "" || d.Device.Via == "sat" {
		d.Device.Via = "scsi"
	}
	b, err := t.SCSIRead(ctx, "INQUIRY", passthrough.InquiryCDB(false, 0, 96), 96, to)
	if err != nil {
		return err
	}
	r.raw("scsi-inquiry", b)
	q, err := scsi.ParseInquiry(b)
	if err != nil {
		return fmt.Errorf("INQUIRY: %w", err)
	}
	dev := &d.Device
	dev.Model, dev.Firmware = q.ModelName(), q.Revision
	stepErr := func(err error) { d.Errors = append(d.Errors, err.Error()) }
	vpds := map[uint8]bool{}
	if vb, err := t.SCSIRead(ctx, "INQUIRY VPD 0x00", passthrough.InquiryCDB(true, 0x00, 252), 252, to); err == nil {
		if l, err := scsi.ParseVPDList(vb); err == nil {
			for _, p := range l {
				vpds[p] = true
			}
		}
	}
	if vpds[0x80] {
		if vb, err := t.SCSIRead(ctx, "INQUIRY VPD 0x80", passthrough.InquiryCDB(true, 0x80, 252), 252, to); err == nil {
			if s, err := scsi.ParseSerialVPD(vb); err == nil {
				dev.Serial = s
			}
		} else {
			stepErr(err)
		}
	}
	if vpds[0x83] {
		if vb, err := t.SCSIRead(ctx, "INQUIRY VPD 0x83", passthrough.InquiryCDB(true, 0x83, 1024), 1024, to); err == nil {
			if ds, err := scsi.ParseDeviceIDVPD(vb); err == nil {
				if naa := scsi.LogicalUnitNAA(ds); naa != "" {
					dev.WWN = "0x" + naa // as smartctl's logical_unit_id
				}
			}
		}
	}
	if vpds[0xb1] {
		if vb, err := t.SCSIRead(ctx, "INQUIRY VPD 0xB1", passthrough.InquiryCDB(true, 0xb1, 64), 64, to); err == nil {
			if rr, err := scsi.ParseRotationVPD(vb); err == nil && rr > 1 {
				dev.RotationRate = rr
			}
		}
	}
	// The power condition before anything that may need the medium (READ
	// CAPACITY, LOG SENSE, READ DEFECT DATA): a disk in standby is left
	// unread, as for ATA. INQUIRY and VPD pages above are answered from
	// the logical unit's memory.
	// A disk that cannot say (no REQUEST SENSE through this path) is
	// read, as smartd does.
	mode, _ := SCSIPowerMode(ctx, t, to)
	d.PowerMode = mode
	if r.Standby.Skip(mode, r.SkippedBefore) {
		d.Skipped = mode
		return nil
	}
	if cb, err := t.SCSIRead(ctx, "READ CAPACITY(16)", passthrough.ReadCapacity16CDB(32), 32, to); err == nil {
		if last, bl, err := scsi.ParseReadCapacity16(cb); err == nil {
			dev.Capacity = scsi.Capacity(last, bl)
		}
	} else if cb, err := t.SCSIRead(ctx, "READ CAPACITY(10)", passthrough.ReadCapacity10CDB(), 8, to); err == nil {
		if last, bl, err := scsi.ParseReadCapacity10(cb); err == nil {
			dev.Capacity = scsi.Capacity(uint64(last), bl)
		}
	}
	logPage := func(code uint8) (*scsi.LogPage, error) {
		b, err := t.SCSIRead(ctx, fmt.Sprintf("LOG SENSE 0x%02x", code), passthrough.LogSenseCDB(code, 0, 0xfffc), 0xfffc, to)
		if err != nil {
			return nil, err
		}
		r.raw(fmt.Sprintf("scsi-log-%02x", code), b)
		return scsi.ParseLogPage(b, code)
	}
	sup, err := logPage(scsi.PageSupported)
	if err != nil {
		if errors.Is(err, passthrough.ErrUnsupported) {
			// No LOG SENSE at all: no SMART, and nothing more to read.
			return nil
		}
		stepErr(err)
		return nil
	}
	pages := scsi.SupportedPages(sup)
	if pages[scsi.PageIE] {
		if lp, err := logPage(scsi.PageIE); err != nil {
			stepErr(err)
		} else if ie, err := scsi.InformationalExceptions(lp); err != nil {
			stepErr(err)
		} else {
			d.SMARTAvailable, d.SMARTEnabled = true, true
			passed := !ie.Failing()
			d.SMARTPassed = &passed
			if !passed {
				stepErr(fmt.Errorf("informational exception: %s", ie))
			}
			if ie.TempC > 0 {
				v := float64(ie.TempC)
				d.TemperatureC = &v
			}
		}
	}
	if pages[scsi.PageTemperature] {
		if lp, err := logPage(scsi.PageTemperature); err == nil {
			cur, cok, ref, rok := scsi.Temperature(lp)
			if cok {
				v := float64(cur)
				d.TemperatureC = &v
			}
			if rok {
				v := float64(ref)
				d.CritTemperatureC = &v
			}
		}
	}
	health := &model.SCSIHealth{}
	haveHealth := false
	for _, pc := range []struct {
		code uint8
		dst  **int64
	}{{scsi.PageReadErrors, &health.ReadUncorrected}, {scsi.PageWriteErrors, &health.WriteUncorrected}, {scsi.PageVerifyErrors, &health.VerifyUncorrected}} {
		if !pages[pc.code] {
			continue
		}
		lp, err := logPage(pc.code)
		if err != nil {
			stepErr(err)
			continue
		}
		if c := scsi.ErrorCounterPage(lp); c.HaveUncorrected {
			v := int64(c.Uncorrected & (1<<63 - 1))
			*pc.dst, haveHealth = &v, true
		}
	}
	if pages[scsi.PageNonMedium] {
		if lp, err := logPage(scsi.PageNonMedium); err != nil {
			stepErr(err)
		} else if n, ok := scsi.NonMediumErrors(lp); ok {
			v := int64(n & (1<<63 - 1))
			health.NonMediumErrors, haveHealth = &v, true
		}
	}
	if db, err := t.SCSIRead(ctx, "READ DEFECT DATA(10)", passthrough.ReadDefect10CDB(4), 4, to); err == nil {
		if n, err := scsi.ParseDefectHeader(db); err == nil {
			health.GrownDefects, haveHealth = &n, true
		}
	}
	if haveHealth {
		d.SCSI = health
	}
	if pages[scsi.PageStartStop] {
		if lp, err := logPage(scsi.PageStartStop); err == nil {
			if s := scsi.StartStopPage(lp); s.HaveCycles {
				v := int64(s.AccumulatedCycles)
				d.PowerCycles = &v
			}
		}
	}
	if pages[scsi.PageBackgroundScn] {
		if lp, err := logPage(scsi.PageBackgroundScn); err == nil {
			if m, ok := scsi.PowerOnMinutes(lp); ok {
				h := int64(m / 60)
				d.PowerOnHours = &h
			}
		}
	}
	if pages[scsi.PageSelfTest] {
		if lp, err := logPage(scsi.PageSelfTest); err == nil {
			if log := scsi.SelfTests(lp); log.Running || len(log.Entries) > 0 {
				d.SelfTest = log
			}
		}
	}
	return nil
}
