package nut

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

func TestSplitLine(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		err  bool
	}{
		{`VAR testups ups.status "OL CHRG"`, []string{"VAR", "testups", "ups.status", "OL CHRG"}, false},
		{"BEGIN LIST VAR testups\n", []string{"BEGIN", "LIST", "VAR", "testups"}, false},
		{`VAR u ups.model "Smart-UPS \"1500\" \\ RM"`, []string{"VAR", "u", "ups.model", `Smart-UPS "1500" \ RM`}, false},
		{`VAR u x ""`, []string{"VAR", "u", "x", ""}, false},
		{`UPS testups "Test UPS"` + "\r\n", []string{"UPS", "testups", "Test UPS"}, false},
		{"ERR ACCESS-DENIED", []string{"ERR", "ACCESS-DENIED"}, false},
		{`VAR u x "unterminated`, nil, true},
		{`VAR u x "dangling\`, nil, true},
		{`VAR u x "a"b`, nil, true},
		{"VAR u x \x01", nil, true},
		{`VAR u x"y"`, nil, true},
	} {
		got, err := SplitLine(tc.in)
		if (err != nil) != tc.err {
			t.Errorf("SplitLine(%q) error %v, want error %v", tc.in, err, tc.err)
			continue
		}
		if err != nil {
			if !errors.Is(err, ErrSyntax) {
				t.Errorf("SplitLine(%q): %v does not wrap ErrSyntax", tc.in, err)
			}
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("SplitLine(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParseReplyErr(t *testing.T) {
	_, err := ParseReply("ERR DATA-STALE")
	var re *ReplyError
	if !errors.As(err, &re) || re.Code != "DATA-STALE" || !re.Stale() {
		t.Fatalf("got %v", err)
	}
	_, err = ParseReply("ERR UNKNOWN-UPS extra words")
	if !errors.As(err, &re) || re.Code != "UNKNOWN-UPS" || re.Stale() || re.Detail != "extra words" {
		t.Fatalf("got %#v", err)
	}
	if _, err := ParseReply(""); !errors.Is(err, ErrSyntax) {
		t.Fatalf("empty line: %v", err)
	}
}

func TestQuoteRoundTrip(t *testing.T) {
	for _, s := range []string{"plain", "with space", `q"uote`, `back\slash`, ""} {
		w, err := SplitLine("X " + Quote(s))
		if err != nil || len(w) != 2 || w[1] != s {
			t.Errorf("Quote(%q) -> %q: %v %q", s, Quote(s), err, w)
		}
	}
}

// devFiles are the real NUT DDL dumps (see ../testdata/SOURCES.md).
func devFiles(t testing.TB) []string {
	f, err := filepath.Glob("../testdata/nut-ddl/*.dev")
	if err != nil || len(f) == 0 {
		t.Fatalf("no dumps: %v", err)
	}
	return f
}

func TestParseDumpAll(t *testing.T) {
	annotated := 0
	for _, f := range devFiles(t) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		d, err := ParseDump(b)
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(f), err)
			continue
		}
		if len(d.Vars) < 5 {
			t.Errorf("%s: only %d variables", filepath.Base(f), len(d.Vars))
		}
		for k, v := range d.Vars {
			if strings.Contains(v, "#BAD") || strings.Contains(v, "#COMMENT") {
				t.Errorf("%s: annotation left in %s = %q", filepath.Base(f), k, v)
			}
		}
		annotated += len(d.Annotations)
	}
	if annotated < 20 {
		t.Errorf("only %d inline annotations found; the DDL files hold more", annotated)
	}
}

func TestParseDumpDetails(t *testing.T) {
	b, err := os.ReadFile("../testdata/nut-ddl/MGE_UPS_SYSTEMS__Pulsar_1500__mge-shut__2.6.5__01.dev")
	if err != nil {
		t.Fatal(err)
	}
	d, err := ParseDump(b)
	if err != nil {
		t.Fatal(err)
	}
	if d.Vars["ups.status"] != "ALARM OL CHRG RB" || !strings.HasPrefix(d.Annotations["ups.status"], "#BAD: Just replaced") {
		t.Errorf("status %q annotation %q", d.Vars["ups.status"], d.Annotations["ups.status"])
	}
	if len(d.Comments) == 0 {
		t.Error("header comments not kept")
	}
	// A value holding '#' that is not an annotation stays whole.
	d, _ = ParseDump([]byte("ups.model: Unknown #BC1200     (1.650)\nups.status: OL\n"))
	if d.Vars["ups.model"] != "Unknown #BC1200     (1.650)" {
		t.Errorf("model %q", d.Vars["ups.model"])
	}
	// Bad lines are reported and skipped; good ones kept.
	d, err = ParseDump([]byte("ups.status: OB\nthis is garbage\nbattery.charge: 50\n"))
	if err == nil || !strings.Contains(err.Error(), "line 2") || d.Vars["battery.charge"] != "50" || d.Vars["ups.status"] != "OB" {
		t.Errorf("err %v vars %v", err, d.Vars)
	}
}

func TestToUPS(t *testing.T) {
	b, _ := os.ReadFile("../testdata/nut-ddl/APC__Smart-UPS_2200__usbhid-ups__2.7.4__01.dev")
	d, err := ParseDump(b)
	if err != nil {
		t.Fatal(err)
	}
	u := ToUPS("su@h:3493", d.Vars)
	if !u.HasStatus("OB") || !u.HasStatus("DISCHRG") || u.ChargePercent == nil || *u.ChargePercent != 93 || u.Model == "" {
		t.Errorf("%+v", u)
	}
	for _, tc := range []struct {
		s    string
		fail bool
	}{{"Done and passed", false}, {"Done and error", true}, {"No test initiated", false}, {"Done and warning", false},
		{"Aborted", false}, {"In progress", false}, {"Passed, Source: Internal", false}, {"NO", false}, {"0", false}} {
		if SelfTestFailed(tc.s) != tc.fail {
			t.Errorf("SelfTestFailed(%q) = %v", tc.s, !tc.fail)
		}
	}
}

// seedLines turns real dumps into protocol lines for the fuzzers.
func seedLines(t testing.TB) []string {
	var out []string
	for _, f := range devFiles(t) {
		b, _ := os.ReadFile(f)
		d, _ := ParseDump(b)
		keys := make([]string, 0, len(d.Vars))
		for k := range d.Vars {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys[:min(len(keys), 5)] {
			out = append(out, "VAR ups "+k+" "+Quote(d.Vars[k]))
		}
	}
	return append(out, "BEGIN LIST UPS", "END LIST VAR ups", "ERR DATA-STALE", `UPS a "desc \"x\""`, "OK Goodbye")
}

func FuzzSplitLine(f *testing.F) {
	for _, l := range seedLines(f) {
		f.Add(l)
	}
	f.Fuzz(func(t *testing.T, line string) {
		w, err := SplitLine(line)
		if err != nil {
			return
		}
		// Whatever parses re-quotes to the same words.
		var parts []string
		for _, x := range w {
			parts = append(parts, Quote(x))
		}
		w2, err := SplitLine(strings.Join(parts, " "))
		if err != nil {
			// Control characters inside quotes are refused on re-parse
			// only if they were accepted the first time: never.
			t.Fatalf("re-parse of %q failed: %v", parts, err)
		}
		if !reflect.DeepEqual(w, w2) && !(len(w) == 0 && len(w2) == 0) {
			t.Fatalf("round trip %q -> %q", w, w2)
		}
	})
}

func FuzzParseDump(f *testing.F) {
	for _, p := range devFiles(f)[:20] {
		b, _ := os.ReadFile(p)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		d, _ := ParseDump(b)
		if d == nil || d.Vars == nil {
			t.Fatal("nil dump")
		}
		u := ToUPS("x", d.Vars)
		_ = u.Samples()
	})
}
