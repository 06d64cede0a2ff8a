package backblaze

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/diskwatch/diskwatch/collectors/model"
)

const sample = "testdata/2013-04-16-sample.csv"

// naive reads the sample with strings.Split, independently of the parser,
// as the oracle: serial -> column -> value.
func naive(t *testing.T, data string) (hdr []string, rows []map[string]string) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(data), "\n")
	hdr = strings.Split(strings.TrimSpace(lines[0]), ",")
	for _, l := range lines[1:] {
		f := strings.Split(strings.TrimSpace(l), ",")
		m := map[string]string{}
		for i, h := range hdr {
			m[h] = f[i]
		}
		rows = append(rows, m)
	}
	return hdr, rows
}

func readAll(t *testing.T, p *Parser) []Record {
	t.Helper()
	var out []Record
	for {
		var r Record
		err := p.Next(&r)
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
}

func TestParseSample(t *testing.T) {
	data, err := os.ReadFile(sample)
	if err != nil {
		t.Fatal(err)
	}
	_, want := naive(t, string(data))
	p, err := NewParser(sample, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	got := readAll(t, p)
	if len(got) != len(want) || len(got) < 10 {
		t.Fatalf("%d records, want %d", len(got), len(want))
	}
	failures := 0
	for i, r := range got {
		w := want[i]
		if r.Disk.Device.Serial != w["serial_number"] || r.Disk.Device.Model != w["model"] || r.Date.Format("2006-01-02") != w["date"] {
			t.Errorf("row %d: identity %q %q %s, want %q %q %s", i, r.Disk.Device.Serial, r.Disk.Device.Model, r.Date, w["serial_number"], w["model"], w["date"])
		}
		if r.Failure != (w["failure"] == "1") {
			t.Errorf("row %d: failure %v, want %s", i, r.Failure, w["failure"])
		}
		if r.Failure {
			failures++
		}
		for k, v := range w {
			id, kind, ok := attrCol(k)
			if !ok {
				continue
			}
			a := r.Disk.Attr(id)
			if v == "" {
				if a != nil && kind == "raw" && a.Raw != 0 {
					t.Errorf("row %d: attribute %d has raw %d for an empty cell", i, id, a.Raw)
				}
				continue
			}
			if a == nil {
				t.Errorf("row %d: attribute %d missing (cell %q)", i, id, v)
				continue
			}
			n, _ := strconv.ParseInt(v, 10, 64)
			if kind == "raw" && a.Raw != n || kind == "normalized" && int64(a.Value) != n {
				t.Errorf("row %d: attribute %d %s = %d/%d, want %d", i, id, kind, a.Raw, a.Value, n)
			}
		}
		if w["smart_194_raw"] != "" {
			c, _ := strconv.ParseFloat(w["smart_194_raw"], 64)
			if r.Disk.TemperatureC == nil || *r.Disk.TemperatureC != c {
				t.Errorf("row %d: temperature %v, want %v", i, r.Disk.TemperatureC, c)
			}
		}
	}
	if failures == 0 {
		t.Error("no failure rows read; the sample has some")
	}
}

func attrCol(h string) (int, string, bool) {
	rest, ok := strings.CutPrefix(h, "smart_")
	if !ok {
		return 0, "", false
	}
	n, kind, _ := strings.Cut(rest, "_")
	id, err := strconv.Atoi(n)
	return id, kind, err == nil
}

func TestSubsetAndBadRows(t *testing.T) {
	in := "date,serial_number,model,failure,smart_5_raw,smart_197_raw,smart_5_normalized,smart_5_thresh\n" +
		"2013-04-10,S1,M,0,8,,100,36\n" +
		"2013-04-10,S2,M,0,x,,100,36\n" + // bad number
		"2013-04-10,S3,M,0\n" + // short row
		"2013-04-31,S4,M,0,1,,100,36\n" + // no such day
		"2013-04-10,\"S5\",\"M, Inc\",1,1.0,2,99,36\r\n" + // quoted, CRLF, float raw
		"\n"
	p, err := NewParser("x.csv", strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if !p.HasThresholds() {
		t.Error("thresh column not seen")
	}
	var serials []string
	var bad []string
	for {
		var r Record
		err := p.Next(&r)
		if err == io.EOF {
			break
		}
		if err != nil {
			bad = append(bad, err.Error())
			continue
		}
		serials = append(serials, r.Disk.Device.Serial)
		if r.Disk.Device.Serial == "S5" {
			want := []model.ATAAttribute{{ID: 5, Raw: 1, Value: 99, Worst: 99, Thresh: 36}, {ID: 197, Raw: 2}}
			if d := cmp.Diff(want, r.Disk.ATAAttributes); d != "" {
				t.Errorf("S5 attributes (-want +got):\n%s", d)
			}
			if !r.Failure || r.Disk.Device.Model != "M, Inc" {
				t.Errorf("S5: failure %v model %q", r.Failure, r.Disk.Device.Model)
			}
		}
	}
	if d := cmp.Diff([]string{"S1", "S5"}, serials); d != "" {
		t.Errorf("good rows (-want +got):\n%s", d)
	}
	if len(bad) != 3 {
		t.Fatalf("bad rows %q, want 3", bad)
	}
	for i, frag := range []string{"x.csv:3: smart_5", "x.csv:4: 4 fields, header has 8", "x.csv:5: date"} {
		if !strings.Contains(bad[i], frag) {
			t.Errorf("error %q does not say %q", bad[i], frag)
		}
	}
}

func TestNotBackblaze(t *testing.T) {
	for _, in := range []string{"", "a,b,c\n1,2,3\n"} {
		if _, err := NewParser("f", strings.NewReader(in)); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
}

func TestOpenDirAndGzip(t *testing.T) {
	data, err := os.ReadFile(sample)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// Two days, one plain and one gzip, named out of creation order.
	os.WriteFile(filepath.Join(dir, "2013-04-17.csv"), data, 0o644)
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	w.Write(data)
	w.Close()
	os.WriteFile(filepath.Join(dir, "2013-04-16.csv.gz"), gz.Bytes(), 0o644)
	os.WriteFile(filepath.Join(dir, "README.txt"), []byte("not data"), 0o644)
	src, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{filepath.Join(dir, "2013-04-16.csv.gz"), filepath.Join(dir, "2013-04-17.csv")}, src.Files()); d != "" {
		t.Errorf("files (-want +got):\n%s", d)
	}
	n := 0
	var r Record
	for {
		err := src.Next(context.Background(), &r)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	_, rows := naive(t, string(data))
	if n != 2*len(rows) {
		t.Errorf("read %d rows, want %d", n, 2*len(rows))
	}
	// A broken gzip file is a fatal error, not a bad row.
	os.WriteFile(filepath.Join(dir, "2013-04-18.csv.gz"), gz.Bytes()[:len(gz.Bytes())/2], 0o644)
	src, _ = Open(dir)
	var last error
	for {
		last = src.Next(context.Background(), &r)
		if last != nil && !isRow(last) {
			break
		}
	}
	if last == io.EOF {
		t.Error("truncated gzip read to EOF without an error")
	}
	if _, err := Open(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing path: no error")
	}
}

func isRow(err error) bool { var re *RowError; return errors.As(err, &re) }

func FuzzParser(f *testing.F) {
	data, err := os.ReadFile(sample)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte("date,serial_number,smart_5_raw\n2013-01-01,A,1\n2013-01-02,A,\"2\"\n"))
	f.Add([]byte("date,serial_number,failure,smart_194_raw,smart_9_raw\n2013-01-01,A,1,-5,99999999999999999999\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		p, err := NewParser("fuzz", bytes.NewReader(in))
		if err != nil {
			return
		}
		for i := 0; i < 10000; i++ {
			var r Record
			err := p.Next(&r)
			if err == io.EOF {
				return
			}
			if err != nil {
				if p.broken {
					return
				}
				continue
			}
			if r.Disk.Device.Serial == "" || r.Date.IsZero() {
				t.Fatalf("record without serial or date: %+v", r)
			}
		}
	})
}

func BenchmarkParse(b *testing.B) {
	data, err := os.ReadFile(sample)
	if err != nil {
		b.Fatal(err)
	}
	_, rows := naive(&testing.T{}, string(data))
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		p, _ := NewParser("b", bytes.NewReader(data))
		var r Record
		for p.Next(&r) == nil {
		}
	}
	b.ReportMetric(float64(len(rows)*b.N)/b.Elapsed().Seconds(), "rows/s")
}

// Want skips the cells of other attributes but keeps every attribute's
// normalized value where the file has its threshold.
func TestWant(t *testing.T) {
	in := "date,serial_number,model,failure,smart_1_raw,smart_5_raw,smart_5_normalized,smart_7_normalized,smart_7_thresh,smart_7_raw\n" +
		"2013-04-10,A,M,0,11,5,100,90,95,77\n"
	p, err := NewParser("x.csv", strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	p.Want([]int{5})
	var row Row
	if err := p.NextRow(&row); err != nil {
		t.Fatal(err)
	}
	if _, ok := row.RawOf(1); ok {
		t.Error("raw 1 parsed although not wanted")
	}
	if v, ok := row.RawOf(5); !ok || v != 5 {
		t.Errorf("raw 5 = %d %v", v, ok)
	}
	i := row.Index[7]
	if row.Has[i] != HasNorm|HasThresh || row.Norm[i] != 90 || row.Thresh[i] != 95 {
		t.Errorf("attribute 7: has %b norm %d thresh %d; want its normalized value and threshold, not its raw", row.Has[i], row.Norm[i], row.Thresh[i])
	}
	if !p.HasThresholds() {
		t.Error("HasThresholds false after Want")
	}
}

// Backblaze's quarterly archive is read as published: the zip's daily
// CSVs in name order (macOS metadata members skipped), alone or in a
// directory beside plain files.
func TestOpenZip(t *testing.T) {
	data, err := os.ReadFile(sample)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(strings.TrimSpace(string(data)), "\n")
	hdr, body := lines[0], lines[1:]
	day2 := strings.ReplaceAll(strings.Join(body, ""), "2013-04-16", "2013-04-17")
	dir := t.TempDir()
	zpath := filepath.Join(dir, "data_Q2_2013.zip")
	f, err := os.Create(zpath)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for _, m := range []struct{ name, text string }{
		{"data_Q2_2013/2013-04-17.csv", hdr + day2 + "\n"},
		{"data_Q2_2013/2013-04-16.csv", hdr + strings.Join(body, "") + "\n"},
		{"__MACOSX/data_Q2_2013/._2013-04-16.csv", "\x00\x05\x16\x07junk"},
	} {
		w, _ := zw.Create(m.name)
		w.Write([]byte(m.text))
	}
	zw.Close()
	f.Close()
	for _, path := range []string{zpath, dir} {
		src, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		var row Row
		var days []int32
		n := 0
		for {
			err := src.NextRow(context.Background(), &row)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			if len(days) == 0 || days[len(days)-1] != row.Day {
				days = append(days, row.Day)
			}
			n++
		}
		src.Close()
		if n != 2*len(body) || len(days) != 2 || days[0] >= days[1] {
			t.Errorf("%s: %d rows on days %v; want %d on two days in order", path, n, days, 2*len(body))
		}
		if done, total := src.Progress(); total <= 0 || done != total {
			t.Errorf("%s: progress %d of %d", path, done, total)
		}
	}
}

// The comma scan that skips unwanted cells reads every line as a plain
// split at commas would: the same cells, the same values, the same errors.
func FuzzWantSameAsSplit(f *testing.F) {
	data, err := os.ReadFile(sample)
	if err != nil {
		f.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	for _, l := range lines[1:4] {
		f.Add(l, uint8(0))
		f.Add(l+",1,2,3", uint8(1))
		f.Add(strings.Replace(l, ",", ",,", 5), uint8(2))
		f.Add(strings.Replace(l, ",,", ",x,", 3), uint8(3))
	}
	hdr := lines[0]
	wants := [][]int{{5, 9, 197}, wantIDs, {255}, nil}
	f.Fuzz(func(t *testing.T, line string, which uint8) {
		if strings.ContainsAny(line, "\"\r\n") {
			return // the quoted path is the plain split itself
		}
		fast, err := NewParser("x", strings.NewReader(hdr+"\n"))
		if err != nil {
			t.Fatal(err)
		}
		slow, _ := NewParser("x", strings.NewReader(hdr+"\n"))
		want := wants[int(which)%len(wants)]
		fast.Want(want)
		slow.Want(want)
		var a, b Row
		errA := fast.ParseLine([]byte(line), &a)
		errB := slowParse(slow, []byte(line), &b)
		if (errA == nil) != (errB == nil) {
			t.Fatalf("%q: scan %v, split %v", line, errA, errB)
		}
		if errA != nil {
			return
		}
		if a.Day != b.Day || string(a.Serial) != string(b.Serial) || string(a.Model) != string(b.Model) || a.Capacity != b.Capacity || a.Failure != b.Failure {
			t.Fatalf("%q: scan %+v, split %+v", line, a, b)
		}
		for i := range a.Has {
			if a.Has[i] != b.Has[i] || a.Raw[i] != b.Raw[i] || a.Norm[i] != b.Norm[i] || a.Thresh[i] != b.Thresh[i] {
				t.Fatalf("%q: attribute %d: scan %d/%d/%d, split %d/%d/%d", line, a.IDs[i], a.Has[i], a.Raw[i], a.Norm[i], b.Has[i], b.Raw[i], b.Norm[i])
			}
		}
	})
}

// wantIDs: the attributes replay reads.
var wantIDs = []int{5, 197, 198, 187, 188, 9, 1}

// slowParse is ParseLine by a plain split at commas.
func slowParse(p *Parser, line []byte, row *Row) error {
	for i := range p.has {
		p.has[i] = 0
	}
	*row = Row{Day: -1, Index: &p.index, IDs: p.attrs, Raw: p.raw, Norm: p.norm, Thresh: p.thresh, Has: p.has}
	fields := bytes.Split(line, []byte{','})
	if len(fields) != len(p.cols) {
		return fmt.Errorf("%d fields", len(fields))
	}
	for i, c := range fields {
		if p.live[i] {
			if err := p.cell(i, c, row); err != nil {
				return err
			}
		}
	}
	if len(row.Serial) == 0 || row.Day < 0 {
		return fmt.Errorf("no serial or date")
	}
	return nil
}
