// Package notify delivers alert events to sinks. A sink implements the
// one-method Notifier interface and says whether a failure is worth
// retrying; the Dispatcher is the one place that retries, with backoff,
// and it keeps what could not be delivered in an on-disk Queue (files mode
// 0600) that survives a restart and is retried until delivered.
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
	"sync"
	"time"

	"github.com/rs/zerolog"

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
	Name     string
	Notifier Notifier
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

// Dispatcher sends messages to every sink, retrying with backoff and
// queueing on disk what cannot be delivered now.
type Dispatcher struct {
	Sinks []Sink
	// Queue keeps undelivered messages; nil keeps none (they are logged
	// and dropped).
	Queue *Queue
	Log   zerolog.Logger
	// Now is the clock (required).
	Now func() time.Time
	// Attempts is how many immediate tries a message gets before it is
	// queued (default 3).
	Attempts int
	// Timeout bounds one delivery attempt (default 15 s).
	Timeout time.Duration
	// Backoff gives the wait before retry n (n >= 1); default 1 s doubling,
	// at most 10 min.
	Backoff func(n int) time.Duration
	// Sleep waits (injectable for tests); default a context-aware timer.
	Sleep func(ctx context.Context, d time.Duration) error
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

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (d *Dispatcher) defaults() {
	if d.Attempts <= 0 {
		d.Attempts = 3
	}
	if d.Timeout <= 0 {
		d.Timeout = 15 * time.Second
	}
	if d.Backoff == nil {
		d.Backoff = DefaultBackoff
	}
	if d.Sleep == nil {
		d.Sleep = sleepCtx
	}
}

// attempt makes one delivery try under the per-attempt timeout.
func (d *Dispatcher) attempt(ctx context.Context, s Sink, msgs []Message) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, d.Timeout)
	defer cancel()
	retry, err := s.Notifier.Notify(ctx, msgs...)
	if err != nil && ctx.Err() != nil {
		retry = true // a timeout is always worth another try
	}
	return retry, err
}

// Send delivers msgs to every sink: up to Attempts tries each with backoff
// between them; what still fails with a temporary error is queued. It
// returns the number of (sink, message) deliveries that were queued.
func (d *Dispatcher) Send(ctx context.Context, msgs []Message) int {
	d.defaults()
	if len(msgs) == 0 {
		return 0
	}
	// Sinks are independent: a slow or failing one does not delay the
	// others.
	var mu sync.Mutex
	var wg sync.WaitGroup
	queued := 0
	for _, s := range d.Sinks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := d.sendOne(ctx, s, msgs)
			mu.Lock()
			queued += n
			mu.Unlock()
		}()
	}
	wg.Wait()
	return queued
}

// sendOne delivers msgs to one sink with retries, queueing on a temporary
// failure.
func (d *Dispatcher) sendOne(ctx context.Context, s Sink, msgs []Message) int {
	var err error
	retry := false
	for n := 1; n <= d.Attempts; n++ {
		retry, err = d.attempt(ctx, s, msgs)
		if err == nil || !retry || n == d.Attempts || ctx.Err() != nil {
			break
		}
		if d.Sleep(ctx, d.Backoff(n)) != nil {
			break
		}
	}
	switch {
	case err == nil:
		d.Log.Debug().Str("sink", s.Name).Int("messages", len(msgs)).Msg("notified")
	case !retry:
		d.Log.Error().Str("sink", s.Name).Err(err).Int("messages", len(msgs)).Msg("notification rejected permanently; dropped")
	default:
		d.Log.Warn().Str("sink", s.Name).Err(err).Int("messages", len(msgs)).Msg("notification not delivered; queued for retry")
		return d.enqueue(s.Name, msgs, d.Attempts)
	}
	return 0
}

func (d *Dispatcher) enqueue(sink string, msgs []Message, attempts int) int {
	if d.Queue == nil {
		d.Log.Error().Str("sink", sink).Int("messages", len(msgs)).Msg("no queue configured: undelivered notifications dropped")
		return 0
	}
	n := 0
	now := d.Now()
	for _, m := range msgs {
		if err := d.Queue.Put(Entry{Sink: sink, Attempts: attempts, Next: now.Add(d.Backoff(attempts)), Message: m}); err != nil {
			d.Log.Error().Str("sink", sink).Err(err).Str("alert", m.Alert.Key).Msg("could not queue an undelivered notification")
			continue
		}
		n++
	}
	return n
}

// Defer queues msgs for every sink without trying them now (when the
// sender is saturated); Retry delivers them.
func (d *Dispatcher) Defer(msgs []Message) int {
	d.defaults()
	n := 0
	for _, s := range d.Sinks {
		if d.Queue == nil {
			break
		}
		now := d.Now()
		for _, m := range msgs {
			if err := d.Queue.Put(Entry{Sink: s.Name, Next: now, Message: m}); err == nil {
				n++
			}
		}
	}
	return n
}

// Retry tries every queued message that is due (all of them when force is
// set, as on shutdown). Delivered and permanently rejected entries leave
// the queue; the others get their next try pushed back by the backoff. It
// returns how many were delivered and how many remain.
func (d *Dispatcher) Retry(ctx context.Context, force bool) (delivered, remaining int) {
	d.defaults()
	if d.Queue == nil {
		return 0, 0
	}
	entries, err := d.Queue.List()
	if err != nil {
		d.Log.Error().Err(err).Msg("notification queue unreadable")
	}
	sinks := map[string]Sink{}
	for _, s := range d.Sinks {
		sinks[s.Name] = s
	}
	now := d.Now()
	for _, e := range entries {
		if ctx.Err() != nil {
			remaining++
			continue
		}
		s, ok := sinks[e.Sink]
		if !ok {
			d.Log.Warn().Str("sink", e.Sink).Str("alert", e.Message.Alert.Key).Msg("queued notification for a sink no longer configured; dropped")
			d.Queue.Remove(e)
			continue
		}
		if !force && now.Before(e.Next) {
			remaining++
			continue
		}
		retry, err := d.attempt(ctx, s, []Message{e.Message})
		switch {
		case err == nil:
			d.Log.Info().Str("sink", s.Name).Str("alert", e.Message.Alert.Key).Int("attempts", e.Attempts+1).Msg("queued notification delivered")
			d.Queue.Remove(e)
			delivered++
		case !retry:
			d.Log.Error().Str("sink", s.Name).Err(err).Str("alert", e.Message.Alert.Key).Msg("queued notification rejected permanently; dropped")
			d.Queue.Remove(e)
		default:
			e.Attempts++
			e.Next = now.Add(d.Backoff(e.Attempts))
			if err := d.Queue.Update(e); err != nil {
				d.Log.Error().Err(err).Msg("notification queue: could not record a retry")
			}
			remaining++
		}
	}
	return delivered, remaining
}
