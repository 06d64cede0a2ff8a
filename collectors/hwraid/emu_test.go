package hwraid_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/diskwatch/diskwatch/collectors/hostroot"
	"github.com/diskwatch/diskwatch/collectors/hwraid"
	"github.com/diskwatch/diskwatch/collectors/hwraid/mfiemu"
	"github.com/diskwatch/diskwatch/collectors/hwraid/twemu"
	"github.com/diskwatch/diskwatch/collectors/model"
	"github.com/diskwatch/diskwatch/collectors/smart"
	"github.com/diskwatch/diskwatch/collectors/smartctl"
)

// megaraidRoot is a host root with one megaraid_sas SCSI host.
func megaraidRoot(t *testing.T, host int) string {
	root := t.TempDir()
	dir := filepath.Join(root, "sys", "class", "scsi_host", "host"+itoa(host))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "proc_name"), []byte("megaraid_sas\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

func itoa(n int) string { return strconv.Itoa(n) }

// EmulatedScenario reads the emulated degraded MegaRAID (mfiemu.Degraded)
// through the whole native path: the MFI frames the collector builds go
// to the emulated firmware, whose disks answer with real pages.
func emulatedSnapshot(t *testing.T) (*model.Snapshot, *mfiemu.Controller, map[string]mfiemu.Disk) {
	t.Helper()
	ctl, disks, err := mfiemu.Degraded("testdata/emu")
	if err != nil {
		t.Fatal(err)
	}
	fs := hostroot.New(megaraidRoot(t, mfiemu.ScenHost))
	var snap model.Snapshot
	// The drive database from the host, as the SMART collector loads it
	// (smartmontools' drivedb.h; .ci/setup installs smartmontools).
	db := smart.New(hostroot.New("/")).DriveDB()
	err = hwraid.New(fs, &hwraid.HostNative{FS: fs, MFI: ctl, DB: db}, nil).Collect(context.Background(), &snap)
	if err != nil {
		t.Fatal(err)
	}
	return &snap, ctl, disks
}

func normalized(t *testing.T, name string) model.Disk {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata/emu", name))
	if err != nil {
		t.Fatal(err)
	}
	d, err := smartctl.Normalize(b)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestEmulatedMegaRAID: SATA disks behind MFI read through SAT, SAS disks
// through LOG SENSE, a SAS disk in standby left unread, and the
// controller's logical drives, member slots and battery, all from the
// emulated controller's bytes; each SMART record equals what smartctl
// read from the same pages.
func TestEmulatedMegaRAID(t *testing.T) {
	snap, ctl, disks := emulatedSnapshot(t)
	by := map[string]model.Disk{}
	for _, d := range snap.Disks {
		by[d.Device.Name] = d
	}
	if len(by) != 4 {
		t.Fatalf("%d disks: %+v\ncommands: %v", len(by), by, ctl.Log())
	}
	// SATA through SAT: the rig's AHCI disk and a smartctl capture,
	// attribute for attribute as smartctl decoded them.
	for name, src := range map[string]string{"megaraid0 disk 8": "ahci.smartctl.json", "megaraid0 disk 9": mfiemu.SATAJSON} {
		got, want := by[name], normalized(t, src)
		if got.Device.Via != "sat+megaraid,"+strings.TrimPrefix(name, "megaraid0 disk ") || got.Device.Protocol != "ata" {
			t.Errorf("%s: via %q protocol %q", name, got.Device.Via, got.Device.Protocol)
		}
		if got.Device.Model != want.Device.Model || got.Device.Serial != want.Device.Serial || got.Device.ID() != want.Device.ID() {
			t.Errorf("%s: identity %+v, smartctl %+v", name, got.Device, want.Device)
		}
		type attr struct {
			ID, Value, Worst, Thresh int
			Raw                      int64
		}
		pick := func(as []model.ATAAttribute) (out []attr) {
			for _, a := range as {
				out = append(out, attr{a.ID, a.Value, a.Worst, a.Thresh, a.Raw})
			}
			return out
		}
		if diff := cmp.Diff(pick(want.ATAAttributes), pick(got.ATAAttributes)); diff != "" || len(got.ATAAttributes) == 0 {
			t.Errorf("%s: attributes (-smartctl +native through MFI):\n%s", name, diff)
		}
		if got.SMARTPassed == nil || !*got.SMARTPassed || got.PowerMode != "active" {
			t.Errorf("%s: passed %v, power mode %q, errors %v", name, got.SMARTPassed, got.PowerMode, got.Errors)
		}
	}
	// SAS through LOG SENSE.
	got, want := by["megaraid0 disk 10"], normalized(t, mfiemu.SASJSON)
	if got.Device.Via != "megaraid,10" || got.Device.Protocol != "scsi" || got.Device.WWN != want.Device.WWN || got.Device.Capacity != want.Device.Capacity {
		t.Errorf("SAS identity %+v, smartctl %+v", got.Device, want.Device)
	}
	for _, c := range []struct {
		what      string
		got, want any
	}{
		{"SMART available", got.SMARTAvailable, want.SMARTAvailable},
		{"passed", deref(got.SMARTPassed), deref(want.SMARTPassed)},
		{"temperature", deref(got.TemperatureC), deref(want.TemperatureC)},
		{"trip temperature", deref(got.CritTemperatureC), deref(want.CritTemperatureC)},
		{"power-on hours", deref(got.PowerOnHours), deref(want.PowerOnHours)},
		{"start-stop cycles", deref(got.PowerCycles), deref(want.PowerCycles)},
		{"read uncorrected", deref(got.SCSI.ReadUncorrected), deref(want.SCSI.ReadUncorrected)},
		{"write uncorrected", deref(got.SCSI.WriteUncorrected), deref(want.SCSI.WriteUncorrected)},
		{"grown defects", deref(got.SCSI.GrownDefects), deref(want.SCSI.GrownDefects)},
	} {
		if c.got != c.want {
			t.Errorf("SAS %s: native %v, smartctl %v", c.what, c.got, c.want)
		}
	}
	// The SAS disk in standby: identity from INQUIRY/VPD, nothing that
	// needs the medium.
	sb := by["megaraid0 disk 11"]
	if sb.Skipped != "standby" || sb.PowerMode != "standby" || disks["sas1"].(*mfiemu.SCSIDisk).Medium() != 0 {
		t.Errorf("standby SAS disk: skipped %q mode %q, %d medium commands", sb.Skipped, sb.PowerMode, disks["sas1"].(*mfiemu.SCSIDisk).Medium())
	}
	// The controller's own view.
	if len(snap.Controllers) != 1 {
		t.Fatalf("controllers %+v", snap.Controllers)
	}
	c := snap.Controllers[0]
	var lds []string
	for _, ld := range c.Logical {
		var ms []string
		for _, m := range ld.Members {
			ms = append(ms, m.Where()+" "+m.State+" "+by[c.Name+" disk "+itoa(m.DeviceID)].Device.Serial)
			if m.DiskID == "" {
				t.Errorf("LD %d member %s has no disk identity", ld.ID, m.Where())
			}
		}
		lds = append(lds, ld.Name+" RAID"+ld.RAIDLevel+" "+ld.State+": "+strings.Join(ms, ", "))
	}
	t.Logf("logical drives: %q; battery %+v", lds, c.Battery)
	if len(c.Logical) != 2 || c.Logical[0].State != "degraded" || c.Logical[0].Members[1].State != "failed" || c.Logical[0].Members[1].Where() != "enclosure 32 slot 1" ||
		c.Logical[1].State != "optimal" || c.Battery == nil || !c.Battery.Bad {
		t.Errorf("controller state %+v", c)
	}
	if len(c.Errors) != 0 {
		t.Errorf("errors %v", c.Errors)
	}
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// TestEmulated3ware reads an emulated 3ware 9000 (and the same controller
// as a 9750, twl) through the native path: the port count from GET PARAM,
// the rig's AHCI disk on port 0 read in full, the drive on port 1 in
// standby left unread (CHECK POWER MODE only: no IDENTIFY, nothing that
// wakes it), empty ports 2 and 3 skipped quietly.
func TestEmulated3ware(t *testing.T) {
	for _, drv := range []struct{ proc, name string }{{"3w-9xxx", "twa0"}, {"3w-sas", "twl0"}} {
		b, err := os.ReadFile("testdata/emu/" + mfiemu.RigAHCI)
		if err != nil {
			t.Fatal(err)
		}
		awake, err := mfiemu.SATAFromExchanges(b)
		if err != nil {
			t.Fatal(err)
		}
		if b, err = os.ReadFile("testdata/emu/" + mfiemu.SATAJSON); err != nil {
			t.Fatal(err)
		}
		asleep, err := mfiemu.SATAFromSmartctl(b)
		if err != nil {
			t.Fatal(err)
		}
		asleep.PowerCount = 0x00 // standby
		ctl := &twemu.Controller{Ports: []*mfiemu.SATADisk{awake, asleep, nil, nil}}
		root := t.TempDir()
		dir := filepath.Join(root, "sys", "class", "scsi_host", "host0")
		os.MkdirAll(dir, 0o755)
		os.WriteFile(filepath.Join(dir, "proc_name"), []byte(drv.proc+"\n"), 0o644)
		fs := hostroot.New(root)
		native := &hwraid.HostNative{FS: fs, TW: func(ct hwraid.Controller) (hwraid.TwPort, error) { return ctl, nil },
			DB: smart.New(hostroot.New("/")).DriveDB()}
		var snap model.Snapshot
		if err := hwraid.New(fs, native, nil).Collect(context.Background(), &snap); err != nil {
			t.Fatalf("%s: %v\n%v", drv.name, err, ctl.Log())
		}
		by := map[string]model.Disk{}
		for _, d := range snap.Disks {
			by[d.Device.Name] = d
		}
		if len(by) != 2 {
			t.Fatalf("%s: records %v\n%v", drv.name, by, ctl.Log())
		}
		got, want := by[drv.name+" port 0"], normalized(t, "ahci.smartctl.json")
		if got.Device.Serial != want.Device.Serial || got.Device.Via != "3ware,0" || len(got.ATAAttributes) != len(want.ATAAttributes) || got.SMARTPassed == nil || !*got.SMARTPassed {
			t.Errorf("%s port 0: %+v, %d attributes (smartctl %d), errors %v", drv.name, got.Device, len(got.ATAAttributes), len(want.ATAAttributes), got.Errors)
		}
		sl := by[drv.name+" port 1"]
		if sl.Skipped != "standby" || asleep.Medium() != 0 {
			t.Errorf("%s port 1 in standby: skipped %q, %d commands that wake it; log %v", drv.name, sl.Skipped, asleep.Medium(), ctl.Log())
		}
		// The first command any port gets is CHECK POWER MODE.
		first := map[string]bool{}
		for _, l := range ctl.Log() {
			if strings.HasPrefix(l, "ATA port ") {
				port := strings.Fields(l)[2]
				if !first[port] {
					first[port] = true
					if !strings.Contains(l, "cmd e5") {
						t.Errorf("%s: first command to port %s: %s", drv.name, port, l)
					}
				}
			}
		}
	}
}
