package apcupsd

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// captures are real `apcaccess status` outputs (../testdata/SOURCES.md).
func captures(t testing.TB) map[string][]string {
	t.Helper()
	files, err := filepath.Glob("../testdata/apcupsd/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no captures: %v", err)
	}
	out := map[string][]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = SplitLines(strings.TrimRight(string(b), "\n"))
	}
	return out
}

func TestCaptures(t *testing.T) {
	type want struct {
		flags     []string
		reachable bool
		charge    float64 // -1: absent
		runtime   float64 // seconds; -1: absent
		selftest  bool
	}
	wants := map[string]want{
		"apcaccess-3.12.4-DUMB-UPS-ONBATT_SLAVEDOWN.txt": {[]string{"OB"}, false, -1, -1, false},
		"apcaccess-BK650M2-CH-ONBATT.txt":                {[]string{"OB"}, true, 100, 46.8 * 60, false},
		"apcaccess-BK650M2-CH-ONLINE.txt":                {[]string{"OL"}, true, 100, 46.8 * 60, false},
		"apcaccess-SMART-UPS1400-TRIM_ONLINE.txt":        {[]string{"OL", "TRIM"}, true, 100, 115 * 60, false},
		"apcaccess-SmartUPS1400RM-PCNET-ONLINE.txt":      {[]string{"OL"}, true, 100, 30 * 60, false},
		"apcaccess-USB-COMMLOST.txt":                     {[]string{}, false, -1, -1, false},
	}
	caps := captures(t)
	if len(caps) != len(wants) {
		t.Errorf("%d captures, %d expectations", len(caps), len(wants))
	}
	for name, lines := range caps {
		t.Run(name, func(t *testing.T) {
			st, err := ParseStatus(lines)
			if err != nil {
				t.Fatal(err)
			}
			w, ok := wants[name]
			if !ok {
				t.Fatal("no expectation")
			}
			u := ToUPS("apcupsd@h:3551", st)
			if !reflect.DeepEqual(u.Status, w.flags) || u.Reachable != w.reachable || u.SelfTestFailed != w.selftest {
				t.Errorf("flags %v reachable %v selftest %v", u.Status, u.Reachable, u.SelfTestFailed)
			}
			chk := func(what string, p *float64, v float64) {
				if v < 0 {
					if p != nil {
						t.Errorf("%s = %v, want absent", what, *p)
					}
					return
				}
				if p == nil || *p < v-0.01 || *p > v+0.01 {
					t.Errorf("%s = %v, want %v", what, p, v)
				}
			}
			chk("charge", u.ChargePercent, w.charge)
			chk("runtime", u.RuntimeSeconds, w.runtime)
		})
	}
}

func TestTypedFields(t *testing.T) {
	st, err := ParseStatus(captures(t)["apcaccess-SMART-UPS1400-TRIM_ONLINE.txt"])
	if err != nil {
		t.Fatal(err)
	}
	u := ToUPS("x", st)
	for what, got := range map[string]*float64{"LINEV": u.InputVoltage, "LOADPCT": u.LoadPercent, "ITEMP": u.TemperatureC,
		"BATTV": u.BatteryVoltage, "OUTPUTV": u.OutputVoltage, "MBATTCHG": u.ChargeLowPercent, "MINTIMEL": u.RuntimeLowSeconds} {
		if got == nil {
			t.Errorf("%s not read", what)
		}
	}
	if *u.InputVoltage != 248.3 || *u.TemperatureC != 31.5 || *u.RuntimeLowSeconds != 180 || u.Model != "SMART-UPS 1400" {
		t.Errorf("%+v", u)
	}
	if v, ok := st.Number("LINEFREQ", "hz"); !ok || v != 50 {
		t.Errorf("LINEFREQ %v %v", v, ok)
	}
	// Lowercase units of apcupsd 3.12 and units that do not match.
	st, _ = ParseStatus(captures(t)["apcaccess-3.12.4-DUMB-UPS-ONBATT_SLAVEDOWN.txt"])
	if s, ok := st.Seconds("TONBATT"); !ok || s != 20 {
		t.Errorf("TONBATT %v %v", s, ok)
	}
	if _, ok := st.Number("MBATTCHG", "volts"); ok {
		t.Error("unit not checked")
	}
}

func TestStatusWords(t *testing.T) {
	for status, want := range map[string][]string{
		"ONBATT LOWBATT":     {"OB", "LB"},
		"SHUTTING DOWN":      {"FSD"},
		"ONLINE REPLACEBATT": {"OL", "RB"},
		"OVERLOAD ONLINE":    {"OL", "OVER"},
		"ONLINE NOBATT":      {"OL", "NOBATT"},
		"CAL ONLINE":         {"OL", "CAL"},
	} {
		st, _ := ParseStatus([]string{"STATUS   : " + status})
		if got, _ := st.Flags(); !reflect.DeepEqual(got, want) {
			t.Errorf("%q -> %v, want %v", status, got, want)
		}
	}
	for _, tc := range []struct {
		v    string
		fail bool
	}{{"NG", true}, {"BT", true}, {"OK", false}, {"NO", false}, {"IP", false}} {
		if SelfTestFailed(tc.v) != tc.fail {
			t.Errorf("SELFTEST %s", tc.v)
		}
	}
}

func TestParseStatusBadLines(t *testing.T) {
	st, err := ParseStatus([]string{"STATUS   : ONLINE", "garbage without colon", "BCHARGE  : 50.0 Percent"})
	if err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("err %v", err)
	}
	if st.Fields["BCHARGE"] != "50.0 Percent" || st.Fields["STATUS"] != "ONLINE" {
		t.Errorf("lost good lines: %v", st.Fields)
	}
}

// nis serves the NIS protocol with payload lines as the status reply.
func nis(t *testing.T, payload []string, hang bool) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				// The request: one record, "status" (no end record).
				req := make([]byte, 2+len("status"))
				if _, err := io.ReadFull(c, req); err != nil || string(req[2:]) != "status" {
					return
				}
				var b []byte
				for i, p := range payload {
					b = AppendRecord(b, p+"\n")
					if hang && i == len(payload)/2 {
						c.Write(b)
						time.Sleep(5 * time.Second)
						return
					}
				}
				b = AppendRecord(b, "")
				c.Write(b)
			}()
		}
	}()
	return l.Addr().String()
}

func TestQueryRealPayloads(t *testing.T) {
	for name, lines := range captures(t) {
		addr := nis(t, lines, false)
		recs, err := Query(context.Background(), addr, "status", 2*time.Second)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(recs, lines) {
			t.Errorf("%s: records differ", name)
		}
	}
}

func TestQueryHang(t *testing.T) {
	addr := nis(t, captures(t)["apcaccess-BK650M2-CH-ONLINE.txt"], true)
	start := time.Now()
	_, err := Query(context.Background(), addr, "status", 300*time.Millisecond)
	if err == nil || time.Since(start) > 3*time.Second {
		t.Fatalf("err %v after %v", err, time.Since(start))
	}
}

func TestReadRecordsErrors(t *testing.T) {
	for name, b := range map[string][]byte{
		"truncated": AppendRecord(nil, "STATUS : ONLINE\n")[:5],
		"no end":    AppendRecord(nil, "STATUS : ONLINE\n"),
		"too long":  {0xff, 0xff, 'x'},
		"empty":     {},
	} {
		recs, err := ReadRecords(bytes.NewReader(b))
		if err == nil {
			t.Errorf("%s: no error (%q)", name, recs)
		}
	}
}

func FuzzReadRecords(f *testing.F) {
	for _, lines := range captures(f) {
		var b []byte
		for _, l := range lines {
			b = AppendRecord(b, l+"\n")
		}
		f.Add(AppendRecord(b, ""))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		recs, err := ReadRecords(bytes.NewReader(b))
		if err == nil && len(recs) > maxRecords {
			t.Fatal("too many records")
		}
	})
}

func FuzzParseStatus(f *testing.F) {
	for _, lines := range captures(f) {
		f.Add(strings.Join(lines, "\n"))
	}
	f.Fuzz(func(t *testing.T, s string) {
		st, _ := ParseStatus(SplitLines(s))
		if st == nil {
			t.Fatal("nil status")
		}
		u := ToUPS("x", st)
		if u.Status == nil {
			t.Fatal("nil status flags")
		}
		_ = u.Samples()
	})
}
