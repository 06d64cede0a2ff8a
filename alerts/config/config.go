// Package config reads diskwatch's YAML configuration. Unknown keys and bad
// values are errors that name the file and line. With no file at all the
// embedded default (Default) applies, so diskwatch runs without a config.
package config

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/diskwatch/diskwatch/alerts/rules"
)

// DefaultPath is where diskwatch looks for its configuration.
const DefaultPath = "/etc/diskwatch/diskwatch.yaml"

//go:embed default.yaml
var defaultYAML []byte

// DefaultYAML returns the embedded default configuration text.
func DefaultYAML() []byte { return bytes.Clone(defaultYAML) }

// Config is the whole configuration.
type Config struct {
	Collectors Collectors `yaml:"collectors"`
	// Daemon and Notify configure `diskwatch daemon` (daemon.go).
	Daemon Daemon `yaml:"daemon"`
	Notify Notify `yaml:"notify"`
	// UPS lists UPS URLs and Sensors external probes (power.go).
	UPS     []UPSURL     `yaml:"ups"`
	Sensors []SensorSpec `yaml:"sensors"`
	// Settings are the rule adjustments (enabled, parameters, per device).
	Settings rules.Settings `yaml:"-"`

	RulesNode   yaml.Node `yaml:"rules"`
	DevicesNode yaml.Node `yaml:"devices"`
}

// Collectors switches sources on and off.
type Collectors struct {
	MDRaid Toggle `yaml:"mdraid"`
	// Smartctl lists devices read through smartctl.
	Smartctl Smartctl `yaml:"smartctl"`
	// Smart is the native SMART collector.
	Smart Smart `yaml:"smart"`
	// KMsg is the kernel log watcher (/dev/kmsg).
	KMsg Toggle `yaml:"kmsg"`
	// HWRaid reads the disks behind 3ware and MegaRAID controllers.
	HWRaid Toggle `yaml:"hwraid"`
	// Hwmon reads /sys/class/hwmon sensors (power.go).
	Hwmon Hwmon `yaml:"hwmon"`
}

// Toggle is a collector's on/off switch (default on).
type Toggle struct {
	Enabled *bool `yaml:"enabled"`
}

// On reports whether the collector is enabled.
func (t Toggle) On() bool { return t.Enabled == nil || *t.Enabled }

// Error is a configuration error at a place in a file.
type Error struct {
	File string
	Line int
	// Col is the column (1-based) when known.
	Col int
	Msg string
}

func (e *Error) Error() string {
	if e.Col > 0 {
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
	}
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Load reads and validates the file at path. A missing file at the default
// path means "use the embedded default"; a missing file named explicitly is
// an error (explicit=true).
func Load(path string, explicit bool, rs *rules.Set) (*Config, error) {
	b, err := ReadTrusted(path)
	if errors.Is(err, os.ErrNotExist) && !explicit {
		return Parse("(embedded default)", defaultYAML, rs)
	}
	var ce *Error
	if errors.As(err, &ce) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, b, rs)
}

// lineRE pulls "line N: msg" out of yaml.v3's errors.
func yamlErr(file string, err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		var errs []error
		for _, m := range te.Errors {
			errs = append(errs, lineMsg(file, m))
		}
		return errors.Join(errs...)
	}
	return lineMsg(file, strings.TrimPrefix(err.Error(), "yaml: "))
}

func lineMsg(file, m string) error {
	if rest, ok := strings.CutPrefix(m, "line "); ok {
		if n, msg, ok := strings.Cut(rest, ": "); ok {
			if ln, err := strconv.Atoi(n); err == nil {
				msg = strings.Replace(msg, "not found in type config.Config", "is not a known key", 1)
				msg = strings.Replace(msg, "not found in type config.Collectors", "is not a known collector", 1)
				msg = strings.Replace(msg, "not found in type config.Toggle", "is not a known setting", 1)
				return &Error{File: file, Line: ln, Msg: msg}
			}
		}
	}
	return &Error{File: file, Msg: m}
}

// Parse validates configuration text. name is used in error messages.
func Parse(name string, data []byte, rs *rules.Set) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, yamlErr(name, err)
	}
	// Every mistake at once: the walk reports unknown keys and values of the
	// wrong type (each with FILE:LINE:COL) and leaves them out, so decoding
	// and the checks below still run over the rest.
	var errs []error
	pos := positions{}
	walk(name, &root, reflect.TypeOf(Config{}), "", pos, &errs)
	var c Config
	if root.Kind != 0 {
		if err := root.Decode(&c); err != nil {
			errs = append(errs, yamlErr(name, err))
		}
	}
	en, params, err := parseRules(name, &c.RulesNode, rs)
	if err != nil {
		errs = append(errs, err)
	}
	c.Settings.Enabled, c.Settings.Global = en, params
	devs, err := parseDevices(name, &c.DevicesNode, rs)
	if err != nil {
		errs = append(errs, err)
	}
	c.Settings.Devices = devs
	errs = append(errs, c.validateDaemon(name, pos)...)
	if err := c.Collectors.Smartctl.validate(name); err != nil {
		errs = append(errs, pos.at(err, "collectors.smartctl"))
	}
	if err := c.Collectors.Smart.validate(name); err != nil {
		errs = append(errs, pos.at(err, "collectors.smart"))
	}
	if err := c.validatePower(name); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(sortByPlace(errs)...)
	}
	return &c, nil
}

// sortByPlace orders errors as they appear in the file.
func sortByPlace(errs []error) []error {
	var flat []error
	for _, e := range errs {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			flat = append(flat, j.Unwrap()...)
		} else {
			flat = append(flat, e)
		}
	}
	place := func(e error) (int, int) {
		var ce *Error
		if errors.As(e, &ce) {
			return ce.Line, ce.Col
		}
		return 0, 0
	}
	sort.SliceStable(flat, func(i, j int) bool {
		li, ci := place(flat[i])
		lj, cj := place(flat[j])
		return li < lj || li == lj && ci < cj
	})
	return flat
}

// parseRules reads a mapping of rule name -> {enabled: bool, PARAM: number}.
func parseRules(file string, n *yaml.Node, rs *rules.Set) (map[string]bool, map[string]map[string]float64, error) {
	enabled := map[string]bool{}
	params := map[string]map[string]float64{}
	if n.Kind == 0 || n.Tag == "!!null" {
		return enabled, params, nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, nil, &Error{File: file, Line: n.Line, Col: n.Column, Msg: "rules: expected a mapping of rule names"}
	}
	var errs []error
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		r, ok := rs.Lookup(k.Value)
		if !ok {
			errs = append(errs, &Error{File: file, Line: k.Line, Col: k.Column, Msg: unknownRule(k.Value, rs)})
			continue
		}
		if v.Kind != yaml.MappingNode {
			errs = append(errs, &Error{File: file, Line: v.Line, Col: v.Column, Msg: fmt.Sprintf("rule %s: expected a mapping (enabled: ..., parameters)", r.Name)})
			continue
		}
		for j := 0; j+1 < len(v.Content); j += 2 {
			pk, pv := v.Content[j], v.Content[j+1]
			if pk.Value == "enabled" {
				var b bool
				if err := pv.Decode(&b); err != nil {
					errs = append(errs, &Error{File: file, Line: pv.Line, Col: pv.Column, Msg: fmt.Sprintf("rule %s: enabled must be true or false, not %q", r.Name, pv.Value)})
					continue
				}
				enabled[r.Name] = b
				continue
			}
			if _, ok := r.Params[pk.Value]; !ok {
				errs = append(errs, &Error{File: file, Line: pk.Line, Col: pk.Column, Msg: fmt.Sprintf("rule %s has no parameter %q (it has: %s)", r.Name, pk.Value, paramNames(r))})
				continue
			}
			f, err := strconv.ParseFloat(pv.Value, 64)
			if err != nil || pv.Kind != yaml.ScalarNode {
				errs = append(errs, &Error{File: file, Line: pv.Line, Col: pv.Column, Msg: fmt.Sprintf("rule %s: %s must be a number, not %q", r.Name, pk.Value, pv.Value)})
				continue
			}
			if params[r.Name] == nil {
				params[r.Name] = map[string]float64{}
			}
			params[r.Name][pk.Value] = f
		}
	}
	return enabled, params, errors.Join(errs...)
}

// parseDevices reads the per-device override list.
func parseDevices(file string, n *yaml.Node, rs *rules.Set) ([]rules.DeviceSettings, error) {
	if n.Kind == 0 || n.Tag == "!!null" {
		return nil, nil
	}
	if n.Kind != yaml.SequenceNode {
		return nil, &Error{File: file, Line: n.Line, Col: n.Column, Msg: "devices: expected a list"}
	}
	var out []rules.DeviceSettings
	var errs []error
	for _, item := range n.Content {
		if item.Kind != yaml.MappingNode {
			errs = append(errs, &Error{File: file, Line: item.Line, Col: item.Column, Msg: "devices: each entry must be a mapping with match: and rules:"})
			continue
		}
		var d rules.DeviceSettings
		var rulesNode *yaml.Node
		for j := 0; j+1 < len(item.Content); j += 2 {
			k, v := item.Content[j], item.Content[j+1]
			switch k.Value {
			case "match":
				var m struct {
					Serial string `yaml:"serial"`
					Model  string `yaml:"model"`
					Path   string `yaml:"path"`
				}
				if err := strictDecode(v, &m); err != nil {
					errs = append(errs, &Error{File: file, Line: v.Line, Col: v.Column, Msg: "devices: match: " + err.Error()})
					continue
				}
				d.Serial, d.Model, d.Path = m.Serial, m.Model, m.Path
			case "rules":
				rulesNode = v
			default:
				errs = append(errs, &Error{File: file, Line: k.Line, Col: k.Column, Msg: fmt.Sprintf("devices: unknown key %q (use match: and rules:)", k.Value)})
			}
		}
		if d.Serial == "" && d.Model == "" && d.Path == "" {
			errs = append(errs, &Error{File: file, Line: item.Line, Col: item.Column, Msg: "devices: entry needs match: with serial, model or path"})
			continue
		}
		if rulesNode != nil {
			en, ps, err := parseRules(file, rulesNode, rs)
			if err != nil {
				errs = append(errs, err)
			}
			d.Enabled, d.Params = en, ps
		}
		out = append(out, d)
	}
	return out, errors.Join(errs...)
}

func strictDecode(n *yaml.Node, v any) error {
	b, err := yaml.Marshal(n)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		msg := err.Error()
		if i := strings.LastIndex(msg, ": "); i >= 0 && strings.Contains(msg, "not found") {
			msg = msg[i+2:]
		}
		return errors.New(strings.Replace(msg, "not found in type struct", "is not a known key", 1))
	}
	return nil
}

// unknownRule names the nearest rule when the name looks like a typo of
// it, else every rule.
func unknownRule(name string, rs *rules.Set) string {
	var names []string
	for _, r := range rs.Rules() {
		names = append(names, r.Name)
	}
	if s := suggest(name, names); strings.HasPrefix(s, " (did you mean") {
		return fmt.Sprintf("unknown rule %q%s", name, s)
	}
	return fmt.Sprintf("unknown rule %q (known: %s)", name, ruleNames(rs))
}

func ruleNames(rs *rules.Set) string {
	var n []string
	for _, r := range rs.Rules() {
		n = append(n, r.Name)
	}
	return strings.Join(n, ", ")
}

func paramNames(r *rules.Rule) string {
	n := []string{"enabled"}
	for k := range r.Params {
		n = append(n, k)
	}
	sort.Strings(n[1:])
	return strings.Join(n, ", ")
}
