package main

import (
	"time"

	"github.com/diskwatch/diskwatch/alerts/config"
	"github.com/diskwatch/diskwatch/collectors"
	"github.com/diskwatch/diskwatch/collectors/hostroot"
	"github.com/diskwatch/diskwatch/collectors/mdraid"
)

// sources builds the enabled collectors for a host root and configuration.
// Each collector family adds itself here.
func sources(fs hostroot.FS, cfg *config.Config) []collectors.Named {
	var out []collectors.Named
	if cfg.Collectors.MDRaid.On() {
		out = append(out, collectors.Named{Name: "mdraid", Collector: mdraid.New(fs), Timeout: 30 * time.Second})
	}
	return out
}
