package mdraid

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/diskwatch/diskwatch/collectors/model"
)

// This parser is ours rather than procfs' (which the differential test in
// mdstat_test.go still runs against): procfs rejects a whole file whose
// continuation lines are indented with tabs, as some kernels wrote them,
// and loses every array when one is malformed. Here one bad array is an
// error for that array only.

var (
	memberRE   = regexp.MustCompile(`^([^\s\[\]]+)\[(\d+)\]((?:\([A-Za-z]\))*)$`)
	slotsRE    = regexp.MustCompile(`\[(\d+)/(\d+)\]\s+\[([U_]*)\]`)
	countsRE   = regexp.MustCompile(`\[(\d+)/(\d+)\]`)
	progressRE = regexp.MustCompile(`(recovery|resync|check|reshape|repair)\s*=\s*([\d.]+)%\s*\((\d+)/(\d+)\)(?:\s*finish=([\d.]+)min)?(?:\s*speed=(\d+)K/sec)?`)
	pendingRE  = regexp.MustCompile(`(resync|recovery|check|reshape|repair)\s*=\s*(DELAYED|PENDING|REMOTE)`)
	levelRE    = regexp.MustCompile(`^(raid\d+|linear|multipath|faulty|container)$`)
)

// ParseMDStat parses the text of /proc/mdstat. It returns every array it
// could read and, joined, one error per array it could not.
func ParseMDStat(data []byte) ([]model.Array, error) {
	var (
		arrays []model.Array
		errs   []error
		cur    *model.Array
		seenSt bool
	)
	finish := func() {
		if cur == nil {
			return
		}
		if !seenSt {
			errs = append(errs, fmt.Errorf("mdstat: %s: no status line (blocks ...) follows the array line", model.Clean(cur.Name)))
		} else {
			arrays = append(arrays, *cur)
		}
		cur = nil
	}
	for n, raw := range strings.Split(string(data), "\n") {
		line := strings.TrimRight(raw, " \t\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		indented := line[0] == ' ' || line[0] == '\t'
		if !indented {
			finish()
			if strings.HasPrefix(line, "Personalities") || strings.HasPrefix(line, "unused devices") {
				continue
			}
			a, err := parseHeader(line)
			if err != nil {
				errs = append(errs, fmt.Errorf("mdstat line %d: %w", n+1, err))
				continue
			}
			cur, seenSt = &a, false
			continue
		}
		if cur == nil {
			continue // a continuation of an array we rejected, or of the unused line
		}
		body := strings.TrimSpace(line)
		switch {
		case strings.Contains(body, " blocks") && !seenSt:
			if err := parseStatus(cur, body); err != nil {
				errs = append(errs, fmt.Errorf("mdstat line %d: %s: %w", n+1, model.Clean(cur.Name), err))
				cur = nil
				continue
			}
			seenSt = true
		case strings.HasPrefix(body, "bitmap:"):
		case pendingRE.MatchString(body):
			m := pendingRE.FindStringSubmatch(body)
			cur.SyncAction, cur.SyncPending = syncAction(m[1]), m[2]
		case progressRE.MatchString(body):
			m := progressRE.FindStringSubmatch(body)
			cur.SyncAction = syncAction(m[1])
			cur.SyncPercent, _ = strconv.ParseFloat(m[2], 64)
			if m[5] != "" {
				mins, _ := strconv.ParseFloat(m[5], 64)
				cur.SyncETA = time.Duration(mins * float64(time.Minute))
			}
			if m[6] != "" {
				cur.SyncSpeedKiBs, _ = strconv.ParseFloat(m[6], 64)
			}
		}
	}
	finish()
	return arrays, errors.Join(errs...)
}

// syncAction maps mdstat's progress word to sysfs sync_action's.
func syncAction(w string) string {
	if w == "recovery" {
		return "recover"
	}
	return w
}

// parseHeader parses "md6 : active (read-only) raid1 sdb2[2](F) sda2[0]".
func parseHeader(line string) (model.Array, error) {
	name, rest, ok := strings.Cut(line, ":")
	name = strings.TrimSpace(name)
	if !ok || name == "" || strings.ContainsAny(name, " \t/") {
		return model.Array{}, fmt.Errorf("not an array line: %q", model.Clean(line))
	}
	f := strings.Fields(rest)
	if len(f) == 0 {
		return model.Array{}, fmt.Errorf("%s: no state on the array line", model.Clean(name))
	}
	a := model.Array{Name: name, Path: "/dev/" + name, Activity: f[0], Degraded: -1, MismatchCount: -1}
	if a.Activity != "active" && a.Activity != "inactive" {
		return model.Array{}, fmt.Errorf("%s: unknown state %q", model.Clean(name), model.Clean(a.Activity))
	}
	for _, w := range f[1:] {
		switch {
		case w == "(read-only)":
			a.ReadOnly = true
			a.ArrayState = "readonly"
		case w == "(auto-read-only)":
			a.ReadOnly = true
			a.ArrayState = "read-auto"
		case levelRE.MatchString(w):
			a.Level = w
		default:
			m := memberRE.FindStringSubmatch(w)
			if m == nil {
				return model.Array{}, fmt.Errorf("%s: unreadable member %q", model.Clean(name), model.Clean(w))
			}
			idx, err := strconv.Atoi(m[2])
			if err != nil {
				return model.Array{}, fmt.Errorf("%s: member %q: %w", model.Clean(name), model.Clean(w), err)
			}
			a.Members = append(a.Members, model.Member{
				Name: m[1], Index: idx, Slot: -1,
				Faulty: strings.Contains(m[3], "(F)"), Spare: strings.Contains(m[3], "(S)"),
				Replacement: strings.Contains(m[3], "(R)"), WriteMostly: strings.Contains(m[3], "(W)"),
				Errors: -1, BadBlocks: -1,
			})
		}
	}
	for _, m := range a.Members {
		switch {
		case m.Faulty:
			a.DisksFailed++
		case m.Spare:
			a.DisksSpare++
		}
	}
	return a, nil
}

// parseStatus parses "195310144 blocks super 1.2 [2/1] [U_]".
func parseStatus(a *model.Array, body string) error {
	f := strings.Fields(body)
	blocks, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil || blocks < 0 {
		return fmt.Errorf("bad block count %q", model.Clean(f[0]))
	}
	a.SizeBytes = blocks * 1024
	for i, w := range f {
		if w == "super" && i+1 < len(f) {
			a.Metadata = f[i+1]
		}
	}
	if a.Metadata == "" {
		a.Metadata = "0.90" // mdstat omits "super" for 0.90 superblocks
	}
	if m := slotsRE.FindStringSubmatch(body); m != nil {
		total, _ := strconv.Atoi(m[1])
		active, _ := strconv.Atoi(m[2])
		if len(m[3]) != total {
			return fmt.Errorf("slot map [%s] does not match [%d/%d]", m[3], total, active)
		}
		a.DisksTotal, a.DisksActive = total, active
		// The counts and the map can disagree ("[2/1] [UU]", a torn
		// read or a kernel bug): the worse of the two is believed, so an
		// array short of a member never reads as healthy.
		a.DisksDown = max(strings.Count(m[3], "_"), total-active)
		return nil
	}
	if m := countsRE.FindStringSubmatch(body); m != nil {
		// "[2/1]" with no slot map after it: the counts alone say how
		// many slots are down.
		total, err1 := strconv.Atoi(m[1])
		active, err2 := strconv.Atoi(m[2])
		if err1 != nil || err2 != nil || active > total {
			return fmt.Errorf("bad slot counts [%s/%s]", m[1], m[2])
		}
		a.DisksTotal, a.DisksActive, a.DisksDown = total, active, total-active
		return nil
	}
	// raid0, linear and inactive arrays have no slot map: every listed
	// non-spare member is a slot.
	if a.Activity == "inactive" {
		return nil
	}
	for _, m := range a.Members {
		if !m.Spare && !m.Faulty {
			a.DisksTotal++
			a.DisksActive++
		}
	}
	return nil
}
