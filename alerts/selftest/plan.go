package selftest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/diskwatch/diskwatch/alerts/lifecycle"
)

// Test kinds, longest first: when both are due, only the long test runs
// (smartd: L before S).
const (
	Long  = "long"
	Short = "short"
)

// Plan is the self-test schedule of a set of disks.
type Plan struct {
	Short, Long Schedule
	// Grace is how late after its slot a test may still start (a disk
	// asleep, a test already running, the daemon down); 0 means until the
	// next slot of the same kind.
	Grace time.Duration
	// Loc is the zone the slots are in (time.Local in the daemon).
	Loc *time.Location
}

// IsZero reports whether no self-test is scheduled.
func (p Plan) IsZero() bool { return p.Short.IsZero() && p.Long.IsZero() }

func (p Plan) loc() *time.Location {
	if p.Loc == nil {
		return time.Local
	}
	return p.Loc
}

func (p Plan) schedule(kind string) Schedule {
	if kind == Long {
		return p.Long
	}
	return p.Short
}

// Record is what was done for the latest slot of one kind on one disk.
type Record struct {
	// Slot is the scheduled time this record settles.
	Slot time.Time `json:"slot"`
	// At is when the test was started (or given up on).
	At time.Time `json:"at"`
	// Test is the test started for the slot: a long test settles a
	// short slot due at the same time.
	Test string `json:"test"`
	// Error says why the test could not be started; the slot is not
	// retried (a disk without self-tests would be asked every tick).
	Error string `json:"error,omitempty"`
}

// Disk is one disk's records, by test kind.
type Disk map[string]Record

// pending returns kind's slot at now when it is due on a disk with these
// records: passed, within the grace period, and not settled yet.
func (p Plan) pending(kind string, now time.Time, recs Disk) (time.Time, bool) {
	slot := p.schedule(kind).Prev(now, p.loc())
	if slot.IsZero() || (p.Grace > 0 && now.Sub(slot) > p.Grace) {
		return time.Time{}, false
	}
	if r, ok := recs[kind]; ok && !r.Slot.Before(slot) {
		return time.Time{}, false // done (or the clock went back)
	}
	return slot, true
}

// Due returns the test to start on a disk at now and the slot it settles,
// or "" when none is due. A long test due wins over a short one.
func (p Plan) Due(now time.Time, recs Disk) (kind string, slot time.Time) {
	for _, k := range []string{Long, Short} {
		if s, ok := p.pending(k, now, recs); ok {
			return k, s
		}
	}
	return "", time.Time{}
}

// Settle records in recs that kind's slot was dealt with at now: started
// (failure "") or given up on. A long test also settles the short slot
// due now: one test at a time, and the long one reads every sector the
// short one would; a disk that cannot start a long test (no self-test
// support) is not asked again for a short one in the same breath.
func (p Plan) Settle(recs Disk, kind string, slot, now time.Time, failure string) {
	recs[kind] = Record{Slot: slot, At: now, Test: kind, Error: failure}
	if kind == Long {
		if s, ok := p.pending(Short, now, recs); ok {
			recs[Short] = Record{Slot: s, At: now, Test: Long, Error: failure}
		}
	}
}

// State is the self-test state file: records per disk identity.
type State struct {
	Version int             `json:"version"`
	Disks   map[string]Disk `json:"disks"`
}

// Disk returns the records of the disk with identity id, creating them.
func (s *State) Disk(id string) Disk {
	if s.Disks == nil {
		s.Disks = map[string]Disk{}
	}
	if s.Disks[id] == nil {
		s.Disks[id] = Disk{}
	}
	return s.Disks[id]
}

// Prune forgets disks with no record at or after before (gone, or no
// longer scheduled).
func (s *State) Prune(before time.Time) {
	for id, recs := range s.Disks {
		keep := false
		for _, r := range recs {
			keep = keep || !r.At.Before(before)
		}
		if !keep {
			delete(s.Disks, id)
		}
	}
}

// Load reads the state file at path; a missing file is an empty state.
func Load(path string) (*State, error) {
	s := &State{Version: 1, Disks: map[string]Disk{}}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return s, fmt.Errorf("self-test state %s: %w", path, err)
	}
	if err := json.Unmarshal(b, s); err != nil {
		return &State{Version: 1, Disks: map[string]Disk{}}, fmt.Errorf("self-test state %s: corrupt: %w", path, err)
	}
	for id, recs := range s.Disks {
		if recs == nil {
			delete(s.Disks, id)
		}
	}
	s.Version = 1
	return s, nil
}

// Save writes the state to path atomically (temporary file, fsync,
// rename; mode 0600).
func (s *State) Save(path string) error {
	b, err := json.MarshalIndent(s, "", " ")
	if err != nil {
		return fmt.Errorf("self-test state %s: encode: %w", path, err)
	}
	return lifecycle.WriteFileAtomic(path, append(b, '\n'))
}
