package hwmon

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/diskwatch/diskwatch/collectors/hostroot"
	"github.com/diskwatch/diskwatch/collectors/hwmon/hwmontest"
	"github.com/diskwatch/diskwatch/collectors/model"
)

var update = flag.Bool("update", false, "rewrite golden files")

func buildRoot(t testing.TB) string { return hwmontest.BuildRoot(t) }

func TestFixture(t *testing.T) {
	root := buildRoot(t)
	var snap model.Snapshot
	if err := New(hostroot.New(root)).Collect(context.Background(), &snap); err != nil {
		t.Fatal(err)
	}
	got, _ := json.MarshalIndent(snap.Sensors, "", "  ")
	got = append(got, '\n')
	golden := "testdata/golden.json"
	if *update {
		os.WriteFile(golden, got, 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("sensors differ from %s (run with -update and review):\n%s", golden, got)
	}
	// Spot checks that do not depend on the golden file.
	by := map[string]model.Sensor{}
	for _, s := range snap.Sensors {
		by[s.ID] = s
	}
	c := by["hwmon/coretemp@coretemp.1/temp3"]
	if c.Value != 52 || c.Label != "Core 1" || *c.Max != 84 || *c.Crit != 100 || c.Unit != "C" {
		t.Errorf("coretemp.1 temp3: %+v", c)
	}
	if v := by["hwmon/nct6779@nct6775.656/in0"]; v.Value != 0.792 || *v.Max != 1.744 || v.Kind != "voltage" || v.Alarm {
		t.Errorf("in0: %+v", v)
	}
	if v := by["hwmon/nct6779@nct6775.656/in1"]; !v.Alarm {
		t.Errorf("in1 alarm not read: %+v", v)
	}
	if f := by["hwmon/nct6779@nct6775.656/fan2"]; f.Value != 1098 || f.Unit != "rpm" {
		t.Errorf("fan2: %+v", f)
	}
	n := by["hwmon/nvme@nvme0/temp1"]
	if n.Value != 43.85 || n.Label != "Composite" || n.Device != "nvme0" || *n.Crit != 94.85 {
		t.Errorf("nvme temp1: %+v", n)
	}
	if _, ok := by["hwmon/bogus@bogus.0/bogus1"]; ok {
		t.Error("unknown sensor type read")
	}
	if len(snap.Sensors) != 23 {
		t.Errorf("%d sensors, want 23", len(snap.Sensors))
	}
}

// TestNVMeAndDrivetempTie builds the sysfs shape of a drivetemp SATA disk
// and an NVMe controller with identity files (layout as in the kernel's
// drivers/hwmon/drivetemp.c and drivers/nvme/host/hwmon.c: the hwmon's
// device is the SCSI device / the NVMe controller) and checks the disk
// identities match model.DeviceInfo.ID for the same disks.
func TestNVMeAndDrivetempTie(t *testing.T) {
	root := t.TempDir()
	mk := func(p, v string) {
		full := filepath.Join(root, p)
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, []byte(v+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ln := func(p, to string) {
		full := filepath.Join(root, p)
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.Symlink(to, full); err != nil {
			t.Fatal(err)
		}
	}
	scsi := "sys/devices/pci0000:00/0000:00:1f.2/ata1/host0/target0:0:0/0:0:0:0"
	mk(scsi+"/hwmon/hwmon1/name", "drivetemp")
	mk(scsi+"/hwmon/hwmon1/temp1_input", "36000")
	mk(scsi+"/hwmon/hwmon1/temp1_max", "60000")
	mk(scsi+"/wwid", "naa.50014ee2b1234567")
	os.MkdirAll(filepath.Join(root, scsi, "block", "sdb"), 0o755)
	ln(scsi+"/hwmon/hwmon1/device", "../../../0:0:0:0")
	ln("sys/class/hwmon/hwmon1", "../../devices/pci0000:00/0000:00:1f.2/ata1/host0/target0:0:0/0:0:0:0/hwmon/hwmon1")
	nv := "sys/devices/pci0000:00/0000:00:1d.0/0000:3d:00.0/nvme/nvme1"
	mk(nv+"/model", "Samsung SSD 970 EVO 500GB               ")
	mk(nv+"/serial", "S466NX0K123456      ")
	mk(nv+"/hwmon2/name", "nvme")
	mk(nv+"/hwmon2/temp1_input", "41850")
	mk(nv+"/hwmon2/temp1_label", "Composite")
	ln(nv+"/hwmon2/device", "../../nvme1")
	ln("sys/class/hwmon/hwmon2", "../../devices/pci0000:00/0000:00:1d.0/0000:3d:00.0/nvme/nvme1/hwmon2")
	var snap model.Snapshot
	if err := New(hostroot.New(root)).Collect(context.Background(), &snap); err != nil {
		t.Fatal(err)
	}
	if len(snap.Sensors) != 2 {
		t.Fatalf("%+v", snap.Sensors)
	}
	dt, nvs := snap.Sensors[0], snap.Sensors[1]
	wantDT := model.DeviceInfo{Path: "/dev/sdb", WWN: "5 0014ee 2b1234567"}.ID()
	if dt.Disk != wantDT || dt.Device != "sdb" || dt.Value != 36 || dt.ID != "hwmon/drivetemp@"+wantDT+"/temp1" {
		t.Errorf("drivetemp: %+v (want disk %s)", dt, wantDT)
	}
	// drivetemp can be left unread (spin-down timers).
	var snap2 model.Snapshot
	c := New(hostroot.New(root))
	c.SkipDrivetemp = true
	if err := c.Collect(context.Background(), &snap2); err != nil || len(snap2.Sensors) != 1 || snap2.Sensors[0].Chip != "nvme" {
		t.Errorf("SkipDrivetemp: %v %+v", err, snap2.Sensors)
	}
	// The standby policy: a disk asleep is not woken for its temperature;
	// one awake is read.
	for _, asleep := range []bool{true, false} {
		var asked []string
		c := New(hostroot.New(root))
		c.Asleep = func(_ context.Context, disk string) (bool, string) {
			asked = append(asked, disk)
			return asleep, "standby"
		}
		var s model.Snapshot
		err := c.Collect(context.Background(), &s)
		want := 2
		if asleep {
			want = 1
		}
		if err != nil || len(s.Sensors) != want || len(asked) != 1 || asked[0] != "sdb" {
			t.Errorf("asleep %v: asked %v, %v %+v", asleep, asked, err, s.Sensors)
		}
	}
	wantNV := model.DeviceInfo{Path: "/dev/nvme1", Protocol: "nvme", Model: "Samsung SSD 970 EVO 500GB", Serial: "S466NX0K123456"}.ID()
	if nvs.Disk != wantNV || nvs.Device != "nvme1" || nvs.Value != 41.85 {
		t.Errorf("nvme: %+v (want disk %s)", nvs, wantNV)
	}
}

func TestAbsent(t *testing.T) {
	var snap model.Snapshot
	err := New(hostroot.New(t.TempDir())).Collect(context.Background(), &snap)
	if err == nil || !strings.Contains(err.Error(), "absent") {
		t.Fatalf("%v", err)
	}
}

func TestBadValueKeepsOthers(t *testing.T) {
	root := buildRoot(t)
	p := filepath.Join(root, "sys/devices/platform/coretemp.0/hwmon/hwmon0/temp2_input")
	os.WriteFile(p, []byte("garbage\n"), 0o644)
	var snap model.Snapshot
	err := New(hostroot.New(root)).Collect(context.Background(), &snap)
	if err == nil || !strings.Contains(err.Error(), "temp2_input") {
		t.Fatalf("err %v", err)
	}
	if len(snap.Sensors) != 22 {
		t.Errorf("%d sensors, want the 22 good ones", len(snap.Sensors))
	}
}

func TestParseAttrName(t *testing.T) {
	for in, want := range map[string]Attr{
		"temp1_input":       {"temp", 1, "input"},
		"temp10_crit_alarm": {"temp", 10, "crit_alarm"},
		"in0_min":           {"in", 0, "min"},
		"power1_average":    {"power", 1, "average"},
		"humidity1_input":   {"humidity", 1, "input"},
	} {
		if got, ok := ParseAttrName(in); !ok || got != want {
			t.Errorf("%s: %+v %v", in, got, ok)
		}
	}
	for _, bad := range []string{"name", "uevent", "pwm1_enable", "intrusion0_alarm", "temp_input", "temp1", "bogus1_input", "fan99999_input"} {
		if a, ok := ParseAttrName(bad); ok {
			t.Errorf("%s accepted: %+v", bad, a)
		}
	}
}

func TestParseValueUnits(t *testing.T) {
	for _, tc := range []struct {
		typ, in string
		want    float64
	}{{"temp", "43850", 43.85}, {"temp", "-273150", -273.15}, {"in", "1744", 1.744}, {"fan", "1098", 1098},
		{"power", "12500000", 12.5}, {"curr", "2500", 2.5}, {"humidity", "45300", 45.3}} {
		if got, err := ParseValue(tc.typ, tc.in+"\n"); err != nil || got != tc.want {
			t.Errorf("%s %s = %v %v", tc.typ, tc.in, got, err)
		}
	}
	if _, err := ParseValue("temp", "12.5"); err == nil {
		t.Error("non-integer accepted")
	}
}

func FuzzParseAttr(f *testing.F) {
	filepath.Walk("testdata/node_exporter/sys", func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			b, _ := os.ReadFile(p)
			f.Add(info.Name(), string(b))
		}
		return nil
	})
	f.Fuzz(func(t *testing.T, name, value string) {
		a, ok := ParseAttrName(name)
		if !ok {
			return
		}
		if a.Index < 0 || a.Type == "" || a.Name == "" {
			t.Fatalf("%q -> %+v", name, a)
		}
		_, _ = ParseValue(a.Type, value)
	})
}
