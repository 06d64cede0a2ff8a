package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/diskwatch/diskwatch/cmd/diskwatch/internal/rig"
)

// TestRigPrometheus is TestPrometheusAlertsEndToEnd on a real kernel, one
// daemon: `diskwatch daemon` runs in the QEMU guest over a real md RAID1 of
// two AHCI disks and a real NVMe drive; a real Prometheus on the host
// scrapes it (through the rig's command channel: the guest has no network,
// so each scrape is one `wget` of the daemon's /metrics in the guest),
// loads the shipped rules and sends to a real Alertmanager. A member is
// failed with mdadm and the NVMe drive raises a critical warning (QMP):
// alerts for md0 and the drive reach Alertmanager; the member is re-added
// and rebuilt and the warning cleared: they resolve.
func TestRigPrometheus(t *testing.T) {
	rigRequire(t) // before looking for the peer programs
	prom := needProgram(t, "prometheus", "prometheus")
	am := needProgram(t, "prometheus-alertmanager", "prometheus-alertmanager")
	dir := t.TempDir()
	ctx, vm := rigBoot(t, 15*time.Minute, rig.Config{
		Disks: []rig.Disk{{ID: "pa0", Bus: rig.AHCI}, {ID: "pa1", Bus: rig.AHCI},
			{ID: "pn0", Bus: rig.NVMe, Props: []string{"smart_critical_warning=0"}}},
		Log: func(format string, args ...any) {
			if !strings.HasPrefix(format, "rig: step") {
				t.Logf(format, args...)
			}
		},
	}, nil)
	var err error
	defer func() {
		if t.Failed() {
			t.Logf("guest console (tail):\n%s", rigLastLines(vm.ConsoleLog(), 40))
			if r, err := vm.Exec(ctx, 30*time.Second, "tail -40 /tmp/dw/daemon.log; cat /proc/mdstat"); err == nil {
				t.Logf("guest daemon log and mdstat:\n%s", r.Output)
			}
		}
	}()
	var dev map[string]string
	for i := 0; ; i++ {
		if dev, err = vm.BlockBySerial(ctx); err != nil {
			t.Fatal(err)
		}
		if (dev["pa0"] != "" && dev["pa1"] != "" && dev["pn0"] != "") || i == 90 {
			break
		}
		time.Sleep(time.Second)
	}
	a, b := dev["pa0"], dev["pa1"]
	if a == "" || b == "" || dev["pn0"] == "" {
		t.Fatalf("disks by serial: %v", dev)
	}
	sh := func(what, script string) string {
		t.Helper()
		out, err := vm.MustExec(ctx, 2*time.Minute, script)
		if err != nil {
			t.Fatalf("%s: %v\n%s", what, err, out)
		}
		return string(out)
	}
	sh("md0", fmt.Sprintf("mdadm --create /dev/md0 --run --level=1 --raid-devices=2 --metadata=1.2 --assume-clean /dev/%s /dev/%s", a, b))
	// The daemon as README runs it, serving /metrics on the guest's
	// loopback; the kernel log and sensors are left out, and md.scterc
	// (QEMU's ATA disks have no SCT error recovery control, so it rightly
	// warns about md members on them): not what this test is about.
	sh("daemon", `ip link set lo up
mkdir -p /tmp/dw
cat >/tmp/dw/diskwatch.yaml <<EOF
collectors:
  kmsg: {enabled: false}
  hwmon: {enabled: false}
rules:
  md.scterc: {enabled: false}
daemon:
  interval: 2s
  collector_intervals: {mdraid: 2s, smart: 2s, smartctl: 2s, hwraid: 2s, hwmon: 2s, probes: 2s}
  metrics_listen: "127.0.0.1:9847"
EOF
setsid diskwatch daemon --config /tmp/dw/diskwatch.yaml --state /tmp/dw/state >/tmp/dw/daemon.log 2>&1 </dev/null &
for i in $(seq 300); do wget -qO- http://127.0.0.1:9847/-/ready >/dev/null 2>&1 && exit 0; sleep 0.2; done
cat /tmp/dw/daemon.log; exit 1`)

	// The scrape target: each request fetches the guest's /metrics.
	var smu sync.Mutex
	var scrapes []time.Duration
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res, err := vm.Exec(r.Context(), 20*time.Second, "wget -qO- http://127.0.0.1:9847/metrics")
		if err != nil || res.Exit != 0 {
			http.Error(w, fmt.Sprintf("guest /metrics: %v, exit %d: %s", err, res.Exit, res.Output), http.StatusBadGateway)
			return
		}
		smu.Lock()
		scrapes = append(scrapes, res.Duration)
		smu.Unlock()
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		w.Write(res.Output)
	}))
	defer proxy.Close()

	var mu sync.Mutex
	var notes []string
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p struct {
			Alerts []struct {
				Status string            `json:"status"`
				Labels map[string]string `json:"labels"`
			} `json:"alerts"`
		}
		jsonDecode(r, &p)
		mu.Lock()
		for _, x := range p.Alerts {
			notes = append(notes, x.Status+" "+x.Labels["alertname"]+" "+x.Labels["device"])
		}
		mu.Unlock()
	}))
	defer rcv.Close()
	amURL := startAlertmanager(t, am, dir, rcv.URL)
	rulesPath, _ := filepath.Abs(filepath.Join(contribProm, "diskwatch.rules.yml"))
	promURL := startPrometheus(t, prom, dir, fmt.Sprintf(`global:
  scrape_interval: 3s
  scrape_timeout: 3s
  evaluation_interval: 1s
rule_files: [%s]
alerting:
  alertmanagers:
    - static_configs: [{targets: ["%s"]}]
scrape_configs:
  - job_name: diskwatch
    static_configs: [{targets: ["%s"]}]
`, rulesPath, strings.TrimPrefix(amURL, "http://"), strings.TrimPrefix(proxy.URL, "http://")))

	amAlerts := func() []amAlert {
		r, err := http.Get(amURL + "/api/v2/alerts?active=true&silenced=false&inhibited=false")
		if err != nil {
			return nil
		}
		defer r.Body.Close()
		var as []amAlert
		jsonDecodeBody(r, &as)
		return as
	}
	waitFor := func(what string, limit time.Duration, cond func() bool) time.Duration {
		t.Helper()
		start := time.Now()
		for time.Since(start) < limit {
			if cond() {
				return time.Since(start)
			}
			time.Sleep(500 * time.Millisecond)
		}
		al, _ := promQuery(promURL, "ALERTS")
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("%s not within %s\nprometheus ALERTS %v\nalertmanager %v\nnotified %v", what, limit, al, amAlerts(), notes)
		return 0
	}
	var nvme string
	waitFor("md0 and the NVMe drive scraped healthy", 2*time.Minute, func() bool {
		r, _ := promQuery(promURL, `diskwatch_md_degraded{device="md0"} == 0`)
		d, _ := promQuery(promURL, `diskwatch_disk_info{serial="pn0"}`)
		if len(d) == 1 {
			nvme = d[0]["device"]
		}
		return len(r) == 1 && nvme != ""
	})
	time.Sleep(10 * time.Second)
	// Nothing that pages (NOTICE findings tell, with severity info).
	if al, err := promQuery(promURL, `ALERTS{severity!="info"}`); err != nil || len(al) != 0 {
		t.Fatalf("alerts on the healthy guest: %v %v", al, err)
	}
	if n, _ := promQuery(promURL, `diskwatch_finding == 1`); len(n) > 0 {
		info, _ := promQuery(promURL, `diskwatch_finding_info and on(rule, subject_id) (diskwatch_finding == 1)`)
		for _, x := range info {
			t.Logf("NOTICE on the healthy guest: %s %s: %s", x["rule"], x["subject_id"], x["message"])
		}
	}

	// Break: a member fails, the NVMe drive's reliability is degraded.
	sh("fail", "mdadm /dev/md0 --fail /dev/"+b)
	if _, err := vm.QMP(ctx, "qom-set", map[string]any{"path": "/machine/peripheral/pn0", "property": "smart_critical_warning", "value": 4}); err != nil {
		t.Fatal(err)
	}
	broke := time.Now()
	var md0, drive amAlert
	waitFor("md0 and "+nvme+" alerts in Alertmanager", 4*time.Minute, func() bool {
		md0, drive = amAlert{}, amAlert{}
		for _, x := range amAlerts() {
			switch {
			case x.Labels["alertname"] == "DiskwatchArrayCritical" && x.Labels["device"] == "md0" && x.Labels["rule"] == "md.degraded":
				md0 = x
			case x.Labels["alertname"] == "DiskwatchDiskCritical" && x.Labels["device"] == nvme:
				drive = x
			}
		}
		return md0.Labels != nil && drive.Labels != nil
	})
	fired := time.Since(broke)
	if !strings.Contains(md0.Annotations["description"], "failed: "+b) || !strings.Contains(md0.Annotations["remedy"], "mdadm /dev/md0 --remove /dev/"+b) {
		t.Errorf("md0 alert: %+v", md0)
	}
	for _, x := range []amAlert{md0, drive} {
		t.Logf("in Alertmanager: %s %s %s: %s | remedy: %s", x.Labels["alertname"], x.Labels["device"], x.Labels["rule"], x.Annotations["description"], x.Annotations["remedy"])
	}

	// Heal: the member is re-added and rebuilt, the warning cleared.
	sh("rebuild", fmt.Sprintf("mdadm /dev/md0 --remove /dev/%s && mdadm --zero-superblock /dev/%s && mdadm /dev/md0 --add /dev/%s && mdadm --wait /dev/md0; cat /proc/mdstat", b, b, b))
	if _, err := vm.QMP(ctx, "qom-set", map[string]any{"path": "/machine/peripheral/pn0", "property": "smart_critical_warning", "value": 0}); err != nil {
		t.Fatal(err)
	}
	healed := time.Now()
	waitFor("md0 and "+nvme+" alerts resolved", 4*time.Minute, func() bool {
		for _, x := range amAlerts() {
			if d := x.Labels["device"]; d == "md0" || d == nvme {
				return false
			}
		}
		return true
	})
	resolved := time.Since(healed)
	waitFor("Alertmanager notifying both resolved", time.Minute, func() bool {
		mu.Lock()
		defer mu.Unlock()
		n := strings.Join(notes, "\n")
		return strings.Contains(n, "resolved DiskwatchArrayCritical md0") && strings.Contains(n, "resolved DiskwatchDiskCritical "+nvme)
	})
	// Series: the exposition now, and diskwatch_finding_info's churn (one
	// series per distinct message) over the whole run.
	now, _ := promQuery(promURL, `{job="diskwatch",__name__=~"diskwatch_.*"}`)
	infos, _ := promQuery(promURL, `count_over_time(diskwatch_finding_info[15m])`)
	findings, _ := promQuery(promURL, `count_over_time(diskwatch_finding[15m])`)
	t.Logf("%d diskwatch series now; over the run %d diskwatch_finding series and %d diskwatch_finding_info series", len(now), len(findings), len(infos))
	smu.Lock()
	var total time.Duration
	for _, d := range scrapes {
		total += d
	}
	n := len(scrapes)
	smu.Unlock()
	t.Logf("break -> both alerts active in Alertmanager: %s; heal -> resolved: %s; %d scrapes through the guest, %s each on average",
		fired.Round(100*time.Millisecond), resolved.Round(100*time.Millisecond), n, (total / time.Duration(max(n, 1))).Round(time.Millisecond))
}
