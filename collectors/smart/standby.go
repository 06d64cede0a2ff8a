package smart

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// Standby is the power-mode policy, smartd's `-n MODE[,N]`: a disk in MODE
// or a lower power state is not read, unless it has been skipped MaxSkips
// cycles in a row (0 = skip for ever).
type Standby struct {
	// Mode is "never" (always read: may spin a disk up), "sleep",
	// "standby" (the default) or "idle".
	Mode string
	// MaxSkips forces a read after this many consecutive skips.
	MaxSkips int
}

// ParseStandby parses "standby", "standby,24", "never", ...
func ParseStandby(s string) (Standby, error) {
	mode, n, hasN := strings.Cut(s, ",")
	p := Standby{Mode: mode}
	switch mode {
	case "", "standby":
		p.Mode = "standby"
	case "never", "sleep", "idle":
	default:
		return p, fmt.Errorf("standby %q: mode must be never, sleep, standby or idle", s)
	}
	if hasN {
		v, err := strconv.Atoi(n)
		if err != nil || v < 0 {
			return p, fmt.Errorf("standby %q: the maximum number of skipped cycles must be a number >= 0", s)
		}
		p.MaxSkips = v
	}
	return p, nil
}

// rank orders power modes from deepest (sleep) to active.
func rank(mode string) int {
	switch mode {
	case "sleep":
		return 0
	case "standby":
		return 1
	case "idle":
		return 2
	case "active":
		return 3
	}
	return -1 // unknown: read
}

// Skip reports whether a disk in power mode mode is left unread, given how
// many cycles in a row it was already skipped.
func (p Standby) Skip(mode string, skippedBefore int) bool {
	if p.Mode == "never" || rank(mode) < 0 {
		return false
	}
	if rank(mode) > rank(p.Mode) {
		return false
	}
	if p.MaxSkips > 0 && skippedBefore >= p.MaxSkips {
		return false
	}
	return true
}

// State carries the consecutive-skip counters from one cycle to the next.
// The caller (the daemon) keeps one State for the collector's lifetime; a
// one-shot run starts from zero. The zero value is ready to use.
type State struct {
	mu    sync.Mutex
	skips map[string]int
}

// Skipped returns how many cycles in a row the device was skipped.
func (s *State) Skipped(dev string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.skips[dev]
}

// Record notes whether the device was skipped this cycle.
func (s *State) Record(dev string, skipped bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.skips == nil {
		s.skips = map[string]int{}
	}
	if skipped {
		s.skips[dev]++
	} else {
		delete(s.skips, dev)
	}
}
