// Package rules turns a snapshot of readings into findings. A rule is a
// named, documented function with declared parameters; Settings (from the
// config file) enable, disable and override those parameters globally and
// per device.
package rules

import (
	"fmt"
	"path"
	"sort"
	"time"

	"github.com/diskwatch/diskwatch/collectors/model"
)

// Input is what rules evaluate.
type Input struct {
	Snapshot *model.Snapshot
	// Now is the evaluation time (injected).
	Now time.Time
	// History gives past samples; nil when no store is configured.
	History History
}

// Point is one stored sample.
type Point struct {
	Time  time.Time
	Value float64
}

// History is the read side of the history store, as rules see it.
type History interface {
	// Series returns the samples of (subject, metric) at or after since,
	// oldest first.
	Series(subject, metric string, since time.Time) ([]Point, error)
}

// Rule is one named check.
type Rule struct {
	Name    string
	Summary string
	// Params declares the rule's parameters and their defaults.
	Params map[string]float64
	// Off makes the rule disabled unless the config enables it.
	Off bool
	// Eval produces findings; p reads parameters for a subject.
	Eval func(in *Input, p Params) []model.Finding
}

// Params reads a rule's parameters for a subject.
type Params struct {
	rule *Rule
	s    *Settings
}

// Get returns parameter name for the subject m: a matching device
// override, else the global setting, else the rule's default. It panics on
// a parameter the rule did not declare (a programming error).
func (p Params) Get(name string, m model.Match) float64 {
	def, ok := p.rule.Params[name]
	if !ok {
		panic(fmt.Sprintf("rule %s: undeclared parameter %q", p.rule.Name, name))
	}
	if p.s == nil {
		return def
	}
	v := def
	if g, ok := p.s.Global[p.rule.Name][name]; ok {
		v = g
	}
	for _, d := range p.s.Devices {
		if d.Matches(m) {
			if x, ok := d.Params[p.rule.Name][name]; ok {
				v = x
			}
		}
	}
	return v
}

// Settings are the user's adjustments to the rule set.
type Settings struct {
	// Enabled overrides a rule's default on/off state.
	Enabled map[string]bool
	// Global parameter overrides: rule -> param -> value.
	Global map[string]map[string]float64
	// Devices are per-device overrides, applied in order (later wins).
	Devices []DeviceSettings
}

// DeviceSettings applies to subjects matching all its non-empty fields.
type DeviceSettings struct {
	Serial string
	// Model is a glob (path.Match syntax).
	Model   string
	Path    string
	Enabled map[string]bool
	Params  map[string]map[string]float64
}

// Matches reports whether the override applies to m.
func (d DeviceSettings) Matches(m model.Match) bool {
	if d.Serial == "" && d.Model == "" && d.Path == "" {
		return false
	}
	if d.Serial != "" && d.Serial != m.Serial {
		return false
	}
	if d.Path != "" && d.Path != m.Path {
		return false
	}
	if d.Model != "" {
		ok, err := path.Match(d.Model, m.Model)
		if err != nil || !ok {
			return false
		}
	}
	return true
}

// enabled reports whether rule r applies to subject m.
func (s *Settings) enabled(r *Rule, m model.Match) bool {
	on := !r.Off
	if s == nil {
		return on
	}
	if v, ok := s.Enabled[r.Name]; ok {
		on = v
	}
	for _, d := range s.Devices {
		if d.Matches(m) {
			if v, ok := d.Enabled[r.Name]; ok {
				on = v
			}
		}
	}
	return on
}

// Set is an ordered collection of rules.
type Set struct {
	rules  []*Rule
	byName map[string]*Rule
}

// NewSet builds a set; rule names must be unique.
func NewSet(rs ...*Rule) *Set {
	s := &Set{byName: map[string]*Rule{}}
	for _, r := range rs {
		if _, dup := s.byName[r.Name]; dup {
			panic("duplicate rule " + r.Name)
		}
		s.rules = append(s.rules, r)
		s.byName[r.Name] = r
	}
	return s
}

// Lookup returns the rule called name.
func (s *Set) Lookup(name string) (*Rule, bool) {
	r, ok := s.byName[name]
	return r, ok
}

// Rules returns the rules in order.
func (s *Set) Rules() []*Rule { return s.rules }

// Evaluate runs every enabled rule and returns the findings, most severe
// first.
func (s *Set) Evaluate(in *Input, st *Settings) []model.Finding {
	var out []model.Finding
	for _, r := range s.rules {
		if r.Off && (st == nil || !st.Enabled[r.Name]) && !anyDeviceEnables(st, r.Name) {
			continue
		}
		for _, f := range r.Eval(in, Params{rule: r, s: st}) {
			if !st.enabled(r, f.Match) {
				continue
			}
			if f.Rule == "" {
				f.Rule = r.Name
			}
			out = append(out, f)
		}
	}
	Sort(out)
	return out
}

func anyDeviceEnables(st *Settings, name string) bool {
	if st == nil {
		return false
	}
	for _, d := range st.Devices {
		if d.Enabled[name] {
			return true
		}
	}
	return false
}

// Sort orders findings most severe first, then by subject and rule.
func Sort(fs []model.Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.Severity.Rank() != b.Severity.Rank() {
			return a.Severity.Rank() > b.Severity.Rank()
		}
		if a.Subject != b.Subject {
			return a.Subject < b.Subject
		}
		return a.Rule < b.Rule
	})
}

// Overall is the status of a set of findings: the most severe.
func Overall(fs []model.Finding) model.Severity {
	worst := model.OK
	for _, f := range fs {
		if f.Severity.Rank() > worst.Rank() {
			worst = f.Severity
		}
	}
	return worst
}
