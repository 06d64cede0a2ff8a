package hwraid

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/diskwatch/diskwatch/collectors/execx"
)

// ScanEntry is one line of `smartctl --scan-open`.
type ScanEntry struct {
	Dev  string // /dev/bus/0
	Type string // megaraid,0
}

var scanRE = regexp.MustCompile(`^(\S+) -d (\S+)(?:\s+#.*)?$`)

// ParseScan reads `smartctl --scan` / `--scan-open` text output: lines
// "/dev/bus/0 -d megaraid,0 # /dev/bus/0 [megaraid_disk_00], SCSI device".
// Lines it cannot read are skipped (smartctl prints notes among them).
func ParseScan(b []byte) []ScanEntry {
	var out []ScanEntry
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if g := scanRE.FindStringSubmatch(l); g != nil {
			out = append(out, ScanEntry{Dev: g[1], Type: g[2]})
		}
	}
	return out
}

var megaTypeRE = regexp.MustCompile(`^(sat\+)?megaraid,(\d+)$`)

// MegaRAIDTargets picks the disks of the MegaRAID at SCSI host host from
// scan entries (smartctl lists them from the controller's own PD list).
func MegaRAIDTargets(entries []ScanEntry, host int) []Target {
	var out []Target
	seen := map[int]bool{}
	want := fmt.Sprintf("/dev/bus/%d", host)
	for _, e := range entries {
		if e.Dev != want {
			continue
		}
		g := megaTypeRE.FindStringSubmatch(e.Type)
		if g == nil {
			continue
		}
		n, err := strconv.Atoi(g[2])
		if err != nil || seen[n] {
			continue
		}
		seen[n] = true
		out = append(out, Target{N: n, SATA: g[1] != ""})
	}
	sortTargets(out)
	return out
}

// megaraidScan lists a MegaRAID's disks with `smartctl --scan-open`,
// which asks the controller for its physical disk list.
func (c *Collector) megaraidScan(ctx context.Context, ct Controller) ([]Target, error) {
	prog := c.SmartctlProgram
	if prog == "" {
		prog = "smartctl"
	}
	out, err := execx.Output(ctx, 60*time.Second, prog, "--scan-open")
	if err != nil && len(out) == 0 {
		return nil, fmt.Errorf("%s: smartctl --scan-open: %w", ct.Name, err)
	}
	ts := MegaRAIDTargets(ParseScan(out), ct.Host)
	if len(ts) == 0 {
		return nil, fmt.Errorf("%s: smartctl --scan-open lists no disk behind /dev/bus/%d", ct.Name, ct.Host)
	}
	return ts, nil
}
