package main

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/diskwatch/diskwatch/cmd/diskwatch/internal/rig"
	"github.com/diskwatch/diskwatch/collectors/model"
)

// TestRigHwmonDriveTemps reads drive temperatures from the real kernel's
// hwmon in QEMU: the nvme driver's hwmon (CONFIG_NVME_HWMON), and the
// drivetemp module with an AHCI disk. A sensor must be tied to its disk:
// the kernel name and the same identity (model.DeviceInfo.ID) the native
// SMART collector gives that disk in the same guest.
func TestRigHwmonDriveTemps(t *testing.T) {
	mods := append(append([]string{}, rig.DefaultModules...), "drivetemp")
	disks := []rig.Disk{{ID: "ha0", Bus: rig.AHCI}, {ID: "hn0", Bus: rig.NVMe}}
	ctx, vm := rigBoot(t, 10*time.Minute, rig.Config{Modules: mods, Disks: disks}, nil)
	var err error
	defer func() {
		if t.Failed() {
			c := strings.Split(strings.TrimRight(vm.ConsoleLog(), "\n"), "\n")
			t.Logf("guest console (tail):\n%s", strings.Join(c[max(0, len(c)-40):], "\n"))
		}
	}()
	var dev map[string]string
	for i := 0; i < 90; i++ {
		if dev, err = vm.BlockBySerial(ctx); err != nil {
			t.Fatal(err)
		}
		if dev["ha0"] != "" && dev["hn0"] != "" {
			break
		}
		time.Sleep(time.Second)
	}
	if dev["ha0"] == "" || dev["hn0"] == "" {
		t.Fatalf("disks by serial: %v", dev)
	}
	ahci := dev["ha0"]
	nvmeCtrl := regexp.MustCompile(`^nvme[0-9]+`).FindString(dev["hn0"])
	r, err := vm.Exec(ctx, time.Minute, "for h in /sys/class/hwmon/*; do echo $h $(cat $h/name) $(readlink $h/device); done; grep drivetemp /proc/modules")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("guest hwmon:\n%s", r.Output)
	if _, err := vm.MustExec(ctx, time.Minute, "mkdir -p /tmp/dw && printf 'collectors:\\n  mdraid: {enabled: false}\\n  smart: {smartctl_fallback: false}\\n' >/tmp/dw/c.yaml"); err != nil {
		t.Fatal(err)
	}
	r, err = vm.Exec(ctx, 2*time.Minute, "diskwatch sensors --config /tmp/dw/c.yaml --format json 2>/tmp/dw/err; cat /tmp/dw/err >&2")
	if err != nil {
		t.Fatal(err)
	}
	out := string(r.Output)
	var doc struct{ Sensors []model.Sensor }
	if err := json.Unmarshal([]byte(out[:strings.LastIndex(out, "}")+1]), &doc); err != nil {
		t.Fatalf("sensors: %v\n%s", err, out)
	}
	r, err = vm.Exec(ctx, 2*time.Minute, "diskwatch smart --config /tmp/dw/c.yaml --format json 2>/dev/null")
	if err != nil {
		t.Fatal(err)
	}
	out = string(r.Output)
	var recs []model.Disk
	if err := json.Unmarshal([]byte(out[:strings.LastIndex(out, "]")+1]), &recs); err != nil {
		t.Fatalf("smart: %v\n%s", err, out)
	}
	ids := map[string]string{}
	for _, d := range recs {
		ids[strings.TrimPrefix(d.Device.Path, "/dev/")] = d.Device.ID()
	}
	t.Logf("disk identities from the SMART collector: %v", ids)
	byDev := map[string]model.Sensor{}
	for _, s := range doc.Sensors {
		t.Logf("sensor %s = %.1f %s device %s disk %s", s.ID, s.Value, s.Unit, s.Device, s.Disk)
		if s.Kind == "temperature" && s.Device != "" {
			byDev[s.Chip+":"+s.Device] = s
		}
	}
	nv, ok := byDev["nvme:"+nvmeCtrl]
	if !ok {
		t.Errorf("no nvme hwmon sensor for %s", nvmeCtrl)
	} else {
		// QEMU's NVMe reports a fixed 50 °C composite temperature.
		if nv.Value < 1 || nv.Value > 100 || nv.Disk == "" || nv.Disk != ids[nvmeCtrl] {
			t.Errorf("nvme sensor %+v; SMART identity %q", nv, ids[nvmeCtrl])
		}
	}
	// drivetemp (loaded above) does not take QEMU's emulated ATA disk: it
	// registers no hwmon for it (seen with Debian's 6.1 kernel). When it
	// does, the tie is checked like the NVMe one.
	if dt, ok := byDev["drivetemp:"+ahci]; ok {
		if dt.Value < 1 || dt.Value > 100 || (dt.Disk != "" && dt.Disk != ids[ahci]) {
			t.Errorf("drivetemp sensor %+v, SMART identity %q", dt, ids[ahci])
		}
	} else {
		t.Logf("no drivetemp hwmon for %s: the driver did not take QEMU's disk", ahci)
	}
}
