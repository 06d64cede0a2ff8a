package config

import (
	"fmt"
	"strings"
	"time"
)

// Smartctl configures the smartctl backend collector: devices read through
// smartctl (smartmontools) for controller types the native SMART reader
// does not handle (3ware, Areca, cciss, MegaRAID physical disks, USB
// bridges it does not know). Only the listed devices are read.
type Smartctl struct {
	Enabled *bool `yaml:"enabled"`
	// Devices lists what to read, each with smartctl's -d type.
	Devices []SmartctlDevice `yaml:"devices"`
	// Program is the smartctl to run (default: smartctl from PATH).
	Program string `yaml:"program"`
	// Timeout bounds one smartctl run (default 60s).
	Timeout time.Duration `yaml:"timeout"`
	// NoCheck is smartctl's -n: standby (default: never wake a disk),
	// sleep, idle or never.
	NoCheck string `yaml:"nocheck"`
}

// SmartctlDevice is one device for the smartctl collector.
type SmartctlDevice struct {
	Path string `yaml:"path"`
	// Type is smartctl's -d argument, e.g. "3ware,0", "megaraid,1".
	Type string `yaml:"type"`
}

// On reports whether the smartctl collector runs: enabled and with at
// least one device.
func (s Smartctl) On() bool { return (s.Enabled == nil || *s.Enabled) && len(s.Devices) > 0 }

// validate checks values the YAML decoder cannot.
func (s Smartctl) validate(file string) error {
	var msgs []string
	switch s.NoCheck {
	case "", "never", "sleep", "standby", "idle":
	default:
		msgs = append(msgs, fmt.Sprintf("collectors.smartctl.nocheck must be never, sleep, standby or idle, not %q", s.NoCheck))
	}
	if s.Timeout < 0 {
		msgs = append(msgs, "collectors.smartctl.timeout must not be negative")
	}
	for i, d := range s.Devices {
		switch {
		case d.Path == "":
			msgs = append(msgs, fmt.Sprintf("collectors.smartctl.devices[%d]: path is required", i))
		case !strings.HasPrefix(d.Path, "/dev/"):
			msgs = append(msgs, fmt.Sprintf("collectors.smartctl.devices[%d]: path %q is not under /dev/", i, d.Path))
		}
		if strings.HasPrefix(d.Type, "-") || strings.ContainsAny(d.Type, " \t\n") {
			msgs = append(msgs, fmt.Sprintf("collectors.smartctl.devices[%d]: type %q is not a smartctl -d type", i, d.Type))
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	return &Error{File: file, Msg: strings.Join(msgs, "; ")}
}
