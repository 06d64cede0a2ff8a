package smart

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/diskwatch/diskwatch/collectors/hostroot"
	"github.com/diskwatch/diskwatch/collectors/model"
	"github.com/diskwatch/diskwatch/collectors/smart/ata"
	"github.com/diskwatch/diskwatch/collectors/smart/nvme"
	"github.com/diskwatch/diskwatch/collectors/smart/passthrough"
	"github.com/diskwatch/diskwatch/collectors/smart/scsi"
)

// ErrSelfTestRunning is returned when a self-test is already in progress.
var ErrSelfTestRunning = errors.New("a self-test is already running on this disk")

// ErrAsleep is returned when the disk is in standby or sleep: starting a
// test would spin it up.
var ErrAsleep = errors.New("the disk is in standby or sleep; not starting a self-test (it would spin up)")

// StartSelfTest starts a short or long self-test in the background on one
// disk: SMART EXECUTE OFFLINE IMMEDIATE (ATA), Device Self-test (NVMe) or
// SEND DIAGNOSTIC (SCSI). It refuses a sleeping ATA disk and a disk whose
// own log says a test is running. It returns a short description of what
// was started.
func StartSelfTest(ctx context.Context, fs hostroot.FS, dev, kind string, timeout time.Duration) (string, error) {
	if kind != "short" && kind != "long" {
		return "", fmt.Errorf("self-test type must be short or long, not %q", kind)
	}
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	t, err := TargetFor(fs, dev)
	if err != nil {
		return "", err
	}
	d, err := passthrough.Open(fs.Dev(t.Name))
	if err != nil {
		return "", err
	}
	defer d.Close()
	what := model.Clean(t.Path)
	switch t.Protocol {
	case "nvme":
		return nvmeSelfTest(ctx, d, kind, timeout, what)
	case "ata":
		msg, err := ataSelfTest(ctx, d, kind, timeout, what)
		if errors.Is(err, ErrNotATA) && t.USB {
			return scsiSelfTest(ctx, d, kind, timeout, what)
		}
		return msg, err
	}
	return scsiSelfTest(ctx, d, kind, timeout, what)
}

func ataSelfTest(ctx context.Context, d *passthrough.Device, kind string, to time.Duration, what string) (string, error) {
	mode, err := CheckPowerMode(ctx, d, to)
	if err != nil && errors.Is(err, passthrough.ErrUnsupported) {
		return "", fmt.Errorf("%w: %v", ErrNotATA, err)
	}
	if mode == ata.PowerStandby || mode == ata.PowerSleep {
		return "", fmt.Errorf("%s: %w (power mode %s)", what, ErrAsleep, mode)
	}
	b, _, err := d.ATA(ctx, "SMART READ DATA", passthrough.SMARTCommand(passthrough.SMARTReadData, 0, 1), to)
	if err != nil {
		return "", err
	}
	sd, err := ata.ParseSMARTData(b)
	if sd == nil {
		return "", fmt.Errorf("%s: SMART READ DATA: %w", what, err)
	}
	if sd.SelfTestRunning() {
		return "", fmt.Errorf("%s: %w (%d%% remaining)", what, ErrSelfTestRunning, sd.SelfTestRemaining)
	}
	if !sd.SelfTestSupported() {
		return "", fmt.Errorf("%s: the disk does not support SMART self-tests", what)
	}
	sub, minutes := uint8(passthrough.OfflineShortBG), sd.ShortPollMinutes
	if kind == "long" {
		sub, minutes = passthrough.OfflineExtendedBG, sd.ExtendedPollMinutes
	}
	if _, _, err := d.ATA(ctx, "SMART EXECUTE OFFLINE IMMEDIATE", passthrough.SMARTCommand(passthrough.SMARTExecOffline, sub, 0), to); err != nil {
		return "", err
	}
	return fmt.Sprintf("%s: %s self-test started (the drive estimates %d minutes)", what, kind, minutes), nil
}

func nvmeSelfTest(ctx context.Context, d *passthrough.Device, kind string, to time.Duration, what string) (string, error) {
	b, _, err := d.NVMeAdmin(ctx, "Identify Controller", passthrough.NVMeIdentifyCmd(1, 0), to)
	if err != nil {
		return "", err
	}
	c, err := nvme.ParseIdentifyController(b)
	if err != nil {
		return "", err
	}
	if !c.SelfTestSupported {
		return "", fmt.Errorf("%s: the controller does not support Device Self-test", what)
	}
	lb, _, err := d.NVMeAdmin(ctx, "Get Log Page 0x06 (self-test)", passthrough.NVMeGetLog(passthrough.NVMeLogSelfTest, passthrough.NVMeAllNS, nvme.SelfTestSize), to)
	if err != nil {
		return "", err
	}
	log, err := nvme.ParseSelfTestLog(lb)
	if err != nil {
		return "", err
	}
	if log.Running {
		return "", fmt.Errorf("%s: %w (%d%% remaining)", what, ErrSelfTestRunning, log.RemainingPercent)
	}
	code := uint8(passthrough.NVMeTestShort)
	if kind == "long" {
		code = passthrough.NVMeTestExtended
	}
	if _, _, err := d.NVMeAdmin(ctx, "Device Self-test", passthrough.NVMeSelfTestCmd(code), to); err != nil {
		return "", err
	}
	return fmt.Sprintf("%s: %s self-test started", what, kind), nil
}

func scsiSelfTest(ctx context.Context, d *passthrough.Device, kind string, to time.Duration, what string) (string, error) {
	if b, err := d.SCSIRead(ctx, "LOG SENSE 0x10", passthrough.LogSenseCDB(scsi.PageSelfTest, 0, 0xfffc), 0xfffc, to); err == nil {
		if lp, err := scsi.ParseLogPage(b, scsi.PageSelfTest); err == nil {
			if log := scsi.SelfTests(lp); log.Running {
				return "", fmt.Errorf("%s: %w", what, ErrSelfTestRunning)
			}
		}
	}
	code := uint8(passthrough.SCSITestShortBG)
	if kind == "long" {
		code = passthrough.SCSITestExtendedBG
	}
	if _, err := d.SCSIRead(ctx, "SEND DIAGNOSTIC", passthrough.SendDiagnosticCDB(code), 0, to); err != nil {
		return "", err
	}
	return fmt.Sprintf("%s: %s self-test started", what, kind), nil
}
