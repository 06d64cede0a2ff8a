package rules

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/diskwatch/diskwatch/collectors/model"
)

// SensorRules are the environment sensor rules (hwmon, drive
// temperatures, external probes).
func SensorRules() []*Rule {
	return []*Rule{sensorLimit, sensorAlarm, sensorRising, sensorFanStopped, sensorGone}
}

// SubjectLister is an optional extension of History: the subjects that
// have samples of metric at or after since. sensor.disappeared needs it.
type SubjectLister interface {
	SubjectsWithMetric(metric string, since time.Time) ([]string, error)
}

func sensorMatch(s *model.Sensor) model.Match { return model.Match{Path: s.ID, Model: s.Chip} }

func sensorSubject(s *model.Sensor) string {
	n := model.Clean(s.ID)
	if s.Label != "" && !strings.Contains(s.ID, s.Label) {
		n += " (" + model.Clean(s.Label) + ")"
	}
	if s.Device != "" {
		n += " [" + model.Clean(s.Device) + "]"
	}
	return n
}

func sensorFinding(s *model.Sensor, sev model.Severity, msg, remedy string) model.Finding {
	return model.Finding{Severity: sev, Subject: sensorSubject(s), SubjectID: s.ID, Message: msg, Remedy: remedy,
		Match: sensorMatch(s), Values: map[string]float64{"value": s.Value}, Related: nonEmpty(s.Disk)}
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

func fmtVal(v float64, unit string) string {
	switch unit {
	case "C":
		return fmt.Sprintf("%.1f°C", v)
	case "rpm":
		return fmt.Sprintf("%.0f rpm", v)
	case "%":
		return fmt.Sprintf("%.1f%%", v)
	}
	return fmt.Sprintf("%.3g %s", v, unit)
}

// saneLimit drops limits chips report but do not mean: 0 on voltage,
// current, power and fan channels that were never configured, and
// temperatures outside -60..200 °C (the NVMe driver's 65261.85 °C "no
// limit", the -273.15 °C minimum).
func saneLimit(s *model.Sensor, p *float64) (float64, bool) {
	if p == nil || math.IsNaN(*p) {
		return 0, false
	}
	v := *p
	switch s.Kind {
	case "temperature":
		return v, v > -60 && v < 200 && v != 0
	case "humidity":
		return v, v > 0 && v <= 100
	default:
		return v, v != 0
	}
}

var sensorLimit = &Rule{
	Name: "sensor.limit",
	Summary: "a sensor is above its critical limit (CRITICAL), above its maximum or below its minimum (WARNING); " +
		"limits are the chip's own or the probe's, or temp_max / temp_crit (°C, 0 = the sensor's own) set globally or per sensor (devices: match: {path: SENSOR-ID})",
	Params: map[string]float64{"temp_max": 0, "temp_crit": 0},
	Eval: func(in *Input, p Params) []model.Finding {
		var out []model.Finding
		for i := range in.Snapshot.Sensors {
			s := &in.Snapshot.Sensors[i]
			m := sensorMatch(s)
			mx, hasMax := saneLimit(s, s.Max)
			cr, hasCrit := saneLimit(s, s.Crit)
			mn, hasMin := saneLimit(s, s.Min)
			if s.Kind == "temperature" {
				if v := p.Get("temp_max", m); v != 0 {
					mx, hasMax = v, true
				}
				if v := p.Get("temp_crit", m); v != 0 {
					cr, hasCrit = v, true
				}
				// A chip's low limit is no failure to page for; a probe's min
				// is the user's own (a room going cold: heating failed).
				hasMin = hasMin && (s.Chip == "command" || s.Chip == "file")
			}
			if hasMin && hasMax && mn >= mx {
				hasMin, hasMax = false, false // an unconfigured channel
			}
			var f model.Finding
			switch {
			case hasCrit && s.Value >= cr:
				f = sensorFinding(s, model.Critical, fmt.Sprintf("%s reads %s, at or above its critical limit %s", sensorSubject(s), fmtVal(s.Value, s.Unit), fmtVal(cr, s.Unit)),
					remedyFor(s))
				f.Values["crit"] = cr
			case hasMax && s.Value > mx:
				f = sensorFinding(s, model.Warning, fmt.Sprintf("%s reads %s, above its maximum %s", sensorSubject(s), fmtVal(s.Value, s.Unit), fmtVal(mx, s.Unit)),
					remedyFor(s))
				f.Values["max"] = mx
			case hasMin && s.Value < mn && !(s.Kind == "fan" && s.Value == 0):
				// A fan at 0 rpm is sensor.fan_stopped's, which knows whether it
				// ever spun.
				f = sensorFinding(s, model.Warning, fmt.Sprintf("%s reads %s, below its minimum %s", sensorSubject(s), fmtVal(s.Value, s.Unit), fmtVal(mn, s.Unit)),
					remedyFor(s))
				f.Values["min"] = mn
			default:
				continue
			}
			out = append(out, f)
		}
		return out
	},
}

func remedyFor(s *model.Sensor) string {
	switch s.Kind {
	case "temperature":
		if s.Disk != "" || s.Chip == "drivetemp" || s.Chip == "nvme" {
			return "improve the drive's cooling (airflow, fans, dust); a hot drive wears fast"
		}
		return "check cooling: fans, airflow, dust, room temperature"
	case "fan":
		return "check the fan: cable, bearing, dust"
	case "voltage", "current", "power":
		return "check the power supply; if the limits are wrong for this board, set them in the chip's sensors configuration"
	case "humidity":
		return "check the room's humidity control"
	}
	return ""
}

var sensorAlarm = &Rule{
	Name: "sensor.alarm",
	Summary: "a chip raises its own alarm flag on a temperature or fan sensor (WARNING); on voltage/current/power " +
		"channels, whose limits are often never configured, the flag is only reported (OK)",
	Eval: func(in *Input, _ Params) []model.Finding {
		var out []model.Finding
		for i := range in.Snapshot.Sensors {
			s := &in.Snapshot.Sensors[i]
			if !s.Alarm {
				continue
			}
			if s.Kind == "temperature" || s.Kind == "fan" {
				out = append(out, sensorFinding(s, model.Warning, fmt.Sprintf("%s: the chip raises its alarm (reading %s)", sensorSubject(s), fmtVal(s.Value, s.Unit)), remedyFor(s)))
				continue
			}
			out = append(out, sensorFinding(s, model.OK, fmt.Sprintf("%s: the chip's alarm flag is set (reading %s); its limits may not be configured", sensorSubject(s), fmtVal(s.Value, s.Unit)), ""))
		}
		return out
	},
}

var sensorRising = &Rule{
	Name:    "sensor.rising",
	Summary: "a temperature rises at or faster than rise_c_per_10min over the last window_min minutes (WARNING): cooling failed",
	Params:  map[string]float64{"rise_c_per_10min": 10, "window_min": 10, "min_span_min": 2},
	Eval: func(in *Input, p Params) []model.Finding {
		if in.History == nil {
			return nil
		}
		var out []model.Finding
		for i := range in.Snapshot.Sensors {
			s := &in.Snapshot.Sensors[i]
			if s.Kind != "temperature" {
				continue
			}
			m := sensorMatch(s)
			pts, err := in.History.Series(s.ID, "sensor_temperature", in.Now.Add(-time.Duration(p.Get("window_min", m)*float64(time.Minute))))
			if err != nil || len(pts) < 2 {
				continue
			}
			// Rise from the coolest point in the window to now.
			low := pts[0]
			for _, q := range pts {
				if q.Value < low.Value {
					low = q
				}
			}
			span := in.Now.Sub(low.Time)
			if span < time.Duration(p.Get("min_span_min", m)*float64(time.Minute)) {
				continue
			}
			rise := s.Value - low.Value
			rate := rise / span.Minutes() * 10
			if rise <= 0 || rate < p.Get("rise_c_per_10min", m) {
				continue
			}
			f := sensorFinding(s, model.Warning, fmt.Sprintf("%s rises fast: %s → %s in %s (%.1f°C per 10 min)", sensorSubject(s),
				fmtVal(low.Value, "C"), fmtVal(s.Value, "C"), roughDuration(span), rate), remedyFor(s))
			f.Values["c_per_10min"] = rate
			out = append(out, f)
		}
		return out
	},
}

var sensorFanStopped = &Rule{
	Name:    "sensor.fan_stopped",
	Summary: "a fan reads 0 rpm although it spun (above min_rpm) within the last lookback_h hours (CRITICAL); a fan that never spun is not reported",
	Params:  map[string]float64{"min_rpm": 100, "lookback_h": 24},
	Eval: func(in *Input, p Params) []model.Finding {
		if in.History == nil {
			return nil
		}
		var out []model.Finding
		for i := range in.Snapshot.Sensors {
			s := &in.Snapshot.Sensors[i]
			if s.Kind != "fan" || s.Value > 0 {
				continue
			}
			m := sensorMatch(s)
			pts, err := in.History.Series(s.ID, "sensor_fan", in.Now.Add(-time.Duration(p.Get("lookback_h", m)*float64(time.Hour))))
			if err != nil {
				continue
			}
			var last *Point
			for j := range pts {
				if pts[j].Value >= p.Get("min_rpm", m) {
					last = &pts[j]
				}
			}
			if last == nil {
				continue
			}
			f := sensorFinding(s, model.Critical, fmt.Sprintf("%s has STOPPED: 0 rpm, it ran at %s %s ago", sensorSubject(s), fmtVal(last.Value, "rpm"), roughDuration(in.Now.Sub(last.Time))),
				remedyFor(s))
			f.Values["last_rpm"] = last.Value
			out = append(out, f)
		}
		return out
	},
}

var sensorGone = &Rule{
	Name: "sensor.disappeared",
	Summary: "a sensor that reported within the last lookback_h hours reports no more (WARNING): a probe unplugged, a drive " +
		"gone, a driver unloaded (needs a history store that lists subjects)",
	Params: map[string]float64{"lookback_h": 1},
	Eval: func(in *Input, p Params) []model.Finding {
		sl, ok := in.History.(SubjectLister)
		if !ok || in.History == nil {
			return nil
		}
		now := map[string]bool{}
		for _, s := range in.Snapshot.Sensors {
			now[s.ID] = true
		}
		var out []model.Finding
		for _, kind := range []string{"temperature", "fan", "voltage", "current", "power", "humidity", "other"} {
			metric := "sensor_" + kind
			subs, err := sl.SubjectsWithMetric(metric, in.Now.Add(-time.Duration(p.Get("lookback_h", model.Match{})*float64(time.Hour))))
			if err != nil {
				continue
			}
			sort.Strings(subs)
			for _, id := range subs {
				if now[id] {
					continue
				}
				m := model.Match{Path: id}
				pts, err := in.History.Series(id, metric, in.Now.Add(-time.Duration(p.Get("lookback_h", m)*float64(time.Hour))))
				if err != nil || len(pts) == 0 {
					continue
				}
				last := pts[len(pts)-1]
				out = append(out, model.Finding{Severity: model.Warning, Subject: model.Clean(id), SubjectID: id, Match: m,
					Message: fmt.Sprintf("%s (%s) disappeared: last reading %s, %s ago", model.Clean(id), kind,
						fmtVal(last.Value, unitOfKind(kind)), roughDuration(in.Now.Sub(last.Time))),
					Remedy: "check that the probe is plugged in, the drive is present and the sensor driver is loaded",
					Values: map[string]float64{"last_value": last.Value}})
			}
		}
		return out
	},
}

func unitOfKind(k string) string {
	switch k {
	case "temperature":
		return "C"
	case "fan":
		return "rpm"
	case "voltage":
		return "V"
	case "current":
		return "A"
	case "power":
		return "W"
	case "humidity":
		return "%"
	}
	return ""
}
