package rules

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/diskwatch/diskwatch/collectors/model"
)

// The timeout mismatch (linux-raid wiki, "Timeout Mismatch"): a drive
// without an error-recovery limit may retry one bad sector for minutes;
// the kernel gives up on a command after /sys/block/sdX/device/timeout
// (30 s by default), resets the link, and md fails the member — for one
// sector md would have rewritten from redundancy. A second such disk
// during the rebuild loses the array.

// RaidTimeoutRules are the rules about md members' recovery limits and
// the array's scrubs.
func RaidTimeoutRules() []*Rule { return []*Rule{mdSCTERC, mdScrubOverdue, mdSameBatch} }

// redundant reports whether an md level has redundancy md can rebuild from.
func redundant(level string) bool {
	switch level {
	case "raid1", "raid4", "raid5", "raid6", "raid10":
		return true
	}
	return false
}

// memberDisk finds the SMART record of an md member's disk.
func memberDisk(s *model.Snapshot, m *model.Member) *model.Disk {
	if m.Disk == "" {
		return nil
	}
	for i := range s.Disks {
		d := &s.Disks[i]
		if d.Device.Path == "/dev/"+m.Disk || d.Device.Name == m.Disk {
			return d
		}
	}
	return nil
}

var udevSafe = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

// udevMatch is the udev match for one disk: its serial when that is safe
// to write into a rule, else its kernel name (which can change).
func udevMatch(d *model.Disk, kernel string) string {
	if s := strings.TrimSpace(d.Device.Serial); udevSafe.MatchString(s) {
		return `ENV{ID_SERIAL_SHORT}=="` + s + `"`
	}
	return `KERNEL=="` + kernel + `"`
}

var mdSCTERC = &Rule{
	Name: "md.scterc",
	Summary: "an md member's drive has no error-recovery limit (SCT ERC unsupported or disabled) while the kernel's command timeout is below " +
		"min_timeout_s (default 180; the kernel's default is 30), or its limit is not below the timeout: one long recovery gets it kicked " +
		"out of the array (WARNING, with smartctl -l scterc,70,70 or the timeout raise, and how to make either persistent)",
	Params: map[string]float64{"min_timeout_s": 180},
	Eval: func(in *Input, p Params) []model.Finding {
		var out []model.Finding
		for i := range in.Snapshot.Arrays {
			a := &in.Snapshot.Arrays[i]
			if !redundant(a.Level) {
				continue
			}
			for j := range a.Members {
				m := &a.Members[j]
				d := memberDisk(in.Snapshot, m)
				if d == nil || d.Skipped != "" || d.ERC == nil || m.Faulty || m.CommandTimeoutS <= 0 || !udevSafe.MatchString(m.Disk) {
					continue
				}
				timeout := m.CommandTimeoutS
				erc := d.ERC
				var limit int // deciseconds, 0 = none
				if erc.Supported && erc.ReadDeciseconds != nil {
					limit = *erc.ReadDeciseconds
					if erc.WriteDeciseconds != nil && *erc.WriteDeciseconds > limit {
						limit = *erc.WriteDeciseconds
					}
				}
				minTimeout := int(p.Get("min_timeout_s", diskMatch(d)))
				var why string
				switch {
				case !erc.Supported:
					why = "has no error-recovery limit (SCT ERC not supported: it may retry a bad sector for minutes)"
				case erc.ReadDeciseconds == nil:
					continue // supported but not read: unknown
				case limit == 0:
					why = "has its error-recovery limit disabled (SCT ERC off: it may retry a bad sector for minutes)"
				case limit/10 >= timeout:
					why = fmt.Sprintf("recovers for up to %.1f s (SCT ERC), not less than the kernel's timeout", float64(limit)/10)
				default:
					continue // limited below the timeout: fine
				}
				if limit == 0 && timeout >= minTimeout {
					continue // the timeout already outlasts a long recovery
				}
				dev := "/dev/" + m.Disk
				match := udevMatch(d, m.Disk)
				var fix string
				if erc.Supported {
					fix = fmt.Sprintf("set a 7 s limit: smartctl -l scterc,70,70 %s; drives forget it at power-off, so make it persistent with a udev rule, "+
						`e.g. /etc/udev/rules.d/60-scterc.rules: ACTION=="add", SUBSYSTEM=="block", %s, RUN+="/usr/sbin/smartctl -q errorsonly -l scterc,70,70 /dev/%%k"`,
						dev, match)
				} else {
					fix = fmt.Sprintf("this drive cannot limit its recovery, so let the kernel wait longer: echo %d > /sys/block/%s/device/timeout; "+
						`persistent: /etc/udev/rules.d/60-disk-timeout.rules: ACTION=="add|change", SUBSYSTEM=="block", %s, ATTR{device/timeout}="%d" `+
						"(or replace it with a drive that supports SCT ERC)", minTimeout, m.Disk, match, minTimeout)
				}
				f := diskFinding(d, model.Warning, fmt.Sprintf("%s, member of %s (%s), %s while the kernel gives up on a command after %d s "+
					"(/sys/block/%s/device/timeout): one long recovery gets it kicked out of the array, and another during the rebuild loses the array",
					d.Device.Display(), model.Clean(a.Name), model.Clean(a.Level), why, timeout, m.Disk), fix)
				f.Related = []string{model.Clean(a.Name)}
				f.Evidence = []string{"linux-raid wiki, Timeout Mismatch: drives without SCT ERC on the kernel's 30 s default timeout are failed out of arrays on a read error"}
				f.Values = map[string]float64{"timeout_s": float64(timeout), "erc_deciseconds": float64(limit)}
				out = append(out, f)
			}
		}
		return out
	},
}
