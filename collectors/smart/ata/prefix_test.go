package ata

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestLiteralPrefixes(t *testing.T) {
	for re, want := range map[string][]string{
		"SAMSUNG SSD 8[45]0 .*|Samsung SSD 860 EVO .*": {"SAMSUNG SSD 8", "Samsung SSD 860 EVO "},
		"ST3000DM00?1-.*":                       {"ST3000DM0"},
		"WDC WD[0-9]+EFRX-.*":                   {"WDC WD"},
		"(WDC )?WD20EFRX":                       nil,
		"Hitachi HDS5C30(15|20)ALA63[02]":       {"Hitachi HDS5C30"},
		"INTEL SSDSC2BW\\(.*":                   {"INTEL SSDSC2BW("},
		"Micron_5100_\\d":                       {"Micron_5100_"},
		".*":                                    nil,
		"(?i)abc":                               nil,
		"KINGSTON SA400S37(120|240|480|960)G|x": {"KINGSTON SA400S37", "x"},
	} {
		if got := literalPrefixes(re); !reflect.DeepEqual(got, want) {
			t.Errorf("%q: %q, want %q", re, got, want)
		}
	}
}

// TestPrefixFilterIsSound: over the installed drive database and every
// model name in the captures, an entry the prefix filter rejects never
// matches by its regex.
func TestPrefixFilterIsSound(t *testing.T) {
	db, _ := loadSystemDriveDB(t)
	models := []string{"QEMU HARDDISK", "WDC WD20EFRX-68EUZN0", "Samsung SSD 860 EVO 500GB", "ST3500418AS", "INTEL SSDSC2BB480G4"}
	files, _ := filepath.Glob("testdata/smartctl-json/*.json")
	for _, f := range files {
		b, _ := os.ReadFile(f)
		var c capture
		json.Unmarshal(b, &c)
		if c.Model != "" {
			models = append(models, c.Model)
		}
	}
	filtered := 0
	for _, e := range db.Entries {
		e.once.Do(e.compile)
		if e.model == nil {
			continue
		}
		pre := literalPrefixes(e.ModelRegex)
		if pre != nil {
			filtered++
		}
		for _, m := range models {
			if e.model.MatchString(m) && pre != nil && !hasAnyPrefix(m, pre) {
				t.Errorf("line %d %q: filter %q rejects %q, which the regex matches", e.Line, e.ModelRegex, pre, m)
			}
		}
	}
	t.Logf("%d of %d entries have a literal prefix filter", filtered, len(db.Entries))
	if filtered*2 < len(db.Entries) {
		t.Errorf("only %d of %d entries filtered", filtered, len(db.Entries))
	}
	_ = strings.HasPrefix
}
