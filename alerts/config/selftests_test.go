package config

import (
	"strings"
	"testing"
	"time"

	"github.com/diskwatch/diskwatch/alerts/rules"
)

func TestSelfTestsSection(t *testing.T) {
	c, err := Parse("x.yaml", []byte("collectors:\n  smart:\n    self_tests:\n      short: \"daily 02:00\"\n      long: \"weekly sun 03:00\"\n      grace: 12h\n      devices: [/dev/sda]\n"), rules.Default())
	if err != nil {
		t.Fatal(err)
	}
	st := c.Collectors.Smart.SelfTests
	p := st.Plan(time.UTC)
	if p.Short.String() != "daily 02:00" || p.Long.String() != "weekly sun 03:00" || p.Grace != 12*time.Hour || p.Loc != time.UTC || len(st.Devices) != 1 {
		t.Errorf("parsed %+v, plan %+v", st, p)
	}
	// Off by default.
	d, err := Parse("default", DefaultYAML(), rules.Default())
	if err != nil || !d.Collectors.Smart.SelfTests.Plan(time.UTC).IsZero() {
		t.Errorf("self-tests scheduled by default: %+v %v", d.Collectors.Smart.SelfTests, err)
	}
	for _, tc := range []struct {
		yaml string
		want []string
	}{
		{"collectors:\n  smart:\n    self_tests:\n      short: \"dialy 02:00\"\n", []string{"x.yaml:4:", `"dialy" is not daily, weekly or monthly`, "weekly DAY HH:MM"}},
		{"collectors:\n  smart:\n    self_tests:\n      long: \"weekly sun 3am\"\n", []string{"x.yaml:4:", `"3am" is not a time of day`}},
		{"collectors:\n  smart:\n    self_tests:\n      long: \"monthly 31 03:00\"\n", []string{"x.yaml:4:", "1 to 28"}},
		{"collectors:\n  smart:\n    self_tests:\n      short: [daily, \"02:00\"]\n", []string{"x.yaml:4:", "is a string"}},
		{"collectors:\n  smart:\n    self_tests:\n      medium: \"daily 02:00\"\n", []string{"x.yaml:4:", "medium"}},
		{"collectors:\n  smart:\n    self_tests:\n      grace: soon\n", []string{"x.yaml:4:", "soon"}},
		{"collectors:\n  smart:\n    self_tests:\n      grace: -1h\n", []string{"x.yaml:", "grace must not be negative"}},
		{"collectors:\n  smart:\n    self_tests:\n      devices: [sda]\n", []string{"x.yaml:", `self_tests.devices[0]: "sda" is not under /dev/`}},
		// Both bad schedules are reported, each at its line.
		{"collectors:\n  smart:\n    self_tests:\n      short: \"daily 25:00\"\n      long: \"yearly 03:00\"\n", []string{"x.yaml:4:", "x.yaml:5:"}},
	} {
		_, err := Parse("x.yaml", []byte(tc.yaml), rules.Default())
		if err == nil {
			t.Errorf("%q: no error", tc.yaml)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%q: error %q lacks %q", tc.yaml, err, w)
			}
		}
	}
}
