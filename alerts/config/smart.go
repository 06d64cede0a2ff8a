package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/diskwatch/diskwatch/alerts/selftest"
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
	// SelfTests schedules SMART self-tests in the daemon.
	SelfTests SelfTests `yaml:"self_tests"`
}

// SelfTests is the daemon's self-test schedule (smartd's -s): a short and
// a long test, each "daily HH:MM", "weekly DAY HH:MM", "monthly D HH:MM"
// or "" (off, the default).
type SelfTests struct {
	Short Schedule `yaml:"short"`
	Long  Schedule `yaml:"long"`
	// Grace is how late after its time a test may still start (disk
	// asleep, a test running, the daemon down); 0: until the next time.
	Grace time.Duration `yaml:"grace"`
	// Devices lists the disks to test ("/dev/sda"); empty means every
	// disk the smart collector reads.
	Devices []string `yaml:"devices"`
}

// Plan is the schedule for the selftest package, in loc.
func (s SelfTests) Plan(loc *time.Location) selftest.Plan {
	return selftest.Plan{Short: s.Short.Schedule, Long: s.Long.Schedule, Grace: s.Grace, Loc: loc}
}

// Schedule is one self-test schedule, checked where it is written.
type Schedule struct {
	selftest.Schedule
}

// UnmarshalYAML parses the schedule; a bad one is an error at its line
// (a yaml.TypeError, so the other errors in the file are reported too).
func (s *Schedule) UnmarshalYAML(n *yaml.Node) error {
	var err error
	if n.Kind != yaml.ScalarNode {
		err = fmt.Errorf("a self-test schedule is a string: %s", selftest.Syntax)
	} else {
		s.Schedule, err = selftest.Parse(n.Value)
	}
	if err != nil {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: collectors.smart.self_tests: %v", n.Line, err)}}
	}
	return nil
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
	msgs = append(msgs, devPaths("collectors.smart.devices", s.Devices)...)
	msgs = append(msgs, devPaths("collectors.smart.self_tests.devices", s.SelfTests.Devices)...)
	if s.SelfTests.Grace < 0 {
		msgs = append(msgs, "collectors.smart.self_tests.grace must not be negative")
	}
	if len(msgs) == 0 {
		return nil
	}
	return &Error{File: file, Msg: strings.Join(msgs, "; ")}
}

// devPaths checks that each of a list of device paths is under /dev/.
func devPaths(key string, devs []string) []string {
	var msgs []string
	for i, d := range devs {
		if !strings.HasPrefix(d, "/dev/") {
			msgs = append(msgs, fmt.Sprintf("%s[%d]: %q is not under /dev/", key, i, d))
		}
	}
	return msgs
}
