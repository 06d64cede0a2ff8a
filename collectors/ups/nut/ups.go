package nut

import (
	"strconv"
	"strings"

	"github.com/diskwatch/diskwatch/collectors/model"
)

// ToUPS maps NUT variables (names from NUT's docs/nut-names.txt) to a
// model.UPS called name. Numbers that do not parse are left unset; the raw
// variables are kept in Vars.
func ToUPS(name string, vars map[string]string) model.UPS {
	u := model.UPS{Name: name, Source: "nut", Reachable: true, Vars: vars}
	mfr := firstOf(vars, "device.mfr", "ups.mfr")
	mdl := firstOf(vars, "device.model", "ups.model")
	if mfr != "" && !strings.HasPrefix(strings.ToLower(mdl), strings.ToLower(mfr)) {
		mdl = strings.TrimSpace(mfr + " " + mdl)
	}
	u.Model = model.Clean(mdl)
	u.Status = strings.Fields(vars["ups.status"])
	if len(u.Status) == 0 {
		u.Status = []string{}
	}
	u.ChargePercent = num(vars, "battery.charge")
	u.RuntimeSeconds = num(vars, "battery.runtime")
	u.LoadPercent = num(vars, "ups.load")
	u.InputVoltage = num(vars, "input.voltage")
	u.BatteryVoltage = num(vars, "battery.voltage")
	u.OutputVoltage = num(vars, "output.voltage")
	u.TemperatureC = num(vars, "ups.temperature")
	if u.TemperatureC == nil {
		u.TemperatureC = num(vars, "battery.temperature")
	}
	u.ChargeLowPercent = num(vars, "battery.charge.low")
	u.RuntimeLowSeconds = num(vars, "battery.runtime.low")
	u.Alarm = model.Clean(vars["ups.alarm"])
	u.SelfTest = model.Clean(vars["ups.test.result"])
	u.SelfTestFailed = SelfTestFailed(u.SelfTest)
	return u
}

// SelfTestFailed reads a ups.test.result text ("Done and passed", "Done
// and error", "Aborted", "Battery failed", ...): true when it reports a
// failure. Warnings and aborted tests are not failures.
func SelfTestFailed(s string) bool {
	l := strings.ToLower(s)
	return strings.Contains(l, "error") || strings.Contains(l, "fail") || strings.Contains(l, "bad battery") ||
		strings.Contains(l, "replace")
}

func firstOf(vars map[string]string, names ...string) string {
	for _, n := range names {
		if v := strings.TrimSpace(vars[n]); v != "" {
			return v
		}
	}
	return ""
}

func num(vars map[string]string, name string) *float64 {
	s := strings.TrimSpace(vars[name])
	if s == "" {
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != f {
		return nil
	}
	return &f
}
