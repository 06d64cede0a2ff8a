package rules

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/diskwatch/diskwatch/collectors/model"
)

// History rules: what a disk's stored readings say about where it is going.
// They need a history store (rules.Input.History); without one they say
// nothing. The current-state SMART rules (health FAILED, at/below vendor
// threshold, NVMe critical warning) live in smart.go; these are about
// change over time and about the combined failure risk.

// Published evidence quoted in messages, in the sources' own terms (only
// figures checked against the source are quoted as figures).
const (
	evPinheiroRealloc = "Pinheiro et al., FAST 2007: a first reallocation is strongly correlated with a higher probability of failure"
	evPinheiroScan    = "Pinheiro et al., FAST 2007: after a first scan error drives were 39x likelier to fail within 60 days"
	evPinheiroProbat  = "Pinheiro et al., FAST 2007: a first probational (pending) sector is strongly correlated with a higher probability of failure"
	evBackblaze5      = "Backblaze ('What SMART Stats Tell Us About Hard Drives', 2016) investigates a drive when raw 5, 187, 188, 197 or 198 is above 0"
	evRecency         = "the FAST 2007 figures are for the 60 days after a count first appears or grows: growth within the window puts the disk in that period"
	evCRC             = "UDMA CRC errors are transfer errors between drive and controller: usually a loose or bad SATA cable or backplane, rarely the drive"
	evNVMeMedia       = "NVMe media and data integrity errors are unrecovered data errors (NVM Express base spec, SMART/Health log, bytes 160-175)"
	evSCSIDefects     = "a growing SCSI grown-defect list is the SAS counterpart of ATA reallocations (the same evidence)"
)

// HistoryRules are the trend and risk rules. Growth of a media-error counter
// alone is NOTICE (on Backblaze data 3.7 % of never-failed drives show some
// within 40 days, README): risk.score pages when the counters say a disk is
// really going.
func HistoryRules() []*Rule {
	return []*Rule{
		growthRule("trend.reallocated", "reallocated sectors (SMART 5)", model.Notice, []string{model.AttrRaw(5)}, evPinheiroRealloc,
			"back up now; run a long self-test (smartctl -t long) and plan the replacement"),
		growthRule("trend.pending", "pending sectors (SMART 197)", model.Notice, []string{model.AttrRaw(197)}, evPinheiroProbat,
			"back up now; run a long self-test to force remapping, then watch whether reallocations follow"),
		growthRule("trend.uncorrectable", "uncorrectable errors (SMART 187/198)", model.Notice, []string{model.AttrRaw(187), model.AttrRaw(198)}, evPinheiroScan,
			"back up now and replace the disk: it lost data it could not recover"),
		growthRule("trend.timeouts", "command timeouts (SMART 188)", model.Notice, []string{model.AttrRaw(188)}, evBackblaze5,
			"check the kernel log for resets; check cabling and power; if it keeps growing, replace the disk"),
		growthRule("trend.crc", "interface CRC errors (SMART 199)", model.Warning, []string{model.AttrRaw(199)}, evCRC,
			"reseat or replace the SATA cable (or backplane slot); this is usually not the disk"),
		growthRule("trend.nvme_media", "NVMe media errors", model.Notice, []string{model.MetricNVMeMediaErrors}, evNVMeMedia,
			"back up now; check nvme error-log; plan the replacement"),
		growthRule("trend.scsi_defects", "SCSI grown defects", model.Notice, []string{model.MetricSCSIGrownDefects}, evSCSIDefects,
			"back up now and plan the replacement"),
		growthRule("trend.scsi_uncorrected", "SCSI uncorrected errors", model.Notice, []string{model.MetricSCSIReadUncorrected, model.MetricSCSIWriteUncorrected, model.MetricSCSIVerifyUncorrected}, evPinheiroScan,
			"back up now and replace the disk"),
		trendWear, trendTemperature, riskScore,
	}
}

// historyMetrics are the metrics the history rules read.
var historyMetrics = map[string]bool{
	model.AttrRaw(5): true, model.AttrRaw(187): true, model.AttrRaw(188): true, model.AttrRaw(197): true,
	model.AttrRaw(198): true, model.AttrRaw(199): true, model.AttrValue(177): true, model.AttrValue(231): true,
	model.AttrValue(233): true, model.MetricNVMeMediaErrors: true, model.MetricNVMePercentageUsed: true,
	model.MetricNVMeAvailableSpare: true, model.MetricSCSIGrownDefects: true, model.MetricSCSIReadUncorrected: true,
	model.MetricSCSIWriteUncorrected: true, model.MetricSCSIVerifyUncorrected: true, model.MetricTemperatureC: true,
}

// HistoryMetric reports whether the history rules read metric; a store
// that must stay small (replay's in-memory one) may keep only these.
func HistoryMetric(metric string) bool { return historyMetrics[metric] }

func diskMatch(d *model.Disk) model.Match {
	return model.Match{Path: d.Device.Path, Serial: d.Device.Serial, Model: d.Device.Model}
}

func diskFinding(d *model.Disk, sev model.Severity, msg, remedy string) model.Finding {
	return model.Finding{Severity: sev, Subject: d.Device.Display(), SubjectID: d.Device.ID(), Message: msg, Remedy: remedy, Match: diskMatch(d)}
}

// metricValue reads one metric of a disk's current readings, by the names
// model.Disk.Samples uses, without building every sample.
func metricValue(d *model.Disk, metric string) (float64, bool) { return d.Metric(metric) }

// series reads (subject, metric) since from, with the current reading
// appended when the store does not have it yet (a store that failed to
// write, or an engine without a store): the newest point is always now's.
func series(in *Input, id, metric string, from time.Time, cur float64, have bool) []Point {
	var ps []Point
	if in.History != nil {
		ps, _ = in.History.Series(id, metric, from)
	}
	if have {
		if l, ok := Last(ps); !ok || l.Time.Before(in.Now) {
			ps = append(ps[:len(ps):len(ps)], Point{Time: in.Now, Value: cur})
		}
	}
	return ps
}

func baseline(in *Input, id, metric string) (Point, bool) {
	if b, ok := in.History.(Baselines); ok && in.History != nil {
		return b.Baseline(id, metric)
	}
	return Point{}, false
}

// growth is what a counter did within the window, against an
// acknowledged baseline when there is one.
type growth struct {
	cur, inc float64
	accel    bool
	acked    *Point
}

func counterGrowth(in *Input, id, metric string, cur float64, window time.Duration) growth {
	from := in.Now.Add(-window)
	ps := series(in, id, metric, from.Add(-window), cur, true)
	g := growth{cur: cur}
	w := WithBase(ps, from)
	if b, ok := baseline(in, id, metric); ok {
		g.acked = &b
		if !b.Time.Before(from) {
			w = append([]Point{b}, Window(ps, b.Time.Add(time.Nanosecond))...)
		}
	}
	g.inc = Increase(w)
	if g.acked != nil && cur <= g.acked.Value {
		g.inc = 0 // at or below what the operator accepted
	}
	g.accel = Accelerating(ps, in.Now, window/2, 2, 2)
	return g
}

// growthRule builds a "counter grew within the window" rule over metrics.
func growthRule(name, what string, sev model.Severity, metrics []string, evidence, remedy string) *Rule {
	return &Rule{
		Name: name,
		Summary: what + " grew within window_days (by at least min_increase, beyond any acknowledged baseline): " + sev.String() +
			"; needs the history store",
		Params: map[string]float64{"window_days": 30, "min_increase": 1},
		Eval: func(in *Input, p Params) []model.Finding {
			var out []model.Finding
			for i := range in.Snapshot.Disks {
				d := &in.Snapshot.Disks[i]
				if d.Skipped != "" {
					continue
				}
				m := diskMatch(d)
				window := time.Duration(p.Get("window_days", m) * float64(Day))
				for _, metric := range metrics {
					cur, ok := metricValue(d, metric)
					if !ok {
						continue
					}
					g := counterGrowth(in, d.Device.ID(), metric, cur, window)
					if g.inc <= 0 || g.inc < p.Get("min_increase", m) {
						continue
					}
					msg := fmt.Sprintf("%s: %s grew by %s in the last %s to %s", d.Device.Display(), what, num(g.inc), days(window), num(cur))
					if g.acked != nil {
						msg += fmt.Sprintf(" (acknowledged %s on %s)", num(g.acked.Value), g.acked.Time.UTC().Format("2006-01-02"))
					}
					if g.accel {
						msg += "; growth is accelerating"
					}
					f := diskFinding(d, sev, msg, remedy)
					f.Evidence = []string{evidence}
					f.Values = map[string]float64{metric: cur, "increase": g.inc}
					out = append(out, f)
				}
			}
			return out
		},
	}
}

// wearMetric is an SSD wear indicator as "percent of rated life used".
type wearMetric struct {
	metric string
	used   func(v float64) float64
}

var wearMetrics = []wearMetric{
	{model.MetricNVMePercentageUsed, func(v float64) float64 { return v }},
	{model.AttrValue(177), func(v float64) float64 { return 100 - v }}, // Wear_Leveling_Count (normalized, 100 = new)
	{model.AttrValue(231), func(v float64) float64 { return 100 - v }}, // SSD_Life_Left
	{model.AttrValue(233), func(v float64) float64 { return 100 - v }}, // Media_Wearout_Indicator
}

var trendWear = &Rule{
	Name: "trend.wear",
	Summary: "SSD wear projected from its rate over window_days: WARNING when rated life ends within warn_days, CRITICAL within crit_days; " +
		"also NVMe available spare dropping by spare_drop points within the window",
	Params: map[string]float64{"window_days": 30, "min_span_days": 7, "warn_days": 180, "crit_days": 30, "spare_drop": 10},
	Eval: func(in *Input, p Params) []model.Finding {
		var out []model.Finding
		for i := range in.Snapshot.Disks {
			d := &in.Snapshot.Disks[i]
			if d.Skipped != "" || in.History == nil {
				continue
			}
			m := diskMatch(d)
			window := time.Duration(p.Get("window_days", m) * float64(Day))
			minSpan := time.Duration(p.Get("min_span_days", m) * float64(Day))
			for _, wm := range wearMetrics {
				cur, ok := metricValue(d, wm.metric)
				if !ok || (wm.metric != model.MetricNVMePercentageUsed && d.Device.RotationRate > 0) {
					continue
				}
				raw := series(in, d.Device.ID(), wm.metric, in.Now.Add(-window), cur, true)
				used := make([]Point, len(raw))
				for j, pt := range raw {
					used[j] = Point{pt.Time, wm.used(pt.Value)}
				}
				rate, ok := RatePerDay(used, in.Now, window, minSpan)
				if !ok || rate <= 0 {
					continue
				}
				left := DaysUntil(wm.used(cur), 100, rate)
				sev := model.OK
				switch {
				case left <= p.Get("crit_days", m):
					sev = model.Critical
				case left <= p.Get("warn_days", m):
					sev = model.Warning
				}
				if sev == model.OK {
					continue
				}
				f := diskFinding(d, sev, fmt.Sprintf("%s: SSD wear %.0f%% used, growing %.2f points/day: rated endurance reached in about %.0f days",
					d.Device.Display(), wm.used(cur), rate, left), "plan the replacement; move write-heavy workloads elsewhere")
				f.Values = map[string]float64{"wear_used_percent": wm.used(cur), "wear_per_day": rate, "days_left": left}
				out = append(out, f)
				break
			}
			if cur, ok := metricValue(d, model.MetricNVMeAvailableSpare); ok {
				ps := series(in, d.Device.ID(), model.MetricNVMeAvailableSpare, in.Now.Add(-window), cur, true)
				hi := cur
				for _, pt := range ps {
					hi = math.Max(hi, pt.Value)
				}
				if drop := hi - cur; drop >= p.Get("spare_drop", m) {
					f := diskFinding(d, model.Warning, fmt.Sprintf("%s: NVMe available spare fell by %.0f points in %s to %.0f%%: the drive is consuming spare blocks",
						d.Device.Display(), drop, days(window), cur), "back up; plan the replacement")
					f.Values = map[string]float64{model.MetricNVMeAvailableSpare: cur, "drop": drop}
					out = append(out, f)
				}
			}
		}
		return out
	},
}

var trendTemperature = &Rule{
	Name: "trend.temperature",
	Summary: "temperature at or above max_c (CRITICAL at crit_c) held for hold_minutes, clearing only below max_c - hysteresis_c; " +
		"or at or below min_c for hold_minutes",
	Params: map[string]float64{"max_c": 60, "crit_c": 70, "min_c": 5, "hold_minutes": 30, "hysteresis_c": 5},
	Eval: func(in *Input, p Params) []model.Finding {
		var out []model.Finding
		for i := range in.Snapshot.Disks {
			d := &in.Snapshot.Disks[i]
			if d.Skipped != "" || d.TemperatureC == nil || in.History == nil {
				continue
			}
			m := diskMatch(d)
			cur := *d.TemperatureC
			hold := time.Duration(p.Get("hold_minutes", m) * float64(time.Minute))
			maxC, critC, minC, hyst := p.Get("max_c", m), p.Get("crit_c", m), p.Get("min_c", m), p.Get("hysteresis_c", m)
			ps := series(in, d.Device.ID(), model.MetricTemperatureC, in.Now.Add(-hold-24*time.Hour), cur, true)
			hot := Hysteresis{On: maxC, Off: maxC - hyst}.State(ps) &&
				HeldFor(ps, in.Now, hold, func(v float64) bool { return v > maxC-hyst })
			cold := Hysteresis{On: minC, Off: minC + hyst, Falling: true}.State(ps) &&
				HeldFor(ps, in.Now, hold, func(v float64) bool { return v < minC+hyst })
			switch {
			case hot:
				sev := model.Warning
				if HeldFor(ps, in.Now, hold, func(v float64) bool { return v >= critC }) {
					sev = model.Critical
				}
				f := diskFinding(d, sev, fmt.Sprintf("%s: temperature %.0f °C, at or above %.0f °C for %s or more", d.Device.Display(), cur, maxC, roughDuration(hold)),
					"check airflow, fans and the room; sustained heat shortens drive life")
				f.Values = map[string]float64{model.MetricTemperatureC: cur}
				out = append(out, f)
			case cold:
				f := diskFinding(d, model.Warning, fmt.Sprintf("%s: temperature %.0f °C, at or below %.0f °C for %s or more", d.Device.Display(), cur, minC, roughDuration(hold)),
					"drives are rated for about 5 °C and up; check the environment")
				f.Values = map[string]float64{model.MetricTemperatureC: cur}
				out = append(out, f)
			}
		}
		return out
	},
}

// Counters of the track, per protocol: ATA attributes, and their NVMe and
// SCSI counterparts (media errors and uncorrected reads count as
// uncorrectable errors, grown defects as reallocations).
var trackMetrics = []struct {
	metric string
	field  func(r *Reading) *int64
}{
	{model.AttrRaw(5), func(r *Reading) *int64 { return &r.Realloc }},
	{model.AttrRaw(197), func(r *Reading) *int64 { return &r.Pending }},
	{model.AttrRaw(198), func(r *Reading) *int64 { return &r.Offline }},
	{model.AttrRaw(187), func(r *Reading) *int64 { return &r.Reported }},
	{model.AttrRaw(188), func(r *Reading) *int64 { return &r.Timeouts }},
	{model.MetricPowerOnHours, func(r *Reading) *int64 { return &r.POH }},
	{model.AttrRaw(1), func(r *Reading) *int64 { return &r.ReadErrors }},
	{model.MetricNVMeMediaErrors, func(r *Reading) *int64 { return &r.Reported }},
	{model.MetricSCSIGrownDefects, func(r *Reading) *int64 { return &r.Realloc }},
	{model.MetricSCSIReadUncorrected, func(r *Reading) *int64 { return &r.Reported }},
}

// diskTrack rebuilds a disk's track from the history store (the last two
// windows) and its current reading. An acknowledged count reads as 0 until
// it grows past the acknowledged value. Power-on hours falling behind the
// clock count only while diskwatch kept reading the disk (so not because
// the host was off).
func diskTrack(in *Input, d *model.Disk, id string) *Track {
	t := &Track{Vendor: VendorOf(d.Device.Model)}
	since := in.Now.Add(-2 * WindowDays * Day)
	type pt struct {
		at time.Time
		m  int
		v  float64
	}
	var pts []pt
	base := make([]float64, len(trackMetrics))
	for mi, tm := range trackMetrics {
		if b, ok := baseline(in, id, tm.metric); ok {
			base[mi] = b.Value
		}
		cur, have := metricValue(d, tm.metric)
		for _, p := range series(in, id, tm.metric, since, cur, have) {
			pts = append(pts, pt{p.Time, mi, p.Value})
		}
	}
	sort.SliceStable(pts, func(i, j int) bool { return pts[i].at.Before(pts[j].at) })
	r := NoReading
	var prev time.Time
	maxGap := time.Duration(0)
	for k, p := range pts {
		v := p.v
		tm := trackMetrics[p.m]
		switch {
		case tm.metric == model.AttrRaw(1):
			r.ReadErrors = DecodeReadErrors(t.Vendor, int64(v))
		case tm.metric != model.MetricPowerOnHours && base[p.m] > 0:
			*tm.field(&r) = int64(max(0, v-base[p.m])) // counted from the acknowledged value
		default:
			*tm.field(&r) = int64(v)
		}
		if k+1 < len(pts) && pts[k+1].at.Equal(p.at) {
			continue // the rest of this reading first
		}
		r.Time = p.at.Unix()
		if !prev.IsZero() {
			maxGap = max(maxGap, p.at.Sub(prev))
		}
		prev = p.at
		lagged := t.Add(r)
		if t.RefTime() == r.Time {
			// A liveness comparison ended here: it counts only when
			// diskwatch read the disk all along (the host was up).
			if lagged && maxGap < 12*time.Hour {
				t.MarkLag(r.Time)
			}
			maxGap = 0
		}
	}
	return t
}

var riskScore = &Rule{
	Name: "risk.score",
	Summary: "failure-risk score per disk from its readings over 30 days: the sum over signal groups of the strongest signal's weight " +
		"(weights and tiers measured on Backblaze data, README 'Risk score'); NOTICE from notice, WARNING from warn, CRITICAL from crit points",
	Params: map[string]float64{"notice": TierNotice, "warn": TierWarning, "crit": TierCritical},
	Eval: func(in *Input, p Params) []model.Finding {
		var out []model.Finding
		for i := range in.Snapshot.Disks {
			d := &in.Snapshot.Disks[i]
			if d.Skipped != "" {
				continue
			}
			m := diskMatch(d)
			t := diskTrack(in, d, d.Device.ID())
			sig := t.Signals()
			if sig == 0 {
				continue
			}
			score := Score(sig)
			sev := model.OK
			switch {
			case score >= p.Get("crit", m):
				sev = model.Critical
			case score >= p.Get("warn", m):
				sev = model.Warning
			case score >= p.Get("notice", m):
				sev = model.Notice
			}
			f := diskFinding(d, sev, fmt.Sprintf("%s: failure-risk score %s: %s", d.Device.Display(), num(score), strings.Join(t.Explain(sig), "; ")), "")
			switch sev {
			case model.Critical, model.Warning:
				f.Remedy = "back up the disk now and plan its replacement"
			case model.Notice:
				f.Remedy = "make sure it is backed up; nothing to replace yet"
			}
			for _, si := range Signals {
				if sig&si.Sig != 0 {
					f.Evidence = append(f.Evidence, si.Evidence)
				}
			}
			sort.Strings(f.Evidence)
			f.Evidence = dedup(f.Evidence)
			f.Values = map[string]float64{"risk_score": score}
			out = append(out, f)
		}
		return out
	},
}

func dedup(s []string) []string {
	out := s[:0]
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func days(d time.Duration) string {
	n := d.Hours() / 24
	if n == 1 {
		return "day"
	}
	return num(math.Round(n*10)/10) + " days"
}
