package history

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/diskwatch/diskwatch/collectors/model"
)

// A damaged bbolt file can make bbolt read outside its mapping (a fatal
// "fault" the Go runtime cannot recover), loop forever, or allocate without
// bound. So the store is checked in a child process — the running binary
// re-executed in verifier mode, whatever binary imports this package (the
// diskwatch command, its tests) — that walks every page and every key
// under a deadline. Only a store the child read to the end is opened by the
// process itself; one the child reported, crashed or hung on is moved aside.

// verifyArg and verifyEnv select the verifier mode: both must be present,
// so neither a stray argument nor a stray environment variable does it.
const (
	verifyArg = "--diskwatch-internal-verify-history"
	verifyEnv = "DISKWATCH_HISTORY_VERIFY"
)

func init() {
	if len(os.Args) == 4 && os.Args[1] == verifyArg && os.Getenv(verifyEnv) == "1" {
		os.Exit(verifyMain(os.Args[2], os.Args[3], os.Stdout))
	}
}

// verdict is what the verifier child prints (one JSON object).
type verdict struct {
	// OK: the whole store was read without a fault.
	OK bool `json:"ok,omitempty"`
	// Corrupt says why the store cannot be used as it is.
	Corrupt string `json:"corrupt,omitempty"`
	// Locked: another process holds the store.
	Locked bool `json:"locked,omitempty"`
	// Error is any other failure to read the file (permissions, I/O).
	Error string `json:"error,omitempty"`
}

// verifyMain is the child: open read-only, check every page, read every
// key, print the verdict. A fault it cannot survive ends the process,
// which the parent reads as a corrupt store.
func verifyMain(path, lockTimeout string, out io.Writer) int {
	lt, _ := time.ParseDuration(lockTimeout)
	if lt <= 0 {
		lt = 5 * time.Second
	}
	v := readWhole(path, lt)
	json.NewEncoder(out).Encode(v)
	return 0
}

// readWhole checks the store at path in this process: bbolt's page check
// (drained to the end), the format version, and a read of every bucket,
// key and value the store's methods would touch.
func readWhole(path string, lockTimeout time.Duration) (v verdict) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			v = verdict{Corrupt: fmt.Sprintf("reading it faulted: %v", r)}
		}
	}()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: lockTimeout, ReadOnly: true})
	if err != nil {
		switch {
		case errors.Is(err, berrors.ErrTimeout):
			return verdict{Locked: true, Error: err.Error()}
		case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrChecksum), errors.Is(err, berrors.ErrVersionMismatch),
			errors.Is(err, berrors.ErrInvalidMapping):
			return verdict{Corrupt: err.Error()}
		case isReadOnly(err), errors.Is(err, syscall.EIO), errors.Is(err, syscall.ENOENT):
			return verdict{Error: err.Error()}
		}
		if st, serr := os.Stat(path); serr == nil && st.Mode().IsRegular() {
			return verdict{Corrupt: err.Error()}
		}
		return verdict{Error: err.Error()}
	}
	defer db.Close()
	s := &Store{path: path, readOnly: true}
	s.dbp.Store(db)
	s.opt.defaults()
	if err := s.checkPages(); err != nil {
		return verdict{Corrupt: err.Error()}
	}
	if err := s.readAll(); err != nil {
		return verdict{Corrupt: err.Error()}
	}
	return verdict{OK: true}
}

// checkPages runs bbolt's consistency check and the format version check.
// Every error the check sends is received (the check goroutine reads the
// mapping until it closes its channel, so the transaction must stay open
// until then).
func (s *Store) checkPages() error {
	return s.db().View(func(tx *bolt.Tx) error {
		var first error
		n := 0
		for e := range tx.Check() {
			if first == nil {
				first = e
			}
			n++
		}
		if first != nil {
			if n > 1 {
				return fmt.Errorf("%w (and %d more problems)", first, n-1)
			}
			return first
		}
		if m := tx.Bucket(bktMeta); m != nil {
			if v := m.Get(keyVer); string(v) != formatVersion {
				return fmt.Errorf("format version %q, this diskwatch reads %q", model.Clean(string(v)), formatVersion)
			}
		}
		return nil
	})
}

// readAll reads what the store's readers read: the newest-point index (the
// cursor jumps Append makes), every subject's points, every baseline.
func (s *Store) readAll() (err error) {
	old, err := s.enter()
	if err != nil {
		return err
	}
	defer s.guard(&err, old)
	if err := s.db().View(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bktRaw, bktDaily, bktAcks} {
			if tx.Bucket(b) == nil {
				return fmt.Errorf("bucket %q missing", b)
			}
		}
		return tx.Bucket(bktAcks).ForEachBucket(func(k []byte) error {
			return tx.Bucket(bktAcks).Bucket(k).ForEach(func(_, _ []byte) error { return nil })
		})
	}); err != nil {
		// A new store has no buckets yet: the parent creates them.
		if s.empty() {
			return nil
		}
		return err
	}
	// Every key and value within bbolt's own limits: a damaged length
	// field reads as a huge key, which the check does not see and a
	// later write (compaction) would trip on.
	if err := s.db().View(func(tx *bolt.Tx) error {
		var walk func(b *bolt.Bucket, depth int) error
		walk = func(b *bolt.Bucket, depth int) error {
			if depth > 4 {
				return fmt.Errorf("buckets nested %d deep", depth)
			}
			return b.ForEach(func(k, v []byte) error {
				if len(k) == 0 || len(k) > bolt.MaxKeySize {
					return fmt.Errorf("a key of %d bytes", len(k))
				}
				if v == nil {
					if sub := b.Bucket(k); sub != nil {
						return walk(sub, depth+1)
					}
				} else if len(v) > bolt.MaxValueSize {
					return fmt.Errorf("a value of %d bytes", len(v))
				}
				return nil
			})
		}
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error { return walk(b, 1) })
	}); err != nil {
		return err
	}
	s.warmIndex()
	subs, err := s.Subjects()
	if err != nil {
		return err
	}
	for _, sub := range subs {
		if _, err := s.Latest(sub); err != nil {
			return err
		}
	}
	return nil
}

// empty reports whether the store has no bucket at all (just created).
func (s *Store) empty() bool {
	n := 0
	s.db().View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(_ []byte, _ *bolt.Bucket) error { n++; return nil })
	})
	return n == 0
}

// VerifyTimeout bounds the verifier child. A store that takes longer to
// read is treated as damaged (a loop in its pages; a healthy 16 MB store
// is read in well under a second).
var VerifyTimeout = 30 * time.Second

// errNoChild says the verifier could not be started (no executable to
// re-run): the caller verifies in-process instead.
var errNoChild = errors.New("verifier process unavailable")

// verifyInChild runs the verifier on path in a child process.
func verifyInChild(ctx context.Context, path string, o Options) (verdict, error) {
	exe, err := os.Executable()
	if err != nil {
		return verdict{}, fmt.Errorf("%w: %v", errNoChild, err)
	}
	ctx, cancel := context.WithTimeout(ctx, VerifyTimeout+o.LockTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, verifyArg, path, o.LockTimeout.String())
	cmd.Env = []string{verifyEnv + "=1", "GOTRACEBACK=single", "PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	cmd.Stdin = nil
	var stdout, stderr capped
	stdout.max, stderr.max = 64<<10, 16<<10
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 2 * time.Second
	// Its own process group: a kill on timeout reaches nothing else, and
	// a terminal's ^C goes to the parent, which decides.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGKILL) }
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return verdict{}, fmt.Errorf("%w: %v", errNoChild, err)
	}
	werr := cmd.Wait()
	var v verdict
	if jerr := json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &v); jerr == nil && werr == nil && (v.OK || v.Corrupt != "" || v.Error != "" || v.Locked) {
		return v, nil
	}
	if perr := ctx.Err(); perr != nil {
		if parent := context.Cause(ctx); errors.Is(parent, context.Canceled) {
			return verdict{}, fmt.Errorf("verifying %s: %w", path, parent)
		}
		return verdict{Corrupt: fmt.Sprintf("reading it did not finish within %s (a loop in its pages)", VerifyTimeout.Round(time.Second))}, nil
	}
	// The child died: a fault the Go runtime cannot survive, an
	// exhausted stack or memory.
	why := firstLine(stderr.String())
	if why == "" && werr != nil {
		why = werr.Error()
	}
	if ee := (*exec.ExitError)(nil); errors.As(werr, &ee) && ee.ProcessState != nil {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL && time.Since(start) < time.Second {
			// Killed from outside (the OOM killer, an operator): say so.
			why = "killed (" + ws.Signal().String() + ")"
		}
	}
	return verdict{Corrupt: "reading it crashed the verifier: " + model.Clean(why)}, nil
}

// firstLine is the first line of a child's stderr that says what went
// wrong (the Go runtime prints "fatal error: ..." or "panic: ...").
func firstLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "fatal error:") || strings.HasPrefix(l, "panic:") || strings.HasPrefix(l, "runtime:") {
			return l
		}
	}
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// capped is a buffer that keeps at most max bytes (a child's runaway
// output costs no memory here).
type capped struct {
	bytes.Buffer
	max int
}

func (c *capped) Write(p []byte) (int, error) {
	if room := c.max - c.Len(); room > 0 {
		if len(p) > room {
			c.Buffer.Write(p[:room])
		} else {
			c.Buffer.Write(p)
		}
	}
	return len(p), nil
}

// verifyInProcess is the fallback when no child can be started: the same
// reads, bounded in time, with faults turned into panics where the Go
// runtime allows it. The opening marker covers what it cannot survive.
func verifyInProcess(path string, o Options) verdict {
	ch := make(chan verdict, 1)
	go func() { ch <- readWhole(path, o.LockTimeout) }()
	select {
	case v := <-ch:
		return v
	case <-time.After(VerifyTimeout + o.LockTimeout):
		// The goroutine is abandoned with its read-only mapping.
		return verdict{Corrupt: fmt.Sprintf("reading it did not finish within %s", VerifyTimeout.Round(time.Second))}
	}
}

// markerName is the file that exists while this process opens the store
// itself: found at the next start, it says the last open did not finish
// (the process crashed or was killed in it).
const markerName = FileName + ".opening"

func writeMarker(dir string) error {
	p := dir + "/" + markerName
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return err
	}
	// No fsync: it guards against this process dying, not the machine.
	_, err = f.WriteString(strconv.Itoa(os.Getpid()) + " " + time.Now().UTC().Format(time.RFC3339) + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// MovedAsideFor is how long Findings keeps reporting a store moved aside.
const MovedAsideFor = 24 * time.Hour

// Findings reports the stores moved aside (at open, or when a read found
// the open one damaged) in the last MovedAsideFor before now: a WARNING,
// since trend rules lost their history and a file damaged in place can
// mean the disk under the state directory is failing.
func (s *Store) Findings(now time.Time) []model.Finding {
	s.mu.Lock()
	moves := append([]move(nil), s.moves...)
	s.mu.Unlock()
	if s.MovedAside != "" || s.movedReason != "" {
		moves = append([]move{{at: s.opened, to: s.MovedAside, reason: s.movedReason}}, moves...)
	}
	var out []model.Finding
	for _, m := range moves {
		if now.Sub(m.at) > MovedAsideFor || now.Before(m.at.Add(-time.Minute)) {
			continue
		}
		to := m.to
		if to == "" {
			to = "(it was gone)"
		}
		out = append(out, model.Finding{
			Severity: model.Warning, Rule: "history.store_moved_aside", Subject: "history store " + model.Clean(s.path), SubjectID: "history:" + s.path,
			Message:  fmt.Sprintf("history store %s was damaged (%s) and moved aside to %s; a fresh one was started, trend rules restart from no history", model.Clean(s.path), model.Clean(m.reason), model.Clean(to)),
			Remedy:   "check the disk holding the state directory (smartctl -a, dmesg for I/O errors); keep the moved-aside file for a bug report, or delete it",
			Evidence: []string{"moved at " + m.at.UTC().Format(time.RFC3339), "reason: " + model.Clean(m.reason)},
		})
	}
	return out
}
