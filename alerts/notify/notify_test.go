package notify_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/diskwatch/diskwatch/alerts/lifecycle"
	"github.com/diskwatch/diskwatch/alerts/notify"
	"github.com/diskwatch/diskwatch/alerts/notify/webhook"
	"github.com/diskwatch/diskwatch/collectors/model"
)

var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func msg(kind lifecycle.Kind) notify.Message {
	return notify.FromEvent("host1", lifecycle.Event{Kind: kind, Time: t0, Alert: model.Alert{
		Key: "md.degraded|md0", Finding: model.Finding{Rule: "md.degraded", Subject: "md0", SubjectID: "md0", Severity: model.Critical,
			Message: "md0 is degraded"}, StartsAt: t0,
	}})
}

// receiver is a webhook endpoint that can be down (503) or up.
type receiver struct {
	up   atomic.Bool
	mu   sync.Mutex
	got  []webhook.Payload
	hdrs []http.Header
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if !r.up.Load() {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	var p webhook.Payload
	b, _ := io.ReadAll(req.Body)
	if err := json.Unmarshal(b, &p); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	r.mu.Lock()
	r.got = append(r.got, p)
	r.hdrs = append(r.hdrs, req.Header.Clone())
	r.mu.Unlock()
}

func noSleep(context.Context, time.Duration) error { return nil }

func TestWebhookErrorsHideSecrets(t *testing.T) {
	const token = "tok-ABCDEF-123456"
	// Nothing listens here: a connection error names the URL in net/http.
	ln := httptest.NewServer(http.NotFoundHandler())
	url := ln.URL
	ln.Close()
	s := &webhook.Sink{URL: "http://user:" + token + "@" + strings.TrimPrefix(url, "http://") + "/x?key=" + token,
		Headers: map[string]notify.Secret{"X-Token": token}}
	retry, err := s.Notify(context.Background(), msg(lifecycle.Firing))
	if err == nil || !retry {
		t.Fatalf("want a temporary error, got retry=%v err=%v", retry, err)
	}
	if strings.Contains(err.Error(), token) {
		t.Errorf("error leaks the token: %v", err)
	}
	// Secret formatting.
	sec := notify.Secret(token)
	for _, s := range []string{sec.String(), func() string { b, _ := json.Marshal(sec); return string(b) }()} {
		if strings.Contains(s, token) {
			t.Errorf("Secret prints its value: %s", s)
		}
	}
}

type notifierFunc func(context.Context, ...notify.Message) (bool, error)

func (f notifierFunc) Notify(ctx context.Context, m ...notify.Message) (bool, error) {
	return f(ctx, m...)
}

func TestSubjectIsOneSafeLine(t *testing.T) {
	m := msg(lifecycle.Resolved)
	m.Alert.Message = "evil\x1b[31m\nsecond line"
	s := m.Subject()
	if strings.ContainsAny(s, "\n\x1b") {
		t.Errorf("subject not one safe line: %q", s)
	}
	if !strings.Contains(s, "RESOLVED") {
		t.Errorf("resolved subject: %q", s)
	}
}

// A recovery reads as one: the subject is healthy again, after how long,
// from what.
func TestRecoveryMessage(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	a := model.Alert{Key: "k", StartsAt: t0, EndsAt: t0.Add(3*time.Hour + 12*time.Minute),
		Finding: model.Finding{Severity: model.Critical, Rule: "md.degraded", Subject: "md0 (raid1)", Message: "md0 (raid1) is DEGRADED [2/1]"}}
	m := notify.Message{Kind: lifecycle.Resolved, Host: "h", Time: a.EndsAt, Alert: a}
	if got, want := m.Subject(), "[diskwatch h] RESOLVED md0 (raid1) is healthy again after 3h12m degraded"; got != want {
		t.Errorf("subject %q, want %q", got, want)
	}
	if b := m.Body(); !strings.Contains(b, "It was: md0 (raid1) is DEGRADED [2/1]") || strings.Contains(b, "0001-01-01") {
		t.Errorf("body:\n%s", b)
	}
}
