// Package upstest runs real UPS servers for tests: NUT's upsd with the
// dummy-ups driver on 127.0.0.1 (Debian packages nut-server and
// nut-client), with a private configuration directory. When the programs
// are missing a test is skipped, or fails when the CI environment variable
// is set.
package upstest

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/diskwatch/diskwatch/collectors/execx"
)

// NUT program locations (Debian).
const (
	DummyUPS = "/lib/nut/dummy-ups"
	Upsd     = "/lib/nut/upsd"
)

// Require skips (or, under CI, fails) the test when a program is missing.
func Require(t testing.TB, progs ...string) {
	t.Helper()
	for _, p := range progs {
		if _, err := os.Stat(p); err != nil {
			msg := fmt.Sprintf("%s not found: install the Debian packages nut-server nut-client (make setup)", p)
			if os.Getenv("CI") != "" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
	}
}

// FreePort returns a TCP port free on 127.0.0.1 right now.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// NUT is a running upsd with one dummy-ups driver per UPS.
type NUT struct {
	Dir  string
	Port int
	// Addr is 127.0.0.1:Port.
	Addr  string
	env   []string
	procs []*execx.Process
	upsd  *execx.Process
	user  string
	// CertPEM is upsd's certificate (StartNUTTLS only).
	CertPEM []byte
}

// makeCert creates the NSS database and certificate and returns the
// upsd.conf lines that use them.
func (n *NUT) makeCert(t testing.TB) string {
	t.Helper()
	db := filepath.Join(n.Dir, "nssdb")
	if err := os.MkdirAll(db, 0o700); err != nil {
		t.Fatal(err)
	}
	pw := filepath.Join(n.Dir, "nsspw")
	write(t, pw, "diskwatch-test\n")
	noise := make([]byte, 64)
	rand.Read(noise)
	write(t, filepath.Join(n.Dir, "noise"), string(noise))
	ctx := context.Background()
	run := func(args ...string) []byte {
		out, err := execx.Output(ctx, 30*time.Second, Certutil, args...)
		if err != nil {
			t.Fatalf("certutil %v: %v", args, err)
		}
		return out
	}
	run("-N", "-d", "sql:"+db, "-f", pw)
	run("-S", "-s", "CN=127.0.0.1", "-n", "nut server", "-x", "-t", "CTu,Cu,Cu", "-d", "sql:"+db, "-f", pw,
		"-z", filepath.Join(n.Dir, "noise"), "-v", "12", "--extSAN", "ip:127.0.0.1")
	n.CertPEM = run("-L", "-n", "nut server", "-a", "-d", "sql:"+db)
	return fmt.Sprintf("CERTPATH %s\nCERTIDENT \"nut server\" \"diskwatch-test\"\n", db)
}

// StartNUT starts dummy-ups drivers for upses (name -> .dev content) and
// upsd listening on a free port. users is the upsd.users text ("" for
// none). Everything is stopped at the end of the test.
func StartNUT(t testing.TB, upses map[string]string, users string) *NUT {
	t.Helper()
	return start(t, upses, users, false)
}

// Certutil is NSS's certutil (Debian libnss3-tools): Debian's upsd is
// built with NSS and reads its certificate from an NSS database.
const Certutil = "/usr/bin/certutil"

// StartNUTTLS is StartNUT with STARTTLS configured: a self-signed
// certificate for 127.0.0.1 in an NSS database (CERTPATH, CERTIDENT).
// The certificate is in CertPEM.
func StartNUTTLS(t testing.TB, upses map[string]string, users string) *NUT {
	t.Helper()
	Require(t, Certutil)
	return start(t, upses, users, true)
}

func start(t testing.TB, upses map[string]string, users string, withTLS bool) *NUT {
	t.Helper()
	Require(t, DummyUPS, Upsd)
	dir := t.TempDir()
	n := &NUT{Dir: dir, Port: FreePort(t)}
	n.Addr = fmt.Sprintf("127.0.0.1:%d", n.Port)
	etc, state := filepath.Join(dir, "etc"), filepath.Join(dir, "state")
	for _, d := range []string{etc, state} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	n.user = u.Username
	var names []string
	for name := range upses {
		names = append(names, name)
	}
	sort.Strings(names)
	var conf strings.Builder
	for _, name := range names {
		fmt.Fprintf(&conf, "[%s]\n\tdriver = dummy-ups\n\tport = %s.dev\n\tpollinterval = 1\n\tdesc = \"test UPS %s\"\n", name, name, name)
		n.SetDev(t, name, upses[name])
	}
	write(t, filepath.Join(etc, "ups.conf"), conf.String())
	upsdConf := fmt.Sprintf("LISTEN 127.0.0.1 %d\nMAXAGE 5\n", n.Port)
	if withTLS {
		upsdConf += n.makeCert(t)
	}
	write(t, filepath.Join(etc, "upsd.conf"), upsdConf)
	write(t, filepath.Join(etc, "nut.conf"), "MODE=standalone\n")
	write(t, filepath.Join(etc, "upsd.users"), users)
	n.env = append(os.Environ(), "NUT_CONFPATH="+etc, "NUT_STATEPATH="+state, "NUT_ALTPIDPATH="+state)
	t.Cleanup(n.Stop)
	for _, name := range names {
		p, err := execx.Cmd{Name: DummyUPS, Args: []string{"-a", name, "-u", n.user, "-F"}, Env: n.env, Timeout: -1}.Start(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		n.procs = append(n.procs, p)
	}
	// Wait for each driver's socket before starting upsd.
	deadline := time.Now().Add(10 * time.Second)
	for _, name := range names {
		for {
			m, _ := filepath.Glob(filepath.Join(state, "dummy-ups-"+name))
			if len(m) > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("dummy-ups %s did not create its socket in %s", name, state)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	n.StartUpsd(t)
	return n
}

// StartUpsd (re)starts upsd and waits until it accepts connections.
func (n *NUT) StartUpsd(t testing.TB) {
	t.Helper()
	p, err := execx.Cmd{Name: Upsd, Args: []string{"-u", n.user, "-F"}, Env: n.env, Timeout: -1}.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	n.upsd = p
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", n.Addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-p.Done():
			t.Fatalf("upsd exited: %v", p.Wait())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("upsd does not listen on %s: %v", n.Addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// StopUpsd kills upsd only (the drivers keep running).
func (n *NUT) StopUpsd() {
	if n.upsd != nil {
		n.upsd.Kill()
		n.upsd = nil
	}
}

// SetDev atomically replaces a UPS's .dev file; dummy-ups re-reads it when
// its mtime changes.
func (n *NUT) SetDev(t testing.TB, name, content string) {
	t.Helper()
	p := filepath.Join(n.Dir, "etc", name+".dev")
	tmp := p + ".tmp"
	write(t, tmp, content)
	// A distinct mtime in whole seconds: dummy-ups compares st_mtime
	// (time_t), so two writes within one second looked unchanged to it and it
	// kept serving the old status.
	mt := time.Now()
	if st, err := os.Stat(p); err == nil && mt.Unix() <= st.ModTime().Unix() {
		mt = st.ModTime().Truncate(time.Second).Add(time.Second)
	}
	os.Chtimes(tmp, mt, mt)
	if err := os.Rename(tmp, p); err != nil {
		t.Fatal(err)
	}
}

// Stop kills upsd and every driver and waits for them.
func (n *NUT) Stop() {
	n.StopUpsd()
	for _, p := range n.procs {
		p.Kill()
	}
	n.procs = nil
}

func write(t testing.TB, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

// APCUPSDDir is where .ci/setup unpacks the apcupsd package (it conflicts
// with nut-client, so it is not installed).
func APCUPSDDir() string {
	base := os.Getenv("XDG_CACHE_HOME")
	if base == "" {
		home, _ := os.UserHomeDir()
		base = filepath.Join(home, ".cache")
	}
	return filepath.Join(base, "diskwatch", "apcupsd")
}

// APCUPSD is a running apcupsd with its "test" UPS driver (hard-wired to
// report ONLINE) and its Network Information Server on 127.0.0.1.
type APCUPSD struct {
	Addr string
	proc *execx.Process
}

// StartAPCUPSD starts the unpacked apcupsd (see APCUPSDDir), or the
// installed one, on a free port.
func StartAPCUPSD(t testing.TB) *APCUPSD {
	t.Helper()
	prog := filepath.Join(APCUPSDDir(), "sbin", "apcupsd")
	libs := filepath.Join(APCUPSDDir(), "lib", "x86_64-linux-gnu")
	if _, err := os.Stat(prog); err != nil {
		prog = "/sbin/apcupsd"
	}
	Require(t, prog)
	dir := t.TempDir()
	port := FreePort(t)
	conf := fmt.Sprintf("## apcupsd.conf v1.1 ##\nUPSNAME testapc\nUPSCABLE smart\nUPSTYPE test\nDEVICE\nLOCKFILE %[1]s\nSCRIPTDIR %[1]s\n"+
		"PWRFAILDIR %[1]s\nNOLOGINDIR %[1]s\nNETSERVER on\nNISIP 127.0.0.1\nNISPORT %[2]d\nSTATFILE %[1]s/apcupsd.status\n"+
		"EVENTSFILE %[1]s/apcupsd.events\n", dir, port)
	write(t, filepath.Join(dir, "apcupsd.conf"), conf)
	env := append(os.Environ(), "LD_LIBRARY_PATH="+libs)
	p, err := execx.Cmd{Name: prog, Args: []string{"-b", "-f", filepath.Join(dir, "apcupsd.conf"), "-P", filepath.Join(dir, "apcupsd.pid")},
		Env: env, Timeout: -1}.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	a := &APCUPSD{Addr: fmt.Sprintf("127.0.0.1:%d", port), proc: p}
	t.Cleanup(func() { p.Kill() })
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", a.Addr, time.Second)
		if err == nil {
			c.Close()
			return a
		}
		select {
		case <-p.Done():
			t.Fatalf("apcupsd exited: %v", p.Wait())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("apcupsd does not listen on %s", a.Addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// UpsmonUser is an upsd.users entry for LoginUpsmon.
const UpsmonUser = "[upsmon]\n\tpassword = upsmon-test\n\tupsmon primary\n"

// LoginUpsmon logs into upsd for ups as upsmon does (USERNAME, PASSWORD,
// LOGIN; upsd.users must hold UpsmonUser) and stays connected until the
// test ends: upsd then lists the test as a client of ups (LIST CLIENT), as
// it would a host that shuts down on this UPS.
func (n *NUT) LoginUpsmon(t testing.TB, ups string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", n.Addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 512)
	for _, l := range []string{"USERNAME upsmon", "PASSWORD upsmon-test", "LOGIN " + ups} {
		if _, err := c.Write([]byte(l + "\n")); err != nil {
			t.Fatal(err)
		}
		k, err := c.Read(buf)
		if err != nil || !strings.HasPrefix(string(buf[:k]), "OK") {
			t.Fatalf("upsd %s: %q %v", l, buf[:k], err)
		}
	}
	c.SetDeadline(time.Time{})
}
