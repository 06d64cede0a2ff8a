package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/diskwatch/diskwatch/alerts/notify/email/emailtest"
	"github.com/diskwatch/diskwatch/alerts/output/snapshot"
)

// These tests drive the built binary the way an operator meets it (issue
// 16): the daemon running while report, ack and check use its state; the
// CLI conventions of Go tools; logs as a service manager's reader sees
// them; `notify test` against real exim and Alertmanager.

// runBin runs the built binary with the environment cleared of
// diskwatch's variables plus env, stdout and stderr apart (pipes, not a
// terminal).
func runBin(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	c := exec.Command(diskwatchBin(t), args...)
	c.Env = append(os.Environ(), "DISKWATCH_STATE=", "DISKWATCH_CONFIG=", "DISKWATCH_ROOT=", "JOURNAL_STREAM=")
	c.Env = append(c.Env, env...)
	var o, e strings.Builder
	c.Stdout, c.Stderr = &o, &e
	err := c.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), code
}

// While the daemon runs (and owns the history store), report, ack and
// check --state work on the same state at once, through its control
// socket; the acknowledgement takes effect in the daemon's next round.
func TestDaemonSharesHistory(t *testing.T) {
	h := newAckHost(t)
	state := filepath.Join(h.dir, "state")
	b, _ := os.ReadFile(h.cfg)
	os.WriteFile(h.cfg, append(b, "daemon:\n  interval: 1s\n  collector_intervals: {mdraid: 1s, smart: 1s, smartctl: 1s, hwraid: 1s, hwmon: 1s, probes: 1s}\n  metrics_listen: \"off\"\n"...), 0o600)
	d := startDaemon(t, nil, "--config", h.cfg, "--state", state)
	pending := func() bool {
		doc, err := snapshot.Read(filepath.Join(state, snapshot.FileName))
		if err != nil {
			return false
		}
		for _, f := range doc.Findings {
			if f.Rule == "smart.pending_sectors" {
				return true
			}
		}
		return false
	}
	waitFor(t, "the daemon's first round with 8 pending sectors", pending, d.log.String)
	if fi, err := os.Stat(filepath.Join(state, "control.sock")); err != nil || fi.Mode().Perm() != 0o600 || fi.Mode()&os.ModeSocket == 0 {
		t.Fatalf("control socket: %v %v", fi, err)
	}

	// check --state: the trend rules read the daemon's history; nothing waits for the store.
	start := time.Now()
	out, errs, code := runBin(t, nil, "check", "--config", h.cfg, "--state", state, "--format", "json", "--log-level", "info")
	if code == exitUnknown || strings.Contains(errs, "held by another process") || strings.Contains(errs, "history store unavailable") {
		t.Errorf("check --state while the daemon runs: exit %d\n%s", code, errs)
	}
	if !strings.Contains(out, "smart.pending_sectors") {
		t.Errorf("check: %s", out)
	}
	// report --state: the daemon's history, charted.
	html := filepath.Join(h.dir, "report.html")
	if _, errs, code := runBin(t, nil, "report", "--config", h.cfg, "--state", state, "--html", html); code != exitOK || strings.Contains(errs, "held by another process") {
		t.Errorf("report while the daemon runs: exit %d\n%s", code, errs)
	}
	if b, _ := os.ReadFile(html); !strings.Contains(string(b), "MSK423Y20S3HBC") {
		t.Errorf("report lacks the disk")
	}
	// ack: recorded by the daemon, applies from its next round.
	out, errs, code = runBin(t, nil, "ack", "--config", h.cfg, "--state", state, "sdc", "197")
	if code != exitOK || !strings.Contains(out, "acknowledged smart_attr_197_raw = 8") || !strings.Contains(out, "running daemon") {
		t.Fatalf("ack while the daemon runs: exit %d\n%s%s", code, out, errs)
	}
	t.Logf("check, report and ack beside the running daemon took %s in all", time.Since(start).Round(time.Millisecond))
	waitFor(t, "the daemon's round after the ack without the pending-sector finding", func() bool { return !pending() }, d.log.String)
	d.cmd.Process.Signal(syscall.SIGTERM)
	if code := d.wait(t, 20*time.Second); code != 0 {
		t.Fatalf("daemon exit %d", code)
	}
	if _, err := os.Stat(filepath.Join(state, "control.sock")); err == nil {
		t.Error("control socket left behind after the daemon stopped")
	}
	// Stopped: the commands open the store themselves again.
	if out, errs, code := runBin(t, nil, "ack", "--config", h.cfg, "--state", state, "sdc", "197"); code != exitOK || strings.Contains(out, "running daemon") {
		t.Errorf("ack with no daemon: exit %d\n%s%s", code, out, errs)
	}
}

// The CLI behaves as other Go tools do.
func TestCLIConventions(t *testing.T) {
	if out, _, code := runBin(t, nil, "--version"); code != 0 || !strings.HasPrefix(out, "diskwatch ") {
		t.Errorf("--version: %d %q", code, out)
	}
	if out, _, code := runBin(t, nil, "version"); code != 0 || !strings.HasPrefix(out, "diskwatch ") {
		t.Errorf("version: %d %q", code, out)
	}
	// -h and --help on every command and subcommand: on stdout, exit 0.
	for _, args := range [][]string{{"-h"}, {"--help"}, {"help"}, {"check", "-h"}, {"config", "-h"}, {"config", "check", "--help"}, {"daemon", "-h"},
		{"metrics", "-h"}, {"zabbix", "-h"}, {"report", "-h"}, {"ack", "-h"}, {"replay", "-h"}, {"smart", "-h"}, {"sensors", "-h"},
		{"hwraid", "-h"}, {"raid", "-h"}, {"kernel-log", "-h"}, {"selftest", "-h"}, {"notify", "test", "-h"}, {"version", "-h"}} {
		out, errs, code := runBin(t, nil, args...)
		if code != 0 || !strings.Contains(out, "Usage:") || errs != "" {
			t.Errorf("%v: exit %d, stdout %.200q, stderr %q", args, code, out, errs)
		}
	}
	// Typos: did you mean.
	if _, errs, code := runBin(t, nil, "chek"); code != exitUnknown || !strings.Contains(errs, "Did you mean this?\n\tcheck") {
		t.Errorf("chek: %d %q", code, errs)
	}
	// Only the flags that apply: --ups is not ack's, selftest's or kernel-log's.
	for _, c := range []string{"ack", "selftest", "kernel-log"} {
		if _, errs, code := runBin(t, nil, c, "--ups", "nut://x"); code != exitUnknown || !strings.Contains(errs, "unknown flag: --ups") {
			t.Errorf("%s --ups: %d %q", c, code, errs)
		}
		if out, _, _ := runBin(t, nil, c, "-h"); strings.Contains(out, "--ups") {
			t.Errorf("%s -h offers --ups", c)
		}
	}
	// Flags before or after the arguments.
	capture := capturePaths("scrutiny/smart-fail2.json")[0]
	before, _, c1 := runBin(t, nil, "smart", "--format", "json", "--smartctl-json", capture)
	after, _, c2 := runBin(t, nil, "smart", capture, "--smartctl-json", "--format", "json")
	if c1 != 0 || c2 != 0 || before != after || !strings.HasPrefix(before, "[") {
		t.Errorf("flags after the argument: %d %d\n%.200s\n%.200s", c1, c2, before, after)
	}
	// Bad values are refused with the flag named.
	if _, errs, code := runBin(t, nil, "check", "--format", "xml"); code != exitUnknown || !strings.Contains(errs, "--format must be") {
		t.Errorf("--format xml: %d %q", code, errs)
	}
	// Completion scripts for bash, zsh and fish, from the same definitions.
	for _, sh := range []string{"bash", "zsh", "fish"} {
		out, _, code := runBin(t, nil, "completion", sh)
		if code != 0 || !strings.Contains(out, "diskwatch") || len(out) < 1000 {
			t.Errorf("completion %s: exit %d, %d bytes", sh, code, len(out))
		}
	}
	if p, err := exec.LookPath("bash"); err == nil && fileExists("/usr/share/bash-completion/bash_completion") {
		script, _, _ := runBin(t, nil, "completion", "bash")
		f := filepath.Join(t.TempDir(), "c.bash")
		os.WriteFile(f, []byte(script), 0o644)
		// The script asks the binary itself (__complete) for candidates.
		c := exec.Command(p, "-c", `source /usr/share/bash-completion/bash_completion; source "$1"; PATH="$2:$PATH"; COMP_WORDS=(diskwatch ch); COMP_CWORD=1; COMP_LINE="diskwatch ch"; COMP_POINT=12; __start_diskwatch; echo "${COMPREPLY[*]}"`,
			"bash", f, filepath.Dir(diskwatchBin(t)))
		if out, err := c.CombinedOutput(); err != nil || !strings.Contains(string(out), "check") {
			t.Errorf("bash completion of 'diskwatch ch': %v %q", err, out)
		}
	}
	// The model the man page is generated from names every command.
	out, _, code := runBin(t, nil, "__model")
	var model []struct{ Name string }
	if err := json.Unmarshal([]byte(out), &model); code != 0 || err != nil || len(model) < 14 {
		t.Errorf("__model: %d %v %d commands", code, err, len(model))
	}
}

// Logs as a reader that is not a terminal sees them: logfmt by default,
// with the journal's priority prefix when JOURNAL_STREAM names stderr; JSON
// or console when asked; a bad level or format refused.
func TestLogsNonTTY(t *testing.T) {
	root, cfg := mdRoot(t), noConfig(t)
	args := []string{"check", "--root", root, "--config", cfg, "--log-level", "debug"}
	_, errs, code := runBin(t, nil, args...)
	lines := strings.Split(strings.TrimSpace(errs), "\n")
	logfmtRE := regexp.MustCompile(`^ts=\S+ level=(debug|info|warn|error) msg=`)
	if code != exitOK || len(lines) == 0 || !logfmtRE.MatchString(lines[0]) || strings.HasPrefix(lines[0], "{") {
		t.Errorf("default log format off a terminal: exit %d\n%s", code, errs)
	}
	_, errs, _ = runBin(t, nil, append(args, "--log-format", "json")...)
	var m map[string]any
	if err := json.Unmarshal([]byte(strings.Split(errs, "\n")[0]), &m); err != nil || m["level"] != "debug" {
		t.Errorf("--log-format json: %v\n%s", err, errs)
	}
	_, errs, _ = runBin(t, nil, append(args, "--log-format", "console")...)
	if !strings.Contains(errs, "DBG") {
		t.Errorf("--log-format console:\n%s", errs)
	}
	// Under systemd (JOURNAL_STREAM = stderr's device:inode): each line
	// starts with its syslog priority, no time (the journal has it).
	f, err := os.CreateTemp(t.TempDir(), "journal")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var st syscall.Stat_t
	syscall.Fstat(int(f.Fd()), &st)
	c := exec.Command(diskwatchBin(t), args...)
	c.Env = append(os.Environ(), fmt.Sprintf("JOURNAL_STREAM=%d:%d", st.Dev, st.Ino))
	c.Stderr = f
	c.Run()
	b, _ := os.ReadFile(f.Name())
	if !regexp.MustCompile(`(?m)^<7>level=debug msg=`).Match(b) || strings.Contains(string(b), "ts=") {
		t.Errorf("under the journal:\n%s", b)
	}
	for _, bad := range [][]string{{"--log-level", "bogus"}, {"--log-format", "xml"}} {
		if _, errs, code := runBin(t, nil, append([]string{"check"}, bad...)...); code != exitUnknown || !strings.Contains(errs, bad[0]+" must be") {
			t.Errorf("%v: exit %d %q", bad, code, errs)
		}
	}
	// Help and behaviour agree: daemon's default level is info, check's warn.
	out, _, _ := runBin(t, nil, "daemon", "-h")
	if !regexp.MustCompile(`--log-level level\s+log level: debug, info, warn or error \(default "info"\)`).MatchString(out) {
		t.Errorf("daemon -h does not say its default level info:\n%s", out)
	}
	_, errs, _ = runBin(t, nil, "daemon", "--root", root, "--config", cfg, "--state", t.TempDir(), "--rounds", "1", "--metrics-listen", "off")
	if !strings.Contains(errs, "level=info msg=\"diskwatch daemon ready\"") {
		t.Errorf("daemon does not log at info by default:\n%s", errs)
	}
}

// `diskwatch notify test` sends a marked test alert through every
// configured sink — here a real exim (SMTP, STARTTLS, AUTH), a real
// Alertmanager, a webhook that is down and the log — and says per sink
// delivered or failed with the reason.
func TestNotifyTest(t *testing.T) {
	am := needProgram(t, "prometheus-alertmanager", "prometheus-alertmanager")
	dir := t.TempDir()
	ex := emailtest.StartExim(t)
	amRcv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer amRcv.Close()
	amURL := startAlertmanager(t, am, dir, amRcv.URL)
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "nope", http.StatusServiceUnavailable) }))
	defer down.Close()
	bodies := make(chan []byte, 4)
	up := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies <- b
	}))
	defer up.Close()
	cfg := filepath.Join(dir, "diskwatch.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`notify:
  host: testhost
  email:
    - {host: 127.0.0.1, port: %d, tls: starttls, insecure_skip_verify: true, username: %s, password: %s,
       from: diskwatch@%s, to: [ops@%s]}
  alertmanager:
    - url: %s
  webhook:
    - url: %s/hook
    - url: %s/hook
`, ex.Port, emailtest.User, emailtest.Password, emailtest.Domain, emailtest.Domain, amURL, down.URL, up.URL)), 0o600)
	out, errs, code := runBin(t, nil, "notify", "test", "--config", cfg)
	if code != exitUnknown {
		t.Errorf("one sink down: exit %d, want 3\n%s%s", code, out, errs)
	}
	for _, want := range []*regexp.Regexp{regexp.MustCompile(`(?m)^log\s+delivered$`), regexp.MustCompile(`(?m)^email\[0\]\s+delivered$`),
		regexp.MustCompile(`(?m)^alertmanager\[0\]\s+delivered$`), regexp.MustCompile(`(?m)^webhook\[0\]\s+FAILED: .*503`),
		regexp.MustCompile(`(?m)^webhook\[1\]\s+delivered$`)} {
		if !want.MatchString(out) {
			t.Errorf("notify test output lacks %s:\n%s", want, out)
		}
	}
	// The webhook's body: the marked test alert, no zero-value timestamps.
	select {
	case b := <-bodies:
		if !strings.Contains(string(b), "TEST ONLY") || strings.Contains(string(b), "0001-01-01") {
			t.Errorf("webhook body:\n%s", b)
		}
	case <-time.After(10 * time.Second):
		t.Error("the working webhook got nothing")
	}
	if mail := ex.WaitInbox("TEST ONLY", 30*time.Second); !strings.Contains(string(mail), "diskwatch notification test") {
		t.Errorf("exim did not get the test mail:\n%s", ex.Log())
	}
	// Alertmanager holds the test alert, marked.
	var alerts []struct{ Labels map[string]string }
	for i := 0; i < 50 && len(alerts) == 0; i++ {
		if r, err := http.Get(amURL + "/api/v2/alerts"); err == nil {
			b, _ := io.ReadAll(r.Body)
			r.Body.Close()
			json.Unmarshal(b, &alerts)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(alerts) != 1 || alerts[0].Labels["alertname"] != "diskwatch.test" {
		t.Errorf("Alertmanager alerts: %+v", alerts)
	}
	// --sink picks one; an unknown name is refused with the known ones.
	out, _, code = runBin(t, nil, "notify", "test", "--config", cfg, "--sink", "email")
	if code != 0 || strings.Contains(out, "webhook") || !strings.Contains(out, "email[0]") {
		t.Errorf("--sink email: exit %d\n%s", code, out)
	}
	if _, errs, code := runBin(t, nil, "notify", "test", "--config", cfg, "--sink", "emial"); code != exitUnknown || !strings.Contains(errs, "configured: log, email[0]") {
		t.Errorf("--sink emial: exit %d %q", code, errs)
	}
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// A configuration's mistakes come out all at once, each with
// FILE:LINE:COL and, for a near miss, the name meant; check and the daemon
// refuse it as config check does (exit 3).
func TestConfigTypos(t *testing.T) {
	p := filepath.Join(t.TempDir(), "typo.yaml")
	os.WriteFile(p, []byte(`collectors:
  smart:
    standbye: never
  mdraid: {enabled: yes please}
daemon:
  interval: 30x
  collector_intervals: {smrat: 30m, mdraid: 1m}
  metrics_listen: 127.0.0.1:99999
notify:
  min_severity: warnign
  webhook:
    - url: htp://example
  alertmanager:
    - url: http://127.0.0.1:70000/
  emial: []
rules:
  md.degarded: {}
`), 0o600)
	_, errs, code := runBin(t, nil, "config", "check", p)
	if code != exitUnknown {
		t.Errorf("config check: exit %d", code)
	}
	for _, want := range []string{
		p + `:3:5: "standbye" is not a known key in collectors.smart (did you mean "standby"?)`,
		p + `:4:21: collectors.mdraid.enabled: "yes please" is not true or false`,
		p + `:6:13: daemon.interval: "30x" is not a duration such as 90s, 30m or 24h`,
		p + `:7:25: daemon.collector_intervals: unknown collector "smrat" (did you mean "smart"?)`,
		p + `:8:19: daemon: metrics_listen: "127.0.0.1:99999": port "99999" is not 0-65535`,
		p + `:10:17: notify: min_severity must be WARNING, CRITICAL, UNKNOWN or NOTICE, not "warnign" (did you mean "WARNING"?)`,
		p + `:12:12: notify: webhook[0]: url must start with http:// or https:// and name a host`,
		p + `:14:12: notify: alertmanager[0]: url has port "70000", not 1-65535`,
		p + `:15:3: "emial" is not a known key in notify (did you mean "email"?)`,
		p + `:17:3: unknown rule "md.degarded" (did you mean "md.degraded"?)`,
	} {
		if !strings.Contains(errs, want+"\n") {
			t.Errorf("config check lacks\n  %s\nin:\n%s", want, errs)
		}
	}
	if n := strings.Count(errs, "\n"); n != 10 {
		t.Errorf("%d error lines, want 10:\n%s", n, errs)
	}
	for _, cmd := range [][]string{{"check", "--config", p}, {"daemon", "--config", p, "--rounds", "1"}} {
		if _, errs, code := runBin(t, nil, cmd...); code != exitUnknown || !strings.Contains(errs, `did you mean "smart"?`) {
			t.Errorf("%s with the typos: exit %d\n%s", cmd[0], code, errs)
		}
	}
}

// Defaults like smartd's: SMART every 30 minutes, md, sensors and probes
// every minute, UPS and kernel log every 10 s tick; `config default` says
// so, and a daemon without collector_intervals runs them so.
func TestDefaultIntervalsLikeSmartd(t *testing.T) {
	out, _, _ := runBin(t, nil, "config", "default")
	if !strings.Contains(out, "interval: 10s") || !strings.Contains(out, "collector_intervals: {smart: 30m, smartctl: 30m, hwraid: 30m, mdraid: 1m, hwmon: 1m, probes: 1m}") {
		t.Errorf("config default does not say the intervals:\n%s", out)
	}
	cfg := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(cfg, []byte("ups: [nut://127.0.0.1:1/none]\n"), 0o600)
	_, errs, _ := runBin(t, nil, "daemon", "--root", mdRoot(t), "--config", cfg, "--state", t.TempDir(), "--rounds", "1", "--metrics-listen", "off")
	if !strings.Contains(errs, `intervals="mdraid=1m smart=30m kmsg=10s hwraid=30m hwmon=1m ups=10s"`) {
		t.Errorf("daemon intervals:\n%s", errs)
	}
}

// The cron example, run as cron would (sh -c): silent on a healthy host,
// the findings printed (so mailed) on a degraded one; no fixed /tmp file;
// the metrics go to Debian node-exporter's textfile directory.
func TestCronExample(t *testing.T) {
	b, err := os.ReadFile("../../contrib/cron/diskwatch")
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	if strings.Contains(text, "/tmp") || !strings.Contains(text, "/var/lib/prometheus/node-exporter/diskwatch.prom") {
		t.Errorf("cron example:\n%s", text)
	}
	var line string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, "diskwatch check") && !strings.HasPrefix(l, "#") {
			_, line, _ = strings.Cut(l, " root ")
		}
	}
	line = strings.ReplaceAll(line, "/etc/diskwatch/diskwatch.yaml", noConfig(t))
	for _, c := range []struct {
		root string
		out  string
	}{{"healthy", ""}, {"degraded-mix", "CRITICAL md9"}} {
		cmd := exec.Command("/bin/sh", "-c", line)
		cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(diskwatchBin(t))+":"+os.Getenv("PATH"),
			"DISKWATCH_ROOT="+filepath.Join("testdata", "roots", c.root), "DISKWATCH_STATE=off")
		out, err := cmd.CombinedOutput()
		if err != nil || (c.out == "" && len(out) != 0) || (c.out != "" && !strings.Contains(string(out), c.out)) {
			t.Errorf("%s: cron line printed %q (%v), want %q", c.root, out, err, c.out)
		}
	}
}
