package history

import (
	"context"
	"sort"
	"time"

	"github.com/diskwatch/diskwatch/alerts/rules"
	"github.com/diskwatch/diskwatch/collectors/model"
)

// Mem is an in-memory history store, for replay and tests. It implements
// engine.Store, rules.History and rules.Baselines. Its memory is bounded by
// the number of series, not by how long it runs: points older than Keep
// before a series' newest point are dropped, and with Compress a run of
// equal values keeps only its first and last point (a counter that stays
// at 0 for a year is two points). Not safe for concurrent use.
type Mem struct {
	// Keep is how far back each series is kept (0 = forever).
	Keep time.Duration
	// Compress keeps only the ends of runs of equal values. Rules that
	// count samples (HeldSamples) then see fewer; time-based ones do not
	// change.
	Compress bool
	// Want, when set, picks the metrics kept (e.g. rules.HistoryMetric).
	Want func(metric string) bool

	subjects map[string]*memSubject
	last     *memSubject
	lastName string
}

type memSubject struct {
	series map[string][]rules.Point
	acks   map[string]rules.Point
}

// NewMem returns an empty store.
func NewMem(keep time.Duration, compress bool, want func(string) bool) *Mem {
	return &Mem{Keep: keep, Compress: compress, Want: want, subjects: map[string]*memSubject{}}
}

func (m *Mem) subject(name string, create bool) *memSubject {
	if m.last != nil && m.lastName == name {
		return m.last
	}
	if m.subjects == nil {
		m.subjects = map[string]*memSubject{}
	}
	s := m.subjects[name]
	if s == nil {
		if !create {
			return nil
		}
		s = &memSubject{series: map[string][]rules.Point{}}
		m.subjects[name] = s
	}
	m.last, m.lastName = s, name
	return s
}

// Append stores samples taken at t.
func (m *Mem) Append(_ context.Context, t time.Time, samples []model.Sample) error {
	for _, smp := range samples {
		if m.Want != nil && !m.Want(smp.Metric) {
			continue
		}
		s := m.subject(smp.Subject, true)
		s.series[smp.Metric] = m.add(s.series[smp.Metric], rules.Point{Time: t, Value: smp.Value})
	}
	return nil
}

func (m *Mem) add(ps []rules.Point, p rules.Point) []rules.Point {
	n := len(ps)
	switch {
	case n > 0 && p.Time.Before(ps[n-1].Time):
		// Out of order: insert in place (rare).
		i := sort.Search(n, func(i int) bool { return !ps[i].Time.Before(p.Time) })
		ps = append(ps, rules.Point{})
		copy(ps[i+1:], ps[i:])
		ps[i] = p
	case n > 0 && p.Time.Equal(ps[n-1].Time):
		ps[n-1] = p
	case m.Compress && n >= 2 && ps[n-1].Value == p.Value && ps[n-2].Value == p.Value:
		ps[n-1].Time = p.Time
	default:
		ps = append(ps, p)
	}
	if m.Keep > 0 {
		cut := ps[len(ps)-1].Time.Add(-m.Keep)
		i := 0
		for i < len(ps)-1 && ps[i].Time.Before(cut) {
			i++
		}
		if i > 0 {
			if m.Compress && ps[i].Value == ps[i-1].Value {
				// Keep the run's start inside the window.
				ps[i-1].Time = cut
				i--
			}
			if i > 0 {
				ps = append(ps[:0], ps[i:]...)
			}
		}
	}
	return ps
}

// Series returns the points of (subject, metric) at or after since, oldest
// first. The slice is the store's own: do not modify it.
func (m *Mem) Series(subject, metric string, since time.Time) ([]rules.Point, error) {
	s := m.subject(subject, false)
	if s == nil {
		return nil, nil
	}
	return rules.Window(s.series[metric], since), nil
}

// Ack records an acknowledged baseline.
func (m *Mem) Ack(_ context.Context, subject, metric string, t time.Time, v float64) error {
	s := m.subject(subject, true)
	if s.acks == nil {
		s.acks = map[string]rules.Point{}
	}
	s.acks[metric] = rules.Point{Time: t, Value: v}
	return nil
}

// Baseline returns the acknowledged baseline of (subject, metric).
func (m *Mem) Baseline(subject, metric string) (rules.Point, bool) {
	s := m.subject(subject, false)
	if s == nil || s.acks == nil {
		return rules.Point{}, false
	}
	p, ok := s.acks[metric]
	return p, ok
}

// Forget drops a subject (a drive that left the fleet).
func (m *Mem) Forget(subject string) {
	delete(m.subjects, subject)
	if m.lastName == subject {
		m.last, m.lastName = nil, ""
	}
}

// Len is the number of subjects held.
func (m *Mem) Len() int { return len(m.subjects) }
