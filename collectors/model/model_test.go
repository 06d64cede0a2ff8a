package model

import (
	"testing"
)

func TestDeviceIDSurvivesRenames(t *testing.T) {
	a := DeviceInfo{Path: "/dev/sda", Model: "WDC WD40EFRX", Serial: "WD-1234", WWN: "0x50014EE2B5A1C2D3"}
	b := a
	b.Path = "/dev/sdc" // the same disk after a reboot or a controller move
	if a.ID() != b.ID() {
		t.Errorf("ID changed with the path: %s vs %s", a.ID(), b.ID())
	}
	if a.ID() != "wwn:50014ee2b5a1c2d3" {
		t.Errorf("ID = %s", a.ID())
	}
	a.WWN, b.WWN = "", ""
	if a.ID() != b.ID() || a.ID() != "serial:WDC_WD40EFRX_WD-1234" {
		t.Errorf("model+serial ID: %s vs %s", a.ID(), b.ID())
	}
	c := DeviceInfo{Path: "/dev/twa0", Via: "3ware,1"}
	if c.ID() != "path:/dev/twa0#3ware,1" {
		t.Errorf("fallback ID = %s", c.ID())
	}
	evil := DeviceInfo{Model: "x\n$(touch /tmp/pwned)", Serial: "\x1b[2J"}
	if id := evil.ID(); id != "serial:x%0a$(touch_/tmp/pwned)_%1b[2J" {
		t.Errorf("untrusted ID = %q", id)
	}
}

// TestWWNForms: one disk, reached as a SCSI disk (smartctl's and the
// native reader's logical_unit_id), through SAT (ATA IDENTIFY words
// 108-111 as smartctl prints them) and through sysfs (kmsg, hwmon, hwraid:
// device/wwid), has one identity.
func TestWWNForms(t *testing.T) {
	want := "wwn:5000c500a1b2c3d4"
	for _, w := range []string{"0x5000c500a1b2c3d4", "0x5000C500A1B2C3D4", "5 000c50 0a1b2c3d4", "naa.5000C500A1B2C3D4",
		"5000c500a1b2c3d4", " 5000c500a1b2c3d4\n"[:17]} {
		if got := (DeviceInfo{WWN: w, Serial: "S", Path: "/dev/x"}).ID(); got != want {
			t.Errorf("WWN %q: ID %s, want %s", w, got, want)
		}
	}
	if got := (DeviceInfo{WWN: "0x0000000000000000", Model: "M", Serial: "S"}).ID(); got != "serial:M_S" {
		t.Errorf("all-zero WWN: ID %s", got)
	}
	if got := (DeviceInfo{WWN: "eui.0025388b81b2c3d4"}).ID(); got != "wwn:eui.0025388b81b2c3d4" {
		t.Errorf("EUI: ID %s", got)
	}
}

func TestArrayID(t *testing.T) {
	a := Array{Name: "md0", UUID: "0a1b2c3d4e5f60718293a4b5c6d7e8f9"}
	b := a
	b.Name = "md127" // the same array after a reboot
	if a.ID() != b.ID() || a.ID() != "md:uuid:0a1b2c3d4e5f60718293a4b5c6d7e8f9" {
		t.Errorf("array IDs %s, %s", a.ID(), b.ID())
	}
	for _, s := range b.Samples() {
		if s.Subject != a.ID() {
			t.Errorf("sample %+v not keyed by the UUID", s)
		}
	}
	if (&Array{Name: "md5"}).ID() != "md5" {
		t.Error("an array without UUID is keyed by its name")
	}
}

func TestClean(t *testing.T) {
	for in, want := range map[string]string{
		"  WDC WD40EFRX  ":    "WDC WD40EFRX",
		"a\x1b[31mred\x1b[0m": `a\x1b[31mred\x1b[0m`,
		"line\nbreak":         `line\x0abreak`,
		"bad\xffutf8":         `bad\xffutf8`,
		"caf\u00e9":           "caf\u00e9",
		"c1\u009bcsi":         `c1\x9bcsi`,
		"$(touch /tmp/x)":     "$(touch /tmp/x)",
	} {
		if got := Clean(in); got != want {
			t.Errorf("Clean(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzClean(f *testing.F) {
	f.Add("WDC\x1b[0m\n")
	f.Fuzz(func(t *testing.T, s string) {
		for _, r := range Clean(s) {
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
				t.Fatalf("control character %U survived in %q", r, Clean(s))
			}
		}
	})
}
