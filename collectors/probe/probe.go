// Package probe reads external sensors the user already has a way to read:
// a "command" sensor runs a program (argv, no shell, under a timeout,
// through execx) and parses its output, a bare number or "name value
// [unit]" lines; a "file" sensor reads a number from a file (through the
// host root). USB temperature/humidity probes are the usual case.
package probe

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/diskwatch/diskwatch/collectors"
	"github.com/diskwatch/diskwatch/collectors/execx"
	"github.com/diskwatch/diskwatch/collectors/hostroot"
	"github.com/diskwatch/diskwatch/collectors/model"
)

// Spec is one configured probe.
type Spec struct {
	// Name is the probe's stable name: sensor IDs are "probe/NAME" or
	// "probe/NAME/SUB".
	Name string
	// Type is "command" or "file".
	Type string
	// Argv is the command and its arguments (type command).
	Argv []string
	// Timeout bounds the command (default 10 s).
	Timeout time.Duration
	// Path is the file to read (type file), under the host root.
	Path string
	// Unit of a bare number ("C", "%", "V", ...; "" = no unit); lines
	// give their own.
	Unit string
	// Scale multiplies every value (0 means 1): 0.001 for millidegrees.
	Scale float64
	// Min, Max and Crit are the user's limits, in Unit; they apply to
	// every reading in that unit (to all readings when Unit is "").
	Min, Max, Crit *float64
}

// Reading is one parsed value.
type Reading struct {
	// Name is "" for a bare number, else the line's name.
	Name  string
	Value float64
	Unit  string
}

// maxOutput bounds what is read from a probe.
const maxOutput = 64 << 10

// ParseOutput parses a probe's output: one bare number ("23.5", "23.5
// C"), or lines "name value [unit]". Blank lines and '#' comments are
// skipped. A bad line is reported with its number; the good ones are
// kept.
func ParseOutput(text, defUnit string) ([]Reading, error) {
	if len(text) > maxOutput {
		return nil, fmt.Errorf("output longer than %d bytes", maxOutput)
	}
	var out []Reading
	var errs []error
	seen := map[string]bool{}
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		var r Reading
		var err error
		if v, perr := parseNum(f[0]); perr == nil {
			// "value [unit]"
			if len(f) > 2 {
				err = fmt.Errorf("line %d: expected \"value [unit]\" or \"name value [unit]\": %q", i+1, clip(line))
			}
			r = Reading{Value: v, Unit: defUnit}
			if len(f) == 2 {
				r.Unit = f[1]
			}
		} else {
			if len(f) < 2 || len(f) > 3 {
				err = fmt.Errorf("line %d: expected \"name value [unit]\": %q", i+1, clip(line))
			} else if v, perr := parseNum(f[1]); perr != nil {
				err = fmt.Errorf("line %d: %q is not a number", i+1, clip(f[1]))
			} else {
				r = Reading{Name: f[0], Value: v, Unit: defUnit}
				if len(f) == 3 {
					r.Unit = f[2]
				}
			}
		}
		if err == nil && seen[r.Name] {
			err = fmt.Errorf("line %d: %q given twice", i+1, clip(r.Name))
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		seen[r.Name] = true
		out = append(out, r)
	}
	if len(out) == 0 && len(errs) == 0 {
		errs = append(errs, errors.New("no value in output"))
	}
	if len(out) > 1 && seen[""] {
		errs = append(errs, errors.New("a bare number mixed with named values"))
	}
	return out, errors.Join(errs...)
}

func parseNum(s string) (float64, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("not a number: %q", clip(s))
	}
	return v, nil
}

func clip(s string) string {
	s = model.Clean(s)
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}

// KindOf maps a unit as users write it to a sensor kind and the canonical
// unit, converting Fahrenheit to Celsius (convert is applied to values).
func KindOf(unit string) (kind, canon string, convert func(float64) float64) {
	id := func(v float64) float64 { return v }
	switch strings.ToLower(strings.TrimSpace(unit)) {
	case "c", "°c", "degc", "celsius":
		return "temperature", "C", id
	case "f", "°f", "degf", "fahrenheit":
		return "temperature", "C", func(v float64) float64 { return (v - 32) * 5 / 9 }
	case "%", "%rh", "rh", "percent":
		return "humidity", "%", id
	case "v", "volt", "volts":
		return "voltage", "V", id
	case "a", "amp", "amps":
		return "current", "A", id
	case "w", "watt", "watts":
		return "power", "W", id
	case "rpm":
		return "fan", "rpm", id
	}
	return "other", model.Clean(unit), id
}

// Collector runs every probe each cycle.
type Collector struct {
	FS    hostroot.FS
	Specs []Spec
}

// New returns a collector for specs, reading files through fs.
func New(fs hostroot.FS, specs []Spec) *Collector { return &Collector{FS: fs, Specs: specs} }

// Collect implements collectors.Collector.
func (c *Collector) Collect(ctx context.Context, out *model.Snapshot) error {
	if len(c.Specs) == 0 {
		return fmt.Errorf("no probes configured: %w", collectors.ErrAbsent)
	}
	var errs []error
	for _, s := range c.Specs {
		ss, err := c.read(ctx, s)
		out.Sensors = append(out.Sensors, ss...)
		if err != nil {
			errs = append(errs, fmt.Errorf("probe %s: %w", s.Name, err))
		}
	}
	return errors.Join(errs...)
}

// limitedBuffer keeps at most max bytes and remembers it overflowed.
type limitedBuffer struct {
	bytes.Buffer
	max      int
	overflow bool
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.max - l.Len(); room < len(p) {
		l.overflow = true
		if room > 0 {
			l.Buffer.Write(p[:room])
		}
		return len(p), nil
	}
	return l.Buffer.Write(p)
}

func (c *Collector) read(ctx context.Context, s Spec) ([]model.Sensor, error) {
	var text, source string
	switch s.Type {
	case "command":
		if len(s.Argv) == 0 {
			return nil, errors.New("empty argv")
		}
		timeout := s.Timeout
		if timeout <= 0 {
			timeout = 10 * time.Second
		}
		out := &limitedBuffer{max: maxOutput}
		err := execx.Cmd{Name: s.Argv[0], Args: s.Argv[1:], Stdout: out, Timeout: timeout}.Run(ctx)
		if err != nil {
			return nil, fmt.Errorf("run %s: %w", model.Clean(s.Argv[0]), err)
		}
		if out.overflow {
			return nil, fmt.Errorf("%s: output longer than %d bytes", model.Clean(s.Argv[0]), maxOutput)
		}
		text, source = out.String(), "command"
	case "file":
		b, err := c.FS.ReadFile(c.FS.Path(s.Path))
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", s.Path, err)
		}
		text, source = string(b), "file"
	default:
		return nil, fmt.Errorf("unknown probe type %q", s.Type)
	}
	rs, perr := ParseOutput(text, s.Unit)
	var out []model.Sensor
	scale := s.Scale
	if scale == 0 {
		scale = 1
	}
	for _, r := range rs {
		kind, unit, conv := KindOf(r.Unit)
		sn := model.Sensor{ID: "probe/" + s.Name, Kind: kind, Unit: unit, Value: conv(r.Value * scale), Chip: source, Label: s.Name}
		// The probe's limits are in its Unit: they apply to readings in
		// that unit (all of them when the probe names no unit).
		if _, pu, pconv := KindOf(s.Unit); s.Unit == "" || pu == unit {
			if s.Unit == "" {
				pconv = func(v float64) float64 { return v }
			}
			sn.Min, sn.Max, sn.Crit = convPtr(s.Min, pconv), convPtr(s.Max, pconv), convPtr(s.Crit, pconv)
		}
		if r.Name != "" {
			sn.ID += "/" + model.Clean(r.Name)
			sn.Label = s.Name + " " + model.Clean(r.Name)
		}
		out = append(out, sn)
	}
	if perr != nil {
		perr = fmt.Errorf("%s output: %w", source, perr)
	}
	return out, perr
}

func convPtr(p *float64, conv func(float64) float64) *float64 {
	if p == nil {
		return nil
	}
	v := conv(*p)
	return &v
}
