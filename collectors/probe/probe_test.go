package probe

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/diskwatch/diskwatch/collectors/hostroot"
	"github.com/diskwatch/diskwatch/collectors/model"
)

func TestParseOutput(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []Reading
		err  string
	}{
		{"23.5\n", []Reading{{"", 23.5, "C"}}, ""},
		{"23.5 F", []Reading{{"", 23.5, "F"}}, ""},
		{"# TEMPer2\ntemp 24.1 C\nhumidity 41 %\n\n", []Reading{{"temp", 24.1, "C"}, {"humidity", 41, "%"}}, ""},
		{"temp 24.1\nbroken line here now\nhum 40 %", []Reading{{"temp", 24.1, "C"}, {"hum", 40, "%"}}, "line 2"},
		{"temp abc C", nil, "not a number"},
		{"", nil, "no value"},
		{"temp 1\ntemp 2", []Reading{{"temp", 1, "C"}}, "twice"},
		{"NaN", nil, "expected"},
	} {
		got, err := ParseOutput(tc.in, "C")
		if (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%q: err %v, want %q", tc.in, err, tc.err)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q: %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

func TestKindOf(t *testing.T) {
	k, u, conv := KindOf("°F")
	if k != "temperature" || u != "C" || conv(212) != 100 {
		t.Errorf("F: %s %s %v", k, u, conv(212))
	}
	if k, u, _ := KindOf("%RH"); k != "humidity" || u != "%" {
		t.Errorf("%%RH: %s %s", k, u)
	}
	if k, u, _ := KindOf("lux"); k != "other" || u != "lux" {
		t.Errorf("lux: %s %s", k, u)
	}
}

func need(t *testing.T, p string) {
	if _, err := os.Stat(p); err != nil {
		t.Skipf("%s missing", p)
	}
}

func collect(t *testing.T, c *Collector) ([]model.Sensor, error) {
	var snap model.Snapshot
	err := c.Collect(context.Background(), &snap)
	return snap.Sensors, err
}

// TestCommandProbes runs real programs (coreutils) through execx.
func TestCommandProbes(t *testing.T) {
	need(t, "/bin/echo")
	need(t, "/usr/bin/printf")
	mx := 30.0
	ss, err := collect(t, New(hostroot.New("/"), []Spec{
		{Name: "room", Type: "command", Argv: []string{"/bin/echo", "22.5"}, Unit: "C", Max: &mx},
		{Name: "usb", Type: "command", Argv: []string{"/usr/bin/printf", "temp 24.1 C\nhumidity 41.5 %%\n"}, Unit: "C", Max: &mx},
	}))
	if err != nil {
		t.Fatal(err)
	}
	if len(ss) != 3 {
		t.Fatalf("%+v", ss)
	}
	if ss[0].ID != "probe/room" || ss[0].Value != 22.5 || ss[0].Kind != "temperature" || *ss[0].Max != 30 || ss[0].Chip != "command" {
		t.Errorf("room: %+v", ss[0])
	}
	if ss[1].ID != "probe/usb/temp" || ss[1].Max == nil || ss[2].ID != "probe/usb/humidity" || ss[2].Kind != "humidity" || ss[2].Max != nil {
		t.Errorf("usb: %+v %+v", ss[1], ss[2])
	}
}

func TestCommandFailures(t *testing.T) {
	need(t, "/bin/sleep")
	need(t, "/bin/false")
	start := time.Now()
	ss, err := collect(t, New(hostroot.New("/"), []Spec{
		{Name: "slow", Type: "command", Argv: []string{"/bin/sleep", "30"}, Timeout: 300 * time.Millisecond},
		{Name: "fails", Type: "command", Argv: []string{"/bin/false"}},
		{Name: "missing", Type: "command", Argv: []string{"/nonexistent/probe"}},
		{Name: "ok", Type: "command", Argv: []string{"/bin/echo", "1"}},
	}))
	if time.Since(start) > 5*time.Second {
		t.Fatalf("timeout not enforced: %v", time.Since(start))
	}
	if len(ss) != 1 || ss[0].ID != "probe/ok" {
		t.Errorf("sensors %+v", ss)
	}
	for _, w := range []string{"probe slow", "deadline", "probe fails", "exit status 1", "probe missing"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error %v lacks %q", err, w)
		}
	}
}

func TestFileProbe(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "run/probe"), 0o755)
	os.WriteFile(filepath.Join(root, "run/probe/temp"), []byte("23125\n"), 0o644)
	os.WriteFile(filepath.Join(root, "run/probe/bad"), []byte("n/a\n"), 0o644)
	ss, err := collect(t, New(hostroot.New(root), []Spec{
		{Name: "rack", Type: "file", Path: "/run/probe/temp", Unit: "C", Scale: 0.001},
		{Name: "bad", Type: "file", Path: "/run/probe/bad", Unit: "C"},
		{Name: "gone", Type: "file", Path: "/run/probe/none", Unit: "C"},
	}))
	if len(ss) != 1 || ss[0].ID != "probe/rack" || ss[0].Value < 23.124 || ss[0].Value > 23.126 || ss[0].Chip != "file" {
		t.Errorf("%+v", ss)
	}
	if err == nil || !strings.Contains(err.Error(), "probe bad") || !strings.Contains(err.Error(), "probe gone") {
		t.Errorf("err %v", err)
	}
}

func TestNoProbesAbsent(t *testing.T) {
	if _, err := collect(t, New(hostroot.New("/"), nil)); err == nil || !strings.Contains(err.Error(), "absent") {
		t.Fatal(err)
	}
}

func FuzzParseOutput(f *testing.F) {
	// Seeds: the output shapes of real probe tools (temper-python's
	// "Device #0: 22.5°C 72.5°F" is not one of them: users wrap it).
	for _, s := range []string{"23.5\n", "temp 24.1 C\nhumidity 41 %\n", "# c\n\nx 1\n", "1 2 3", "\x00\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rs, _ := ParseOutput(s, "C")
		for _, r := range rs {
			if r.Value != r.Value {
				t.Fatal("NaN accepted")
			}
		}
	})
}
