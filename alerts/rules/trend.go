package rules

import (
	"math"
	"time"
)

// This file holds the trend building blocks: small pure functions over a
// stored series (oldest first) that the history rules (history.go) are made
// of. Each answers one question and is table-tested on its own.

// Baselines is the optional side of a History that knows acknowledged
// baselines (`diskwatch ack`): the value an operator accepted for a
// (subject, metric). Rules alert only on growth past it.
type Baselines interface {
	Baseline(subject, metric string) (Point, bool)
}

// Day is the unit of the per-day rates.
const Day = 24 * time.Hour

// Window returns the points of ps at or after from (ps is oldest first).
func Window(ps []Point, from time.Time) []Point {
	i := len(ps)
	for i > 0 && !ps[i-1].Time.Before(from) {
		i--
	}
	return ps[i:]
}

// WithBase is Window plus the last point before from, when there is one:
// the base a step into the window is measured from, so growth observed at
// the window's first reading counts as growth within the window.
func WithBase(ps []Point, from time.Time) []Point {
	w := Window(ps, from)
	if n := len(ps) - len(w); n > 0 {
		return ps[n-1:]
	}
	return w
}

// Last returns the newest point.
func Last(ps []Point) (Point, bool) {
	if len(ps) == 0 {
		return Point{}, false
	}
	return ps[len(ps)-1], true
}

// Exceeds is the plain threshold kind: v > limit.
func Exceeds(v, limit float64) bool { return v > limit }

// AtOrBelowThresh is the vendor-threshold kind: a normalized value at or
// below the vendor's threshold. thresh 0 means "no threshold" (the value
// can never fail) and returns false, as smartctl treats it.
func AtOrBelowThresh(value, thresh int) bool { return thresh > 0 && value <= thresh }

// ChangeSince is the change of the newest value since a baseline.
func ChangeSince(base Point, ps []Point) float64 {
	l, ok := Last(ps)
	if !ok {
		return 0
	}
	return l.Value - base.Value
}

// Increase is how much a counter grew over ps: the sum of the upward steps
// between consecutive points. A drop (a counter reset, or a pending sector
// that was remapped) does not count as growth and does not cancel earlier
// growth.
func Increase(ps []Point) float64 {
	inc := 0.0
	for i := 1; i < len(ps); i++ {
		if d := ps[i].Value - ps[i-1].Value; d > 0 {
			inc += d
		}
	}
	return inc
}

// IncreaseWithin is the growth of a counter within the window ending at
// now (see WithBase).
func IncreaseWithin(ps []Point, now time.Time, window time.Duration) float64 {
	return Increase(WithBase(ps, now.Add(-window)))
}

// RatePerDay is the counter's growth per day over the window ending at now,
// measured over the span the points actually cover. It returns ok=false
// when that span is shorter than minSpan (a rate over a few hours says
// little).
func RatePerDay(ps []Point, now time.Time, window, minSpan time.Duration) (rate float64, ok bool) {
	w := WithBase(ps, now.Add(-window))
	if len(w) < 2 {
		return 0, false
	}
	span := w[len(w)-1].Time.Sub(w[0].Time)
	if span < minSpan || span <= 0 {
		return 0, false
	}
	return Increase(w) / (float64(span) / float64(Day)), true
}

// NewNonZero reports a value that became non-zero within the window: the
// newest value is > 0 and some point in the window (or the last one
// before it, when given in ps) was 0. A value that was non-zero all along
// is not new.
func NewNonZero(ps []Point, now time.Time, window time.Duration) bool {
	l, ok := Last(ps)
	if !ok || l.Value <= 0 {
		return false
	}
	for _, p := range Window(ps, now.Add(-window)) {
		if p.Value == 0 {
			return true
		}
	}
	return false
}

// Accelerating reports a counter growing faster in the latest window than
// in the window before it: growth(now-w, now] > factor × growth(now-2w,
// now-w] and the recent growth is at least min. With no growth before,
// any recent growth of at least min accelerates.
func Accelerating(ps []Point, now time.Time, window time.Duration, factor, min float64) bool {
	recentFrom, prevFrom := now.Add(-window), now.Add(-2*window)
	recent := WithBase(ps, recentFrom)
	older := ps[:len(ps)-len(Window(ps, recentFrom))]
	prev := WithBase(older, prevFrom)
	r := Increase(recent)
	return r >= min && r > factor*Increase(prev)
}

// HeldFor reports whether cond has held for every point from now-d to now,
// with the run of true points starting at or before now-d (so a single
// fresh sample does not count as "held for d").
func HeldFor(ps []Point, now time.Time, d time.Duration, cond func(float64) bool) bool {
	if len(ps) == 0 || !cond(ps[len(ps)-1].Value) {
		return false
	}
	start := ps[len(ps)-1].Time
	for i := len(ps) - 1; i >= 0 && cond(ps[i].Value); i-- {
		start = ps[i].Time
	}
	return !start.After(now.Add(-d))
}

// HeldSamples reports whether cond holds for the last n points.
func HeldSamples(ps []Point, n int, cond func(float64) bool) bool {
	if n <= 0 || len(ps) < n {
		return false
	}
	for _, p := range ps[len(ps)-n:] {
		if !cond(p.Value) {
			return false
		}
	}
	return true
}

// Hysteresis is a two-level threshold: the state turns on when a value
// reaches On and off only when a value falls to Off or below (Off < On for
// a rising quantity such as temperature). For a falling quantity use
// On < Off and Falling.
type Hysteresis struct {
	On, Off float64
	Falling bool
}

// State replays ps through the hysteresis and returns the final state.
func (h Hysteresis) State(ps []Point) bool {
	on := false
	for _, p := range ps {
		v := p.Value
		if h.Falling {
			if v <= h.On {
				on = true
			} else if v >= h.Off {
				on = false
			}
			continue
		}
		if v >= h.On {
			on = true
		} else if v <= h.Off {
			on = false
		}
	}
	return on
}

// DaysUntil projects when a quantity growing at rate per day reaches limit
// from cur; +Inf when it does not grow.
func DaysUntil(cur, limit, rate float64) float64 {
	if rate <= 0 {
		return math.Inf(1)
	}
	if cur >= limit {
		return 0
	}
	return (limit - cur) / rate
}
