package kmsg

import (
	"regexp"
	"strconv"
	"strings"
)

// Event kinds. Counted kinds are one per incident (one failed command, one
// failed request); the others are the lines around an incident, kept as
// evidence.
const (
	KindATATimeout    = "ata_timeout"     // res ... Emask 0x4 (timeout), qc timeout
	KindATAError      = "ata_error"       // res ... Emask ... (HSM violation), (ATA bus error), ...
	KindATAException  = "ata_exception"   // ataN.00: exception Emask ... (evidence)
	KindATACommand    = "ata_command"     // ataN.00: failed command: READ FPDMA QUEUED (evidence)
	KindATALinkReset  = "ata_link_reset"  // ataN: hard resetting link (evidence)
	KindMediaError    = "media_error"     // (media error), error: { UNC }, Medium Error, critical medium error
	KindIOError       = "io_error"        // I/O error, dev sdX, sector N
	KindIOTimeout     = "io_timeout"      // timeout error, dev sdX, sector N
	KindBufferIOError = "buffer_io_error" // Buffer I/O error on dev sdX1 (evidence)
	KindSCSITimeout   = "scsi_timeout"    // [sdX] tag#N timing out command
	KindSCSIError     = "scsi_error"      // [sdX] ... Sense Key : Hardware Error / FAILED Result (evidence)
	KindNVMeTimeout   = "nvme_timeout"    // nvme nvme0: I/O 12 QID 3 timeout
	KindNVMeReset     = "nvme_reset"      // nvme nvme0: resetting controller
	KindNVMeDown      = "nvme_down"       // nvme nvme0: controller is down; will reset
	KindNVMeIOError   = "nvme_io_error"   // nvme0n1: I/O Cmd(0x2) @ LBA ..., I/O Error (evidence: the block layer line follows)
	KindMDFailed      = "md_member_failed"
	KindMDKicked      = "md_member_kicked"
	// RAID controller events (3ware AEN, megaraid_sas event log).
	KindRAIDTimeout     = "raid_drive_timeout"
	KindRAIDDriveError  = "raid_drive_error"
	KindRAIDRemoved     = "raid_drive_removed"
	KindRAIDInserted    = "raid_drive_inserted"
	KindRAIDFailed      = "raid_drive_failed"
	KindRAIDRebuild     = "raid_rebuild_started"
	KindRAIDRebuildDone = "raid_rebuild_done"
	KindRAIDRebuildFail = "raid_rebuild_failed"
	KindRAIDDegraded    = "raid_unit_degraded"
	KindRAIDSMART       = "raid_smart_threshold"
	KindRAIDEvent       = "raid_event"
)

// Counted reports whether kind is one incident (a failed command or
// request) for burst counting, rather than a line of context.
func Counted(kind string) bool {
	switch kind {
	case KindATATimeout, KindATAError, KindMediaError, KindIOError, KindIOTimeout,
		KindSCSITimeout, KindNVMeTimeout, KindNVMeReset, KindNVMeDown, KindRAIDTimeout, KindRAIDDriveError:
		return true
	}
	return false
}

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
			m.Kind = KindMediaError
		case strings.HasPrefix(rest, "exception Emask"):
			m.Kind = KindATAException
		case strings.HasPrefix(rest, "failed command:"):
			m.Kind = KindATACommand
		case strings.Contains(rest, "(timeout)") || strings.HasPrefix(rest, "qc timeout") || strings.Contains(rest, "command timeout"):
			m.Kind = KindATATimeout
		case (strings.HasPrefix(rest, "res ") || strings.HasPrefix(rest, "cmd ")) && strings.Contains(rest, "Emask"):
			m.Kind = KindATAError
		case strings.HasPrefix(rest, "hard resetting link") || strings.HasPrefix(rest, "soft resetting link") || strings.HasPrefix(rest, "COMRESET failed"):
			m.Kind = KindATALinkReset
		default:
			return Match{}, false
		}
		return m, true
	}
	if g := mdFailRE.FindStringSubmatch(msg); g != nil {
		m.Kind, m.Array, m.Device = KindMDFailed, g[1], g[2]
		return m, true
	}
	if g := mdKickRE.FindStringSubmatch(msg); g != nil {
		m.Kind, m.Device = KindMDKicked, g[1]
		return m, true
	}
	if g := bufErrRE.FindStringSubmatch(msg); g != nil {
		m.Kind, m.Device = KindBufferIOError, g[1]
		return m, true
	}
	if !strings.Contains(msg, " error, dev ") {
		// not a block-layer error line
	} else if g := blkErrRE.FindStringSubmatch(msg); g != nil {
		what := strings.ToLower(strings.TrimSpace(g[1]))
		switch {
		case strings.Contains(what, "medium"):
			m.Kind = KindMediaError
		case what == "timeout":
			m.Kind = KindIOTimeout
		default:
			m.Kind = KindIOError
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
			m.Kind = KindMediaError
		case strings.Contains(rest, "timing out command"):
			m.Kind = KindSCSITimeout
		case strings.Contains(rest, "Sense Key : Hardware Error") || strings.Contains(rest, "Sense Key : Aborted Command") ||
			strings.Contains(rest, "FAILED Result:"):
			m.Kind = KindSCSIError
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
			m.Kind = KindNVMeTimeout
		case strings.HasPrefix(rest, "controller is down"):
			m.Kind = KindNVMeDown
		case strings.Contains(rest, "resetting controller") || strings.HasPrefix(rest, "Removing after probe failure"):
			m.Kind = KindNVMeReset
		default:
			return Match{}, false
		}
		return m, true
	}
	if g := nvmeNsRE.FindStringSubmatch(msg); g != nil {
		m.Kind, m.Device = KindNVMeIOError, g[1]
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
		return KindRAIDTimeout
	case 0x000A, 0x0026:
		return KindRAIDDriveError
	case 0x0019:
		return KindRAIDRemoved
	case 0x001A:
		return KindRAIDInserted
	case 0x000B:
		return KindRAIDRebuild
	case 0x0005:
		return KindRAIDRebuildDone
	case 0x0004, 0x002D:
		return KindRAIDRebuildFail
	case 0x0002:
		return KindRAIDDegraded
	case 0x000F, 0x0260:
		return KindRAIDSMART
	}
	return KindRAIDEvent
}

// tweKind maps a 3w-xxxx AEN text (the driver's tw_aen_string) to a kind.
func tweKind(text string) string {
	t := strings.ToLower(text)
	switch {
	case strings.Contains(t, "timeout"):
		return KindRAIDTimeout
	case strings.Contains(t, "drive error") || strings.Contains(t, "ecc error"):
		return KindRAIDDriveError
	case strings.Contains(t, "rebuild failed"):
		return KindRAIDRebuildFail
	case strings.Contains(t, "rebuild complete"):
		return KindRAIDRebuildDone
	case strings.Contains(t, "rebuild started"):
		return KindRAIDRebuild
	case strings.Contains(t, "degraded"):
		return KindRAIDDegraded
	case strings.Contains(t, "smart threshold"):
		return KindRAIDSMART
	}
	return KindRAIDEvent
}

// mrKind maps a MegaRAID event description (the firmware's event text) to
// a kind.
func mrKind(desc string) string {
	d := strings.ToLower(desc)
	switch {
	case strings.HasPrefix(d, "removed: pd"):
		return KindRAIDRemoved
	case strings.HasPrefix(d, "inserted: pd"):
		return KindRAIDInserted
	case strings.Contains(d, "state change on pd") && strings.Contains(d, "to failed"):
		return KindRAIDFailed
	case strings.Contains(d, "command timeout on pd") || (strings.Contains(d, "pd") && strings.Contains(d, "timeout")):
		return KindRAIDTimeout
	case strings.HasPrefix(d, "unexpected sense: pd") || strings.Contains(d, "medium error") || strings.Contains(d, "error on pd"):
		return KindRAIDDriveError
	case strings.Contains(d, "predictive failure") || strings.Contains(d, "smart"):
		return KindRAIDSMART
	case strings.Contains(d, "rebuild complete"):
		return KindRAIDRebuildDone
	case strings.Contains(d, "rebuild failed") || strings.Contains(d, "rebuild aborted"):
		return KindRAIDRebuildFail
	case strings.Contains(d, "rebuild") && strings.Contains(d, "started"):
		return KindRAIDRebuild
	case strings.Contains(d, "degraded"):
		return KindRAIDDegraded
	}
	return KindRAIDEvent
}
