package rules

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/diskwatch/diskwatch/collectors/model"
)

// KernelLogRules are the rules on kernel log events (collectors/kmsg).
func KernelLogRules() []*Rule {
	return []*Rule{kmsgBurst, kmsgMedia, kmsgRAIDTimeout, kmsgRAIDDrive}
}

// maxEvidence bounds the kernel lines quoted in one finding.
const maxEvidence = 12

// eventGroup is the recent events of one disk (or controller port).
type eventGroup struct {
	key    string
	events []model.KernelEvent
}

// groupEvents groups the events younger than window by disk identity,
// else by device name, oldest first.
func groupEvents(in *Input, window time.Duration, pick func(*model.KernelEvent) bool) []eventGroup {
	since := in.Now.Add(-window)
	idx := map[string]int{}
	var out []eventGroup
	for _, e := range in.Snapshot.Events {
		if e.Time.Before(since) || !pick(&e) {
			continue
		}
		k := e.Disk
		if k == "" {
			k = "device:" + e.Device
		}
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			out = append(out, eventGroup{key: k})
		}
		out[i].events = append(out[i].events, e)
	}
	for _, g := range out {
		sort.SliceStable(g.events, func(a, b int) bool { return g.events[a].Seq < g.events[b].Seq })
	}
	sort.Slice(out, func(a, b int) bool { return out[a].key < out[b].key })
	return out
}

// eventSubject names the disk of a group: its SMART record's display
// name when the snapshot has one, else the kernel or controller name.
func eventSubject(in *Input, g eventGroup) (subject string, m model.Match) {
	e := g.events[0]
	for i := range in.Snapshot.Disks {
		d := &in.Snapshot.Disks[i].Device
		if (e.Disk != "" && d.ID() == e.Disk) || (e.Controller != "" && d.Name == e.Device) {
			return d.Display(), model.Match{Path: d.Path, Serial: d.Serial, Model: d.Model}
		}
	}
	if e.Controller != "" {
		return model.Clean(e.Device), model.Match{}
	}
	return model.Clean(e.Device), model.Match{Path: "/dev/" + e.Device}
}

// diskPath is the path of the SMART record of a controller event's disk.
func diskPath(in *Input, e model.KernelEvent) string {
	for i := range in.Snapshot.Disks {
		if d := &in.Snapshot.Disks[i].Device; e.Controller != "" && d.Name == e.Device {
			return d.Path
		}
	}
	return ""
}

func subjectID(g eventGroup) string {
	if strings.HasPrefix(g.key, "device:") {
		return "kernel:" + strings.TrimPrefix(g.key, "device:")
	}
	return g.key
}

// evidence quotes the group's lines (the last ones when there are many),
// terminal-safe.
func evidence(evs []model.KernelEvent) []string {
	if len(evs) > maxEvidence {
		evs = evs[len(evs)-maxEvidence:]
	}
	out := make([]string, 0, len(evs))
	for _, e := range evs {
		out = append(out, model.Clean(strings.ReplaceAll(e.Line, `\x0a`, " ")))
	}
	return out
}

func minutes(v float64) time.Duration { return time.Duration(v * float64(time.Minute)) }

var kmsgBurst = &Rule{
	Name:    "kernel.error_burst",
	Summary: "a burst of I/O errors or timeouts on one disk in the kernel log (count within window_minutes): WARNING with the kernel lines as evidence",
	Params:  map[string]float64{"count": 3, "window_minutes": 10},
	Eval: func(in *Input, p Params) []model.Finding {
		var out []model.Finding
		for _, g := range groupEvents(in, 24*time.Hour, func(*model.KernelEvent) bool { return true }) {
			subj, m := eventSubject(in, g)
			window := minutes(p.Get("window_minutes", m))
			limit := int(p.Get("count", m))
			since := in.Now.Add(-window)
			var recent, counted []model.KernelEvent
			kinds := map[string]int{}
			for _, e := range g.events {
				if e.Time.Before(since) {
					continue
				}
				recent = append(recent, e)
				if model.CountedKind(e.Kind) {
					counted = append(counted, e)
					kinds[e.Kind]++
				}
			}
			if limit < 1 || len(counted) < limit {
				continue
			}
			out = append(out, model.Finding{
				Severity: model.Warning, Subject: subj, SubjectID: subjectID(g), Match: m,
				Message: fmt.Sprintf("%d I/O errors or timeouts in the kernel log within %s (%s)",
					len(counted), roughDuration(window), kindList(kinds)),
				Remedy:   "check the disk's SMART data and its cable/port; if errors continue, replace the disk (copy data off first)",
				Evidence: evidence(recent),
				Values:   map[string]float64{"kernel_errors": float64(len(counted))},
			})
		}
		return out
	},
}

func kindList(k map[string]int) string {
	var parts []string
	for n, c := range k {
		parts = append(parts, fmt.Sprintf("%s x%d", n, c))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

var kmsgMedia = &Rule{
	Name:    "kernel.media_error",
	Summary: "the kernel log reports a medium (unreadable/unwritable sector) error on a disk within window_minutes: WARNING",
	Params:  map[string]float64{"window_minutes": 60},
	Eval: func(in *Input, p Params) []model.Finding {
		var out []model.Finding
		for _, g := range groupEvents(in, 24*time.Hour, func(e *model.KernelEvent) bool { return e.Kind == model.KindMediaError }) {
			subj, m := eventSubject(in, g)
			since := in.Now.Add(-minutes(p.Get("window_minutes", m)))
			var recent []model.KernelEvent
			var sectors []string
			for _, e := range g.events {
				if !e.Time.Before(since) {
					recent = append(recent, e)
					if e.Sector != nil {
						sectors = append(sectors, fmt.Sprint(*e.Sector))
					}
				}
			}
			if len(recent) == 0 {
				continue
			}
			msg := fmt.Sprintf("%d medium error(s) in the kernel log", len(recent))
			if len(sectors) > 0 {
				msg += " at sector(s) " + strings.Join(sectors, ", ")
			}
			out = append(out, model.Finding{
				Severity: model.Warning, Subject: subj, SubjectID: subjectID(g), Match: m, Message: msg,
				Remedy:   "the disk could not read or write a sector: back up its data, run a long SMART self-test (smartctl -t long), and plan to replace it",
				Evidence: evidence(recent),
				Values:   map[string]float64{"kernel_media_errors": float64(len(recent))},
			})
		}
		return out
	},
}

var kmsgRAIDTimeout = &Rule{
	Name:    "kernel.raid_drive_timeout",
	Summary: "a hardware RAID controller reported a drive timeout (3ware AEN 0x0009 \"Drive timeout detected\", MegaRAID command timeout) within window_minutes: WARNING naming the controller port",
	Params:  map[string]float64{"window_minutes": 60},
	Eval: func(in *Input, p Params) []model.Finding {
		var out []model.Finding
		for _, g := range groupEvents(in, 24*time.Hour, func(e *model.KernelEvent) bool { return e.Kind == model.KindRAIDTimeout }) {
			subj, m := eventSubject(in, g)
			since := in.Now.Add(-minutes(p.Get("window_minutes", m)))
			var recent []model.KernelEvent
			for _, e := range g.events {
				if !e.Time.Before(since) {
					recent = append(recent, e)
				}
			}
			if len(recent) == 0 {
				continue
			}
			e := recent[0]
			out = append(out, model.Finding{
				Severity: model.Warning, Subject: subj, SubjectID: subjectID(g), Match: m,
				Message:  fmt.Sprintf("RAID controller reported %d drive timeout(s) on %s", len(recent), model.Clean(e.Device)),
				Remedy:   raidRemedy(e, diskPath(in, e)),
				Evidence: evidence(recent),
				Values:   map[string]float64{"raid_drive_timeouts": float64(len(recent))},
			})
		}
		return out
	},
}

// raidRemedy says what to do about a drive behind a controller, with the
// smartctl command that reads it; path is the device its SMART record was
// read through, when the snapshot has one.
func raidRemedy(e model.KernelEvent, path string) string {
	check := ""
	if e.Port != nil {
		switch {
		case strings.HasPrefix(e.Controller, "tw"):
			check = fmt.Sprintf("read its SMART data with smartctl -a -d 3ware,%d /dev/%s (or diskwatch check); ", *e.Port, model.Clean(e.Controller))
		case strings.HasPrefix(e.Controller, "megaraid"):
			dev := "/dev/bus/H (H: the controller's SCSI host, as diskwatch raid shows)"
			if path != "" {
				dev = model.Clean(path)
			}
			check = fmt.Sprintf("read its SMART data with smartctl -a -d megaraid,%d %s; ", *e.Port, dev)
		}
	}
	return check + "reseat or replace the drive's cable and backplane slot; if timeouts continue, replace the drive before the unit degrades"
}

var kmsgRAIDDrive = &Rule{
	Name:    "kernel.raid_drive_event",
	Summary: "a hardware RAID controller reported a drive failed, removed or in error, a unit degraded, or a rebuild failed, within window_minutes: WARNING",
	Params:  map[string]float64{"window_minutes": 60},
	Eval: func(in *Input, p Params) []model.Finding {
		bad := map[string]string{
			model.KindRAIDFailed: "drive failed", model.KindRAIDRemoved: "drive removed", model.KindRAIDDriveError: "drive error",
			model.KindRAIDDegraded: "unit degraded", model.KindRAIDRebuildFail: "rebuild failed", model.KindRAIDSMART: "SMART threshold exceeded",
		}
		var out []model.Finding
		for _, g := range groupEvents(in, 24*time.Hour, func(e *model.KernelEvent) bool { _, ok := bad[e.Kind]; return ok }) {
			subj, m := eventSubject(in, g)
			since := in.Now.Add(-minutes(p.Get("window_minutes", m)))
			var recent []model.KernelEvent
			what := map[string]int{}
			for _, e := range g.events {
				if !e.Time.Before(since) {
					recent = append(recent, e)
					what[bad[e.Kind]]++
				}
			}
			if len(recent) == 0 {
				continue
			}
			out = append(out, model.Finding{
				Severity: model.Warning, Subject: subj, SubjectID: subjectID(g), Match: m,
				Message:  fmt.Sprintf("RAID controller event on %s: %s", model.Clean(recent[0].Device), kindList(what)),
				Remedy:   raidRemedy(recent[0], diskPath(in, recent[0])),
				Evidence: evidence(recent),
			})
		}
		return out
	},
}
