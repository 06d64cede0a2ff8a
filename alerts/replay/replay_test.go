package replay

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/diskwatch/diskwatch/alerts/replay/backblaze"
	"github.com/diskwatch/diskwatch/alerts/rules"
)

const slice = "testdata/2013q2-slice.csv.gz"

// oracle counts the slice's drives and failures with a plain reader.
func oracle(t testing.TB) (drives, failed int, failedSerials map[string]string) {
	f, err := os.Open(slice)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	failedSerials = map[string]string{}
	sc := bufio.NewScanner(gz)
	sc.Buffer(nil, 1<<20)
	sc.Scan()
	for sc.Scan() {
		p := strings.SplitN(sc.Text(), ",", 6)
		seen[p[1]] = true
		if p[4] == "1" {
			failedSerials[p[1]] = p[0]
		}
	}
	return len(seen), len(failedSerials), failedSerials
}

func clock() func() time.Time {
	t := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return func() time.Time { t = t.Add(time.Second); return t }
}

func TestReplaySlice(t *testing.T) {
	drives, failed, failedSerials := oracle(t)
	src, err := backblaze.Open(slice)
	if err != nil {
		t.Fatal(err)
	}
	var alerts bytes.Buffer
	sum, err := Run(context.Background(), src, Options{Rules: rules.Default(), AlertsOut: &alerts, Thresholds: func() bool { return src.Thresholds }}, clock())
	if err != nil {
		t.Fatal(err)
	}
	if sum.Drives != drives || sum.Failed != failed || sum.Rows != 22429 || sum.BadRows != 0 {
		t.Fatalf("drives %d failed %d rows %d bad %d; want %d, %d, 22429, 0", sum.Drives, sum.Failed, sum.Rows, sum.BadRows, drives, failed)
	}
	if len(sum.Methods) != 3 || sum.Methods[2].Available {
		t.Fatalf("methods %+v: the vendor baseline must be 'not available' on Backblaze data", sum.Methods)
	}
	dw, bb := sum.Methods[0], sum.Methods[1]
	// Loose bounds around the figures measured on the whole fixture
	// (README): diskwatch catches a good share of failures a week ahead
	// and alerts fewer healthy drives than Backblaze's "any > 0" practice.
	if r := dw.FailedRate["7"]; r < 0.3 || r > 0.8 {
		t.Errorf("diskwatch caught %.2f of failed drives 7 days ahead; expected 0.3-0.8", r)
	}
	if dw.FalseAlarmRate >= bb.FalseAlarmRate || dw.FalseAlarmRate > 0.08 {
		t.Errorf("diskwatch false alarms %.3f, backblaze %.3f", dw.FalseAlarmRate, bb.FalseAlarmRate)
	}
	if bb.FailedRate["7"] < 0.4 {
		t.Errorf("backblaze baseline caught only %.2f 7 days ahead", bb.FailedRate["7"])
	}
	for _, m := range sum.Methods[:2] {
		if m.FailedAlerted["30"] > m.FailedAlerted["7"] || m.FailedAlerted["7"] > m.FailedAlerted["1"] {
			t.Errorf("%s: counts not nested: %v", m.Method, m.FailedAlerted)
		}
		if m.MedianLeadDays < 1 || m.MedianLeadDays > 40 {
			t.Errorf("%s: median lead %v days", m.Method, m.MedianLeadDays)
		}
	}
	// --alerts-out: one line per alerted drive, failed flags agree with
	// the data.
	lines := strings.Split(strings.TrimSpace(alerts.String()), "\n")
	nFailed := 0
	for _, l := range lines {
		var a AlertLine
		if err := json.Unmarshal([]byte(l), &a); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		if a.Serial == "" || a.FirstAlertDate == "" || len(a.Rules) == 0 || (a.Severity != "WARNING" && a.Severity != "CRITICAL") {
			t.Errorf("incomplete alert line %q", l)
		}
		if d, ok := failedSerials[a.Serial]; ok != a.Failed || (ok && d != a.FailureDate) {
			t.Errorf("%s: failed=%v %s, data says %v %s", a.Serial, a.Failed, a.FailureDate, ok, d)
		}
		if a.Failed {
			nFailed++
		}
	}
	if len(lines) != dw.HealthyAlerted+nFailed || nFailed < dw.FailedAlertedAny {
		t.Errorf("%d alert lines, %d failed; summary says %d healthy + %d failed alerted", len(lines), nFailed, dw.HealthyAlerted, dw.FailedAlertedAny)
	}
	var text bytes.Buffer
	sum.WriteText(&text)
	for _, want := range []string{"diskwatch", "backblaze", "vendor_threshold   not available", "drive-days"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("summary text lacks %q:\n%s", want, text.String())
		}
	}
	if _, err := json.Marshal(sum); err != nil {
		t.Error(err)
	}
}

func TestReplayOutOfOrder(t *testing.T) {
	in := "date,serial_number,model,failure,smart_5_raw\n2013-04-11,A,M,0,0\n2013-04-10,A,M,0,0\n"
	p, err := backblaze.NewParser("x.csv", strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Run(context.Background(), parserSource{p}, Options{Rules: rules.Default()}, clock())
	if err == nil || !strings.Contains(err.Error(), "date order") {
		t.Errorf("err = %v", err)
	}
}

type parserSource struct{ p *backblaze.Parser }

func (s parserSource) Next(_ context.Context, r *backblaze.Record) error {
	err := s.p.Next(r)
	if err != nil && err != io.EOF {
		return &backblaze.RowError{Err: err}
	}
	return err
}

// BenchmarkReplay measures replay throughput in drive-days per second on
// the slice (decompressed in memory first, so the figure is the parser
// plus the rules).
func BenchmarkReplay(b *testing.B) {
	f, err := os.Open(slice)
	if err != nil {
		b.Fatal(err)
	}
	gz, _ := gzip.NewReader(f)
	data, _ := io.ReadAll(gz)
	f.Close()
	b.ResetTimer()
	rows := int64(0)
	for i := 0; i < b.N; i++ {
		p, err := backblaze.NewParser("slice", bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		sum, err := Run(context.Background(), parserSource{p}, Options{Rules: rules.Default()}, time.Now)
		if err != nil {
			b.Fatal(err)
		}
		rows += sum.Rows
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "drive-days/s")
}

// BenchmarkReplayFixture replays the whole shared Backblaze fixture (40
// days, 437,892 drive-days) when it is there: go test -run '^$' -bench
// ReplayFixture -benchtime 1x ./alerts/replay/
func BenchmarkReplayFixture(b *testing.B) {
	const dir = "../../../shared/fixtures/backblaze/2013q2"
	if _, err := os.Stat(dir); err != nil {
		b.Skip("shared Backblaze fixture not present:", err)
	}
	rows := int64(0)
	for i := 0; i < b.N; i++ {
		src, err := backblaze.Open(dir)
		if err != nil {
			b.Fatal(err)
		}
		sum, err := Run(context.Background(), src, Options{Rules: rules.Default()}, time.Now)
		if err != nil {
			b.Fatal(err)
		}
		rows += sum.Rows
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "drive-days/s")
}
