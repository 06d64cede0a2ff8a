// Package engine runs one diskwatch cycle: collect every source, store the
// readings, evaluate the rules. The daemon and the one-shot commands share
// it; time is injected.
package engine

import (
	"context"
	"time"

	"github.com/rs/zerolog"

	"github.com/diskwatch/diskwatch/alerts/rules"
	"github.com/diskwatch/diskwatch/collectors"
	"github.com/diskwatch/diskwatch/collectors/model"
)

// Store is the write side of the history store.
type Store interface {
	Append(ctx context.Context, t time.Time, samples []model.Sample) error
}

// selfReporter is a history store that reports on itself (a damaged
// store it moved aside).
type selfReporter interface {
	Findings(now time.Time) []model.Finding
}

// Engine wires collectors, history and rules together.
type Engine struct {
	Sources []collectors.Named
	// Collect, when set, takes the cycle's snapshot instead of running
	// Sources all at once (the daemon's scheduler).
	Collect  func(ctx context.Context, now time.Time) *model.Snapshot
	Rules    *rules.Set
	Settings *rules.Settings
	// Now is the clock (required).
	Now func() time.Time
	// Store, when set, receives every cycle's samples before evaluation.
	Store Store
	// History, when set, is what trend rules read.
	History rules.History
	Log     zerolog.Logger
}

// Result is the outcome of one cycle.
type Result struct {
	Snapshot *model.Snapshot `json:"snapshot"`
	Findings []model.Finding `json:"findings"`
	Status   model.Severity  `json:"status"`
}

// Cycle collects, stores and evaluates once.
func (e *Engine) Cycle(ctx context.Context) *Result {
	now := e.Now()
	var snap *model.Snapshot
	if e.Collect != nil {
		snap = e.Collect(ctx, now)
	} else {
		snap = collectors.Run(ctx, now, e.Sources)
	}
	for _, s := range snap.Sources {
		ev := e.Log.Debug()
		if s.State == model.SourceFailed || s.State == model.SourcePartial {
			ev = e.Log.Warn()
		}
		ev.Str("collector", s.Name).Str("state", s.State).Dur("took", s.Duration).Strs("errors", s.Errors).Msg("collected")
	}
	if e.Store != nil {
		if err := e.Store.Append(ctx, now, snap.Samples()); err != nil {
			// Readings are lost for this cycle; alerts still go out.
			e.Log.Warn().Err(err).Msg("history store: readings of this cycle not saved")
		}
	}
	findings := e.Rules.Evaluate(&rules.Input{Snapshot: snap, Now: now, History: withLegacy(e.History, snap)}, e.Settings)
	if r, ok := e.History.(selfReporter); ok {
		findings = append(findings, r.Findings(now)...)
		rules.Sort(findings)
	}
	if e.Store != nil {
		if err := e.Store.Append(ctx, now, AlertLevels(snap, findings)); err != nil {
			e.Log.Warn().Err(err).Msg("history store: alert levels of this cycle not saved")
		}
	}
	return &Result{Snapshot: snap, Findings: findings, Status: rules.Overall(findings)}
}

// AlertLevelMetric is the history metric holding, per subject and cycle,
// the severity of its worst WARNING-or-worse finding (0 when none): the
// report marks every rise on its charts.
const AlertLevelMetric = "alert_level"

// AlertLevels returns one alert_level sample per disk and array of the
// snapshot (UNKNOWN findings count as 0: they are about collectors).
func AlertLevels(snap *model.Snapshot, findings []model.Finding) []model.Sample {
	worst := map[string]model.Severity{}
	for _, f := range findings {
		if f.Severity == model.Warning || f.Severity == model.Critical {
			if f.Severity.Rank() > worst[f.SubjectID].Rank() {
				worst[f.SubjectID] = f.Severity
			}
		}
	}
	var out []model.Sample
	for _, d := range snap.Disks {
		id := d.Device.ID()
		out = append(out, model.Sample{Subject: id, Metric: AlertLevelMetric, Value: float64(worst[id])})
	}
	for _, a := range snap.Arrays {
		out = append(out, model.Sample{Subject: a.ID(), Metric: AlertLevelMetric, Value: float64(worst[a.ID()])})
	}
	return out
}
