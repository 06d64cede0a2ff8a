package ups_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/diskwatch/diskwatch/collectors/model"
	"github.com/diskwatch/diskwatch/collectors/ups"
	"github.com/diskwatch/diskwatch/collectors/ups/nut"
	"github.com/diskwatch/diskwatch/collectors/ups/upstest"
)

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		in, host, name, user, pass string
		tls                        nut.TLSMode
		err                        string
	}{
		{in: "nut://localhost/myups", host: "localhost:3493", name: "myups"},
		{in: "nut://mon:p%40ss@10.0.0.5:13493/ups1?tls=require", host: "10.0.0.5:13493", name: "ups1", user: "mon", pass: "p@ss", tls: nut.TLSRequire},
		{in: "nut://[::1]", host: "[::1]:3493"},
		{in: "apcupsd://nas", host: "nas:3551"},
		{in: "apcupsd://nas:3552", host: "nas:3552"},
		{in: "http://x/y", err: "scheme"},
		{in: "nut:///ups", err: "no host"},
		{in: "nut://h:99999/u", err: "bad port"},
		{in: "apcupsd://u:secretpw@h", err: "no user name"},
		{in: "apcupsd://h/name", err: "one UPS"},
		{in: "nut://h/u?tls=maybe", err: "tls must be"},
		{in: "nut://h/u?color=red", err: "unknown option"},
		{in: "nut://u:secretpw@h:bad/x", err: "URL"},
	} {
		got, err := ups.ParseURL(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: err %v, want %q", tc.in, err, tc.err)
			}
			if err != nil && strings.Contains(err.Error(), "secretpw") {
				t.Errorf("%s: password in error: %v", tc.in, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if got.Host != tc.host || got.UPS != tc.name || got.User != tc.user || got.Password != tc.pass || got.TLS != tc.tls {
			t.Errorf("%s: %+v", tc.in, got)
		}
		if tc.pass != "" && strings.Contains(got.String(), tc.pass) {
			t.Errorf("%s: String shows the password: %s", tc.in, got)
		}
	}
}

func dev(status string, charge, runtime int) string {
	return "device.mfr: Dummy\ndevice.model: Test UPS\nups.status: " + status + "\nbattery.charge: " + itoa(charge) +
		"\nbattery.runtime: " + itoa(runtime) + "\nups.load: 25\ninput.voltage: 230.0\nups.test.result: Done and passed\n"
}

func itoa(i int) string { return strconv.Itoa(i) }

func collect(t *testing.T, urls ...string) ([]model.UPS, error) {
	t.Helper()
	var ts []ups.Target
	for _, u := range urls {
		tg, err := ups.ParseURL(u)
		if err != nil {
			t.Fatal(err)
		}
		ts = append(ts, tg)
	}
	var snap model.Snapshot
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := ups.New(ts, 2*time.Second).Collect(ctx, &snap)
	return snap.UPS, err
}

// TestRealUpsd reads a real upsd (NUT 2.8, dummy-ups driver) serving two
// UPSes, by name and as a whole, and survives upsd going away and coming
// back.
func TestRealUpsd(t *testing.T) {
	n := upstest.StartNUT(t, map[string]string{"alpha": dev("OL", 100, 1800), "beta": dev("OB DISCHRG", 64, 900)},
		"[mon]\n\tpassword = s3cret\n\tupsmon secondary\n")
	base := "nut://" + n.Addr
	// dummy-ups (2.8.0) replaces device.mfr/model with its own "Dummy
	// Manufacturer" / "Dummy UPS". It needs a moment after upsd starts to publish its data.
	var us []model.UPS
	var err error
	for i := 0; i < 50; i++ {
		us, err = collect(t, base)
		// upsd says "WAIT" until the driver has published its data.
		if err == nil && len(us) == 2 && us[0].Reachable && us[1].Reachable && !us[0].HasStatus("WAIT") && !us[1].HasStatus("WAIT") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil || len(us) != 2 {
		t.Fatalf("all UPSes: %v %+v", err, us)
	}
	byName := map[string]model.UPS{}
	for _, u := range us {
		byName[u.Name] = u
	}
	a, b := byName["alpha@"+n.Addr], byName["beta@"+n.Addr]
	if !a.HasStatus("OL") || *a.ChargePercent != 100 || !b.HasStatus("OB") || *b.RuntimeSeconds != 900 || a.Model != "Dummy Manufacturer Dummy UPS" {
		t.Fatalf("alpha %+v beta %+v", a, b)
	}
	// One UPS by name, with a login.
	us, err = collect(t, "nut://mon:s3cret@"+n.Addr+"/beta")
	if err != nil || len(us) != 1 || !us[0].HasStatus("OB") || us[0].Name != "beta@"+n.Addr {
		t.Fatalf("by name: %v %+v", err, us)
	}
	// An unknown UPS: an error and an unreachable entry.
	us, err = collect(t, base+"/gamma")
	if err == nil || len(us) != 1 || us[0].Reachable || !strings.Contains(us[0].Error, "UNKNOWN-UPS") {
		t.Fatalf("unknown ups: %v %+v", err, us)
	}
	// upsd goes away: communication lost, no hang.
	n.StopUpsd()
	start := time.Now()
	us, err = collect(t, base+"/alpha")
	if err == nil || len(us) != 1 || us[0].Reachable || time.Since(start) > 5*time.Second {
		t.Fatalf("upsd down: %v %+v after %v", err, us, time.Since(start))
	}
	// and comes back.
	n.StartUpsd(t)
	for i := 0; i < 50; i++ {
		us, err = collect(t, base+"/alpha")
		if err == nil && len(us) == 1 && us[0].Reachable && !us[0].HasStatus("WAIT") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil || !us[0].Reachable || !us[0].HasStatus("OL") {
		t.Fatalf("upsd back: %v %+v", err, us)
	}
}

func TestNoTargetsIsAbsent(t *testing.T) {
	var snap model.Snapshot
	err := ups.New(nil, 0).Collect(context.Background(), &snap)
	if err == nil || !strings.Contains(err.Error(), "absent") {
		t.Fatalf("%v", err)
	}
}

func TestMain(m *testing.M) { os.Exit(m.Run()) }

// TestRealApcupsd reads a real apcupsd 3.14 (its "test" driver) over NIS.
func TestRealApcupsd(t *testing.T) {
	a := upstest.StartAPCUPSD(t)
	us, err := collect(t, "apcupsd://"+a.Addr)
	if err != nil || len(us) != 1 {
		t.Fatalf("%v %+v", err, us)
	}
	u := us[0]
	// The test driver reports "ONLINE NOBATT" with fixed readings.
	if !u.Reachable || !u.HasStatus("OL") || u.ChargePercent == nil || u.RuntimeSeconds == nil || u.InputVoltage == nil ||
		u.Model != "Test Driver" || u.Name != "apcupsd@"+a.Addr || u.Vars["UPSNAME"] != "testapc" {
		t.Fatalf("%+v", u)
	}
	t.Logf("status %v charge %v runtime %v s", u.Status, *u.ChargePercent, *u.RuntimeSeconds)
}

// BenchmarkRealUpsdCollect is one full collection from a real upsd:
// connect, LIST VAR, LOGOUT, mapping.
func BenchmarkRealUpsdCollect(b *testing.B) {
	n := upstest.StartNUT(b, map[string]string{"alpha": dev("OL", 100, 1800)}, "")
	tg, err := ups.ParseURL("nut://" + n.Addr + "/alpha")
	if err != nil {
		b.Fatal(err)
	}
	c := ups.New([]ups.Target{tg}, 2*time.Second)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var snap model.Snapshot
		if err := c.Collect(context.Background(), &snap); err != nil || len(snap.UPS) != 1 {
			b.Fatal(err)
		}
	}
}

// fakeUpsd answers LIST UPS with two UPSes, serves "a" and then, on
// "LIST VAR b", does what misbehave says.
func fakeUpsd(t *testing.T, misbehave string) string {
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
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					switch strings.TrimSpace(line) {
					case "LIST UPS":
						io.WriteString(c, "BEGIN LIST UPS\nUPS a \"A\"\nUPS b \"B\"\nUPS c \"C\"\nEND LIST UPS\n")
					case "LIST VAR a", "LIST VAR c":
						n := strings.Fields(line)[2]
						io.WriteString(c, "BEGIN LIST VAR "+n+"\nVAR "+n+" ups.status \"OL\"\nEND LIST VAR "+n+"\n")
					case "LIST VAR b":
						switch misbehave {
						case "hang":
							io.WriteString(c, "BEGIN LIST VAR b\nVAR b ups.status \"O")
							time.Sleep(10 * time.Second)
							return
						case "garbage":
							io.WriteString(c, "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\n")
						case "close":
							return
						case "stale":
							io.WriteString(c, "ERR DATA-STALE\n")
						}
					case "LIST CLIENT a", "LIST CLIENT b", "LIST CLIENT c":
						// upsd before 2.8 knows no LIST CLIENT (netlist.c: INVALID-ARGUMENT).
						io.WriteString(c, "ERR INVALID-ARGUMENT\n")
					case "LOGOUT":
						io.WriteString(c, "OK Goodbye\n")
						return
					}
				}
			}()
		}
	}()
	return l.Addr().String()
}

// TestCollectorSurvivesMisbehavingUpsd: whatever upsd does on the second
// UPS, the first is kept, the broken one (and those after it on a dead
// connection) are reported unreachable, and the collection ends in time.
func TestCollectorSurvivesMisbehavingUpsd(t *testing.T) {
	for _, tc := range []struct {
		how       string
		wantErr   bool
		reachable string // of a, b, c
	}{
		{"hang", true, "YNN"},
		{"garbage", true, "YNN"},
		{"close", true, "YNN"},
		{"stale", false, "YNY"},
	} {
		t.Run(tc.how, func(t *testing.T) {
			addr := fakeUpsd(t, tc.how)
			tg, _ := ups.ParseURL("nut://" + addr)
			var snap model.Snapshot
			start := time.Now()
			err := ups.New([]ups.Target{tg}, 500*time.Millisecond).Collect(context.Background(), &snap)
			if d := time.Since(start); d > 3*time.Second {
				t.Fatalf("took %v", d)
			}
			if (err != nil) != tc.wantErr {
				t.Errorf("err %v", err)
			}
			got := ""
			for _, u := range snap.UPS {
				if u.Reachable {
					got += "Y"
				} else {
					got += "N"
					if u.Error == "" || strings.ContainsAny(u.Error, "\x16\x00") {
						t.Errorf("%s: error %q", u.Name, u.Error)
					}
				}
			}
			if got != tc.reachable {
				t.Errorf("reachable %s, want %s: %+v", got, tc.reachable, snap.UPS)
			}
		})
	}
}

// TestRealUpsdSTARTTLS: Debian's upsd 2.8 (NSS) with a certificate;
// tls=require with the certificate as tls_ca verifies it, without it the
// system roots reject it, tls_insecure=1 skips the check.
func TestRealUpsdSTARTTLS(t *testing.T) {
	n := upstest.StartNUTTLS(t, map[string]string{"alpha": dev("OL", 100, 1800)}, "")
	ca := filepath.Join(t.TempDir(), "upsd.pem")
	os.WriteFile(ca, n.CertPEM, 0o600)
	read := func(url string) ([]model.UPS, error) {
		tg, err := ups.ParseURL(url)
		if err != nil {
			t.Fatal(err)
		}
		if err := tg.LoadCA(os.ReadFile); err != nil {
			t.Fatal(err)
		}
		var snap model.Snapshot
		err = ups.New([]ups.Target{tg}, 2*time.Second).Collect(context.Background(), &snap)
		return snap.UPS, err
	}
	var us []model.UPS
	var err error
	for i := 0; i < 50; i++ {
		us, err = read("nut://" + n.Addr + "/alpha?tls=require&tls_ca=" + ca)
		if err == nil && us[0].HasStatus("OL") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil || !us[0].HasStatus("OL") {
		t.Fatalf("verified TLS: %v %+v", err, us)
	}
	if _, err := read("nut://" + n.Addr + "/alpha?tls=require"); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("unverifiable certificate accepted: %v", err)
	}
	if us, err := read("nut://" + n.Addr + "/alpha?tls=require&tls_insecure=1"); err != nil || !us[0].HasStatus("OL") {
		t.Errorf("insecure: %v %+v", err, us)
	}
}
