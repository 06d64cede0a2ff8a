// Package replay runs diskwatch's failure assessment (risk.score's track,
// alerts/rules/foresight.go) over a fleet's recorded history (Backblaze
// drive-stats) as if diskwatch had watched every drive every day, and
// measures, per tier, how early alerts came and how often they cried wolf,
// next to baselines computed by the same pass.
//
// It streams: per drive it keeps one bounded track, so memory grows with
// drives, not days. Rows must come in date order; Run says ErrUnsorted
// otherwise, and backblaze.OpenSorted orders any input on disk.
package replay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/diskwatch/diskwatch/alerts/engine"
	"github.com/diskwatch/diskwatch/alerts/replay/backblaze"
	"github.com/diskwatch/diskwatch/alerts/rules"
	"github.com/diskwatch/diskwatch/collectors/model"
)

// Source yields drive-days in date order.
type Source interface {
	NextRow(ctx context.Context, row *backblaze.Row) error
}

// wanter is a source that can skip the attributes replay does not read.
type wanter interface{ Want(ids []int) }

// ErrUnsorted is returned when rows go back in time: read the data
// through backblaze.OpenSorted.
var ErrUnsorted = errors.New("rows are not in date order")

// Options configure a replay.
type Options struct {
	// Extra, when set, also receives every day's readings, one Append per
	// day (an on-disk store for --state).
	Extra engine.Store
	// AlertsOut receives one JSON line per drive ever alerted (NOTICE or
	// worse).
	AlertsOut io.Writer
	// Progress is called now and then with the number of rows read.
	Progress func(rows int64)
	// Thresholds reports whether the data carried vendor thresholds (read
	// at the end).
	Thresholds func() bool
	// BadRow is called for each unreadable row (which is skipped).
	BadRow func(err error)
	// Tiers are the score lines (zero: rules.DefaultTiers).
	Tiers rules.Tiers
	// Half keeps only the drives of one half: "A" (FNV-1a of the serial
	// even) or "B" (odd); "" keeps all. The tiers were designed on A.
	Half string
}

// Method names.
const (
	MethodWarning   = "diskwatch_warning"
	MethodNotice    = "diskwatch_notice"
	MethodBackblaze = "backblaze"
	MethodVendor    = "vendor_threshold"
)

var methodNames = [...]string{MethodWarning, MethodNotice, MethodBackblaze, MethodVendor}

const nMethods = len(methodNames)

// Interval is a proportion with its 95 % Wilson score interval.
type Interval struct {
	K    int     `json:"k"`
	N    int     `json:"n"`
	Rate float64 `json:"rate"`
	Lo   float64 `json:"lo95"`
	Hi   float64 `json:"hi95"`
}

// Wilson is k of n with its 95 % Wilson score interval.
func Wilson(k, n int) Interval {
	iv := Interval{K: k, N: n}
	if n == 0 {
		return iv
	}
	const z = 1.959963984540054
	p := float64(k) / float64(n)
	nf := float64(n)
	den := 1 + z*z/nf
	c := (p + z*z/(2*nf)) / den
	h := z * math.Sqrt(p*(1-p)/nf+z*z/(4*nf*nf)) / den
	iv.Rate, iv.Lo, iv.Hi = p, math.Max(0, c-h), math.Min(1, c+h)
	return iv
}

func (iv Interval) String() string {
	if iv.N == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%d/%d %.1f%% [%.1f–%.1f]", iv.K, iv.N, 100*iv.Rate, 100*iv.Lo, 100*iv.Hi)
}

// Figures are one method's results.
type Figures struct {
	Method string `json:"method"`
	// Available is false when the method could not be computed (vendor
	// thresholds absent from the data).
	Available bool `json:"available"`
	// Ahead["N"]: failed drives alerted at least N days before their
	// failure row, among those observed at least N days before it
	// (N = 1, 7, 30).
	Ahead map[string]Interval `json:"failed_alerted_ahead"`
	// FailedAlertedAny counts failed drives alerted at any time up to and
	// including their failure row.
	FailedAlertedAny int `json:"failed_alerted_any"`
	// MedianLeadDays is the median of (failure date - first alert date)
	// over failed drives alerted by their failure row.
	MedianLeadDays float64 `json:"median_lead_days"`
	// Healthy: never-failed drives alerted at any time in the data.
	Healthy Interval `json:"never_failed_alerted"`
	// AlarmsPerDriveYear: alert onsets (a drive going from not alerted to
	// alerted) on never-failed drives per drive-year they were observed.
	AlarmsPerDriveYear float64 `json:"false_alarms_per_drive_year"`
}

// SignalFigures are one signal's figures (how the tiers were chosen).
type SignalFigures struct {
	Signal string  `json:"signal"`
	Weight float64 `json:"weight"`
	// Ahead7: failed drives showing it >= 7 days before failure.
	Ahead7 Interval `json:"failed_ahead_7d"`
	// Healthy: never-failed drives showing it at any time.
	Healthy Interval `json:"never_failed"`
	// LR is the likelihood ratio (counts + 0.5); 0 when no drive showed
	// the signal.
	LR float64 `json:"likelihood_ratio"`
}

// Band is one row of the calibration table: drives by their highest score
// before failure (failed drives: up to 7 days before; never-failed: any
// time), and the share of them that failed.
type Band struct {
	Lo, Hi float64  `json:"-"`
	Label  string   `json:"score"`
	Failed Interval `json:"failed"`
}

// Summary is the outcome of a replay.
type Summary struct {
	Rows      int64  `json:"rows"`
	BadRows   int64  `json:"bad_rows"`
	Half      string `json:"half,omitempty"`
	Drives    int    `json:"drives"`
	Failed    int    `json:"failed"`
	Healthy   int    `json:"never_failed"`
	FirstDate string `json:"first_date"`
	LastDate  string `json:"last_date"`
	// DriveYears: never-failed drives' observed time.
	DriveYears  float64         `json:"never_failed_drive_years"`
	Methods     []Figures       `json:"methods"`
	Signals     []SignalFigures `json:"signals"`
	Calibration []Band          `json:"calibration"`
	// Warnings: odd things in the data (rows after a failure row).
	Warnings  []string `json:"warnings,omitempty"`
	Elapsed   float64  `json:"elapsed_seconds"`
	PerSecond float64  `json:"drive_days_per_second"`
}

// drive is the per-drive state a row touches: bounded, one per drive, kept
// by value in one slice in the order drives first appear (the order the
// daily files list them in), so a day's rows walk memory forward.
type drive struct {
	first, last int32 // days
	failed      int32 // last failure row, -1 none
	failures    int32 // failure rows
	seen        int32 // day of the latest row, skipped drives included
	at          int32 // the row's position in that day's rows
	fleetFirst  int32 // first day far above its model's fleet, -1 never
	modelIdx    int32 // index into the run's models
	ring        uint32
	lastR5      int64 // raw 5 of the latest row, -1 none
	skip        bool
	explained   bool        // info.worstExpl is set
	alerting    uint8       // methods alerting on the previous row
	level       rules.Level // the level of maxScore
	sigLevel    rules.Level // the level of sig's score
	sig         rules.Signal
	sigSeen     rules.Signal // signals shown on any row (info.sigFirst set)
	sigScore    float64      // rules.Score(sig), kept: recomputed only when sig changes
	maxScore    float64      // highest score at any time
	maxCode     uint16       // maxScore's index in fleet.scoreVals
	// highest score so far by day, the last few rows, a ring (for the
	// calibration at failure - 7): the day, and the score's index in
	// fleet.scoreVals
	scoreDay  [8]int32
	scoreCode [8]uint16
	track     rules.Track
}

// driveInfo is the per-drive state rows seldom touch (an alert onset, a
// new signal, a new worst score), in a slice beside the drives.
type driveInfo struct {
	serial, model string
	alert         [nMethods]int32 // first alert day per method, -1 none
	onsets        [nMethods]int32
	sigFirst      [16]int32
	worstExpl     []string
}

// entry is one drive's whole state, for the summary.
type entry struct {
	*drive
	*driveInfo
}

// noSignal is never a track's signal set: a new drive's score is computed
// on its first row.
const noSignal = rules.Signal(math.MaxUint16)

// AlertLine is one line of --alerts-out.
type AlertLine struct {
	Serial         string   `json:"serial"`
	Model          string   `json:"model"`
	FirstAlertDate string   `json:"first_alert_date"`
	Severity       string   `json:"severity"`
	Score          float64  `json:"score"`
	Signals        []string `json:"signals"`
	Failed         bool     `json:"failed"`
	FailureDate    string   `json:"failure_date,omitempty"`
}

func dayString(d int32) string { return time.Unix(int64(d)*86400, 0).UTC().Format("2006-01-02") }

// InHalf reports whether serial belongs to half h ("A" or "B").
func InHalf(serial, h string) bool {
	f := fnv.New32a()
	f.Write([]byte(serial))
	even := f.Sum32()%2 == 0
	return (h == "A") == even
}

// attribute IDs the track reads
var watched = [...]int{5, 197, 198, 187, 188, 9, 1}

// wantedIDs: the track's, and Backblaze's practice's (a subset).
var wantedIDs = watched[:]

// fleet is the state of a replay: the drives, how to find them, and the
// day's rows for the end-of-day passes.
type fleet struct {
	// drives, in chunks of chunkDrives (a drive stays where it is: no
	// copying as the fleet grows)
	chunks [][]drive
	n      int32
	info   []driveInfo
	ids    map[string]int32 // serial -> index, for rows not predicted
	models map[string]int32
	// per model: the day's raw 5 readings of 0, and those above 0
	zeros []int
	pos   [][]int64
	// the day's rows: drive, its raw 5 (-1 none) and model (arrays read
	// in order at the day's end, not the drives); dup: a drive had two
	// rows that day (its raw 5 is then its latest row's)
	today   []int32
	todayR5 []int64
	todayM  []int32
	dup     bool
	// the distinct highest scores drives reached (a score's code is its
	// index; code 0 is 0): a drive's ring keeps codes, not float64s
	scoreVals []float64
}

// scoreCode is v's index in f.scoreVals, added when new. Scores are sums
// of the signals' weights: a handful of values, looked up only when a
// drive's highest score rises.
func (f *fleet) scoreCode(v float64) uint16 {
	for i, x := range f.scoreVals {
		if x == v {
			return uint16(i)
		}
	}
	f.scoreVals = append(f.scoreVals, v)
	return uint16(len(f.scoreVals) - 1)
}

// Run replays src.
func Run(ctx context.Context, src Source, o Options, now func() time.Time) (*Summary, error) {
	start := now()
	if w, ok := src.(wanter); ok && o.Extra == nil {
		// Only the track's attributes and any with vendor thresholds
		// (the vendor baseline): the store, when there is one, gets all.
		w.Want(wantedIDs)
	}
	f := &fleet{ids: map[string]int32{}, models: map[string]int32{}, scoreVals: []float64{0}}
	sum := Summary{Half: o.Half}
	tiers := o.Tiers
	if tiers == (rules.Tiers{}) {
		tiers = rules.DefaultTiers
	}
	var row backblaze.Row
	var rec backblaze.Record
	day := int32(math.MinInt32)
	firstDay := int32(math.MaxInt32)
	var dayBatch []model.Sample
	flush := func() error {
		if o.Extra == nil || len(dayBatch) == 0 {
			return nil
		}
		err := o.Extra.Append(ctx, time.Unix(int64(day)*86400, 0).UTC(), dayBatch)
		dayBatch = dayBatch[:0]
		return err
	}
	// drives whose power-on hours fell behind the clock today, and the
	// drives read today: liveness counts only when few drives lag at once
	var lagged []int32
	dayRows := 0
	// the drives of the previous day in row order, and their serials back
	// to back (a sequential read, not a pointer per drive): serial k is
	// yArena[yEnds[k]:yEnds[k+1]]
	var yesterday []int32
	prevDay := int32(math.MinInt32)
	off := 0
	yArena, tArena := []byte(nil), []byte(nil)
	yEnds, tEnds := []int32{0}, []int32{0}
	// positions of the watched attributes in the current file's columns
	var index *[256]int16
	var pos [len(watched)]int16
	for {
		err := src.NextRow(ctx, &row)
		if err == io.EOF {
			break
		}
		if err != nil {
			var re *backblaze.RowError
			if errors.As(err, &re) {
				sum.BadRows++
				if o.BadRow != nil {
					o.BadRow(err)
				}
				continue
			}
			return nil, err
		}
		sum.Rows++
		if sum.Rows&4095 == 0 {
			if o.Progress != nil {
				o.Progress(sum.Rows)
			}
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		if row.Index != index {
			index = row.Index
			for i, id := range watched {
				pos[i] = index[id]
			}
		}
		if row.Day != day {
			if row.Day < day {
				return nil, fmt.Errorf("replay: %w (%s after %s)", ErrUnsorted, dayString(row.Day), dayString(day))
			}
			if err := flush(); err != nil {
				return nil, fmt.Errorf("replay: history store: %w", err)
			}
			f.confirmLags(lagged, dayRows, day)
			f.fleetRelative(day)
			lagged, dayRows = lagged[:0], 0
			yesterday, f.today, off = f.today, yesterday[:0], 0
			prevDay = day
			f.todayR5, f.todayM, f.dup = f.todayR5[:0], f.todayM[:0], false
			yArena, tArena = tArena, yArena[:0]
			yEnds, tEnds = tEnds, append(yEnds[:0], 0)
		}
		day = row.Day
		firstDay = min(firstDay, day)
		// Daily files list the drives in much the same order every day:
		// try yesterday's drive at this position before the map.
		// off follows drives added or gone since yesterday.
		id := int32(-1)
		for _, d := range [...]int{0, 1, -1, 2, -2} {
			if k := len(f.today) + off + d; k >= 0 && k+1 < len(yEnds) && string(yArena[yEnds[k]:yEnds[k+1]]) == string(row.Serial) {
				id, off = yesterday[k], off+d
				break
			}
		}
		if id < 0 {
			var ok bool
			if id, ok = f.ids[string(row.Serial)]; !ok {
				id = f.add(&row, o.Half)
				off-- // yesterday had no row for it
			} else if dr := f.at(id); dr.seen == prevDay && prevDay != day {
				// drives were added or went: predict from here on
				off = int(dr.at) - len(f.today)
			}
		}
		dr := f.at(id)
		f.today = append(f.today, id)
		dr.lastR5 = -1
		if i := pos[0]; i >= 0 && row.Has[i]&backblaze.HasRaw != 0 {
			dr.lastR5 = row.Raw[i]
		}
		f.todayR5, f.todayM = append(f.todayR5, dr.lastR5), append(f.todayM, dr.modelIdx)
		if dr.seen == row.Day {
			f.dup = true
		}
		dr.seen, dr.at = row.Day, int32(len(f.today)-1)
		tArena = append(tArena, row.Serial...)
		tEnds = append(tEnds, int32(len(tArena)))
		if dr.skip {
			continue
		}
		if row.Day <= dr.last {
			if row.Day == dr.last {
				continue // a duplicate row for the day: the first one counts
			}
			return nil, fmt.Errorf("replay: %w: drive %s has %s after %s", ErrUnsorted, model.Clean(f.info[id].serial), dayString(row.Day), dayString(dr.last))
		}
		dr.last = row.Day
		if row.Failure {
			dr.failed = row.Day // the last failure row wins
			dr.failures++
		}
		if o.Extra != nil {
			row.Record(&rec)
			for _, smp := range rec.Disk.Samples() {
				// A normalized value of 0 is not a SMART value (they run
				// 1..253): it is a cell the data left empty. Not stored.
				if smp.Value == 0 && strings.HasSuffix(smp.Metric, "_value") && strings.HasPrefix(smp.Metric, "smart_attr_") {
					continue
				}
				dayBatch = append(dayBatch, smp)
			}
			if len(dayBatch) >= 16384 {
				if err := flush(); err != nil {
					return nil, fmt.Errorf("replay: history store: %w", err)
				}
			}
		}
		// The track's reading.
		r := rules.NoReading
		r.Time = int64(row.Day) * 86400
		raw := func(k int) int64 {
			i := pos[k]
			if i < 0 || row.Has[i]&backblaze.HasRaw == 0 {
				return -1
			}
			return row.Raw[i]
		}
		r.Realloc, r.Pending, r.Offline, r.Reported, r.Timeouts, r.POH = raw(0), raw(1), raw(2), raw(3), raw(4), raw(5)
		if v := raw(6); v >= 0 {
			r.ReadErrors = rules.DecodeReadErrors(dr.track.Vendor, v)
		}
		dayRows++
		if dr.track.Add(r) {
			lagged = append(lagged, id)
		}
		sig := dr.track.Signals()
		if sig != dr.sig {
			// Score and level are functions of the signals alone.
			dr.sig, dr.sigScore = sig, rules.Score(sig)
			dr.sigLevel = tiers.Level(dr.sigScore)
		}
		score, level := dr.sigScore, dr.sigLevel
		var on uint8
		if level >= rules.LevelWarning {
			on |= 1
		}
		if level >= rules.LevelNotice {
			on |= 2
		}
		if r.Realloc > 0 || r.Pending > 0 || r.Offline > 0 || r.Reported > 0 || r.Timeouts > 0 {
			on |= 4
		}
		for i := range row.IDs {
			if !row.Thresholds {
				break
			}
			if row.Has[i]&(backblaze.HasNorm|backblaze.HasThresh) == backblaze.HasNorm|backblaze.HasThresh &&
				rules.AtOrBelowThresh(int(row.Norm[i]), int(row.Thresh[i])) {
				on |= 8
				break
			}
		}
		if onset := on &^ dr.alerting; onset != 0 {
			in := &f.info[id]
			for m := 0; m < nMethods; m++ {
				if onset&(1<<m) != 0 {
					in.onsets[m]++
					if in.alert[m] < 0 {
						in.alert[m] = row.Day
					}
				}
			}
		}
		dr.alerting = on
		if s := sig &^ dr.sigSeen; s != 0 {
			in := &f.info[id]
			for ; s != 0; s &= s - 1 {
				in.sigFirst[trailingZeros(s)] = row.Day
			}
			dr.sigSeen |= sig
		}
		if score > dr.maxScore || !dr.explained && level > rules.LevelNone {
			dr.maxScore, dr.level = score, level
			dr.maxCode = f.scoreCode(score)
			f.info[id].worstExpl, dr.explained = dr.track.Explain(sig), true
		}
		// cumulative maximum by day, the last 8 days (calibration at
		// failure - 7 days)
		dr.scoreDay[dr.ring%8], dr.scoreCode[dr.ring%8] = row.Day, dr.maxCode
		dr.ring++
	}
	if err := flush(); err != nil {
		return nil, fmt.Errorf("replay: history store: %w", err)
	}
	f.fleetRelative(day)
	if o.Progress != nil {
		o.Progress(sum.Rows)
	}
	thresholds := o.Thresholds != nil && o.Thresholds()
	list := make([]entry, 0, f.n)
	after := 0
	var exampleAfter string
	healthyDays := 0.0
	for i := range f.n {
		dr := f.at(i)
		if dr.skip {
			continue
		}
		list = append(list, entry{dr, &f.info[i]})
	}
	slices.SortFunc(list, func(a, b entry) int { return strings.Compare(a.serial, b.serial) })
	for _, dr := range list {
		if dr.failed >= 0 {
			sum.Failed++
			if dr.last > dr.failed {
				after++
				if exampleAfter == "" || dr.serial < exampleAfter {
					exampleAfter = dr.serial
				}
			}
		} else {
			healthyDays += float64(dr.last - dr.first + 1)
		}
	}
	sum.Drives = len(list)
	sum.Healthy = sum.Drives - sum.Failed
	sum.DriveYears = healthyDays / 365.25
	if firstDay != math.MaxInt32 {
		sum.FirstDate, sum.LastDate = dayString(firstDay), dayString(day)
		var lastDay int32
		for i := range f.n {
			lastDay = max(lastDay, f.at(i).last)
		}
		sum.LastDate = dayString(lastDay)
	}
	if after > 0 {
		sum.Warnings = append(sum.Warnings, fmt.Sprintf("%d failed drives have rows after their last failure row (e.g. %s); the failure date is the last failure row",
			after, model.Clean(exampleAfter)))
	}
	for mi, name := range methodNames {
		fig := figures(name, mi, list, sum.DriveYears)
		if mi == 3 && !thresholds {
			fig = Figures{Method: name}
		}
		sum.Methods = append(sum.Methods, fig)
	}
	sum.Signals = signalFigures(list)
	sum.Calibration = calibration(list, f.scoreVals)
	if o.AlertsOut != nil {
		enc := json.NewEncoder(o.AlertsOut)
		for _, dr := range list {
			if dr.alert[1] < 0 {
				continue
			}
			l := AlertLine{Serial: dr.serial, Model: dr.model, FirstAlertDate: dayString(dr.alert[1]),
				Severity: levelName(dr.level), Score: dr.maxScore, Signals: dr.worstExpl, Failed: dr.failed >= 0}
			if l.Failed {
				l.FailureDate = dayString(dr.failed)
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

// chunkDrives is the number of drives per chunk of fleet.chunks.
const chunkDrives = 1024

// at is drive id.
func (f *fleet) at(id int32) *drive { return &f.chunks[id/chunkDrives][id%chunkDrives] }

// add makes a drive for row's serial and returns its index.
func (f *fleet) add(row *backblaze.Row, half string) int32 {
	id := f.n
	if id%chunkDrives == 0 {
		f.chunks = append(f.chunks, make([]drive, 0, chunkDrives))
	}
	f.n++
	serial, name := string(row.Serial), string(row.Model)
	m, ok := f.models[name]
	if !ok {
		m = int32(len(f.zeros))
		f.models[name] = m
		f.zeros = append(f.zeros, 0)
		f.pos = append(f.pos, nil)
	}
	c := &f.chunks[len(f.chunks)-1]
	*c = append(*c, drive{first: row.Day, last: row.Day - 1, failed: -1, seen: math.MinInt32, fleetFirst: -1, modelIdx: m, sig: noSignal})
	dr := f.at(id)
	dr.skip = half != "" && !InHalf(serial, half)
	dr.track.Vendor = rules.VendorOf(name)
	in := driveInfo{serial: serial, model: name}
	for i := range in.alert {
		in.alert[i] = -1
	}
	for i := range in.sigFirst {
		in.sigFirst[i] = -1
	}
	f.info = append(f.info, in)
	f.ids[serial] = id
	return id
}

// FleetLagShare: when more than this share of the drives read on a day
// fall behind the clock together, it is the site (power, a pod off), not
// the drives.
const FleetLagShare = 0.001

// confirmLags marks the day's lagging drives unless too many lagged at
// once. The signal is seen from the drive's next reading on.
func (f *fleet) confirmLags(lagged []int32, rows int, day int32) {
	if len(lagged) == 0 || float64(len(lagged)) > max(1, FleetLagShare*float64(rows)) {
		return
	}
	for _, id := range lagged {
		f.at(id).track.MarkLag(int64(day) * 86400)
	}
}

// Fleet-relative position, measured but not in the score (the tiers were
// frozen before it was added): a drive whose raw 5 is above 0 and above
// its model's 99th percentile that day, among models with at least
// FleetMinDrives drives read that day.
const FleetMinDrives = 100

// fleetRelative marks the day's drives far above their model's fleet.
// The 99th percentile is the value at rank n*99/100 of the model's sorted
// readings; readings of 0 (most) are counted, only the others sorted.
func (f *fleet) fleetRelative(day int32) {
	if f.dup {
		// a drive read twice counts its latest reading each time
		for k, id := range f.today {
			f.todayR5[k] = f.at(id).lastR5
		}
	}
	for m := range f.zeros {
		f.zeros[m], f.pos[m] = 0, f.pos[m][:0]
	}
	for k, v := range f.todayR5 {
		switch m := f.todayM[k]; {
		case v == 0:
			f.zeros[m]++
		case v > 0:
			f.pos[m] = append(f.pos[m], v)
		}
	}
	// p99 per model, -1 when the model has too few drives read
	p99 := make([]int64, len(f.zeros))
	for m, z := range f.zeros {
		n := z + len(f.pos[m])
		p99[m] = -1
		if n < FleetMinDrives {
			continue
		}
		if r := n * 99 / 100; r < z {
			p99[m] = 0
		} else {
			slices.Sort(f.pos[m])
			p99[m] = f.pos[m][r-z]
		}
	}
	for k, v := range f.todayR5 {
		if q := p99[f.todayM[k]]; q >= 0 && v > 0 && v > q {
			if dr := f.at(f.today[k]); !dr.skip && dr.fleetFirst < 0 {
				dr.fleetFirst = day
			}
		}
	}
}

func levelName(l rules.Level) string {
	return [...]string{"OK", "NOTICE", "WARNING", "CRITICAL"}[l]
}

func trailingZeros(s rules.Signal) int {
	n := 0
	for s&1 == 0 {
		s >>= 1
		n++
	}
	return n
}

func figures(name string, mi int, list []entry, years float64) Figures {
	f := Figures{Method: name, Available: true, Ahead: map[string]Interval{}}
	var leads []float64
	var k, n [3]int
	healthy, hAlerted, onsets := 0, 0, 0
	for _, dr := range list {
		a := dr.alert[mi]
		if dr.failed < 0 {
			healthy++
			if a >= 0 {
				hAlerted++
			}
			onsets += int(dr.onsets[mi])
			continue
		}
		observed := dr.failed - dr.first
		lead := int32(-1)
		if a >= 0 && a <= dr.failed {
			lead = dr.failed - a
			leads = append(leads, float64(lead))
			f.FailedAlertedAny++
		}
		for i, d := range []int32{1, 7, 30} {
			if observed >= d {
				n[i]++
				if lead >= d {
					k[i]++
				}
			}
		}
	}
	for i, d := range []string{"1", "7", "30"} {
		f.Ahead[d] = Wilson(k[i], n[i])
	}
	f.Healthy = Wilson(hAlerted, healthy)
	if years > 0 {
		f.AlarmsPerDriveYear = float64(onsets) / years
	}
	f.MedianLeadDays = median(leads)
	return f
}

func signalFigures(list []entry) []SignalFigures {
	var out []SignalFigures
	for i, si := range rules.Signals {
		b := trailingZeros(si.Sig)
		var k, n, hk, hn int
		for _, dr := range list {
			first := dr.sigFirst[b]
			if dr.failed < 0 {
				hn++
				if first >= 0 {
					hk++
				}
				continue
			}
			if dr.failed-dr.first >= 7 {
				n++
				if first >= 0 && first <= dr.failed-7 {
					k++
				}
			}
		}
		sf := SignalFigures{Signal: rules.Signals[i].Name, Weight: si.Weight, Ahead7: Wilson(k, n), Healthy: Wilson(hk, hn)}
		if n > 0 && hn > 0 && k+hk > 0 {
			sf.LR = ((float64(k) + 0.5) / (float64(n) + 1)) / ((float64(hk) + 0.5) / (float64(hn) + 1))
		}
		out = append(out, sf)
	}
	// Measured only: not in the score.
	var k, n, hk, hn int
	for _, dr := range list {
		if dr.failed < 0 {
			hn++
			if dr.fleetFirst >= 0 {
				hk++
			}
			continue
		}
		if dr.failed-dr.first >= 7 {
			n++
			if dr.fleetFirst >= 0 && dr.fleetFirst <= dr.failed-7 {
				k++
			}
		}
	}
	sf := SignalFigures{Signal: FleetSignal, Ahead7: Wilson(k, n), Healthy: Wilson(hk, hn)}
	if n > 0 && hn > 0 && k+hk > 0 {
		sf.LR = ((float64(k) + 0.5) / (float64(n) + 1)) / ((float64(hk) + 0.5) / (float64(hn) + 1))
	}
	return append(out, sf)
}

// FleetSignal names the fleet-relative row of the signal table.
const FleetSignal = "far above its model's fleet (measured only)"

// scoreAt is the drive's highest score up to day d (from the last days
// kept; -1 when d is before them all and older scores were dropped).
func (dr *drive) scoreAt(d int32, vals []float64) float64 {
	best, bestDay := -1.0, int32(math.MinInt32)
	n := min(int(dr.ring), len(dr.scoreDay))
	for i, day := range dr.scoreDay[:n] {
		if day <= d && day > bestDay {
			best, bestDay = vals[dr.scoreCode[i]], day
		}
	}
	if best < 0 && int(dr.ring) > len(dr.scoreDay) {
		// All kept days are after d and older ones were dropped.
		return -1
	}
	return max(best, 0)
}

var bands = []Band{{Lo: 0, Hi: 1, Label: "0"}, {Lo: 1, Hi: 4, Label: "1–3.5 (NOTICE)"}, {Lo: 4, Hi: 7, Label: "4–6.5 (WARNING)"}, {Lo: 7, Hi: math.Inf(1), Label: "≥ 7 (CRITICAL)"}}

func calibration(list []entry, vals []float64) []Band {
	var k, n [4]int
	for _, dr := range list {
		s := dr.maxScore
		if dr.failed >= 0 {
			if dr.failed-dr.first < 7 {
				continue
			}
			if s = dr.scoreAt(dr.failed-7, vals); s < 0 {
				continue
			}
		}
		for i, b := range bands {
			if s >= b.Lo && s < b.Hi {
				n[i]++
				if dr.failed >= 0 {
					k[i]++
				}
			}
		}
	}
	out := make([]Band, len(bands))
	for i, b := range bands {
		out[i] = b
		out[i].Failed = Wilson(k[i], n[i])
	}
	return out
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

// WriteText prints the summary as tables.
func (s *Summary) WriteText(w io.Writer) {
	half := ""
	if s.Half != "" {
		half = " (half " + s.Half + ")"
	}
	fmt.Fprintf(w, "replayed %d drive-days (%s .. %s)%s, %d drives, %d failed, %d never failed (%.0f drive-years)", s.Rows, s.FirstDate, s.LastDate, half, s.Drives, s.Failed, s.Healthy, s.DriveYears)
	if s.BadRows > 0 {
		fmt.Fprintf(w, ", %d unreadable rows skipped", s.BadRows)
	}
	fmt.Fprintf(w, "\n%.1f s, %.0f drive-days/s\n", s.Elapsed, s.PerSecond)
	for _, x := range s.Warnings {
		fmt.Fprintf(w, "warning: %s\n", x)
	}
	fmt.Fprintf(w, "\nfailed drives alerted ahead, and never-failed drives alerted, with 95%% (Wilson) intervals:\n")
	fmt.Fprintf(w, "%-18s %-24s %-24s %-24s %-7s %-24s %s\n", "method", ">= 1 day", ">= 7 days", ">= 30 days", "median", "never-failed alerted", "alarms/drive-year")
	for _, m := range s.Methods {
		if !m.Available {
			fmt.Fprintf(w, "%-18s not available (the data has no vendor thresholds)\n", m.Method)
			continue
		}
		med := "n/a"
		if !math.IsNaN(m.MedianLeadDays) {
			med = fmt.Sprintf("%g d", m.MedianLeadDays)
		}
		fmt.Fprintf(w, "%-18s %-24s %-24s %-24s %-7s %-24s %.3f\n", m.Method, m.Ahead["1"], m.Ahead["7"], m.Ahead["30"], med, m.Healthy, m.AlarmsPerDriveYear)
	}
	fmt.Fprintf(w, "\nsignals (failed: shown >= 7 days ahead; never-failed: shown at any time):\n")
	fmt.Fprintf(w, "%-38s %-7s %-24s %-24s %s\n", "signal", "weight", "failed >= 7 d", "never-failed", "LR")
	for _, g := range s.Signals {
		lr := "n/a"
		if g.LR > 0 {
			lr = fmt.Sprintf("%.1f", g.LR)
		}
		fmt.Fprintf(w, "%-38s %-7g %-24s %-24s %s\n", g.Signal, g.Weight, g.Ahead7, g.Healthy, lr)
	}
	fmt.Fprintf(w, "\ncalibration (highest score up to 7 days before failure, or ever for never-failed drives):\n")
	for _, b := range s.Calibration {
		fmt.Fprintf(w, "score %-18s failed %s\n", b.Label, b.Failed)
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
