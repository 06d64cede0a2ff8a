// Package model holds the plain data types that collectors produce and that
// everything downstream (rules, history, outputs) consumes. It has no
// behaviour beyond small helpers, and imports nothing from alerts/.
package model

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Snapshot is everything collected in one cycle. Each collector fills its
// own section; the engine merges them.
type Snapshot struct {
	// Time the collection started (injected clock, never time.Now()).
	Time time.Time `json:"time"`
	// Host name the snapshot describes, for messages.
	Host string `json:"host,omitempty"`

	Arrays []Array `json:"arrays,omitempty"`
	// MDConf lists the arrays mdadm.conf declares (nil without the file).
	MDConf  []ConfArray   `json:"md_config,omitempty"`
	Disks   []Disk        `json:"disks,omitempty"`
	UPS     []UPS         `json:"ups,omitempty"`
	Sensors []Sensor      `json:"sensors,omitempty"`
	Events  []KernelEvent `json:"kernel_events,omitempty"`
	// Controllers are hardware RAID controllers' own state (logical
	// drives, physical disks, battery).
	Controllers []Controller `json:"controllers,omitempty"`

	// Sources lists every collector that ran and how it ended.
	Sources []SourceStatus `json:"sources,omitempty"`
}

// SourceStatus says how one collector ended in a cycle.
type SourceStatus struct {
	Name string `json:"name"`
	// State is "ok", "absent" (nothing of this kind on the host), "partial"
	// (some subjects failed) or "failed" (the collector could not run).
	State    string        `json:"state"`
	Errors   []string      `json:"errors,omitempty"`
	Duration time.Duration `json:"duration_ns"`
	// PermissionDenied is set when the collector lacked privileges for at
	// least one device (so the report can say once how to fix it).
	PermissionDenied bool `json:"permission_denied,omitempty"`
}

// Source states.
const (
	SourceOK      = "ok"
	SourceAbsent  = "absent"
	SourcePartial = "partial"
	SourceFailed  = "failed"
)

// Merge appends o's sections to s.
func (s *Snapshot) Merge(o *Snapshot) {
	s.Arrays = append(s.Arrays, o.Arrays...)
	s.MDConf = append(s.MDConf, o.MDConf...)
	s.Disks = append(s.Disks, o.Disks...)
	s.UPS = append(s.UPS, o.UPS...)
	s.Sensors = append(s.Sensors, o.Sensors...)
	s.Events = append(s.Events, o.Events...)
	s.Controllers = append(s.Controllers, o.Controllers...)
	s.Sources = append(s.Sources, o.Sources...)
}

// Sort puts every section in a stable order, for golden output.
func (s *Snapshot) Sort() {
	sort.SliceStable(s.Arrays, func(i, j int) bool { return s.Arrays[i].Name < s.Arrays[j].Name })
	sort.SliceStable(s.Disks, func(i, j int) bool { return s.Disks[i].Device.Path < s.Disks[j].Device.Path })
	sort.SliceStable(s.UPS, func(i, j int) bool { return s.UPS[i].Name < s.UPS[j].Name })
	sort.SliceStable(s.Sensors, func(i, j int) bool { return s.Sensors[i].ID < s.Sensors[j].ID })
	sort.SliceStable(s.Sources, func(i, j int) bool { return s.Sources[i].Name < s.Sources[j].Name })
	sort.SliceStable(s.Controllers, func(i, j int) bool { return s.Controllers[i].Name < s.Controllers[j].Name })
}

// Sample is one numeric reading keyed for history, metrics and Zabbix
// items: Subject is a stable identity (see DeviceInfo.ID), Metric a
// snake_case name such as "md_degraded" or "smart_attr_5_raw".
type Sample struct {
	Subject string  `json:"subject"`
	Metric  string  `json:"metric"`
	Value   float64 `json:"value"`
}

// Samples flattens the numeric readings of a snapshot.
func (s *Snapshot) Samples() []Sample {
	var out []Sample
	for i := range s.Arrays {
		out = append(out, s.Arrays[i].Samples()...)
		if t := s.lastCheck(&s.Arrays[i]); t > 0 {
			out = append(out, Sample{s.Arrays[i].ID(), MetricMDLastCheck, t})
		}
	}
	for i := range s.Disks {
		out = append(out, s.Disks[i].Samples()...)
	}
	for i := range s.UPS {
		out = append(out, s.UPS[i].Samples()...)
	}
	for i := range s.Sensors {
		out = append(out, s.Sensors[i].Samples()...)
	}
	return out
}

// Clean makes an untrusted device-reported string (model, serial, firmware:
// a USB bridge can report anything) inert for terminals, logs and messages:
// control characters and invalid UTF-8 become \xNN escapes, surrounding
// space is trimmed. Shell metacharacters are left as they are: no output of
// diskwatch is ever interpreted by a shell.
func Clean(s string) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == '\uFFFD' && !strings.HasPrefix(s[i:], "\uFFFD"):
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return strings.TrimSpace(b.String())
}

// MetricMDLastCheck is the time (Unix seconds) an array was last seen
// checked: a check running at the snapshot's time, or a "data-check done"
// line of the kernel log. It is written only when there is one, so its
// series is the array's check history (a day's last point survives
// downsampling and still names that day).
const MetricMDLastCheck = "md_last_check_unix"

func (s *Snapshot) lastCheck(a *Array) float64 {
	var t float64
	if a.SyncAction == "check" && !s.Time.IsZero() {
		t = float64(s.Time.Unix())
	}
	for _, e := range s.Events {
		if e.Kind == KindMDCheckDone && e.Device == a.Name && !e.Time.IsZero() {
			t = max(t, float64(e.Time.Unix()))
		}
	}
	return t
}
