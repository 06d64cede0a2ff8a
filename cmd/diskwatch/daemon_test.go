package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/diskwatch/diskwatch/alerts/notify"
	"github.com/diskwatch/diskwatch/alerts/notify/webhook"
	"github.com/diskwatch/diskwatch/alerts/output/snapshot"
)

// These tests run the real diskwatch binary as a daemon over fixture roots,
// with real peers on 127.0.0.1.

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// TestMain removes the binaries diskwatchBin built and the packages
// makeRelease made.
func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	if pkgTmp != "" {
		os.RemoveAll(pkgTmp)
	}
	os.Exit(code)
}

// diskwatchBin builds the command once per test run.
func diskwatchBin(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "diskwatch-testbin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "diskwatch")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		// The Zabbix fast path, beside it (it falls back to diskwatch).
		out, err = exec.Command("go", "build", "-o", filepath.Join(dir, "diskwatch-zabbix"), "../diskwatch-zabbix").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build diskwatch-zabbix: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// needProgram skips (or fails under CI) when a peer program is missing.
func needProgram(t testing.TB, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s not installed (Debian package %s; .ci/setup installs it)", name, pkg)
		}
		t.Skipf("%s not installed: apt-get install %s", name, pkg)
	}
	return p
}

// syncBuf is a goroutine-safe log buffer.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type daemonProc struct {
	cmd  *exec.Cmd
	log  *syncBuf
	done chan error
}

func startDaemon(t *testing.T, env []string, args ...string) *daemonProc {
	t.Helper()
	// The tests read the log as JSON (--log-format json, as for a log
	// shipper); an operator reads logfmt in the journal.
	cmd := exec.Command(diskwatchBin(t), append([]string{"daemon", "--log-format", "json"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	p := &daemonProc{cmd: cmd, log: &syncBuf{}, done: make(chan error, 1)}
	cmd.Stderr = p.log
	cmd.Stdout = p.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
		}
	})
	return p
}

// waitLog waits until the log contains s (count times).
func (p *daemonProc) waitLog(t *testing.T, s string, count int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if strings.Count(p.log.String(), s) >= count {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("daemon log never said %q (%d times) within %s:\n%s", s, count, timeout, p.log.String())
}

// wait waits for the process to exit and returns its exit code.
func (p *daemonProc) wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case err := <-p.done:
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(timeout):
		t.Fatalf("daemon did not exit within %s:\n%s", timeout, p.log.String())
	}
	return -1
}

func (p *daemonProc) metricsAddr(t *testing.T) string {
	t.Helper()
	p.waitLog(t, "serving Prometheus /metrics", 1, 10*time.Second)
	m := regexp.MustCompile(`"listen":"([0-9.:]+)"`).FindStringSubmatch(p.log.String())
	if m == nil {
		t.Fatalf("no listen address in log:\n%s", p.log.String())
	}
	return m[1]
}

// copyRoot copies a fixture root into dir.
func copyRoot(t *testing.T, name, dir string) {
	t.Helper()
	src := filepath.Join("testdata", "roots", name)
	err := filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		dst := filepath.Join(dir, rel)
		if fi.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			l, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(l, dst)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

const baseConfig = `collectors:
  smart: {enabled: false}
  smartctl: {enabled: false}
daemon:
  interval: 1s
  collector_intervals: {mdraid: 1s, smart: 1s, smartctl: 1s, hwraid: 1s, hwmon: 1s, probes: 1s}
  metrics_listen: "127.0.0.1:0"
notify:
  resolve_after: 1
`

// hook is a webhook receiver that can be down.
type hook struct {
	up  atomic.Bool
	mu  sync.Mutex
	got []webhook.Payload
	raw [][]byte // the bodies as received
}

func (h *hook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !h.up.Load() {
		http.Error(w, "receiver down", http.StatusServiceUnavailable)
		return
	}
	body, _ := io.ReadAll(r.Body)
	var p webhook.Payload
	if err := json.Unmarshal(body, &p); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	h.mu.Lock()
	h.got = append(h.got, p)
	h.raw = append(h.raw, body)
	h.mu.Unlock()
}

func (h *hook) keys() map[string]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	m := map[string]int{}
	for _, p := range h.got {
		m[string(p.Kind)+" "+p.Alert.Key]++
	}
	return m
}

// The daemon over a degraded fixture root: alerts go to the log, an exec
// sink (a script recording its environment and stdin) and a webhook that is
// down; the webhook's messages are queued (0600), survive SIGTERM and a
// restart, and are delivered once the receiver is up, without the restarted
// daemon re-alerting. /metrics passes promtool; SIGHUP with a bad config
// keeps the running one; the token never reaches the log.
func TestDaemonQueueExecReloadRestart(t *testing.T) {
	diskwatchBin(t)
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	copyRoot(t, "degraded-mix", root)
	h := &hook{}
	srv := httptest.NewServer(h)
	defer srv.Close()
	script, out := execRecorder(t, dir)
	const token = "T0KEN-abc123-secret"
	cfg := baseConfig + fmt.Sprintf(`  webhook:
    - url: %s/hook?key=%s
      headers: {Authorization: "Bearer %s"}
  exec:
    - argv: [%s, %s]
`, srv.URL, token, token, script, out)
	cfgPath := filepath.Join(dir, "diskwatch.yaml")
	os.WriteFile(cfgPath, []byte(cfg), 0o600)
	state := filepath.Join(dir, "state")
	args := []string{"--root", root, "--config", cfgPath, "--state", state, "--no-history"}

	d := startDaemon(t, nil, args...)
	d.waitLog(t, "diskwatch daemon ready", 1, 20*time.Second)
	d.waitLog(t, "queued for retry", 1, 20*time.Second)

	// Exec sink: argv, DISKWATCH_* environment, JSON on stdin.
	envs := waitExecRuns(t, out, "DISKWATCH_RULE=md.degraded")
	var sawDegraded bool
	for _, e := range envs {
		b, _ := os.ReadFile(e)
		s := string(b)
		if strings.Contains(s, token) {
			t.Errorf("exec environment carries the webhook token:\n%s", s)
		}
		for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
			if !strings.HasPrefix(l, "DISKWATCH_") && !strings.HasPrefix(l, "PATH=") && !strings.HasPrefix(l, "PWD=") && !strings.HasPrefix(l, "SHLVL=") && !strings.HasPrefix(l, "_=") {
				t.Errorf("exec sink leaked environment variable %q", l)
			}
		}
		if strings.Contains(s, "DISKWATCH_RULE=md.degraded") && strings.Contains(s, "DISKWATCH_KIND=firing") && strings.Contains(s, "DISKWATCH_SEVERITY=CRITICAL") {
			sawDegraded = true
			in, _ := os.ReadFile(strings.Replace(e, "env.", "stdin.", 1))
			var m notify.Message
			if err := json.Unmarshal(in, &m); err != nil || m.Alert.Rule != "md.degraded" {
				t.Errorf("exec stdin is not the message JSON: %v\n%s", err, in)
			}
		}
	}
	if !sawDegraded {
		t.Errorf("no exec run for the md.degraded alert")
	}

	// Prometheus /metrics, checked by promtool.
	addr := d.metricsAddr(t)
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Contains(metrics, []byte(`diskwatch_md_degraded{device="md9"} 1`)) {
		t.Errorf("/metrics lacks md9 degraded:\n%.3000s", metrics)
	}
	// The health report on the same port.
	resp, err = http.Get("http://" + addr + "/report")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Contains(page, []byte(`id="array-md9" data-kind="array" data-status="CRITICAL"`)) {
		t.Errorf("/report: %s\n%.2000s", resp.Status, page)
	}
	promtoolCheck(t, metrics)
	// Health endpoints as Prometheus' own components have them; any other
	// path is 404.
	for path, want := range map[string]int{"/-/healthy": 200, "/-/ready": 200, "/": 200, "/nope": 404, "/metrics/x": 404, "/-/reload": 404} {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s: %s, want %d", path, resp.Status, want)
		}
	}

	// SIGHUP with a broken config: kept, and said why.
	os.WriteFile(cfgPath, []byte("daemon:\n  interval: soon\n"), 0o600)
	d.cmd.Process.Signal(syscall.SIGHUP)
	d.waitLog(t, "configuration reload failed; keeping the running configuration", 1, 10*time.Second)
	if !strings.Contains(d.log.String(), "diskwatch.yaml:2") {
		t.Errorf("reload error does not name file:line:\n%s", d.log.String())
	}
	os.WriteFile(cfgPath, []byte(cfg), 0o600)
	d.cmd.Process.Signal(syscall.SIGHUP)
	d.waitLog(t, "configuration reloaded", 1, 10*time.Second)

	// SIGTERM: graceful stop; the webhook is still down, so its messages
	// stay queued on disk.
	d.cmd.Process.Signal(syscall.SIGTERM)
	if code := d.wait(t, 40*time.Second); code != 0 {
		t.Fatalf("exit %d after SIGTERM:\n%s", code, d.log.String())
	}
	d.waitLog(t, "diskwatch daemon stopped", 1, time.Second)
	files, _ := filepath.Glob(filepath.Join(state, "queue", "webhook-*", "*.json"))
	if len(files) == 0 {
		t.Fatalf("nothing queued on disk:\n%s", d.log.String())
	}
	for _, f := range files {
		st, _ := os.Stat(f)
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %o, want 600", f, st.Mode().Perm())
		}
	}
	if strings.Contains(d.log.String(), token) {
		t.Errorf("the token reached the log:\n%s", d.log.String())
	}
	firstLog := d.log.String()

	// Restart with the receiver up: the queue is delivered, nothing
	// re-alerts.
	h.up.Store(true)
	d2 := startDaemon(t, nil, append(args, "--rounds", "2")...)
	if code := d2.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("second run exit %d:\n%s", code, d2.log.String())
	}
	if strings.Contains(d2.log.String(), `"event":"firing"`) {
		t.Errorf("restarted daemon re-alerted:\n%s", d2.log.String())
	}
	got := h.keys()
	if len(got) != len(files) {
		t.Errorf("receiver got %d distinct messages, %d were queued: %v", len(got), len(files), got)
	}
	for k, n := range got {
		if n != 1 {
			t.Errorf("%s delivered %d times", k, n)
		}
	}
	if got["firing md.degraded|md9"] != 1 {
		t.Errorf("md9 firing not delivered: %v", got)
	}
	if left, _ := filepath.Glob(filepath.Join(state, "queue", "webhook-*", "*.json")); len(left) != 0 {
		t.Errorf("%d entries left in the queue:\n%s", len(left), d2.log.String())
	}
	if strings.Contains(firstLog+d2.log.String(), token) {
		t.Errorf("the token reached the log")
	}
}

// execRecorder writes a program for the exec sink that records, for each
// run, its environment (out/env.PID) and standard input (out/stdin.PID);
// notify.exec's argv is [script, out].
func execRecorder(t *testing.T, dir string) (script, out string) {
	t.Helper()
	out = filepath.Join(dir, "exec-out")
	os.MkdirAll(out, 0o755)
	script = filepath.Join(dir, "record.sh")
	// Each file appears whole (written aside, then renamed): the test reads
	// them while the sink may still be running.
	os.WriteFile(script, []byte("#!/bin/sh\ncat > \"$1/.stdin.$$\" && mv \"$1/.stdin.$$\" \"$1/stdin.$$\"\nenv | sort > \"$1/.env.$$\" && mv \"$1/.env.$$\" \"$1/env.$$\"\n"), 0o755)
	return script, out
}

// waitExecRuns waits until an execRecorder environment file holds want
// ("": any run) and returns the environment files.
func waitExecRuns(t *testing.T, out, want string) []string {
	t.Helper()
	for i := 0; i < 300; i++ {
		envs, _ := filepath.Glob(filepath.Join(out, "env.*"))
		for _, e := range envs {
			if b, _ := os.ReadFile(e); strings.Contains(string(b), want) {
				return envs
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("exec sink never ran with %q", want)
	return nil
}

func freeTCPPort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startAlertmanager runs the Alertmanager program am on a free port of
// 127.0.0.1 with its data in dir, notifying the webhook receiver
// (send_resolved) at once for each (alertname, subject); it returns its
// base URL when it is ready.
func startAlertmanager(t *testing.T, am, dir, receiver string) string {
	t.Helper()
	amCfg := fmt.Sprintf(`route:
  receiver: hook
  group_by: [alertname, subject]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: %s
        send_resolved: true
`, receiver)
	os.WriteFile(filepath.Join(dir, "am.yml"), []byte(amCfg), 0o600)
	port := freeTCPPort(t)
	amURL := fmt.Sprintf("http://127.0.0.1:%d", port)
	amCmd := exec.Command(am, "--config.file="+filepath.Join(dir, "am.yml"), "--storage.path="+filepath.Join(dir, "am-data"),
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port), "--cluster.listen-address=")
	amLog := &syncBuf{}
	amCmd.Stderr = amLog
	if err := amCmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { amCmd.Process.Kill(); amCmd.Wait() })
	for i := 0; ; i++ {
		if r, err := http.Get(amURL + "/-/ready"); err == nil && r.StatusCode == 200 {
			r.Body.Close()
			return amURL
		}
		if i > 200 {
			t.Fatalf("alertmanager not ready:\n%s", amLog.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A real Alertmanager receives the alert, shows it, and receives its
// resolution (endsAt) when the array recovers; Alertmanager's own webhook
// notifications (send_resolved) show both states.
func TestDaemonAlertmanager(t *testing.T) {
	am := needProgram(t, "prometheus-alertmanager", "prometheus-alertmanager")
	diskwatchBin(t)
	dir := t.TempDir()
	// The root is a symlink, re-pointed from degraded to healthy.
	copyRoot(t, "degraded-mix", filepath.Join(dir, "degraded"))
	copyRoot(t, "healthy", filepath.Join(dir, "healthy"))
	root := filepath.Join(dir, "root")
	os.Symlink(filepath.Join(dir, "degraded"), root)

	// Alertmanager notifies this receiver.
	var mu sync.Mutex
	var amNotes []string
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p struct {
			Alerts []struct {
				Status string            `json:"status"`
				Labels map[string]string `json:"labels"`
			} `json:"alerts"`
		}
		json.NewDecoder(r.Body).Decode(&p)
		mu.Lock()
		for _, a := range p.Alerts {
			amNotes = append(amNotes, a.Status+" "+a.Labels["alertname"]+" "+a.Labels["subject"])
		}
		mu.Unlock()
	}))
	defer rcv.Close()
	amURL := startAlertmanager(t, am, dir, rcv.URL)

	cfg := baseConfig + fmt.Sprintf("  alertmanager:\n    - url: %s\n      labels: {env: test}\n", amURL)
	cfgPath := filepath.Join(dir, "diskwatch.yaml")
	os.WriteFile(cfgPath, []byte(cfg), 0o600)
	d := startDaemon(t, nil, "--root", root, "--config", cfgPath, "--state", filepath.Join(dir, "state"), "--no-history", "--metrics-listen", "off")

	amAlerts := func() map[string]string {
		r, err := http.Get(amURL + "/api/v2/alerts")
		if err != nil {
			return nil
		}
		defer r.Body.Close()
		var as []struct {
			Labels map[string]string `json:"labels"`
			Status struct {
				State string `json:"state"`
			} `json:"status"`
			EndsAt string `json:"endsAt"`
		}
		json.NewDecoder(r.Body).Decode(&as)
		m := map[string]string{}
		for _, a := range as {
			m[a.Labels["alertname"]+" "+a.Labels["subject"]] = a.Status.State + " env=" + a.Labels["env"] + " severity=" + a.Labels["severity"]
		}
		return m
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for i := 0; i < 300; i++ {
			if cond() {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("%s never happened; alertmanager has %v; notified %v\ndaemon log:\n%s", what, amAlerts(), amNotes, d.log.String())
	}
	waitFor("md9 active in Alertmanager", func() bool {
		return amAlerts()["md.degraded md9"] == "active env=test severity=critical"
	})
	hasNote := func(n string) func() bool {
		return func() bool {
			mu.Lock()
			defer mu.Unlock()
			for _, x := range amNotes {
				if x == n {
					return true
				}
			}
			return false
		}
	}
	waitFor("Alertmanager notifying md9 firing", hasNote("firing md.degraded md9"))

	// The array recovers: diskwatch resolves, Alertmanager ends the alert.
	os.Remove(root)
	os.Symlink(filepath.Join(dir, "healthy"), root)
	d.waitLog(t, `"event":"resolved","rule":"md.degraded","subject":"md9"`, 1, 20*time.Second)
	// A recovery reads as one, with how long it lasted.
	if !regexp.MustCompile(`RESOLVED md9 is healthy again after \d+s degraded`).MatchString(d.log.String()) {
		t.Errorf("the recovery does not read as one:\n%s", d.log.String())
	}
	waitFor("md9 gone from Alertmanager's active alerts", func() bool {
		_, ok := amAlerts()["md.degraded md9"]
		return !ok
	})
	waitFor("Alertmanager notifying md9 resolved", hasNote("resolved md.degraded md9"))
	d.cmd.Process.Signal(syscall.SIGTERM)
	d.wait(t, 30*time.Second)
}

// A real zabbix_agentd with contrib/zabbix/userparameter_diskwatch.conf
// answers the template's item from the daemon's snapshot (DISKWATCH_STATE)
// with the JSON alone on stdout; without a snapshot it says diskwatch is
// not running and never reads the devices instead (TestZabbixServer in
// cmd/diskwatch-zabbix runs it under a real Zabbix server).
func TestZabbixAgent(t *testing.T) {
	agent := needProgram(t, "zabbix_agentd", "zabbix-agent")
	bin := diskwatchBin(t)
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	copyRoot(t, "degraded-mix", root)
	cfgPath := filepath.Join(dir, "diskwatch.yaml")
	os.WriteFile(cfgPath, []byte(baseConfig), 0o600)
	state := filepath.Join(dir, "state")
	// A state directory made private (as `diskwatch check` did before):
	// the daemon says the agent cannot read the snapshot there.
	os.Mkdir(state, 0o700)
	d := startDaemon(t, nil, "--root", root, "--config", cfgPath, "--state", state, "--no-history", "--metrics-listen", "off", "--rounds", "1")
	if code := d.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("daemon exit %d:\n%s", code, d.log.String())
	}
	if l := d.log.String(); !strings.Contains(l, `"mode":"0700"`) || !strings.Contains(l, `"message":"state directory not readable by other users: Zabbix items cannot read snapshot.json`) {
		t.Errorf("no warning about the private state directory:\n%s", d.log.String())
	}
	// diskwatch-zabbix beside diskwatch, as `make install` puts it.
	c := exec.Command("go", "build", "-o", filepath.Join(filepath.Dir(bin), "diskwatch-zabbix"), "../diskwatch-zabbix")
	c.Env = append(os.Environ(), "CGO_ENABLED=0")
	if o, err := c.CombinedOutput(); err != nil {
		t.Fatalf("build diskwatch-zabbix: %v\n%s", err, o)
	}

	up, err := os.ReadFile("../../contrib/zabbix/userparameter_diskwatch.conf")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "up.conf"), bytes.ReplaceAll(up, []byte("/usr/local/bin/"), []byte(filepath.Dir(bin)+"/")), 0o644)
	os.WriteFile(filepath.Join(dir, "agent.conf"), []byte(fmt.Sprintf("LogType=console\nAllowRoot=1\nPidFile=%s/agent.pid\nInclude=%s/up.conf\n", dir, dir)), 0o644)
	get := func(env []string, key string) string {
		c := exec.Command(agent, "-c", filepath.Join(dir, "agent.conf"), "-t", key)
		c.Env = append(os.Environ(), env...)
		o, err := c.CombinedOutput()
		if err != nil {
			t.Fatalf("zabbix_agentd -t %s: %v\n%s", key, err, o)
		}
		m := regexp.MustCompile(`(?s)\[(\w)\|(.*)\]\s*$`).FindStringSubmatch(strings.TrimSpace(string(o)))
		if m == nil {
			return strings.TrimSpace(string(o))
		}
		return m[1] + "|" + m[2]
	}
	type answer struct {
		Running int
		Error   string
		Arrays  []struct {
			Name     string
			Degraded int
			Severity int
		}
	}
	parse := func(got string) answer {
		var a answer
		v, ok := strings.CutPrefix(got, "t|")
		if err := json.Unmarshal([]byte(v), &a); !ok || err != nil {
			t.Fatalf("not a JSON text value: %q (%v)", got, err)
		}
		return a
	}
	fromSnapshot := []string{"DISKWATCH_STATE=" + state}
	a := parse(get(fromSnapshot, "diskwatch.get[1000h]"))
	md9 := -1
	for _, x := range a.Arrays {
		if x.Name == "md9" {
			md9 = x.Degraded*10 + x.Severity
		}
	}
	if a.Running != 1 || a.Error != "" || md9 != 12 {
		t.Errorf("from the snapshot: %+v", a)
	}
	// The same snapshot older than the maximum age: not running, and why.
	for snapshotAge(t, state) <= time.Second {
		time.Sleep(100 * time.Millisecond)
	}
	if a := parse(get(fromSnapshot, "diskwatch.get[1s]")); a.Running != 0 || !strings.Contains(a.Error, "more than 1s") || len(a.Arrays) != 0 {
		t.Errorf("stale: %+v", a)
	}
	// The agent itself refuses shell metacharacters before diskwatch runs;
	// diskwatch refuses a bad argument.
	if got := get(fromSnapshot, "diskwatch.get[a;b]"); !strings.HasPrefix(got, "m|ZBX_NOTSUPPORTED") {
		t.Errorf("diskwatch.get[a;b] = %q", got)
	}
	if got := get(fromSnapshot, "diskwatch.get[--help]"); !strings.Contains(got, `maximum snapshot age must be auto or a positive number`) {
		t.Errorf("diskwatch.get[--help] = %q", got)
	}
	// `diskwatch zabbix get diskwatch.get` answers the same, from the
	// snapshot only.
	out, errOut, code := runCmd(t, nil, "zabbix", "--state", state, "get", "diskwatch.get[1000000h]")
	var same answer
	if err := json.Unmarshal([]byte(out), &same); err != nil || code != 0 || errOut != "" || same.Running != 1 || len(same.Arrays) != len(a.Arrays) {
		t.Errorf("diskwatch zabbix get diskwatch.get: exit %d, %q, %v\n%.300s", code, errOut, err, out)
	}
	out, _, code = runCmd(t, map[string]string{"DISKWATCH_ROOT": root}, "zabbix", "--state", filepath.Join(dir, "nostate"), "get", "diskwatch.get")
	if code != 0 || !strings.HasPrefix(out, `{"running":0,"error":"diskwatch is not running: no snapshot at `) {
		t.Errorf("diskwatch zabbix get diskwatch.get without a snapshot: exit %d, %.300s", code, out)
	}
	// No daemon snapshot: said so; the fixture root is not read instead.
	direct := []string{"DISKWATCH_STATE=" + filepath.Join(dir, "nostate"), "DISKWATCH_ROOT=" + root, "DISKWATCH_CONFIG=" + cfgPath}
	if a := parse(get(direct, "diskwatch.get[auto]")); a.Running != 0 || !strings.HasPrefix(a.Error, "diskwatch is not running: no snapshot at "+dir+"/nostate/snapshot.json") || len(a.Arrays) != 0 {
		t.Errorf("no snapshot: %+v", a)
	}
}

// snapshotAge is how long ago the daemon wrote the snapshot in state.
func snapshotAge(t *testing.T, state string) time.Duration {
	doc, err := snapshot.Read(filepath.Join(state, snapshot.FileName))
	if err != nil {
		t.Fatal(err)
	}
	return time.Since(doc.Written)
}

// The shipped systemd unit passes systemd-analyze verify (with the binary
// it names in place).
func TestSystemdUnitVerify(t *testing.T) {
	sa := needProgram(t, "systemd-analyze", "systemd")
	bin := diskwatchBin(t)
	dir := t.TempDir()
	unit, err := os.ReadFile("../../contrib/systemd/diskwatch.service")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Type=notify", "WatchdogSec=", "CapabilityBoundingSet=CAP_SYS_RAWIO CAP_SYS_ADMIN CAP_SYSLOG CAP_MKNOD", "ProtectSystem=strict", "StateDirectory=diskwatch", "PrivateTmp=yes", "NoNewPrivileges=yes"} {
		if !bytes.Contains(unit, []byte(want)) {
			t.Errorf("unit lacks %s", want)
		}
	}
	// verify checks that ExecStart's program exists: point it at the test
	// build. The man pages of Documentation= are installed by the package
	// (TestRigSystemd), not on this host: --man=no.
	unit = bytes.ReplaceAll(unit, []byte("/usr/sbin/diskwatch"), []byte(bin))
	p := filepath.Join(dir, "diskwatch.service")
	os.WriteFile(p, unit, 0o644)
	c := exec.Command(sa, "verify", "--man=no", p)
	c.Env = append(os.Environ(), "SYSTEMD_LOG_LEVEL=notice")
	out, err := c.CombinedOutput()
	// Lines about other units on this host are not ours.
	var ours []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if strings.Contains(sc.Text(), "diskwatch.service") {
			ours = append(ours, sc.Text())
		}
	}
	if err != nil || len(ours) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// sd_notify (READY, WATCHDOG, STOPPING) on a socket the test owns as
// systemd would; a collector failing every round raises the self-alert
// after daemon.self_alert_after rounds; the heartbeat URL is fetched.
func TestDaemonSdNotifySelfAlertHeartbeat(t *testing.T) {
	diskwatchBin(t)
	dir := t.TempDir()
	// /proc/mdstat is a directory: the md collector fails every round.
	root := filepath.Join(dir, "root")
	os.MkdirAll(filepath.Join(root, "proc", "mdstat"), 0o755)
	sock := filepath.Join(dir, "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var mu sync.Mutex
	var notes []string
	go func() {
		buf := make([]byte, 4096)
		for {
			n, _, err := conn.ReadFromUnix(buf)
			if err != nil {
				return
			}
			mu.Lock()
			notes = append(notes, string(buf[:n]))
			mu.Unlock()
		}
	}()
	var beats atomic.Int32
	hb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { beats.Add(1) }))
	defer hb.Close()
	cfg := strings.Replace(baseConfig, "daemon:\n", fmt.Sprintf("daemon:\n  self_alert_after: 3\n  heartbeat: {url: %s/ping, interval: 1s}\n", hb.URL), 1)
	cfgPath := filepath.Join(dir, "diskwatch.yaml")
	os.WriteFile(cfgPath, []byte(cfg), 0o600)
	d := startDaemon(t, []string{"NOTIFY_SOCKET=" + sock, "WATCHDOG_USEC=2000000"},
		"--root", root, "--config", cfgPath, "--state", filepath.Join(dir, "state"), "--no-history", "--metrics-listen", "off", "--rounds", "4")
	if code := d.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("exit %d:\n%s", code, d.log.String())
	}
	log := d.log.String()
	if n := strings.Count(log, `"event":"firing","rule":"daemon.collector_failing","subject":"collector mdraid"`); n != 1 {
		t.Errorf("self-alert fired %d times, want 1:\n%s", n, log)
	}
	if !strings.Contains(log, "collector mdraid failed 3 runs in a row") {
		t.Errorf("self-alert message missing:\n%s", log)
	}
	mu.Lock()
	all := strings.Join(notes, "\n")
	mu.Unlock()
	for _, want := range []string{"READY=1", "WATCHDOG=1", "STOPPING=1"} {
		if !strings.Contains(all, want) {
			t.Errorf("sd_notify never sent %s; got %q", want, all)
		}
	}
	if beats.Load() == 0 {
		t.Errorf("heartbeat URL never fetched")
	}
}

// A collector that stops reading does not resolve its alerts (no false
// recovery notice); once it reads a healthy array again, they resolve.
func TestDaemonBlindCollectorHoldsAlerts(t *testing.T) {
	diskwatchBin(t)
	dir := t.TempDir()
	copyRoot(t, "degraded-mix", filepath.Join(dir, "degraded"))
	copyRoot(t, "healthy", filepath.Join(dir, "healthy"))
	os.MkdirAll(filepath.Join(dir, "broken", "proc", "mdstat"), 0o755) // unreadable: a directory
	root := filepath.Join(dir, "root")
	os.Symlink(filepath.Join(dir, "degraded"), root)
	cfgPath := filepath.Join(dir, "diskwatch.yaml")
	os.WriteFile(cfgPath, []byte(baseConfig), 0o600)
	d := startDaemon(t, nil, "--root", root, "--config", cfgPath, "--state", filepath.Join(dir, "state"), "--no-history", "--metrics-listen", "off")
	d.waitLog(t, `"event":"firing","rule":"md.degraded","subject":"md9"`, 1, 20*time.Second)
	repoint := func(to string) {
		os.Remove(root)
		os.Symlink(filepath.Join(dir, to), root)
	}
	repoint("broken")
	d.waitLog(t, `"state":"failed"`, 3, 20*time.Second)
	if strings.Contains(d.log.String(), `"event":"resolved"`) {
		t.Fatalf("alerts resolved while the collector could not read:\n%s", d.log.String())
	}
	repoint("healthy")
	d.waitLog(t, `"event":"resolved","rule":"md.degraded","subject":"md9"`, 1, 20*time.Second)
	d.cmd.Process.Signal(syscall.SIGTERM)
	d.wait(t, 30*time.Second)
}
