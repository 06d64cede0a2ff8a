// Package notify delivers alert events to sinks. A sink implements the
// one-method Notifier interface and says whether a failure is worth
// retrying; the Outbox (outbox.go) is the one place that queues (on disk,
// files mode 0600, before the alert state says notified) and retries, with
// backoff, one worker per sink.
//
// Sinks live in their own packages (notify/log, notify/email, ...). None
// of them may put a secret (password, token, header value) in a log line
// or an error: secrets are held as Secret, which prints as "<redacted>".
package notify

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/diskwatch/diskwatch/alerts/lifecycle"
	"github.com/diskwatch/diskwatch/collectors/model"
)

// Message is one alert event as sinks receive it.
type Message struct {
	// ID is unique per event (key, kind, time): receivers can dedup
	// retried deliveries on it.
	ID    string         `json:"id"`
	Kind  lifecycle.Kind `json:"kind"`
	Host  string         `json:"host"`
	Time  time.Time      `json:"time"`
	Alert model.Alert    `json:"alert"`
}

// FromEvent makes the message for a lifecycle event on host.
func FromEvent(host string, ev lifecycle.Event) Message {
	return Message{
		ID:   fmt.Sprintf("%s@%s#%s", ev.Alert.Key, ev.Time.UTC().Format(time.RFC3339Nano), ev.Kind),
		Kind: ev.Kind, Host: host, Time: ev.Time, Alert: ev.Alert,
	}
}

// Subject is a one-line, terminal-safe summary for mail subjects and log
// lines: "[diskwatch host] CRITICAL md0: array degraded" or "RESOLVED ...".
func (m Message) Subject() string {
	state := m.Alert.Severity.String()
	switch m.Kind {
	case lifecycle.Resolved:
		state = "RESOLVED"
	case lifecycle.Escalated:
		state += " (escalated)"
	case lifecycle.Flapping:
		state = "FLAPPING " + state
	case lifecycle.Renotify:
		state += " (still)"
	}
	msg := m.Alert.Message
	if m.Kind == lifecycle.Resolved {
		// A recovery reads as one: "md0 is healthy again after 3h12m
		// degraded", not the problem's own words.
		msg = Recovery(m.Alert)
	} else if !strings.HasPrefix(msg, m.Alert.Subject) {
		msg = m.Alert.Subject + ": " + msg
	}
	return OneLine(fmt.Sprintf("[diskwatch %s] %s %s", m.Host, state, msg))
}

// Recovery says that a's subject is healthy again, after how long and
// what: "md0 is healthy again after 3h12m degraded" (rule md.degraded).
func Recovery(a model.Alert) string {
	what := a.Rule
	if i := strings.LastIndex(what, "."); i >= 0 {
		what = what[i+1:]
	}
	what = strings.ReplaceAll(what, "_", " ")
	msg := fmt.Sprintf("%s is healthy again", a.Subject)
	if !a.StartsAt.IsZero() && !a.EndsAt.IsZero() && a.EndsAt.After(a.StartsAt) {
		msg += " after " + shortDuration(a.EndsAt.Sub(a.StartsAt))
	}
	return msg + " " + what
}

// shortDuration prints 3h12m, 45m, 30s, 2d4h.
func shortDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return d.Round(time.Second).String()
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	return fmt.Sprintf("%dd%dh", int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour))
}

// Body is the plain-text description used by mail and syslog.
func (m Message) Body() string {
	var b strings.Builder
	a := m.Alert
	fmt.Fprintf(&b, "%s\n\n", m.Subject())
	fmt.Fprintf(&b, "Host:     %s\nRule:     %s\nSubject:  %s\nSeverity: %s\nEvent:    %s\nSince:    %s\n",
		model.Clean(m.Host), a.Rule, model.Clean(a.Subject), a.Severity, m.Kind, a.StartsAt.UTC().Format(time.RFC3339))
	if !a.EndsAt.IsZero() {
		fmt.Fprintf(&b, "Ended:    %s\n", a.EndsAt.UTC().Format(time.RFC3339))
	}
	if m.Kind == lifecycle.Resolved {
		fmt.Fprintf(&b, "\n%s. It was: %s\n", model.Clean(Recovery(a)), model.Clean(a.Message))
		return b.String()
	}
	fmt.Fprintf(&b, "\n%s\n", model.Clean(a.Message))
	if a.Remedy != "" {
		fmt.Fprintf(&b, "\nWhat to do: %s\n", model.Clean(a.Remedy))
	}
	for _, e := range a.Evidence {
		fmt.Fprintf(&b, "  - %s\n", model.Clean(e))
	}
	return b.String()
}

// OneLine makes s a single terminal-safe line.
func OneLine(s string) string {
	return model.Clean(strings.NewReplacer("\n", " ", "\r", " ").Replace(s))
}

// Notifier delivers messages to one destination. It reports whether a
// failure is temporary (retry) or permanent (drop, with the error logged).
type Notifier interface {
	Notify(ctx context.Context, msgs ...Message) (retry bool, err error)
}

// Sink is a named notifier.
type Sink struct {
	// Name identifies the sink by where it delivers (webhook-1a2b3c4d):
	// it names its queue, and stays when the configuration is reordered.
	Name string
	// Label is the sink as the configuration lists it (webhook[0]), for
	// people; Name when empty.
	Label    string
	Notifier Notifier
}

// Display is the sink's Label, else its Name.
func (s Sink) Display() string {
	if s.Label != "" {
		return s.Label
	}
	return s.Name
}

// Secret is a configuration value that must never be printed: password,
// token, header value. Its String and JSON forms are "<redacted>".
type Secret string

// String redacts.
func (Secret) String() string { return "<redacted>" }

// GoString redacts.
func (Secret) GoString() string { return "<redacted>" }

// MarshalJSON redacts.
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"<redacted>"`), nil }

// MarshalText redacts.
func (Secret) MarshalText() ([]byte, error) { return []byte("<redacted>"), nil }

// Reveal returns the secret value, for the wire only.
func (s Secret) Reveal() string { return string(s) }

// RedactedError hides every non-empty secret in err's message.
func RedactedError(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	hit := false
	for _, s := range secrets {
		if len(s) >= 1 && strings.Contains(msg, s) {
			msg = strings.ReplaceAll(msg, s, "<redacted>")
			hit = true
		}
	}
	if !hit {
		return err
	}
	return errors.New(msg)
}

// SafeURL is u without user info, query or fragment (where tokens hide),
// for logs and errors.
func SafeURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unparsable URL)"
	}
	p.User = nil
	if p.RawQuery != "" {
		p.RawQuery = "<redacted>"
	}
	p.Fragment = ""
	return p.String()
}

// DefaultBackoff is 1 s, 2 s, 4 s, ... capped at 10 minutes.
func DefaultBackoff(n int) time.Duration {
	if n < 1 {
		n = 1
	}
	d := time.Second
	for i := 1; i < n && d < 10*time.Minute; i++ {
		d *= 2
	}
	if d > 10*time.Minute {
		d = 10 * time.Minute
	}
	return d
}
