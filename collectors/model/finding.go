package model

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Severity of a finding. The numeric values of OK..UNKNOWN are the
// monitoring-plugin exit codes (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN);
// NOTICE (4) tells without paging: it sorts above OK and below WARNING and
// UNKNOWN, and exits 0 (ExitCode).
type Severity int

// Severities.
const (
	OK       Severity = 0
	Warning  Severity = 1
	Critical Severity = 2
	Unknown  Severity = 3
	// Notice: worth knowing, not worth waking anyone ("1 pending sector,
	// back up"; a first reallocation). Never notified by default.
	Notice Severity = 4
)

var sevNames = [...]string{"OK", "WARNING", "CRITICAL", "UNKNOWN", "NOTICE"}

func (s Severity) String() string {
	if s < 0 || int(s) >= len(sevNames) {
		return fmt.Sprintf("Severity(%d)", int(s))
	}
	return sevNames[s]
}

// Rank orders severities for display and for the overall status:
// CRITICAL > WARNING > UNKNOWN > NOTICE > OK.
func (s Severity) Rank() int {
	switch s {
	case Critical:
		return 4
	case Warning:
		return 3
	case Unknown:
		return 2
	case Notice:
		return 1
	}
	return 0
}

// ExitCode is the monitoring-plugin exit code: NOTICE exits 0 like OK.
func (s Severity) ExitCode() int {
	if s == Notice {
		return 0
	}
	return int(s)
}

// MarshalJSON writes the name.
func (s Severity) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// UnmarshalJSON reads a name (any case).
func (s *Severity) UnmarshalJSON(b []byte) error {
	var n string
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	v, err := ParseSeverity(n)
	*s = v
	return err
}

// ParseSeverity reads "OK", "NOTICE", "WARNING", "CRITICAL" or "UNKNOWN"
// (any case).
func ParseSeverity(n string) (Severity, error) {
	for i, x := range sevNames {
		if strings.EqualFold(n, x) {
			return Severity(i), nil
		}
	}
	return Unknown, fmt.Errorf("unknown severity %q", n)
}

// Finding is one conclusion of a rule about one subject. It is the one
// shape a conclusion has from the rules to every output: alerts wrap it,
// notifications carry it, `check`, the snapshot, metrics and Zabbix print it.
type Finding struct {
	Severity Severity `json:"severity"`
	Rule     string   `json:"rule"`
	// Subject is the terminal-safe display name ("md0", "sda (MODEL SN)").
	Subject string `json:"subject"`
	// SubjectID is the stable identity (array name, disk ID, UPS name).
	SubjectID string `json:"subject_id,omitempty"`
	Message   string `json:"message"`
	// Remedy says what to do, as exact as possible.
	Remedy   string   `json:"remedy,omitempty"`
	Evidence []string `json:"evidence,omitempty"`
	// Related names other subjects involved (member devices of an array).
	Related []string `json:"related,omitempty"`
	// Values are numbers behind the finding (for perfdata and alerts).
	Values map[string]float64 `json:"values,omitempty"`
	// Match is used to apply per-device settings; not serialised.
	Match Match `json:"-"`
}

// Match identifies a subject for per-device settings.
type Match struct {
	Path, Serial, Model string
}

// Alert is a finding over time: the (rule, subject) condition the alert
// lifecycle tracks, with when it started and ended.
type Alert struct {
	Key string `json:"key"`
	// Finding is the latest finding behind the alert.
	Finding
	// StartsAt is when the current firing episode began.
	StartsAt time.Time `json:"starts_at"`
	// EndsAt is set once the alert resolved.
	EndsAt time.Time `json:"ends_at,omitzero"`
	// LastSeen is the last cycle the finding was present.
	LastSeen time.Time `json:"last_seen,omitzero"`
	// InhibitedBy names the alert key that inhibits this one, if any.
	InhibitedBy string `json:"inhibited_by,omitempty"`
}

// Active reports whether the alert is firing.
func (a *Alert) Active() bool { return a.EndsAt.IsZero() }
