// Package syslog writes alert events to the systemd journal (structured
// fields DISKWATCH_*) when it is running, else to syslog.
package syslog

import (
	"context"
	"fmt"
	"log/syslog"

	"github.com/coreos/go-systemd/v22/journal"

	"github.com/diskwatch/diskwatch/alerts/lifecycle"
	"github.com/diskwatch/diskwatch/alerts/notify"
	"github.com/diskwatch/diskwatch/alerts/notify/execsink"
	"github.com/diskwatch/diskwatch/collectors/model"
)

// Sink logs to the journal or syslog.
type Sink struct {
	// Tag is the syslog identifier (default "diskwatch").
	Tag string
	// Network and Addr select a syslog server ("" both: the local one).
	// Setting them forces syslog even when the journal runs.
	Network, Addr string
}

func (s *Sink) tag() string {
	if s.Tag == "" {
		return "diskwatch"
	}
	return s.Tag
}

func priority(m notify.Message) (journal.Priority, syslog.Priority) {
	switch {
	case m.Kind == lifecycle.Resolved:
		return journal.PriNotice, syslog.LOG_NOTICE
	case m.Alert.Severity == model.Critical:
		return journal.PriCrit, syslog.LOG_CRIT
	}
	return journal.PriWarning, syslog.LOG_WARNING
}

// Notify writes one entry per message.
func (s *Sink) Notify(_ context.Context, msgs ...notify.Message) (bool, error) {
	if s.Network == "" && s.Addr == "" && journal.Enabled() {
		for _, m := range msgs {
			jp, _ := priority(m)
			vars := map[string]string{"SYSLOG_IDENTIFIER": s.tag()}
			for _, kv := range execsink.Environ(m) {
				for i := 0; i < len(kv); i++ {
					if kv[i] == '=' {
						vars[kv[:i]] = kv[i+1:]
						break
					}
				}
			}
			if err := journal.Send(m.Subject(), jp, vars); err != nil {
				return true, fmt.Errorf("journal: %w", err)
			}
		}
		return false, nil
	}
	w, err := syslog.Dial(s.Network, s.Addr, syslog.LOG_DAEMON|syslog.LOG_WARNING, s.tag())
	if err != nil {
		return true, fmt.Errorf("syslog: %w", err)
	}
	defer w.Close()
	for _, m := range msgs {
		_, sp := priority(m)
		var err error
		switch sp {
		case syslog.LOG_CRIT:
			err = w.Crit(m.Subject())
		case syslog.LOG_NOTICE:
			err = w.Notice(m.Subject())
		default:
			err = w.Warning(m.Subject())
		}
		if err != nil {
			return true, fmt.Errorf("syslog: %w", err)
		}
	}
	return false, nil
}
