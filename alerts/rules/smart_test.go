package rules

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/diskwatch/diskwatch/collectors/model"
	"github.com/diskwatch/diskwatch/collectors/smartctl"
)

// The SMART rules are tested on real smartctl captures, normalized by the
// smartctl package (sources: collectors/smartctl/testdata/SOURCES.md).
const smartCaptures = "../../collectors/smartctl/testdata/"

func capture(t *testing.T, name string) model.Disk {
	t.Helper()
	b, err := os.ReadFile(smartCaptures + name)
	if err != nil {
		t.Fatal(err)
	}
	d, err := smartctl.Normalize(b)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return d
}

func evalSMART(st *Settings, disks ...model.Disk) []model.Finding {
	in := &Input{Snapshot: &model.Snapshot{Disks: disks}, Now: time.Unix(1_800_000_000, 0)}
	return NewSet(SMARTRules()...).Evaluate(in, st)
}

// summary lists "rule:SEVERITY" for each finding, sorted.
func summary(fs []model.Finding) string {
	var s []string
	for _, f := range fs {
		s = append(s, f.Rule+":"+f.Severity.String())
	}
	sort.Strings(s)
	return strings.Join(s, " ")
}

func find(fs []model.Finding, rule string) *model.Finding {
	for i := range fs {
		if fs[i].Rule == rule {
			return &fs[i]
		}
	}
	return nil
}

func TestSMARTFailingDisk(t *testing.T) {
	// Hitachi behind a USB JMicron bridge: SMART FAILED, attribute 5 failing
	// now, 8 pending sectors, the most recent long self-test failed.
	fs := evalSMART(nil, capture(t, "scrutiny/smart-fail2.json"))
	want := "smart.attribute.5:CRITICAL smart.error_log:OK smart.health:CRITICAL smart.pending_sectors:NOTICE smart.self_test.long:CRITICAL"
	if got := summary(fs); got != want {
		t.Fatalf("findings:\n got %s\nwant %s", got, want)
	}
	h := find(fs, "smart.health")
	if h.Subject != "sdc (Hitachi HDS721050DLE630 MSK423Y20S3HBC)" || !strings.Contains(h.Remedy, "replace the disk") ||
		!strings.Contains(h.Remedy, "smartctl -x -d usbjmicron /dev/sdc") || len(h.Evidence) != 1 || !strings.Contains(h.Evidence[0], "Reallocated_Sector_Ct") {
		t.Errorf("health finding: %+v", h)
	}
	if a := find(fs, "smart.attribute.5"); !strings.Contains(a.Message, "attribute 5 Reallocated_Sector_Ct (pre-failure) value 1, worst 1, threshold 5, raw 1975: FAILING NOW") {
		t.Errorf("attribute finding: %s", a.Message)
	}
	if s := find(fs, "smart.self_test.long"); !strings.Contains(s.Message, "most recent long self-test failed: Completed: read failure") ||
		!strings.Contains(s.Message, "LBA 104870168") || !strings.Contains(s.Remedy, "smartctl -t long -d usbjmicron /dev/sdc") {
		t.Errorf("self-test finding: %+v", s)
	}
	if p := find(fs, "smart.pending_sectors"); p.Values["sectors"] != 8 {
		t.Errorf("pending: %+v", p)
	}
}

// Every healthy capture stays quiet: no WARNING or CRITICAL from the SMART
// rules on drives smartctl calls PASSED with no attribute failing.
func TestSMARTNoFalseAlarms(t *testing.T) {
	files, _ := filepath.Glob(smartCaptures + "*/*.json")
	loud := map[string]string{
		"scrutiny/smart-fail2.json":     "SMART FAILED",
		"scrutiny/smart-ata-date2.json": "197/198 raw 10 and 62 C (edited by scrutiny's developers)",
	}
	checked := 0
	for _, f := range files {
		name := strings.TrimPrefix(f, smartCaptures)
		b, _ := os.ReadFile(f)
		d, err := smartctl.Normalize(b)
		if err != nil || loud[name] != "" {
			continue
		}
		checked++
		for _, x := range evalSMART(nil, d) {
			if x.Severity != model.OK {
				t.Errorf("%s: false alarm %s %s: %s", name, x.Severity, x.Rule, x.Message)
			}
		}
	}
	if checked < 120 {
		t.Errorf("only %d captures checked", checked)
	}
}

func TestSMARTPastFailureAndTemperatureAttributes(t *testing.T) {
	d := capture(t, "smartctl_exporter/ST3500418AS_12.json")
	// A real old-age attribute in the past, and temperature attributes at
	// their (normalized) limit now and in the past.
	a := d.Attr(7)
	a.Worst, a.Thresh = 30, 30
	t190 := d.Attr(190)
	if t190 == nil {
		t.Fatal("capture has no attribute 190")
	}
	t190.Value, t190.Thresh, t190.WhenFailed = 45, 45, "now"
	d.ATAAttributes = append(d.ATAAttributes, model.ATAAttribute{ID: 194, Name: "Temperature_Celsius", Value: 60, Worst: 40, Thresh: 45})
	fs := evalSMART(nil, d)
	var got []string
	for _, f := range fs {
		if strings.HasPrefix(f.Rule, "smart.attribute.") {
			got = append(got, f.Severity.String()+" "+f.Message[:strings.Index(f.Message, " (")])
		}
	}
	sort.Strings(got)
	want := "OK attribute 194 Temperature_Celsius|WARNING attribute 190 Airflow_Temperature_Cel|WARNING attribute 7 Seek_Error_Rate"
	if strings.Join(got, "|") != want {
		t.Errorf("attribute findings:\n got %s\nwant %s", strings.Join(got, "|"), want)
	}
	// Threshold 0 never fails, whatever the value.
	d = capture(t, "smartctl_exporter/ST3500418AS_12.json")
	d.ATAAttributes = append(d.ATAAttributes, model.ATAAttribute{ID: 9, Name: "x", Value: 0, Worst: 0, Thresh: 0})
	if f := find(evalSMART(nil, d), "smart.attribute.9"); f != nil {
		t.Errorf("threshold 0 failed: %+v", f)
	}
}

func TestNVMeCriticalWarningBits(t *testing.T) {
	d := capture(t, "scrutiny/smart-nvme2.json")
	// QEMU's NVMe with smart_critical_warning=N reports these bits; its
	// spare and threshold both read 0.
	d.NVMe.CriticalWarning = 0x01 | 0x02 | 0x08
	d.NVMe.AvailableSpare, d.NVMe.AvailableSpareThreshold = 0, 0
	f := false
	d.SMARTPassed = &f
	fs := evalSMART(nil, d)
	want := "smart.error_log:OK smart.nvme_critical_warning.read_only:CRITICAL smart.nvme_critical_warning.spare_below_threshold:CRITICAL smart.nvme_critical_warning.temperature:WARNING"
	if got := summary(fs); got != want {
		t.Fatalf("findings:\n got %s\nwant %s", got, want)
	}
	if r := find(fs, "smart.nvme_critical_warning.read_only"); !strings.Contains(r.Message, "0x0b") || !strings.Contains(r.Message, "read-only") {
		t.Errorf("read-only: %+v", r)
	}
	d.NVMe.CriticalWarning = 0x10 | 0x20 | 0x40
	if got := summary(evalSMART(nil, d)); !strings.Contains(got, "volatile_backup_failed:CRITICAL") ||
		!strings.Contains(got, "pmr_read_only:CRITICAL") || !strings.Contains(got, "other:WARNING") {
		t.Errorf("bits 4-6: %s", got)
	}
}

func TestNVMeWearAndSpare(t *testing.T) {
	// Intel DC P4510 at 73 % used: quiet at the default 80 %, WARNING with
	// a per-device limit of 70 %, CRITICAL at 96 %.
	d := capture(t, "smartctl_exporter/nvme-null-INTEL_SSDPE2KX010T8-nvme1.json")
	if d.NVMe.PercentageUsed != 73 {
		t.Fatalf("capture: %d%% used", d.NVMe.PercentageUsed)
	}
	if f := find(evalSMART(nil, d), "smart.wear"); f != nil {
		t.Errorf("73%%: %+v", f)
	}
	st := &Settings{Devices: []DeviceSettings{{Model: "INTEL SSDPE2KX010T8", Params: map[string]map[string]float64{"smart.wear": {"warn": 70}}}}}
	if f := find(evalSMART(st, d), "smart.wear"); f == nil || f.Severity != model.Warning || !strings.Contains(f.Message, "73%") {
		t.Errorf("per-device warn 70: %+v", f)
	}
	used := 96
	d.EnduranceUsedPercent = &used
	if f := find(evalSMART(nil, d), "smart.wear"); f == nil || f.Severity != model.Critical {
		t.Errorf("96%%: %+v", f)
	}
	// An ATA SSD (Samsung 860 EVO, device statistics: 19 %% used).
	d = capture(t, "scrutiny/smart-ata-full.json")
	if d.EnduranceUsedPercent == nil || *d.EnduranceUsedPercent != 19 {
		t.Fatalf("ATA endurance used: %v", d.EnduranceUsedPercent)
	}
	st = &Settings{Global: map[string]map[string]float64{"smart.wear": {"warn": 15}}}
	if f := find(evalSMART(st, d), "smart.wear"); f == nil || f.Severity != model.Warning || !strings.Contains(f.Message, "19%") {
		t.Errorf("ATA 19%% with warn 15: %+v", f)
	}

	// Spare below threshold without the warning bit: reported; both 0
	// (a device that does not report spare): not.
	d = capture(t, "scrutiny/smart-nvme-failed.json")
	d.NVMe.AvailableSpare = 5
	if f := find(evalSMART(nil, d), "smart.nvme_spare"); f == nil || f.Severity != model.Critical || !strings.Contains(f.Message, "5% is below its threshold 10%") {
		t.Errorf("spare 5/10: %+v", f)
	}
	d.NVMe.AvailableSpare, d.NVMe.AvailableSpareThreshold = 0, 0
	if f := find(evalSMART(nil, d), "smart.nvme_spare"); f != nil {
		t.Errorf("spare 0/0 reported: %+v", f)
	}
}

func TestSMARTTemperature(t *testing.T) {
	// SAS disk at 26 C, trip point 85 C.
	d := capture(t, "smartctl_exporter/HITACHI_H109060SESUN600G_10.json")
	if f := find(evalSMART(nil, d), "smart.temperature"); f != nil {
		t.Errorf("26 C: %+v", f)
	}
	hot := 86.0
	d.TemperatureC = &hot
	if f := find(evalSMART(nil, d), "smart.temperature"); f == nil || f.Severity != model.Critical || !strings.Contains(f.Message, "drive's own critical limit 85 C") {
		t.Errorf("above trip: %+v", f)
	}
	// A configured per-device limit (by path) for a spinning disk.
	d = capture(t, "smartctl_exporter/HITACHI_H109060SESUN600G_10.json")
	st := &Settings{Devices: []DeviceSettings{{Path: "/dev/sdb", Params: map[string]map[string]float64{"smart.temperature": {"hdd_warn": 25}}}}}
	if f := find(evalSMART(st, d), "smart.temperature"); f == nil || f.Severity != model.Warning || !strings.Contains(f.Message, "warning limit 25 C") {
		t.Errorf("hdd_warn 25: %+v", f)
	}
	// ATA SSD with SCT limits 70/70: 71 C is past the drive's own limit.
	d = capture(t, "scrutiny/smart-ata-full.json")
	warm := 71.0
	d.TemperatureC = &warm
	if f := find(evalSMART(nil, d), "smart.temperature"); f == nil || f.Severity != model.Critical {
		t.Errorf("SCT limit: %+v", f)
	}
	// The Intel RAID volume answers 0 C: not a temperature.
	d = capture(t, "scrutiny/smart-raid.json")
	st = &Settings{Global: map[string]map[string]float64{"smart.temperature": {"hdd_warn": -5, "ssd_warn": -5}}}
	if f := find(evalSMART(st, d), "smart.temperature"); f != nil {
		t.Errorf("0 C reported: %+v", f)
	}
}

func TestSMARTNotRead(t *testing.T) {
	standby := model.Disk{Device: model.DeviceInfo{Path: "/dev/sdb", Protocol: "ata", Via: "sat"}, Skipped: "standby", PowerMode: "standby"}
	if got := summary(evalSMART(nil, standby)); got != "smart.not_read:OK" {
		t.Errorf("standby: %s", got)
	}
	// SMART-less SCSI (a RAID volume; QEMU's virtio-scsi disks too).
	fs := evalSMART(nil, capture(t, "scrutiny/smart-raid.json"))
	if f := find(fs, "smart.not_read"); f == nil || !strings.Contains(f.Message, "no SMART") || len(fs) != 1 {
		t.Errorf("RAID volume: %+v", fs)
	}
	// -i output of an NVMe drive: no SMART read, but not "no SMART".
	if fs := evalSMART(nil, capture(t, "scrutiny/smartctl_info_nvme.json")); len(fs) != 0 {
		t.Errorf("NVMe -i: %+v", fs)
	}
}

func TestSMARTDisabled(t *testing.T) {
	// A SAS disk whose informational exceptions (SMART) are switched off.
	fs := evalSMART(nil, capture(t, "smartctl_exporter/SEAGATE_ST373453LC_27.json"))
	if f := find(fs, "smart.disabled"); f == nil || f.Severity != model.OK || f.Remedy != "enable it: smartctl -s on /dev/sda" {
		t.Errorf("findings: %+v", fs)
	}
	if f := find(evalSMART(nil, capture(t, "smartctl_exporter/HITACHI_H109060SESUN600G_10.json")), "smart.disabled"); f != nil {
		t.Errorf("enabled disk: %+v", f)
	}
}

func TestSMARTSelfTestAbortedDoesNotHide(t *testing.T) {
	d := capture(t, "scrutiny/smart-megaraid1.json")
	// Entry 0 is an aborted short test; the failed one behind it is the
	// most recent short test that completed.
	d.SelfTest.Entries[1].Passed, d.SelfTest.Entries[1].Failed, d.SelfTest.Entries[1].Status = false, true, "Completed: read failure"
	f := find(evalSMART(nil, d), "smart.self_test.short")
	if f == nil || !strings.Contains(f.Message, "short self-test failed") || !strings.Contains(f.Remedy, "-t short -d sat+megaraid,1 /dev/sda") {
		t.Errorf("self-test: %+v", f)
	}
	// A later passing test of the same kind clears it.
	d.SelfTest.Entries[0].Passed = true
	if f := find(evalSMART(nil, d), "smart.self_test.short"); f != nil {
		t.Errorf("cleared by a later pass: %+v", f)
	}
}

func TestSMARTRulesInDefault(t *testing.T) {
	for _, r := range SMARTRules() {
		if _, ok := Default().Lookup(r.Name); !ok {
			t.Errorf("%s not in Default()", r.Name)
		}
		if r.Summary == "" {
			t.Errorf("%s has no summary", r.Name)
		}
	}
}
