package config

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/diskwatch/diskwatch/collectors/probe"
	"github.com/diskwatch/diskwatch/collectors/ups"
)

// Hwmon configures the hwmon collector.
type Hwmon struct {
	Enabled *bool `yaml:"enabled"`
	// Drivetemp reads the drivetemp driver's disk temperatures (default
	// true). Reading them can reset some drives' spin-down timer (kernel
	// Documentation/hwmon/drivetemp.rst).
	Drivetemp *bool `yaml:"drivetemp"`
}

// On reports whether the collector is enabled.
func (h Hwmon) On() bool { return h.Enabled == nil || *h.Enabled }

// DrivetempOn reports whether drivetemp sensors are read.
func (h Hwmon) DrivetempOn() bool { return h.Drivetemp == nil || *h.Drivetemp }

// UPSURL is one entry of the `ups:` list: a nut:// or apcupsd:// URL (see
// collectors/ups). Its password never appears in an error.
type UPSURL struct {
	URL    string
	Line   int
	Col    int
	Target ups.Target
}

// UnmarshalYAML keeps the entry's line for errors.
func (u *UPSURL) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: ups: each entry is a URL string (nut://[user:pass@]host[:port]/upsname or apcupsd://host[:port])", n.Line)
	}
	u.URL, u.Line, u.Col = n.Value, n.Line, n.Column
	return nil
}

// SensorSpec is one entry of the `sensors:` list: an external probe.
type SensorSpec struct {
	Name    string   `yaml:"name"`
	Type    string   `yaml:"type"`
	Argv    []string `yaml:"argv"`
	Path    string   `yaml:"path"`
	Timeout string   `yaml:"timeout"`
	Unit    string   `yaml:"unit"`
	Scale   float64  `yaml:"scale"`
	Min     *float64 `yaml:"min"`
	Max     *float64 `yaml:"max"`
	Crit    *float64 `yaml:"crit"`

	Line int `yaml:"-"`
	Col  int `yaml:"-"`
	spec probe.Spec
}

// UnmarshalYAML decodes strictly (unknown keys are errors) and keeps the
// entry's line.
func (s *SensorSpec) UnmarshalYAML(n *yaml.Node) error {
	type plain SensorSpec
	var p plain
	if err := strictDecode(n, &p); err != nil {
		return fmt.Errorf("line %d: sensors: %v", n.Line, err)
	}
	*s = SensorSpec(p)
	s.Line, s.Col = n.Line, n.Column
	return nil
}

var probeName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// validatePower checks the ups: and sensors: sections.
func (c *Config) validatePower(file string) error {
	var errs []error
	seen := map[string]bool{}
	for i := range c.UPS {
		u := &c.UPS[i]
		t, err := ups.ParseURL(u.URL)
		if err != nil {
			errs = append(errs, &Error{File: file, Line: u.Line, Col: u.Col, Msg: "ups: " + err.Error()})
			continue
		}
		if err := t.LoadCA(os.ReadFile); err != nil {
			errs = append(errs, &Error{File: file, Line: u.Line, Col: u.Col, Msg: "ups: " + err.Error()})
		}
		if seen[t.String()] {
			errs = append(errs, &Error{File: file, Line: u.Line, Col: u.Col, Msg: "ups: " + t.String() + " listed twice"})
		}
		seen[t.String()] = true
		u.Target = t
	}
	names := map[string]bool{}
	for i := range c.Sensors {
		s := &c.Sensors[i]
		bad := func(msg string, a ...any) {
			errs = append(errs, &Error{File: file, Line: s.Line, Col: s.Col, Msg: fmt.Sprintf("sensors: %s: ", s.Name) + fmt.Sprintf(msg, a...)})
		}
		if !probeName.MatchString(s.Name) {
			errs = append(errs, &Error{File: file, Line: s.Line, Col: s.Col, Msg: fmt.Sprintf("sensors: name %q: use letters, digits, '.', '_', '-'", s.Name)})
			continue
		}
		if names[s.Name] {
			bad("name used twice")
		}
		names[s.Name] = true
		sp := probe.Spec{Name: s.Name, Type: s.Type, Argv: s.Argv, Path: s.Path, Unit: s.Unit, Scale: s.Scale, Min: s.Min, Max: s.Max, Crit: s.Crit}
		switch s.Type {
		case "command":
			if len(s.Argv) == 0 || s.Argv[0] == "" {
				bad("type command needs argv: [PROGRAM, ARG...] (run without a shell)")
			}
			if s.Path != "" {
				bad("path: is for type file")
			}
		case "file":
			if s.Path == "" || s.Path[0] != '/' {
				bad("type file needs an absolute path:")
			}
			if len(s.Argv) > 0 || s.Timeout != "" {
				bad("argv: and timeout: are for type command")
			}
		default:
			bad("type must be command or file, not %q", s.Type)
		}
		if s.Timeout != "" {
			d, err := time.ParseDuration(s.Timeout)
			if err != nil || d <= 0 {
				bad("timeout %q: write a duration such as 5s", s.Timeout)
			}
			sp.Timeout = d
		}
		if s.Min != nil && s.Max != nil && *s.Min >= *s.Max {
			bad("min must be below max")
		}
		if s.Max != nil && s.Crit != nil && *s.Crit < *s.Max {
			bad("crit must not be below max")
		}
		s.spec = sp
	}
	return errors.Join(errs...)
}

// UPSTargets returns the validated `ups:` entries.
func (c *Config) UPSTargets() []ups.Target {
	var out []ups.Target
	for _, u := range c.UPS {
		out = append(out, u.Target)
	}
	return out
}

// ProbeSpecs returns the validated `sensors:` entries.
func (c *Config) ProbeSpecs() []probe.Spec {
	var out []probe.Spec
	for _, s := range c.Sensors {
		out = append(out, s.spec)
	}
	return out
}
