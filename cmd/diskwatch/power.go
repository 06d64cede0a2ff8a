package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/diskwatch/diskwatch/alerts/config"
	"github.com/diskwatch/diskwatch/collectors"
	"github.com/diskwatch/diskwatch/collectors/hostroot"
	"github.com/diskwatch/diskwatch/collectors/hwmon"
	"github.com/diskwatch/diskwatch/collectors/probe"
	"github.com/diskwatch/diskwatch/collectors/ups"
)

// upsFlag collects repeated --ups URL flags. Set never fails: the flag
// package would print the raw value, password included; URLs are checked
// (with redacted errors) when the configuration is loaded.
type upsFlag []string

func (u *upsFlag) String() string {
	var out []string
	for _, s := range *u {
		if t, err := ups.ParseURL(s); err == nil {
			out = append(out, t.String())
		}
	}
	return strings.Join(out, ",")
}

// Set adds one URL.
func (u *upsFlag) Set(s string) error {
	*u = append(*u, s)
	return nil
}

// withUPS adds the --ups URLs to the loaded configuration's ups: list.
func (c *common) withUPS(cfg *config.Config, err error) (*config.Config, error) {
	if err != nil || cfg == nil || len(c.ups) == 0 {
		return cfg, err
	}
	var errs []error
	for _, raw := range c.ups {
		t, err := ups.ParseURL(raw)
		if err != nil {
			errs = append(errs, fmt.Errorf("--ups: %w", err))
			continue
		}
		cfg.UPS = append(cfg.UPS, config.UPSURL{URL: raw, Target: t})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return cfg, nil
}

// powerSources builds the hwmon, UPS and probe collectors.
func powerSources(fs hostroot.FS, cfg *config.Config) []collectors.Named {
	var out []collectors.Named
	if cfg.Collectors.Hwmon.On() {
		out = append(out, collectors.Named{Name: "hwmon", Collector: hwmon.New(fs), Timeout: 10 * time.Second})
	}
	if ts := cfg.UPSTargets(); len(ts) > 0 {
		// Each UPS gets 5 s per step; they are read one after another.
		out = append(out, collectors.Named{Name: "ups", Collector: ups.New(ts, 5*time.Second), Timeout: time.Duration(len(ts))*15*time.Second + 5*time.Second})
	}
	if ps := cfg.ProbeSpecs(); len(ps) > 0 {
		var total time.Duration
		for _, p := range ps {
			t := p.Timeout
			if t <= 0 {
				t = 10 * time.Second
			}
			total += t
		}
		out = append(out, collectors.Named{Name: "probes", Collector: probe.New(fs, ps), Timeout: total + 5*time.Second})
	}
	return out
}
