package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// reportMemoryBound is the most the daemon's peak RSS may reach while 48
// clients ask for /report?since=400d at once over a replayed store:
// measured 24 MB with reports built one at a time, 60 MB with all 48 at
// once (and 626 MB on a 16 MB store before /report was bounded).
const reportMemoryBound = 48 << 20

// TestReportUnderParallelLoad: 48 parallel GET /report with the longest
// window over a store of a replayed fleet (621 drives). Reports are built
// one at a time, so memory stays under reportMemoryBound; every client
// gets either the page or a 503 saying to retry; an over-long window is
// refused.
func TestReportUnderParallelLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	bin := diskwatchBin(t)
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	short := filepath.Join(dir, "first-days.csv")
	writeFirstDays(t, "../../alerts/replay/testdata/2013q2-slice.csv.gz", short, "2013-04-14")
	if out, err := exec.Command(bin, "replay", "--state", state, "--progress", "off", short).CombinedOutput(); err != nil {
		t.Fatalf("replay: %v\n%s", err, out)
	}
	st, _ := os.Stat(filepath.Join(state, "history.db"))
	cfgPath := filepath.Join(dir, "diskwatch.yaml")
	os.WriteFile(cfgPath, []byte(`collectors:
  smart: {enabled: false}
  smartctl: {enabled: false}
  kmsg: {enabled: false}
  hwraid: {enabled: false}
daemon:
  interval: 30s
  metrics_listen: "127.0.0.1:0"
`), 0o600)
	d := startDaemon(t, nil, "--root", mdRoot(t), "--config", cfgPath, "--state", state)
	addr := d.metricsAddr(t)
	d.waitLog(t, "diskwatch daemon ready", 1, 30*time.Second)
	base := rss(t, d.cmd.Process.Pid, "VmRSS")
	if resp, err := http.Get("http://" + addr + "/report?since=100000d"); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("since=100000d: %s, want 400", resp.Status)
		}
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	var biggest int
	start := time.Now()
	for i := 0; i < 48; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &http.Client{Timeout: 5 * time.Minute}
			resp, err := c.Get("http://" + addr + "/report?since=400d")
			if err != nil {
				mu.Lock()
				codes[-1]++
				mu.Unlock()
				return
			}
			n, _ := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			mu.Lock()
			codes[resp.StatusCode]++
			if int(n) > biggest {
				biggest = int(n)
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	peak := rss(t, d.cmd.Process.Pid, "VmHWM")
	t.Logf("store %d MB; 48 parallel /report?since=400d in %s: answers %v, largest page %d KB; RSS %d MB before, peak %d MB (bound %d MB)",
		st.Size()>>20, time.Since(start).Round(time.Millisecond), codes, biggest>>10, base>>20, peak>>20, reportMemoryBound>>20)
	if codes[200] == 0 {
		t.Errorf("no client got the report: %v\n%s", codes, d.log.String())
	}
	if codes[-1] > 0 || codes[200]+codes[503] != 48 {
		t.Errorf("answers %v: every client gets the page or a 503", codes)
	}
	if peak > reportMemoryBound {
		t.Errorf("peak RSS %d MB, above the %d MB bound", peak>>20, reportMemoryBound>>20)
	}
}

// rss reads a VmRSS/VmHWM line of /proc/PID/status, in bytes.
func rss(t *testing.T, pid int, field string) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, field+":") {
			f := strings.Fields(l)
			kb, _ := strconv.Atoi(f[1])
			return kb << 10
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// smart --smartctl-json refuses a file larger than the live smartctl
// backend would ever read (8 MiB) instead of loading it.
func TestSmartctlJSONSizeCap(t *testing.T) {
	p := filepath.Join(t.TempDir(), "huge.json")
	f, _ := os.Create(p)
	f.Write([]byte(`{"json_format_version":[1,0],"pad":"`))
	f.Write([]byte(strings.Repeat("x", 9<<20)))
	f.Write([]byte(`"}`))
	f.Close()
	_, stderr, code := runCmd(t, nil, "smart", "--smartctl-json", p)
	if code != exitUnknown || !strings.Contains(stderr, "larger than 8 MiB") {
		t.Errorf("exit %d: %s", code, stderr)
	}
}
