package selftest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // Europe/Berlin's DST rules on any test machine
)

func TestParse(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{"", "", ""},
		{"   ", "", ""},
		{"daily 02:00", "daily 02:00", ""},
		{"Daily 2:05", "daily 02:05", ""},
		{"weekly sun 03:00", "weekly sun 03:00", ""},
		{"weekly Saturday 23:59", "weekly sat 23:59", ""},
		{"monthly 1 03:00", "monthly 1 03:00", ""},
		{"monthly 28 00:00", "monthly 28 00:00", ""},
		{"dialy 02:00", "", `"dialy" is not daily, weekly or monthly`},
		{"daily", "", "daily takes 2 words"},
		{"daily 02:00 03:00", "", "daily takes 2 words"},
		{"weekly 03:00", "", "weekly takes 3 words"},
		{"weekly sunny 03:00", "", `"sunny" is not a day of the week`},
		{"weekly 7 03:00", "", "not a day of the week"},
		{"monthly 29 03:00", "", "not a day of the month from 1 to 28"},
		{"monthly 0 03:00", "", "not a day of the month"},
		{"daily 24:00", "", "not a time of day"},
		{"daily 02:60", "", "not a time of day"},
		{"daily 02:0", "", "not a time of day"},
		{"daily 2", "", "not a time of day"},
		{"daily -1:00", "", "not a time of day"},
	} {
		s, err := Parse(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), "want ") {
				t.Errorf("Parse(%q): error %v, want one with %q and the syntax", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || s.String() != tc.want || s.IsZero() != (tc.want == "") {
			t.Errorf("Parse(%q) = %q, %v; want %q", tc.in, s, err, tc.want)
		}
	}
}

func mustParse(t *testing.T, s string) Schedule {
	t.Helper()
	sc, err := Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// Prev and Next over times in a fixed zone and across DST in a real one.
func TestPrevNext(t *testing.T) {
	plus2 := time.FixedZone("UTC+2", 2*3600)
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	at := func(loc *time.Location, s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct {
		sched      string
		loc        *time.Location
		now        string
		prev, next string
	}{
		{"daily 02:00", plus2, "2026-03-10 01:59", "2026-03-09 02:00", "2026-03-10 02:00"},
		{"daily 02:00", plus2, "2026-03-10 02:00", "2026-03-10 02:00", "2026-03-11 02:00"},
		{"daily 02:00", plus2, "2026-03-10 23:00", "2026-03-10 02:00", "2026-03-11 02:00"},
		{"daily 02:00", plus2, "2026-03-01 00:30", "2026-02-28 02:00", "2026-03-01 02:00"},
		// 2026-03-15 is a Sunday.
		{"weekly sun 03:00", plus2, "2026-03-15 02:59", "2026-03-08 03:00", "2026-03-15 03:00"},
		{"weekly sun 03:00", plus2, "2026-03-15 03:00", "2026-03-15 03:00", "2026-03-22 03:00"},
		{"weekly sun 03:00", plus2, "2026-03-18 12:00", "2026-03-15 03:00", "2026-03-22 03:00"},
		{"monthly 1 03:00", plus2, "2026-03-01 02:00", "2026-02-01 03:00", "2026-03-01 03:00"},
		{"monthly 28 03:00", plus2, "2026-03-27 00:00", "2026-02-28 03:00", "2026-03-28 03:00"},
		{"monthly 1 03:00", plus2, "2026-12-31 23:00", "2026-12-01 03:00", "2027-01-01 03:00"},
		// Berlin goes from CET to CEST on 2026-03-29 (02:00 -> 03:00) and
		// back on 2026-10-25: the slot stays at 04:00 wall-clock time.
		{"daily 04:00", berlin, "2026-03-29 05:00", "2026-03-29 04:00", "2026-03-30 04:00"},
		{"daily 04:00", berlin, "2026-03-29 03:30", "2026-03-28 04:00", "2026-03-29 04:00"},
		{"daily 04:00", berlin, "2026-10-25 12:00", "2026-10-25 04:00", "2026-10-26 04:00"},
		{"weekly sun 04:00", berlin, "2026-10-25 03:00", "2026-10-18 04:00", "2026-10-25 04:00"},
	} {
		s := mustParse(t, tc.sched)
		now := at(tc.loc, tc.now)
		// The scheduler gets UTC times from the clock: the zone it is
		// given decides.
		p, n := s.Prev(now.UTC(), tc.loc), s.Next(now.UTC(), tc.loc)
		if want := at(tc.loc, tc.prev); !p.Equal(want) {
			t.Errorf("%s at %s: prev %s, want %s", tc.sched, tc.now, p.In(tc.loc), want)
		}
		if want := at(tc.loc, tc.next); !n.Equal(want) {
			t.Errorf("%s at %s: next %s, want %s", tc.sched, tc.now, n.In(tc.loc), want)
		}
	}
	// Across the spring change the two slots are 23 hours apart, across
	// the autumn one 25: computed from dates, not by adding 24h.
	d := mustParse(t, "daily 04:00")
	if g := d.Next(at(berlin, "2026-03-28 05:00"), berlin).Sub(at(berlin, "2026-03-28 04:00")); g != 23*time.Hour {
		t.Errorf("spring: slots %s apart", g)
	}
	if g := d.Next(at(berlin, "2026-10-24 05:00"), berlin).Sub(at(berlin, "2026-10-24 04:00")); g != 25*time.Hour {
		t.Errorf("autumn: slots %s apart", g)
	}
	// A slot inside the spring gap (02:30 does not exist that day) still
	// happens once that day.
	g := mustParse(t, "daily 02:30")
	p := g.Prev(at(berlin, "2026-03-29 12:00"), berlin)
	if y, m, dd := p.In(berlin).Date(); y != 2026 || m != 3 || dd != 29 {
		t.Errorf("slot in the DST gap: %s", p.In(berlin))
	}
	var off Schedule
	if !off.Prev(time.Now(), berlin).IsZero() || !off.Next(time.Now(), berlin).IsZero() {
		t.Error("an off schedule has slots")
	}
}

// Which test is due, over a sequence of ticks of one disk's life: daily
// short, weekly long, restarts, a missed slot, a sleeping disk.
func TestDue(t *testing.T) {
	loc := time.FixedZone("UTC-5", -5*3600)
	day := func(d int, hhmm string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", fmt.Sprintf("2026-03-%02d %s", d, hhmm), loc)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	plan := Plan{Short: mustParse(t, "daily 02:00"), Long: mustParse(t, "weekly sun 02:00"), Loc: loc}
	// 2026-03-01 and 03-08 are Sundays.
	type step struct {
		name     string
		now      time.Time
		want     string // the test due, "" none
		wantSlot time.Time
		outcome  string // "started", "asleep" (not settled), "error"
	}
	for _, tc := range []struct {
		name  string
		plan  Plan
		steps []step
	}{
		{"daily short, weekly long, long wins on Sunday", plan, []step{
			{"first start on a Wednesday: the latest slots are due, long wins", day(4, "10:00"), "long", day(1, "02:00"), "started"},
			{"the long test settled today's short slot", day(4, "10:01"), "", time.Time{}, ""},
			{"nothing more today", day(4, "23:59"), "", time.Time{}, ""},
			{"before the next slot", day(5, "01:59"), "", time.Time{}, ""},
			{"at the slot", day(5, "02:00"), "short", day(5, "02:00"), "started"},
			{"done", day(5, "02:01"), "", time.Time{}, ""},
			{"Sunday: long and short due at once, long only", day(8, "02:00"), "long", day(8, "02:00"), "started"},
			{"the short slot was settled by the long test", day(8, "02:01"), "", time.Time{}, ""},
			{"Monday: short again", day(9, "02:00"), "short", day(9, "02:00"), "started"},
		}},
		{"missed slot runs once, restart does not repeat", Plan{Short: plan.Short, Loc: loc}, []step{
			{"daily at 02:00", day(2, "02:00"), "short", day(2, "02:00"), "started"},
			{"daemon down over 03-03 02:00, back at 09:00: made up", day(3, "09:00"), "short", day(3, "02:00"), "started"},
			{"restarted again at 09:05 (state reloaded): not again", day(3, "09:05"), "", time.Time{}, ""},
			{"down for two days: one test, not two", day(6, "08:00"), "short", day(6, "02:00"), "started"},
			{"and then none", day(6, "08:01"), "", time.Time{}, ""},
		}},
		{"asleep: retried each tick until it wakes", Plan{Short: plan.Short, Loc: loc}, []step{
			{"slot, disk asleep", day(2, "02:00"), "short", day(2, "02:00"), "asleep"},
			{"next tick, still asleep", day(2, "02:01"), "short", day(2, "02:00"), "asleep"},
			{"awake in the evening", day(2, "20:00"), "short", day(2, "02:00"), "started"},
			{"done", day(2, "20:01"), "", time.Time{}, ""},
		}},
		{"grace period bounds how late", Plan{Short: plan.Short, Loc: loc, Grace: 6 * time.Hour}, []step{
			{"asleep at the slot", day(2, "02:00"), "short", day(2, "02:00"), "asleep"},
			{"still within 6h", day(2, "08:00"), "short", day(2, "02:00"), "asleep"},
			{"past the grace period: skipped", day(2, "08:01"), "", time.Time{}, ""},
			{"next slot", day(3, "02:00"), "short", day(3, "02:00"), "started"},
			{"a missed slot past the grace period at start-up: none", day(4, "09:00"), "", time.Time{}, ""},
		}},
		{"an error settles the slot", Plan{Short: plan.Short, Long: plan.Long, Loc: loc}, []step{
			{"long fails (no self-test support)", day(8, "02:00"), "long", day(8, "02:00"), "error"},
			{"the short slot due with it is given up too", day(8, "02:01"), "", time.Time{}, ""},
			{"and neither again before its next slot", day(8, "20:00"), "", time.Time{}, ""},
			{"next day the short one is tried", day(9, "02:00"), "short", day(9, "02:00"), "error"},
			{"and not again that day", day(9, "02:01"), "", time.Time{}, ""},
			{"the day after", day(10, "02:00"), "short", day(10, "02:00"), "started"},
		}},
		{"clock jumps back", Plan{Short: plan.Short, Loc: loc}, []step{
			{"at the slot", day(3, "02:00"), "short", day(3, "02:00"), "started"},
			{"clock back a day and an hour", day(2, "01:00"), "", time.Time{}, ""},
			{"clock back to before yesterday's slot", day(2, "03:00"), "", time.Time{}, ""},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "selftests.json")
			for _, st := range tc.steps {
				// Every step reloads the state file: what a restart sees.
				s, err := Load(path)
				if err != nil {
					t.Fatal(err)
				}
				recs := s.Disk("wwn:0x5000c500a1b2c3d4")
				kind, slot := tc.plan.Due(st.now, recs)
				if kind != st.want || !slot.Equal(st.wantSlot) {
					t.Fatalf("%s (%s): due %q slot %s, want %q slot %s", st.name, st.now.In(loc).Format("Mon 01-02 15:04"), kind, slot.In(loc), st.want, st.wantSlot.In(loc))
				}
				switch st.outcome {
				case "started":
					tc.plan.Settle(recs, kind, slot, st.now, "")
				case "error":
					tc.plan.Settle(recs, kind, slot, st.now, "the disk does not support SMART self-tests")
				}
				if err := s.Save(path); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

func TestStateFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "selftests.json")
	t0 := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	s, err := Load(path)
	if err != nil || len(s.Disks) != 0 {
		t.Fatalf("missing file: %v %v", s, err)
	}
	Plan{Short: mustParse(t, "daily 02:00")}.Settle(s.Disk("a"), Short, t0, t0, "")
	s.Disk("old")[Short] = Record{Slot: t0.AddDate(0, -6, 0), At: t0.AddDate(0, -6, 0), Test: Short}
	s.Prune(t0.AddDate(0, 0, -90))
	if err := s.Save(path); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("state file mode: %v %v", st, err)
	}
	s2, err := Load(path)
	if err != nil || len(s2.Disks) != 1 || !s2.Disks["a"][Short].At.Equal(t0) {
		t.Errorf("reloaded: %+v %v", s2, err)
	}
	os.WriteFile(path, []byte("{not json"), 0o600)
	if s3, err := Load(path); err == nil || s3 == nil || len(s3.Disks) != 0 {
		t.Errorf("corrupt file: %+v %v", s3, err)
	}
}
