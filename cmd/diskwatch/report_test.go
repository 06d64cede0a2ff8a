package main

import (
	"bufio"
	"compress/gzip"
	"context"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/diskwatch/diskwatch/alerts/engine"
	"github.com/diskwatch/diskwatch/alerts/history"
	"github.com/diskwatch/diskwatch/collectors/model"
)

// TestReportFromStore writes a history, then a report from it alone.
func TestReportFromStore(t *testing.T) {
	dir := t.TempDir()
	st, err := history.Open(context.Background(), dir, history.Options{Now: func() time.Time { return fixedNow }})
	if err != nil {
		t.Fatal(err)
	}
	disk := "serial:WDC_WD40EFRX_WD-TEST1"
	start := fixedNow.Add(-10 * 24 * time.Hour)
	for d := 0; d < 10; d++ {
		at := start.Add(time.Duration(d) * 24 * time.Hour)
		level := 0.0
		if d >= 6 {
			level = 1
		}
		samples := []model.Sample{
			{Subject: disk, Metric: "smart_attr_5_raw", Value: float64(d * d)},
			{Subject: disk, Metric: "smart_attr_5_value", Value: 100},
			{Subject: disk, Metric: "temperature_c", Value: 30 + float64(d)},
			{Subject: disk, Metric: engine.AlertLevelMetric, Value: level},
		}
		if err := st.Append(context.Background(), at, samples); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	out := filepath.Join(t.TempDir(), "r.html")
	_, errOut, code := runCmd(t, nil, "report", "--config", noConfig(t), "--no-collect", "--state", dir, "--html", out, "--since", "30d")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	for _, want := range []string{"WDC WD40EFRX WD-TEST1", "Reallocated sectors (5)", "Temperature (°C)", `class="mark warning"`, `data-points="10"`} {
		if !strings.Contains(page, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if n := strings.Count(page, "<svg"); n != 2 {
		t.Errorf("%d charts, want 2", n)
	}
}

// failedDrives writes, from the real Backblaze fixture (shared/fixtures,
// Backblaze data; see its SOURCES.md), a CSV holding the whole histories
// of the first n drives that failed, and returns their serials.
func failedDrives(t *testing.T, n int) (string, []string) {
	t.Helper()
	var files []string
	for dir, _ := filepath.Abs("."); dir != "/" && len(files) == 0; dir = filepath.Dir(dir) {
		files, _ = filepath.Glob(filepath.Join(dir, "shared/fixtures/backblaze/2013q2/*.csv.gz"))
	}
	if len(files) == 0 {
		t.Skip("Backblaze fixture not found beside the repository")
	}
	sort.Strings(files)
	// scan calls fn with every data row, in date order, and returns the
	// header.
	scan := func(fn func(serial, failure, line string)) string {
		var header string
		for _, f := range files {
			fh, err := os.Open(f)
			if err != nil {
				t.Fatal(err)
			}
			gz, err := gzip.NewReader(fh)
			if err != nil {
				t.Fatal(err)
			}
			sc := bufio.NewScanner(gz)
			sc.Buffer(make([]byte, 1<<20), 1<<20)
			for first := true; sc.Scan(); first = false {
				if first {
					header = sc.Text()
					continue
				}
				if f := strings.SplitN(sc.Text(), ",", 6); len(f) >= 5 {
					fn(f[1], f[4], sc.Text())
				}
			}
			gz.Close()
			fh.Close()
		}
		return header
	}
	var failed []string
	scan(func(serial, failure, _ string) {
		if failure == "1" && len(failed) < n {
			failed = append(failed, serial)
		}
	})
	keep := map[string]bool{}
	for _, s := range failed {
		keep[s] = true
	}
	var b strings.Builder
	header := scan(func(serial, _, line string) {
		if keep[serial] {
			b.WriteString(line + "\n")
		}
	})
	out := filepath.Join(t.TempDir(), "failed.csv")
	if err := os.WriteFile(out, []byte(header+"\n"+b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return out, failed
}

// TestReportInChromium replays real failed-drive histories into a store,
// renders the report the way README says (no window given: the data ended
// in 2013, so the window is anchored to the newest stored reading, and the
// page says so), and opens it in headless Chromium: the DOM must hold each
// disk in the table, a card with charts for each disk that is not OK, and
// the screenshot must show drawn charts.
func TestReportInChromium(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium not installed (.ci/setup installs it)")
		}
		t.Skip("chromium not installed")
	}
	csv, serials := failedDrives(t, 10)
	stateDir := t.TempDir()
	_, errOut, code := runCmd(t, nil, "replay", "--config", noConfig(t), "--progress", "off", "--state", stateDir, csv)
	if code != exitOK {
		t.Fatalf("replay: exit %d: %s", code, errOut)
	}
	html := filepath.Join(t.TempDir(), "report.html")
	_, errOut, code = runCmd(t, nil, "report", "--config", noConfig(t), "--no-collect", "--state", stateDir, "--html", html)
	if code != exitOK {
		t.Fatalf("report: exit %d: %s", code, errOut)
	}
	profile := t.TempDir()
	args := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--user-data-dir=" + profile}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dom, err := exec.CommandContext(ctx, chromium, append(args, "--dump-dom", "file://"+html)...).Output()
	if err != nil {
		t.Fatalf("chromium --dump-dom: %v", err)
	}
	cards := regexp.MustCompile(`<div class="card [a-z]+" id="disk-([^"]+)"`).FindAllStringSubmatch(string(dom), -1)
	rows := strings.Count(string(dom), `<tr class="s-`)
	notOK := rows - strings.Count(string(dom), `<tr class="s-ok"`)
	if rows != len(serials) || len(cards) != notOK || notOK == 0 {
		t.Errorf("DOM has %d table rows and %d disk cards; want %d rows and a card for each of the %d not OK", rows, len(cards), len(serials), notOK)
	}
	if !strings.Contains(string(dom), "No live readings: the report is as of the newest stored reading, 2013-0") {
		t.Error("the page does not say its window ends at the newest stored reading")
	}
	if strings.Contains(string(dom), "supported but disabled") {
		t.Error("a stored disk is said to have SMART disabled")
	}
	for _, s := range serials {
		if !strings.Contains(string(dom), s) {
			t.Errorf("DOM lacks failed drive %s", s)
		}
	}
	if n := strings.Count(string(dom), `<svg class="chart"`); n < len(cards) {
		t.Errorf("DOM has %d charts for %d cards", n, len(cards))
	}
	if !strings.Contains(string(dom), `<path class="line" d="M`) {
		t.Error("no chart line in the DOM")
	}
	shot := filepath.Join(t.TempDir(), "report.png")
	cmd := exec.CommandContext(ctx, chromium, append(args, "--window-size=1100,1600", "--screenshot="+shot, "file://"+html)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium --screenshot: %v\n%s", err, out)
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	// The chart lines are #1565c0: count pixels of that blue.
	blue := 0
	bnd := img.Bounds()
	for y := bnd.Min.Y; y < bnd.Max.Y; y++ {
		for x := bnd.Min.X; x < bnd.Max.X; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			if r>>8 < 0x40 && g>>8 > 0x50 && g>>8 < 0x80 && b>>8 > 0xa0 {
				blue++
			}
		}
	}
	if blue < 200 {
		t.Errorf("screenshot shows %d chart-blue pixels: charts not drawn", blue)
	}
	if os.Getenv("DISKWATCH_KEEP_SCREENSHOT") != "" {
		data, _ := os.ReadFile(shot)
		os.WriteFile(os.Getenv("DISKWATCH_KEEP_SCREENSHOT"), data, 0o644)
	}
	t.Logf("%d disks, %d cards, %s chart-blue pixels", rows, len(cards), fmt.Sprint(blue))
}
