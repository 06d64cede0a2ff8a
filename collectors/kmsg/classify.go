package kmsg

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/diskwatch/diskwatch/collectors/model"
)

// Match is what Classify recognised in one message.
type Match struct {
	Kind string
	// Device is the kernel name the line is about: ata3, sdb, sdb1,
	// nvme0, nvme0n1. Empty for controller lines.
	Device string
	// Driver and Host name a RAID controller line's SCSI host (3w-9xxx,
	// scsi0 -> 0); PCI is a megaraid_sas line's PCI address.
	Driver string
	Host   int
	PCI    string
	// Port is the controller port (3ware) or physical disk id (MegaRAID),
	// -1 when the line names none.
	Port int
	// Sector is the failing sector, -1 when the line gives none.
	Sector int64
	// Array is the md array of an md line.
	Array string
}

var (
	ataRE       = regexp.MustCompile(`^(ata\d+)(?:\.\d+)?: (.*)$`)
	blkErrRE    = regexp.MustCompile(`(?:^|: )([A-Za-z /]+?) error, dev ([A-Za-z0-9_!.-]+), sector (\d+)`)
	bufErrRE    = regexp.MustCompile(`^Buffer I/O error on (?:dev(?:ice)? )?([A-Za-z0-9_!.-]+),`)
	sdRE        = regexp.MustCompile(`^(?:sd|sr|st) \d+:\d+:\d+:\d+: \[([A-Za-z0-9_!.-]+)\] (.*)$`)
	nvmeRE      = regexp.MustCompile(`^nvme (nvme\d+): (.*)$`)
	nvmeNsRE    = regexp.MustCompile(`^(nvme\d+n\d+): .*I/O Error`)
	nvmeIOTmoRE = regexp.MustCompile(`^I/O (?:tag )?\d+ .*QID \d+ timeout`)
	mdFailRE    = regexp.MustCompile(`^md/raid\d*:(md[A-Za-z0-9_]+): Disk failure on ([A-Za-z0-9_!.-]+), disabling device`)
	mdKickRE    = regexp.MustCompile(`^md: kicking non-fresh ([A-Za-z0-9_!.-]+) from array`)
	mdCheckRE   = regexp.MustCompile(`^md: (md[A-Za-z0-9_]+): data-check done\.`)
	twRE        = regexp.MustCompile(`^(3w-9xxx|3w-sas): scsi(\d+): AEN: ([A-Z]+) \(0x[0-9A-Fa-f]+:0x([0-9A-Fa-f]+)\): (.*)$`)
	twPortRE    = regexp.MustCompile(`(?i)port=(\d+)`)
	tweRE       = regexp.MustCompile(`^3w-xxxx: scsi(\d+): AEN: (?:[A-Z]+: )?(.*?)(?:: ([Pp]ort|[Uu]nit) #(\d+))?\.?$`)
	mrRE        = regexp.MustCompile(`^megaraid_sas ([0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]): (\d+) \([^)]*/0x[0-9a-fA-F]+/([A-Za-z0-9]+)\) - (.*)$`)
	mrPDRE      = regexp.MustCompile(`\bPD ([0-9a-fA-F]+)\(`)
)

// Classify recognises one kernel message. It is pure: attribution to a
// disk is done separately.
func Classify(msg string) (Match, bool) {
	m := Match{Port: -1, Sector: -1}
	msg = strings.TrimRight(msg, " \n")
	// Each pattern is tried only on lines with its cheap marker: most
	// kernel lines are none of ours.
	has := func(prefix string) bool { return strings.HasPrefix(msg, prefix) }
	if !has("ata") && !has("md") && !has("Buffer") && !has("sd ") && !has("sr ") && !has("st ") && !has("nvme") &&
		!has("3w-") && !has("megaraid_sas ") && !strings.Contains(msg, " error, dev ") {
		return Match{}, false
	}
	if g := ataRE.FindStringSubmatch(msg); g != nil {
		m.Device = g[1]
		rest := g[2]
		switch {
		case strings.Contains(rest, "(media error)") || strings.Contains(rest, "error: { UNC") || strings.Contains(rest, " UNC }"):
			m.Kind = model.KindMediaError
		case strings.HasPrefix(rest, "exception Emask"):
			m.Kind = model.KindATAException
		case strings.HasPrefix(rest, "failed command:"):
			m.Kind = model.KindATACommand
		case strings.Contains(rest, "(timeout)") || strings.HasPrefix(rest, "qc timeout") || strings.Contains(rest, "command timeout"):
			m.Kind = model.KindATATimeout
		case (strings.HasPrefix(rest, "res ") || strings.HasPrefix(rest, "cmd ")) && strings.Contains(rest, "Emask"):
			m.Kind = model.KindATAError
		case strings.HasPrefix(rest, "hard resetting link") || strings.HasPrefix(rest, "soft resetting link") || strings.HasPrefix(rest, "COMRESET failed"):
			m.Kind = model.KindATALinkReset
		default:
			return Match{}, false
		}
		return m, true
	}
	if g := mdFailRE.FindStringSubmatch(msg); g != nil {
		m.Kind, m.Array, m.Device = model.KindMDFailed, g[1], g[2]
		return m, true
	}
	if g := mdCheckRE.FindStringSubmatch(msg); g != nil {
		m.Kind, m.Array, m.Device = model.KindMDCheckDone, g[1], g[1]
		return m, true
	}
	if g := mdKickRE.FindStringSubmatch(msg); g != nil {
		m.Kind, m.Device = model.KindMDKicked, g[1]
		return m, true
	}
	if g := bufErrRE.FindStringSubmatch(msg); g != nil {
		m.Kind, m.Device = model.KindBufferIOError, g[1]
		return m, true
	}
	if !strings.Contains(msg, " error, dev ") {
		// not a block-layer error line
	} else if g := blkErrRE.FindStringSubmatch(msg); g != nil {
		what := strings.ToLower(strings.TrimSpace(g[1]))
		switch {
		case strings.Contains(what, "medium"):
			m.Kind = model.KindMediaError
		case what == "timeout":
			m.Kind = model.KindIOTimeout
		default:
			m.Kind = model.KindIOError
		}
		m.Device = g[2]
		m.Sector, _ = strconv.ParseInt(g[3], 10, 64)
		return m, true
	}
	if g := sdRE.FindStringSubmatch(msg); g != nil {
		m.Device = g[1]
		rest := g[2]
		switch {
		case strings.Contains(rest, "Sense Key : Medium Error") || strings.Contains(rest, "Unrecovered read error"):
			m.Kind = model.KindMediaError
		case strings.Contains(rest, "timing out command"):
			m.Kind = model.KindSCSITimeout
		case strings.Contains(rest, "Sense Key : Hardware Error") || strings.Contains(rest, "Sense Key : Aborted Command") ||
			strings.Contains(rest, "FAILED Result:"):
			m.Kind = model.KindSCSIError
		default:
			return Match{}, false
		}
		return m, true
	}
	if g := nvmeRE.FindStringSubmatch(msg); g != nil {
		m.Device = g[1]
		rest := g[2]
		switch {
		case nvmeIOTmoRE.MatchString(rest):
			m.Kind = model.KindNVMeTimeout
		case strings.HasPrefix(rest, "controller is down"):
			m.Kind = model.KindNVMeDown
		case strings.Contains(rest, "resetting controller") || strings.HasPrefix(rest, "Removing after probe failure"):
			m.Kind = model.KindNVMeReset
		default:
			return Match{}, false
		}
		return m, true
	}
	if g := nvmeNsRE.FindStringSubmatch(msg); g != nil {
		m.Kind, m.Device = model.KindNVMeIOError, g[1]
		return m, true
	}
	if g := twRE.FindStringSubmatch(msg); g != nil {
		m.Driver = g[1]
		m.Host, _ = strconv.Atoi(g[2])
		code, _ := strconv.ParseUint(g[4], 16, 32)
		m.Kind = twaKind(code)
		if p := twPortRE.FindStringSubmatch(g[5]); p != nil {
			m.Port, _ = strconv.Atoi(p[1])
		}
		return m, true
	}
	if g := tweRE.FindStringSubmatch(msg); g != nil {
		m.Driver = "3w-xxxx"
		m.Host, _ = strconv.Atoi(g[1])
		m.Kind = tweKind(g[2])
		if strings.EqualFold(g[3], "port") {
			m.Port, _ = strconv.Atoi(g[4])
		}
		return m, true
	}
	if g := mrRE.FindStringSubmatch(msg); g != nil {
		m.Driver = "megaraid_sas"
		m.PCI = strings.ToLower(g[1])
		desc := g[4]
		m.Kind = mrKind(desc)
		if p := mrPDRE.FindStringSubmatch(desc); p != nil {
			if v, err := strconv.ParseUint(p[1], 16, 16); err == nil {
				m.Port = int(v)
			}
		}
		return m, true
	}
	return Match{}, false
}

// twaKind maps a 3w-9xxx/3w-sas AEN code (the driver's twa_aen_table) to a
// kind.
func twaKind(code uint64) string {
	switch code {
	case 0x0009:
		return model.KindRAIDTimeout
	case 0x000A, 0x0026:
		return model.KindRAIDDriveError
	case 0x0019:
		return model.KindRAIDRemoved
	case 0x001A:
		return model.KindRAIDInserted
	case 0x000B:
		return model.KindRAIDRebuild
	case 0x0005:
		return model.KindRAIDRebuildDone
	case 0x0004, 0x002D:
		return model.KindRAIDRebuildFail
	case 0x0002:
		return model.KindRAIDDegraded
	case 0x000F, 0x0260:
		return model.KindRAIDSMART
	}
	return model.KindRAIDEvent
}

// tweKind maps a 3w-xxxx AEN text (the driver's tw_aen_string) to a kind.
func tweKind(text string) string {
	t := strings.ToLower(text)
	switch {
	case strings.Contains(t, "timeout"):
		return model.KindRAIDTimeout
	case strings.Contains(t, "drive error") || strings.Contains(t, "ecc error"):
		return model.KindRAIDDriveError
	case strings.Contains(t, "rebuild failed"):
		return model.KindRAIDRebuildFail
	case strings.Contains(t, "rebuild complete"):
		return model.KindRAIDRebuildDone
	case strings.Contains(t, "rebuild started"):
		return model.KindRAIDRebuild
	case strings.Contains(t, "degraded"):
		return model.KindRAIDDegraded
	case strings.Contains(t, "smart threshold"):
		return model.KindRAIDSMART
	}
	return model.KindRAIDEvent
}

// mrKind maps a MegaRAID event description (the firmware's event text) to
// a kind.
func mrKind(desc string) string {
	d := strings.ToLower(desc)
	switch {
	case strings.HasPrefix(d, "removed: pd"):
		return model.KindRAIDRemoved
	case strings.HasPrefix(d, "inserted: pd"):
		return model.KindRAIDInserted
	case strings.Contains(d, "state change on pd") && strings.Contains(d, "to failed"):
		return model.KindRAIDFailed
	case strings.Contains(d, "command timeout on pd") || (strings.Contains(d, "pd") && strings.Contains(d, "timeout")):
		return model.KindRAIDTimeout
	case strings.HasPrefix(d, "unexpected sense: pd") || strings.Contains(d, "medium error") || strings.Contains(d, "error on pd"):
		return model.KindRAIDDriveError
	case strings.Contains(d, "predictive failure") || strings.Contains(d, "smart"):
		return model.KindRAIDSMART
	case strings.Contains(d, "rebuild complete"):
		return model.KindRAIDRebuildDone
	case strings.Contains(d, "rebuild failed") || strings.Contains(d, "rebuild aborted"):
		return model.KindRAIDRebuildFail
	case strings.Contains(d, "rebuild") && strings.Contains(d, "started"):
		return model.KindRAIDRebuild
	case strings.Contains(d, "degraded"):
		return model.KindRAIDDegraded
	}
	return model.KindRAIDEvent
}
