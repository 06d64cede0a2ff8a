package report

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/diskwatch/diskwatch/alerts/rules"
	"github.com/diskwatch/diskwatch/collectors/model"
)

type memHistory map[string][]rules.Point

func (m memHistory) Series(subject, metric string, since time.Time) ([]rules.Point, error) {
	var out []rules.Point
	for _, p := range m[subject+"|"+metric] {
		if !p.Time.Before(since) {
			out = append(out, p)
		}
	}
	return out, nil
}

var t0 = time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)

func pt(t time.Time, v float64) rules.Point { return rules.Point{Time: t, Value: v} }

func cp(t time.Time, v float64) Point { return Point{Time: t, Value: v} }

func TestChartSVG(t *testing.T) {
	th := 10.0
	c := Chart{Title: "Reallocated <5>", Points: []Point{cp(t0, 0), cp(t0.Add(24*time.Hour), 8), cp(t0.Add(48*time.Hour), 24)},
		Threshold: &th, Marks: []Mark{{Time: t0.Add(24 * time.Hour), Severity: "WARNING", Label: "smart.growth"}}}
	svg := c.SVG()
	for _, want := range []string{`data-points="3"`, `Reallocated &lt;5&gt;`, `class="thresh"`, `class="mark warning"`, `<path class="line" d="M40.0 `, ">24<"} {
		if !strings.Contains(svg, want) {
			t.Errorf("SVG lacks %q:\n%s", want, svg)
		}
	}
	if strings.Contains(svg, "<5>") {
		t.Error("title not escaped")
	}
	if empty := (Chart{Title: "x"}).SVG(); !strings.Contains(empty, "no data") {
		t.Errorf("empty chart: %s", empty)
	}
}

func TestBuildAndRender(t *testing.T) {
	disk := model.Disk{Device: model.DeviceInfo{Path: "/dev/sda", Model: "EVIL<script>alert(1)</script>", Serial: "S1\x1b[2J"}}
	id := disk.Device.ID()
	h := memHistory{
		id + "|smart_attr_5_raw": {pt(t0, 0), pt(t0.Add(48*time.Hour), 8), pt(t0.Add(96*time.Hour), 40)},
		id + "|temperature_c":    {pt(t0, 35), pt(t0.Add(96*time.Hour), 41)},
		"md0|md_disks_active":    {pt(t0, 2), pt(t0.Add(96*time.Hour), 1)},
	}
	snap := &model.Snapshot{Disks: []model.Disk{disk, {Device: model.DeviceInfo{Path: "/dev/sdb", Serial: "S2"}}},
		Arrays: []model.Array{{Name: "md0", Level: "raid1", DisksTotal: 2, DisksActive: 1, Members: []model.Member{{Name: "sda1"}, {Name: "sdb1", Faulty: true}}}}}
	findings := []model.Finding{
		{Severity: model.Critical, Rule: "md.degraded", Subject: "md0", SubjectID: "md0", Message: "md0 is DEGRADED", Remedy: "mdadm /dev/md0 --add /dev/sdb1"},
		{Severity: model.Warning, Rule: "smart.growth", Subject: disk.Device.Display(), SubjectID: id, Message: "reallocated sectors grew <fast>", Evidence: []string{"Pinheiro et al. 2007"}},
	}
	r, err := Build(context.Background(), Input{Host: "host1", Now: t0.Add(100 * time.Hour), Since: t0, Snapshot: snap, Findings: findings, History: h,
		Alerts: map[string][]Mark{id: {{Time: t0.Add(50 * time.Hour), Severity: "WARNING"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != "CRITICAL" || r.Counts["CRITICAL"] != 1 || r.Counts["WARNING"] != 1 || r.Counts["OK"] != 1 {
		t.Errorf("status %s counts %v", r.Status, r.Counts)
	}
	// A card for the disk that is not OK only; a table row for each.
	if len(r.Disks) != 1 || r.Disks[0].ID != id || len(r.Disks[0].Charts) != 2 {
		t.Errorf("cards: %+v", r.Disks)
	}
	if len(r.Rows) != 2 || r.Rows[0].ID != id || !r.Rows[0].Card || r.Rows[1].Card || r.Rows[1].Status != "OK" {
		t.Errorf("rows worst first: %+v", r.Rows)
	}
	var buf bytes.Buffer
	if err := Render(&buf, r); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if strings.Contains(out, "<script>alert") || strings.Contains(out, "\x1b") {
		t.Error("untrusted strings reached the page raw")
	}
	for _, want := range []string{"EVIL&lt;script&gt;", `data-kind="disk" data-status="WARNING"`, `data-kind="array" data-status="CRITICAL"`,
		"grew &lt;fast&gt;", `class="mark warning"`, "mdadm /dev/md0 --add /dev/sdb1", "sdb1 (failed)",
		`<table id="fleet">`, `<a href="#` + anchor("disk", id) + `">`, `id="` + anchor("disk", id) + `"`, `<li id="ev1">Pinheiro et al. 2007</li>`, `<sup><a href="#ev1">[1]</a></sup>`} {
		if !strings.Contains(out, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// Evidence said once.
	if n := strings.Count(out, "Pinheiro"); n != 1 {
		t.Errorf("evidence said %d times", n)
	}
	// Self-contained: nothing is fetched; links stay in the page; the one
	// script is inline.
	if m := regexp.MustCompile(`(?i)(src=|href="[^#]|url\(|@import|<link|<script[^>])`).FindString(out); m != "" {
		t.Errorf("page would fetch something: %q", m)
	}
}
