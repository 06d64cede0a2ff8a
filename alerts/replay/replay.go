// Package replay runs diskwatch's rules over a fleet's recorded history
// (Backblaze drive-stats) as if diskwatch had watched every drive every
// day, and measures how early the alerts came and how often they cried
// wolf, next to two baselines computed by the same code.
package replay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/diskwatch/diskwatch/alerts/engine"
	"github.com/diskwatch/diskwatch/alerts/history"
	"github.com/diskwatch/diskwatch/alerts/replay/backblaze"
	"github.com/diskwatch/diskwatch/alerts/rules"
	"github.com/diskwatch/diskwatch/collectors/model"
)

// Source yields drive-days in date order.
type Source interface {
	Next(ctx context.Context, rec *backblaze.Record) error
}

// Options configure a replay.
type Options struct {
	Rules    *rules.Set
	Settings *rules.Settings
	// History is what rules read (and what each day's readings go into).
	// Nil: an in-memory store sized for the rules is used.
	History interface {
		engine.Store
		rules.History
	}
	// Extra, when set, also receives every day's readings, one Append per
	// day (an on-disk store for --state).
	Extra engine.Store
	// AlertsOut receives one JSON line per drive ever alerted.
	AlertsOut io.Writer
	// Progress is called now and then with the number of rows read.
	Progress func(rows int64)
	// Thresholds reports whether the data carried vendor thresholds (read
	// at the end).
	Thresholds func() bool
	// BadRow is called for each unreadable row (which is skipped).
	BadRow func(err error)
}

// Method names.
const (
	MethodDiskwatch = "diskwatch"
	MethodBackblaze = "backblaze"
	MethodVendor    = "vendor_threshold"
)

// Figures are one method's results.
type Figures struct {
	Method string `json:"method"`
	// Available is false when the method could not be computed (vendor
	// thresholds absent from the data).
	Available bool `json:"available"`
	// FailedAlerted[N] counts failed drives alerted at least N days before
	// their failure row, among FailedObserved[N], those observed at least
	// N days before it. N is 1, 7, 30.
	FailedAlerted  map[string]int     `json:"failed_alerted"`
	FailedObserved map[string]int     `json:"failed_observed"`
	FailedRate     map[string]float64 `json:"failed_alerted_rate"`
	// FailedAlertedAny counts failed drives alerted at any time up to and
	// including their failure row.
	FailedAlertedAny int `json:"failed_alerted_any"`
	// MedianLeadDays is the median of (failure date - first alert date)
	// over failed drives alerted by their failure row.
	MedianLeadDays float64 `json:"median_lead_days"`
	// HealthyAlerted counts never-failed drives ever alerted.
	HealthyAlerted int     `json:"healthy_alerted"`
	FalseAlarmRate float64 `json:"false_alarm_rate"`
}

// Summary is the outcome of a replay.
type Summary struct {
	Rows      int64     `json:"rows"`
	BadRows   int64     `json:"bad_rows"`
	Drives    int       `json:"drives"`
	Failed    int       `json:"failed"`
	Healthy   int       `json:"never_failed"`
	FirstDate string    `json:"first_date"`
	LastDate  string    `json:"last_date"`
	Methods   []Figures `json:"methods"`
	Elapsed   float64   `json:"elapsed_seconds"`
	PerSecond float64   `json:"drive_days_per_second"`
}

// drive is the per-drive state: bounded, one per drive.
type drive struct {
	serial, model string
	first         time.Time
	failed        time.Time
	alert         [3]time.Time // first alert per method
	severity      model.Severity
	rules         []string
}

// AlertLine is one line of --alerts-out.
type AlertLine struct {
	Serial         string   `json:"serial"`
	Model          string   `json:"model"`
	FirstAlertDate string   `json:"first_alert_date"`
	Severity       string   `json:"severity"`
	Rules          []string `json:"rules"`
	Failed         bool     `json:"failed"`
	FailureDate    string   `json:"failure_date,omitempty"`
}

// Run replays src through the rules.
func Run(ctx context.Context, src Source, o Options, now func() time.Time) (*Summary, error) {
	start := now()
	hist := o.History
	if hist == nil {
		// Two 30-day windows back (acceleration compares two halves), only
		// the metrics the history rules read, runs of equal values
		// compressed: memory grows with drives, not days.
		hist = history.NewMem(60*rules.Day, true, rules.HistoryMetric)
	}
	drives := map[string]*drive{}
	var sum Summary
	var rec backblaze.Record
	var day time.Time
	var dayBatch []model.Sample
	flush := func() error {
		if o.Extra == nil || len(dayBatch) == 0 {
			return nil
		}
		err := o.Extra.Append(ctx, day, dayBatch)
		dayBatch = dayBatch[:0]
		return err
	}
	snap := &model.Snapshot{Disks: make([]model.Disk, 1)}
	in := &rules.Input{Snapshot: snap, History: hist}
	for {
		err := src.Next(ctx, &rec)
		if err == io.EOF {
			break
		}
		var re *backblaze.RowError
		if errors.As(err, &re) {
			sum.BadRows++
			if o.BadRow != nil {
				o.BadRow(err)
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		sum.Rows++
		if o.Progress != nil && sum.Rows%4096 == 0 {
			o.Progress(sum.Rows)
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		if !rec.Date.Equal(day) {
			if rec.Date.Before(day) {
				return nil, fmt.Errorf("replay: rows go back in time (%s after %s): give the files in date order",
					rec.Date.Format("2006-01-02"), day.Format("2006-01-02"))
			}
			if err := flush(); err != nil {
				return nil, fmt.Errorf("replay: history store: %w", err)
			}
			day = rec.Date
			if sum.FirstDate == "" {
				sum.FirstDate = day.Format("2006-01-02")
			}
		}
		d := &rec.Disk
		id := d.Device.ID()
		dr := drives[id]
		if dr == nil {
			dr = &drive{serial: d.Device.Serial, model: d.Device.Model, first: rec.Date}
			drives[id] = dr
		}
		samples := d.Samples()
		if err := hist.Append(ctx, rec.Date, samples); err != nil {
			return nil, fmt.Errorf("replay: history: %w", err)
		}
		if o.Extra != nil {
			for _, smp := range samples {
				// A normalized value of 0 is not a SMART value (they run
				// 1..253): it is a cell the data left empty. Not stored.
				if smp.Value == 0 && strings.HasSuffix(smp.Metric, "_value") && strings.HasPrefix(smp.Metric, "smart_attr_") {
					continue
				}
				dayBatch = append(dayBatch, smp)
			}
			// Commit in chunks: one transaction per whole fleet-day would
			// hold every drive's dirty pages in memory at once.
			if len(dayBatch) >= 16384 {
				if err := flush(); err != nil {
					return nil, fmt.Errorf("replay: history store: %w", err)
				}
			}
		}
		snap.Time = rec.Date
		snap.Disks[0] = *d
		in.Now = rec.Date
		if dr.alert[0].IsZero() {
			var fired []string
			worst := model.OK
			for _, f := range o.Rules.Evaluate(in, o.Settings) {
				if f.Severity == model.Warning || f.Severity == model.Critical {
					fired = append(fired, f.Rule)
					if f.Severity.Rank() > worst.Rank() {
						worst = f.Severity
					}
				}
			}
			if len(fired) > 0 {
				sort.Strings(fired)
				dr.alert[0], dr.severity, dr.rules = rec.Date, worst, uniq(fired)
			}
		}
		if dr.alert[1].IsZero() && backblazePractice(d) {
			dr.alert[1] = rec.Date
		}
		if dr.alert[2].IsZero() && vendorThreshold(d) {
			dr.alert[2] = rec.Date
		}
		if rec.Failure && dr.failed.IsZero() {
			dr.failed = rec.Date
			if f, ok := hist.(interface{ Forget(string) }); ok {
				f.Forget(id) // a failed drive has no more rows
			}
		}
	}
	if err := flush(); err != nil {
		return nil, fmt.Errorf("replay: history store: %w", err)
	}
	sum.LastDate = day.Format("2006-01-02")
	if o.Progress != nil {
		o.Progress(sum.Rows)
	}
	thresholds := o.Thresholds != nil && o.Thresholds()
	sum.Drives = len(drives)
	ids := make([]string, 0, len(drives))
	for id, dr := range drives {
		ids = append(ids, id)
		if !dr.failed.IsZero() {
			sum.Failed++
		}
	}
	sum.Healthy = sum.Drives - sum.Failed
	sort.Strings(ids)
	for mi, name := range []string{MethodDiskwatch, MethodBackblaze, MethodVendor} {
		f := figures(name, mi, drives, ids)
		if mi == 2 && !thresholds {
			f = Figures{Method: name}
		}
		sum.Methods = append(sum.Methods, f)
	}
	if o.AlertsOut != nil {
		enc := json.NewEncoder(o.AlertsOut)
		for _, id := range ids {
			dr := drives[id]
			if dr.alert[0].IsZero() {
				continue
			}
			l := AlertLine{Serial: dr.serial, Model: dr.model, FirstAlertDate: dr.alert[0].Format("2006-01-02"),
				Severity: dr.severity.String(), Rules: dr.rules, Failed: !dr.failed.IsZero()}
			if l.Failed {
				l.FailureDate = dr.failed.Format("2006-01-02")
			}
			if err := enc.Encode(l); err != nil {
				return nil, fmt.Errorf("replay: alerts-out: %w", err)
			}
		}
	}
	el := now().Sub(start).Seconds()
	sum.Elapsed = el
	if el > 0 {
		sum.PerSecond = float64(sum.Rows) / el
	}
	return &sum, nil
}

func uniq(s []string) []string {
	out := s[:0]
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}

// backblazePractice is Backblaze's rule: any raw of 5, 187, 188, 197, 198
// above zero.
func backblazePractice(d *model.Disk) bool {
	for _, a := range d.ATAAttributes {
		switch a.ID {
		case 5, 187, 188, 197, 198:
			if a.Raw > 0 {
				return true
			}
		}
	}
	return false
}

// vendorThreshold is SMART's own verdict: a normalized value at or below
// its vendor threshold, where the data has thresholds.
func vendorThreshold(d *model.Disk) bool {
	for _, a := range d.ATAAttributes {
		if rules.AtOrBelowThresh(a.Value, a.Thresh) {
			return true
		}
	}
	return false
}

func figures(name string, mi int, drives map[string]*drive, ids []string) Figures {
	f := Figures{Method: name, Available: true, FailedAlerted: map[string]int{}, FailedObserved: map[string]int{}, FailedRate: map[string]float64{}}
	var leads []float64
	healthy := 0
	for _, id := range ids {
		dr := drives[id]
		a := dr.alert[mi]
		if dr.failed.IsZero() {
			healthy++
			if !a.IsZero() {
				f.HealthyAlerted++
			}
			continue
		}
		observed := dr.failed.Sub(dr.first).Hours() / 24
		lead := -1.0
		if !a.IsZero() && !a.After(dr.failed) {
			lead = dr.failed.Sub(a).Hours() / 24
			leads = append(leads, lead)
			f.FailedAlertedAny++
		}
		for _, n := range []int{1, 7, 30} {
			k := fmt.Sprint(n)
			if observed >= float64(n) {
				f.FailedObserved[k]++
				if lead >= float64(n) {
					f.FailedAlerted[k]++
				}
			}
		}
	}
	for k, n := range f.FailedObserved {
		if n > 0 {
			f.FailedRate[k] = float64(f.FailedAlerted[k]) / float64(n)
		}
	}
	if healthy > 0 {
		f.FalseAlarmRate = float64(f.HealthyAlerted) / float64(healthy)
	}
	f.MedianLeadDays = median(leads)
	return f
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	sort.Float64s(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// WriteText prints the summary as a table.
func (s *Summary) WriteText(w io.Writer) {
	fmt.Fprintf(w, "replayed %d drive-days (%s .. %s), %d drives, %d failed, %d never failed", s.Rows, s.FirstDate, s.LastDate, s.Drives, s.Failed, s.Healthy)
	if s.BadRows > 0 {
		fmt.Fprintf(w, ", %d unreadable rows skipped", s.BadRows)
	}
	fmt.Fprintf(w, "\n%.1f s, %.0f drive-days/s\n\n", s.Elapsed, s.PerSecond)
	fmt.Fprintf(w, "%-18s %-16s %-16s %-16s %-10s %s\n", "method", "failed >=1 day", "failed >=7 days", "failed >=30 days", "median", "never-failed alerted")
	for _, m := range s.Methods {
		if !m.Available {
			fmt.Fprintf(w, "%-18s not available (the data has no vendor thresholds)\n", m.Method)
			continue
		}
		cell := func(k string) string {
			if m.FailedObserved[k] == 0 {
				return "n/a"
			}
			return fmt.Sprintf("%d/%d %.0f%%", m.FailedAlerted[k], m.FailedObserved[k], 100*m.FailedRate[k])
		}
		med := "n/a"
		if !math.IsNaN(m.MedianLeadDays) {
			med = fmt.Sprintf("%g d", m.MedianLeadDays)
		}
		fmt.Fprintf(w, "%-18s %-16s %-16s %-16s %-10s %d/%d %.2f%%\n", m.Method, cell("1"), cell("7"), cell("30"), med,
			m.HealthyAlerted, s.Healthy, 100*m.FalseAlarmRate)
	}
}

// MarshalJSON writes NaN medians as null.
func (f Figures) MarshalJSON() ([]byte, error) {
	type plain Figures
	var med *float64
	if !math.IsNaN(f.MedianLeadDays) {
		med = &f.MedianLeadDays
	}
	return json.Marshal(struct {
		plain
		MedianLeadDays *float64 `json:"median_lead_days"`
	}{plain(f), med})
}
