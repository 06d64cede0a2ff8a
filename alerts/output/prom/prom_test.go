package prom_test

import (
	"bytes"
	"io"
	"math"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/common/expfmt"
	pmodel "github.com/prometheus/common/model"

	"github.com/diskwatch/diskwatch/alerts/output/internal/testdoc"
	"github.com/diskwatch/diskwatch/alerts/output/prom"
	"github.com/diskwatch/diskwatch/alerts/output/snapshot"
	"github.com/diskwatch/diskwatch/collectors/model"
)

// promtool checks the exposition with the real linter (Debian package
// prometheus).
func promtool(t *testing.T, text []byte) {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("promtool not installed (Debian package prometheus; .ci/setup installs it)")
		}
		t.Skip("promtool not installed: apt-get install prometheus")
	}
	cmd := exec.Command(p, "check", "metrics")
	cmd.Stdin = bytes.NewReader(text)
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}

func TestWriteTextPassesPromtool(t *testing.T) {
	var b bytes.Buffer
	if err := prom.WriteText(&b, testdoc.Doc()); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	for _, want := range []string{
		`diskwatch_up 1`,
		`diskwatch_disk_temperature_celsius{device="sdb"} 26`,
		`diskwatch_disk_ata_attribute_raw{attribute_id="12",attribute_name="Power_Cycle_Count",device="sdb"} 81`,
		`diskwatch_disk_nvme_critical_warning{device="nvme0"} 0`,
		`diskwatch_md_degraded{device="md127"} 0`,
		`diskwatch_md_disks_required{device="md11"} 2`,
		`diskwatch_md_sync_action{action="check",device="md201"} 1`,
		`diskwatch_md_sync_action{action="idle",device="md201"} 0`,
		`diskwatch_ups_battery_charge_ratio{ups="apc@127.0.0.1:3493"} 1`,
		`diskwatch_ups_status{flag="OL",ups="apc@127.0.0.1:3493"} 1`,
		`diskwatch_sensor_temperature_celsius{sensor="hwmon/coretemp/temp1"} 41`,
		`diskwatch_sensor_info{chip="",device="",kind="temperature",label="Package id 0",sensor="hwmon/coretemp/temp1"} 1`,
		`diskwatch_ups_status{flag="OB",ups="apc@127.0.0.1:3493"} 0`,
		`diskwatch_collector_up{collector="smartctl"} 0`,
		`diskwatch_collector_state{collector="smartctl",state="partial"} 1`,
		`diskwatch_collector_state{collector="smartctl",state="ok"} 0`,
		`diskwatch_finding{device="md11",kind="array",rule="md.degraded",subject="md11",subject_id="md11"} 4`,
		`diskwatch_finding{device="",kind="diskwatch",rule="collector.failed",subject="collector smartctl",subject_id="collector:smartctl"} 2`,
		`diskwatch_finding_info{message="md11: `,
		`diskwatch_build_info{goversion="go`,
		`diskwatch_findings{severity="critical"}`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %q", want)
		}
	}
	if t.Failed() {
		t.Logf("exposition:\n%s", text)
	}
	promtool(t, b.Bytes())
}

func TestHandlerPassesPromtool(t *testing.T) {
	doc := testdoc.Doc()
	srv := httptest.NewServer(prom.Handler(func() *snapshot.Doc { return doc }))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Contains(b, []byte("diskwatch_md_disks{")) || !bytes.Contains(b, []byte("go_goroutines")) {
		t.Fatalf("handler output lacks metrics:\n%.2000s", b)
	}
	promtool(t, b)
}

// Before the first round there is nothing but diskwatch_up 0.
func TestNoSnapshot(t *testing.T) {
	var b bytes.Buffer
	if err := prom.WriteText(&b, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "diskwatch_up 0") {
		t.Errorf("got %s", b.String())
	}
}

func BenchmarkWriteText(b *testing.B) {
	doc := testdoc.Doc()
	for i := 0; i < b.N; i++ {
		prom.WriteText(io.Discard, doc)
	}
}

// Label values are escaped so the exposition parses back to the very
// values (invalid UTF-8 replaced); a series added twice is written once;
// families and label pairs come out sorted.
func TestWriteToEscapesAndParses(t *testing.T) {
	d := &prom.Desc{Name: "x_value", Help: "help with \\ and\nnewline", Labels: []string{"zeta", "alpha"}}
	var m prom.Set
	m.Add(d, 1.5, "a\"b\\c\nd\xff", "1")
	m.Add(d, 2, "a\"b\\c\nd\xff", "1") // duplicate: dropped
	m.Add(d, math.Inf(1), "plain", "2")
	m.Add(&prom.Desc{Name: "a_total", Help: "h", Type: "counter"}, 3)
	var b bytes.Buffer
	if _, err := m.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	want := "# HELP a_total h\n# TYPE a_total counter\na_total 3\n" +
		"# HELP x_value help with \\\\ and\\nnewline\n# TYPE x_value gauge\n" +
		"x_value{alpha=\"1\",zeta=\"a\\\"b\\\\c\\nd\uFFFD\"} 1.5\n" +
		"x_value{alpha=\"2\",zeta=\"plain\"} +Inf\n"
	if d := cmp.Diff(want, b.String()); d != "" {
		t.Errorf("exposition (-want +got):\n%s", d)
	}
	p := expfmt.NewTextParser(pmodel.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, b.String())
	}
	got := map[string]float64{}
	for _, m := range fams["x_value"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "zeta" {
				got[l.GetValue()] = m.GetGauge().GetValue()
			}
		}
	}
	if got["a\"b\\c\nd\uFFFD"] != 1.5 || !math.IsInf(got["plain"], 1) {
		t.Errorf("parsed back: %v", got)
	}
	promtool(t, b.Bytes())
}

// seriesKeys returns the series (name and labels) of an exposition.
func seriesKeys(t *testing.T, doc *snapshot.Doc) map[string]bool {
	t.Helper()
	var b bytes.Buffer
	if err := prom.WriteText(&b, doc); err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, l := range strings.Split(b.String(), "\n") {
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		out[l[:strings.LastIndexByte(l, ' ')]] = true
	}
	return out
}

// State is in values, not labels: an array starting a check, a UPS going
// on battery, a collector failing, a finding escalating with a new
// message change no series but diskwatch_finding_info's.
func TestSeriesStableAcrossStates(t *testing.T) {
	before := testdoc.Doc()
	after := testdoc.Doc()
	s := after.Snapshot
	changed := 0
	for i := range s.Arrays {
		if s.Arrays[i].SyncAction == "" || s.Arrays[i].SyncAction == "idle" {
			s.Arrays[i].SyncAction, s.Arrays[i].SyncPercent = "check", 12.5
			changed++
			break
		}
	}
	s.UPS[0].Status = []string{"OB", "DISCHRG", "LB"}
	s.Sources[0].State = "failed"
	for i := range after.Findings {
		if after.Findings[i].Severity == model.Warning {
			after.Findings[i].Severity = model.Critical
			after.Findings[i].Message += " (worse)"
			changed++
			break
		}
	}
	if changed != 2 {
		t.Fatalf("test document lacks an idle array or a warning (%d changes)", changed)
	}
	kb, ka := seriesKeys(t, before), seriesKeys(t, after)
	for k := range kb {
		if !ka[k] && !strings.HasPrefix(k, "diskwatch_finding_info{") {
			t.Errorf("series gone after the state change: %s", k)
		}
	}
	for k := range ka {
		if !kb[k] && !strings.HasPrefix(k, "diskwatch_finding_info{") {
			t.Errorf("series new after the state change: %s", k)
		}
	}
}

// Each sensor unit has its own metric in base units; no metric carries a
// unit or state label.
func TestOneUnitPerMetric(t *testing.T) {
	doc := testdoc.Doc()
	doc.Snapshot.Sensors = append(doc.Snapshot.Sensors,
		model.Sensor{ID: "hwmon/nct/fan1", Kind: "fan", Unit: "rpm", Value: 900},
		model.Sensor{ID: "probe/room", Kind: "humidity", Unit: "%", Value: 40},
		model.Sensor{ID: "hwmon/nct/in0", Kind: "voltage", Unit: "V", Value: 1.2})
	var b bytes.Buffer
	prom.WriteText(&b, doc)
	text := b.String()
	for _, want := range []string{
		`diskwatch_sensor_fan_rpm{sensor="hwmon/nct/fan1"} 900`,
		`diskwatch_sensor_humidity_ratio{sensor="probe/room"} 0.4`,
		`diskwatch_sensor_voltage_volts{sensor="hwmon/nct/in0"} 1.2`,
		`diskwatch_sensor_temperature_celsius{sensor="hwmon/coretemp/temp1"} 41`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %s", want)
		}
	}
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, `unit="`) || (strings.Contains(l, `state="`) && !strings.HasPrefix(l, "diskwatch_md_disks{") && !strings.HasPrefix(l, "diskwatch_collector_state{")) {
			t.Errorf("unit or state in labels: %s", l)
		}
	}
	promtool(t, b.Bytes())
}

// A finding keyed by the array's UUID still names the array's kernel
// device, and one keyed by a disk's identity names the disk's.
func TestFindingDevice(t *testing.T) {
	doc := testdoc.Doc()
	var md11 *model.Array
	for i := range doc.Snapshot.Arrays {
		if doc.Snapshot.Arrays[i].Name == "md11" {
			md11 = &doc.Snapshot.Arrays[i]
		}
	}
	md11.UUID = "2f2a5c3e9b1d4c7a8e6f0a1b2c3d4e5f"
	disk := doc.Snapshot.Disks[0].Device
	doc.Findings = append(doc.Findings, model.Finding{Severity: model.Warning, Rule: "smart.pending_sectors", Subject: disk.Display(), SubjectID: disk.ID(), Message: "m", Remedy: "r"})
	for i := range doc.Findings {
		if doc.Findings[i].SubjectID == "md11" {
			doc.Findings[i].SubjectID = md11.ID()
		}
	}
	var b bytes.Buffer
	prom.WriteText(&b, doc)
	for _, want := range []string{
		`diskwatch_finding{device="md11",kind="array",rule="md.degraded",subject="md11",subject_id="md:uuid:2f2a5c3e9b1d4c7a8e6f0a1b2c3d4e5f"} 4`,
		`diskwatch_finding{device="nvme0",kind="disk",rule="smart.pending_sectors",subject="` + disk.Display() + `",subject_id="` + disk.ID() + `"} 3`,
		`diskwatch_finding_info{message="m",model="` + disk.Model + `",path="` + disk.Path + `",remedy="r",rule="smart.pending_sectors",serial="` + disk.Serial + `",subject_id="` + disk.ID() + `"} 1`,
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("missing %s", want)
		}
	}
	if t.Failed() {
		t.Logf("%s", b.String())
	}
}
