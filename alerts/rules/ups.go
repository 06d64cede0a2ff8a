package rules

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/diskwatch/diskwatch/collectors/model"
)

// UPSRules are the UPS rules (NUT and apcupsd alike: both are mapped to
// NUT status flags).
func UPSRules() []*Rule {
	return []*Rule{upsCommLost, upsOnBattery, upsLowBattery, upsForcedShutdown, upsReplaceBattery, upsOverload,
		upsRuntimeLow, upsChargeFalling, upsSelfTest, upsAlarm, upsBypass, upsOutputOff, upsNoShutdown, upsInfo}
}

func upsMatch(u *model.UPS) model.Match { return model.Match{Path: u.Name, Model: u.Model} }

func upsSubject(u *model.UPS) string {
	if u.Model != "" {
		return model.Clean(u.Name) + " (" + model.Clean(u.Model) + ")"
	}
	return model.Clean(u.Name)
}

func upsFinding(u *model.UPS, sev model.Severity, msg, remedy string) model.Finding {
	return model.Finding{Severity: sev, Subject: upsSubject(u), SubjectID: u.Name, Message: msg, Remedy: remedy,
		Match: upsMatch(u), Evidence: []string{"status: " + strings.Join(u.Status, " ")}}
}

// eachUPS calls f for every UPS that could be read.
func eachUPS(in *Input, f func(u *model.UPS)) {
	for i := range in.Snapshot.UPS {
		if u := &in.Snapshot.UPS[i]; u.Reachable {
			f(u)
		}
	}
}

// upsState describes charge and runtime for messages.
func upsState(u *model.UPS) string {
	var p []string
	if u.ChargePercent != nil {
		p = append(p, fmt.Sprintf("charge %.0f%%", *u.ChargePercent))
	}
	if u.RuntimeSeconds != nil && *u.RuntimeSeconds > 0 {
		p = append(p, "about "+roughDuration(time.Duration(*u.RuntimeSeconds)*time.Second)+" runtime left")
	}
	if u.LoadPercent != nil {
		p = append(p, fmt.Sprintf("load %.0f%%", *u.LoadPercent))
	}
	return strings.Join(p, ", ")
}

func withState(msg string, u *model.UPS) string {
	if s := upsState(u); s != "" {
		return msg + "; " + s
	}
	return msg
}

var upsCommLost = &Rule{
	Name:    "ups.comm_lost",
	Summary: "a UPS cannot be read: its server is down or its driver lost the UPS (CRITICAL: a power cut would go unnoticed)",
	Eval: func(in *Input, _ Params) []model.Finding {
		var out []model.Finding
		for i := range in.Snapshot.UPS {
			u := &in.Snapshot.UPS[i]
			if u.Reachable {
				continue
			}
			f := upsFinding(u, model.Critical, fmt.Sprintf("communication with UPS %s lost: %s", model.Clean(u.Name), model.Clean(u.Error)),
				"check the UPS cable and its driver (upsc / apcaccess on the UPS host), and that upsd/apcupsd runs and listens")
			f.Evidence = nil
			out = append(out, f)
		}
		return out
	},
}

// runStart returns when the current run of value 1 of (subject, metric)
// began, looking back up to lookback; ok is false without history.
func runStart(in *Input, subject, metric string, lookback time.Duration) (time.Time, bool) {
	if in.History == nil {
		return time.Time{}, false
	}
	pts, err := in.History.Series(subject, metric, in.Now.Add(-lookback))
	if err != nil || len(pts) == 0 {
		return time.Time{}, false
	}
	start := time.Time{}
	for i := len(pts) - 1; i >= 0; i-- {
		if pts[i].Value < 0.5 {
			break
		}
		start = pts[i].Time
	}
	return start, !start.IsZero()
}

// recovered reports whether the last stored point before now of (subject,
// metric) was 1 (the condition held at the previous cycle) and, if so,
// since when it had held.
func recovered(in *Input, subject, metric string, lookback time.Duration) (since time.Time, ok bool) {
	if in.History == nil {
		return time.Time{}, false
	}
	pts, err := in.History.Series(subject, metric, in.Now.Add(-lookback))
	if err != nil {
		return time.Time{}, false
	}
	// Drop this cycle's own sample(s), stored before evaluation.
	for len(pts) > 0 && !pts[len(pts)-1].Time.Before(in.Now) {
		pts = pts[:len(pts)-1]
	}
	if len(pts) == 0 || pts[len(pts)-1].Value < 0.5 {
		return time.Time{}, false
	}
	since = pts[len(pts)-1].Time
	for i := len(pts) - 1; i >= 0 && pts[i].Value >= 0.5; i-- {
		since = pts[i].Time
	}
	return since, true
}

var upsOnBattery = &Rule{
	Name:    "ups.on_battery",
	Summary: "a UPS runs on battery: mains power is lost (WARNING); when it comes back, says once how long it lasted (OK)",
	Params:  map[string]float64{"lookback_h": 24},
	Eval: func(in *Input, p Params) []model.Finding {
		var out []model.Finding
		eachUPS(in, func(u *model.UPS) {
			lookback := time.Duration(p.Get("lookback_h", upsMatch(u)) * float64(time.Hour))
			if !u.HasStatus("OB") {
				if !u.HasStatus("OL") {
					return
				}
				if since, ok := recovered(in, u.Name, "ups_on_battery", lookback); ok {
					d := in.Now.Sub(since)
					f := upsFinding(u, model.OK, withState(fmt.Sprintf("%s is back on line after %s on battery", model.Clean(u.Name), roughDuration(d)), u), "")
					f.Values = map[string]float64{"on_battery_s": d.Seconds()}
					out = append(out, f)
				}
				return
			}
			msg := fmt.Sprintf("%s is ON BATTERY: mains power is lost", model.Clean(u.Name))
			var dur time.Duration
			if start, ok := runStart(in, u.Name, "ups_on_battery", lookback); ok && in.Now.Sub(start) > 0 {
				dur = in.Now.Sub(start)
			} else if u.OnBatterySeconds != nil && *u.OnBatterySeconds > 0 {
				dur = time.Duration(*u.OnBatterySeconds) * time.Second
			}
			if dur > 0 {
				msg = fmt.Sprintf("%s is ON BATTERY for %s: mains power is lost", model.Clean(u.Name), roughDuration(dur))
			}
			if u.HasStatus("OL") {
				msg += " (it also says OL: contradictory status, possibly a driver bug)"
			}
			f := upsFinding(u, model.Warning, withState(msg, u), "check the mains supply; save work and prepare for shutdown if it does not return")
			f.Values = map[string]float64{"on_battery_s": dur.Seconds()}
			out = append(out, f)
		})
		return out
	},
}

var upsLowBattery = &Rule{
	Name:    "ups.low_battery",
	Summary: "a UPS reports low battery (LB), or on battery its charge is at or below its own low limit (CRITICAL: shutdown is imminent); LB while on line is a WARNING",
	Eval: func(in *Input, _ Params) []model.Finding {
		var out []model.Finding
		eachUPS(in, func(u *model.UPS) {
			lb := u.HasStatus("LB")
			belowOwn := u.HasStatus("OB") && u.ChargePercent != nil && u.ChargeLowPercent != nil && *u.ChargePercent <= *u.ChargeLowPercent
			if !lb && !belowOwn {
				return
			}
			msg := fmt.Sprintf("%s reports LOW BATTERY", model.Clean(u.Name))
			remedy := "systems on this UPS are about to be shut down; restore mains power or shut down cleanly now"
			sev := model.Critical
			if u.HasStatus("OL") && !u.HasStatus("OB") {
				// Not an emergency while mains holds (upsmon itself acts only
				// on OB LB), but a power cut now would be.
				sev = model.Warning
				msg += " while on line (the battery is recharging, worn, or too small for the load)"
				remedy = "a power cut now would shut systems down at once; if it stays low on line, reduce the load or replace the battery"
			} else if !lb {
				msg = fmt.Sprintf("%s battery charge is at or below its low limit (%.0f%%)", model.Clean(u.Name), *u.ChargeLowPercent)
			}
			out = append(out, upsFinding(u, sev, withState(msg, u), remedy))
		})
		return out
	},
}

var upsForcedShutdown = &Rule{
	Name:    "ups.forced_shutdown",
	Summary: "a UPS is in forced shutdown (FSD, apcupsd SHUTTING DOWN) (CRITICAL)",
	Eval: func(in *Input, _ Params) []model.Finding {
		var out []model.Finding
		eachUPS(in, func(u *model.UPS) {
			if u.HasStatus("FSD") {
				out = append(out, upsFinding(u, model.Critical, withState(fmt.Sprintf("%s is in FORCED SHUTDOWN: systems powered by it are shutting down", model.Clean(u.Name)), u),
					"if unexpected, check upsmon/apcupsd logs for who set FSD"))
			}
		})
		return out
	},
}

var upsReplaceBattery = &Rule{
	Name:    "ups.replace_battery",
	Summary: "a UPS asks for its battery to be replaced (RB, REPLACEBATT) or has none (NOBATT) (CRITICAL)",
	Eval: func(in *Input, _ Params) []model.Finding {
		var out []model.Finding
		eachUPS(in, func(u *model.UPS) {
			switch {
			case u.HasStatus("NOBATT"):
				out = append(out, upsFinding(u, model.Critical, fmt.Sprintf("%s has NO BATTERY: it cannot carry a power cut", model.Clean(u.Name)), "connect or replace the battery"))
			case u.HasStatus("RB"):
				out = append(out, upsFinding(u, model.Critical, withState(fmt.Sprintf("%s says REPLACE BATTERY: it may not carry a power cut", model.Clean(u.Name)), u),
					"replace the battery, then run a self-test (upscmd UPS test.battery.start / apctest) to clear the flag"))
			}
		})
		return out
	},
}

var upsOverload = &Rule{
	Name:    "ups.overload",
	Summary: "a UPS is overloaded (OVER, OVERLOAD) (CRITICAL)",
	Eval: func(in *Input, _ Params) []model.Finding {
		var out []model.Finding
		eachUPS(in, func(u *model.UPS) {
			if u.HasStatus("OVER") {
				out = append(out, upsFinding(u, model.Critical, withState(fmt.Sprintf("%s is OVERLOADED: it may drop the load", model.Clean(u.Name)), u),
					"move equipment to another UPS or circuit"))
			}
		})
		return out
	},
}

var upsRuntimeLow = &Rule{
	Name: "ups.runtime_low",
	Summary: "remaining battery runtime is below min_runtime_s: on battery CRITICAL; on line with a charged battery " +
		"(>= full_charge_pct) WARNING, as the battery no longer lasts",
	Params: map[string]float64{"min_runtime_s": 300, "full_charge_pct": 90},
	Eval: func(in *Input, p Params) []model.Finding {
		var out []model.Finding
		eachUPS(in, func(u *model.UPS) {
			if u.RuntimeSeconds == nil {
				return
			}
			m := upsMatch(u)
			minRT := p.Get("min_runtime_s", m)
			rt := *u.RuntimeSeconds
			if rt >= minRT {
				return
			}
			limit := roughDuration(time.Duration(minRT) * time.Second)
			switch {
			case u.HasStatus("OB"):
				f := upsFinding(u, model.Critical, withState(fmt.Sprintf("%s has only %s of battery runtime left (limit %s)", model.Clean(u.Name), roughDuration(time.Duration(rt)*time.Second), limit), u),
					"shut down now, cleanly, unless mains power returns")
				f.Values = map[string]float64{"runtime_s": rt, "min_runtime_s": minRT}
				out = append(out, f)
			case u.HasStatus("OL") && rt > 0 && u.ChargePercent != nil && *u.ChargePercent >= p.Get("full_charge_pct", m) &&
				(u.LoadPercent == nil || *u.LoadPercent > 0):
				// A runtime with no load at all is a driver constant, not an estimate.
				f := upsFinding(u, model.Warning, withState(fmt.Sprintf("%s would last only %s on battery although charged (limit %s)", model.Clean(u.Name), roughDuration(time.Duration(rt)*time.Second), limit), u),
					"reduce the load on this UPS or replace its battery; a calibration (runtime test) refreshes the estimate")
				f.Values = map[string]float64{"runtime_s": rt, "min_runtime_s": minRT}
				out = append(out, f)
			}
		})
		return out
	},
}

var upsChargeFalling = &Rule{
	Name: "ups.charge_falling",
	Summary: "on battery, the charge falls more than factor times faster than the UPS's own runtime estimate implies " +
		"(or faster than max_pct_per_min without an estimate), over the last window_min minutes (WARNING: the runtime estimate is optimistic)",
	Params: map[string]float64{"window_min": 10, "factor": 2, "max_pct_per_min": 5},
	Eval: func(in *Input, p Params) []model.Finding {
		var out []model.Finding
		if in.History == nil {
			return nil
		}
		eachUPS(in, func(u *model.UPS) {
			if !u.HasStatus("OB") {
				return
			}
			m := upsMatch(u)
			since := in.Now.Add(-time.Duration(p.Get("window_min", m) * float64(time.Minute)))
			if start, ok := runStart(in, u.Name, "ups_on_battery", 24*time.Hour); ok && start.After(since) {
				since = start // only the discharge, not the time on line before it
			}
			ch, err := in.History.Series(u.Name, "ups_battery_charge_percent", since)
			if err != nil || len(ch) < 2 {
				return
			}
			first, last := ch[0], ch[len(ch)-1]
			span := last.Time.Sub(first.Time).Seconds()
			if span < 60 || first.Value <= last.Value {
				return
			}
			rate := (first.Value - last.Value) / span * 60 // % per minute
			var expected float64
			rts, _ := in.History.Series(u.Name, "ups_battery_runtime_seconds", first.Time)
			if len(rts) > 0 && rts[0].Value > 0 && first.Value > 0 {
				expected = first.Value / (rts[0].Value / 60)
			}
			var msg string
			switch {
			case expected > 0 && rate > p.Get("factor", m)*expected:
				msg = fmt.Sprintf("%s battery charge falls %.1f%%/min, %.1f times faster than its runtime estimate implies (%.1f%%/min): it will last less than it says",
					model.Clean(u.Name), rate, rate/expected, expected)
			case expected == 0 && rate > p.Get("max_pct_per_min", m):
				msg = fmt.Sprintf("%s battery charge falls %.1f%%/min (limit %.1f%%/min)", model.Clean(u.Name), rate, p.Get("max_pct_per_min", m))
			default:
				return
			}
			f := upsFinding(u, model.Warning, withState(msg, u), "plan to shut down earlier than the runtime estimate; test or replace the battery after power returns")
			f.Values = map[string]float64{"pct_per_min": rate, "expected_pct_per_min": expected}
			out = append(out, f)
		})
		return out
	},
}

var upsSelfTest = &Rule{
	Name:    "ups.self_test",
	Summary: "the UPS's last self-test failed (apcupsd SELFTEST BT/NG, NUT ups.test.result with error/fail) (CRITICAL), or ended with a warning (WARNING)",
	Eval: func(in *Input, _ Params) []model.Finding {
		var out []model.Finding
		eachUPS(in, func(u *model.UPS) {
			switch {
			case u.SelfTestFailed:
				f := upsFinding(u, model.Critical, fmt.Sprintf("%s self-test FAILED: %q", model.Clean(u.Name), u.SelfTest),
					"the battery probably cannot carry the load: replace it, then run a self-test again")
				f.Evidence = append(f.Evidence, "self-test: "+u.SelfTest)
				out = append(out, f)
			case strings.Contains(strings.ToLower(u.SelfTest), "warning"):
				f := upsFinding(u, model.Warning, fmt.Sprintf("%s self-test ended with a warning: %q", model.Clean(u.Name), u.SelfTest),
					"check the UPS's front panel or log, and test again")
				f.Evidence = append(f.Evidence, "self-test: "+u.SelfTest)
				out = append(out, f)
			}
		})
		return out
	},
}

// alarmCritical are alarm texts that mean the UPS would not protect the
// load (the real texts seen in NUT dumps: "No battery installed!",
// "BATTERIES_DISCONNECTED", "Battery bad!", "Internal failure!").
var alarmCritical = []string{"no battery", "batteries_disconnected", "battery disconnected", "battery bad", "failure", "fault"}

var upsAlarm = &Rule{
	Name: "ups.alarm",
	Summary: "a UPS raises an alarm (ALARM flag or ups.alarm text) not already covered by another rule: WARNING, " +
		"CRITICAL when the text says the battery is missing or bad or the UPS failed",
	Eval: func(in *Input, _ Params) []model.Finding {
		var out []model.Finding
		eachUPS(in, func(u *model.UPS) {
			text := strings.TrimSpace(u.Alarm)
			if text == "" && !u.HasStatus("ALARM") {
				return
			}
			l := strings.ToLower(text)
			if text != "" && covered(u, l) {
				return
			}
			sev := model.Warning
			for _, c := range alarmCritical {
				if strings.Contains(l, c) {
					sev = model.Critical
				}
			}
			msg := fmt.Sprintf("%s raises an alarm: %s", model.Clean(u.Name), model.Clean(text))
			if text == "" {
				if u.HasStatus("RB") || u.HasStatus("OVER") || u.HasStatus("FSD") || u.HasStatus("LB") || u.HasStatus("BYPASS") {
					return // the flag that caused it has its own rule
				}
				msg = fmt.Sprintf("%s raises an alarm without saying why", model.Clean(u.Name))
			}
			f := upsFinding(u, sev, msg, "check the UPS's front panel and its log (upsc / apcaccess for details)")
			if text != "" {
				f.Evidence = append(f.Evidence, "alarm: "+model.Clean(text))
			}
			out = append(out, f)
		})
		return out
	},
}

// covered reports whether an alarm text only repeats a flag another rule
// already reports.
func covered(u *model.UPS, l string) bool {
	parts := strings.FieldsFunc(l, func(r rune) bool { return r == '!' || r == '.' || r == ';' })
	rest := 0
	for _, p := range parts {
		p = strings.TrimSpace(p)
		switch {
		case p == "":
		case strings.Contains(p, "replace battery") && u.HasStatus("RB"):
		case strings.Contains(p, "shutdown imminent") && u.HasStatus("FSD"):
		case strings.Contains(p, "overload") && u.HasStatus("OVER"):
		case strings.Contains(p, "low battery") && u.HasStatus("LB"):
		default:
			rest++
		}
	}
	return rest == 0
}

var upsInfo = &Rule{
	Name: "ups.info",
	Summary: "informational UPS states (OK): TRIM/BOOST (correcting mains voltage), CAL (calibrating), " +
		"HB (high battery), WAIT (upsd has no data from the driver yet), DISCHRG while on line, no status reported",
	Eval: func(in *Input, _ Params) []model.Finding {
		var out []model.Finding
		eachUPS(in, func(u *model.UPS) {
			var notes []string
			if len(u.Status) == 0 {
				notes = append(notes, "reports no status (normal for a PDU)")
			}
			for flag, note := range map[string]string{
				"TRIM": "trims high mains voltage", "BOOST": "boosts low mains voltage", "CAL": "is calibrating its battery",
				"HB":   "reports high battery voltage",
				"WAIT": "has no data yet (upsd waits for its driver)",
			} {
				if u.HasStatus(flag) {
					notes = append(notes, note)
				}
			}
			if u.HasStatus("DISCHRG") && u.HasStatus("OL") && !u.HasStatus("OB") {
				notes = append(notes, "discharges its battery while on line")
			}
			if len(notes) == 0 {
				return
			}
			sort.Strings(notes)
			out = append(out, upsFinding(u, model.OK, fmt.Sprintf("%s %s", model.Clean(u.Name), strings.Join(notes, "; ")), ""))
		})
		return out
	},
}
