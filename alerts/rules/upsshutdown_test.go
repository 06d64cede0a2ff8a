package rules_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/diskwatch/diskwatch/alerts/rules"
	"github.com/diskwatch/diskwatch/collectors/model"
	"github.com/diskwatch/diskwatch/collectors/ups/upstest"
)

// TestUPSNothingShutsDown: a real upsd (dummy-ups driver) on battery with
// no upsmon logged in → CRITICAL with the upsmon setup; once a client has
// logged in (as upsmon does) → quiet; on line without a client → NOTICE;
// a client logged in but less runtime left than shutdown_s → CRITICAL.
func TestUPSNothingShutsDown(t *testing.T) {
	dev := func(status string, runtime int) string {
		return fmt.Sprintf("ups.status: %s\nbattery.charge: 80\nbattery.runtime: %d\nups.load: 30\n", status, runtime)
	}
	n := upstest.StartNUT(t, map[string]string{"u1": dev("OB DISCHRG", 1200)}, upstest.UpsmonUser)
	set := only(rules.Default(), "ups.no_shutdown")
	eval := func(u model.UPS, st *rules.Settings) []model.Finding {
		return set.Evaluate(&rules.Input{Snapshot: &model.Snapshot{UPS: []model.UPS{u}}, Now: day0}, st)
	}
	u := realUPS(t, n.Addr, "u1", "OB DISCHRG")
	if u.Clients == nil || len(u.Clients) != 0 {
		t.Fatalf("clients before any login: %#v (upsd 2.8 answers LIST CLIENT)", u.Clients)
	}
	fs := eval(u, nil)
	if len(fs) != 1 || fs[0].Severity != model.Critical || !strings.Contains(fs[0].Message, "no upsmon is logged into upsd") ||
		!strings.Contains(fs[0].Remedy, "MONITOR u1@"+n.Addr+" 1") || !strings.Contains(fs[0].Remedy, "nut-monitor") {
		t.Fatalf("on battery, nobody logged in: %+v", fs)
	}
	n.LoginUpsmon(t, "u1")
	u = realUPS(t, n.Addr, "u1", "OB DISCHRG")
	if len(u.Clients) != 1 || u.Clients[0] != "127.0.0.1" {
		t.Fatalf("clients after LOGIN: %#v", u.Clients)
	}
	if fs := eval(u, nil); len(fs) != 0 {
		t.Fatalf("upsmon logged in: %+v", fs)
	}
	// This host needs 30 minutes to shut down; 20 are left.
	st := &rules.Settings{Global: map[string]map[string]float64{"ups.no_shutdown": {"shutdown_s": 1800}}}
	if fs := eval(u, st); len(fs) != 1 || fs[0].Severity != model.Critical || !strings.Contains(fs[0].Message, "less than the 30m") {
		t.Fatalf("runtime below the shutdown time: %+v", fs)
	}
	// A second upsd without clients, on line: NOTICE ahead of a power cut.
	n2 := upstest.StartNUT(t, map[string]string{"u2": dev("OL", 1200)}, "")
	if fs := eval(realUPS(t, n2.Addr, "u2", "OL"), nil); len(fs) != 1 || fs[0].Severity != model.Notice {
		t.Fatalf("on line, nobody logged in: %+v", fs)
	}
}
