// Package selftest schedules SMART self-tests the way smartd's -s
// directive does: a short and a long test, each at a time of day, every
// day, week or month. It decides which test is due on a disk, remembers per
// disk which slots were done (a small JSON state file) so that a restart
// does not start a test again, and lets a slot missed while the daemon was
// down, or while the disk slept, run once later.
//
// Times are wall-clock times in a location given by the caller (the
// daemon's local zone): slots are computed from calendar dates, never by
// adding 24-hour durations, so they stay at 02:00 across DST changes.
package selftest

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Schedule is when one kind of self-test is due. The zero Schedule is off.
//
// Syntax (one line, words separated by spaces, case-insensitive):
//
//	daily HH:MM
//	weekly DAY HH:MM         DAY: mon tue wed thu fri sat sun (or the full name)
//	monthly D HH:MM          D: day of the month, 1 to 28 (every month has it)
//	""                       off
type Schedule struct {
	every   string // "daily", "weekly", "monthly"; "" is off
	weekday time.Weekday
	mday    int
	hour    int
	minute  int
}

// Syntax is the accepted forms, for error messages.
const Syntax = `"daily HH:MM", "weekly DAY HH:MM" (DAY mon..sun) or "monthly D HH:MM" (D 1..28), or "" for off`

var weekdays = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// Parse reads a schedule in the syntax above.
func Parse(s string) (Schedule, error) {
	f := strings.Fields(strings.ToLower(s))
	if len(f) == 0 {
		return Schedule{}, nil
	}
	bad := func(why string) (Schedule, error) {
		return Schedule{}, fmt.Errorf("schedule %q: %s; want %s", s, why, Syntax)
	}
	var sc Schedule
	want := map[string]int{"daily": 2, "weekly": 3, "monthly": 3}[f[0]]
	if want == 0 {
		return bad(fmt.Sprintf("%q is not daily, weekly or monthly", f[0]))
	}
	if len(f) != want {
		return bad(fmt.Sprintf("%s takes %d words", f[0], want))
	}
	sc.every = f[0]
	switch sc.every {
	case "weekly":
		wd, ok := weekdays[f[1]]
		if !ok && len(f[1]) > 3 {
			wd, ok = weekdays[f[1][:3]]
			ok = ok && strings.ToLower(wd.String()) == f[1]
		}
		if !ok {
			return bad(fmt.Sprintf("%q is not a day of the week", f[1]))
		}
		sc.weekday = wd
	case "monthly":
		d, err := strconv.Atoi(f[1])
		if err != nil || d < 1 || d > 28 {
			return bad(fmt.Sprintf("%q is not a day of the month from 1 to 28", f[1]))
		}
		sc.mday = d
	}
	hh, mm, ok := strings.Cut(f[len(f)-1], ":")
	h, herr := strconv.Atoi(hh)
	m, merr := strconv.Atoi(mm)
	if !ok || herr != nil || merr != nil || h < 0 || h > 23 || m < 0 || m > 59 || len(mm) != 2 {
		return bad(fmt.Sprintf("%q is not a time of day HH:MM", f[len(f)-1]))
	}
	sc.hour, sc.minute = h, m
	return sc, nil
}

// IsZero reports whether the schedule is off.
func (s Schedule) IsZero() bool { return s.every == "" }

// String is the schedule in the syntax Parse reads ("" when off).
func (s Schedule) String() string {
	at := fmt.Sprintf("%02d:%02d", s.hour, s.minute)
	switch s.every {
	case "daily":
		return "daily " + at
	case "weekly":
		return "weekly " + strings.ToLower(s.weekday.String()[:3]) + " " + at
	case "monthly":
		return "monthly " + strconv.Itoa(s.mday) + " " + at
	}
	return ""
}

// on reports whether the schedule has a slot on the calendar date y-m-d
// (already normalized).
func (s Schedule) on(y int, m time.Month, d int) bool {
	switch s.every {
	case "daily":
		return true
	case "weekly":
		return time.Date(y, m, d, 12, 0, 0, 0, time.UTC).Weekday() == s.weekday
	case "monthly":
		return d == s.mday
	}
	return false
}

// slot is the schedule's time on the date y-m-d+offset in loc. A time in a
// DST gap is moved by time.Date to a real instant of that day.
func (s Schedule) slot(y int, m time.Month, d, offset int, loc *time.Location) (time.Time, bool) {
	date := time.Date(y, m, d+offset, 12, 0, 0, 0, time.UTC) // calendar arithmetic only
	y, m, d = date.Date()
	if !s.on(y, m, d) {
		return time.Time{}, false
	}
	return time.Date(y, m, d, s.hour, s.minute, 0, 0, loc), true
}

// Prev returns the latest slot at or before t in loc (zero when off).
func (s Schedule) Prev(t time.Time, loc *time.Location) time.Time {
	if s.IsZero() {
		return time.Time{}
	}
	y, m, d := t.In(loc).Date()
	// A monthly slot is at most 31 days back; one day more for a slot
	// later in the day than t.
	for i := 0; i >= -62; i-- {
		if at, ok := s.slot(y, m, d, i, loc); ok && !at.After(t) {
			return at
		}
	}
	return time.Time{}
}

// Next returns the first slot after t in loc (zero when off).
func (s Schedule) Next(t time.Time, loc *time.Location) time.Time {
	if s.IsZero() {
		return time.Time{}
	}
	y, m, d := t.In(loc).Date()
	for i := 0; i <= 62; i++ {
		if at, ok := s.slot(y, m, d, i, loc); ok && at.After(t) {
			return at
		}
	}
	return time.Time{}
}
