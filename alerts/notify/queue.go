package notify

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/diskwatch/diskwatch/alerts/lifecycle"
)

// Entry is one undelivered (sink, message).
type Entry struct {
	Sink     string    `json:"sink"`
	Attempts int       `json:"attempts"`
	Next     time.Time `json:"next_attempt"`
	Message  Message   `json:"message"`
	// file is the entry's file name in the queue directory.
	file string
}

// Queue is a directory of entries, one file each (mode 0600, written
// atomically), so a crash loses nothing already queued.
type Queue struct {
	dir string
	// Max bounds the number of entries; the oldest are dropped beyond it.
	Max int
	mu  sync.Mutex
}

// OpenQueue opens (creating, mode 0700) the queue directory.
func OpenQueue(dir string) (*Queue, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("notification queue %s: %w", dir, err)
	}
	return &Queue{dir: dir, Max: 10000}, nil
}

// Dir is the queue directory.
func (q *Queue) Dir() string { return q.dir }

func entryFile(e Entry) string {
	h := sha256.Sum256([]byte(e.Sink + "\x00" + e.Message.ID))
	return fmt.Sprintf("%020d-%s.json", e.Message.Time.UnixNano(), hex.EncodeToString(h[:8]))
}

// Put adds an entry (replacing one for the same sink and message).
func (q *Queue) Put(e Entry) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	e.file = entryFile(e)
	if err := q.write(e); err != nil {
		return err
	}
	return q.trim()
}

// Update rewrites an entry obtained from List.
func (q *Queue) Update(e Entry) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if e.file == "" {
		e.file = entryFile(e)
	}
	return q.write(e)
}

func (q *Queue) write(e Entry) error {
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("notification queue: encode: %w", err)
	}
	return lifecycle.WriteFileAtomic(filepath.Join(q.dir, e.file), b)
}

// Remove deletes an entry.
func (q *Queue) Remove(e Entry) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if e.file == "" {
		e.file = entryFile(e)
	}
	err := os.Remove(filepath.Join(q.dir, e.file))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

func (q *Queue) names() ([]string, error) {
	des, err := os.ReadDir(q.dir)
	if err != nil {
		return nil, fmt.Errorf("notification queue %s: %w", q.dir, err)
	}
	var out []string
	for _, d := range des {
		if n := d.Name(); strings.HasSuffix(n, ".json") && !strings.HasPrefix(n, ".") {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out, nil
}

// trim drops the oldest entries beyond Max.
func (q *Queue) trim() error {
	if q.Max <= 0 {
		return nil
	}
	ns, err := q.names()
	if err != nil {
		return err
	}
	for i := 0; i+q.Max < len(ns); i++ {
		os.Remove(filepath.Join(q.dir, ns[i]))
	}
	return nil
}

// List returns the entries oldest first. An unreadable entry is moved
// aside (renamed *.bad) and reported in the error; the others are
// returned.
func (q *Queue) List() ([]Entry, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	ns, err := q.names()
	if err != nil {
		return nil, err
	}
	var out []Entry
	var errs []error
	for _, n := range ns {
		p := filepath.Join(q.dir, n)
		b, err := os.ReadFile(p)
		var e Entry
		if err == nil {
			err = json.Unmarshal(b, &e)
		}
		if err != nil {
			os.Rename(p, p+".bad")
			errs = append(errs, fmt.Errorf("notification queue entry %s unreadable, moved aside to %s.bad: %w", n, n, err))
			continue
		}
		e.file = n
		out = append(out, e)
	}
	return out, errors.Join(errs...)
}

// Len is the number of queued entries.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	ns, _ := q.names()
	return len(ns)
}
