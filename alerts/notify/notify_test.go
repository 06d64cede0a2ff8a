package notify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

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

// Delivery failure -> queued -> retried -> delivered once the peer is up,
// across a restart (a new dispatcher over the same queue directory). The
// token in a header and in the URL's query never reaches the log.
func TestQueueRetryAcrossRestart(t *testing.T) {
	rcv := &receiver{}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	dir := filepath.Join(t.TempDir(), "queue")
	var logbuf bytes.Buffer
	log := zerolog.New(&logbuf)
	const token = "s3cr3t-T0KEN-value"
	sink := notify.Sink{Name: "hook", Notifier: &webhook.Sink{URL: srv.URL + "/hook?token=" + token,
		Headers: map[string]notify.Secret{"Authorization": "Bearer " + token}}}
	now := t0
	clock := func() time.Time { return now }

	q, err := notify.OpenQueue(dir)
	if err != nil {
		t.Fatal(err)
	}
	d := &notify.Dispatcher{Sinks: []notify.Sink{sink}, Queue: q, Log: log, Now: clock, Sleep: noSleep}
	if n := d.Send(context.Background(), []notify.Message{msg(lifecycle.Firing)}); n != 1 {
		t.Fatalf("queued %d, want 1", n)
	}
	st, err := os.Stat(dir)
	if err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("queue dir mode: %v %v", st.Mode(), err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Fatalf("queue files: %d", len(ents))
	}
	fi, _ := ents[0].Info()
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("queue file mode %o, want 600", fi.Mode().Perm())
	}
	// Still down: the retry is counted and pushed back.
	if del, rem := d.Retry(context.Background(), true); del != 0 || rem != 1 {
		t.Fatalf("retry while down: delivered %d remaining %d", del, rem)
	}
	// Not due yet: nothing tried.
	if del, rem := d.Retry(context.Background(), false); del != 0 || rem != 1 {
		t.Fatalf("retry before due: delivered %d remaining %d", del, rem)
	}

	// "Restart": a new queue and dispatcher over the same directory; the
	// peer comes up.
	rcv.up.Store(true)
	q2, _ := notify.OpenQueue(dir)
	d2 := &notify.Dispatcher{Sinks: []notify.Sink{sink}, Queue: q2, Log: log, Now: func() time.Time { return now.Add(time.Hour) }, Sleep: noSleep}
	if del, rem := d2.Retry(context.Background(), false); del != 1 || rem != 0 {
		t.Fatalf("retry after restart: delivered %d remaining %d", del, rem)
	}
	if len(rcv.got) != 1 || rcv.got[0].Alert.Key != "md.degraded|md0" || rcv.got[0].Kind != lifecycle.Firing {
		t.Fatalf("receiver got %+v", rcv.got)
	}
	if rcv.hdrs[0].Get("Authorization") != "Bearer "+token {
		t.Errorf("header not sent")
	}
	if q2.Len() != 0 {
		t.Errorf("queue not empty after delivery")
	}
	if strings.Contains(logbuf.String(), token) {
		t.Errorf("secret leaked into the log:\n%s", logbuf.String())
	}
	if !strings.Contains(logbuf.String(), "queued") || !strings.Contains(logbuf.String(), "503") {
		t.Errorf("log does not say why it queued:\n%s", logbuf.String())
	}
}

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

// A 4xx answer is permanent: dropped, not queued.
func TestPermanentFailureDropped(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", 400) }))
	defer srv.Close()
	q, _ := notify.OpenQueue(t.TempDir())
	calls := 0
	d := &notify.Dispatcher{Sinks: []notify.Sink{{Name: "hook", Notifier: notifierFunc(func(ctx context.Context, m ...notify.Message) (bool, error) {
		calls++
		return (&webhook.Sink{URL: srv.URL}).Notify(ctx, m...)
	})}}, Queue: q, Log: zerolog.Nop(), Now: func() time.Time { return t0 }, Sleep: noSleep}
	if n := d.Send(context.Background(), []notify.Message{msg(lifecycle.Firing)}); n != 0 || q.Len() != 0 {
		t.Errorf("a permanent failure was queued")
	}
	if calls != 1 {
		t.Errorf("a permanent failure was retried: %d calls", calls)
	}
}

// Retries back off, as the backoff function says.
func TestBackoff(t *testing.T) {
	var waits []time.Duration
	q, _ := notify.OpenQueue(t.TempDir())
	d := &notify.Dispatcher{Sinks: []notify.Sink{{Name: "x", Notifier: notifierFunc(func(context.Context, ...notify.Message) (bool, error) {
		return true, io.ErrUnexpectedEOF
	})}}, Queue: q, Attempts: 4, Log: zerolog.Nop(), Now: func() time.Time { return t0 },
		Sleep: func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }}
	d.Send(context.Background(), []notify.Message{msg(lifecycle.Firing)})
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}
	if len(waits) != len(want) {
		t.Fatalf("waits %v, want %v", waits, want)
	}
	for i := range want {
		if waits[i] != want[i] {
			t.Fatalf("waits %v, want %v", waits, want)
		}
	}
	es, _ := q.List()
	if len(es) != 1 || es[0].Next != t0.Add(8*time.Second) {
		t.Errorf("queued entry next attempt: %+v", es)
	}
	if notify.DefaultBackoff(30) != 10*time.Minute {
		t.Errorf("backoff not capped")
	}
}

// A corrupt queue entry is moved aside, the rest still delivered.
func TestCorruptQueueEntry(t *testing.T) {
	dir := t.TempDir()
	q, _ := notify.OpenQueue(dir)
	q.Put(notify.Entry{Sink: "x", Message: msg(lifecycle.Firing)})
	os.WriteFile(filepath.Join(dir, "00000000000000000001-bad.json"), []byte("{"), 0o600)
	es, err := q.List()
	if err == nil || len(es) != 1 {
		t.Fatalf("List: %d entries, err %v", len(es), err)
	}
	if _, err := os.Stat(filepath.Join(dir, "00000000000000000001-bad.json.bad")); err != nil {
		t.Errorf("corrupt entry not moved aside: %v", err)
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

// Defer parks messages for every sink; Retry delivers them.
func TestDefer(t *testing.T) {
	q, _ := notify.OpenQueue(t.TempDir())
	var got []string
	d := &notify.Dispatcher{Sinks: []notify.Sink{{Name: "a", Notifier: notifierFunc(func(_ context.Context, m ...notify.Message) (bool, error) {
		got = append(got, "a "+m[0].Alert.Key)
		return false, nil
	})}, {Name: "b", Notifier: notifierFunc(func(_ context.Context, m ...notify.Message) (bool, error) {
		got = append(got, "b "+m[0].Alert.Key)
		return false, nil
	})}}, Queue: q, Log: zerolog.Nop(), Now: func() time.Time { return t0 }}
	if n := d.Defer([]notify.Message{msg(lifecycle.Firing)}); n != 2 || q.Len() != 2 {
		t.Fatalf("deferred %d, queue %d", n, q.Len())
	}
	if len(got) != 0 {
		t.Fatal("Defer delivered")
	}
	if del, rem := d.Retry(context.Background(), false); del != 2 || rem != 0 || len(got) != 2 {
		t.Errorf("retry: %d delivered, %d remaining, got %v", del, rem, got)
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
