package smart

import (
	"context"
	"fmt"

	"github.com/diskwatch/diskwatch/collectors/model"
	"github.com/diskwatch/diskwatch/collectors/smart/nvme"
	"github.com/diskwatch/diskwatch/collectors/smart/passthrough"
)

// ReadNVMe reads an NVMe controller: Identify Controller, Identify
// Namespace 1 (capacity), the SMART / Health log, and the self-test log
// when the controller supports self-tests. NVMe has no standby that a
// read would end, so no power check is needed.
func (r *Reader) ReadNVMe(ctx context.Context, t NVMeTransport, d *model.Disk) error {
	to := r.timeout()
	d.Device.Protocol, d.Device.Via = "nvme", "nvme"
	b, _, err := t.NVMeAdmin(ctx, "Identify Controller", passthrough.NVMeIdentifyCmd(1, 0), to)
	if err != nil {
		return err
	}
	r.raw("nvme-identify-controller", b)
	c, err := nvme.ParseIdentifyController(b)
	if err != nil {
		return fmt.Errorf("Identify Controller: %w", err)
	}
	dev := &d.Device
	dev.Model, dev.Serial, dev.Firmware = c.Model, c.Serial, c.Firmware
	if c.CriticalTempK > 0 {
		v := float64(nvme.KelvinToC(c.CriticalTempK))
		d.CritTemperatureC = &v
	}
	if c.WarningTempK > 0 {
		v := float64(nvme.KelvinToC(c.WarningTempK))
		d.WarnTemperatureC = &v
	}
	if c.Namespaces == 1 {
		if nb, _, err := t.NVMeAdmin(ctx, "Identify Namespace 1", passthrough.NVMeIdentifyCmd(0, 1), to); err == nil {
			r.raw("nvme-identify-ns1", nb)
			if ns, err := nvme.ParseIdentifyNamespace(nb); err == nil {
				dev.Capacity = ns.Bytes()
			} else {
				d.Errors = append(d.Errors, err.Error())
			}
		} else {
			d.Errors = append(d.Errors, err.Error())
		}
	}
	if dev.Capacity == 0 {
		dev.Capacity = int64(c.TotalCapacity.Uint64() & (1<<63 - 1))
	}
	d.SMARTAvailable, d.SMARTEnabled = true, true
	hb, _, err := t.NVMeAdmin(ctx, "Get Log Page 0x02 (SMART/Health)", passthrough.NVMeGetLog(passthrough.NVMeLogSMART, passthrough.NVMeAllNS, nvme.SMARTLogSize), to)
	if err != nil {
		d.Errors = append(d.Errors, err.Error())
		return nil
	}
	r.raw("nvme-smart-log", hb)
	h, err := nvme.ParseHealth(hb)
	if err != nil {
		d.Errors = append(d.Errors, err.Error())
		return nil
	}
	d.NVMe = h.Model()
	used := h.PercentageUsed
	d.EnduranceUsedPercent = &used
	passed := h.CriticalWarning == 0
	d.SMARTPassed = &passed
	temp := d.NVMe.TemperatureC
	if h.CompositeTempK > 0 {
		d.TemperatureC = &temp
	}
	poh := int64(h.PowerOnHours.Uint64() & (1<<63 - 1))
	pc := int64(h.PowerCycles.Uint64() & (1<<63 - 1))
	el := int64(h.NumErrLogEntries.Uint64() & (1<<63 - 1))
	d.PowerOnHours, d.PowerCycles, d.ErrorLogCount = &poh, &pc, &el
	if c.SelfTestSupported {
		if sb, _, err := t.NVMeAdmin(ctx, "Get Log Page 0x06 (self-test)", passthrough.NVMeGetLog(passthrough.NVMeLogSelfTest, passthrough.NVMeAllNS, nvme.SelfTestSize), to); err == nil {
			r.raw("nvme-selftest-log", sb)
			if log, err := nvme.ParseSelfTestLog(sb); err == nil && (log.Running || len(log.Entries) > 0) {
				d.SelfTest = log
			}
		}
	}
	return nil
}
