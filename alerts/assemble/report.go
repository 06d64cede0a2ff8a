package assemble

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/diskwatch/diskwatch/alerts/engine"
	"github.com/diskwatch/diskwatch/alerts/report"
	"github.com/diskwatch/diskwatch/alerts/rules"
	"github.com/diskwatch/diskwatch/collectors/model"
)

// StoredHistory is what the report reads from a history: the series, and
// the subjects known only from it with their latest readings.
type StoredHistory interface {
	rules.History
	Latest(subject string) (map[string]rules.Point, error)
	Subjects() ([]string, error)
}

// Report assembles the report of snap (not modified) plus the disks
// known only from history; findings evaluates the rules on the combined
// snapshot. hist may be nil.
func Report(ctx context.Context, snap *model.Snapshot, findings func(*model.Snapshot) []model.Finding,
	hist StoredHistory, host string, now time.Time, window time.Duration, log zerolog.Logger) (*report.Report, error) {
	s := *snap
	s.Disks = append([]model.Disk(nil), snap.Disks...)
	in := report.Input{Host: host, Now: now, Since: now.Add(-window), Snapshot: &s}
	if hist != nil {
		in.History = hist
		live := len(s.Disks)+len(s.Arrays)+len(s.UPS)+len(s.Sensors) > 0
		newest, err := addStoredSubjects(&s, hist)
		if err != nil {
			log.Warn().Err(err).Msg("history store: some subjects could not be read")
		}
		if !live && !newest.IsZero() && newest.Before(now) {
			// No live readings (--no-collect, or nothing on this host): a
			// window ending now would show nothing of a store whose data
			// ended earlier (a replayed fleet). It ends at the newest
			// stored reading instead, and the rules judge as of then.
			in.Generated, in.Now, in.Since = now, newest, newest.Add(-window)
			s.Time = newest
			in.Note = fmt.Sprintf("No live readings: the report is as of the newest stored reading, %s (not now), and its %s window ends there.",
				newest.UTC().Format("2006-01-02 15:04 UTC"), windowString(window))
		}
		in.Alerts = alertMarks(hist, &s, in.Since)
	}
	in.Findings = findings(&s)
	return report.Build(ctx, in)
}

var windowRE = regexp.MustCompile(`^(\d+)([wdhm])$`)

// ParseWindow reads "90d", "2w", "36h", "30m" or a Go duration.
func ParseWindow(s string) (time.Duration, error) {
	if m := windowRE.FindStringSubmatch(s); m != nil {
		n, _ := strconv.Atoi(m[1])
		unit := map[string]time.Duration{"w": 7 * 24 * time.Hour, "d": 24 * time.Hour, "h": time.Hour, "m": time.Minute}[m[2]]
		return time.Duration(n) * unit, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q is not a duration like 90d, 2w or 36h", s)
	}
	return d, nil
}

// addStoredSubjects adds to snap the disks known only from history (a fleet
// replayed into the store, a disk since removed), rebuilt from their
// latest stored readings so the same rules judge them.
func addStoredSubjects(snap *model.Snapshot, hist StoredHistory) (newest time.Time, err error) {
	live := map[string]bool{}
	for _, d := range snap.Disks {
		live[d.Device.ID()] = true
	}
	subjects, err := hist.Subjects()
	if err != nil {
		return newest, err
	}
	var errs []error
	for _, id := range subjects {
		kind, _, ok := strings.Cut(id, ":")
		if !ok || live[id] || (kind != "wwn" && kind != "serial" && kind != "path") {
			continue
		}
		latest, err := hist.Latest(id)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		values := make(map[string]float64, len(latest))
		for m, p := range latest {
			values[m] = p.Value
			if p.Time.After(newest) {
				newest = p.Time
			}
		}
		snap.Disks = append(snap.Disks, model.DiskFromMetrics(id, values))
	}
	snap.Sort()
	return newest, errors.Join(errs...)
}

func windowString(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%d-day", d/(24*time.Hour))
	}
	return d.String()
}

// alertMarks reads the alert_level series the engine stores after each
// evaluation and marks every rise.
func alertMarks(hist StoredHistory, snap *model.Snapshot, since time.Time) map[string][]report.Mark {
	out := map[string][]report.Mark{}
	var subjects []string
	for _, d := range snap.Disks {
		subjects = append(subjects, d.Device.ID())
	}
	for _, a := range snap.Arrays {
		subjects = append(subjects, a.ID())
	}
	for _, s := range subjects {
		ps, err := hist.Series(s, engine.AlertLevelMetric, since)
		if err != nil {
			continue
		}
		prev := 0.0
		for _, p := range ps {
			if p.Value > prev {
				sev := model.Severity(int(p.Value))
				out[s] = append(out[s], report.Mark{Time: p.Time, Severity: sev.String()})
			}
			prev = p.Value
		}
	}
	return out
}
