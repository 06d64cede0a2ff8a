package report

import (
	"context"
	"fmt"
	"hash/fnv"
	"html/template"
	"io"
	"sort"
	"strconv"
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
	// Note is said at the top of the page (e.g. why the window ends
	// before now).
	Note string
	// Generated is when the page was made (zero: Now, the end of the
	// window).
	Generated time.Time
}

// Report is the rendered model of the page.
type Report struct {
	Title     string
	Host      string
	Generated time.Time
	Since     time.Time
	// Until is the end of the window (Generated, unless the data ends
	// earlier and Note says so).
	Until  time.Time
	Note   string
	Status string
	Counts map[string]int
	// Disks are the disks that are not OK, as cards; Rows is every disk,
	// one table row each, worst first.
	Disks  []Section
	Rows   []Row
	Arrays []Section
	Env    []Section
	// Evidence is every published or measured source the findings cite,
	// numbered once for the page.
	Evidence []string
}

// Row is one disk in the summary table.
type Row struct {
	ID, Anchor, Name, Model, Status string
	// Card: the disk has a card (it is not OK).
	Card bool
	// Risk is the risk.score value; HasRisk false when the rule said
	// nothing.
	Risk    float64
	HasRisk bool
	// AgeHours is the power-on hours, -1 unknown.
	AgeHours int64
	// Realloc (5), Pending (197), Uncorrectable (187 + 198): -1 unknown.
	Realloc, Pending, Uncorrectable int64
	// TempC is the temperature, -1000 unknown.
	TempC float64
}

// Section is one disk, array, UPS or sensor.
type Section struct {
	ID string
	// Anchor is the card's element id: the kind and a hash of ID (device
	// strings are untrusted and need not make a usable fragment).
	Anchor   string
	Name     string
	Kind     string
	Details  []string
	Status   string
	Findings []model.Finding
	// Refs are the numbers of each finding's evidence in Report.Evidence.
	Refs   [][]int
	Charts []Chart
	// Attrs is a disk's ATA SMART attribute table.
	Attrs []model.ATAAttribute
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
	r := &Report{Title: "diskwatch health report", Host: model.Clean(in.Host), Generated: in.Now, Since: in.Since, Until: in.Now,
		Note: in.Note, Counts: map[string]int{}}
	if !in.Generated.IsZero() {
		r.Generated = in.Generated
	}
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
		r.Counts[sec.Status]++
		r.Rows = append(r.Rows, diskRow(&d, sec))
		if sec.Status == "OK" {
			continue // a table row only
		}
		sec.Attrs = d.ATAAttributes
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
			if len(pts) == 0 || allZero(pts) && m.metric != model.MetricTemperatureC {
				continue // a flat zero line says nothing the table does not
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
		sec := Section{ID: a.ID(), Name: a.Name, Kind: "array", Findings: bySubject[a.ID()]}
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
		if pts := series(a.ID(), "md_disks_active"); len(pts) > 0 {
			t := float64(a.DisksTotal)
			sec.Charts = append(sec.Charts, Chart{Title: "Active members", Points: pts, Threshold: &t, Marks: in.Alerts[a.ID()]})
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
	sortWorstFirst(r.Disks)
	// Disks are linked from the table: their anchors are hashed (device
	// strings are untrusted). Arrays and the rest keep kind-ID.
	for i := range r.Disks {
		r.Disks[i].Anchor = anchor("disk", r.Disks[i].ID)
	}
	for _, secs := range [][]Section{r.Arrays, r.Env} {
		for i := range secs {
			secs[i].Anchor = secs[i].Kind + "-" + secs[i].ID
		}
	}
	for i := range r.Rows {
		r.Rows[i].Anchor = anchor("disk", r.Rows[i].ID)
	}
	for _, secs := range [][]Section{r.Arrays, r.Env} {
		sortWorstFirst(secs)
		for _, sec := range secs {
			r.Counts[sec.Status]++
		}
	}
	sort.SliceStable(r.Rows, func(i, j int) bool {
		a, b := r.Rows[i], r.Rows[j]
		if rank(a.Status) != rank(b.Status) {
			return rank(a.Status) > rank(b.Status)
		}
		if a.Risk != b.Risk {
			return a.Risk > b.Risk
		}
		return a.Name < b.Name
	})
	// Evidence, numbered once for the page.
	num := map[string]int{}
	for _, secs := range [][]Section{r.Disks, r.Arrays, r.Env} {
		for i := range secs {
			secs[i].Refs = make([][]int, len(secs[i].Findings))
			for j, f := range secs[i].Findings {
				for _, e := range f.Evidence {
					n, ok := num[e]
					if !ok {
						r.Evidence = append(r.Evidence, e)
						n = len(r.Evidence)
						num[e] = n
					}
					secs[i].Refs[j] = append(secs[i].Refs[j], n)
				}
			}
		}
	}
	r.Status = rules.Overall(in.Findings).String()
	return r, ctx.Err()
}

// anchor is an element id for a subject: its kind and the FNV-1a hash
// of its ID.
func anchor(kind, id string) string {
	h := fnv.New64a()
	h.Write([]byte(id))
	return fmt.Sprintf("%s-%016x", kind, h.Sum64())
}

func allZero(ps []Point) bool {
	for _, p := range ps {
		if p.Value != 0 {
			return false
		}
	}
	return true
}

// diskRow is a disk's summary-table row.
func diskRow(d *model.Disk, sec Section) Row {
	row := Row{ID: sec.ID, Anchor: sec.Anchor, Name: sec.Name, Model: model.Clean(d.Device.Model), Status: sec.Status, Card: sec.Status != "OK",
		AgeHours: -1, Realloc: -1, Pending: -1, Uncorrectable: -1, TempC: -1000}
	if row.Model == "" && d.Device.Serial == "" {
		// A disk known from history by "MODEL SERIAL": the model is
		// everything before the serial.
		if i := strings.LastIndexByte(d.Device.Name, ' '); i > 0 {
			row.Model = model.Clean(d.Device.Name[:i])
		}
	}
	for _, f := range sec.Findings {
		if v, ok := f.Values["risk_score"]; ok && f.Rule == "risk.score" {
			row.Risk, row.HasRisk = v, true
		}
	}
	if d.PowerOnHours != nil {
		row.AgeHours = *d.PowerOnHours
	}
	if d.TemperatureC != nil {
		row.TempC = *d.TemperatureC
	}
	raw := func(id int) int64 {
		if a := d.Attr(id); a != nil {
			return a.Raw
		}
		return -1
	}
	row.Realloc, row.Pending = raw(5), raw(197)
	if a, b := raw(187), raw(198); a >= 0 || b >= 0 {
		row.Uncorrectable = max(a, 0) + max(b, 0)
	}
	if d.SCSI != nil && d.SCSI.GrownDefects != nil {
		row.Realloc = *d.SCSI.GrownDefects
	}
	if d.NVMe != nil {
		row.Uncorrectable = int64(d.NVMe.MediaErrors)
	}
	return row
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

// InlineScript is the page's one script: it adds a filter box and
// click-to-sort to the disk table. The page is complete without it.
const InlineScript = `<script>
(function(){var t=document.getElementById("fleet");if(!t)return;var b=t.tBodies[0];
var f=document.createElement("input");f.id="filter";f.placeholder="filter disks (status, model, name…)";f.style.margin="6px 0";
t.parentNode.parentNode.insertBefore(f,t.parentNode);
f.oninput=function(){var q=f.value.toLowerCase();for(var r of b.rows){r.hidden=q&&r.textContent.toLowerCase().indexOf(q)<0}};
var rk={CRITICAL:4,WARNING:3,UNKNOWN:2,NOTICE:1,OK:0};
t.tHead.onclick=function(e){var th=e.target.closest("th");if(!th||!th.dataset.k)return;var i=th.cellIndex,k=th.dataset.k,d=th.dataset.d=th.dataset.d==="1"?"-1":"1";
var v=function(r){var c=r.cells[i];if(k==="s")return rk[c.textContent]||0;if(k==="n"){var x=parseFloat(c.dataset.v!==undefined?c.dataset.v:c.textContent);return isNaN(x)?-1:x}return c.textContent.toLowerCase()};
var rows=Array.from(b.rows);rows.sort(function(a,c){var x=v(a),y=v(c);return (x<y?-1:x>y?1:0)*d});b.append.apply(b,rows)}})();
</script>`

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"script": func() template.HTML { return template.HTML(InlineScript) },
	"lower":  strings.ToLower,
	"date":   func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
	"count": func(v int64) string {
		if v < 0 {
			return "–"
		}
		return strconv.FormatInt(v, 10)
	},
	"age": func(h int64) string {
		switch {
		case h < 0:
			return "–"
		case h < 48:
			return fmt.Sprintf("%d h", h)
		case h < 24*365:
			return fmt.Sprintf("%d d", h/24)
		}
		return fmt.Sprintf("%.1f y", float64(h)/24/365.25)
	},
	"temp": func(c float64) string {
		if c <= -1000 {
			return "–"
		}
		return fmt.Sprintf("%.0f", c)
	},
	"risk": func(r Row) string {
		if !r.HasRisk {
			return "0"
		}
		return num(r.Risk)
	},
	"inc": func(i int) int { return i + 1 },
	"refs": func(sec Section, i int) []int {
		if i < len(sec.Refs) {
			return sec.Refs[i]
		}
		return nil
	},
}).Parse(pageHTML))

const pageHTML = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}{{if .Host}} — {{.Host}}{{end}}</title>
<style>
:root{--ok:#2e7d32;--notice:#1565c0;--warning:#b26a00;--critical:#c62828;--unknown:#6a1b9a;--fg:#1b1b1b;--mut:#666}
body{font:15px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:var(--fg);margin:0 auto;max-width:1100px;padding:12px}
h1{font-size:1.4em;margin:.2em 0}h2{font-size:1.15em;margin:1.2em 0 .4em;border-bottom:1px solid #ddd}
.summary{display:flex;gap:8px;flex-wrap:wrap}.pill{padding:4px 10px;border-radius:12px;color:#fff;font-weight:600}
.pill.ok{background:var(--ok)}.pill.notice{background:var(--notice)}.pill.warning{background:var(--warning)}.pill.critical{background:var(--critical)}.pill.unknown{background:var(--unknown)}
.note{background:#fff8e1;border:1px solid #ffe082;padding:6px 10px;border-radius:6px;margin:8px 0}
.card{border:1px solid #ddd;border-left:6px solid var(--ok);border-radius:6px;padding:8px 12px;margin:10px 0;break-inside:avoid}
.card.notice{border-left-color:var(--notice)}.card.warning{border-left-color:var(--warning)}.card.critical{border-left-color:var(--critical)}.card.unknown{border-left-color:var(--unknown)}
.card h3{margin:.1em 0;font-size:1.05em}.det{color:var(--mut);font-size:.9em}
.finding{margin:.3em 0}.finding b{font-size:.85em}.remedy{color:var(--mut)}sup a{text-decoration:none}
.finding.notice b{color:var(--notice)}.finding.warning b{color:var(--warning)}.finding.critical b{color:var(--critical)}.finding.unknown b{color:var(--unknown)}.finding.ok b{color:var(--ok)}
table{border-collapse:collapse;font-size:.9em}td,th{padding:2px 8px;text-align:right;border-bottom:1px solid #eee;white-space:nowrap}
td.l,th.l{text-align:left}th{background:#f5f5f5;position:sticky;top:0}
.fleet{max-height:70vh;overflow:auto;border:1px solid #ddd}.fleet th[data-k]{cursor:pointer}
tr.s-critical td:first-child{color:var(--critical);font-weight:600}tr.s-warning td:first-child{color:var(--warning);font-weight:600}
tr.s-notice td:first-child{color:var(--notice)}tr.s-unknown td:first-child{color:var(--unknown)}
table.attrs{margin-top:6px}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(260px,1fr));gap:8px;margin-top:6px}
svg.chart{width:100%;height:auto;background:#fafafa}
svg .frame{fill:none;stroke:#ccc}svg .line{fill:none;stroke:#1565c0;stroke-width:1.5}svg .last{fill:#1565c0}
svg .thresh{stroke:var(--critical);stroke-dasharray:4 3}svg .mark{stroke-width:1.5;opacity:.8}
svg .mark.warning{stroke:var(--warning)}svg .mark.critical{stroke:var(--critical)}svg .mark.ok{stroke:var(--ok)}svg .mark.notice{stroke:var(--notice)}
svg text{font-size:10px;fill:var(--mut)}svg .t{font-size:11px;fill:var(--fg);font-weight:600}
ol.ev{font-size:.85em;color:var(--mut)}
footer{color:var(--mut);font-size:.85em;margin-top:2em}
@media print{body{max-width:none}.card{page-break-inside:avoid}.fleet{max-height:none;overflow:visible}#filter{display:none}}
</style></head><body>
<h1>{{.Title}}{{if .Host}} — {{.Host}}{{end}}</h1>
<div class="det">Generated {{date .Generated}}; history {{date .Since}} to {{date .Until}}. Overall: <b id="overall">{{.Status}}</b></div>
{{if .Note}}<div class="note" id="note">{{.Note}}</div>{{end}}
<div class="summary" id="summary">
{{with index .Counts "CRITICAL"}}<span class="pill critical">{{.}} critical</span>{{end}}
{{with index .Counts "WARNING"}}<span class="pill warning">{{.}} warning</span>{{end}}
{{with index .Counts "UNKNOWN"}}<span class="pill unknown">{{.}} unknown</span>{{end}}
{{with index .Counts "NOTICE"}}<span class="pill notice">{{.}} notice</span>{{end}}
{{with index .Counts "OK"}}<span class="pill ok">{{.}} ok</span>{{end}}
</div>
{{define "section"}}<div class="card {{lower .Status}}" id="{{.Anchor}}" data-kind="{{.Kind}}" data-status="{{.Status}}">
<h3>{{.Name}} <span class="det">{{.Status}}</span></h3>
{{if .Details}}<div class="det">{{range $i, $d := .Details}}{{if $i}} · {{end}}{{$d}}{{end}}</div>{{end}}
{{$sec := .}}{{range $i, $f := .Findings}}<div class="finding {{lower .Severity.String}}"><b>{{.Severity}}</b> {{.Message}}{{if .Remedy}} <span class="remedy">— {{.Remedy}}</span>{{end}}{{range refs $sec $i}} <sup><a href="#ev{{.}}">[{{.}}]</a></sup>{{end}}</div>{{end}}
{{if .Attrs}}<details><summary class="det">SMART attributes ({{len .Attrs}})</summary><table class="attrs"><tr><th>ID</th><th class="l">name</th><th>value</th><th>worst</th><th>thresh</th><th>raw</th></tr>
{{range .Attrs}}<tr><td>{{.ID}}</td><td class="l">{{.Name}}</td><td>{{if .Value}}{{.Value}}{{else}}–{{end}}</td><td>{{if .Worst}}{{.Worst}}{{else}}–{{end}}</td><td>{{if .Thresh}}{{.Thresh}}{{else}}–{{end}}</td><td>{{.Raw}}</td></tr>
{{end}}</table></details>{{end}}
{{if .ChartsHTML}}<div class="charts">{{range .ChartsHTML}}{{.}}{{end}}</div>{{end}}
</div>{{end}}
{{if .Rows}}<h2>Disks</h2>
<p class="det">Every disk, worst first (status, then risk score). Disks that are not OK have a card below (the name links to it).</p>
<div class="fleet"><table id="fleet"><thead><tr><th class="l" data-k="s">status</th><th data-k="n">risk</th><th class="l" data-k="t">disk</th><th class="l" data-k="t">model</th><th data-k="n">age</th><th data-k="n">reallocated</th><th data-k="n">pending</th><th data-k="n">uncorrectable</th><th data-k="n">°C</th></tr></thead><tbody>
{{range .Rows}}<tr class="s-{{lower .Status}}"{{if not .Card}} id="{{.Anchor}}"{{end}}><td class="l">{{.Status}}</td><td>{{risk .}}</td><td class="l">{{if .Card}}<a href="#{{.Anchor}}">{{.Name}}</a>{{else}}{{.Name}}{{end}}</td><td class="l">{{.Model}}</td><td data-v="{{.AgeHours}}">{{age .AgeHours}}</td><td>{{count .Realloc}}</td><td>{{count .Pending}}</td><td>{{count .Uncorrectable}}</td><td>{{temp .TempC}}</td></tr>
{{end}}</tbody></table></div>
{{range .Disks}}{{template "section" .}}{{end}}{{end}}
{{if .Arrays}}<h2>RAID arrays</h2>{{range .Arrays}}{{template "section" .}}{{end}}{{end}}
{{if .Env}}<h2>Power and environment</h2>{{range .Env}}{{template "section" .}}{{end}}{{end}}
{{if not (or .Rows .Arrays .Env)}}<p>Nothing to report: no disks, arrays, UPS or sensors.</p>{{end}}
{{if .Evidence}}<h2>Evidence</h2><ol class="ev">{{range $i, $e := .Evidence}}<li id="ev{{$i | inc}}">{{$e}}</li>{{end}}</ol>{{end}}
<footer>diskwatch — self-contained report: no external requests; readable without scripts (a small inline script adds sorting and filtering of the disk table).</footer>
{{script}}
</body></html>
`
