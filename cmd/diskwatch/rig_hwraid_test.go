package main

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/diskwatch/diskwatch/cmd/diskwatch/internal/rig"
	"github.com/diskwatch/diskwatch/collectors/hwraid"
	"github.com/diskwatch/diskwatch/collectors/model"
)

// hwraidDoc is the part of `check --format json` TestRigHWRaid reads.
type hwraidDoc struct {
	Status   string               `json:"status"`
	Findings []model.Finding      `json:"findings"`
	Disks    []model.Disk         `json:"disks"`
	Sources  []model.SourceStatus `json:"sources"`
}

func (d *hwraidDoc) source(name string) *model.SourceStatus {
	for i := range d.Sources {
		if d.Sources[i].Name == name {
			return &d.Sources[i]
		}
	}
	return nil
}

// TestRigHWRaid boots a Debian kernel in QEMU with an emulated MegaRAID
// SAS 1078 (megasas, disks MEGA0 and MEGA1 at scsi-id 0 and 1) and a
// MegaRAID SAS 2108 (megasas-gen2, disk MEGA2) driven by the real
// megaraid_sas driver, plus an AHCI disk whose sector 100000 fails writes
// (blkdebug). In the guest:
//   - diskwatch creates the MFI ioctl node from /proc/devices, lists the
//     physical disks behind both controllers through MFI (PD GET LIST:
//     device ids 0 and 256 on the first, as the firmware gives them, 0 on
//     the second), finds the pass-through address of each (PD GET INFO's
//     VPD page 0x83 against the disk's own), reads their INQUIRY (serials
//     MEGA0, MEGA1, MEGA2) and reports them with SMART unavailable, the
//     run not failing; check keeps one record per drive (QEMU also shows
//     each as a logical drive, same serial);
//   - the set of disks is the one the real smartctl --scan-open lists
//     (/dev/bus/N -d megaraid,ID);
//   - the controllers' logical drives are read through DCMDs (LD GET
//     LIST, CFG READ): one optimal LD per disk, each naming its member's
//     slot, and no battery (QEMU answers BBU STATUS with zeros);
//   - the kernel-log watcher tails from the end on its first run, then
//     sees the write errors provoked after it as a burst on that disk, and
//     does not report them again on the next run.
func TestRigHWRaid(t *testing.T) {
	ctx, vm := rigBoot(t, 15*time.Minute, rig.Config{
		Disks: []rig.Disk{
			{ID: "MEGA0", Bus: rig.MegaSAS}, {ID: "MEGA1", Bus: rig.MegaSAS}, {ID: "MEGA2", Bus: rig.MegaSAS2},
			{ID: "kerr", Bus: rig.AHCI, Inject: []rig.Inject{{Sector: 100000}}},
			// A SCSI disk with a world wide name, failing writes too: its
			// kernel errors (identity from sysfs wwid "naa.…") must land
			// on the record its SMART data is in (VPD page 0x83, "0x…").
			{ID: "SAS0", Bus: rig.VirtioSCSI, Props: []string{"wwn=0x5000c500a1b2c3d4"}, Inject: []rig.Inject{{Sector: 100000}}},
		},
	}, nil)
	var err error
	defer func() {
		if t.Failed() {
			c := strings.Split(strings.TrimRight(vm.ConsoleLog(), "\n"), "\n")
			t.Logf("guest console (tail):\n%s", strings.Join(c[max(0, len(c)-40):], "\n"))
		}
	}()
	var dev map[string]string
	for i := 0; ; i++ {
		if dev, err = vm.BlockBySerial(ctx); err != nil {
			t.Fatal(err)
		}
		if dev["kerr"] != "" || i == 90 {
			break
		}
		time.Sleep(time.Second)
	}
	kerr, sas := dev["kerr"], dev["SAS0"]
	if kerr == "" || sas == "" {
		t.Fatalf("disks by serial: %v", dev)
	}
	// Both megaraid_sas hosts must be up before the first check.
	if _, err := vm.MustExec(ctx, time.Minute, `for i in $(seq 60); do [ $(grep -l megaraid_sas /sys/class/scsi_host/host*/proc_name | wc -l) -ge 2 ] && exit 0; sleep 1; done; exit 1`); err != nil {
		t.Fatal(err)
	}

	check := func(name string) *hwraidDoc {
		t.Helper()
		start := time.Now()
		r, err := vm.Exec(ctx, 3*time.Minute, "diskwatch check --format json 2>/tmp/check.err; rc=$?; cat /tmp/check.err >&2; exit $rc")
		if err != nil {
			t.Fatal(err)
		}
		out := string(r.Output)
		i := strings.Index(out, "{")
		var doc hwraidDoc
		if i < 0 || json.Unmarshal([]byte(out[i:strings.LastIndex(out, "}")+1]), &doc) != nil {
			t.Fatalf("%s: check exit %d, output:\n%s", name, r.Exit, out)
		}
		t.Logf("%s: check exit %d in %v (guest), status %s", name, r.Exit, time.Since(start).Round(time.Millisecond), doc.Status)
		if r.Exit == exitUnknown {
			t.Errorf("%s: check exited UNKNOWN:\n%s", name, out)
		}
		return &doc
	}

	// megaraid_sas registers its ioctl character device without a device
	// node: diskwatch must create it from /proc/devices, as smartctl does.
	node := `if [ -c /dev/megaraid_sas_ioctl_node ]; then echo char $(grep megaraid_sas_ioctl /proc/devices); else echo none; fi`
	if out, err := vm.MustExec(ctx, time.Minute, node); err != nil || strings.TrimSpace(string(out)) != "none" {
		t.Fatalf("before the first check: %q %v", out, err)
	}
	doc := check("first run")
	if out, err := vm.MustExec(ctx, time.Minute, node+`; ls -l /dev/megaraid_sas_ioctl_node`); err != nil || !strings.HasPrefix(string(out), "char ") {
		t.Errorf("after the first check the MFI node is not there: %q %v", out, err)
	} else {
		t.Logf("MFI node created: %s", strings.ReplaceAll(strings.TrimSpace(string(out)), "\n", "; "))
	}
	// MFI: the physical disks behind each controller, by serial, as
	// diskwatch raid reads them (the hwraid collector alone).
	r, err := vm.Exec(ctx, 3*time.Minute, "diskwatch raid --format json 2>/tmp/raid.err; rc=$?; cat /tmp/raid.err >&2; exit $rc")
	if err != nil {
		t.Fatal(err)
	}
	var raid struct {
		Controllers []hwraid.Controller `json:"controllers"`
		Disks       []model.Disk        `json:"disks"`
		State       []model.Controller  `json:"state"`
	}
	out := string(r.Output)
	if i := strings.Index(out, "{"); r.Exit != 0 || i < 0 || json.Unmarshal([]byte(out[i:strings.LastIndex(out, "}")+1]), &raid) != nil {
		t.Fatalf("diskwatch raid: exit %d\n%s", r.Exit, out)
	}
	byName := map[string]model.Disk{}
	for _, d := range raid.Disks {
		byName[d.Device.Name] = d
	}
	want := map[string]string{"megaraid0 disk 0": "MEGA0", "megaraid0 disk 256": "MEGA1", "megaraid1 disk 0": "MEGA2"}
	wantVia := map[string]string{"megaraid0 disk 0": "megaraid,0", "megaraid0 disk 256": "megaraid,256", "megaraid1 disk 0": "megaraid,0"}
	for name, serial := range want {
		d, ok := byName[name]
		if !ok {
			t.Errorf("no record %q; records: %+v", name, byName)
			continue
		}
		if d.Device.Serial != serial || d.Device.Via != wantVia[name] || d.Device.Protocol != "scsi" ||
			!strings.HasPrefix(d.Device.Model, "QEMU") || d.SMARTAvailable || !strings.HasPrefix(d.Device.Path, "/dev/bus/") {
			t.Errorf("%s: %+v", name, d.Device)
		}
		t.Logf("%s: %s, serial %s, via %s, %s, capacity %d, SMART available %v", name, d.Device.Model, d.Device.Serial, d.Device.Via, d.Device.Path, d.Device.Capacity, d.SMARTAvailable)
	}
	if len(byName) != 3 || len(raid.Controllers) != 2 {
		t.Errorf("controllers %+v, records %v", raid.Controllers, byName)
	}
	// The controllers' own view: QEMU makes one RAID0-like LD per disk,
	// optimal, its member online in the disk's slot (its scsi-id).
	serialOf := map[string]string{}
	for _, d := range raid.Disks {
		serialOf[d.Device.ID()] = d.Device.Serial
	}
	lds := map[string]string{}
	for _, st := range raid.State {
		if st.Battery != nil || len(st.Errors) > 0 {
			t.Errorf("%s: battery %+v, errors %v", st.Name, st.Battery, st.Errors)
		}
		for _, ld := range st.Logical {
			var mem []string
			for _, m := range ld.Members {
				mem = append(mem, m.Where()+" "+m.State+" "+serialOf[m.DiskID])
			}
			lds[fmt.Sprintf("%s LD %d", st.Name, ld.ID)] = ld.State + ": " + strings.Join(mem, ", ")
		}
	}
	t.Logf("logical drives from the emulated controllers: %v", lds)
	wantLD := map[string]string{
		"megaraid0 LD 0": "optimal: slot 0 online MEGA0",
		"megaraid0 LD 1": "optimal: slot 1 online MEGA1",
		"megaraid1 LD 0": "optimal: slot 0 online MEGA2",
	}
	if !reflect.DeepEqual(lds, wantLD) {
		t.Errorf("logical drives %v, want %v", lds, wantLD)
	}
	// check: QEMU's megasas also shows each drive to the OS as a logical
	// drive with the same INQUIRY serial, so the snapshot keeps one record
	// per serial (whichever way it was read); it says SMART is
	// unavailable, and the hwraid collector ran without failing.
	if s := doc.source("hwraid"); s == nil || s.State != model.SourceOK {
		t.Errorf("hwraid source: %+v", s)
	}
	for _, f := range doc.Findings {
		if f.Rule == "collector.failed" && strings.Contains(f.Subject, "hwraid") {
			t.Errorf("hwraid failed: %+v", f)
		}
		if strings.HasPrefix(f.Rule, "kernel.") {
			t.Errorf("first run reported old kernel lines: %+v", f)
		}
	}
	for _, serial := range want {
		n := 0
		for _, d := range doc.Disks {
			if d.Device.Serial == serial {
				n++
				if d.SMARTAvailable {
					t.Errorf("%s: SMART available: %+v", serial, d.Device)
				}
			}
		}
		found := false
		for _, f := range doc.Findings {
			if strings.Contains(f.Subject, serial) && strings.Contains(strings.ToLower(f.Message), "smart") {
				found = true
				t.Logf("%s: %s %s %s: %s", serial, f.Subject, f.Severity, f.Rule, f.Message)
			}
		}
		if n != 1 || !found {
			t.Errorf("%s: %d records in check, SMART finding %v; findings %+v", serial, n, found, doc.Findings)
		}
	}

	// The real smartctl lists the same disks, for the fallback.
	scan, err := vm.MustExec(ctx, time.Minute, "smartctl --scan-open")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("smartctl --scan-open in the guest:\n%s", scan)
	entries := hwraid.ParseScan(scan)
	scanned := map[string]bool{}
	for _, e := range entries {
		if strings.HasPrefix(e.Type, "megaraid,") || strings.HasPrefix(e.Type, "sat+megaraid,") {
			scanned[e.Dev+" "+strings.TrimPrefix(e.Type, "sat+")] = true
		}
	}
	found := map[string]bool{}
	for _, d := range raid.Disks {
		found[d.Device.Path+" "+d.Device.Via] = true
	}
	t.Logf("disks: smartctl --scan-open %d, diskwatch %d", len(scanned), len(found))
	if len(scanned) != 3 || !reflect.DeepEqual(scanned, found) {
		t.Errorf("smartctl --scan-open finds %v, diskwatch %v", scanned, found)
	}
	// What smartctl itself reads at each address it lists (its
	// megaraid,256 is truncated to the frame's 8-bit target: device 0).
	for e := range scanned {
		f := strings.Fields(e)
		out, _ := vm.MustExec(ctx, time.Minute, "smartctl -i -d "+f[1]+" "+f[0]+" | grep -i serial || true")
		t.Logf("smartctl -i -d %s %s: %s", f[1], f[0], strings.TrimSpace(string(out)))
	}

	// Kernel log: write errors after the first run are seen once.
	for _, d := range []string{kerr, sas} {
		if _, err := vm.Exec(ctx, 2*time.Minute, "for i in 1 2 3; do dd if=/dev/zero of=/dev/"+d+" bs=4096 seek=12500 count=1 oflag=direct conv=fsync 2>&1; done; sync; exit 0"); err != nil {
			t.Fatal(err)
		}
	}
	doc = check("after write errors")
	var burst *model.Finding
	for i, f := range doc.Findings {
		if f.Rule == "kernel.error_burst" && strings.HasPrefix(f.Subject, kerr) {
			burst = &doc.Findings[i]
		}
	}
	if burst == nil || burst.Severity != model.Warning || len(burst.Evidence) == 0 {
		t.Fatalf("no kernel.error_burst on %s: %+v", kerr, doc.Findings)
	}
	t.Logf("kernel.error_burst on %s: %s; first evidence line: %s", burst.Subject, burst.Message, burst.Evidence[0])
	// The SCSI disk: one identity for its SMART record and its kernel
	// errors.
	var sasDisk *model.Disk
	for i, d := range doc.Disks {
		if d.Device.Serial == "SAS0" {
			sasDisk = &doc.Disks[i]
		}
	}
	if sasDisk == nil || sasDisk.Device.ID() != "wwn:5000c500a1b2c3d4" {
		t.Fatalf("SAS0 record: %+v", sasDisk)
	}
	var sasBurst *model.Finding
	for i, f := range doc.Findings {
		if f.Rule == "kernel.error_burst" && strings.HasPrefix(f.Subject, sas) {
			sasBurst = &doc.Findings[i]
		}
	}
	if sasBurst == nil || sasBurst.SubjectID != sasDisk.Device.ID() {
		t.Errorf("kernel errors of %s (SAS0, record %s): %+v", sas, sasDisk.Device.ID(), sasBurst)
	} else {
		t.Logf("SAS0 (%s): kernel.error_burst keyed %s, the same as its SMART record (WWN %s, power mode %s)", sas, sasBurst.SubjectID, sasDisk.Device.WWN, sasDisk.PowerMode)
	}
	doc = check("third run")
	for _, f := range doc.Findings {
		if strings.HasPrefix(f.Rule, "kernel.") {
			t.Errorf("third run re-reported kernel lines: %+v", f)
		}
	}
}
