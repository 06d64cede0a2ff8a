package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/diskwatch/diskwatch/alerts/report"

	"github.com/prometheus/common/expfmt"
	pmodel "github.com/prometheus/common/model"

	"github.com/diskwatch/diskwatch/alerts/notify"
	"github.com/diskwatch/diskwatch/alerts/notify/email/emailtest"
	"github.com/diskwatch/diskwatch/collectors/ups/upstest"
)

// evilTricks is what a device string can carry besides shell syntax: a
// fake mail header and log line after CR/LF, ANSI colour and
// window-title escapes, BEL, NUL, DEL, invalid UTF-8, a C1 CSI and HTML.
const evilTricks = "\nSubject: x\r\nX-Injected: 1\n{\"level\":\"error\",\"message\":\"fake\"}\x1b[31m\x1b]0;title\x07\x00\x7f\xff\xfe\xc2\x9b2J<script>alert(1)</script>"

// evil is a device string that runs `touch DIR/pwnedN...` if anything
// hands it to a shell: $(...), backticks and "; cmd".
func evil(dir string, n int) string {
	return fmt.Sprintf("EVIL $(touch %[1]s/pwned%[2]d) `touch %[1]s/pwned%[3]d` ; touch %[1]s/pwned%[4]d", dir, n, n+1, n+2) + evilTricks
}

// evilWord is evil without white space or brackets: what fits in one
// /proc/mdstat member name.
func evilWord(dir string, n int) string {
	return fmt.Sprintf("sd$(touch${IFS}%[1]s/pwned%[2]d)`touch${IFS}%[1]s/pwned%[3]d`;touch${IFS}%[1]s/pwned%[4]d", dir, n, n+1, n+2) +
		"\x1bP0;t\x07\x00\x7f\xff\xc2\x9b2J<script>alert(1)</script>"
}

// rawJSONString quotes s as a careless producer would: quotes,
// backslashes and C0 controls escaped, every other byte (DEL, invalid
// UTF-8) raw.
func rawJSONString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20:
			fmt.Fprintf(&b, `\u%04x`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// checkInert fails when out (what sink wrote) holds a raw control
// character (anything below 0x20 but newline and tab, DEL, C1) or invalid
// UTF-8, or does not carry the hostile strings at all (marker "pwned":
// the test would prove nothing).
func checkInert(t *testing.T, sink string, out []byte) {
	t.Helper()
	if !bytes.Contains(out, []byte("pwned")) {
		t.Errorf("%s: the hostile device strings never reached it:\n%.3000s", sink, out)
	}
	if !utf8.Valid(out) {
		t.Errorf("%s: invalid UTF-8 in output:\n%.3000q", sink, out)
	}
	for i, r := range string(out) {
		if (r < 0x20 && r != '\n' && r != '\t') || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			lo, hi := max(i-80, 0), min(i+80, len(out))
			t.Errorf("%s: raw control character %U at byte %d: %q", sink, r, i, out[lo:hi])
			return
		}
	}
}

// checkInertJSON is checkInert for output that must also parse as JSON.
func checkInertJSON(t *testing.T, sink string, out []byte) {
	t.Helper()
	if !json.Valid(out) {
		t.Errorf("%s: not valid JSON:\n%.3000s", sink, out)
	}
	checkInert(t, sink, out)
}

// checkHTML is checkInert for an HTML page, which must also hold no
// <script> of a device's.
func checkHTML(t *testing.T, sink string, out []byte) {
	t.Helper()
	checkInert(t, sink, out)
	// The page's own inline script (sorting and filtering of the disk
	// table) is the one script allowed: cut it out before looking.
	if i := bytes.Index(out, []byte(report.InlineScript)); i >= 0 {
		out = append(out[:i:i], out[i+len(report.InlineScript):]...)
	}
	if bytes.Contains(bytes.ToLower(out), []byte("<script")) || !bytes.Contains(out, []byte("&lt;script&gt;")) {
		t.Errorf("%s: a device's <script> is not escaped:\n%.3000s", sink, out)
	}
}

// checkMetrics parses a Prometheus exposition and runs promtool over it.
func checkMetrics(t *testing.T, sink string, out []byte) {
	t.Helper()
	checkInert(t, sink, out)
	p := expfmt.NewTextParser(pmodel.UTF8Validation)
	if _, err := p.TextToMetricFamilies(bytes.NewReader(out)); err != nil {
		t.Errorf("%s: does not parse as the text exposition format: %v", sink, err)
	}
	promtoolCheck(t, out)
}

// mboxMessages splits an mbox into its messages.
func mboxMessages(t *testing.T, mbox []byte) []*mail.Message {
	t.Helper()
	var out []*mail.Message
	for i, raw := range bytes.Split(mbox, []byte("\nFrom ")) {
		if i > 0 || bytes.HasPrefix(raw, []byte("From ")) {
			_, raw, _ = bytes.Cut(raw, []byte("\n")) // the mbox "From " line
		}
		if len(bytes.TrimSpace(raw)) == 0 {
			continue
		}
		m, err := mail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			t.Errorf("email %d: unreadable: %v\n%s", i, err, raw)
			continue
		}
		out = append(out, m)
	}
	return out
}

// mailed reports whether an alert of rule was mailed.
func mailed(t *testing.T, mbox []byte, rule string) bool {
	for _, m := range mboxMessages(t, mbox) {
		if strings.HasPrefix(m.Header.Get("X-Diskwatch-Alert"), rule+"|") {
			return true
		}
	}
	return false
}

// checkMail checks every message of an mbox: the one Subject header is
// one line, no header was injected, and the whole mail is inert.
func checkMail(t *testing.T, mbox []byte) {
	t.Helper()
	checkInert(t, "email", mbox)
	for i, m := range mboxMessages(t, mbox) {
		for k := range m.Header {
			if strings.EqualFold(k, "X-Injected") || strings.HasPrefix(strings.ToLower(k), "{") {
				t.Errorf("email %d: injected header %q", i, k)
			}
		}
		if n := len(m.Header["Subject"]); n != 1 {
			t.Errorf("email %d: %d Subject headers", i, n)
		}
		subj, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
		if err != nil || strings.ContainsAny(subj, "\r\n") || !strings.HasPrefix(subj, "[diskwatch ") {
			t.Errorf("email %d: subject %q (%v)", i, subj, err)
		}
		var body []byte
		if strings.EqualFold(m.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
			body, _ = io.ReadAll(quotedprintable.NewReader(m.Body))
		} else {
			body, _ = io.ReadAll(m.Body)
		}
		for _, l := range strings.Split(string(body), "\n") {
			if strings.HasPrefix(l, "X-Injected") || strings.HasPrefix(l, "Subject: x") {
				t.Errorf("email %d: a device string starts a line of the body: %q", i, l)
			}
		}
	}
}

// hostileHost is one host whose devices report hostile strings, and the
// rules whose alerts must carry them.
type hostileHost struct {
	name  string
	root  string // "" for the live host
	cfg   string // the collectors: and ups: sections
	rules []string
}

// diskAndUPS is the live host with one disk read through a stand-in
// smartctl (a real capture of a failing disk behind a USB bridge, its
// model, serial and firmware replaced) and a real upsd whose dummy-ups
// UPS is on battery with a hostile model and status. dummy-ups drops
// control characters and bytes above 0x7f itself and upsd cuts values
// at 128 bytes, so the UPS carries the shell syntax and HTML.
func diskAndUPS(t *testing.T, dir string) hostileHost {
	b, err := os.ReadFile(capturePaths("scrutiny/smart-fail2.json")[0])
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	doc["model_name"], doc["serial_number"], doc["firmware_version"] = "@MODEL@", "@SERIAL@", "@FIRMWARE@"
	b, _ = json.Marshal(doc)
	b = []byte(strings.NewReplacer(`"@MODEL@"`, rawJSONString(evil(dir, 1)), `"@SERIAL@"`, rawJSONString("SN-"+evil(dir, 4)),
		`"@FIRMWARE@"`, rawJSONString("FW\x1b[2J"+strings.Repeat("A", 8192)+"pwned")).Replace(string(b)))
	capture := filepath.Join(dir, "evil-smartctl.json")
	os.WriteFile(capture, b, 0o644)
	smartctl := filepath.Join(dir, "smartctl")
	os.WriteFile(smartctl, []byte("#!/bin/sh\ncat '"+capture+"'\nexit 216\n"), 0o755)

	upsModel := fmt.Sprintf("<script>alert(1)</script> `touch %[1]s/pwned7` ; touch %[1]s/pwned8 $(touch %[1]s/pwned9)", dir)
	upsStatus := fmt.Sprintf("OB DISCHRG $(touch${IFS}%s/pwned10)", dir)
	n := upstest.StartNUT(t, map[string]string{"evil": fmt.Sprintf(
		"ups.status: %s\nups.model: %q\nbattery.charge: 90\nbattery.runtime: 1000\n", upsStatus, upsModel)}, upstest.UpsmonUser)
	waitVars(t, n.Addr, "evil", map[string]string{"ups.status": upsStatus})
	n.LoginUpsmon(t, "evil")
	return hostileHost{
		name: "disk and UPS",
		cfg: fmt.Sprintf(`collectors:
  mdraid: {enabled: false}
  smart: {enabled: false}
  kmsg: {enabled: false}
  hwraid: {enabled: false}
  hwmon: {enabled: false}
  smartctl:
    program: %s
    devices: [{path: /dev/sdz, type: sat}]
ups: ["nut://%s/evil"]
`, smartctl, n.Addr),
		rules: []string{"smart.health", "ups.on_battery"},
	}
}

// mdAndHwmon is a fixture root: an md array whose failed member has a
// hostile name, and a hwmon chip whose name and label are hostile, its
// temperature above its critical limit.
func mdAndHwmon(t *testing.T, dir string) hostileHost {
	root := filepath.Join(dir, "root")
	hw := filepath.Join(root, "sys", "class", "hwmon", "hwmon0")
	for _, d := range []string{filepath.Join(root, "proc"), hw} {
		os.MkdirAll(d, 0o755)
	}
	os.WriteFile(filepath.Join(root, "proc", "mdstat"), []byte("Personalities : [raid1]\nmd7 : active raid1 "+evilWord(dir, 20)+
		"[0](F) sdb[1]\n      100 blocks [2/1] [_U]\n\nunused devices: <none>\n"), 0o644)
	for f, v := range map[string]string{"name": "chip" + evilWord(dir, 23), "temp1_label": "CPU " + evil(dir, 26),
		"temp1_input": "95000", "temp1_max": "80000", "temp1_crit": "90000"} {
		os.WriteFile(filepath.Join(hw, f), []byte(v+"\n"), 0o644)
	}
	return hostileHost{
		name: "md and hwmon",
		root: root,
		cfg: `collectors:
  smart: {enabled: false}
  smartctl: {enabled: false}
  kmsg: {enabled: false}
  hwraid: {enabled: false}
`,
		rules: []string{"md.degraded", "sensor.limit"},
	}
}

// TestHostileDeviceStringsInert: device strings (disk model, serial and
// firmware, UPS model and status, an md member name, a hwmon chip name
// and label) carrying shell syntax, fake headers and log lines, terminal
// escapes, NUL, DEL, invalid UTF-8, HTML and a very long string reach
// every output inert: check (text, JSON, Nagios), metrics, zabbix
// (diskwatch zabbix and diskwatch-zabbix), the HTML report, and the
// daemon's log, exec (a real program), webhook, email (a real exim),
// Alertmanager (a real one), /metrics (expfmt and promtool) and /report.
// Nothing runs what they say.
func TestHostileDeviceStringsInert(t *testing.T) {
	am := needProgram(t, "prometheus-alertmanager", "prometheus-alertmanager")
	bin := diskwatchBin(t)
	dir := t.TempDir()
	ex := emailtest.StartExim(t)
	h := &hook{}
	h.up.Store(true)
	srv := httptest.NewServer(h)
	defer srv.Close()
	// Alertmanager's own notifications are not diskwatch's output.
	amRcv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer amRcv.Close()
	amURL := startAlertmanager(t, am, t.TempDir(), amRcv.URL)

	for i, host := range []hostileHost{diskAndUPS(t, dir), mdAndHwmon(t, dir)} {
		t.Run(host.name, func(t *testing.T) {
			sub := filepath.Join(dir, fmt.Sprint("host", i))
			os.MkdirAll(sub, 0o755)
			script, execOut := execRecorder(t, sub)
			cfg := host.cfg + fmt.Sprintf(`daemon:
  interval: 1s
  collector_intervals: {mdraid: 1s, smart: 1s, smartctl: 1s, hwraid: 1s, hwmon: 1s, probes: 1s}
  metrics_listen: "127.0.0.1:0"
notify:
  exec:
    - argv: [%s, %s]
  webhook:
    - url: %s/hook
  alertmanager:
    - url: %s
  email:
    - {host: 127.0.0.1, port: %d, tls: starttls, insecure_skip_verify: true, username: %s, password: %s,
       from: diskwatch@%s, to: [ops@%s]}
`, script, execOut, srv.URL, amURL, ex.Port, emailtest.User, emailtest.Password, emailtest.Domain, emailtest.Domain)
			cfgPath := filepath.Join(sub, "diskwatch.yaml")
			os.WriteFile(cfgPath, []byte(cfg), 0o600)
			common := []string{"--config", cfgPath}
			if host.root != "" {
				common = append(common, "--root", host.root)
			}
			cmd := func(name string, args ...string) (string, string, int) {
				return runCmd(t, nil, append(append([]string{name}, common...), args...)...)
			}

			// One-shot commands.
			for _, format := range []string{"text", "json", "nagios"} {
				out, errOut, code := cmd("check", "--state", "off", "--format", format)
				if code != exitCritical {
					t.Errorf("check --format %s: exit %d\n%s%s", format, code, out, errOut)
				}
				if format == "json" {
					checkInertJSON(t, "check --format json", []byte(out))
				} else {
					checkInert(t, "check --format "+format, []byte(out))
				}
				if errOut != "" {
					checkInert(t, "check's log", []byte(errOut))
				}
			}
			out, errOut, _ := cmd("metrics", "--direct")
			checkMetrics(t, "diskwatch metrics", []byte(out+errOut))
			var disc []string
			for _, kind := range []string{"disks", "arrays", "ups", "sensors", "attributes"} {
				out, errOut, code := cmd("zabbix", "--direct", "discovery", kind)
				if code != exitOK || !json.Valid([]byte(out)) {
					t.Errorf("zabbix discovery %s: exit %d, not JSON:\n%s%s", kind, code, out, errOut)
				}
				disc = append(disc, out)
			}
			checkInertJSON(t, "diskwatch zabbix discovery", []byte("["+strings.Join(disc, ",")+"]"))
			out, errOut, _ = cmd("zabbix", "--direct", "get", "diskwatch.problems")
			checkInert(t, "diskwatch zabbix get diskwatch.problems", []byte(out+errOut))
			out, errOut, code := cmd("report", "--html", "-", "--state", filepath.Join(sub, "report-state"))
			if code != exitOK {
				t.Errorf("report: exit %d: %s", code, errOut)
			}
			checkHTML(t, "diskwatch report", []byte(out))

			// The daemon, through every sink.
			state := filepath.Join(sub, "state")
			d := startDaemon(t, nil, append([]string{"--state", state}, common...)...)
			for _, rule := range host.rules {
				waitExecRuns(t, execOut, "DISKWATCH_RULE="+rule)
				waitFor(t, "webhook "+rule, func() bool {
					h.mu.Lock()
					defer h.mu.Unlock()
					for _, p := range h.got {
						if p.Alert.Rule == rule {
							return true
						}
					}
					return false
				}, d.log.String)
				waitFor(t, "mail "+rule, func() bool { return mailed(t, ex.Inbox(), rule) }, ex.Log)
				amAlerts := func() []byte { return httpGet(t, amURL+"/api/v2/alerts") }
				waitFor(t, "Alertmanager "+rule, func() bool { return bytes.Contains(amAlerts(), []byte(`"alertname":"`+rule+`"`)) },
					func() string { return string(amAlerts()) })
			}
			addr := d.metricsAddr(t)
			checkMetrics(t, "/metrics", httpGet(t, "http://"+addr+"/metrics"))
			checkHTML(t, "/report", httpGet(t, "http://"+addr+"/report"))
			checkInertJSON(t, "Alertmanager's alerts", httpGet(t, amURL+"/api/v2/alerts"))
			d.cmd.Process.Signal(syscall.SIGTERM)
			if code := d.wait(t, 30*time.Second); code != 0 {
				t.Errorf("daemon exit %d", code)
			}
			log := d.log.String()
			checkInert(t, "daemon log", []byte(log))
			sc := bufio.NewScanner(strings.NewReader(log))
			sc.Buffer(nil, 1<<20)
			for sc.Scan() {
				if !json.Valid(sc.Bytes()) || strings.Contains(sc.Text(), `"message":"fake"`) {
					t.Errorf("daemon log: a line that is not one JSON object of the daemon's: %q", sc.Text())
				}
			}
			if strings.Contains(log, "rejected permanently") || strings.Contains(log, "queued for retry") {
				t.Errorf("a sink refused a notification:\n%s", log)
			}

			envs, _ := filepath.Glob(filepath.Join(execOut, "env.*"))
			plain := false
			for _, e := range envs {
				b, _ := os.ReadFile(e)
				checkInert(t, "exec environment", b)
				plain = plain || bytes.Contains(b, []byte("$(touch "+dir)) || bytes.Contains(b, []byte("$(touch${IFS}"+dir))
				in, _ := os.ReadFile(strings.Replace(e, "env.", "stdin.", 1))
				checkInertJSON(t, "exec stdin", in)
				var m notify.Message
				if err := json.Unmarshal(in, &m); err != nil {
					t.Errorf("exec stdin: %v", err)
				}
			}
			if !plain {
				t.Errorf("no exec run got a device string as it was, as plain data")
			}
			h.mu.Lock()
			for _, body := range h.raw {
				checkInertJSON(t, "webhook body", body)
			}
			h.mu.Unlock()
			checkMail(t, ex.Inbox())

			// Zabbix items from the daemon's snapshot (diskwatch-zabbix).
			zbx := filepath.Join(filepath.Dir(bin), "diskwatch-zabbix")
			disc = nil
			for _, kind := range []string{"disks", "arrays", "ups", "sensors", "attributes"} {
				c := exec.Command(zbx, "--state", state, "discovery", kind)
				c.Env = append(os.Environ(), "DISKWATCH_ROOT=/nonexistent")
				o, err := c.CombinedOutput()
				if err != nil || !json.Valid(o) {
					t.Errorf("diskwatch-zabbix discovery %s: %v\n%s", kind, err, o)
				}
				disc = append(disc, string(o))
			}
			checkInertJSON(t, "diskwatch-zabbix discovery", []byte("["+strings.Join(disc, ",")+"]"))
			o, _ := exec.Command(zbx, "--state", state, "get", "diskwatch.problems").CombinedOutput()
			checkInert(t, "diskwatch-zabbix get diskwatch.problems", o)
			// The template's item: the whole host as JSON (LLD macros and item
			// values for the Zabbix server).
			o, err := exec.Command(zbx, "--state", state, "get", "diskwatch.get", "1000h").CombinedOutput()
			if err != nil || !json.Valid(o) || !bytes.Contains(o, []byte(`"running":1`)) {
				t.Errorf("diskwatch-zabbix get diskwatch.get: %v\n%.300s", err, o)
			}
			checkInertJSON(t, "diskwatch-zabbix get diskwatch.get", o)
		})
	}
	if pwned, _ := filepath.Glob(filepath.Join(dir, "pwned*")); len(pwned) > 0 {
		t.Errorf("a device string was run by a shell: %v", pwned)
	}
}

// waitFor polls cond for up to 20 s; then it fails, showing what seen
// says there is.
func waitFor(t *testing.T, what string, cond func() bool, seen func() string) {
	t.Helper()
	for i := 0; i < 200; i++ {
		if cond() {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s never happened; there is:\n%.5000s", what, seen())
}

// httpGet returns the body at u (nil on error).
func httpGet(t *testing.T, u string) []byte {
	t.Helper()
	r, err := http.Get(u)
	if err != nil {
		t.Errorf("GET %s: %v", u, err)
		return nil
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	return b
}
