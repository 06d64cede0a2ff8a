package report

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/diskwatch/diskwatch/alerts/history"
	"github.com/diskwatch/diskwatch/alerts/replay/backblaze"
	"github.com/diskwatch/diskwatch/alerts/rules"
	"github.com/diskwatch/diskwatch/collectors/model"
)

// fleetFixture finds the shared Backblaze fixture above the checkout.
func fleetFixture(t *testing.T) string {
	dir, _ := filepath.Abs(".")
	for ; dir != "/"; dir = filepath.Dir(dir) {
		p := filepath.Join(dir, "shared", "fixtures", "backblaze", "2013q2")
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			return p
		}
	}
	t.Skip("shared Backblaze fixture not found above the checkout")
	return ""
}

// fleet reads the last 14 days of the real fixture into an in-memory
// history and returns the report of its first n drives (as of the last
// day), judged by the default rules with that history.
func fleet(t *testing.T, n int) *Report {
	t.Helper()
	dir := fleetFixture(t)
	files, _ := filepath.Glob(filepath.Join(dir, "*.csv.gz"))
	files = files[len(files)-14:]
	h := history.NewMem(0, false, nil)
	byID := map[string]model.Disk{}
	var order []string
	var last time.Time
	for _, f := range files {
		src, err := backblaze.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		var rec backblaze.Record
		var samples []model.Sample
		for {
			err := src.Next(context.Background(), &rec)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			id := rec.Disk.Device.ID()
			if _, ok := byID[id]; !ok {
				if len(order) >= n {
					continue
				}
				order = append(order, id)
			}
			byID[id] = rec.Disk
			samples = append(samples, rec.Disk.Samples()...)
			last = rec.Date
		}
		src.Close()
		if err := h.Append(context.Background(), last, samples); err != nil {
			t.Fatal(err)
		}
	}
	snap := &model.Snapshot{Time: last}
	for _, id := range order {
		snap.Disks = append(snap.Disks, byID[id])
	}
	fs := rules.Default().Evaluate(&rules.Input{Snapshot: snap, Now: last, History: h}, nil)
	r, err := Build(context.Background(), Input{Host: "fleet", Now: last, Since: last.Add(-14 * 24 * time.Hour), Snapshot: snap, Findings: fs, History: h})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestFleetInChromium renders reports of 10 and 10,000 real drives and
// opens them in headless Chromium: one table row per disk, cards only for
// the disks that are not OK, the table sortable by its inline script, and
// the page size and render time stated.
func TestFleetInChromium(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium not installed (.ci/setup installs it)")
		}
		t.Skip("chromium not installed")
	}
	run := func(page string, extra ...string) (string, time.Duration) {
		profile := t.TempDir()
		args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
			"--disable-background-networking", "--disable-component-update", "--disable-sync", "--user-data-dir=" + profile}, extra...)
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		start := time.Now()
		out, err := exec.CommandContext(ctx, chromium, append(args, "file://"+page)...).Output()
		if err != nil {
			t.Fatalf("chromium %v: %v", extra, err)
		}
		return string(out), time.Since(start)
	}
	empty := filepath.Join(t.TempDir(), "empty.html")
	os.WriteFile(empty, []byte("<!DOCTYPE html><title>x</title>"), 0o644)
	_, base := run(empty, "--window-size=1100,1600", "--screenshot="+filepath.Join(t.TempDir(), "e.png"))
	for _, n := range []int{10, 10000} {
		r := fleet(t, n)
		var buf bytes.Buffer
		if err := Render(&buf, r); err != nil {
			t.Fatal(err)
		}
		page := filepath.Join(t.TempDir(), fmt.Sprintf("fleet-%d.html", n))
		if err := os.WriteFile(page, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		dom, _ := run(page, "--dump-dom")
		rows := strings.Count(dom, `<tr class="s-`)
		cards := len(regexp.MustCompile(`<div class="card [a-z]+" id="disk-`).FindAllString(dom, -1))
		notOK := 0
		for _, row := range r.Rows {
			if row.Status != "OK" {
				notOK++
			}
		}
		if rows != n || cards != notOK || len(r.Rows) != n {
			t.Errorf("%d disks: %d table rows, %d cards for %d disks not OK", n, rows, cards, notOK)
		}
		// The inline script ran: it added the filter box.
		if !strings.Contains(dom, `id="filter"`) {
			t.Errorf("%d disks: the table's script did not run", n)
		}
		if notOK > 0 && !strings.Contains(dom, "<svg class=\"chart\"") {
			t.Errorf("%d disks: no charts on the cards", n)
		}
		shot := filepath.Join(t.TempDir(), "fleet.png")
		_, took := run(page, "--window-size=1100,1600", "--screenshot="+shot)
		if st, err := os.Stat(shot); err != nil || st.Size() < 10000 {
			t.Errorf("%d disks: screenshot %v", n, err)
		}
		t.Logf("%d disks: %d not OK (cards); page %.0f kB; Chromium load+render+screenshot %.2f s (%.2f s beyond an empty page)",
			n, notOK, float64(buf.Len())/1e3, took.Seconds(), (took - base).Seconds())
	}
}
