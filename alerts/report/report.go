package report

import (
	"context"
	"fmt"
	"html/template"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/diskwatch/diskwatch/alerts/rules"
	"github.com/diskwatch/diskwatch/collectors/model"
)

// Input is everything a report is built from.
type Input struct {
	Host  string
	Now   time.Time
	Since time.Time
	// Snapshot is the latest reading (arrays, disks, UPS, sensors); it may
	// hold only DeviceInfo for disks known from history alone.
	Snapshot *model.Snapshot
	// Findings are the current findings (from the same snapshot).
	Findings []model.Finding
	// History supplies the chart series; nil draws no charts.
	History rules.History
	// Alerts are past alert moments per subject ID, drawn on the charts.
	Alerts map[string][]Mark
}

// Report is the rendered model of the page.
type Report struct {
	Title     string
	Host      string
	Generated time.Time
	Since     time.Time
	Status    string
	Counts    map[string]int
	Disks     []Section
	Arrays    []Section
	Env       []Section
}

// Section is one disk, array, UPS or sensor.
type Section struct {
	ID       string
	Name     string
	Kind     string
	Details  []string
	Status   string
	Findings []model.Finding
	Charts   []Chart
	// chartsHTML is filled at render time.
	ChartsHTML []template.HTML
}

// diskMetrics are the key per-disk trends, in display order.
var diskMetrics = []struct {
	metric, title, unit string
	thresholdAttr       int // ATA attribute whose vendor threshold applies (normalized series only)
}{
	{model.AttrRaw(5), "Reallocated sectors (5)", "", 0},
	{model.AttrRaw(197), "Pending sectors (197)", "", 0},
	{model.AttrRaw(198), "Offline uncorrectable (198)", "", 0},
	{model.AttrRaw(187), "Reported uncorrectable (187)", "", 0},
	{model.AttrRaw(188), "Command timeouts (188)", "", 0},
	{model.AttrRaw(199), "CRC errors (199)", "", 0},
	{model.MetricTemperatureC, "Temperature", "°C", 0},
	{model.MetricNVMePercentageUsed, "Wear (NVMe percentage used)", "%", 0},
	{model.MetricNVMeAvailableSpare, "Available spare", "%", 0},
	{model.MetricNVMeMediaErrors, "Media errors (NVMe)", "", 0},
	{model.MetricSCSIGrownDefects, "Grown defects (SCSI)", "", 0},
}

// Build assembles the report. It reads history for each subject; a
// subject with no history gets no charts, not an error.
func Build(ctx context.Context, in Input) (*Report, error) {
	r := &Report{Title: "diskwatch health report", Host: model.Clean(in.Host), Generated: in.Now, Since: in.Since, Counts: map[string]int{}}
	bySubject := map[string][]model.Finding{}
	for _, f := range in.Findings {
		bySubject[f.SubjectID] = append(bySubject[f.SubjectID], f)
	}
	status := func(fs []model.Finding) string { return rules.Overall(fs).String() }
	series := func(subject, metric string) []Point {
		if in.History == nil {
			return nil
		}
		ps, err := in.History.Series(subject, metric, in.Since)
		if err != nil {
			return nil
		}
		out := make([]Point, len(ps))
		for i, p := range ps {
			out[i] = Point{p.Time, p.Value}
		}
		return out
	}
	s := in.Snapshot
	if s == nil {
		s = &model.Snapshot{}
	}
	for _, d := range s.Disks {
		id := d.Device.ID()
		sec := Section{ID: id, Name: d.Device.Display(), Kind: "disk", Findings: bySubject[id]}
		sec.Status = status(sec.Findings)
		for _, kv := range [][2]string{{"model", d.Device.Model}, {"serial", d.Device.Serial}, {"firmware", d.Device.Firmware},
			{"path", d.Device.Path}, {"protocol", d.Device.Protocol}, {"via", d.Device.Via}} {
			if kv[1] != "" {
				sec.Details = append(sec.Details, kv[0]+": "+model.Clean(kv[1]))
			}
		}
		if d.Device.Capacity > 0 {
			sec.Details = append(sec.Details, fmt.Sprintf("capacity: %.1f TB", float64(d.Device.Capacity)/1e12))
		}
		for _, m := range diskMetrics {
			pts := series(id, m.metric)
			if len(pts) == 0 {
				continue
			}
			ch := Chart{Title: m.title, Unit: m.unit, Points: pts, Marks: in.Alerts[id]}
			switch m.metric {
			case model.MetricTemperatureC:
				ch.Threshold = d.WarnTemperatureC // the drive's own limit, when it reports one
			case model.MetricNVMePercentageUsed:
				w := 80.0 // smart.wear's default warning level
				ch.Threshold = &w
			case model.MetricNVMeAvailableSpare:
				if d.NVMe != nil && d.NVMe.AvailableSpareThreshold > 0 {
					t := float64(d.NVMe.AvailableSpareThreshold)
					ch.Threshold = &t
				}
			}
			sec.Charts = append(sec.Charts, ch)
		}
		r.Disks = append(r.Disks, sec)
	}
	for _, a := range s.Arrays {
		sec := Section{ID: a.Name, Name: a.Name, Kind: "array", Findings: bySubject[a.Name]}
		sec.Status = status(sec.Findings)
		var members []string
		for _, m := range a.Members {
			st := model.Clean(m.Name)
			switch {
			case m.Faulty:
				st += " (failed)"
			case m.Spare:
				st += " (spare)"
			}
			members = append(members, st)
		}
		sec.Details = []string{"level: " + a.Level, fmt.Sprintf("slots: %d/%d", a.DisksActive, a.DisksTotal), "members: " + strings.Join(members, ", ")}
		if pts := series(a.Name, "md_disks_active"); len(pts) > 0 {
			t := float64(a.DisksTotal)
			sec.Charts = append(sec.Charts, Chart{Title: "Active members", Points: pts, Threshold: &t, Marks: in.Alerts[a.Name]})
		}
		r.Arrays = append(r.Arrays, sec)
	}
	for _, u := range s.UPS {
		sec := Section{ID: u.Name, Name: "UPS " + model.Clean(u.Name), Kind: "ups", Findings: bySubject[u.Name]}
		sec.Status = status(sec.Findings)
		sec.Details = []string{"status: " + model.Clean(strings.Join(u.Status, " "))}
		for _, m := range [][3]string{{"ups_battery_charge_percent", "Battery charge", "%"}, {"ups_battery_runtime_seconds", "Runtime", "s"}, {"ups_load_percent", "Load", "%"}} {
			if pts := series(u.Name, m[0]); len(pts) > 0 {
				sec.Charts = append(sec.Charts, Chart{Title: m[1], Unit: m[2], Points: pts, Marks: in.Alerts[u.Name]})
			}
		}
		r.Env = append(r.Env, sec)
	}
	for _, se := range s.Sensors {
		sec := Section{ID: se.ID, Name: model.Clean(firstNonEmpty(se.Label, se.ID)), Kind: "sensor", Findings: bySubject[se.ID]}
		sec.Status = status(sec.Findings)
		sec.Details = []string{fmt.Sprintf("now: %s %s", num(se.Value), se.Unit)}
		if pts := series(se.ID, "sensor_"+se.Kind); len(pts) > 0 {
			sec.Charts = append(sec.Charts, Chart{Title: model.Clean(firstNonEmpty(se.Label, se.ID)), Unit: se.Unit, Points: pts, Threshold: se.Crit, Marks: in.Alerts[se.ID]})
		}
		r.Env = append(r.Env, sec)
	}
	all := [][]Section{r.Disks, r.Arrays, r.Env}
	for _, secs := range all {
		sortWorstFirst(secs)
		for _, sec := range secs {
			r.Counts[sec.Status]++
		}
	}
	r.Status = rules.Overall(in.Findings).String()
	return r, ctx.Err()
}

func firstNonEmpty(a ...string) string {
	for _, s := range a {
		if s != "" {
			return s
		}
	}
	return ""
}

func rank(status string) int {
	s, _ := model.ParseSeverity(status)
	return s.Rank()
}

func sortWorstFirst(secs []Section) {
	sort.SliceStable(secs, func(i, j int) bool {
		if rank(secs[i].Status) != rank(secs[j].Status) {
			return rank(secs[i].Status) > rank(secs[j].Status)
		}
		return secs[i].Name < secs[j].Name
	})
}

// Render writes the report as one self-contained HTML page.
func Render(w io.Writer, r *Report) error {
	for _, secs := range [][]Section{r.Disks, r.Arrays, r.Env} {
		for i := range secs {
			secs[i].ChartsHTML = secs[i].ChartsHTML[:0]
			for _, c := range secs[i].Charts {
				// Chart.SVG escapes every text it embeds.
				secs[i].ChartsHTML = append(secs[i].ChartsHTML, template.HTML(c.SVG()))
			}
		}
	}
	return page.Execute(w, r)
}

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"lower": strings.ToLower,
	"date":  func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
}).Parse(pageHTML))

const pageHTML = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}{{if .Host}} — {{.Host}}{{end}}</title>
<style>
:root{--ok:#2e7d32;--warning:#b26a00;--critical:#c62828;--unknown:#6a1b9a;--fg:#1b1b1b;--mut:#666}
body{font:15px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:var(--fg);margin:0 auto;max-width:1100px;padding:12px}
h1{font-size:1.4em;margin:.2em 0}h2{font-size:1.15em;margin:1.2em 0 .4em;border-bottom:1px solid #ddd}
.summary{display:flex;gap:8px;flex-wrap:wrap}.pill{padding:4px 10px;border-radius:12px;color:#fff;font-weight:600}
.pill.ok{background:var(--ok)}.pill.warning{background:var(--warning)}.pill.critical{background:var(--critical)}.pill.unknown{background:var(--unknown)}
.card{border:1px solid #ddd;border-left:6px solid var(--ok);border-radius:6px;padding:8px 12px;margin:10px 0;break-inside:avoid}
.card.warning{border-left-color:var(--warning)}.card.critical{border-left-color:var(--critical)}.card.unknown{border-left-color:var(--unknown)}
.card h3{margin:.1em 0;font-size:1.05em}.det{color:var(--mut);font-size:.9em}
.finding{margin:.3em 0}.finding b{font-size:.85em}.remedy{color:var(--mut)}
.finding.warning b{color:var(--warning)}.finding.critical b{color:var(--critical)}.finding.unknown b{color:var(--unknown)}.finding.ok b{color:var(--ok)}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(260px,1fr));gap:8px;margin-top:6px}
svg.chart{width:100%;height:auto;background:#fafafa}
svg .frame{fill:none;stroke:#ccc}svg .line{fill:none;stroke:#1565c0;stroke-width:1.5}svg .last{fill:#1565c0}
svg .thresh{stroke:var(--critical);stroke-dasharray:4 3}svg .mark{stroke-width:1.5;opacity:.8}
svg .mark.warning{stroke:var(--warning)}svg .mark.critical{stroke:var(--critical)}svg .mark.ok{stroke:var(--ok)}
svg text{font-size:10px;fill:var(--mut)}svg .t{font-size:11px;fill:var(--fg);font-weight:600}
footer{color:var(--mut);font-size:.85em;margin-top:2em}
@media print{body{max-width:none}.card{page-break-inside:avoid}}
</style></head><body>
<h1>{{.Title}}{{if .Host}} — {{.Host}}{{end}}</h1>
<div class="det">Generated {{date .Generated}}; history since {{date .Since}}. Overall: <b id="overall">{{.Status}}</b></div>
<div class="summary" id="summary">
{{with index .Counts "CRITICAL"}}<span class="pill critical">{{.}} critical</span>{{end}}
{{with index .Counts "WARNING"}}<span class="pill warning">{{.}} warning</span>{{end}}
{{with index .Counts "UNKNOWN"}}<span class="pill unknown">{{.}} unknown</span>{{end}}
{{with index .Counts "OK"}}<span class="pill ok">{{.}} ok</span>{{end}}
</div>
{{define "section"}}<div class="card {{lower .Status}}" id="{{.Kind}}-{{.ID}}" data-kind="{{.Kind}}" data-status="{{.Status}}">
<h3>{{.Name}} <span class="det">{{.Status}}</span></h3>
{{if .Details}}<div class="det">{{range $i, $d := .Details}}{{if $i}} · {{end}}{{$d}}{{end}}</div>{{end}}
{{range .Findings}}<div class="finding {{lower .Severity.String}}"><b>{{.Severity}}</b> {{.Message}}{{if .Remedy}} <span class="remedy">— {{.Remedy}}</span>{{end}}{{range .Evidence}}<div class="det">{{.}}</div>{{end}}</div>{{end}}
{{if .ChartsHTML}}<div class="charts">{{range .ChartsHTML}}{{.}}{{end}}</div>{{end}}
</div>{{end}}
{{if .Disks}}<h2>Disks</h2>{{range .Disks}}{{template "section" .}}{{end}}{{end}}
{{if .Arrays}}<h2>RAID arrays</h2>{{range .Arrays}}{{template "section" .}}{{end}}{{end}}
{{if .Env}}<h2>Power and environment</h2>{{range .Env}}{{template "section" .}}{{end}}{{end}}
{{if not (or .Disks .Arrays .Env)}}<p>Nothing to report: no disks, arrays, UPS or sensors.</p>{{end}}
<footer>diskwatch — self-contained report: no scripts, no external requests.</footer>
</body></html>
`
