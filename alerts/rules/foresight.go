package rules

import (
	"fmt"
	"math"
	"strings"
)

// Foresight: the per-drive failure assessment behind risk.score, as one
// pure function over a compact per-drive track. `diskwatch replay` feeds
// the track every drive-day of a fleet's history; the risk.score rule
// rebuilds the same track from the history store. The same code decides
// both, so what replay measures is what the daemon pages.

// Reading is one SMART reading of an ATA disk, as the track needs it.
// Counters are raw values; -1 when the disk does not report them.
type Reading struct {
	// Time in seconds since the Unix epoch.
	Time int64
	// Realloc (5), Pending (197), Offline (198), Reported (187),
	// Timeouts (188) raw counts.
	Realloc, Pending, Offline, Reported, Timeouts int64
	// POH is power-on hours (9 raw), -1 when absent.
	POH int64
	// ReadErrors is attribute 1's raw value decoded as a count of errors
	// where the drive's format is known (Vendor), else -1.
	ReadErrors int64
}

// NoReading is a Reading with nothing reported.
var NoReading = Reading{Realloc: -1, Pending: -1, Offline: -1, Reported: -1, Timeouts: -1, POH: -1, ReadErrors: -1}

// Vendor is how a drive model packs its raw values.
type Vendor uint8

// Vendors whose raw 1 format is known.
const (
	VendorOther Vendor = iota
	// VendorHitachi: Hitachi/HGST raw 1 is a plain count (smartmontools'
	// drivedb gives these families no -v preset for 1: raw48, the default).
	VendorHitachi
)

// VendorOf classifies a model string.
func VendorOf(model string) Vendor {
	m := strings.ToUpper(strings.TrimSpace(model))
	if strings.HasPrefix(m, "HITACHI ") || strings.HasPrefix(m, "HGST ") {
		return VendorHitachi
	}
	return VendorOther
}

// DecodeReadErrors decodes attribute 1's raw value for v; -1 when the
// format is not known (Seagate packs an operation count into it, and
// drivedb gives no preset that separates them for its hard disks).
func DecodeReadErrors(v Vendor, raw int64) int64 {
	if v == VendorHitachi {
		return raw
	}
	return -1
}

// Signal is one thing a track shows. Each has a one-line explanation.
type Signal uint16

// Signals, in the order of the Signals table.
const (
	SigCounts       Signal = 1 << iota // any of 5/197/198/187 above 0
	SigPending                         // 197 or 198 above 0
	SigPendingMany                     // 197+198 at or above PendingMany
	SigFirstRealloc                    // 5 went from 0 to above 0 within the window
	SigGrowth                          // 5+197+198+187 grew within the window
	SigGrowthFast                      // ... by GrowthFast or more, and by at least half the count
	SigHighCount                       // 5 at or above HighRealloc
	SigTimeouts                        // 188 above 0
	SigLiveness                        // power-on hours fell behind the clock
	SigYoung                           // power-on hours below YoungHours
	SigReadErrors                      // vendor-decoded raw 1 at or above ReadErrorsHigh
)

// Thresholds of the signals. Chosen on design half A of the 2013 data
// (README, "How the tiers were chosen"); frozen before half B was read.
const (
	// WindowDays is the growth window.
	WindowDays = 30
	// PendingMany: pending + offline-uncorrectable sectors that are many.
	PendingMany = 32
	// GrowthFast: growth of 5+197+198+187 within WindowDays that is fast
	// (and it must be at least half of the count: fresh, not a slow creep
	// of a drive that has had thousands for years).
	GrowthFast = 32
	// HighRealloc: an absolute count of reallocated sectors that is high.
	HighRealloc = 2000
	// YoungHours: a drive younger than this is in its infant-mortality
	// period.
	YoungHours = 50
	// LivenessHours: power-on hours advancing less than this per 24 h of
	// clock (over at least 20 h between readings), on a drive that
	// advanced normally before, fall behind the clock.
	LivenessHours = 12
	// ReadErrorsHigh: decoded raw read errors this high are rare in
	// healthy drives.
	ReadErrorsHigh = 1e8
)

// Signal groups: signals of one group describe the same counters, so only
// the strongest of a group counts in the score.
const (
	GroupCounters = iota
	GroupLiveness
	GroupAge
	GroupReadErrors
	nGroups
)

// SignalInfo describes a signal: its name (in risk.score's output and
// replay's breakdown), its weight in the score and its evidence.
type SignalInfo struct {
	Sig      Signal
	Name     string
	Group    int
	Weight   float64
	Evidence string
}

// Signals lists every signal with its weight. A weight is the natural log
// of the likelihood ratio measured on design half A of Backblaze
// 2013-04-10..2013-05-19 (28 failed drives observed >= 7 days, 5,835
// never failed): ln( P(shown >= 7 days before failure | failed) /
// P(shown at any time | never failed) ), each count + 0.5, rounded to 0.5
// (README, "Risk score"). Timeouts (188) are not in that data: they weigh
// as "error counts above 0", as in Backblaze's practice.
var Signals = []SignalInfo{
	{SigCounts, "error counts above 0", GroupCounters, 2, evBackblaze5},                 // 19/28 vs 532/5835
	{SigPending, "pending/uncorrectable sectors", GroupCounters, 2.5, evPinheiroProbat}, // 7/28 vs 142/5835
	{SigPendingMany, "many pending sectors", GroupCounters, 4, evPinheiroProbat},        // 3/28 vs 15/5835
	{SigFirstRealloc, "first reallocation", GroupCounters, 4, evPinheiroRealloc},        // 3/28 vs 14/5835
	{SigGrowth, "error counts grew", GroupCounters, 2.5, evRecency},                     // 14/28 vs 217/5835
	{SigGrowthFast, "error counts grew fast", GroupCounters, 4, evRecency},              // 6/28 vs 21/5835
	{SigHighCount, "many reallocated sectors", GroupCounters, 4, evPinheiroRealloc},     // 5/28 vs 20/5835
	{SigTimeouts, "command timeouts", GroupCounters, 2, evBackblaze5},
	{SigLiveness, "power-on hours fall behind the clock", GroupLiveness, 5, evLiveness}, // 2/28 vs 3/5835
	{SigYoung, "young drive", GroupAge, 3.5, evInfant},                                  // 2/28 vs 18/5835
	{SigReadErrors, "high read error count", GroupReadErrors, 4, evReadErrors},          // 1/28 vs 6/5835
}

const (
	evLiveness   = "a drive whose power-on hours stop advancing with the clock while the rest of the fleet's do is not reporting live readings (stalled firmware, resets); measured on Backblaze 2013 data (README)"
	evInfant     = "drives fail more often in their first weeks (infant mortality; measured on Backblaze 2013 data, README)"
	evReadErrors = "Hitachi/HGST raw read errors this high are rare in healthy drives (measured on Backblaze 2013 data, README)"
)

// Tier scores: a score at or above TierNotice is NOTICE, TierWarning
// WARNING (a likelihood ratio of about 55), TierCritical CRITICAL.
const (
	TierNotice   = 1
	TierWarning  = 4
	TierCritical = 7
)

// Track is one drive's compact history: bounded, the same size whatever
// the number of readings.
type Track struct {
	// (the fields every reading touches first, the window last: a replay
	// keeps thousands of tracks, and a reading reads few cache lines)
	Vendor    Vendor
	have      bool
	startZero bool
	normal    bool
	refSet    bool
	np        int32
	first     int64 // time of the first reading
	last      Reading
	// realloc's first non-zero time, 0 = never (while 0 at the start)
	reallocFrom0 int64
	// liveness: time of the last reading where POH fell behind (as
	// confirmed by MarkLag), and whether POH (normal) ever advanced
	// normally
	lagAt int64
	// the reading liveness is measured from (20 h or more before the next
	// comparison; refSet once there is one)
	refT, refPOH int64
	// bad change points within the window (time, 5+197+198+187)
	// (at most one per day, the day's latest: a window of WindowDays
	// holds WindowDays+1 days, and one point at or before its start):
	// the first in p0, the others (most drives have none) in more,
	// allocated when a count first changes and never longer than
	// WindowDays+1 (a Track is not copied once used: more is shared)
	p0   point
	more []point
}

// point is a change point of the window.
type point struct{ t, v int64 }

// pt is change point i (i < np).
func (t *Track) pt(i int32) *point {
	if i == 0 {
		return &t.p0
	}
	return &t.more[i-1]
}

// dropFirst removes change point 0 (np >= 2).
func (t *Track) dropFirst() {
	t.p0 = t.more[0]
	t.dropSecond()
}

// dropSecond removes change point 1 (np >= 2).
func (t *Track) dropSecond() {
	copy(t.more, t.more[1:])
	t.more = t.more[:len(t.more)-1]
	t.np--
}

// RefTime is the time of the reading the next liveness comparison starts
// from.
func (t *Track) RefTime() int64 { return t.refT }

func bad(r *Reading) int64 {
	var s int64
	for _, v := range [...]int64{r.Realloc, r.Pending, r.Offline, r.Reported} {
		if v > 0 {
			s += v
		}
	}
	return s
}

// Add records a reading (readings in time order; an older one is
// ignored). It reports whether the drive's power-on hours fell behind the
// clock since the last reading after advancing normally before: the
// caller decides with MarkLag whether that is the drive (and not the
// whole fleet or host being off).
func (t *Track) Add(r Reading) (lagged bool) {
	if t.have && r.Time < t.last.Time {
		return false
	}
	if !t.have {
		t.first = r.Time
		t.startZero = r.Realloc == 0
	}
	if r.POH >= 0 {
		switch dt := r.Time - t.refT; {
		case !t.refSet:
			t.refT, t.refPOH, t.refSet = r.Time, r.POH, true
		case dt >= 20*3600:
			if float64(r.POH-t.refPOH) < LivenessHours*float64(dt)/86400 {
				lagged = t.normal
			} else {
				t.normal = true
			}
			t.refT, t.refPOH = r.Time, r.POH
		}
	}
	if t.startZero && t.reallocFrom0 == 0 && r.Realloc > 0 {
		t.reallocFrom0 = r.Time
	}
	b := bad(&r)
	switch {
	case t.np > 0 && t.pt(t.np-1).v == b:
	case t.np >= 2 && t.pt(t.np-1).t/86400 == r.Time/86400:
		*t.pt(t.np - 1) = point{r.Time, b} // the day's latest
	default:
		if t.np >= WindowDays+2 {
			// Cannot happen with one point a day; keep the base exact.
			t.dropSecond()
		}
		if t.np == 0 {
			t.p0 = point{r.Time, b}
		} else {
			t.more = append(t.more, point{r.Time, b})
		}
		t.np++
	}
	t.last, t.have = r, true
	// Keep one point at or before the window's start.
	from := r.Time - WindowDays*86400
	for t.np >= 2 && t.more[0].t <= from {
		t.dropFirst()
	}
	return lagged
}

// MarkLag confirms that the drive fell behind the clock at time at.
func (t *Track) MarkLag(at int64) { t.lagAt = max(t.lagAt, at) }

// Growth is 5+197+198+187's growth within the window (0 with fewer than
// two readings).
func (t *Track) Growth() int64 {
	if t.np < 2 {
		return 0
	}
	return t.pt(t.np-1).v - t.p0.v
}

// Signals evaluates the track at its last reading.
func (t *Track) Signals() Signal {
	if !t.have {
		return 0
	}
	r := &t.last
	var s Signal
	if r.Realloc > 0 || r.Pending > 0 || r.Offline > 0 || r.Reported > 0 {
		s |= SigCounts
	}
	if r.Pending > 0 || r.Offline > 0 {
		s |= SigPending
		if max(r.Pending, 0)+max(r.Offline, 0) >= PendingMany {
			s |= SigPendingMany
		}
	}
	if t.reallocFrom0 != 0 && r.Time-t.reallocFrom0 <= WindowDays*86400 {
		s |= SigFirstRealloc
	}
	if g := t.Growth(); g > 0 {
		s |= SigGrowth
		if g >= GrowthFast && 2*g >= bad(r) {
			s |= SigGrowthFast
		}
	}
	if r.Realloc >= HighRealloc {
		s |= SigHighCount
	}
	if t.lagAt != 0 && r.Time-t.lagAt <= WindowDays*86400 {
		s |= SigLiveness
	}
	if r.POH >= 0 && r.POH < YoungHours {
		s |= SigYoung
	}
	if r.ReadErrors >= ReadErrorsHigh {
		s |= SigReadErrors
	}
	if r.Timeouts > 0 {
		s |= SigTimeouts
	}
	return s
}

// Score is the sum over signal groups of the weight of the group's
// strongest signal in s.
func Score(s Signal) float64 {
	var best [nGroups]float64
	for i := range Signals {
		if si := &Signals[i]; s&si.Sig != 0 && si.Weight > best[si.Group] {
			best[si.Group] = si.Weight
		}
	}
	var sc float64
	for _, w := range best {
		sc += w
	}
	return sc
}

// Level is a score's tier: 0 nothing, 1 NOTICE, 2 WARNING, 3 CRITICAL.
type Level uint8

// Levels.
const (
	LevelNone Level = iota
	LevelNotice
	LevelWarning
	LevelCritical
)

// Tiers are the score lines of NOTICE, WARNING and CRITICAL (risk.score's
// notice, warn and crit parameters).
type Tiers struct{ Notice, Warning, Critical float64 }

// DefaultTiers are the lines measured on the data (README, "Risk score").
var DefaultTiers = Tiers{TierNotice, TierWarning, TierCritical}

// TiersFrom reads risk.score's global settings over the defaults.
func TiersFrom(s *Settings) Tiers {
	t := DefaultTiers
	if s == nil {
		return t
	}
	g := s.Global[riskScore.Name]
	if v, ok := g["notice"]; ok {
		t.Notice = v
	}
	if v, ok := g["warn"]; ok {
		t.Warning = v
	}
	if v, ok := g["crit"]; ok {
		t.Critical = v
	}
	return t
}

// Level is the level of a score.
func (t Tiers) Level(score float64) Level {
	switch {
	case score >= t.Critical:
		return LevelCritical
	case score >= t.Warning:
		return LevelWarning
	case score >= t.Notice:
		return LevelNotice
	}
	return LevelNone
}

// Explain says what the signals are, one phrase each: first the counts
// as facts, then per group the signal that counts in the score, with its
// weight (the others of a group add nothing and are not repeated).
func (t *Track) Explain(s Signal) []string {
	r := &t.last
	var out []string
	if s&SigCounts != 0 {
		var c []string
		for _, x := range []struct {
			v int64
			n string
		}{{r.Realloc, "reallocated"}, {r.Pending, "pending"}, {r.Offline, "offline uncorrectable"}, {r.Reported, "reported uncorrectable"}} {
			if x.v > 0 {
				c = append(c, fmt.Sprintf("%d %s", x.v, x.n))
			}
		}
		out = append(out, strings.Join(c, ", "))
	}
	var best [nGroups]*SignalInfo
	for i := range Signals {
		si := &Signals[i]
		if s&si.Sig != 0 && (best[si.Group] == nil || si.Weight > best[si.Group].Weight) {
			best[si.Group] = si
		}
	}
	if g := t.Growth(); s&SigGrowth != 0 && best[GroupCounters] != nil && best[GroupCounters].Sig&(SigGrowth|SigGrowthFast) == 0 {
		out = append(out, fmt.Sprintf("grew by %d in 30 days", g))
	}
	for _, si := range best {
		if si == nil {
			continue
		}
		var p string
		switch si.Sig {
		case SigCounts:
			p = "error counts above 0"
		case SigPending:
			p = "sectors it could not read"
		case SigPendingMany:
			p = fmt.Sprintf("%d or more pending sectors", PendingMany)
		case SigFirstRealloc:
			p = "first reallocated sectors within 30 days"
		case SigGrowth:
			p = fmt.Sprintf("grew by %d in 30 days", t.Growth())
		case SigGrowthFast:
			p = fmt.Sprintf("grew by %d in 30 days: fast (%d or more, and half the count or more)", t.Growth(), GrowthFast)
		case SigHighCount:
			p = fmt.Sprintf("%d or more reallocated sectors", HighRealloc)
		case SigTimeouts:
			p = fmt.Sprintf("%d command timeouts", r.Timeouts)
		case SigLiveness:
			p = fmt.Sprintf("power-on hours advanced less than %d h per day of clock", LivenessHours)
		case SigYoung:
			p = fmt.Sprintf("young drive: %d power-on hours", r.POH)
		case SigReadErrors:
			p = fmt.Sprintf("raw read errors %d (%.0e or more is high)", r.ReadErrors, ReadErrorsHigh)
		}
		out = append(out, fmt.Sprintf("%s (weight %s)", p, num(si.Weight)))
	}
	return out
}

// SignalName is the name of a single signal bit.
func SignalName(s Signal) string {
	for _, si := range Signals {
		if si.Sig == s {
			return si.Name
		}
	}
	return fmt.Sprintf("signal %d", int(math.Log2(float64(s))))
}
