package apcupsd

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/diskwatch/diskwatch/collectors/model"
)

// Status is one parsed `status` reply (or apcaccess output).
type Status struct {
	// Fields maps each key (APC, STATUS, BCHARGE, ...) to its raw value,
	// trimmed.
	Fields map[string]string
	// Keys in reply order.
	Keys []string
}

// ParseStatus parses "KEY      : value" lines. A line that is not of that
// form is reported (with its number) and skipped; every good line is kept.
func ParseStatus(lines []string) (*Status, error) {
	st := &Status{Fields: map[string]string{}}
	var errs []error
	for i, l := range lines {
		l = strings.TrimRight(l, "\r\n")
		if strings.TrimSpace(l) == "" {
			continue
		}
		k, v, ok := strings.Cut(l, ":")
		k = strings.TrimSpace(k)
		if !ok || k == "" || len(k) > 16 {
			errs = append(errs, fmt.Errorf("line %d: not \"KEY : value\": %q", i+1, clip(l)))
			continue
		}
		if _, dup := st.Fields[k]; !dup {
			st.Keys = append(st.Keys, k)
		}
		st.Fields[k] = strings.TrimSpace(v)
	}
	if len(st.Fields) == 0 && len(errs) == 0 {
		errs = append(errs, errors.New("empty status"))
	}
	return st, errors.Join(errs...)
}

// SplitLines splits apcaccess text output into lines.
func SplitLines(text string) []string {
	return strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// Quantity is a typed field value: a number and its unit as apcupsd
// writes it ("Percent", "Minutes", "Seconds", "Volts", "C", "Hz",
// "Watts"), the unit lowercased.
type Quantity struct {
	Value float64
	Unit  string
}

// Quantity parses field key as "NUMBER [UNIT]". ok is false when the field
// is absent or not a number.
func (s *Status) Quantity(key string) (q Quantity, ok bool) {
	v, present := s.Fields[key]
	if !present {
		return q, false
	}
	num, unit, _ := strings.Cut(strings.TrimSpace(v), " ")
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return q, false
	}
	return Quantity{f, strings.ToLower(strings.TrimSpace(unit))}, true
}

// Seconds reads a duration field ("30.0 Minutes", "27 Seconds", "20
// seconds", "2 Minutes") in seconds.
func (s *Status) Seconds(key string) (float64, bool) {
	q, ok := s.Quantity(key)
	if !ok {
		return 0, false
	}
	switch q.Unit {
	case "seconds", "second", "sec", "s", "":
		return q.Value, true
	case "minutes", "minute", "min":
		return q.Value * 60, true
	case "hours", "hour", "h":
		return q.Value * 3600, true
	}
	return 0, false
}

// Number reads a numeric field whose unit must be one of units (any case;
// none given: any unit).
func (s *Status) Number(key string, units ...string) (float64, bool) {
	q, ok := s.Quantity(key)
	if !ok {
		return 0, false
	}
	if len(units) == 0 {
		return q.Value, true
	}
	for _, u := range units {
		if q.Unit == strings.ToLower(u) {
			return q.Value, true
		}
	}
	return 0, false
}

// STATFLAG bits (apcupsd's include/defines.h).
const (
	flagCal         = 0x00000001
	flagTrim        = 0x00000002
	flagBoost       = 0x00000004
	flagOnline      = 0x00000008
	flagOnBatt      = 0x00000010
	flagOverload    = 0x00000020
	flagBattLow     = 0x00000040
	flagReplaceBatt = 0x00000080
	flagCommLost    = 0x00000100
	flagShutdown    = 0x00000200
	flagSlaveDown   = 0x00000800
	flagBattPresent = 0x04000000
)

// Flags returns the NUT-style status flags (OL, OB, LB, RB, OVER, CAL,
// TRIM, BOOST, FSD, plus NOBATT) from STATUS and STATFLAG together, and
// whether the UPS is reachable (not COMMLOST / SLAVEDOWN).
func (s *Status) Flags() (flags []string, reachable bool) {
	set := map[string]bool{}
	reachable = true
	words := strings.Fields(strings.ToUpper(s.Fields["STATUS"]))
	for i := 0; i < len(words); i++ {
		switch w := words[i]; w {
		case "ONLINE":
			set["OL"] = true
		case "ONBATT":
			set["OB"] = true
		case "LOWBATT":
			set["LB"] = true
		case "REPLACEBATT":
			set["RB"] = true
		case "OVERLOAD":
			set["OVER"] = true
		case "CAL":
			set["CAL"] = true
		case "TRIM":
			set["TRIM"] = true
		case "BOOST":
			set["BOOST"] = true
		case "NOBATT":
			set["NOBATT"] = true
		case "COMMLOST", "SLAVEDOWN":
			reachable = false
		case "SHUTTING":
			if i+1 < len(words) && words[i+1] == "DOWN" {
				i++
			}
			set["FSD"] = true
		}
	}
	if f, ok := s.statFlag(); ok {
		for bit, n := range map[uint64]string{flagCal: "CAL", flagTrim: "TRIM", flagBoost: "BOOST", flagOnline: "OL",
			flagOnBatt: "OB", flagOverload: "OVER", flagBattLow: "LB", flagReplaceBatt: "RB", flagShutdown: "FSD"} {
			if f&bit != 0 {
				set[n] = true
			}
		}
		if f&(flagCommLost|flagSlaveDown) != 0 {
			reachable = false
		}
	}
	for _, n := range []string{"OL", "OB", "LB", "RB", "OVER", "CAL", "TRIM", "BOOST", "FSD", "NOBATT"} {
		if set[n] {
			flags = append(flags, n)
		}
	}
	if flags == nil {
		flags = []string{}
	}
	return flags, reachable
}

// statFlag parses "0x0500000A" (optionally followed by "Status Flag").
func (s *Status) statFlag() (uint64, bool) {
	v := strings.Fields(s.Fields["STATFLAG"])
	if len(v) == 0 {
		return 0, false
	}
	f, err := strconv.ParseUint(strings.TrimPrefix(strings.ToLower(v[0]), "0x"), 16, 32)
	return f, err == nil
}

// SelfTestFailed reads SELFTEST: "OK" passed, "NO" no result, "IP" in
// progress; "BT" (battery capacity) and "NG" (failed, e.g. overload) are
// failures.
func SelfTestFailed(v string) bool {
	switch strings.ToUpper(strings.TrimSpace(v)) {
	case "BT", "NG":
		return true
	}
	return false
}

// ToUPS maps a status to a model.UPS called name.
func ToUPS(name string, s *Status) model.UPS {
	u := model.UPS{Name: name, Source: "apcupsd", Vars: s.Fields}
	u.Status, u.Reachable = s.Flags()
	if !u.Reachable {
		u.Error = "apcupsd reports " + model.Clean(s.Fields["STATUS"]) + ": it has lost contact with the UPS"
	}
	u.Model = model.Clean(s.Fields["MODEL"])
	set := func(dst **float64, v float64, ok bool) {
		if ok {
			*dst = &v
		}
	}
	v, ok := s.Number("BCHARGE", "percent")
	set(&u.ChargePercent, v, ok)
	v, ok = s.Seconds("TIMELEFT")
	set(&u.RuntimeSeconds, v, ok)
	v, ok = s.Number("LOADPCT", "percent", "percent load capacity")
	set(&u.LoadPercent, v, ok)
	v, ok = s.Number("LINEV", "volts")
	set(&u.InputVoltage, v, ok)
	v, ok = s.Number("BATTV", "volts")
	set(&u.BatteryVoltage, v, ok)
	v, ok = s.Number("OUTPUTV", "volts")
	set(&u.OutputVoltage, v, ok)
	v, ok = s.Number("ITEMP", "c")
	set(&u.TemperatureC, v, ok)
	v, ok = s.Number("MBATTCHG", "percent")
	set(&u.ChargeLowPercent, v, ok)
	v, ok = s.Seconds("MINTIMEL")
	set(&u.RuntimeLowSeconds, v, ok)
	if u.HasStatus("OB") {
		v, ok = s.Seconds("TONBATT")
		set(&u.OnBatterySeconds, v, ok)
	}
	u.SelfTest = model.Clean(s.Fields["SELFTEST"])
	u.SelfTestFailed = SelfTestFailed(u.SelfTest)
	return u
}
