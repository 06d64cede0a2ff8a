package rules

import (
	"fmt"
	"time"

	"github.com/diskwatch/diskwatch/collectors/model"
)

// Log rules: the drive's own logs gaining entries, as smartd's -l error and
// -l selftest report them, and the SCSI non-medium error counter. A count
// that is merely non-zero is old news (smart.error_log says it, as info);
// growth is what warns, against any acknowledged baseline.

const (
	evATAErrorLog = "smartd (-l error) warns when the ATA error log count grows: each entry is a command the drive failed " +
		"(UNC: an unreadable sector; ICRC/ABRT with interface errors: usually the cable)"
	evSelfTestLog = "smartd (-l selftest) warns when the self-test log gains a failed test: the drive found a sector it cannot read"
	evNonMedium   = "the SCSI non-medium error count (log page 06h) counts errors not tied to the medium: transport, resets, hardware"
)

// LogRules are the drive-log growth rules.
func LogRules() []*Rule {
	return []*Rule{
		growthRule("trend.error_log", "ATA error log count (smartctl -l error)", model.Warning, []string{model.MetricATAErrorLogCount}, evATAErrorLog,
			"list the new entries (smartctl -l error DEVICE): UNC errors are unreadable sectors — back up and run a long self-test; "+
				"ICRC/ABRT with CRC errors point at the cable"),
		growthRule("trend.scsi_non_medium", "SCSI non-medium errors", model.Warning, []string{model.MetricSCSINonMedium}, evNonMedium,
			"check the HBA, cable/backplane and the kernel log for resets (smartctl -l error DEVICE shows the counters); replace the disk if they keep growing with nothing else wrong"),
		selfTestGained,
	}
}

var selfTestGained = &Rule{
	Name: "trend.self_test",
	Summary: "the self-test log gained a failed test within window_days (its newest failure is newer than before, beyond any acknowledged " +
		"baseline), even when later tests passed (WARNING, as smartd -l selftest); needs the history store",
	Params: map[string]float64{"window_days": 30},
	Eval: func(in *Input, p Params) []model.Finding {
		var out []model.Finding
		if in.History == nil {
			return nil
		}
		for i := range in.Snapshot.Disks {
			d := &in.Snapshot.Disks[i]
			e := d.LastFailedSelfTest()
			if d.Skipped != "" || e == nil {
				continue
			}
			window := time.Duration(p.Get("window_days", diskMatch(d)) * float64(Day))
			g := counterGrowth(in, d.Device.ID(), model.MetricSelfTestLastFailure, float64(e.LifetimeHour), window)
			if g.inc <= 0 && !failedWhileWatched(in, d, e, window) {
				continue
			}
			msg := fmt.Sprintf("%s: the self-test log gained a failure: %s test at %d power-on hours: %s", d.Device.Display(),
				model.Clean(e.Type), e.LifetimeHour, model.Clean(e.Status))
			if e.FailingLBA != nil {
				msg += fmt.Sprintf(", first failing LBA %d", *e.FailingLBA)
			}
			f := diskFinding(d, model.Warning, msg+" — "+evSelfTestLog,
				"back up its data; run a long self-test again ("+smartctlCmd(d, "-t long")+") and replace the disk if it fails again")
			f.Evidence = []string{evSelfTestLog}
			f.Values = map[string]float64{model.MetricSelfTestLastFailure: float64(e.LifetimeHour)}
			out = append(out, f)
		}
		return out
	},
}

// failedWhileWatched covers a log that was empty before (no stored
// failure hour to grow from): the failure is new when the disk's power-on
// hours, when first read within the window, were below the failure's
// hour. Self-test log hours are 16-bit, so only below 65536 hours.
func failedWhileWatched(in *Input, d *model.Disk, e *model.SelfTestEntry, window time.Duration) bool {
	if ps, _ := in.History.Series(d.Device.ID(), model.MetricSelfTestLastFailure, in.Now.Add(-window)); len(ps) > 0 && ps[0].Time.Before(in.Now) {
		return false // stored before: growth decides
	}
	if b, ok := baseline(in, d.Device.ID(), model.MetricSelfTestLastFailure); ok && float64(e.LifetimeHour) <= b.Value {
		return false
	}
	poh, _ := in.History.Series(d.Device.ID(), model.MetricPowerOnHours, in.Now.Add(-window))
	if len(poh) == 0 || !poh[0].Time.Before(in.Now) || poh[0].Value >= 65536 {
		return false
	}
	return poh[0].Value < float64(e.LifetimeHour)
}
