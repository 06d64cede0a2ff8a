package assemble

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/diskwatch/diskwatch/alerts/lifecycle"
	"github.com/diskwatch/diskwatch/alerts/notify"
	"github.com/diskwatch/diskwatch/collectors/model"
)

// TestRule is the rule name of the test alert `diskwatch notify test` sends.
const TestRule = "diskwatch.test"

// TestMessage is a clearly marked test alert from host at now: WARNING, so
// every sink with a minimum severity of warning passes it.
func TestMessage(host string, now time.Time) notify.Message {
	a := model.Alert{Key: TestRule + "/" + host, StartsAt: now, LastSeen: now, Finding: model.Finding{
		Severity: model.Warning, Rule: TestRule, Subject: "diskwatch notification test", SubjectID: "diskwatch:test",
		Message: "TEST ONLY: a test alert sent by `diskwatch notify test` on " + host + "; no disk is at fault",
		Remedy:  "nothing to do: it shows that this notification path works",
	}}
	return notify.FromEvent(host, lifecycle.Event{Kind: lifecycle.Firing, Time: now, Alert: a})
}

// SinkResult is one sink's answer to the test alert.
type SinkResult struct {
	Sink string
	Err  error // nil: delivered
}

// SelectSinks keeps the sinks named: "email[1]", or "email" for every
// email sink. It says which names match nothing, with the known ones.
func SelectSinks(sinks []notify.Sink, names []string) ([]notify.Sink, error) {
	if len(names) == 0 {
		return sinks, nil
	}
	var out []notify.Sink
	var known []string
	for _, s := range sinks {
		known = append(known, s.Display())
	}
	for _, n := range names {
		found := false
		for _, s := range sinks {
			if s.Name == n || s.Display() == n || strings.HasPrefix(s.Display(), n+"[") {
				out, found = append(out, s), true
			}
		}
		if !found {
			return nil, fmt.Errorf("no sink %q configured (configured: %s)", n, strings.Join(known, ", "))
		}
	}
	return out, nil
}

// TestSinks sends msg through each sink once (no retry, no queue), each
// bounded by timeout, and returns each one's result in order.
func TestSinks(ctx context.Context, sinks []notify.Sink, msg notify.Message, timeout time.Duration) []SinkResult {
	out := make([]SinkResult, len(sinks))
	for i, s := range sinks {
		sctx, cancel := context.WithTimeout(ctx, timeout)
		_, err := s.Notifier.Notify(sctx, msg)
		if err != nil && sctx.Err() != nil {
			err = fmt.Errorf("no answer within %s: %w", timeout, err)
		}
		cancel()
		out[i] = SinkResult{Sink: s.Display(), Err: err}
	}
	return out
}
