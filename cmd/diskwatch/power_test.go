package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/diskwatch/diskwatch/alerts/assemble"
	"github.com/diskwatch/diskwatch/alerts/engine"
	"github.com/diskwatch/diskwatch/alerts/history"
	"github.com/diskwatch/diskwatch/alerts/rules"
	"github.com/diskwatch/diskwatch/collectors/hostroot"
	"github.com/diskwatch/diskwatch/collectors/hwmon/hwmontest"
	"github.com/diskwatch/diskwatch/collectors/model"
	"github.com/diskwatch/diskwatch/collectors/ups/nut"
	"github.com/diskwatch/diskwatch/collectors/ups/upstest"
)

func upsDev(status string, charge, runtime int) string {
	return fmt.Sprintf("ups.status: %s\nbattery.charge: %d\nbattery.runtime: %d\nups.load: 30\ninput.voltage: 230\n", status, charge, runtime)
}

// waitStatus polls upsd until the UPS reports status (dummy-ups re-reads
// its .dev file within about a second of a change).
func waitStatus(t *testing.T, addr, name, status string) {
	t.Helper()
	waitVars(t, addr, name, map[string]string{"ups.status": status})
}

// waitVars polls upsd until every variable in want has its value: the
// driver publishes a re-read file variable by variable.
func waitVars(t *testing.T, addr, name string, want map[string]string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var last map[string]string
	for time.Now().Before(deadline) {
		c, err := nut.Dial(context.Background(), addr, nut.Options{ReplyTimeout: time.Second})
		if err == nil {
			vars, err := c.ListVars(context.Background(), name)
			c.Close()
			if err == nil {
				last = vars
				ok := true
				for k, v := range want {
					if vars[k] != v {
						ok = false
					}
				}
				if ok {
					return
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("upsd never reported %v for %s (last %v)", want, name, last)
}

// TestUPSRealUpsdTransitions drives a real upsd with the dummy-ups driver
// OL -> OB -> OB LB -> OL CHRG through the whole cycle (collector, history
// store, rules) as `--ups nut://...` configures it, one cycle per minute of
// the injected clock, and checks the UPS findings of every cycle.
func TestUPSRealUpsdTransitions(t *testing.T) {
	n := upstest.StartNUT(t, map[string]string{"testups": upsDev("OL", 100, 1800)}, upstest.UpsmonUser)
	waitStatus(t, n.Addr, "testups", "OL")
	n.LoginUpsmon(t, "testups") // an upsmon that shuts down on it, as on a real host
	rs := rules.Default()
	cfg, err := assemble.LoadConfig(noConfig(t), nil, []string{"nut://" + n.Addr + "/testups"}, rs)
	if err != nil {
		t.Fatal(err)
	}
	mem := history.NewMem(0, false, nil)
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	eng := &engine.Engine{Sources: (&assemble.Host{FS: hostroot.New(filepath.Join("testdata", "roots", "healthy")), Now: func() time.Time { return now }}).Sources(cfg), Rules: rs, Settings: &cfg.Settings, Now: func() time.Time { return now },
		Store: mem, History: mem, Log: zerolog.Nop()}
	subject := "testups@" + n.Addr
	steps := []struct {
		status          string
		charge, runtime int
		want            string
		msg             string
	}{
		{"OL", 100, 1800, "", ""},
		{"OB DISCHRG", 97, 1700, "ups.on_battery:WARNING", "is ON BATTERY"},
		{"OB DISCHRG LB", 94, 200, "ups.low_battery:CRITICAL ups.runtime_low:CRITICAL ups.on_battery:WARNING", "LOW BATTERY"},
		{"OL CHRG", 60, 900, "ups.on_battery:OK", "back on line after 2m on battery"},
		{"OL", 100, 1800, "", ""},
	}
	for i, s := range steps {
		n.SetDev(t, "testups", upsDev(s.status, s.charge, s.runtime))
		waitVars(t, n.Addr, "testups", map[string]string{"ups.status": s.status,
			"battery.charge": fmt.Sprint(s.charge), "battery.runtime": fmt.Sprint(s.runtime)})
		now = now.Add(time.Minute)
		res := eng.Cycle(context.Background())
		var got []model.Finding
		for _, f := range res.Findings {
			if f.SubjectID == subject {
				got = append(got, f)
			}
		}
		if v := verdictOf(got); v != s.want {
			t.Errorf("step %d (%s): %q, want %q\n%+v", i, s.status, v, s.want, got)
		}
		if s.msg != "" && !hasMessage(got, s.msg) {
			t.Errorf("step %d: no finding says %q: %+v", i, s.msg, got)
		}
	}
	// upsd goes away: communication lost, CRITICAL, within the timeout.
	n.StopUpsd()
	now = now.Add(time.Minute)
	start := time.Now()
	res := eng.Cycle(context.Background())
	var got []model.Finding
	for _, f := range res.Findings {
		if f.SubjectID == subject {
			got = append(got, f)
		}
	}
	if v := verdictOf(got); v != "ups.comm_lost:CRITICAL" || time.Since(start) > 10*time.Second {
		t.Errorf("upsd gone: %q after %v", v, time.Since(start))
	}
}

func verdictOf(fs []model.Finding) string {
	var v []string
	for _, f := range fs {
		v = append(v, f.Rule+":"+f.Severity.String())
	}
	return strings.Join(v, " ")
}

func hasMessage(fs []model.Finding, s string) bool {
	for _, f := range fs {
		if strings.Contains(f.Message, s) {
			return true
		}
	}
	return false
}

func TestUPSFlagCheck(t *testing.T) {
	n := upstest.StartNUT(t, map[string]string{"a": upsDev("OB DISCHRG", 80, 1200)}, upstest.UpsmonUser)
	waitStatus(t, n.Addr, "a", "OB DISCHRG")
	n.LoginUpsmon(t, "a")
	out, errOut, code := runCmd(t, nil, "check", "--config", noConfig(t), "--root", filepath.Join("testdata", "roots", "healthy"),
		"--ups", "nut://"+n.Addr+"/a", "--format", "nagios")
	if code != exitWarning || !strings.Contains(out, "ON BATTERY") {
		t.Errorf("exit %d\n%s\n%s", code, out, errOut)
	}
}

func TestUPSFlagBadURLHidesPassword(t *testing.T) {
	out, errOut, code := runCmd(t, nil, "check", "--config", noConfig(t), "--root", filepath.Join("testdata", "roots", "healthy"),
		"--ups", "nut://mon:hunter2@host:99999/x")
	if code != exitUnknown || strings.Contains(out+errOut, "hunter2") || !strings.Contains(errOut, "--ups") {
		t.Errorf("exit %d\nstdout %s\nstderr %s", code, out, errOut)
	}
}

// TestSensorsCommand prints the readings of node_exporter's real hwmon
// fixture plus a file probe configured in sensors:.
func TestSensorsCommand(t *testing.T) {
	root := hwmontest.BuildRoot(t)
	os.MkdirAll(filepath.Join(root, "run", "probe"), 0o755)
	os.WriteFile(filepath.Join(root, "run", "probe", "room"), []byte("23125\n"), 0o644)
	cfg := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(cfg, []byte("sensors:\n  - {name: room, type: file, path: /run/probe/room, unit: C, scale: 0.001, max: 30}\n"), 0o600)
	out, errOut, code := runCmd(t, nil, "sensors", "--config", cfg, "--root", root)
	if code != exitOK || errOut != "" {
		t.Errorf("exit %d, stderr %s", code, errOut)
	}
	golden(t, "sensors-hwmon.text", out)
	out, _, code = runCmd(t, nil, "sensors", "--config", cfg, "--root", root, "--format", "json")
	var doc struct {
		Sensors []map[string]any
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || code != exitOK || len(doc.Sensors) != 24 {
		t.Errorf("json: %v, exit %d, %d sensors", err, code, len(doc.Sensors))
	}
}
