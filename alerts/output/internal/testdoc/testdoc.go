// Package testdoc builds a snapshot document from the real captures in
// exporters/testdata, for the exporters' tests and benchmarks.
package testdoc

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/diskwatch/diskwatch/alerts/output/snapshot"
	"github.com/diskwatch/diskwatch/alerts/rules"
	"github.com/diskwatch/diskwatch/collectors/mdraid"
	"github.com/diskwatch/diskwatch/collectors/model"
	"github.com/diskwatch/diskwatch/collectors/smartctl"
)

// Time is the document's collection time.
var Time = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// Dir is exporters/testdata.
func Dir() string {
	_, f, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(f), "..", "..", "testdata")
}

// Doc builds the document; it panics on a broken capture (a test bug).
func Doc() *snapshot.Doc {
	s := &model.Snapshot{Time: Time, Host: "testhost"}
	for _, f := range []string{"HGST_HUS724020ALE640_28.json", "INTEL_SSDPE2KX080T8_1.json"} {
		b, err := os.ReadFile(filepath.Join(Dir(), f))
		if err != nil {
			panic(err)
		}
		d, err := smartctl.Normalize(b)
		if err != nil {
			panic(err)
		}
		s.Disks = append(s.Disks, d)
	}
	b, err := os.ReadFile(filepath.Join(Dir(), "mdstat.txt"))
	if err != nil {
		panic(err)
	}
	arrays, err := mdraid.ParseMDStat(b)
	if err != nil {
		panic(err)
	}
	s.Arrays = arrays
	s.UPS = []model.UPS{nutUPS("apc@127.0.0.1:3493", filepath.Join(Dir(), "ups-apc-bk650m2.dev"))}
	crit := 100.0
	s.Sensors = []model.Sensor{{ID: "hwmon/coretemp/temp1", Label: "Package id 0", Kind: "temperature", Unit: "C", Value: 41, Crit: &crit}}
	s.Sources = []model.SourceStatus{{Name: "mdraid", State: model.SourceOK, Duration: 2 * time.Millisecond},
		{Name: "smartctl", State: model.SourcePartial, Errors: []string{"/dev/sdz: open: no such device"}, Duration: 300 * time.Millisecond}}
	s.Sort()
	fs := rules.Default().Evaluate(&rules.Input{Snapshot: s, Now: Time}, nil)
	return &snapshot.Doc{Written: Time, Host: "testhost", Status: rules.Overall(fs), Snapshot: s, Findings: fs}
}

// nutUPS reads a NUT .dev dump ("var: value" lines) into a UPS record.
func nutUPS(name, path string) model.UPS {
	b, err := os.ReadFile(path)
	if err != nil {
		panic(err)
	}
	u := model.UPS{Name: name, Source: "nut", Reachable: true, Vars: map[string]string{}}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(l, "#") {
			continue
		}
		k, v, ok := strings.Cut(l, ": ")
		if !ok {
			continue
		}
		u.Vars[k] = v
		f, ferr := strconv.ParseFloat(v, 64)
		switch k {
		case "ups.status":
			u.Status = strings.Fields(v)
		case "device.model", "ups.model":
			u.Model = v
		case "battery.charge":
			if ferr == nil {
				u.ChargePercent = &f
			}
		case "battery.runtime":
			if ferr == nil {
				u.RuntimeSeconds = &f
			}
		case "ups.load":
			if ferr == nil {
				u.LoadPercent = &f
			}
		case "input.voltage":
			if ferr == nil {
				u.InputVoltage = &f
			}
		}
	}
	return u
}
