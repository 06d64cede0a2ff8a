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

// Engine wires collectors, history and rules together.
type Engine struct {
	Sources  []collectors.Named
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
	Findings []rules.Finding `json:"findings"`
	Status   rules.Severity  `json:"status"`
}

// Cycle collects, stores and evaluates once.
func (e *Engine) Cycle(ctx context.Context) *Result {
	now := e.Now()
	snap := collectors.Run(ctx, now, e.Sources)
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
	findings := e.Rules.Evaluate(&rules.Input{Snapshot: snap, Now: now, History: e.History}, e.Settings)
	return &Result{Snapshot: snap, Findings: findings, Status: rules.Overall(findings)}
}
