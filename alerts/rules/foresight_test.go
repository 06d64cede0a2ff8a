package rules

import (
	"strings"
	"testing"
)

func daily(day int, realloc, poh int64) Reading {
	r := NoReading
	r.Time, r.Realloc, r.POH = int64(day)*86400, realloc, poh
	return r
}

// Growth within the window is exact however many times the count changed
// (one point a day is kept), and old growth leaves the window.
func TestTrackGrowth(t *testing.T) {
	var tr Track
	for d := 0; d < 40; d++ {
		tr.Add(daily(d, int64(2*d), int64(1000+24*d)))
	}
	// day 39: 78; day 9 (the window's start): 18
	if g := tr.Growth(); g != 60 {
		t.Errorf("growth %d, want 60 (2 a day for 30 days)", g)
	}
	if s := tr.Signals(); s&SigGrowthFast == 0 || s&SigGrowth == 0 {
		t.Errorf("signals %b: 60 in 30 days on a count of 78 is fast", s)
	}
	// Many readings a day: the day's latest counts.
	var tr2 Track
	for i := 0; i < 24*10; i++ {
		r := daily(0, int64(i/24), 1000+int64(i))
		r.Time = int64(i) * 3600
		tr2.Add(r)
	}
	if g := tr2.Growth(); g != 9 {
		t.Errorf("hourly readings: growth %d, want 9", g)
	}
	// The window slides: growth 40 days ago is gone.
	var tr3 Track
	tr3.Add(daily(0, 0, 1000))
	tr3.Add(daily(1, 100, 1024))
	for d := 2; d < 45; d++ {
		tr3.Add(daily(d, 100, int64(1000+24*d)))
	}
	if g, s := tr3.Growth(), tr3.Signals(); g != 0 || s&SigGrowth != 0 || s&SigFirstRealloc != 0 || s&SigCounts == 0 {
		t.Errorf("old growth: %d, signals %b", g, s)
	}
}

// Only the strongest signal of a group counts; groups add up; the tiers
// cut the sum.
func TestScoreAndTiers(t *testing.T) {
	if s := Score(SigCounts | SigPending | SigPendingMany); s != 4 {
		t.Errorf("one group: %v, want its strongest, 4", s)
	}
	if s := Score(SigCounts | SigYoung); s != 5.5 {
		t.Errorf("two groups: %v, want 2 + 3.5", s)
	}
	for score, want := range map[float64]Level{0: LevelNone, 2: LevelNotice, 3.5: LevelNotice, 4: LevelWarning, 7.5: LevelCritical} {
		if got := DefaultTiers.Level(score); got != want {
			t.Errorf("level(%v) = %v, want %v", score, got, want)
		}
	}
	var tr Track
	tr.Add(daily(0, 0, 10))
	tr.Add(daily(1, 3, 34))
	ex := strings.Join(tr.Explain(tr.Signals()), "; ")
	if !strings.Contains(ex, "3 reallocated") || !strings.Contains(ex, "first reallocated sectors within 30 days (weight 4)") ||
		!strings.Contains(ex, "young drive: 34 power-on hours (weight 3.5)") || strings.Contains(ex, "(+") {
		t.Errorf("explanation: %s", ex)
	}
}

// Vendor decoding is used only where its format is known.
func TestDecodeReadErrors(t *testing.T) {
	if DecodeReadErrors(VendorOf("Hitachi HDS722020ALA330"), 5) != 5 || DecodeReadErrors(VendorOf("HGST HMS5C4040ALE640"), 7) != 7 {
		t.Error("Hitachi/HGST raw 1 is a plain count")
	}
	if DecodeReadErrors(VendorOf("ST3000DM001"), 123456789) != -1 {
		t.Error("Seagate raw 1 packs an operation count: not decoded")
	}
}
