package notify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/diskwatch/diskwatch/alerts/lifecycle"
	"github.com/diskwatch/diskwatch/collectors/model"
)

// Outbox is the daemon's delivery pipeline, after Alertmanager's: every
// message is first written to each sink's own queue directory (a file per
// message, fsync'd, renamed into place) — before the alert state that says
// it was notified is saved — and then one worker per sink delivers its
// queue in order, so that a slow or dead receiver delays nobody else. A
// delivered entry is kept (renamed *.sent) until the next alert state is
// saved (Checkpoint): after a crash, Pending lists what was queued or sent
// and the lifecycle adopts it (lifecycle.Tracker.Adopt), so nothing is
// announced twice under two different ids, and nothing queued is lost.
// Each message keeps its id across retries and restarts: a receiver that
// deduplicates on it (webhook Idempotency-Key, exec DISKWATCH_ID,
// Alertmanager by labels) sees each event once; others at least once.
//
// When the queue cannot be written (a full or read-only state disk) the
// messages are kept in memory, still delivered, and written when space
// returns; Findings raises daemon.notify_queue_unwritable meanwhile.
type Outbox struct {
	dir string
	log zerolog.Logger
	now func() time.Time
	// Timeout bounds one delivery attempt (default 15 s).
	Timeout time.Duration
	// Backoff gives the wait before retry n (default DefaultBackoff).
	Backoff func(n int) time.Duration
	// Idle is how often a worker looks at its queue when nothing wakes
	// it (default 30 s).
	Idle time.Duration

	mu       sync.Mutex
	workers  map[string]*worker
	unwrit   string    // why the last queue write failed ("" when fine)
	unwritAt time.Time // since when
}

// worker delivers one sink's queue.
type worker struct {
	o      *Outbox
	sink   Sink
	dir    string
	wake   chan struct{}
	drain  chan struct{} // closed: deliver what is due, then end
	cancel context.CancelFunc
	done   chan struct{}

	mu  sync.Mutex
	mem []Entry // messages not yet on disk (the disk refused them)
}

// sinkDirRE is what a sink name may be to name its queue directory.
var sinkDirRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)

// OpenOutbox opens (creating, mode 0700) the queue directory dir. Entries
// an older diskwatch left directly in dir (one queue, sinks named by list
// position) are moved into their sink's directory by SetSinks.
func OpenOutbox(dir string, log zerolog.Logger, now func() time.Time) (*Outbox, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("notification queue %s: %w", dir, err)
	}
	if now == nil {
		now = time.Now
	}
	return &Outbox{dir: dir, log: log, now: now, workers: map[string]*worker{}}, nil
}

// Dir is the queue directory.
func (o *Outbox) Dir() string { return o.dir }

func (o *Outbox) timeout() time.Duration {
	if o.Timeout > 0 {
		return o.Timeout
	}
	return 15 * time.Second
}

func (o *Outbox) backoff(n int) time.Duration {
	if o.Backoff != nil {
		return o.Backoff(n)
	}
	return DefaultBackoff(n)
}

func (o *Outbox) idle() time.Duration {
	if o.Idle > 0 {
		return o.Idle
	}
	return 30 * time.Second
}

// SetSinks starts a worker for each new sink and stops those of sinks no
// longer configured (their queued entries stay on disk, delivered if the
// sink comes back). legacy maps an old list-position name ("webhook[0]")
// to the sink now at that position, for entries an older version queued.
func (o *Outbox) SetSinks(sinks []Sink, legacy map[string]string) error {
	keep := map[string]bool{}
	for _, s := range sinks {
		if !sinkDirRE.MatchString(s.Name) {
			return fmt.Errorf("notification sink name %q cannot name a queue directory", model.Clean(s.Name))
		}
		keep[s.Name] = true
	}
	o.migrate(legacy)
	o.mu.Lock()
	var stopping []*worker
	for name, w := range o.workers {
		if !keep[name] {
			stopping = append(stopping, w)
			delete(o.workers, name)
		}
	}
	for _, s := range sinks {
		if w, ok := o.workers[s.Name]; ok {
			w.mu.Lock()
			w.sink = s // a reload may change its settings, not its identity
			w.mu.Unlock()
			continue
		}
		dir := filepath.Join(o.dir, s.Name)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			o.log.Error().Err(err).Str("sink", s.Name).Msg("notification queue directory not created; this sink's messages are kept in memory")
		}
		ctx, cancel := context.WithCancel(context.Background())
		w := &worker{o: o, sink: s, dir: dir, wake: make(chan struct{}, 1), drain: make(chan struct{}), cancel: cancel, done: make(chan struct{})}
		o.workers[s.Name] = w
		go w.run(ctx)
	}
	o.mu.Unlock()
	for _, w := range stopping {
		w.cancel()
		<-w.done
		if n := w.queued(); n > 0 {
			o.log.Warn().Str("sink", w.sink.Name).Int("queued", n).Msg("sink no longer configured: its queued messages stay on disk, delivered if it is configured again")
		}
	}
	return nil
}

// migrate moves entries queued by an older version (directly in the queue
// directory, sinks named by list position) into the directory of the
// sink now at that position.
func (o *Outbox) migrate(legacy map[string]string) {
	des, err := os.ReadDir(o.dir)
	if err != nil {
		return
	}
	for _, d := range des {
		n := d.Name()
		if d.IsDir() || !strings.HasSuffix(n, ".json") || strings.HasPrefix(n, ".") {
			continue
		}
		p := filepath.Join(o.dir, n)
		b, err := os.ReadFile(p)
		var e Entry
		if err == nil {
			err = json.Unmarshal(b, &e)
		}
		to, ok := legacy[e.Sink]
		if err != nil || !ok {
			os.Rename(p, p+".bad")
			o.log.Warn().Str("entry", n).Msg("queued notification of an older version for no configured sink: moved aside (.bad)")
			continue
		}
		os.MkdirAll(filepath.Join(o.dir, to), 0o700)
		e.Sink = to
		if err := writeEntry(filepath.Join(o.dir, to), e); err == nil {
			os.Remove(p)
		}
	}
}

// Enqueue writes msgs to every sink's queue (durably) and wakes the
// workers. A queue that cannot be written keeps the messages in memory
// (delivered all the same, written later); the error says so.
func (o *Outbox) Enqueue(msgs []Message) error {
	if len(msgs) == 0 {
		return nil
	}
	o.mu.Lock()
	ws := make([]*worker, 0, len(o.workers))
	for _, w := range o.workers {
		ws = append(ws, w)
	}
	o.mu.Unlock()
	sort.Slice(ws, func(i, j int) bool { return ws[i].sink.Name < ws[j].sink.Name })
	now := o.now()
	var errs []error
	for _, w := range ws {
		for _, m := range msgs {
			e := Entry{Sink: w.sink.Name, Next: now, Message: m}
			if err := writeEntry(w.dir, e); err != nil {
				w.mu.Lock()
				w.mem = append(w.mem, e)
				w.mu.Unlock()
				errs = append(errs, err)
			}
		}
		w.poke()
	}
	err := errors.Join(errs...)
	o.noteWrite(err)
	return err
}

// noteWrite records whether the last queue write worked.
func (o *Outbox) noteWrite(err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	switch {
	case err == nil && o.unwrit != "":
		o.log.Info().Msg("notification queue writable again")
		o.unwrit = ""
	case err != nil:
		if o.unwrit == "" {
			o.unwritAt = o.now()
			o.log.Error().Err(err).Msg("notification queue cannot be written: messages kept in memory and still delivered; a restart now could lose them")
		}
		o.unwrit = model.Clean(splitFirst(err))
	}
}

func splitFirst(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

// Findings raises daemon.notify_queue_unwritable while messages are kept
// in memory because the queue cannot be written.
func (o *Outbox) Findings() []model.Finding {
	o.mu.Lock()
	why, since := o.unwrit, o.unwritAt
	o.mu.Unlock()
	n := o.InMemory()
	if why == "" && n == 0 {
		return nil
	}
	if why == "" {
		why = "earlier write failures"
	}
	return []model.Finding{{
		Severity: model.Warning, Rule: "daemon.notify_queue_unwritable", Subject: "notification queue " + model.Clean(o.dir), SubjectID: "notify-queue:" + o.dir,
		Message:  fmt.Sprintf("the notification queue %s cannot be written (%s, since %s): %d message(s) are kept only in memory until it can", model.Clean(o.dir), why, since.UTC().Format(time.RFC3339), n),
		Remedy:   "free space on (or remount read-write) the file system of the state directory; a restart before then loses the messages kept in memory",
		Evidence: []string{why},
	}}
}

// InMemory is how many messages wait in memory for the disk.
func (o *Outbox) InMemory() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, w := range o.workers {
		w.mu.Lock()
		n += len(w.mem)
		w.mu.Unlock()
	}
	return n
}

// Len is the number of messages waiting for delivery (on disk and in
// memory), every sink together.
func (o *Outbox) Len() int {
	o.mu.Lock()
	ws := make([]*worker, 0, len(o.workers))
	for _, w := range o.workers {
		ws = append(ws, w)
	}
	o.mu.Unlock()
	n := 0
	for _, w := range ws {
		n += w.queued()
	}
	return n
}

// Pending returns every message queued or delivered since the last
// Checkpoint, in every sink directory (configured or not), oldest first:
// what the alert state must reflect (lifecycle.Tracker.Adopt).
func (o *Outbox) Pending() []Message {
	seen := map[string]Message{}
	des, _ := os.ReadDir(o.dir)
	for _, d := range des {
		if !d.IsDir() {
			continue
		}
		for _, e := range listDir(filepath.Join(o.dir, d.Name()), true) {
			seen[e.Message.ID] = e.Message
		}
	}
	out := make([]Message, 0, len(seen))
	for _, m := range seen {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Time.Equal(out[j].Time) {
			return out[i].Time.Before(out[j].Time)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// Checkpoint forgets the delivered entries: call it after the alert state
// that reflects them was saved. It also writes to disk what was kept in
// memory, if the disk takes it now.
func (o *Outbox) Checkpoint() {
	o.mu.Lock()
	ws := make([]*worker, 0, len(o.workers))
	for _, w := range o.workers {
		ws = append(ws, w)
	}
	o.mu.Unlock()
	des, _ := os.ReadDir(o.dir)
	for _, d := range des {
		if !d.IsDir() {
			continue
		}
		sd := filepath.Join(o.dir, d.Name())
		fs, _ := os.ReadDir(sd)
		for _, f := range fs {
			if strings.HasSuffix(f.Name(), ".sent") {
				os.Remove(filepath.Join(sd, f.Name()))
			}
		}
	}
	var errs []error
	tried := false
	for _, w := range ws {
		w.mu.Lock()
		mem := w.mem
		w.mem = nil
		w.mu.Unlock()
		for i, e := range mem {
			tried = true
			if err := writeEntry(w.dir, e); err != nil {
				w.mu.Lock()
				w.mem = append(append([]Entry(nil), mem[i:]...), w.mem...)
				w.mu.Unlock()
				errs = append(errs, err)
				break
			}
		}
	}
	o.mu.Lock()
	failing := o.unwrit != ""
	o.mu.Unlock()
	switch {
	case tried:
		o.noteWrite(errors.Join(errs...))
	case failing:
		// Nothing waits in memory (all delivered meanwhile): see
		// whether the disk takes a write again.
		o.noteWrite(o.probe())
	}
}

// probe writes and removes a small file the way entries are written.
func (o *Outbox) probe() error {
	p := filepath.Join(o.dir, ".probe")
	err := lifecycle.WriteFileAtomic(p, make([]byte, 512))
	os.Remove(p)
	return err
}

// Close stops every worker, letting each finish its attempt in progress
// until ctx ends. What is undelivered stays in the queue on disk (or, if
// the disk refused it, is reported lost). It returns how many messages
// remain undelivered.
func (o *Outbox) Close(ctx context.Context) int {
	o.mu.Lock()
	ws := make([]*worker, 0, len(o.workers))
	for n, w := range o.workers {
		ws = append(ws, w)
		delete(o.workers, n)
	}
	o.mu.Unlock()
	for _, w := range ws {
		close(w.drain)
	}
	left := 0
	for _, w := range ws {
		select {
		case <-w.done:
		case <-ctx.Done():
			o.log.Warn().Str("sink", w.sink.Name).Msg("stop: delivery still in progress at the flush timeout is abandoned; its message stays queued")
			w.cancel()
			select {
			case <-w.done:
			case <-time.After(2 * time.Second):
			}
		}
		w.cancel()
		left += w.queued()
		w.mu.Lock()
		if len(w.mem) > 0 {
			o.log.Error().Str("sink", w.sink.Name).Int("messages", len(w.mem)).Msg("stop: messages the queue could not take are lost")
		}
		w.mu.Unlock()
	}
	return left
}

func (w *worker) poke() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// queued counts this sink's undelivered messages.
func (w *worker) queued() int {
	w.mu.Lock()
	n := len(w.mem)
	w.mu.Unlock()
	return n + len(listDir(w.dir, false))
}

// run delivers the sink's queue in order until ctx ends, or, once
// drain is closed, until nothing more is due now: due entries one by one;
// on a temporary failure the rest wait for the backoff (the receiver is
// down; trying every entry would only multiply the timeouts).
func (w *worker) run(ctx context.Context) {
	defer close(w.done)
	draining := false
	for {
		next := w.pass(ctx)
		if ctx.Err() != nil {
			return
		}
		if !draining {
			select {
			case <-w.drain:
				draining = true
			default:
			}
		}
		if draining && (next.IsZero() || next.After(w.o.now())) {
			return
		}
		wait := w.o.idle()
		if !next.IsZero() {
			if d := next.Sub(w.o.now()); d < wait {
				wait = d
			}
		}
		if wait < 10*time.Millisecond {
			wait = 10 * time.Millisecond
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-w.drain:
			draining = true
		case <-w.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// pass delivers what is due and returns when the next entry is due (zero:
// nothing waits).
func (w *worker) pass(ctx context.Context) time.Time {
	w.mu.Lock()
	sink := w.sink
	mem := append([]Entry(nil), w.mem...)
	w.mu.Unlock()
	entries := append(listDir(w.dir, false), mem...)
	sort.SliceStable(entries, func(i, j int) bool { return entries[i].Message.Time.Before(entries[j].Message.Time) })
	var next time.Time
	for _, e := range entries {
		if ctx.Err() != nil {
			return time.Time{}
		}
		now := w.o.now()
		if now.Before(e.Next) {
			if next.IsZero() || e.Next.Before(next) {
				next = e.Next
			}
			continue
		}
		actx, cancel := context.WithTimeout(ctx, w.o.timeout())
		retry, err := sink.Notifier.Notify(actx, e.Message)
		if err != nil && actx.Err() != nil {
			retry = true
		}
		cancel()
		switch {
		case err == nil:
			w.delivered(e)
			if e.Attempts > 0 {
				w.o.log.Info().Str("sink", sink.Name).Str("alert", e.Message.Alert.Key).Int("attempts", e.Attempts+1).Msg("queued notification delivered")
			}
		case !retry:
			w.o.log.Error().Str("sink", sink.Name).Err(err).Str("alert", e.Message.Alert.Key).Msg("notification rejected permanently; dropped")
			w.remove(e)
		default:
			if ctx.Err() != nil {
				return time.Time{} // stopping: the entry stays as it was
			}
			e.Attempts++
			e.Next = w.o.now().Add(w.o.backoff(e.Attempts))
			w.o.log.Warn().Str("sink", sink.Name).Err(err).Str("alert", e.Message.Alert.Key).Int("attempts", e.Attempts).
				Time("next_attempt", e.Next).Msg("notification not delivered; queued for retry")
			w.update(e)
			// The rest of this sink's queue waits as long.
			return e.Next
		}
	}
	return next
}

// delivered marks e sent: its file is kept as *.sent until Checkpoint.
func (w *worker) delivered(e Entry) {
	if e.file == "" {
		w.dropMem(e)
		return
	}
	p := filepath.Join(w.dir, e.file)
	if err := os.Rename(p, p+".sent"); err != nil && !errors.Is(err, fs.ErrNotExist) {
		os.Remove(p)
	}
}

func (w *worker) remove(e Entry) {
	if e.file == "" {
		w.dropMem(e)
		return
	}
	os.Remove(filepath.Join(w.dir, e.file))
}

func (w *worker) update(e Entry) {
	if e.file == "" {
		w.mu.Lock()
		for i := range w.mem {
			if w.mem[i].Message.ID == e.Message.ID {
				w.mem[i] = e
			}
		}
		w.mu.Unlock()
		return
	}
	if err := writeEntry(w.dir, e); err != nil {
		// The old file stays, due now: retried sooner, never lost.
		w.o.log.Warn().Err(err).Str("sink", w.sink.Name).Msg("notification queue: could not record a retry")
	}
}

func (w *worker) dropMem(e Entry) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i := range w.mem {
		if w.mem[i].Message.ID == e.Message.ID {
			w.mem = append(w.mem[:i], w.mem[i+1:]...)
			return
		}
	}
}

// entryName is an entry's file name: time first (the order of delivery),
// then a hash of the message id (the same message is one file).
func entryName(m Message) string {
	h := sha256.Sum256([]byte(m.ID))
	return fmt.Sprintf("%020d-%s.json", m.Time.UnixNano(), hex.EncodeToString(h[:8]))
}

// writeEntry writes e into dir atomically and durably (mode 0600).
func writeEntry(dir string, e Entry) error {
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("notification queue: encode: %w", err)
	}
	return lifecycle.WriteFileAtomic(filepath.Join(dir, entryName(e.Message)), b)
}

// listDir reads a sink directory's entries, oldest first; withSent adds
// the delivered ones kept until Checkpoint. Unreadable entries are moved
// aside (*.bad).
func listDir(dir string, withSent bool) []Entry {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var names []string
	for _, d := range des {
		n := d.Name()
		if strings.HasPrefix(n, ".") {
			continue
		}
		if strings.HasSuffix(n, ".json") || (withSent && strings.HasSuffix(n, ".json.sent")) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	var out []Entry
	for _, n := range names {
		p := filepath.Join(dir, n)
		b, err := os.ReadFile(p)
		var e Entry
		if err == nil {
			err = json.Unmarshal(b, &e)
		}
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				os.Rename(p, p+".bad")
			}
			continue
		}
		e.file = n
		out = append(out, e)
	}
	return out
}
