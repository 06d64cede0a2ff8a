// Package history is diskwatch's history store: every reading of every
// subject (disk, array, UPS) over time, and the baselines an operator
// acknowledged. Trend rules read it; `check` and the daemon append to it.
//
// It is one bbolt file (go.etcd.io/bbolt), chosen over SQLite because the
// access pattern is a key-value one (append a point, scan one series by
// time), because bbolt is small pure Go that builds in seconds, and because
// its copy-on-write B+tree with two checksummed meta pages makes a commit
// atomic: a process killed in the middle of a write leaves the previous
// commit intact, and fsync-on-commit makes a returned Append durable.
//
// Layout: bucket "raw" / subject / (metric NUL time) -> value; bucket
// "daily" / subject / (metric NUL day) -> (time, value) of the day's last
// reading; bucket "acks" / subject / metric -> (time, value). One bucket
// per subject keeps its pages full (a bucket per series would cost a page
// each). Raw points older than
// RawRetention are folded into one daily point per day; daily points older
// than DailyRetention are dropped; each series keeps at most MaxRawPoints
// raw points. Subjects are model.Sample subjects (DeviceInfo.ID(): WWN or
// model+serial, array names, UPS names), so history survives sdX renames.
package history

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/diskwatch/diskwatch/alerts/rules"
	"github.com/diskwatch/diskwatch/collectors/model"
)

// DefaultDir is where the store lives unless --state says otherwise.
const DefaultDir = "/var/lib/diskwatch"

// FileName is the store's file inside its directory.
const FileName = "history.db"

// formatVersion is stored in the meta bucket; another value is treated as
// a store this version cannot read (moved aside like a corrupt one).
const formatVersion = "2"

var (
	bktMeta  = []byte("meta")
	bktRaw   = []byte("raw")
	bktDaily = []byte("daily")
	bktAcks  = []byte("acks")
	keyVer   = []byte("version")
	keyComp  = []byte("compacted")
)

// ErrReadOnly is returned by writes to a store opened read-only (its file
// system is read-only): readings are skipped, rules still read history.
var ErrReadOnly = errors.New("history store is read-only")

// Options tune a store. Zero values take the defaults.
type Options struct {
	// RawRetention keeps every raw reading this long (default 7 days).
	RawRetention time.Duration
	// DailyRetention keeps one point per day this long (default 400 days).
	DailyRetention time.Duration
	// MaxRawPoints bounds one series' raw points (default 4032: 7 days
	// at one reading every 2.5 minutes).
	MaxRawPoints int
	// LockTimeout is how long Open waits for another diskwatch holding
	// the store (default 5 s).
	LockTimeout time.Duration
	// CompactEvery is how often (in the readings' own time) Append folds
	// and drops old points (default 1 hour).
	CompactEvery time.Duration
	// Heartbeat is the longest a series goes without a stored point
	// while its value does not change (default 1 hour): a reading equal
	// to the series' newest stored point, less than Heartbeat after it,
	// is not stored again (Zabbix's "discard unchanged with heartbeat").
	// Readers see the value as holding until the next point, so trend
	// rules are unchanged while a week of mostly constant counters takes
	// a fraction of the space (and of the daemon's memory, as the store is
	// memory-mapped). Negative stores every reading.
	Heartbeat time.Duration
	// Bulk is for imports (replay --state): no fsync per commit, one at
	// Close. A crash during an import can lose the imported readings (the
	// store stays consistent); never set it for live readings.
	Bulk bool
	// Log receives the line saying a corrupt store was moved aside.
	Log zerolog.Logger
	// Now names the moved-aside file; defaults to time.Now.
	Now func() time.Time
}

func (o *Options) defaults() {
	if o.RawRetention <= 0 {
		o.RawRetention = 7 * rules.Day
	}
	if o.DailyRetention <= 0 {
		o.DailyRetention = 400 * rules.Day
	}
	if o.MaxRawPoints <= 0 {
		o.MaxRawPoints = 4032
	}
	if o.CompactEvery <= 0 {
		o.CompactEvery = time.Hour
	}
	if o.Heartbeat == 0 {
		o.Heartbeat = time.Hour
	}
	if o.LockTimeout <= 0 {
		o.LockTimeout = 5 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Store is the on-disk history store. Safe for concurrent use within one
// process; one process at a time holds the file (a file lock).
type Store struct {
	dbp      atomic.Pointer[bolt.DB]
	path     string
	opt      Options
	readOnly bool
	// MovedAside is the path a corrupt store was moved to by Open, if any.
	MovedAside  string
	movedReason string
	opened      time.Time

	// damaged is why a read or write of the open store faulted (nil
	// while it works): calls then fail at once, and the next Append moves
	// the store aside and starts a fresh one (resetMu).
	damaged atomic.Pointer[string]
	resetMu sync.Mutex
	// moves records the stores moved aside while open (Findings).
	moves []move

	// mu guards newest: each raw series' newest point, kept in memory so
	// that skipping an unchanged reading and listing the subjects with a
	// recent reading touch no page of the file (the pages a round
	// touches are what the daemon keeps resident). Built on first use,
	// dropped by compaction.
	mu     sync.Mutex
	newest map[string]map[string]rules.Point
}

// Open opens (or creates) the store in dir. The store is first read to
// the end by a child process (see verify.go): a store that is corrupt, of
// an unknown format, crashes or hangs the reader, or whose last opening
// did not finish (the process died in it), is renamed to
// history.db.corrupt-TIMESTAMP with an error log line saying so, and a
// fresh one is started (MovedAside and Findings say so). On a read-only
// file system an existing store is opened read-only (history still feeds
// the rules; Append returns ErrReadOnly).
func Open(ctx context.Context, dir string, o Options) (*Store, error) {
	o.defaults()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if dir == "" {
		dir = DefaultDir
	}
	path := filepath.Join(dir, FileName)
	// The state directory is 0755, as the daemon makes it: it publishes
	// snapshot.json (0644) there for the Zabbix agent's user. The store
	// itself is 0600.
	if err := os.MkdirAll(dir, 0o755); err != nil {
		if isReadOnly(err) && exists(path) {
			return openReadOnly(ctx, path, o)
		}
		return nil, fmt.Errorf("history store %s: create directory: %w", dir, err)
	}
	reason := ""
	if b, err := os.ReadFile(filepath.Join(dir, damagedName)); err == nil {
		reason = "a read failed on it in the last run: " + model.Clean(strings.TrimSpace(string(b)))
	} else if exists(filepath.Join(dir, markerName)) {
		reason = "the last start did not finish opening it (the process crashed or was killed while opening it)"
	}
	if reason == "" && nonEmpty(path) {
		v, err := verify(ctx, path, o)
		if err != nil {
			return nil, err
		}
		switch {
		case v.Locked:
			return nil, fmt.Errorf("history store %s: held by another process (waited %s): %s", path, o.LockTimeout, v.Error)
		case v.Corrupt != "":
			reason = v.Corrupt
		case v.Error != "":
			return nil, fmt.Errorf("history store %s: %s", path, v.Error)
		}
	}
	var aside string
	if reason != "" {
		var err error
		if aside, err = moveAside(path, reason, o); err != nil {
			return nil, err
		}
	}
	s, err := open(path, o)
	var ce *corruptError
	switch {
	case err == nil:
	case errors.As(err, &ce) && aside == "":
		// What bbolt itself refuses at open (a bad meta page).
		if aside, err = moveAside(path, ce.err.Error(), o); err != nil {
			return nil, err
		}
		if s, err = open(path, o); err != nil {
			return nil, err
		}
		reason = ce.err.Error()
	case isReadOnly(err) && exists(path):
		return openReadOnly(ctx, path, o)
	default:
		return nil, err
	}
	s.MovedAside, s.movedReason, s.opened = aside, reason, o.Now()
	return s, nil
}

// verify reads the whole store in a child process, or in this one (under
// the opening marker) when no child can be started.
func verify(ctx context.Context, path string, o Options) (verdict, error) {
	v, err := verifyInChild(ctx, path, o)
	if !errors.Is(err, errNoChild) {
		return v, err
	}
	o.Log.Warn().Err(err).Str("store", path).Msg("history store: verifying it in this process (a damaged store may crash it; the next start then moves it aside)")
	dir := filepath.Dir(path)
	merr := writeMarker(dir)
	v = verifyInProcess(path, o)
	if merr == nil && (v.OK || v.Locked || v.Error != "") {
		os.Remove(filepath.Join(dir, markerName))
	}
	return v, nil
}

// moveAside renames a store that cannot be used and logs why; the
// markers that condemned it go with it.
func moveAside(path, reason string, o Options) (string, error) {
	dir := filepath.Dir(path)
	aside := fmt.Sprintf("%s.corrupt-%s", path, o.Now().UTC().Format("20060102T150405Z"))
	if exists(path) {
		if err := os.Rename(path, aside); err != nil {
			return "", fmt.Errorf("history store %s is corrupt (%s) and could not be moved aside: %w", path, reason, err)
		}
	} else {
		aside = ""
	}
	os.Remove(filepath.Join(dir, markerName))
	os.Remove(filepath.Join(dir, damagedName))
	syncDir(dir)
	o.Log.Error().Str("store", path).Str("moved_to", aside).Str("error", reason).
		Msg("history store is corrupt: moved aside, starting a fresh one (trend rules restart from no history)")
	return aside, nil
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// corruptError marks a store that cannot be used as it is.
type corruptError struct{ err error }

func (e *corruptError) Error() string { return "corrupt: " + e.err.Error() }

func exists(p string) bool { _, err := os.Lstat(p); return err == nil }

func nonEmpty(p string) bool { st, err := os.Stat(p); return err == nil && st.Size() > 0 }

func isReadOnly(err error) bool {
	return errors.Is(err, syscall.EROFS) || errors.Is(err, os.ErrPermission) || errors.Is(err, syscall.EACCES)
}

// open opens a store the verifier read to the end (or a new one), under
// the opening marker: if this process dies before the store is open and
// its index read, the next start moves the store aside rather than die
// the same way again.
func open(path string, o Options) (s *Store, err error) {
	dir := filepath.Dir(path)
	marked := writeMarker(dir) == nil
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = &corruptError{fmt.Errorf("%v", r)}
		}
		if err != nil {
			if s != nil {
				s.db().Close()
				s = nil
			}
		}
		var ce *corruptError
		if marked && !errors.As(err, &ce) {
			// Done, or failed for a reason that is not the store's
			// content: the next start need not suspect it.
			os.Remove(filepath.Join(dir, markerName))
		}
	}()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: o.LockTimeout})
	if err != nil {
		switch {
		case errors.Is(err, berrors.ErrTimeout):
			return nil, fmt.Errorf("history store %s: held by another process (waited %s): %w", path, o.LockTimeout, err)
		case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrChecksum), errors.Is(err, berrors.ErrVersionMismatch),
			errors.Is(err, berrors.ErrInvalidMapping):
			return nil, &corruptError{err}
		}
		if isReadOnly(err) || errors.Is(err, syscall.ENOSPC) {
			return nil, fmt.Errorf("history store %s: %w", path, err)
		}
		// Anything else bbolt says about the file's content.
		if st, serr := os.Stat(path); serr == nil && st.Mode().IsRegular() {
			return nil, &corruptError{err}
		}
		return nil, fmt.Errorf("history store %s: %w", path, err)
	}
	os.Chmod(path, 0o600)
	db.NoSync = o.Bulk
	s = &Store{path: path, opt: o}
	s.dbp.Store(db)
	if err := s.init(); err != nil {
		return s, err
	}
	// The index every Append reads: built now, under the marker.
	s.warmIndex()
	return s, nil
}

func openReadOnly(ctx context.Context, path string, o Options) (s *Store, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("history store %s (read-only): corrupt: %v", path, r)
		}
	}()
	v, err := verify(ctx, path, o)
	if err != nil {
		return nil, err
	}
	switch {
	case v.Locked:
		return nil, fmt.Errorf("history store %s (read-only): held by another process (waited %s)", path, o.LockTimeout)
	case v.Corrupt != "":
		return nil, fmt.Errorf("history store %s (read-only, so it cannot be moved aside): corrupt: %s", path, v.Corrupt)
	case v.Error != "":
		return nil, fmt.Errorf("history store %s: cannot open for writing, nor read-only: %s", path, v.Error)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: o.LockTimeout, ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("history store %s: cannot open for writing, nor read-only: %w", path, err)
	}
	s = &Store{path: path, opt: o, readOnly: true}
	s.dbp.Store(db)
	if err := s.checkPages(); err != nil {
		db.Close()
		return nil, fmt.Errorf("history store %s (read-only): corrupt: %w", path, err)
	}
	return s, nil
}

// init checks the format version and creates the top-level buckets of a
// new store (a store that has them is not written to).
func (s *Store) init() error {
	defer s.dropResident()
	complete := false
	err := s.db().View(func(tx *bolt.Tx) error {
		m := tx.Bucket(bktMeta)
		if m == nil {
			return nil
		}
		if v := m.Get(keyVer); v != nil && string(v) != formatVersion {
			return &corruptError{fmt.Errorf("format version %q, this diskwatch reads %q", model.Clean(string(v)), formatVersion)}
		}
		complete = m.Get(keyVer) != nil && tx.Bucket(bktRaw) != nil && tx.Bucket(bktDaily) != nil && tx.Bucket(bktAcks) != nil
		return nil
	})
	if err != nil || complete {
		return err
	}
	return s.db().Update(func(tx *bolt.Tx) error {
		m, err := tx.CreateBucketIfNotExists(bktMeta)
		if err != nil {
			return err
		}
		if m.Get(keyVer) == nil {
			if err := m.Put(keyVer, []byte(formatVersion)); err != nil {
				return err
			}
		}
		for _, b := range [][]byte{bktRaw, bktDaily, bktAcks} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
}

// Path is the store's file.
func (s *Store) Path() string { return s.path }

// ReadOnly reports whether the store was opened read-only.
func (s *Store) ReadOnly() bool { return s.readOnly }

// Close closes the store (after an fsync, for a Bulk store).
func (s *Store) Close() error {
	if s.opt.Bulk && !s.readOnly {
		if err := s.db().Sync(); err != nil {
			s.db().Close()
			return fmt.Errorf("history store %s: sync: %w", s.path, err)
		}
	}
	return s.db().Close()
}

func timeKey(t time.Time) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(t.UnixNano())^(1<<63))
	return b[:]
}

func keyTime(k []byte) time.Time {
	return time.Unix(0, int64(binary.BigEndian.Uint64(k)^(1<<63))).UTC()
}

func f64(v float64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], math.Float64bits(v))
	return b[:]
}

func point(v []byte) (rules.Point, bool) {
	if len(v) != 16 {
		return rules.Point{}, false
	}
	return rules.Point{Time: keyTime(v[:8]), Value: math.Float64frombits(binary.BigEndian.Uint64(v[8:]))}, true
}

func pointBytes(p rules.Point) []byte { return append(timeKey(p.Time), f64(p.Value)...) }

// db is the open bbolt file (replaced when a damaged store is reset).
func (s *Store) db() *bolt.DB { return s.dbp.Load() }

// enter starts a public call: it fails at once on a store found damaged,
// and turns memory faults inside bbolt's mapping into panics that guard
// recovers (runtime/debug.SetPanicOnFault; per goroutine, restored by
// guard). Use as: defer s.guard(&err, s.enter(&err)) — then check err.
func (s *Store) enter() (old bool, err error) {
	if r := s.damaged.Load(); r != nil {
		return false, fmt.Errorf("history store %s: damaged (%s); it is moved aside at the next append or start", s.path, *r)
	}
	return debug.SetPanicOnFault(true), nil
}

// guard turns a bbolt panic (a page it cannot make sense of, a fault in
// its mapping) into an error, marks the store damaged, and leaves a note
// in the state directory so that the next start moves it aside even if
// this process does not get to.
func (s *Store) guard(err *error, old bool) {
	debug.SetPanicOnFault(old)
	if r := recover(); r != nil {
		why := model.Clean(fmt.Sprint(r))
		s.damaged.CompareAndSwap(nil, &why)
		if !s.readOnly {
			os.WriteFile(filepath.Join(filepath.Dir(s.path), damagedName), []byte(why+"\n"), 0o600)
		}
		*err = fmt.Errorf("history store %s: corrupt page (%s); it is moved aside at the next append or start", s.path, why)
	}
}

// noteDamage marks the store damaged when bbolt refuses what the store
// itself read back (a key or value beyond its limits: a damaged length
// field), as guard does for a fault.
func (s *Store) noteDamage(err error) {
	if !errors.Is(err, berrors.ErrKeyTooLarge) && !errors.Is(err, berrors.ErrValueTooLarge) && !errors.Is(err, berrors.ErrIncompatibleValue) {
		return
	}
	why := model.Clean(err.Error())
	if s.damaged.CompareAndSwap(nil, &why) && !s.readOnly {
		os.WriteFile(filepath.Join(filepath.Dir(s.path), damagedName), []byte(why+"\n"), 0o600)
	}
}

// damagedName is the note a fault at run time leaves (see guard).
const damagedName = FileName + ".damaged"

// move is one store moved aside while the process ran.
type move struct {
	at         time.Time
	to, reason string
}

// Damaged says why the open store was found damaged ("" if it was not).
func (s *Store) Damaged() string {
	if r := s.damaged.Load(); r != nil {
		return *r
	}
	return ""
}

// reset moves a store found damaged aside and starts a fresh one in its
// place: the bbolt file is closed (after the transactions in flight end),
// renamed, and a new one opened. Calls racing with it get an error.
func (s *Store) reset() error {
	s.resetMu.Lock()
	defer s.resetMu.Unlock()
	r := s.damaged.Load()
	if r == nil {
		return nil // another call did it
	}
	s.db().Close()
	aside, err := moveAside(s.path, *r, s.opt)
	if err != nil {
		return err
	}
	fresh, err := open(s.path, s.opt)
	if err != nil {
		return fmt.Errorf("history store %s: starting a fresh one: %w", s.path, err)
	}
	s.dbp.Store(fresh.db())
	s.mu.Lock()
	s.newest = nil
	s.moves = append(s.moves, move{at: s.opt.Now(), to: aside, reason: *r})
	s.mu.Unlock()
	s.damaged.Store(nil)
	return nil
}

// seriesKey is metric NUL time.
func seriesKey(metric string, t time.Time) []byte {
	k := make([]byte, 0, len(metric)+9)
	k = append(k, metric...)
	k = append(k, 0)
	return append(k, timeKey(t)...)
}

// splitKey returns the metric and time parts of a series key.
func splitKey(k []byte) (metric []byte, tk []byte, ok bool) {
	if len(k) < 9 || k[len(k)-9] != 0 {
		return nil, nil, false
	}
	return k[:len(k)-9], k[len(k)-8:], true
}

// Append stores samples taken at t in one atomic, durable commit. It also
// folds and drops old points (at most once per CompactEvery of t). A full
// disk or a read-only store returns an error: the readings of this cycle
// are lost, nothing else.
func (s *Store) Append(ctx context.Context, t time.Time, samples []model.Sample) (err error) {
	if s.readOnly {
		return fmt.Errorf("%w (%s): %d readings not saved", ErrReadOnly, s.path, len(samples))
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.damaged.Load() != nil {
		if err := s.reset(); err != nil {
			return fmt.Errorf("%w: %d readings not saved", err, len(samples))
		}
	}
	old, err := s.enter()
	if err != nil {
		return err
	}
	defer s.guard(&err, old)
	if s.opt.Heartbeat > 0 {
		s.warmIndex() // read before the write transaction, not inside it
	}
	skipped, due := 0, false
	var stored []model.Sample // what the commit holds, for the newest-point index
	err = s.db().Update(func(tx *bolt.Tx) error {
		skipped, stored = 0, stored[:0]
		raw := tx.Bucket(bktRaw)
		var sb *bolt.Bucket
		var sname string
		for _, smp := range samples {
			if smp.Subject == "" || smp.Metric == "" || bytes.IndexByte([]byte(smp.Metric), 0) >= 0 {
				skipped++ // cannot be keyed; the rest is kept
				continue
			}
			if sb == nil || smp.Subject != sname {
				b, err := raw.CreateBucketIfNotExists([]byte(smp.Subject))
				if err != nil {
					return fmt.Errorf("subject %q: %w", model.Clean(smp.Subject), err)
				}
				// Keys grow in time within each metric: keep pages full.
				b.FillPercent = 0.9
				sb, sname = b, smp.Subject
			}
			if s.unchanged(smp.Subject, smp.Metric, smp.Value, t) {
				continue
			}
			if err := sb.Put(seriesKey(smp.Metric, t), f64(smp.Value)); err != nil {
				return fmt.Errorf("%s %s: %w", model.Clean(smp.Subject), model.Clean(smp.Metric), err)
			}
			stored = append(stored, smp)
		}
		last := tx.Bucket(bktMeta).Get(keyComp)
		due = last == nil || t.Sub(keyTime(last)) >= s.opt.CompactEvery || t.Before(keyTime(last))
		return nil
	})
	if err != nil {
		s.noteDamage(err)
		return fmt.Errorf("history store %s: append %d readings: %w", s.path, len(samples), err)
	}
	s.noteStored(t, stored)
	if !s.opt.Bulk {
		// Copy-on-write puts each commit's pages somewhere new in the
		// file; without this, reading them round after round would
		// bring the whole file into the resident set.
		defer s.dropResident()
	}
	if due {
		if err := s.Compact(ctx, t); err != nil {
			return fmt.Errorf("readings saved, but: %w", err)
		}
	}
	if skipped > 0 {
		return fmt.Errorf("history store %s: %d of %d readings had no subject or metric and were not saved (the others were)", s.path, skipped, len(samples))
	}
	return nil
}

// unchanged reports whether the series' newest point holds the same
// value and is less than Heartbeat older than t: the reading adds nothing
// a reader would not assume.
func (s *Store) unchanged(subject, metric string, v float64, t time.Time) bool {
	if s.opt.Heartbeat <= 0 {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.newestLocked()[subject][metric]
	age := t.Sub(p.Time)
	return ok && p.Value == v && age > 0 && age < s.opt.Heartbeat
}

// noteStored records the points a committed Append stored as their
// series' newest (unless the series has a newer one: the clock went back).
func (s *Store) noteStored(t time.Time, stored []model.Sample) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.newest == nil {
		return // built from the file on first use
	}
	for _, smp := range stored {
		m := s.newest[smp.Subject]
		if m == nil {
			m = map[string]rules.Point{}
			s.newest[smp.Subject] = m
		}
		if p, ok := m[smp.Metric]; !ok || !t.Before(p.Time) {
			m[smp.Metric] = rules.Point{Time: t, Value: smp.Value}
		}
	}
}

// warmIndex builds the newest-point index if it is not built. s.mu is
// released on every path, a panic inside bbolt included.
func (s *Store) warmIndex() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.newestLocked()
}

// withIndex calls f with the newest-point index (built if needed) under
// s.mu, released on every path.
func (s *Store) withIndex(f func(map[string]map[string]rules.Point)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s.newestLocked())
}

// newestLocked returns the newest-point index, reading it from the file
// (one cursor jump per series) when it is not built. s.mu is held.
func (s *Store) newestLocked() map[string]map[string]rules.Point {
	if s.newest != nil {
		return s.newest
	}
	idx := map[string]map[string]rules.Point{}
	s.db().View(func(tx *bolt.Tx) error {
		return tx.Bucket(bktRaw).ForEachBucket(func(subj []byte) error {
			m := map[string]rules.Point{}
			c := tx.Bucket(bktRaw).Bucket(subj).Cursor()
			for k, _ := c.First(); k != nil; {
				metric, _, ok := splitKey(k)
				if !ok {
					k, _ = c.Next()
					continue
				}
				// The first key after this metric's keys, then back one.
				next := append(append([]byte(nil), metric...), 1)
				nk, _ := c.Seek(next)
				var lk, lv []byte
				if nk == nil {
					lk, lv = c.Last()
				} else {
					lk, lv = c.Prev()
				}
				if _, tk, ok := splitKey(lk); ok && len(lv) == 8 {
					m[string(metric)] = rules.Point{Time: keyTime(tk), Value: math.Float64frombits(binary.BigEndian.Uint64(lv))}
				}
				k, _ = c.Seek(next)
			}
			idx[string(subj)] = m
			return nil
		})
	})
	s.newest = idx
	s.dropResident()
	return idx
}

// latestTime is the newest point's time in the whole raw index (zero when
// empty): raw points at or after latestTime - RawRetention have not been
// folded away by a compaction at or before it.
func (s *Store) latestTime() time.Time {
	var t time.Time
	s.withIndex(func(idx map[string]map[string]rules.Point) {
		for _, m := range idx {
			for _, p := range m {
				if p.Time.After(t) {
					t = p.Time
				}
			}
		}
	})
	return t
}

// compactChunk is how many subjects one compaction transaction handles:
// a transaction keeps every page it changes in memory until it commits.
const compactChunk = 256

// Compact folds and drops old points now (Append does it once per
// CompactEvery), a chunk of subjects per transaction.
func (s *Store) Compact(ctx context.Context, now time.Time) (err error) {
	if s.readOnly {
		return ErrReadOnly
	}
	old, err := s.enter()
	if err != nil {
		return err
	}
	defer s.guard(&err, old)
	var rawS, dailyS [][]byte
	s.db().View(func(tx *bolt.Tx) error {
		tx.Bucket(bktRaw).ForEachBucket(func(k []byte) error { rawS = append(rawS, append([]byte(nil), k...)); return nil })
		tx.Bucket(bktDaily).ForEachBucket(func(k []byte) error { dailyS = append(dailyS, append([]byte(nil), k...)); return nil })
		return nil
	})
	chunk := func(l [][]byte, i int) [][]byte {
		if i >= len(l) {
			return nil
		}
		return l[i:min(i+compactChunk, len(l))]
	}
	for i := 0; i < len(rawS) || i < len(dailyS); i += compactChunk {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := s.db().Update(func(tx *bolt.Tx) error { return s.compact(tx, now, chunk(rawS, i), chunk(dailyS, i)) }); err != nil {
			s.noteDamage(err)
			return fmt.Errorf("history store %s: compaction: %w", s.path, err)
		}
	}
	if err := s.db().Update(func(tx *bolt.Tx) error { return tx.Bucket(bktMeta).Put(keyComp, timeKey(now)) }); err != nil {
		return err
	}
	s.mu.Lock()
	s.newest = nil // compaction moved and dropped points
	s.mu.Unlock()
	s.dropResident()
	return nil
}

// dropResident takes the store's memory-mapped pages out of the process's
// resident set (madvise MADV_DONTNEED on the read-only shared mapping):
// the check at open and compaction walk every page, and without this the
// whole file would stay counted in the daemon's RSS although only the
// newest pages are read each round. The pages stay in the kernel's page cache, so the next read
// is a minor fault, not disk I/O. It runs inside a read transaction, which
// holds bbolt's mmap lock: the mapping cannot move or go away meanwhile.
// Best effort: an error changes nothing but the figure.
func (s *Store) dropResident() {
	s.db().View(func(tx *bolt.Tx) error {
		addr, size := tx.DB().Info().Data, uintptr(tx.Size())
		if addr == 0 || size == 0 {
			return nil
		}
		syscall.Syscall(syscall.SYS_MADVISE, addr, size, syscall.MADV_DONTNEED)
		return nil
	})
}

// compact moves the given subjects' raw points older than RawRetention (or
// beyond MaxRawPoints) into daily points, drops the given subjects' daily
// points older than DailyRetention, and removes emptied subjects.
func (s *Store) compact(tx *bolt.Tx, now time.Time, subjects, dailySubjects [][]byte) error {
	rawCut := string(timeKey(now.Add(-s.opt.RawRetention)))
	dailyCut := string(timeKey(now.Add(-s.opt.DailyRetention)))
	raw, daily := tx.Bucket(bktRaw), tx.Bucket(bktDaily)
	for _, subj := range subjects {
		sb := raw.Bucket(subj)
		if sb == nil {
			continue
		}
		counts := map[string]int{}
		sb.ForEach(func(k, _ []byte) error {
			if m, _, ok := splitKey(k); ok {
				counts[string(m)]++
			}
			return nil
		})
		type fold struct {
			key []byte
			m   string
			p   rules.Point
		}
		var folds []fold
		seen := map[string]int{}
		c := sb.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			m, tk, ok := splitKey(k)
			if !ok || len(v) != 8 {
				folds = append(folds, fold{key: append([]byte(nil), k...)}) // not ours: drop
				continue
			}
			seen[string(m)]++
			if seen[string(m)] <= counts[string(m)]-s.opt.MaxRawPoints || string(tk) < rawCut {
				folds = append(folds, fold{append([]byte(nil), k...), string(m),
					rules.Point{Time: keyTime(tk), Value: math.Float64frombits(binary.BigEndian.Uint64(v))}})
			}
		}
		if len(folds) > 0 {
			db, err := daily.CreateBucketIfNotExists(subj)
			if err != nil {
				return err
			}
			for _, f := range folds {
				if f.m != "" {
					dk := seriesKey(f.m, f.p.Time.UTC().Truncate(rules.Day))
					if old, ok := point(db.Get(dk)); !ok || !old.Time.After(f.p.Time) {
						if err := db.Put(dk, pointBytes(f.p)); err != nil {
							return err
						}
					}
				}
				if err := sb.Delete(f.key); err != nil {
					return err
				}
			}
		}
		if k, _ := sb.Cursor().First(); k == nil {
			if err := raw.DeleteBucket(subj); err != nil {
				return err
			}
		}
	}
	for _, subj := range dailySubjects {
		sb := daily.Bucket(subj)
		if sb == nil {
			continue
		}
		var drop [][]byte
		sb.ForEach(func(k, _ []byte) error {
			if _, tk, ok := splitKey(k); !ok || string(tk) < dailyCut {
				drop = append(drop, append([]byte(nil), k...))
			}
			return nil
		})
		for _, k := range drop {
			if err := sb.Delete(k); err != nil {
				return err
			}
		}
		if k, _ := sb.Cursor().First(); k == nil {
			if err := daily.DeleteBucket(subj); err != nil {
				return err
			}
		}
	}
	return nil
}

// Series returns the points of (subject, metric) at or after since, oldest
// first: daily points for the past beyond the raw retention, then raw ones.
func (s *Store) Series(subject, metric string, since time.Time) (ps []rules.Point, err error) {
	old, err := s.enter()
	if err != nil {
		return nil, err
	}
	defer s.guard(&err, old)
	prefix := append([]byte(metric), 0)
	err = s.db().View(func(tx *bolt.Tx) error {
		if sb := nested(tx.Bucket(bktDaily), subject); sb != nil {
			c := sb.Cursor()
			// The daily key is the day start; the day's point may be later
			// than since even when the day starts before it.
			for k, v := c.Seek(seriesKey(metric, since.UTC().Truncate(rules.Day))); k != nil && bytes.HasPrefix(k, prefix) && len(k) == len(prefix)+8; k, v = c.Next() {
				if p, ok := point(v); ok && !p.Time.Before(since) {
					ps = append(ps, p)
				}
			}
		}
		if sb := nested(tx.Bucket(bktRaw), subject); sb != nil {
			c := sb.Cursor()
			for k, v := c.Seek(seriesKey(metric, since)); k != nil && bytes.HasPrefix(k, prefix) && len(k) == len(prefix)+8; k, v = c.Next() {
				if len(v) == 8 {
					ps = append(ps, rules.Point{Time: keyTime(k[len(prefix):]), Value: math.Float64frombits(binary.BigEndian.Uint64(v))})
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("history store %s: read %s %s: %w", s.path, model.Clean(subject), model.Clean(metric), err)
	}
	if !sort.SliceIsSorted(ps, func(i, j int) bool { return ps[i].Time.Before(ps[j].Time) }) {
		sort.SliceStable(ps, func(i, j int) bool { return ps[i].Time.Before(ps[j].Time) })
	}
	return ps, nil
}

func nested(b *bolt.Bucket, names ...string) *bolt.Bucket {
	for _, n := range names {
		if b == nil {
			return nil
		}
		b = b.Bucket([]byte(n))
	}
	return b
}

// Ack stores an acknowledged baseline: from now on only growth beyond v
// alerts.
func (s *Store) Ack(ctx context.Context, subject, metric string, t time.Time, v float64) (err error) {
	if s.readOnly {
		return ErrReadOnly
	}
	old, err := s.enter()
	if err != nil {
		return err
	}
	defer s.guard(&err, old)
	err = s.db().Update(func(tx *bolt.Tx) error {
		sb, err := tx.Bucket(bktAcks).CreateBucketIfNotExists([]byte(subject))
		if err != nil {
			return err
		}
		return sb.Put([]byte(metric), pointBytes(rules.Point{Time: t, Value: v}))
	})
	if err != nil {
		return fmt.Errorf("history store %s: ack %s %s: %w", s.path, model.Clean(subject), model.Clean(metric), err)
	}
	return nil
}

// Baseline returns the acknowledged baseline of (subject, metric).
func (s *Store) Baseline(subject, metric string) (p rules.Point, ok bool) {
	var err error
	old, err := s.enter()
	if err != nil {
		return p, false
	}
	defer func() {
		if err != nil {
			p, ok = rules.Point{}, false
		}
	}()
	defer s.guard(&err, old)
	s.db().View(func(tx *bolt.Tx) error {
		if sb := nested(tx.Bucket(bktAcks), subject); sb != nil {
			p, ok = point(sb.Get([]byte(metric)))
		}
		return nil
	})
	return p, ok
}

// Latest returns the newest stored value of every metric of subject.
func (s *Store) Latest(subject string) (m map[string]rules.Point, err error) {
	old, err := s.enter()
	if err != nil {
		return nil, err
	}
	defer s.guard(&err, old)
	m = map[string]rules.Point{}
	err = s.db().View(func(tx *bolt.Tx) error {
		for _, top := range [][]byte{bktDaily, bktRaw} {
			sb := nested(tx.Bucket(top), subject)
			if sb == nil {
				continue
			}
			sb.ForEach(func(k, v []byte) error {
				mt, tk, ok := splitKey(k)
				if !ok {
					return nil
				}
				var p rules.Point
				switch {
				case len(v) == 8:
					p = rules.Point{Time: keyTime(tk), Value: math.Float64frombits(binary.BigEndian.Uint64(v))}
				case len(v) == 16:
					p, _ = point(v)
				default:
					return nil
				}
				if old, ok := m[string(mt)]; !ok || !p.Time.Before(old.Time) {
					m[string(mt)] = p
				}
				return nil
			})
		}
		return nil
	})
	return m, err
}

// Subjects lists the subjects with stored readings.
func (s *Store) Subjects() (out []string, err error) {
	old, err := s.enter()
	if err != nil {
		return nil, err
	}
	defer s.guard(&err, old)
	seen := map[string]bool{}
	err = s.db().View(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bktRaw, bktDaily} {
			tx.Bucket(b).ForEachBucket(func(k []byte) error {
				if !seen[string(k)] {
					seen[string(k)] = true
					out = append(out, string(k))
				}
				return nil
			})
		}
		return nil
	})
	sort.Strings(out)
	return out, err
}

// SubjectsWithMetric lists the subjects with a reading of metric at or
// after since (rules.SubjectLister: sensor.disappeared uses it).
func (s *Store) SubjectsWithMetric(metric string, since time.Time) (_ []string, err error) {
	old, err := s.enter()
	if err != nil {
		return nil, err
	}
	defer s.guard(&err, old)
	// Within the raw retention the newest-point index answers without
	// reading the file; further back daily points count too.
	if latest := s.latestTime(); !latest.IsZero() && since.After(latest.Add(-s.opt.RawRetention)) {
		var out []string
		s.withIndex(func(idx map[string]map[string]rules.Point) {
			for sub, m := range idx {
				if p, ok := m[metric]; ok && !p.Time.Before(since) {
					out = append(out, sub)
				}
			}
		})
		sort.Strings(out)
		return out, nil
	}
	subs, err := s.Subjects()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, sub := range subs {
		ps, err := s.Series(sub, metric, since)
		if err != nil {
			return out, err
		}
		if len(ps) > 0 {
			out = append(out, sub)
		}
	}
	return out, nil
}
