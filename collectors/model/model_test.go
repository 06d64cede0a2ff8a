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
	if a.ID() != "wwn:0x50014ee2b5a1c2d3" {
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
