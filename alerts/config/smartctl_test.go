package config

import (
	"strings"
	"testing"
	"time"

	"github.com/diskwatch/diskwatch/alerts/rules"
)

func TestSmartctlSection(t *testing.T) {
	c, err := Parse("x.yaml", []byte("collectors:\n  smartctl:\n    timeout: 20s\n    nocheck: sleep\n    devices:\n      - {path: /dev/twa0, type: \"3ware,0\"}\n      - {path: /dev/sdb}\n"), rules.Default())
	if err != nil {
		t.Fatal(err)
	}
	s := c.Collectors.Smartctl
	if !s.On() || s.Timeout != 20*time.Second || s.NoCheck != "sleep" || len(s.Devices) != 2 || s.Devices[0].Type != "3ware,0" || s.Devices[1].Path != "/dev/sdb" {
		t.Errorf("parsed %+v", s)
	}
	// Off by default: the embedded default lists no device.
	if d, _ := Parse("default", DefaultYAML(), rules.Default()); d.Collectors.Smartctl.On() {
		t.Error("smartctl collector on by default")
	}
	if c, _ := Parse("x.yaml", []byte("collectors:\n  smartctl:\n    enabled: false\n    devices: [{path: /dev/sda}]\n"), rules.Default()); c.Collectors.Smartctl.On() {
		t.Error("enabled: false ignored")
	}
	for _, tc := range []struct{ yaml, want string }{
		{"collectors:\n  smartctl:\n    nocheck: always\n", "nocheck must be"},
		{"collectors:\n  smartctl:\n    devices: [{type: sat}]\n", "devices[0]: path is required"},
		{"collectors:\n  smartctl:\n    devices: [{path: /etc/passwd}]\n", "not under /dev/"},
		{"collectors:\n  smartctl:\n    devices: [{path: /dev/sda, type: \"-x\"}]\n", "not a smartctl -d type"},
		{"collectors:\n  smartctl:\n    devices: [{path: /dev/sda, device: sat}]\n", "x.yaml:3:"},
		{"collectors:\n  smartctl:\n    timeout: soon\n", "x.yaml:3:"},
	} {
		_, err := Parse("x.yaml", []byte(tc.yaml), rules.Default())
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "x.yaml") {
			t.Errorf("%q: want error with %q, got %v", tc.yaml, tc.want, err)
		}
	}
}
