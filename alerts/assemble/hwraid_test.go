package assemble_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/diskwatch/diskwatch/alerts/rules"
	"github.com/diskwatch/diskwatch/collectors/hostroot"
	"github.com/diskwatch/diskwatch/collectors/hwraid"
	"github.com/diskwatch/diskwatch/collectors/hwraid/mfiemu"
	"github.com/diskwatch/diskwatch/collectors/model"
)

// TestEmulatedMegaRAIDFindings runs the whole path from the MFI ioctl to
// the findings on the emulated degraded MegaRAID (mfiemu.Degraded): the
// degraded logical drive is CRITICAL naming the controller, the LD and the
// failed member's slot; the dead battery is a WARNING; the SAS disk in
// standby is not read and raises nothing; the healthy disks raise nothing.
func TestEmulatedMegaRAIDFindings(t *testing.T) {
	ctl, _, err := mfiemu.Degraded("../../collectors/hwraid/testdata/emu")
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	dir := filepath.Join(root, "sys", "class", "scsi_host", "host6")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "proc_name"), []byte("megaraid_sas\n"), 0o644)
	fs := hostroot.New(root)
	var snap model.Snapshot
	if err := hwraid.New(fs, &hwraid.HostNative{FS: fs, MFI: ctl}, nil).Collect(context.Background(), &snap); err != nil {
		t.Fatal(err)
	}
	var crit, warn []model.Finding
	for _, f := range rules.Default().Evaluate(&rules.Input{Snapshot: &snap, Now: time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)}, nil) {
		switch f.Severity {
		case model.Critical:
			crit = append(crit, f)
		case model.Warning:
			warn = append(warn, f)
		}
		t.Logf("%s %s %s: %s | %s", f.Severity, f.Rule, f.Subject, f.Message, f.Remedy)
	}
	if len(crit) != 1 || crit[0].Rule != "hwraid.logical_drive" || crit[0].Subject != "megaraid0 LD 0 (system)" ||
		!strings.Contains(crit[0].Message, "DEGRADED") || !strings.Contains(crit[0].Message, "enclosure 32 slot 1 failed") ||
		!strings.Contains(crit[0].Remedy, "enclosure 32 slot 1") {
		t.Errorf("CRITICAL findings %+v", crit)
	}
	if len(warn) != 1 || warn[0].Rule != "hwraid.battery" || !strings.Contains(warn[0].Message, "voltage_low") {
		t.Errorf("WARNING findings %+v", warn)
	}
}

// TestEmulatedMegaRAIDRebuild: the failed disk replaced and rebuilding
// (PD state 14h, rebuild progress in MR_PD_INFO) turns the CRITICAL into
// a WARNING with the firmware's progress.
func TestEmulatedMegaRAIDRebuild(t *testing.T) {
	ctl, _, err := mfiemu.Degraded("../../collectors/hwraid/testdata/emu")
	if err != nil {
		t.Fatal(err)
	}
	pct := 37.5
	ctl.PDs[1].FWState, ctl.PDs[1].RebuildPercent = 0x14, &pct
	ctl.LDs[0].MemberStates[1] = 0x14
	ctl.BBU = nil // no battery: BBU STATUS answers NO HW PRESENT, no finding
	root := t.TempDir()
	dir := filepath.Join(root, "sys", "class", "scsi_host", "host6")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "proc_name"), []byte("megaraid_sas\n"), 0o644)
	fs := hostroot.New(root)
	var snap model.Snapshot
	if err := hwraid.New(fs, &hwraid.HostNative{FS: fs, MFI: ctl}, nil).Collect(context.Background(), &snap); err != nil {
		t.Fatal(err)
	}
	var got []model.Finding
	for _, f := range rules.Default().Evaluate(&rules.Input{Snapshot: &snap, Now: time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)}, nil) {
		if f.Severity == model.Critical || f.Severity == model.Warning {
			got = append(got, f)
		}
	}
	if len(got) != 1 || got[0].Rule != "hwraid.logical_drive" || got[0].Severity != model.Warning ||
		!strings.Contains(got[0].Message, "enclosure 32 slot 1 rebuild (38% rebuilt)") || got[0].Values["percent"] < 37.4 || got[0].Values["percent"] > 37.6 {
		t.Errorf("findings %+v", got)
	}
	if snap.Controllers[0].Battery != nil || len(snap.Controllers[0].Errors) != 0 {
		t.Errorf("no battery: %+v, errors %v", snap.Controllers[0].Battery, snap.Controllers[0].Errors)
	}
}
