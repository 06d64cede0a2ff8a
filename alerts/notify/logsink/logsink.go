// Package logsink is the sink that is always on: every alert event is a
// structured log line.
package logsink

import (
	"context"

	"github.com/rs/zerolog"

	"github.com/diskwatch/diskwatch/alerts/lifecycle"
	"github.com/diskwatch/diskwatch/alerts/notify"
	"github.com/diskwatch/diskwatch/collectors/model"
)

// Sink logs alert events.
type Sink struct {
	Log zerolog.Logger
}

// Notify writes one line per message; it never fails.
func (s Sink) Notify(_ context.Context, msgs ...notify.Message) (bool, error) {
	for _, m := range msgs {
		ev := s.Log.Warn()
		switch {
		case m.Kind == lifecycle.Resolved:
			ev = s.Log.Info()
		case m.Alert.Severity == model.Critical:
			ev = s.Log.Error()
		}
		ev.Str("event", string(m.Kind)).Str("rule", m.Alert.Rule).Str("subject", notify.OneLine(m.Alert.Subject)).
			Str("severity", m.Alert.Severity.String()).Time("since", m.Alert.StartsAt).Msg(m.Subject())
	}
	return false, nil
}
