package main

import (
	"time"

	"github.com/diskwatch/diskwatch/alerts/config"
	"github.com/diskwatch/diskwatch/collectors"
	"github.com/diskwatch/diskwatch/collectors/hostroot"
	"github.com/diskwatch/diskwatch/collectors/mdraid"
	"github.com/diskwatch/diskwatch/collectors/smart"
	"github.com/diskwatch/diskwatch/collectors/smartctl"
)

// runState is what collectors that keep state between runs need from the
// command: its state directory (--state; "" or "off" for the default)
// and its clock.
type runState struct {
	stateDir string
	now      func() time.Time
}

// sources builds the enabled collectors for a host root and configuration.
// Each collector family adds itself here.
func sources(fs hostroot.FS, cfg *config.Config, h runState) []collectors.Named {
	var out []collectors.Named
	if cfg.Collectors.MDRaid.On() {
		out = append(out, collectors.Named{Name: "mdraid", Collector: mdraid.New(fs), Timeout: 30 * time.Second})
	}
	if sc := cfg.Collectors.Smartctl; sc.On() {
		out = append(out, smartctlSource(fs, sc))
	}
	if sm := cfg.Collectors.Smart; sm.On() {
		out = append(out, smartSource(fs, sm))
	}
	if cfg.Collectors.KMsg.On() {
		out = append(out, kmsgSource(fs, cfg, h))
	}
	if cfg.Collectors.HWRaid.On() {
		out = append(out, hwraidSource(fs, cfg))
	}
	out = append(out, powerSources(fs, cfg)...)
	return out
}

// smartctlSource builds the smartctl collector for the configured devices.
func smartctlSource(fs hostroot.FS, sc config.Smartctl) collectors.Named {
	devs := make([]smartctl.Device, len(sc.Devices))
	for i, d := range sc.Devices {
		devs[i] = smartctl.Device{Path: d.Path, Type: d.Type}
	}
	b := smartctl.Backend{Program: sc.Program, Timeout: sc.Timeout, NoCheck: sc.NoCheck}
	per := sc.Timeout
	if per <= 0 {
		per = smartctl.DefaultTimeout
	}
	// Four devices at a time, each bounded by its own timeout.
	return collectors.Named{Name: "smartctl", Collector: smartctl.New(fs, devs, b), Timeout: per*time.Duration((len(devs)+3)/4) + 5*time.Second}
}

// smartSource builds the native SMART collector. The smartctl fallback is
// used on the live host only: under --root it would read the host's disks.
func smartSource(fs hostroot.FS, sm config.Smart) collectors.Named {
	c := smart.New(fs)
	c.Devices = sm.Devices
	c.Timeout = sm.Timeout
	if p, err := smart.ParseStandby(sm.Standby); err == nil {
		c.Standby = p
	}
	if !sm.Fallback() || !fs.IsHost() {
		c.Fallback = nil
	}
	return collectors.Named{Name: "smart", Collector: c, Timeout: 2 * time.Minute}
}
