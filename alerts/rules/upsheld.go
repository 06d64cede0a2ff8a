package rules

import (
	"fmt"
	"time"

	"github.com/diskwatch/diskwatch/collectors/model"
)

// UPS states that are normal for a moment (a UPS switching to bypass for a
// transfer, an output cycled on purpose) and a problem when they last: the
// load is unprotected (BYPASS) or unpowered (OFF). They warn once held for
// hold_minutes after being clear before, measured from the history store.
// A single reading (no store, the first time) is information, and so is a
// flag present in every reading diskwatch ever took: real NUT dumps show
// drivers that always report OFF or BYPASS (megatec, blazer), and a state
// that never changed is not news.

// heldSince is when (subject, metric) last became 1, looking back up to
// lookback; known is false without a history store; fromStart is set when
// the state held since the first stored reading (never seen otherwise).
func heldSince(in *Input, subject, metric string, lookback time.Duration) (since time.Time, known, fromStart bool) {
	if in.History == nil {
		return in.Now, false, false
	}
	pts, err := in.History.Series(subject, metric, in.Now.Add(-lookback))
	if err != nil || len(pts) == 0 {
		return in.Now, true, true
	}
	since = in.Now
	i := len(pts) - 1
	for ; i >= 0 && pts[i].Value >= 0.5; i-- {
		since = pts[i].Time
	}
	if since.After(in.Now) {
		since = in.Now
	}
	return since, true, i < 0
}

// heldRule builds a "flag held for hold_minutes" UPS rule.
func heldRule(name, flag, metric, summary, what, remedy string) *Rule {
	return &Rule{
		Name:    name,
		Summary: summary,
		Params:  map[string]float64{"hold_minutes": 5},
		Eval: func(in *Input, p Params) []model.Finding {
			var out []model.Finding
			eachUPS(in, func(u *model.UPS) {
				if !u.HasStatus(flag) {
					return
				}
				hold := time.Duration(p.Get("hold_minutes", upsMatch(u)) * float64(time.Minute))
				since, known, fromStart := heldSince(in, u.Name, metric, 30*Day)
				held := in.Now.Sub(since)
				var f model.Finding
				switch {
				case known && fromStart && held > 0:
					// Never seen otherwise: more often a driver that always
					// reports the flag than an output that went off.
					f = upsFinding(u, model.OK, withState(fmt.Sprintf("%s %s every time diskwatch read it (%s); it warns when the state starts after being clear",
						model.Clean(u.Name), what, roughDuration(held)), u), remedy)
				case !known:
					f = upsFinding(u, model.OK, withState(fmt.Sprintf("%s %s (for how long is unknown without the history store; with --state it warns after %s)",
						model.Clean(u.Name), what, roughDuration(hold)), u), remedy)
				case held < hold:
					f = upsFinding(u, model.OK, withState(fmt.Sprintf("%s %s since %s ago (warns after %s)", model.Clean(u.Name), what, roughDuration(held), roughDuration(hold)), u), remedy)
				default:
					f = upsFinding(u, model.Warning, withState(fmt.Sprintf("%s %s for %s", model.Clean(u.Name), what, roughDuration(held)), u), remedy)
				}
				f.Values = map[string]float64{"held_s": held.Seconds(), "hold_s": hold.Seconds()}
				out = append(out, f)
			})
			return out
		},
	}
}

var upsBypass = heldRule("ups.bypass", "BYPASS", "ups_bypass",
	"a UPS feeds its load on bypass, straight from the mains, unprotected, for hold_minutes or more after being off bypass (WARNING; shorter, never seen otherwise, or without history: info)",
	"is ON BYPASS: the load is fed from the mains, unprotected,",
	"if not intended (maintenance), check the UPS for an inverter fault or overload; a power cut now drops the load")

var upsOutputOff = heldRule("ups.output_off", "OFF", "ups_output_off",
	"a UPS reports its output OFF (NUT OFF: the load is not powered by it) for hold_minutes or more after its output was on (WARNING, as upsmon's NOTIFY OFF; shorter, never seen otherwise, or without history: info)",
	"reports its OUTPUT OFF: equipment on it is not powered or not protected,",
	"if not intended, switch the output on (front panel, or upscmd UPS load.on); some old megatec drivers report OFF wrongly — "+
		"then disable this rule for that UPS (devices: [{match: {path: NAME}, rules: {ups.output_off: {enabled: false}}}])")
