package smart

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/diskwatch/diskwatch/collectors/hostroot"
	"github.com/diskwatch/diskwatch/collectors/smart/ata"
	"github.com/diskwatch/diskwatch/collectors/smart/passthrough"
	"github.com/diskwatch/diskwatch/collectors/smart/scsi"
)

// requestSenseCDB is REQUEST SENSE (6) for alloc bytes of fixed-format
// sense data.
func requestSenseCDB(alloc uint8) []byte { return []byte{0x03, 0, 0, 0, alloc, 0} }

// SCSIPowerMode asks a SCSI disk its power condition with REQUEST SENSE,
// which SPC-4 answers from the logical unit's state without touching the
// medium (a disk in a low-power condition reports ASC 5Eh; one stopped
// and waiting for START UNIT reports NOT READY 04h/02h, 04h/09h, 04h/11h).
// It is what smartctl's -n standby does for SCSI. A disk that cannot say
// is "unknown" (read, as smartd does).
func SCSIPowerMode(ctx context.Context, t SCSITransport, timeout time.Duration) (string, error) {
	b, err := t.SCSIRead(ctx, "REQUEST SENSE", requestSenseCDB(252), 252, timeout)
	if err != nil {
		return ata.PowerUnknown, err
	}
	s, err := scsi.ParseSense(b)
	if err != nil {
		return ata.PowerUnknown, fmt.Errorf("REQUEST SENSE: %w", err)
	}
	return SensePowerMode(s), nil
}

// SensePowerMode maps REQUEST SENSE data to a power mode (SPC-4 table of
// ASC/ASCQ 5Eh: low power conditions; 04h: not ready).
func SensePowerMode(s *scsi.Sense) string {
	switch {
	case s.ASC == 0x5e:
		switch s.ASCQ {
		case 0x01, 0x03, 0x05, 0x06, 0x07, 0x08, 0x42:
			return ata.PowerIdle // idle, idle_b, idle_c: spinning
		case 0x00, 0x02, 0x04, 0x09, 0x0a, 0x43:
			// standby, standby_y, or a low power condition it does not
			// name: taken as standby (reading may spin it up).
			return ata.PowerStandby
		case 0x45:
			return ata.PowerSleep
		case 0x41:
			return ata.PowerActive
		}
		return ata.PowerStandby
	case s.Key == scsi.KeyNotReady && s.ASC == 0x04 && (s.ASCQ == 0x02 || s.ASCQ == 0x09 || s.ASCQ == 0x11):
		// Stopped: needs START UNIT or NOTIFY (enable spinup).
		return ata.PowerStandby
	case s.Key == scsi.KeyNoSense || s.Key == scsi.KeyRecovered:
		return ata.PowerActive
	}
	return ata.PowerUnknown
}

// ProbePowerMode tells the power mode of kernel disk name (sda) without
// waking it: CHECK POWER MODE through SAT first (an ATA disk behind
// libata or a SAT bridge), else REQUEST SENSE (a SCSI/SAS disk). NVMe
// namespaces and controllers are "active": their SMART log is served by
// the controller. Other collectors use it to keep the standby policy
// before they read a disk (drivetemp, md boot sectors).
func ProbePowerMode(ctx context.Context, fs hostroot.FS, name string, timeout time.Duration) (string, error) {
	if strings.HasPrefix(name, "nvme") {
		return ata.PowerActive, nil
	}
	if !fs.IsHost() {
		return ata.PowerUnknown, nil
	}
	dev, err := passthrough.Open(fs.Dev(name))
	if err != nil {
		return ata.PowerUnknown, err
	}
	defer dev.Close()
	mode, aerr := CheckPowerMode(ctx, dev, timeout)
	if aerr == nil && mode != ata.PowerUnknown {
		return mode, nil
	}
	mode, serr := SCSIPowerMode(ctx, dev, timeout)
	if serr != nil {
		return ata.PowerUnknown, errors.Join(aerr, serr)
	}
	return mode, nil
}

// Asleep reports whether the policy leaves kernel disk name unread now,
// and the mode it found; a probe that fails says awake (the caller reads,
// as smartd does when it cannot tell).
func (p Standby) Asleep(ctx context.Context, fs hostroot.FS, name string) (bool, string) {
	if p.Mode == "never" {
		return false, ""
	}
	mode, err := ProbePowerMode(ctx, fs, name, 10*time.Second)
	if err != nil {
		return false, ata.PowerUnknown
	}
	return p.Skip(mode, 0), mode
}
