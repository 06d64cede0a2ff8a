// Package report renders diskwatch's self-contained HTML health report:
// inline CSS and server-drawn SVG charts, no scripts, no external requests.
package report

import (
	"fmt"
	"html"
	"math"
	"strings"
	"time"
)

// Point is one sample of a chart series.
type Point struct {
	Time  time.Time
	Value float64
}

// Mark is a moment to flag on a chart (an alert firing).
type Mark struct {
	Time     time.Time
	Severity string // "WARNING", "CRITICAL", ...
	Label    string
}

// Chart is one small trend chart.
type Chart struct {
	Title string
	Unit  string
	// Points oldest first.
	Points []Point
	// Threshold, when set, is drawn as a dashed line (e.g. a vendor
	// threshold or a configured limit).
	Threshold *float64
	// Marks are alert moments drawn as vertical lines.
	Marks []Mark
	// From and To fix the time axis (zero: the data's own range, which
	// keeps an old fleet history or a short live one readable).
	From, To time.Time
}

const (
	chartW, chartH = 320, 120
	padL, padR     = 40, 8
	padT, padB     = 16, 20
)

// SVG renders the chart as an inline SVG element. Text is HTML-escaped;
// the element scales to its container (viewBox) and prints well.
func (c Chart) SVG() string {
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" role="img" aria-label="%s" data-points="%d" xmlns="http://www.w3.org/2000/svg">`,
		chartW, chartH, html.EscapeString(c.Title), len(c.Points))
	fmt.Fprintf(&b, `<text class="t" x="%d" y="11">%s</text>`, padL, html.EscapeString(c.Title+unitSuffix(c.Unit)))
	if len(c.Points) == 0 {
		fmt.Fprintf(&b, `<text class="empty" x="%d" y="%d">no data</text></svg>`, chartW/2-20, chartH/2)
		return b.String()
	}
	from, to := c.From, c.To
	if from.IsZero() || to.IsZero() {
		from, to = c.Points[0].Time, c.Points[len(c.Points)-1].Time
	}
	if !to.After(from) {
		to = from.Add(time.Hour)
	}
	lo, hi := c.Points[0].Value, c.Points[0].Value
	for _, p := range c.Points {
		lo, hi = math.Min(lo, p.Value), math.Max(hi, p.Value)
	}
	if c.Threshold != nil {
		lo, hi = math.Min(lo, *c.Threshold), math.Max(hi, *c.Threshold)
	}
	if lo > 0 && lo < hi/3 {
		lo = 0 // counters read best from zero
	}
	if hi == lo {
		hi, lo = hi+1, lo-math.Min(1, math.Abs(lo))
	}
	x := func(t time.Time) float64 {
		return padL + float64(chartW-padL-padR)*float64(t.Sub(from))/float64(to.Sub(from))
	}
	y := func(v float64) float64 {
		return padT + float64(chartH-padT-padB)*(hi-v)/(hi-lo)
	}
	// Frame and axis labels.
	fmt.Fprintf(&b, `<rect class="frame" x="%d" y="%d" width="%d" height="%d"/>`, padL, padT, chartW-padL-padR, chartH-padT-padB)
	fmt.Fprintf(&b, `<text class="ax" x="%d" y="%.1f" text-anchor="end">%s</text>`, padL-3, y(hi)+4, num(hi))
	fmt.Fprintf(&b, `<text class="ax" x="%d" y="%.1f" text-anchor="end">%s</text>`, padL-3, y(lo), num(lo))
	fmt.Fprintf(&b, `<text class="ax" x="%d" y="%d">%s</text>`, padL, chartH-5, from.UTC().Format("2006-01-02"))
	fmt.Fprintf(&b, `<text class="ax" x="%d" y="%d" text-anchor="end">%s</text>`, chartW-padR, chartH-5, to.UTC().Format("2006-01-02"))
	if c.Threshold != nil {
		fmt.Fprintf(&b, `<line class="thresh" x1="%d" x2="%d" y1="%.1f" y2="%.1f"><title>threshold %s</title></line>`,
			padL, chartW-padR, y(*c.Threshold), y(*c.Threshold), num(*c.Threshold))
	}
	for _, m := range c.Marks {
		if m.Time.Before(from) || m.Time.After(to) {
			continue
		}
		fmt.Fprintf(&b, `<line class="mark %s" x1="%.1f" x2="%.1f" y1="%d" y2="%d"><title>%s %s %s</title></line>`,
			strings.ToLower(html.EscapeString(m.Severity)), x(m.Time), x(m.Time), padT, chartH-padB,
			html.EscapeString(m.Severity), m.Time.UTC().Format("2006-01-02 15:04"), html.EscapeString(m.Label))
	}
	var path strings.Builder
	for i, p := range c.Points {
		cmd := "L"
		if i == 0 {
			cmd = "M"
		}
		fmt.Fprintf(&path, "%s%.1f %.1f ", cmd, x(p.Time), y(p.Value))
	}
	fmt.Fprintf(&b, `<path class="line" d="%s"/>`, strings.TrimSpace(path.String()))
	last := c.Points[len(c.Points)-1]
	fmt.Fprintf(&b, `<circle class="last" cx="%.1f" cy="%.1f" r="2.5"><title>%s: %s</title></circle>`,
		x(last.Time), y(last.Value), last.Time.UTC().Format("2006-01-02 15:04"), num(last.Value))
	b.WriteString(`</svg>`)
	return b.String()
}

func unitSuffix(u string) string {
	if u == "" {
		return ""
	}
	return " (" + u + ")"
}

// num prints a number compactly: 12, 3.5, 1.2k, 4.1M.
func num(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 1e9:
		return fmt.Sprintf("%.1fG", v/1e9)
	case a >= 1e6:
		return fmt.Sprintf("%.1fM", v/1e6)
	case a >= 1e4:
		return fmt.Sprintf("%.1fk", v/1e3)
	case a == math.Trunc(a):
		return fmt.Sprintf("%.0f", v)
	default:
		return fmt.Sprintf("%.1f", v)
	}
}
