package notify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/diskwatch/diskwatch/alerts/lifecycle"
	"github.com/diskwatch/diskwatch/alerts/notify"
	"github.com/diskwatch/diskwatch/alerts/notify/webhook"
)

// syncBuf is a log buffer safe for the workers' goroutines.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func waitFor(t *testing.T, what string, d time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, d)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func fastBackoff(int) time.Duration { return 20 * time.Millisecond }

// A message is on disk (0600) before Enqueue returns; with the receiver
// down it stays there across a restart (a new outbox over the same
// directory), is delivered once the receiver is up, and keeps its id; the
// token in a header and in the URL never reaches the log; after the
// checkpoint nothing is left.
func TestOutboxQueueAcrossRestart(t *testing.T) {
	rcv := &receiver{}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	dir := filepath.Join(t.TempDir(), "queue")
	var logbuf syncBuf
	const token = "s3cr3t-T0KEN-value"
	sink := notify.Sink{Name: "hook", Notifier: &webhook.Sink{URL: srv.URL + "/hook?token=" + token,
		Headers: map[string]notify.Secret{"Authorization": "Bearer " + token}}}
	ob, err := notify.OpenOutbox(dir, zerolog.New(&logbuf), nil)
	if err != nil {
		t.Fatal(err)
	}
	ob.Backoff = fastBackoff
	ob.SetSinks([]notify.Sink{sink}, nil)
	m := msg(lifecycle.Firing)
	if err := ob.Enqueue([]notify.Message{m}); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "hook", "*.json"))
	if len(files) != 1 {
		t.Fatalf("queued files: %v", files)
	}
	if st, _ := os.Stat(files[0]); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %o", st.Mode().Perm())
	}
	waitFor(t, "a failed attempt", 5*time.Second, func() bool { return strings.Contains(logbuf.String(), "queued for retry") })
	if left := ob.Close(context.Background()); left != 1 {
		t.Fatalf("%d left after close, want 1", left)
	}
	// Restart, receiver up.
	rcv.up.Store(true)
	ob2, _ := notify.OpenOutbox(dir, zerolog.New(&logbuf), nil)
	if p := ob2.Pending(); len(p) != 1 || p[0].ID != m.ID {
		t.Fatalf("pending after restart: %+v", p)
	}
	ob2.SetSinks([]notify.Sink{sink}, nil)
	waitFor(t, "delivery after restart", 5*time.Second, func() bool { rcv.mu.Lock(); defer rcv.mu.Unlock(); return len(rcv.got) == 1 })
	ob2.Close(context.Background())
	rcv.mu.Lock()
	if rcv.got[0].ID != m.ID || rcv.hdrs[0].Get("Idempotency-Key") != m.ID {
		t.Errorf("id %q, Idempotency-Key %q, want %q", rcv.got[0].ID, rcv.hdrs[0].Get("Idempotency-Key"), m.ID)
	}
	rcv.mu.Unlock()
	// Delivered but not yet checkpointed: still pending (for the alert
	// state to adopt); after the checkpoint, gone.
	if len(ob2.Pending()) != 1 {
		t.Error("a delivered message was forgotten before the checkpoint")
	}
	ob2.Checkpoint()
	if p := ob2.Pending(); len(p) != 0 {
		t.Errorf("pending after checkpoint: %v", p)
	}
	if strings.Contains(logbuf.String(), token) {
		t.Errorf("the token reached the log:\n%s", logbuf.String())
	}
}

// One worker per sink: a sink that hangs delays nobody else.
func TestOutboxHangingSinkNextToWorkingOne(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	var mu sync.Mutex
	var got []string
	var at []time.Duration
	start := time.Now()
	hang := notify.Sink{Name: "hangs", Notifier: notifierFunc(func(ctx context.Context, _ ...notify.Message) (bool, error) {
		select {
		case <-release:
		case <-ctx.Done():
		}
		return true, ctx.Err()
	})}
	works := notify.Sink{Name: "works", Notifier: notifierFunc(func(_ context.Context, ms ...notify.Message) (bool, error) {
		mu.Lock()
		defer mu.Unlock()
		for _, m := range ms {
			got = append(got, m.ID)
			at = append(at, time.Since(start))
		}
		return false, nil
	})}
	ob, _ := notify.OpenOutbox(t.TempDir(), zerolog.Nop(), nil)
	ob.Timeout = time.Minute
	ob.SetSinks([]notify.Sink{hang, works}, nil)
	var ms []notify.Message
	for i := 0; i < 7; i++ {
		m := msg(lifecycle.Firing)
		m.ID += string(rune('a' + i))
		m.Time = m.Time.Add(time.Duration(i) * time.Second)
		ms = append(ms, m)
	}
	ob.Enqueue(ms)
	waitFor(t, "the working sink's deliveries", 2*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == 7 })
	mu.Lock()
	t.Logf("working sink got 7 messages, the last after %s, while the other hangs", at[6].Round(time.Millisecond))
	mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if left := ob.Close(ctx); left != 7 {
		t.Errorf("%d left queued for the hanging sink, want 7", left)
	}
}

// A 4xx answer is permanent: dropped, not retried.
func TestOutboxPermanentFailureDropped(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", 400) }))
	defer srv.Close()
	var logbuf syncBuf
	ob, _ := notify.OpenOutbox(t.TempDir(), zerolog.New(&logbuf), nil)
	ob.SetSinks([]notify.Sink{{Name: "hook", Notifier: &webhook.Sink{URL: srv.URL}}}, nil)
	ob.Enqueue([]notify.Message{msg(lifecycle.Firing)})
	waitFor(t, "the drop", 5*time.Second, func() bool { return strings.Contains(logbuf.String(), "rejected permanently") })
	if n := ob.Close(context.Background()); n != 0 {
		t.Errorf("%d still queued", n)
	}
}

// A corrupt queue entry is moved aside; the others are delivered.
func TestOutboxCorruptEntry(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "x"), 0o700)
	os.WriteFile(filepath.Join(dir, "x", "00000000000000000001-bad.json"), []byte("{"), 0o600)
	var n sync.WaitGroup
	n.Add(1)
	ob, _ := notify.OpenOutbox(dir, zerolog.Nop(), nil)
	ob.SetSinks([]notify.Sink{{Name: "x", Notifier: notifierFunc(func(context.Context, ...notify.Message) (bool, error) { n.Done(); return false, nil })}}, nil)
	ob.Enqueue([]notify.Message{msg(lifecycle.Firing)})
	n.Wait()
	ob.Close(context.Background())
	if _, err := os.Stat(filepath.Join(dir, "x", "00000000000000000001-bad.json.bad")); err != nil {
		t.Errorf("corrupt entry not moved aside: %v", err)
	}
}

// Entries an older version queued under list-position names move to the
// sink now at that position.
func TestOutboxMigratesLegacyQueue(t *testing.T) {
	dir := t.TempDir()
	m := msg(lifecycle.Firing)
	e := notify.Entry{Sink: "webhook[0]", Message: m}
	b, _ := jsonMarshal(e)
	os.WriteFile(filepath.Join(dir, "00000000000000000001-abc.json"), b, 0o600)
	got := make(chan string, 1)
	ob, _ := notify.OpenOutbox(dir, zerolog.Nop(), nil)
	ob.SetSinks([]notify.Sink{{Name: "webhook-1234abcd", Notifier: notifierFunc(func(_ context.Context, ms ...notify.Message) (bool, error) {
		got <- ms[0].ID
		return false, nil
	})}}, map[string]string{"webhook[0]": "webhook-1234abcd"})
	select {
	case id := <-got:
		if id != m.ID {
			t.Errorf("delivered %q", id)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the legacy entry was not delivered")
	}
	ob.Close(context.Background())
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }
