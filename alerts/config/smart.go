package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Smart configures the native SMART collector (ATA through SAT, NVMe,
// SCSI/SAS via the kernel's pass-through ioctls).
type Smart struct {
	Enabled *bool `yaml:"enabled"`
	// Devices lists the disks to read ("/dev/sda", "/dev/nvme0"); empty
	// means every disk found in sysfs.
	Devices []string `yaml:"devices"`
	// Standby is smartd's -n: "standby" (default: a disk in standby or
	// sleep is not read and not spun up), "sleep", "idle" or "never",
	// optionally ",N" to read anyway after N skipped cycles in a row.
	Standby string `yaml:"standby"`
	// Timeout bounds each command sent to a disk (default 10s).
	Timeout time.Duration `yaml:"timeout"`
	// SmartctlFallback reads disks the native layer cannot through
	// smartctl, when installed (default true).
	SmartctlFallback *bool `yaml:"smartctl_fallback"`
}

// On reports whether the native SMART collector runs (default on).
func (s Smart) On() bool { return s.Enabled == nil || *s.Enabled }

// Fallback reports whether smartctl is used for disks the native layer
// cannot read.
func (s Smart) Fallback() bool { return s.SmartctlFallback == nil || *s.SmartctlFallback }

// validate checks values the YAML decoder cannot.
func (s Smart) validate(file string) error {
	var msgs []string
	mode, n, hasN := strings.Cut(s.Standby, ",")
	switch mode {
	case "", "never", "sleep", "standby", "idle":
	default:
		msgs = append(msgs, fmt.Sprintf("collectors.smart.standby must be never, sleep, standby or idle (optionally ,N), not %q", s.Standby))
	}
	if hasN {
		if v, err := strconv.Atoi(n); err != nil || v < 0 {
			msgs = append(msgs, fmt.Sprintf("collectors.smart.standby: %q after the comma must be a count of cycles", n))
		}
	}
	if s.Timeout < 0 {
		msgs = append(msgs, "collectors.smart.timeout must not be negative")
	}
	for i, d := range s.Devices {
		if !strings.HasPrefix(d, "/dev/") {
			msgs = append(msgs, fmt.Sprintf("collectors.smart.devices[%d]: %q is not under /dev/", i, d))
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	return &Error{File: file, Msg: strings.Join(msgs, "; ")}
}
