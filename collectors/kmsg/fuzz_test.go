package kmsg

import (
	"errors"
	"os"
	"strings"
	"testing"
)

func errorsIs(err, target error) bool { return errors.Is(err, target) }

func seed(f *testing.F) {
	b, err := os.ReadFile(capture)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range SplitRecords(b) {
		f.Add(s)
	}
	d, err := os.ReadFile("testdata/documented-raid.txt")
	if err != nil {
		f.Fatal(err)
	}
	for _, l := range strings.Split(string(d), "\n") {
		f.Add("4,1,1,-;" + l)
	}
}

func FuzzParseRecord(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRecord(s)
		if err != nil {
			return
		}
		if r.Level < 0 || r.Level > 7 {
			t.Fatalf("level %d", r.Level)
		}
		if strings.Contains(r.Message, "\n") {
			t.Fatalf("message spans lines: %q", r.Message)
		}
	})
}

func FuzzClassify(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRecord(s)
		msg := s
		if err == nil {
			msg = r.Message
		}
		m, ok := Classify(msg)
		if !ok {
			return
		}
		if m.Kind == "" {
			t.Fatalf("recognised with no kind: %q", msg)
		}
		if m.Device == "" && m.Driver == "" {
			t.Fatalf("recognised with no device or controller: %q -> %+v", msg, m)
		}
		if m.Port < -1 || m.Sector < -1 {
			t.Fatalf("bad port/sector %+v", m)
		}
	})
}

func BenchmarkClassifyCapture(b *testing.B) {
	data, err := os.ReadFile(capture)
	if err != nil {
		b.Fatal(err)
	}
	recs := SplitRecords(data)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		for _, s := range recs {
			r, err := ParseRecord(s)
			if err == nil {
				Classify(r.Message)
			}
		}
	}
}
