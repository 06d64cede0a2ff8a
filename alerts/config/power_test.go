package config

import (
	"strings"
	"testing"

	"github.com/diskwatch/diskwatch/alerts/rules"
)

func TestPowerSections(t *testing.T) {
	c, err := Parse("t.yaml", []byte(`
ups:
  - nut://mon:s3cret@10.0.0.5/ups1
  - apcupsd://nas
sensors:
  - {name: room, type: command, argv: [/usr/local/bin/read-temper, --json], timeout: 5s, unit: C, max: 30, crit: 35}
  - {name: rack, type: file, path: /run/rack/temp, unit: C, scale: 0.001}
collectors:
  hwmon: {enabled: false, drivetemp: false}
`), rules.Default())
	if err != nil {
		t.Fatal(err)
	}
	ts := c.UPSTargets()
	if len(ts) != 2 || ts[0].Host != "10.0.0.5:3493" || ts[0].Password != "s3cret" || ts[1].Scheme != "apcupsd" {
		t.Errorf("%+v", ts)
	}
	ps := c.ProbeSpecs()
	if len(ps) != 2 || ps[0].Timeout.Seconds() != 5 || *ps[0].Crit != 35 || ps[1].Scale != 0.001 || ps[1].Path != "/run/rack/temp" {
		t.Errorf("%+v", ps)
	}
	if c.Collectors.Hwmon.On() || c.Collectors.Hwmon.DrivetempOn() {
		t.Error("hwmon / drivetemp not switched off")
	}
}

func TestPowerErrors(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"ups:\n  - http://x/y\n", "t.yaml:2:5: ups: "},
		{"ups:\n  - nut://u:hunter2@h:0/x\n", "t.yaml:2:5: ups: "},
		{"ups:\n  - {url: nut://h}\n", "t.yaml:2:5: ups: each entry is a URL string"},
		{"ups:\n  - nut://h/a\n  - nut://h/a\n", "t.yaml:3:5: ups: nut://h:3493/a listed twice"},
		{"ups:\n  - nut://h/a?tls=require&tls_ca=/nonexistent/ca.pem\n", "t.yaml:2:5: ups: UPS nut://h:3493/a: tls_ca"},
		{"sensors:\n  - {name: x, type: command}\n", "t.yaml:2:5: sensors: x: type command needs argv"},
		{"sensors:\n  - {name: x, type: file, path: rel}\n", "absolute path"},
		{"sensors:\n  - {name: x, type: pipe}\n", "type must be command or file"},
		{"sensors:\n  - {name: x, type: command, argv: [a], timeout: soon}\n", "timeout \"soon\""},
		{"sensors:\n  - {name: x, type: command, argv: [a], colour: red}\n", "colour"},
		{"sensors:\n  - {name: 'a b', type: command, argv: [a]}\n", "name \"a b\""},
		{"sensors:\n  - {name: x, type: command, argv: [a], max: 40, crit: 30}\n", "crit must not be below max"},
	} {
		_, err := Parse("t.yaml", []byte(tc.yaml), rules.Default())
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err %v, want %q", tc.yaml, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("password in error: %v", err)
		}
	}
}

func TestDefaultHasPowerSections(t *testing.T) {
	c, err := Parse("default", DefaultYAML(), rules.Default())
	if err != nil {
		t.Fatal(err)
	}
	if !c.Collectors.Hwmon.On() || !c.Collectors.Hwmon.DrivetempOn() || len(c.UPS) != 0 || len(c.Sensors) != 0 {
		t.Errorf("%+v", c)
	}
}
