package rules_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/diskwatch/diskwatch/alerts/history"
	"github.com/diskwatch/diskwatch/alerts/rules"
	"github.com/diskwatch/diskwatch/collectors/model"
	"github.com/diskwatch/diskwatch/collectors/ups"
	"github.com/diskwatch/diskwatch/collectors/ups/upstest"
)

// realUPS reads one UPS from a real upsd until it reports status.
func realUPS(t *testing.T, addr, name, status string) model.UPS {
	t.Helper()
	tg, err := ups.ParseURL("nut://" + addr + "/" + name)
	if err != nil {
		t.Fatal(err)
	}
	// dummy-ups re-reads its file within about a second when idle; on a
	// loaded 2-core CI machine it took longer than 15 s once.
	deadline := time.Now().Add(60 * time.Second)
	for {
		var snap model.Snapshot
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		ups.New([]ups.Target{tg}, 2*time.Second).Collect(ctx, &snap)
		cancel()
		if len(snap.UPS) == 1 && snap.UPS[0].Reachable && strings.Join(snap.UPS[0].Status, " ") == status {
			return snap.UPS[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("upsd never reported %q for %s: %+v", status, name, snap.UPS)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestUPSOutputOffAndBypassHeld: a real upsd with the dummy-ups driver
// reports OFF (output off), then OL BYPASS. Each is information on its
// first reading and while shorter than hold_minutes (5), and a WARNING
// with its fix once held longer, one reading a minute on the injected
// clock, through the history store as the engine uses it (samples stored,
// then rules evaluated). Back to OL, both are quiet.
func TestUPSOutputOffAndBypassHeld(t *testing.T) {
	dev := func(status string) string {
		return fmt.Sprintf("ups.status: %s\nbattery.charge: 100\nbattery.runtime: 1800\nups.load: 20\n", status)
	}
	n := upstest.StartNUT(t, map[string]string{"u1": dev("OL")}, "")
	set := only(rules.Default(), "ups.output_off", "ups.bypass", "ups.info")
	h := history.NewMem(0, false, nil)
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	eval := func(u model.UPS) []model.Finding {
		now = now.Add(time.Minute)
		snap := &model.Snapshot{Time: now, UPS: []model.UPS{u}}
		if err := h.Append(context.Background(), now, snap.Samples()); err != nil {
			t.Fatal(err)
		}
		return set.Evaluate(&rules.Input{Snapshot: snap, Now: now, History: h}, nil)
	}
	if fs := eval(realUPS(t, n.Addr, "u1", "OL")); len(fs) != 0 {
		t.Fatalf("on line: %+v", fs)
	}
	for _, c := range []struct{ status, rule, fix string }{
		{"OFF", "ups.output_off", "load.on"},
		{"OL BYPASS", "ups.bypass", "inverter fault"},
	} {
		n.SetDev(t, "u1", dev(c.status))
		u := realUPS(t, n.Addr, "u1", c.status)
		for minute := 0; minute <= 6; minute++ {
			fs := eval(u)
			f := findRule(fs, c.rule)
			want := model.OK
			if minute >= 5 {
				want = model.Warning
			}
			if f == nil || f.Severity != want {
				t.Fatalf("%s after %d min: %+v, want %s %s", c.status, minute, fs, c.rule, want)
			}
			if want == model.Warning && (!strings.Contains(f.Message, "for 5m") && !strings.Contains(f.Message, "for 6m") || !strings.Contains(f.Remedy, c.fix)) {
				t.Errorf("%s: message %q remedy %q", c.status, f.Message, f.Remedy)
			}
		}
	}
	n.SetDev(t, "u1", dev("OL"))
	if fs := eval(realUPS(t, n.Addr, "u1", "OL")); len(fs) != 0 {
		t.Fatalf("back on line: %+v", fs)
	}
	n.SetDev(t, "u1", dev("OFF"))
	// A UPS reporting OFF in every reading ever taken (as several real NUT
	// dumps do: drivers that always say OFF) stays information.
	h = history.NewMem(0, false, nil)
	for minute := 0; minute <= 10; minute++ {
		fs := eval(realUPS(t, n.Addr, "u1", "OFF"))
		if f := findRule(fs, "ups.output_off"); f == nil || f.Severity != model.OK || (minute > 0 && !strings.Contains(f.Message, "every time")) {
			t.Fatalf("always OFF, minute %d: %+v", minute, fs)
		}
	}
	// The same reading without a history store: how long is unknown, so
	// information only, saying so.
	u := realUPS(t, n.Addr, "u1", "OFF")
	fs := set.Evaluate(&rules.Input{Snapshot: &model.Snapshot{UPS: []model.UPS{u}}, Now: now}, nil)
	if f := findRule(fs, "ups.output_off"); f == nil || f.Severity != model.OK || !strings.Contains(f.Message, "unknown without the history store") {
		t.Fatalf("no history: %+v", fs)
	}
}

func findRule(fs []model.Finding, rule string) *model.Finding {
	for i := range fs {
		if fs[i].Rule == rule {
			return &fs[i]
		}
	}
	return nil
}
