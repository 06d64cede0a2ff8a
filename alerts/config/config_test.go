package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/diskwatch/diskwatch/alerts/rules"
)

func TestDefaultParses(t *testing.T) {
	c, err := Parse("default", DefaultYAML(), rules.Default())
	if err != nil {
		t.Fatalf("embedded default: %v", err)
	}
	if !c.Collectors.MDRaid.On() {
		t.Error("mdraid off by default")
	}
	if c.Settings.Global["md.mismatch"]["raid1_warn"] != 0 {
		t.Error("md.mismatch raid1_warn not read")
	}
}

func TestErrorsNameFileAndLine(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       []string
	}{
		{"unknown top-level key", "collectors:\n  mdraid: {enabled: true}\nfrobnicate: 1\n", []string{"x.yaml:3:", "frobnicate", "not a known key"}},
		{"unknown collector", "collectors:\n  raidz: {}\n", []string{"x.yaml:2:", "raidz"}},
		{"bad bool", "collectors:\n  mdraid:\n    enabled: maybe\n", []string{"x.yaml:3:", "maybe"}},
		{"unknown rule", "rules:\n  md.degradd: {enabled: false}\n", []string{"x.yaml:2:", `unknown rule "md.degradd"`, "md.degraded"}},
		{"unknown parameter", "rules:\n  md.mismatch:\n    raid1_warm: 1\n", []string{"x.yaml:3:", `no parameter "raid1_warm"`, "raid1_warn"}},
		{"non-numeric parameter", "rules:\n  md.mismatch:\n    min: lots\n", []string{"x.yaml:3:", "must be a number"}},
		{"device without match", "devices:\n  - rules: {md.mismatch: {min: 2}}\n", []string{"x.yaml:2:", "needs match:"}},
		{"device with unknown match key", "devices:\n  - match: {serail: X}\n", []string{"x.yaml:2:", "serail"}},
		{"device rule unknown", "devices:\n  - match: {serial: X}\n    rules:\n      nope: {enabled: false}\n", []string{"x.yaml:4:", `unknown rule "nope"`}},
		{"not yaml", "rules: [\n", []string{"x.yaml:"}},
		{"two errors at once", "rules:\n  a: {}\n  b: {}\n", []string{"x.yaml:2:", "x.yaml:3:"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("x.yaml", []byte(tc.yaml), rules.Default())
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestOverrides(t *testing.T) {
	c, err := Parse("x.yaml", []byte(`
rules:
  md.boot: {enabled: false}
  md.mismatch: {raid1_warn: 1, min: 64}
devices:
  - match: {model: "ST4000*"}
    rules:
      md.mismatch: {min: 9}
`), rules.Default())
	if err != nil {
		t.Fatal(err)
	}
	s := c.Settings
	if s.Enabled["md.boot"] || s.Global["md.mismatch"]["min"] != 64 || len(s.Devices) != 1 || s.Devices[0].Model != "ST4000*" || s.Devices[0].Params["md.mismatch"]["min"] != 9 {
		t.Errorf("settings: %+v", s)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(filepath.Join(dir, "missing.yaml"), false, rules.Default()); err != nil {
		t.Errorf("missing default path should fall back to the embedded default: %v", err)
	}
	if _, err := Load(filepath.Join(dir, "missing.yaml"), true, rules.Default()); err == nil {
		t.Error("a missing explicit file must be an error")
	}
	p := filepath.Join(dir, "c.yaml")
	os.WriteFile(p, []byte("collectors: {}\n"), 0o666)
	os.Chmod(p, 0o666)
	if _, err := Load(p, true, rules.Default()); err == nil || !strings.Contains(err.Error(), "writable by") {
		t.Errorf("world-writable config accepted: %v", err)
	}
	os.Chmod(p, 0o644)
	if _, err := Load(p, true, rules.Default()); err != nil {
		t.Errorf("good file: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(DefaultYAML())
	f.Add([]byte("rules:\n  md.mismatch: {min: 1}\ndevices:\n  - match: {serial: X}\n"))
	rs := rules.Default()
	f.Fuzz(func(t *testing.T, b []byte) {
		Parse("fuzz.yaml", b, rs)
	})
}
