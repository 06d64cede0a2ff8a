package replay

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

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
	sum, err := Run(context.Background(), src, Options{AlertsOut: &alerts, Thresholds: func() bool { return src.Thresholds }}, clock())
	if err != nil {
		t.Fatal(err)
	}
	if sum.Drives != drives || sum.Failed != failed || sum.Rows != 22429 || sum.BadRows != 0 {
		t.Fatalf("drives %d failed %d rows %d bad %d; want %d, %d, 22429, 0", sum.Drives, sum.Failed, sum.Rows, sum.BadRows, drives, failed)
	}
	if len(sum.Methods) != 4 || sum.Methods[3].Available {
		t.Fatalf("methods %+v: the vendor baseline must be 'not available' on Backblaze data", sum.Methods)
	}
	warn, notice, bb := sum.Methods[0], sum.Methods[1], sum.Methods[2]
	// The slice holds every failed drive of the fixture: the figures of
	// the whole fixture (README) hold for its failed drives.
	if a := warn.Ahead["7"]; a.N != 55 || a.K < 15 || a.K > 25 {
		t.Errorf("WARNING caught %v failed drives 7 days ahead; README says 19/55", a)
	}
	if a := notice.Ahead["7"]; a.K < warn.Ahead["7"].K || a.K < 30 {
		t.Errorf("NOTICE caught %v 7 days ahead (WARNING %v); README says 37/55", a, warn.Ahead["7"])
	}
	if bb.Ahead["7"].K != 33 {
		t.Errorf("backblaze baseline caught %v 7 days ahead; a plain pass (contrib/bench/replay_reference.py) finds 33/55", bb.Ahead["7"])
	}
	if warn.Healthy.Rate >= notice.Healthy.Rate || warn.Healthy.Rate > 0.03 {
		t.Errorf("never-failed alerted: WARNING %v, NOTICE %v", warn.Healthy, notice.Healthy)
	}
	for _, m := range sum.Methods[:3] {
		if m.Ahead["30"].K > m.Ahead["7"].K || m.Ahead["7"].K > m.Ahead["1"].K {
			t.Errorf("%s: counts not nested: %v", m.Method, m.Ahead)
		}
		if iv := m.Ahead["7"]; iv.Lo > iv.Rate || iv.Hi < iv.Rate || iv.Lo < 0 || iv.Hi > 1 {
			t.Errorf("%s: interval %v", m.Method, iv)
		}
	}
	// --alerts-out: one line per drive alerted at NOTICE or worse, failed
	// flags agree with the data.
	lines := strings.Split(strings.TrimSpace(alerts.String()), "\n")
	nFailed := 0
	for _, l := range lines {
		var a AlertLine
		if err := json.Unmarshal([]byte(l), &a); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		if a.Serial == "" || a.FirstAlertDate == "" || len(a.Signals) == 0 || a.Severity == "OK" {
			t.Errorf("incomplete alert line %q", l)
		}
		if d, ok := failedSerials[a.Serial]; ok != a.Failed || (ok && d != a.FailureDate) {
			t.Errorf("%s: failed=%v %s, data says %v %s", a.Serial, a.Failed, a.FailureDate, ok, d)
		}
		if a.Failed {
			nFailed++
		}
	}
	if len(lines) != notice.Healthy.K+nFailed || nFailed < notice.FailedAlertedAny {
		t.Errorf("%d alert lines, %d failed; summary says %d healthy + %d failed alerted", len(lines), nFailed, notice.Healthy.K, notice.FailedAlertedAny)
	}
	var text bytes.Buffer
	sum.WriteText(&text)
	for _, want := range []string{"diskwatch_warning", "diskwatch_notice", "backblaze", "vendor_threshold   not available", "drive-days", "calibration", "young drive"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("summary text lacks %q:\n%s", want, text.String())
		}
	}
	if _, err := json.Marshal(sum); err != nil {
		t.Error(err)
	}
}

func TestWilson(t *testing.T) {
	// Reference values: Wilson score interval, z = 1.96 (Newcombe 1998,
	// Table I: 81/263 -> 0.2553-0.3662; 0/10 -> 0-0.2775).
	for _, c := range []struct {
		k, n   int
		lo, hi float64
	}{{81, 263, 0.2553, 0.3662}, {0, 10, 0, 0.2775}, {15, 148, 0.0624, 0.1605}} {
		iv := Wilson(c.k, c.n)
		if math.Abs(iv.Lo-c.lo) > 0.0005 || math.Abs(iv.Hi-c.hi) > 0.0005 {
			t.Errorf("Wilson(%d, %d) = %.4f-%.4f, want %.4f-%.4f", c.k, c.n, iv.Lo, iv.Hi, c.lo, c.hi)
		}
	}
}

// rows builds a CSV of the given lines under a Backblaze header.
func rows(lines ...string) string {
	return "date,serial_number,model,failure,smart_5_raw,smart_9_raw\n" + strings.Join(lines, "\n") + "\n"
}

func TestReplayOutOfOrder(t *testing.T) {
	p, err := backblaze.NewParser("x.csv", strings.NewReader(rows("2013-04-11,A,M,0,0,100", "2013-04-10,A,M,0,0,76")))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Run(context.Background(), parserSource{p}, Options{}, clock())
	if !errors.Is(err, ErrUnsorted) {
		t.Errorf("err = %v", err)
	}
}

// A file per drive (rows of each drive in date order, drives one after
// the other) and a shuffled file replay through the on-disk sort to the
// same summary as the date-ordered data.
func TestReplayAnyOrder(t *testing.T) {
	var want *Summary
	for _, order := range []string{"by date", "by drive", "shuffled"} {
		dir := t.TempDir()
		writeSliceOrdered(t, filepath.Join(dir, "data.csv"), order)
		src, err := backblaze.OpenSorted(context.Background(), filepath.Join(dir, "data.csv"), backblaze.SortOptions{TempDir: dir, MemBytes: 256 << 10})
		if err != nil {
			t.Fatal(err)
		}
		sum, err := Run(context.Background(), src, Options{}, clock())
		src.Close()
		if err != nil {
			t.Fatalf("%s: %v", order, err)
		}
		sum.Elapsed, sum.PerSecond = 0, 0
		if want == nil {
			want = sum
			continue
		}
		if d := cmp.Diff(want, sum, cmpopts.EquateNaNs()); d != "" {
			t.Errorf("%s: summary differs from the date-ordered one:\n%s", order, d)
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 1 {
			t.Errorf("%s: the sort left %d entries in its temp dir", order, len(ents)-1)
		}
	}
}

func writeSliceOrdered(t *testing.T, to, order string) {
	t.Helper()
	f, err := os.Open(slice)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(gz)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	hdr, body := lines[0], lines[1:]
	switch order {
	case "by drive":
		sort.SliceStable(body, func(i, j int) bool { return strings.Split(body[i], ",")[1] < strings.Split(body[j], ",")[1] })
	case "shuffled":
		rand.New(rand.NewPCG(1, 2)).Shuffle(len(body), func(i, j int) { body[i], body[j] = body[j], body[i] })
	}
	if err := os.WriteFile(to, []byte(hdr+"\n"+strings.Join(body, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// The failure date is the drive's last failure row; rows after it are
// counted and said.
func TestReplayFailureRows(t *testing.T) {
	in := rows("2013-04-10,A,M,0,0,100", "2013-04-10,B,M,0,0,100",
		"2013-04-11,A,M,1,0,124", "2013-04-11,B,M,0,0,124",
		"2013-04-12,A,M,1,0,148", "2013-04-12,B,M,0,0,148",
		"2013-04-13,A,M,0,0,172")
	p, err := backblaze.NewParser("x.csv", strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	sum, err := Run(context.Background(), parserSource{p}, Options{AlertsOut: &out}, clock())
	if err != nil {
		t.Fatal(err)
	}
	if sum.Failed != 1 || sum.Healthy != 1 || len(sum.Warnings) != 1 || !strings.Contains(sum.Warnings[0], "rows after their last failure row") {
		t.Errorf("failed %d healthy %d warnings %q", sum.Failed, sum.Healthy, sum.Warnings)
	}
	if a := sum.Methods[0].Ahead["1"]; a.N != 1 {
		t.Errorf("observed >= 1 day before failure: %v; the failure date is 2013-04-12, the first row 2013-04-10", a)
	}
}

// A drive whose power-on hours stop advancing alone is a liveness
// signal; many drives stopping on one day are the site, not the drives.
func TestReplayLiveness(t *testing.T) {
	var ls []string
	const drives = 1500
	for d := 0; d < 6; d++ {
		for i := 0; i < drives; i++ {
			poh := 1000 + 24*d
			switch {
			case i == 0 && d >= 3: // drive 0 stops on day 3
				poh = 1000 + 24*2
			case i >= 10 && i < 30 && d == 4: // 20 drives stop on day 4 only
				poh = 1000 + 24*3
			}
			ls = append(ls, fmt.Sprintf("2013-04-%02d,S%04d,M,0,0,%d", 10+d, i, poh))
		}
	}
	p, err := backblaze.NewParser("x.csv", strings.NewReader(rows(ls...)))
	if err != nil {
		t.Fatal(err)
	}
	sum, err := Run(context.Background(), parserSource{p}, Options{}, clock())
	if err != nil {
		t.Fatal(err)
	}
	var live SignalFigures
	for _, s := range sum.Signals {
		if s.Signal == rules.SignalName(rules.SigLiveness) {
			live = s
		}
	}
	if live.Healthy.K != 1 {
		t.Errorf("liveness shown on %v drives; want the one that stopped alone", live.Healthy)
	}
	if w := sum.Methods[0].Healthy.K; w != 1 {
		t.Errorf("%d drives at WARNING; want 1", w)
	}
}

type parserSource struct{ p *backblaze.Parser }

func (s parserSource) NextRow(_ context.Context, r *backblaze.Row) error {
	err := s.p.NextRow(r)
	if err != nil && err != io.EOF {
		return &backblaze.RowError{Err: err}
	}
	return err
}

// BenchmarkReplay measures replay throughput in drive-days per second on
// the slice (decompressed in memory first, so the figure is the parser
// plus the assessment).
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
		sum, err := Run(context.Background(), parserSource{p}, Options{}, time.Now)
		if err != nil {
			b.Fatal(err)
		}
		rows += sum.Rows
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "drive-days/s")
}

// A drive far above its model's fleet on raw 5 is measured (not scored);
// a model with too few drives that day has no fleet to compare with.
func TestReplayFleetRelative(t *testing.T) {
	var ls []string
	for d := 0; d < 3; d++ {
		for i := 0; i < 200; i++ {
			r5 := i % 3 // 0..2 across the fleet
			if i == 7 {
				r5 = 50
			}
			ls = append(ls, fmt.Sprintf("2013-04-%02d,S%04d,BIG,0,%d,%d", 10+d, i, r5, 1000+24*d))
		}
		ls = append(ls, fmt.Sprintf("2013-04-%02d,LONE,SMALL,0,500,%d", 10+d, 1000+24*d))
	}
	p, err := backblaze.NewParser("x.csv", strings.NewReader(rows(ls...)))
	if err != nil {
		t.Fatal(err)
	}
	sum, err := Run(context.Background(), parserSource{p}, Options{}, clock())
	if err != nil {
		t.Fatal(err)
	}
	last := sum.Signals[len(sum.Signals)-1]
	if last.Signal != FleetSignal || last.Healthy.K != 1 || last.Weight != 0 {
		t.Errorf("fleet-relative row %+v; want the one drive at 50 among 0..2, weight 0", last)
	}
}
