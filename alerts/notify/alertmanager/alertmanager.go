// Package alertmanager sends alert events to a Prometheus Alertmanager
// through its API v2 (POST /api/v2/alerts). Firing alerts carry an endsAt
// in the future (TTL), refreshed by every re-notification; resolved alerts
// are sent with endsAt set to when they resolved, which ends them.
package alertmanager

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/diskwatch/diskwatch/alerts/lifecycle"
	"github.com/diskwatch/diskwatch/alerts/notify"
)

// Sink posts to an Alertmanager.
type Sink struct {
	// URL is the Alertmanager base URL, e.g. http://127.0.0.1:9093.
	URL string
	// BearerToken, when set, is sent as Authorization: Bearer.
	BearerToken notify.Secret
	// TTL is how long a firing alert stays active without being sent again
	// (default 25 h: longer than the default re-notify interval).
	TTL time.Duration
	// Labels are added to every alert (e.g. env: prod).
	Labels map[string]string
	Client *http.Client
}

// Alert is the API v2 postable alert.
type Alert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

// Convert makes the API v2 alert for a message.
func (s *Sink) Convert(m notify.Message) Alert {
	a := m.Alert
	labels := map[string]string{}
	for k, v := range s.Labels {
		labels[k] = v
	}
	labels["alertname"] = a.Rule
	labels["severity"] = strings.ToLower(a.Severity.String())
	labels["subject"] = notify.OneLine(a.Subject)
	labels["instance"] = notify.OneLine(m.Host)
	labels["job"] = "diskwatch"
	if a.SubjectID != "" {
		labels["subject_id"] = notify.OneLine(a.SubjectID)
	}
	ann := map[string]string{"summary": m.Subject(), "description": notify.OneLine(a.Message)}
	if a.Remedy != "" {
		ann["remedy"] = notify.OneLine(a.Remedy)
	}
	if len(a.Evidence) > 0 {
		ann["evidence"] = notify.OneLine(strings.Join(a.Evidence, "; "))
	}
	ttl := s.TTL
	if ttl <= 0 {
		ttl = 25 * time.Hour
	}
	end := m.Time.Add(ttl)
	if m.Kind == lifecycle.Resolved && !a.EndsAt.IsZero() {
		end = a.EndsAt
	}
	return Alert{Labels: labels, Annotations: ann, StartsAt: a.StartsAt.UTC(), EndsAt: end.UTC()}
}

// Notify posts all messages in one request. Network errors, 429 and 5xx
// are temporary; 400 (bad alert) is permanent.
func (s *Sink) Notify(ctx context.Context, msgs ...notify.Message) (bool, error) {
	var alerts []Alert
	for _, m := range msgs {
		if m.Kind == lifecycle.Flapping {
			continue // the alert's state stays as last sent
		}
		alerts = append(alerts, s.Convert(m))
	}
	if len(alerts) == 0 {
		return false, nil
	}
	body, err := json.Marshal(alerts)
	if err != nil {
		return false, fmt.Errorf("alertmanager: encode: %w", err)
	}
	u := strings.TrimRight(s.URL, "/") + "/api/v2/alerts"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return false, fmt.Errorf("alertmanager %s: %w", notify.SafeURL(u), stripURL(err))
	}
	req.Header.Set("Content-Type", "application/json")
	if s.BearerToken != "" {
		req.Header.Set("Authorization", "Bearer "+s.BearerToken.Reveal())
	}
	c := s.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return true, notify.RedactedError(fmt.Errorf("alertmanager POST %s: %w", notify.SafeURL(u), stripURL(err)), s.BearerToken.Reveal())
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		retry := resp.StatusCode >= 500 || resp.StatusCode == 429 || resp.StatusCode == 408
		return retry, fmt.Errorf("alertmanager POST %s: %s: %s", notify.SafeURL(u), resp.Status, notify.OneLine(string(msg)))
	}
	return false, nil
}

func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
