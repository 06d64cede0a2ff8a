package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// contribProm is the shipped Prometheus directory (rules, their tests, the
// Grafana dashboard).
const contribProm = "../../contrib/prometheus"

// promRules is the part of a rule file the tests look at.
type promRules struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert  string            `yaml:"alert"`
			Record string            `yaml:"record"`
			Expr   string            `yaml:"expr"`
			For    string            `yaml:"for"`
			Labels map[string]string `yaml:"labels"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

// promRuleTests is the part of a promtool test file the tests look at.
type promRuleTests struct {
	Tests []struct {
		AlertRuleTest []struct {
			Alertname string           `yaml:"alertname"`
			ExpAlerts []map[string]any `yaml:"exp_alerts"`
		} `yaml:"alert_rule_test"`
		PromQLExprTest []struct {
			Expr string `yaml:"expr"`
		} `yaml:"promql_expr_test"`
	} `yaml:"tests"`
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// promtool runs the real promtool (Debian package prometheus) in dir.
func runPromtool(t *testing.T, dir string, args ...string) {
	t.Helper()
	p := needProgram(t, "promtool", "prometheus")
	cmd := exec.Command(p, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	t.Logf("promtool %s:\n%s", strings.Join(args, " "), out)
}

// The shipped alerting rules pass promtool's checks and their unit tests,
// and every alert is tested firing (a test expecting it with labels) and
// carries a severity, a summary, a description and a remedy.
func TestPrometheusRules(t *testing.T) {
	runPromtool(t, contribProm, "check", "rules", "diskwatch.rules.yml")
	runPromtool(t, contribProm, "test", "rules", "diskwatch.rules.test.yml")

	var rules promRules
	readYAML(t, filepath.Join(contribProm, "diskwatch.rules.yml"), &rules)
	var tests promRuleTests
	readYAML(t, filepath.Join(contribProm, "diskwatch.rules.test.yml"), &tests)
	fired := map[string]bool{}
	for _, tc := range tests.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				fired[a.Alertname] = true
			}
		}
	}
	var raw struct {
		Groups []struct {
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	readYAML(t, filepath.Join(contribProm, "diskwatch.rules.yml"), &raw)
	n := 0
	for gi, g := range rules.Groups {
		for ri, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			n++
			if !fired[r.Alert] {
				t.Errorf("alert %s has no promtool test in which it fires", r.Alert)
			}
			if s := r.Labels["severity"]; s != "critical" && s != "warning" && s != "info" {
				t.Errorf("alert %s: severity %q", r.Alert, s)
			}
			ann := raw.Groups[gi].Rules[ri].Annotations
			for _, k := range []string{"summary", "description", "remedy"} {
				if ann[k] == "" {
					t.Errorf("alert %s lacks the %s annotation", r.Alert, k)
				}
			}
		}
	}
	if n < 10 {
		t.Errorf("only %d alerts read from the rule file", n)
	}
}

// startPrometheus runs the Prometheus server prom on a free port of
// 127.0.0.1 with config cfg and its data in dir; it returns its base URL
// when it is ready.
func startPrometheus(t *testing.T, prom, dir, cfg string) string {
	t.Helper()
	path := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	port := freeTCPPort(t)
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	cmd := exec.Command(prom, "--config.file="+path, "--storage.tsdb.path="+filepath.Join(dir, "prom-data"),
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port))
	log := &syncBuf{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("prometheus log:\n%s", log.String())
		}
	})
	for i := 0; ; i++ {
		if r, err := http.Get(url + "/-/ready"); err == nil {
			r.Body.Close()
			if r.StatusCode == 200 {
				return url
			}
		}
		if i > 600 {
			t.Fatalf("prometheus not ready:\n%s", log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// promQuery runs an instant query and returns the result's label sets.
func promQuery(promURL, q string) ([]map[string]string, error) {
	r, err := http.Get(promURL + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		return nil, err
	}
	defer r.Body.Close()
	var res struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(r.Body).Decode(&res); err != nil {
		return nil, err
	}
	if res.Status != "success" {
		return nil, fmt.Errorf("query %s: %s", q, res.Error)
	}
	var out []map[string]string
	for _, x := range res.Data.Result {
		out = append(out, x.Metric)
	}
	return out, nil
}

// amAlert is an alert as Alertmanager's API v2 lists it.
type amAlert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	Status      struct {
		State string `json:"state"`
	} `json:"status"`
}

// The path a Prometheus user takes: a real Prometheus scrapes real
// diskwatch daemons (one scrape job), loads the shipped rule file unchanged,
// and sends to a real Alertmanager. The host starts healthy (nothing fires
// or is pending), then md0 loses a member (the QEMU rig's capture
// 03-failed) and sdc fails SMART (a real smartctl capture served by a
// stand-in smartctl on PATH): both alerts reach Alertmanager naming md0 and
// sdc, with diskwatch's message and remedy, and Alertmanager notifies. The
// array is rebuilt and the disk replaced (captures 02-healthy and a passing
// disk): both resolve. Only the scrape and evaluation intervals are the
// test's (1s, in its prometheus.yml); the rules' for and keep_firing_for
// (1m each) are waited out.
func TestPrometheusAlertsEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("waits about two minutes for the shipped rules' for and keep_firing_for")
	}
	prom := needProgram(t, "prometheus", "prometheus")
	am := needProgram(t, "prometheus-alertmanager", "prometheus-alertmanager")
	diskwatchBin(t)
	dir := t.TempDir()

	// Host roots: the rig's captures of md0 healthy and with sdb failed.
	for name, capture := range map[string]string{"healthy": "02-healthy", "broken": "03-failed"} {
		for _, sub := range []string{"proc", "sys"} {
			copyTree(t, filepath.Join(rigCaptures, capture, sub), filepath.Join(dir, name, sub))
		}
	}
	root := filepath.Join(dir, "root")
	os.Symlink(filepath.Join(dir, "healthy"), root)

	// smartctl on PATH answers for /dev/sdc with the capture in sdc.json
	// and its exit status.
	bin := filepath.Join(dir, "bin")
	os.MkdirAll(bin, 0o755)
	os.WriteFile(filepath.Join(bin, "smartctl"), []byte("#!/bin/sh\nfor last; do :; done\n[ \"$last\" = /dev/sdc ] || exit 2\ncat '"+dir+"/sdc.json'\nexit $(cat '"+dir+"/sdc.exit')\n"), 0o755)
	setDisk := func(capture string) {
		b, err := os.ReadFile(capturePaths(capture)[0])
		if err != nil {
			t.Fatal(err)
		}
		var c struct {
			Smartctl struct {
				ExitStatus int `json:"exit_status"`
			} `json:"smartctl"`
		}
		json.Unmarshal(b, &c)
		os.WriteFile(filepath.Join(dir, "sdc.json.tmp"), b, 0o644)
		os.WriteFile(filepath.Join(dir, "sdc.exit"), []byte(fmt.Sprint(c.Smartctl.ExitStatus)), 0o644)
		os.Rename(filepath.Join(dir, "sdc.json.tmp"), filepath.Join(dir, "sdc.json"))
	}
	setDisk("scrutiny/smart-pass.json")

	// Alertmanager notifies this receiver.
	var mu sync.Mutex
	var notes []string
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
			notes = append(notes, a.Status+" "+a.Labels["alertname"]+" "+a.Labels["device"])
		}
		mu.Unlock()
	}))
	defer rcv.Close()
	amURL := startAlertmanager(t, am, dir, rcv.URL)

	// Two daemons as README runs them, one scrape job: one over the
	// fixture root (md0), one on this host reading /dev/sdc through
	// smartctl (the smartctl collector reads the live host's devices only,
	// never a --root's, and the native reader needs real devices).
	mdCfg := filepath.Join(dir, "md.yaml")
	os.WriteFile(mdCfg, []byte(`collectors:
  smart: {enabled: false}
daemon:
  interval: 1s
  collector_intervals: {mdraid: 1s, smart: 1s, smartctl: 1s, hwraid: 1s, hwmon: 1s, probes: 1s}
  metrics_listen: "127.0.0.1:0"
`), 0o600)
	diskCfg := filepath.Join(dir, "disk.yaml")
	os.WriteFile(diskCfg, []byte(`collectors:
  mdraid: {enabled: false}
  kmsg: {enabled: false}
  hwraid: {enabled: false}
  hwmon: {enabled: false}
  smart: {enabled: false}
  smartctl:
    devices: [{path: /dev/sdc}]
daemon:
  interval: 1s
  collector_intervals: {mdraid: 1s, smart: 1s, smartctl: 1s, hwraid: 1s, hwmon: 1s, probes: 1s}
  metrics_listen: "127.0.0.1:0"
`), 0o600)
	mdD := startDaemon(t, nil, "--root", root, "--config", mdCfg, "--state", filepath.Join(dir, "md-state"))
	diskD := startDaemon(t, []string{"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH")},
		"--config", diskCfg, "--state", filepath.Join(dir, "disk-state"))
	mdAddr, diskAddr := mdD.metricsAddr(t), diskD.metricsAddr(t)

	rulesPath, _ := filepath.Abs(filepath.Join(contribProm, "diskwatch.rules.yml"))
	promURL := startPrometheus(t, prom, dir, fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [%s]
alerting:
  alertmanagers:
    - static_configs: [{targets: ["%s"]}]
scrape_configs:
  - job_name: diskwatch
    static_configs: [{targets: ["%s", "%s"]}]
`, rulesPath, strings.TrimPrefix(amURL, "http://"), mdAddr, diskAddr))

	amAlerts := func() []amAlert {
		r, err := http.Get(amURL + "/api/v2/alerts?active=true&silenced=false&inhibited=false")
		if err != nil {
			return nil
		}
		defer r.Body.Close()
		var as []amAlert
		json.NewDecoder(r.Body).Decode(&as)
		return as
	}
	state := func() string {
		mu.Lock()
		defer mu.Unlock()
		al, _ := promQuery(promURL, "ALERTS")
		return fmt.Sprintf("prometheus ALERTS %v\nalertmanager %v\nnotified %v\nmd daemon log:\n%s\ndisk daemon log:\n%s", al, amAlerts(), notes, mdD.log.String(), diskD.log.String())
	}
	waitFor := func(what string, limit time.Duration, cond func() bool) time.Duration {
		t.Helper()
		start := time.Now()
		for time.Since(start) < limit {
			if cond() {
				return time.Since(start)
			}
			time.Sleep(250 * time.Millisecond)
		}
		t.Fatalf("%s not within %s\n%s", what, limit, state())
		return 0
	}
	notified := func(n string) bool {
		mu.Lock()
		defer mu.Unlock()
		return slices.Contains(notes, n)
	}

	// Healthy: scraped, readings in, nothing firing or pending.
	waitFor("diskwatch scraped with readings", 30*time.Second, func() bool {
		r, _ := promQuery(promURL, `diskwatch_disk_smart_passed{device="sdc"} == 1 or diskwatch_md_degraded{device="md0"} == 0`)
		return len(r) == 2
	})
	time.Sleep(5 * time.Second)
	// Nothing that pages (NOTICE findings tell, with severity info).
	if al, err := promQuery(promURL, `ALERTS{severity!="info"}`); err != nil || len(al) != 0 {
		t.Fatalf("alerts on a healthy host: %v %v\n%s", al, err, state())
	}
	series, _ := promQuery(promURL, `{job="diskwatch",__name__=~"diskwatch_.*"}`)
	t.Logf("healthy host: %d diskwatch series", len(series))

	// Break: md0 loses sdb, sdc fails SMART.
	os.Remove(root)
	os.Symlink(filepath.Join(dir, "broken"), root)
	setDisk("scrutiny/smart-fail2.json")
	broke := time.Now()
	var md0, sdc amAlert
	waitFor("md0 and sdc alerts in Alertmanager", 150*time.Second, func() bool {
		md0, sdc = amAlert{}, amAlert{}
		for _, a := range amAlerts() {
			switch {
			case a.Labels["alertname"] == "DiskwatchArrayCritical" && a.Labels["device"] == "md0":
				md0 = a
			case a.Labels["alertname"] == "DiskwatchDiskCritical" && a.Labels["device"] == "sdc":
				sdc = a
			}
		}
		return md0.Labels != nil && sdc.Labels != nil
	})
	fired := time.Since(broke)
	if md0.Labels["rule"] != "md.degraded" || md0.Labels["severity"] != "critical" || !strings.HasPrefix(md0.Labels["subject_id"], "md:uuid:") ||
		!strings.Contains(md0.Annotations["description"], "md0 (raid1) is DEGRADED [2/1]") ||
		!strings.Contains(md0.Annotations["remedy"], "mdadm /dev/md0 --remove /dev/sdb") {
		t.Errorf("md0 alert: %+v", md0)
	}
	if !strings.Contains(sdc.Labels["subject"], "MSK423Y20S3HBC") || sdc.Annotations["description"] == "" || sdc.Annotations["remedy"] == "" {
		t.Errorf("sdc alert: %+v", sdc)
	}
	for _, a := range []amAlert{md0, sdc} {
		t.Logf("in Alertmanager: %s %s %s: %s | remedy: %s", a.Labels["alertname"], a.Labels["device"], a.Labels["rule"], a.Annotations["description"], a.Annotations["remedy"])
	}
	waitFor("Alertmanager notifying md0 and sdc firing", 30*time.Second, func() bool {
		return notified("firing DiskwatchArrayCritical md0") && notified("firing DiskwatchDiskCritical sdc")
	})
	notifiedFiring := time.Since(broke)

	// Heal: md0 rebuilt, sdc replaced by a passing disk.
	os.Remove(root)
	os.Symlink(filepath.Join(dir, "healthy"), root)
	setDisk("scrutiny/smart-pass.json")
	healed := time.Now()
	waitFor("md0 and sdc alerts resolved in Alertmanager", 150*time.Second, func() bool {
		for _, a := range amAlerts() {
			if d := a.Labels["device"]; d == "md0" || d == "sdc" {
				return false
			}
		}
		return true
	})
	resolved := time.Since(healed)
	waitFor("Alertmanager notifying md0 and sdc resolved", 30*time.Second, func() bool {
		return notified("resolved DiskwatchArrayCritical md0") && notified("resolved DiskwatchDiskCritical sdc")
	})
	t.Logf("break -> both alerts active in Alertmanager: %s (notified %s); heal -> resolved: %s (notified %s)",
		fired.Round(100*time.Millisecond), notifiedFiring.Round(100*time.Millisecond), resolved.Round(100*time.Millisecond), time.Since(healed).Round(100*time.Millisecond))
	if al, _ := promQuery(promURL, `ALERTS{alertstate="firing",severity!="info"}`); len(al) != 0 {
		t.Errorf("still firing after the heal: %v", al)
	}
	for _, d := range []*daemonProc{mdD, diskD} {
		d.cmd.Process.Signal(syscall.SIGTERM)
		if code := d.wait(t, 30*time.Second); code != 0 {
			t.Errorf("daemon exit %d:\n%s", code, d.log.String())
		}
	}
}

// copyTree copies the directory src to dst (files and symlinks).
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		to := filepath.Join(dst, rel)
		switch {
		case fi.IsDir():
			return os.MkdirAll(to, 0o755)
		case fi.Mode()&os.ModeSymlink != 0:
			l, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(l, to)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(to, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// The Grafana dashboard is valid JSON with a fleet row and a per-host row;
// every panel has a Prometheus query, and every query ($instance set to a
// host of the test series) is one of the promtool expression tests in
// diskwatch.rules.test.yml, which TestPrometheusRules runs: the panels are
// tested against the same series as the alerts.
func TestGrafanaDashboard(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(contribProm, "grafana-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	type target struct {
		Expr  string `json:"expr"`
		RefID string `json:"refId"`
	}
	type panel struct {
		ID      int                       `json:"id"`
		Type    string                    `json:"type"`
		Title   string                    `json:"title"`
		Targets []target                  `json:"targets"`
		GridPos *struct{ X, Y, W, H int } `json:"gridPos"`
		Panels  []panel                   `json:"panels"`
	}
	var dash struct {
		UID        string  `json:"uid"`
		Title      string  `json:"title"`
		Panels     []panel `json:"panels"`
		Templating struct {
			List []struct {
				Name string `json:"name"`
				Type string `json:"type"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("grafana-dashboard.json: %v", err)
	}
	vars := map[string]string{}
	for _, v := range dash.Templating.List {
		vars[v.Name] = v.Type
	}
	if dash.UID == "" || vars["datasource"] != "datasource" || vars["instance"] != "query" {
		t.Errorf("dashboard uid %q, variables %v", dash.UID, vars)
	}
	var tests promRuleTests
	readYAML(t, filepath.Join(contribProm, "diskwatch.rules.test.yml"), &tests)
	tested := map[string]bool{}
	for _, tc := range tests.Tests {
		for _, e := range tc.PromQLExprTest {
			tested[e.Expr] = true
		}
	}
	ids := map[int]bool{}
	rows, queries := 0, 0
	for _, p := range dash.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d twice", p.ID)
		}
		ids[p.ID] = true
		if p.GridPos == nil || p.GridPos.W == 0 || p.GridPos.H == 0 {
			t.Errorf("panel %q has no size", p.Title)
		}
		if p.Type == "row" {
			rows++
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, x := range p.Targets {
			queries++
			e := strings.ReplaceAll(x.Expr, "$instance", "host1:9847")
			if strings.Contains(e, "$") {
				t.Errorf("panel %q: query uses a variable the test does not set: %s", p.Title, x.Expr)
			}
			if !tested[e] {
				t.Errorf("panel %q: query has no promtool test: %s", p.Title, e)
			}
		}
	}
	if rows < 2 || queries < 20 {
		t.Errorf("%d rows, %d queries", rows, queries)
	}
}

func jsonDecode(r *http.Request, v any) error { return json.NewDecoder(r.Body).Decode(v) }

func jsonDecodeBody(r *http.Response, v any) error { return json.NewDecoder(r.Body).Decode(v) }
