package assemble

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
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

// Sinks makes the configured notification sinks; the log sink is always
// first. Each is named by what it delivers to, not by its place in the
// list (webhook-1a2b3c4d: a hash of the URL; exec-…: of the argv; email-…:
// of server and recipients; alertmanager-…: of the URL), so that its queue
// follows it when the list is reordered or an entry is added before it.
func Sinks(cfg *config.Config, log zerolog.Logger) ([]notify.Sink, error) {
	out, err := sinks(cfg, log)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, s := range out {
		if seen[s.Name] {
			return nil, fmt.Errorf("notify: two sinks deliver to the same place (%s): remove one", s.Name)
		}
		seen[s.Name] = true
	}
	return out, nil
}

// sinkName is kind-HASH over the parts that say where a sink delivers.
func sinkName(kind string, parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return kind + "-" + hex.EncodeToString(h[:4])
}

// LegacySinkNames maps the list-position names older versions queued
// messages under (webhook[0], ...) to the sinks now at those positions.
func LegacySinkNames(cfg *config.Config) map[string]string {
	out := map[string]string{"log": "log", "syslog": "syslog"}
	n := cfg.Notify
	for i, m := range n.Email {
		out[fmt.Sprintf("email[%d]", i)] = emailName(m)
	}
	for i, w := range n.Webhook {
		out[fmt.Sprintf("webhook[%d]", i)] = sinkName("webhook", w.URL)
	}
	for i, x := range n.Exec {
		out[fmt.Sprintf("exec[%d]", i)] = sinkName("exec", x.Argv...)
	}
	for i, a := range n.Alertmanager {
		out[fmt.Sprintf("alertmanager[%d]", i)] = sinkName("alertmanager", a.URL)
	}
	return out
}

func emailName(m config.EmailSink) string {
	return sinkName("email", append([]string{m.Host, fmt.Sprint(m.Port), m.From}, m.To...)...)
}

func sinks(cfg *config.Config, log zerolog.Logger) ([]notify.Sink, error) {
	out := []notify.Sink{{Name: "log", Notifier: logsink.Sink{Log: log.With().Str("part", "alert").Logger()}}}
	n := cfg.Notify
	for i, m := range n.Email {
		pw := m.Password
		if m.PasswordFile != "" {
			b, err := config.ReadTrusted(m.PasswordFile)
			if err != nil {
				return nil, fmt.Errorf("notify: email[%d]: password_file: %w", i, err)
			}
			pw = strings.TrimRight(string(b), "\r\n")
		}
		out = append(out, notify.Sink{Name: emailName(m), Label: fmt.Sprintf("email[%d]", i), Notifier: &email.Sink{
			Host: m.Host, Port: m.Port, TLS: m.TLS, InsecureSkipVerify: m.InsecureSkipVerify,
			Username: m.Username, Password: notify.Secret(pw), From: m.From, To: m.To}})
	}
	for i, w := range n.Webhook {
		h := map[string]notify.Secret{}
		for k, v := range w.Headers {
			h[k] = notify.Secret(v)
		}
		out = append(out, notify.Sink{Name: sinkName("webhook", w.URL), Label: fmt.Sprintf("webhook[%d]", i), Notifier: &webhook.Sink{URL: w.URL, Headers: h}})
	}
	for i, x := range n.Exec {
		out = append(out, notify.Sink{Name: sinkName("exec", x.Argv...), Label: fmt.Sprintf("exec[%d]", i), Notifier: &execsink.Sink{Argv: x.Argv, Timeout: x.Timeout}})
	}
	for i, a := range n.Alertmanager {
		out = append(out, notify.Sink{Name: sinkName("alertmanager", a.URL), Label: fmt.Sprintf("alertmanager[%d]", i), Notifier: &alertmanager.Sink{
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
