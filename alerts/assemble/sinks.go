package assemble

import (
	"fmt"
	"os"
	"strings"

	"github.com/rs/zerolog"

	"github.com/diskwatch/diskwatch/alerts/config"
	"github.com/diskwatch/diskwatch/alerts/lifecycle"
	"github.com/diskwatch/diskwatch/alerts/notify"
	"github.com/diskwatch/diskwatch/alerts/notify/alertmanager"
	"github.com/diskwatch/diskwatch/alerts/notify/email"
	"github.com/diskwatch/diskwatch/alerts/notify/execsink"
	"github.com/diskwatch/diskwatch/alerts/notify/logsink"
	"github.com/diskwatch/diskwatch/alerts/notify/syslog"
	"github.com/diskwatch/diskwatch/alerts/notify/webhook"
	"github.com/diskwatch/diskwatch/collectors/model"
)

// Sinks makes the configured notification sinks, named as in the
// configuration (email[0], webhook[1], syslog, ...); the log sink is always
// first.
func Sinks(cfg *config.Config, log zerolog.Logger) ([]notify.Sink, error) {
	out := []notify.Sink{{Name: "log", Notifier: logsink.Sink{Log: log.With().Str("part", "alert").Logger()}}}
	n := cfg.Notify
	for i, m := range n.Email {
		pw := m.Password
		if m.PasswordFile != "" {
			b, err := os.ReadFile(m.PasswordFile)
			if err != nil {
				return nil, fmt.Errorf("notify: email[%d]: password_file: %w", i, err)
			}
			pw = strings.TrimRight(string(b), "\r\n")
		}
		out = append(out, notify.Sink{Name: fmt.Sprintf("email[%d]", i), Notifier: &email.Sink{
			Host: m.Host, Port: m.Port, TLS: m.TLS, InsecureSkipVerify: m.InsecureSkipVerify,
			Username: m.Username, Password: notify.Secret(pw), From: m.From, To: m.To}})
	}
	for i, w := range n.Webhook {
		h := map[string]notify.Secret{}
		for k, v := range w.Headers {
			h[k] = notify.Secret(v)
		}
		out = append(out, notify.Sink{Name: fmt.Sprintf("webhook[%d]", i), Notifier: &webhook.Sink{URL: w.URL, Headers: h}})
	}
	for i, x := range n.Exec {
		out = append(out, notify.Sink{Name: fmt.Sprintf("exec[%d]", i), Notifier: &execsink.Sink{Argv: x.Argv, Timeout: x.Timeout}})
	}
	for i, a := range n.Alertmanager {
		out = append(out, notify.Sink{Name: fmt.Sprintf("alertmanager[%d]", i), Notifier: &alertmanager.Sink{
			URL: a.URL, BearerToken: notify.Secret(a.BearerToken), TTL: a.TTL, Labels: a.Labels}})
	}
	if s := n.Syslog; s != nil && (s.Enabled == nil || *s.Enabled) {
		out = append(out, notify.Sink{Name: "syslog", Notifier: &syslog.Sink{Tag: s.Tag}})
	}
	return out, nil
}

// Policy maps the notify section to the alert lifecycle's policy.
func Policy(cfg *config.Config) lifecycle.Policy {
	n := cfg.Notify
	p := lifecycle.Policy{Renotify: n.Renotify, ResolveAfter: n.ResolveAfter, FlapWindow: n.FlapWindow, FlapChanges: n.FlapChanges}
	if n.MinSeverity != "" {
		p.MinSeverity, _ = model.ParseSeverity(n.MinSeverity)
	}
	return p
}
