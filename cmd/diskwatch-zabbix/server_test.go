package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/diskwatch/diskwatch/collectors/hwmon/hwmontest"
	"github.com/diskwatch/diskwatch/collectors/ups/upstest"
)

// Debian's Zabbix 6.0 and PostgreSQL (see .ci/setup).
const (
	zabbixServer  = "/usr/sbin/zabbix_server"
	zabbixAgentd  = "/usr/sbin/zabbix_agentd"
	zabbixAgent2  = "/usr/sbin/zabbix_agent2"
	zabbixUI      = "/usr/share/zabbix"
	zabbixSQL     = "/usr/share/zabbix-server-pgsql"
	templateName  = "diskwatch by Zabbix agent"
	templateFile  = "../../contrib/zabbix/template_diskwatch.yaml"
	userParamFile = "../../contrib/zabbix/userparameter_diskwatch.conf"
	// The rig's captures of a real md RAID1 in a real kernel
	// (testdata/rig/README.md): healthy, a member failed, rebuilt.
	capturesDir = "../../testdata/rig/captures"
)

// TestZabbixServer imports the shipped template into a real Zabbix 6.0
// server (Debian's zabbix-server-pgsql on a private PostgreSQL cluster,
// the frontend's API under `php -S`), links it to a host whose agent is a
// real zabbix_agentd running as user zabbix with the shipped
// UserParameter file, and lets the server poll it while a real `diskwatch
// daemon` watches the host as README runs it, in a private mount namespace
// whose /proc and /sys are real captures (the rig's md RAID1 in a real
// kernel, node_exporter's hwmon fixture), its smartctl prints real
// captures, and its UPS is a NUT upsd with dummy-ups. Discovery
// must create array, disk, UPS and sensor items with values; a failed md
// member must raise the array's CRITICAL trigger and the rebuilt array
// resolve it; a stopped daemon must raise "diskwatch is not running".
// Intervals are shortened by host macros, never by editing the template.
func TestZabbixServer(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: PostgreSQL and the agent run as their own users")
	}
	pgBin := requireZabbix(t)
	upstest.Require(t, upstest.DummyUPS, upstest.Upsd)
	start := time.Now()
	z := &zrig{t: t}
	z.base = z.mkdir(os.TempDir(), "")
	t.Cleanup(func() { z.stopAll(); os.RemoveAll(z.base) })

	// The database loads while the programs build.
	var wg sync.WaitGroup
	var dbErr error
	wg.Add(1)
	go func() { defer wg.Done(); dbErr = z.startPostgres(pgBin) }()
	bin := z.mkdir(z.base, "bin")
	for _, b := range [][2]string{{"diskwatch", "../diskwatch"}, {"diskwatch-zabbix", "."}} {
		c := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(bin, b[0]), b[1])
		c.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := c.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", b[1], err, out)
		}
	}
	wg.Wait()
	if dbErr != nil {
		t.Fatal(dbErr)
	}
	t.Logf("PostgreSQL with the Zabbix schema and binaries ready after %s", time.Since(start).Round(time.Second))
	z.startFrontend()
	z.login()

	// Import the shipped template as an operator does.
	src, err := os.ReadFile(templateFile)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	var ok bool
	z.call("configuration.import", map[string]any{"format": "yaml", "source": string(src), "rules": importRules()}, &ok)
	if !ok {
		t.Fatal("configuration.import did not return true")
	}
	tplID := z.checkImport(src, time.Since(t0))

	// The host: /proc and /sys of one real capture after the other, mounted
	// in a mount namespace of the test's own.
	roots := map[string]string{}
	for _, c := range []string{"02-healthy", "03-failed", "06-rebuilt"} {
		roots[c] = z.buildRoot(c)
	}
	ns := z.mountNamespace()
	z.show(ns, roots["02-healthy"])
	nut := upstest.StartNUT(t, map[string]string{"testups": string(mustRead(t, "../../collectors/ups/testdata/nut-ddl/APC__Back-UPS_RS_900__usbhid-ups__2.4.1__02.dev"))}, "")
	// Stop the programs before the roots and upsd go (cleanups run last
	// registered first).
	t.Cleanup(z.stopAll)
	fake := z.fakeSmartctl()
	cfg := filepath.Join(z.base, "diskwatch.yaml")
	z.write(cfg, fmt.Sprintf(`collectors:
  smart: {enabled: false}
  kmsg: {enabled: false}
  smartctl:
    devices:
      - {path: /dev/sdb}
      - {path: /dev/nvme0}
ups:
  - nut://%s/testups
daemon:
  interval: 2s
  collector_intervals: {mdraid: 2s, smart: 2s, smartctl: 2s, hwraid: 2s, hwmon: 2s, probes: 2s}
  metrics_listen: "off"
notify:
  resolve_after: 1
`, nut.Addr), 0o644)
	state := filepath.Join(z.base, "state")
	env := append(os.Environ(), "PATH="+fake+":"+os.Getenv("PATH"))
	// `make run` runs `diskwatch check` first: it must leave the state
	// directory readable by the agent's user, as the daemon makes it.
	c := exec.Command("nsenter", "-t", ns, "-m", "--", filepath.Join(bin, "diskwatch"), "check", "--config", cfg, "--state", state)
	c.Env = env
	if out, err := c.CombinedOutput(); err != nil && c.ProcessState.ExitCode() == 3 {
		t.Fatalf("diskwatch check: %v\n%s", err, out)
	}
	if st, err := os.Stat(state); err != nil || st.Mode().Perm() != 0o755 {
		t.Fatalf("state directory after diskwatch check: %v %v, want 0755", st.Mode().Perm(), err)
	}
	daemon := z.start("daemon", env, "nsenter", "-t", ns, "-m", "--", filepath.Join(bin, "diskwatch"), "daemon", "--config", cfg, "--state", state)
	snap := filepath.Join(state, "snapshot.json")
	z.waitFor("the daemon's first snapshot", 60*time.Second, func() bool { _, err := os.Stat(snap); return err == nil })
	if st, _ := os.Stat(snap); st.Mode().Perm() != 0o644 {
		t.Errorf("snapshot mode %v, want 0644", st.Mode().Perm())
	}

	agent, agentPort := z.startAgent(bin, state)

	var groups []struct{ Groupid string }
	z.call("hostgroup.get", map[string]any{"filter": map[string]any{"name": "Linux servers"}}, &groups)
	if len(groups) != 1 {
		t.Fatalf("host group Linux servers: %v", groups)
	}
	var created struct{ Hostids []string }
	t0 = time.Now()
	z.call("host.create", map[string]any{
		"host": "diskwatch-test", "groups": []any{map[string]any{"groupid": groups[0].Groupid}},
		"interfaces": []any{map[string]any{"type": 1, "main": 1, "useip": 1, "ip": "127.0.0.1", "dns": "", "port": strconv.Itoa(agentPort)}},
		"templates":  []any{map[string]any{"templateid": tplID}},
		// Minutes become seconds through the template's own macros.
		"macros": []any{
			map[string]any{"macro": "{$DISKWATCH.INTERVAL}", "value": "3s"},
			map[string]any{"macro": "{$DISKWATCH.SNAPSHOT.MAXAGE}", "value": "15s"},
			map[string]any{"macro": "{$DISKWATCH.NODATA}", "value": "20s"},
		},
	}, &created)
	host := created.Hostids[0]
	t.Logf("host.create with the template linked took %s", time.Since(t0).Round(time.Millisecond))
	z.startServer()
	linked := time.Now()

	// Discovery creates items for every kind of entity; they get values.
	// Arrays are keyed by identity (their UUID), as diskwatch names them.
	md0 := "md:uuid:" + strings.ReplaceAll(strings.TrimSpace(string(mustRead(t, capturesDir+"/02-healthy/sys/block/md0/md/uuid"))), "-", "")
	want := []string{"diskwatch.md.status[" + md0 + "]", "diskwatch.md.problems[" + md0 + "]",
		"diskwatch.ups.status[testups]", "diskwatch.ups.charge[testups]", "diskwatch.disk.temperature[", "diskwatch.disk.nvme.percentage_used[",
		"diskwatch.disk.attr.raw[", "diskwatch.sensor.value[hwmon", "diskwatch.running", "diskwatch.age", "diskwatch.status"}
	var items []zitem
	t.Cleanup(func() {
		if t.Failed() {
			for _, it := range z.items(host) {
				t.Logf("item %s state %s clock %s value %.80q error %q", it.Key, it.State, it.Lastclock, it.Lastvalue, it.Error)
			}
		}
	})
	z.waitFor("discovered items with values", 4*time.Minute, func() bool {
		items = z.items(host)
		for _, w := range want {
			if !hasValue(items, w) {
				return false
			}
		}
		return true
	})
	t.Logf("template linked -> discovered items with values: %s", time.Since(linked).Round(time.Second))
	counts := map[string]int{}
	for _, it := range items {
		if it.Flags == "4" {
			counts[strings.SplitN(it.Key, "[", 2)[0]]++
		}
	}
	t.Logf("host items: %d (discovered by kind: disk temperature %d, ATA attribute raw %d, md status %d, UPS status %d, sensor value %d)",
		len(items), counts["diskwatch.disk.temperature"], counts["diskwatch.disk.attr.raw"], counts["diskwatch.md.status"], counts["diskwatch.ups.status"], counts["diskwatch.sensor.value"])
	if counts["diskwatch.disk.temperature"] != 2 || counts["diskwatch.disk.nvme.percentage_used"] != 1 || counts["diskwatch.md.status"] != 2 || counts["diskwatch.ups.status"] != 1 || counts["diskwatch.sensor.value"] < 10 {
		t.Errorf("discovered: %v", counts)
	}
	z.expectValue(items, "diskwatch.running", "1")
	z.expectValue(items, "diskwatch.md.status["+md0+"]", "0")
	z.expectValue(items, "diskwatch.md.problems["+md0+"]", "OK")
	// Every item that has a value is supported; an unsupported one says
	// why (none may be silently empty).
	for _, it := range items {
		if it.State == "1" && it.Error == "" {
			t.Errorf("item %s unsupported without a reason", it.Key)
		}
	}

	// A member fails (the rig's capture of mdadm --fail): CRITICAL.
	crit := "md md0 (raid1): CRITICAL"
	z.show(ns, roots["03-failed"])
	t0 = time.Now()
	p := z.waitProblem(host, crit, true, 2*time.Minute)
	t.Logf("md0 failed member -> %q raised in %s (opdata %q)", crit, time.Since(t0).Round(time.Second), p)
	items = z.items(host)
	if v := z.value(items, "diskwatch.md.problems["+md0+"]"); !strings.Contains(v, "CRITICAL md0: md0 (raid1) is DEGRADED [2/1]") || !strings.Contains(v, "what to do: ") {
		t.Errorf("md0 problems: %q", v)
	}
	// Rebuilt (the capture after mdadm --add and the resync): resolved.
	z.show(ns, roots["06-rebuilt"])
	t0 = time.Now()
	z.waitProblem(host, crit, false, 2*time.Minute)
	t.Logf("md0 rebuilt -> resolved in %s", time.Since(t0).Round(time.Second))

	// The daemon stops: its snapshot goes stale and the template says so.
	notRunning := "diskwatch is not running on diskwatch-test"
	daemon.Process.Signal(syscall.SIGTERM)
	daemon.Wait()
	t0 = time.Now()
	p = z.waitProblem(host, notRunning, true, 2*time.Minute)
	t.Logf("daemon stopped -> %q raised in %s (max age 15s; opdata %q)", notRunning, time.Since(t0).Round(time.Second), p)
	if !strings.Contains(p, "diskwatch is not running: its snapshot "+snap+" was written") {
		t.Errorf("operational data %q does not say why", p)
	}
	z.waitFor("items unsupported with the reason", time.Minute, func() bool {
		items = z.items(host)
		for _, it := range items {
			if it.Key == "diskwatch.md.status["+md0+"]" {
				return it.State == "1" && strings.Contains(it.Error, "diskwatch is not running")
			}
		}
		return false
	})
	if age, err := strconv.ParseFloat(z.value(items, "diskwatch.age"), 64); err != nil || age < 15 {
		t.Errorf("diskwatch.age %v (%v): want the real age of the stale snapshot", z.value(items, "diskwatch.age"), err)
	}
	// The agent goes away (or never had the UserParameter file): no data.
	noData := "diskwatch: no data from the agent on diskwatch-test"
	syscall.Kill(-agent.Process.Pid, syscall.SIGTERM)
	agent.Wait()
	t0 = time.Now()
	z.waitProblem(host, noData, true, 2*time.Minute)
	t.Logf("agent stopped -> %q raised in %s (nodata 20s)", noData, time.Since(t0).Round(time.Second))
	t.Logf("whole test %s", time.Since(start).Round(time.Second))
}

// requireZabbix returns PostgreSQL's bin directory, or skips (fails under
// CI) when a package is missing.
func requireZabbix(t *testing.T) string {
	pg, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	missing := []string{}
	for _, p := range []string{zabbixServer, zabbixAgentd, zabbixUI + "/api_jsonrpc.php", zabbixSQL + "/schema.sql.gz", "/usr/bin/php", "/usr/bin/psql"} {
		if _, err := os.Stat(p); err != nil {
			missing = append(missing, p)
		}
	}
	if len(pg) == 0 {
		missing = append(missing, "initdb")
	}
	for _, u := range []string{"zabbix", "postgres"} {
		if _, err := user.Lookup(u); err != nil {
			missing = append(missing, "user "+u)
		}
	}
	if len(missing) > 0 {
		msg := fmt.Sprintf("missing %s: install zabbix-server-pgsql zabbix-frontend-php php-pgsql php-cli postgresql zabbix-agent (make setup)", strings.Join(missing, ", "))
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	sort.Strings(pg)
	return filepath.Dir(pg[len(pg)-1])
}

// zrig holds the programs of one test.
type zrig struct {
	t       *testing.T
	base    string
	pgSock  string
	pgData  string
	pgBin   string
	url     string
	auth    string
	procs   []*exec.Cmd
	names   []string
	mu      sync.Mutex
	stopped bool
	pgOwner *syscall.Credential
}

func (z *zrig) mkdir(parent, name string) string {
	z.t.Helper()
	var d string
	var err error
	if name == "" {
		d, err = os.MkdirTemp(parent, "dwzbx-")
	} else {
		d = filepath.Join(parent, name)
		err = os.Mkdir(d, 0o755)
	}
	if err == nil {
		err = os.Chmod(d, 0o755) // the agent's user walks through it
	}
	if err != nil {
		z.t.Fatal(err)
	}
	return d
}

func (z *zrig) write(p, s string, mode os.FileMode) {
	z.t.Helper()
	if err := os.WriteFile(p, []byte(s), mode); err != nil {
		z.t.Fatal(err)
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// start runs a program in the background, its output in base/NAME.log.
func (z *zrig) start(name string, env []string, argv ...string) *exec.Cmd {
	return z.startAs(name, nil, env, argv...)
}

func (z *zrig) startAs(name string, cred *syscall.Credential, env []string, argv ...string) *exec.Cmd {
	z.t.Helper()
	logf, err := os.Create(filepath.Join(z.base, name+".log"))
	if err != nil {
		z.t.Fatal(err)
	}
	c := exec.Command(argv[0], argv[1:]...)
	c.Stdout, c.Stderr, c.Env = logf, logf, env
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: cred}
	if err := c.Start(); err != nil {
		z.t.Fatalf("%s: %v", name, err)
	}
	z.mu.Lock()
	z.procs, z.names = append(z.procs, c), append(z.names, name)
	z.mu.Unlock()
	return c
}

// stopAll ends every program the test started (its process group),
// newest first, and shows the logs of a failed test.
func (z *zrig) stopAll() {
	z.mu.Lock()
	defer z.mu.Unlock()
	if z.stopped {
		return
	}
	z.stopped = true
	for i := len(z.procs) - 1; i >= 0; i-- {
		c := z.procs[i]
		if c.ProcessState == nil {
			syscall.Kill(-c.Process.Pid, syscall.SIGTERM)
			done := make(chan struct{})
			go func() { c.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
				<-done
			}
		}
		if z.t.Failed() {
			b, _ := os.ReadFile(filepath.Join(z.base, z.names[i]+".log"))
			if len(b) > 3000 {
				b = b[len(b)-3000:]
			}
			z.t.Logf("--- %s log (tail):\n%s", z.names[i], b)
		}
	}
	if z.pgData != "" {
		c := exec.Command(filepath.Join(z.pgBin, "pg_ctl"), "-D", z.pgData, "-m", "immediate", "-w", "stop")
		c.SysProcAttr = &syscall.SysProcAttr{Credential: z.pgOwner}
		c.Run()
	}
}

func (z *zrig) waitFor(what string, timeout time.Duration, ok func() bool) {
	z.t.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			z.t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(time.Second)
	}
}

func credOf(t *testing.T, name string) *syscall.Credential {
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
}

// startPostgres starts a private cluster (unix socket only) and loads
// Debian's Zabbix schema, images and data in one transaction.
func (z *zrig) startPostgres(pgBin string) error {
	z.pgBin, z.pgOwner = pgBin, credOf(z.t, "postgres")
	dir := filepath.Join(z.base, "pg")
	z.pgData, z.pgSock = filepath.Join(dir, "data"), filepath.Join(dir, "sock")
	for _, d := range []string{dir, z.pgSock} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return err
		}
		os.Chown(d, int(z.pgOwner.Uid), int(z.pgOwner.Gid))
	}
	run := func(stdin io.Reader, name string, args ...string) error {
		c := exec.Command(filepath.Join(pgBin, name), args...)
		c.SysProcAttr = &syscall.SysProcAttr{Credential: z.pgOwner}
		c.Stdin = stdin
		if out, err := c.CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %v\n%s", name, err, out)
		}
		return nil
	}
	if err := run(nil, "initdb", "-D", z.pgData, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"); err != nil {
		return err
	}
	opts := "-k " + z.pgSock + " -p 5432 -c listen_addresses= -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
	if err := run(nil, "pg_ctl", "-D", z.pgData, "-o", opts, "-l", filepath.Join(z.pgSock, "postgres.log"), "-w", "start"); err != nil {
		return err
	}
	if err := run(nil, "psql", "-h", z.pgSock, "-U", "postgres", "-qc", "CREATE DATABASE zabbix"); err != nil {
		return err
	}
	pr, pw := io.Pipe()
	go func() {
		// Debian's own dump is consistent: skip the per-row foreign key
		// checks of its 170,000 INSERTs (measured on a loaded 2-core machine:
		// 51-62 s instead of 84-119 s).
		_, err := io.WriteString(pw, "SET session_replication_role = replica;\n")
		for _, f := range []string{"schema", "images", "data"} {
			if err != nil {
				break
			}
			if err = copyGunzip(pw, filepath.Join(zabbixSQL, f+".sql.gz")); err != nil {
				break
			}
		}
		pw.CloseWithError(err)
	}()
	if err := run(pr, "psql", "-h", z.pgSock, "-U", "postgres", "-q", "-1", "-v", "ON_ERROR_STOP=1", "-o", "/dev/null", "zabbix"); err != nil {
		return err
	}
	// Statistics for the planner: without them linking the template to a
	// host takes minutes (trigger dependency queries over a fresh load).
	return run(nil, "psql", "-h", z.pgSock, "-U", "postgres", "-qc", "ANALYZE", "zabbix")
}

func copyGunzip(w io.Writer, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return err
	}
	_, err = io.Copy(w, zr)
	return err
}

// startFrontend serves a copy of Debian's frontend (hard links; the
// config-file path pointed at the test's own) with `php -S`.
func (z *zrig) startFrontend() {
	ui := filepath.Join(z.base, "ui")
	if out, err := exec.Command("cp", "-al", zabbixUI, ui).CombinedOutput(); err != nil {
		z.t.Logf("hard links impossible (%v: %s): copying", err, out)
		if out, err := exec.Command("cp", "-a", zabbixUI, ui).CombinedOutput(); err != nil {
			z.t.Fatalf("copy frontend: %v\n%s", err, out)
		}
	}
	conf := filepath.Join(z.base, "zabbix.conf.php")
	cf := filepath.Join(ui, "include", "classes", "core", "CConfigFile.php")
	b := mustRead(z.t, cf)
	nb := bytes.Replace(b, []byte("'/etc/zabbix/zabbix.conf.php'"), []byte("'"+conf+"'"), 1)
	if bytes.Equal(b, nb) {
		z.t.Fatalf("%s: the config file path is not /etc/zabbix/zabbix.conf.php", cf)
	}
	os.Remove(cf) // a hard link: never write through it
	z.write(cf, string(nb), 0o644)
	z.write(conf, fmt.Sprintf(`<?php
$DB['TYPE'] = 'POSTGRESQL';
$DB['SERVER'] = '%s';
$DB['PORT'] = '5432';
$DB['DATABASE'] = 'zabbix';
$DB['USER'] = 'postgres';
$DB['PASSWORD'] = '';
$DB['SCHEMA'] = '';
$DB['ENCRYPTION'] = false;
$DB['KEY_FILE'] = '';
$DB['CERT_FILE'] = '';
$DB['CA_FILE'] = '';
$DB['VERIFY_HOST'] = false;
$DB['CIPHER_LIST'] = '';
$DB['VAULT_URL'] = '';
$DB['VAULT_DB_PATH'] = '';
$DB['VAULT_TOKEN'] = '';
$DB['DOUBLE_IEEE754'] = true;
$ZBX_SERVER_NAME = 'diskwatch test';
$IMAGE_FORMAT_DEFAULT = IMAGE_FORMAT_PNG;
`, z.pgSock), 0o644)
	port := upstest.FreePort(z.t)
	z.url = fmt.Sprintf("http://127.0.0.1:%d/api_jsonrpc.php", port)
	z.start("php", os.Environ(), "php", "-S", fmt.Sprintf("127.0.0.1:%d", port), "-t", ui)
	z.waitFor("the frontend's API", 30*time.Second, func() bool {
		var v string
		return z.try("apiinfo.version", map[string]any{}, &v) == nil && v != ""
	})
}

// call is one JSON-RPC request to the frontend's API.
func (z *zrig) call(method string, params, out any) {
	z.t.Helper()
	if err := z.try(method, params, out); err != nil {
		z.t.Fatal(err)
	}
}

func (z *zrig) try(method string, params, out any) error {
	req := map[string]any{"jsonrpc": "2.0", "method": method, "params": params, "id": 1}
	if z.auth != "" && method != "apiinfo.version" {
		req["auth"] = z.auth
	}
	body, _ := json.Marshal(req)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	hr, _ := http.NewRequestWithContext(ctx, "POST", z.url, bytes.NewReader(body))
	hr.Header.Set("Content-Type", "application/json-rpc")
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var r struct {
		Result json.RawMessage
		Error  *struct {
			Code    int
			Message string
			Data    string
		}
	}
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &r); err != nil {
		return fmt.Errorf("%s: %v: %.300s", method, err, b)
	}
	if r.Error != nil {
		return fmt.Errorf("%s: %s %s", method, r.Error.Message, r.Error.Data)
	}
	return json.Unmarshal(r.Result, out)
}

func (z *zrig) login() {
	var tok string
	z.call("user.login", map[string]any{"username": "Admin", "password": "zabbix"}, &tok)
	z.auth = tok
}

func importRules() map[string]any {
	r := map[string]any{"templateLinkage": map[string]any{"createMissing": true}}
	for _, k := range []string{"groups", "templates"} {
		r[k] = map[string]any{"createMissing": true, "updateExisting": true}
	}
	for _, k := range []string{"items", "discoveryRules", "triggers", "valueMaps", "graphs", "httptests", "templateDashboards"} {
		r[k] = map[string]any{"createMissing": true, "updateExisting": true, "deleteMissing": true}
	}
	return r
}

// checkImport compares what the server holds with the shipped file and
// returns the template's id.
func (z *zrig) checkImport(src []byte, took time.Duration) string {
	var f struct {
		Export struct {
			Templates []struct {
				Items []struct {
					Triggers []any
				}
				DiscoveryRules []struct {
					ItemPrototypes    []any `yaml:"item_prototypes"`
					TriggerPrototypes []any `yaml:"trigger_prototypes"`
				} `yaml:"discovery_rules"`
				Macros    []any
				Tags      []any
				Valuemaps []any
			}
		} `yaml:"zabbix_export"`
	}
	if err := yaml.Unmarshal(src, &f); err != nil {
		z.t.Fatal(err)
	}
	ft := f.Export.Templates[0]
	want := map[string]int{"items": len(ft.Items), "discovery rules": len(ft.DiscoveryRules), "user macros": len(ft.Macros), "tags": len(ft.Tags), "value maps": len(ft.Valuemaps)}
	for _, it := range ft.Items {
		want["triggers"] += len(it.Triggers)
	}
	for _, r := range ft.DiscoveryRules {
		want["item prototypes"] += len(r.ItemPrototypes)
		want["trigger prototypes"] += len(r.TriggerPrototypes)
	}
	var tpls []struct {
		Templateid  string
		Items       json.Number
		Triggers    json.Number
		Discoveries json.Number
		Macros      []any
		Tags        []any
		Valuemaps   []any
	}
	z.call("template.get", map[string]any{"filter": map[string]any{"host": templateName}, "selectItems": "count", "selectTriggers": "count",
		"selectDiscoveries": "count", "selectMacros": "extend", "selectTags": "extend", "selectValueMaps": "extend"}, &tpls)
	if len(tpls) != 1 {
		z.t.Fatalf("template %q not on the server after import", templateName)
	}
	tp := tpls[0]
	var ip, tpc json.Number
	z.call("itemprototype.get", map[string]any{"templateids": tp.Templateid, "countOutput": true}, &ip)
	z.call("triggerprototype.get", map[string]any{"templateids": tp.Templateid, "countOutput": true}, &tpc)
	n := func(x json.Number) int { v, _ := x.Int64(); return int(v) }
	got := map[string]int{"items": n(tp.Items), "discovery rules": n(tp.Discoveries), "user macros": len(tp.Macros), "tags": len(tp.Tags),
		"value maps": len(tp.Valuemaps), "triggers": n(tp.Triggers), "item prototypes": n(ip), "trigger prototypes": n(tpc)}
	z.t.Logf("configuration.import took %s: %v", took.Round(time.Millisecond), got)
	for k, w := range want {
		if got[k] != w || w == 0 {
			z.t.Errorf("imported %s: %d, file has %d", k, got[k], w)
		}
	}
	return tp.Templateid
}

// buildRoot is a host root: node_exporter's hwmon fixture plus proc/ and
// sys/ of one rig capture (a real kernel's md state).
func (z *zrig) buildRoot(capture string) string {
	root := hwmontest.BuildRoot(z.t)
	src := filepath.Join(capturesDir, capture)
	for _, sub := range []string{"proc", "sys"} {
		if out, err := exec.Command("cp", "-a", filepath.Join(src, sub), root+"/").CombinedOutput(); err != nil {
			z.t.Fatalf("copy %s/%s: %v\n%s", capture, sub, err, out)
		}
	}
	return root
}

// mountNamespace starts a process holding a private mount namespace and
// returns its pid (for nsenter).
func (z *zrig) mountNamespace() string {
	h := z.start("mountns", os.Environ(), "unshare", "--mount", "--propagation", "private", "sleep", "3600")
	pid := strconv.Itoa(h.Process.Pid)
	self, _ := os.Readlink("/proc/self/ns/mnt")
	z.waitFor("the mount namespace", 10*time.Second, func() bool {
		l, err := os.Readlink("/proc/" + pid + "/ns/mnt")
		return err == nil && l != self
	})
	return pid
}

// show mounts root's sys/ and proc/ over /sys and /proc in namespace ns
// (each mount is atomic for a reader; the newest one is seen).
func (z *zrig) show(ns, root string) {
	z.t.Helper()
	for _, d := range []string{"sys", "proc"} {
		if out, err := exec.Command("nsenter", "-t", ns, "-m", "--", "mount", "--bind", filepath.Join(root, d), "/"+d).CombinedOutput(); err != nil {
			z.t.Fatalf("mount %s/%s: %v\n%s", root, d, err, out)
		}
	}
}

// fakeSmartctl is a smartctl that prints real captures
// (collectors/smartctl/testdata, SOURCES.md there) for /dev/sdb and
// /dev/nvme0; it returns its directory.
func (z *zrig) fakeSmartctl() string {
	dir := z.mkdir(z.base, "fakebin")
	ata, _ := filepath.Abs("../../collectors/smartctl/testdata/scrutiny/smart-ata.json")
	nvme, _ := filepath.Abs("../../collectors/smartctl/testdata/scrutiny/smart-nvme2.json")
	z.write(filepath.Join(dir, "smartctl"), "#!/bin/sh\nfor last; do :; done\ncase \"$last\" in\n/dev/sdb) cat '"+ata+"';;\n/dev/nvme0) cat '"+nvme+"';;\n*) exit 2;;\nesac\n", 0o755)
	return dir
}

// startAgent runs zabbix_agentd as root dropping to user zabbix (as
// Debian's service does), with the shipped UserParameter file in a
// zabbix_agentd.conf.d/ it includes the way Debian's zabbix_agentd.conf
// does; it returns the agent's port.
func (z *zrig) startAgent(bin, state string) (*exec.Cmd, int) {
	t := z.t
	// The directory README tells operators is the one Debian's agent reads.
	if b, err := os.ReadFile("/etc/zabbix/zabbix_agentd.conf"); err == nil && !regexp.MustCompile(`(?m)^Include=/etc/zabbix/zabbix_agentd\.conf\.d/\*\.conf$`).Match(b) {
		t.Errorf("/etc/zabbix/zabbix_agentd.conf does not include /etc/zabbix/zabbix_agentd.conf.d/*.conf")
	}
	dir := z.mkdir(z.base, "agent")
	confd := z.mkdir(dir, "zabbix_agentd.conf.d")
	up := mustRead(t, userParamFile)
	lines := bytes.Count(up, []byte("\nUserParameter="))
	// Installed elsewhere than /usr/local/bin: the path is what changes.
	up = bytes.ReplaceAll(up, []byte(",/usr/local/bin/diskwatch-zabbix "), []byte(","+bin+"/diskwatch-zabbix "))
	if lines == 0 || bytes.Count(up, []byte(","+bin+"/diskwatch-zabbix ")) != lines {
		t.Fatalf("UserParameter lines must run /usr/local/bin/diskwatch-zabbix:\n%s", up)
	}
	z.write(filepath.Join(confd, "userparameter_diskwatch.conf"), string(up), 0o644)
	zc := credOf(t, "zabbix")
	os.Chown(dir, int(zc.Uid), int(zc.Gid))
	port := zabbixPort(t)
	conf := filepath.Join(dir, "zabbix_agentd.conf")
	z.write(conf, fmt.Sprintf("PidFile=%s/agentd.pid\nLogType=console\nServer=127.0.0.1\nListenIP=127.0.0.1\nListenPort=%d\nStartAgents=3\nTimeout=10\nHostname=diskwatch-test\nUser=zabbix\nInclude=%s/*.conf\n", dir, port, confd), 0o644)
	env := append(os.Environ(), "DISKWATCH_STATE="+state)
	// As README says: check the item as the agent's user first.
	c := exec.Command("runuser", "-u", "zabbix", "--", zabbixAgentd, "-c", conf, "-t", "diskwatch.get[auto]")
	c.Env = env
	out, err := c.CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte(`[t|{"running":1,"error":""`)) {
		t.Fatalf("zabbix_agentd -t as zabbix: %v\n%.500s", err, out)
	}
	z.agent2(confd, env)
	a := z.start("agent", env, zabbixAgentd, "-f", "-c", conf)
	z.waitFor("the agent's port", 30*time.Second, func() bool {
		st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", a.Process.Pid))
		return err == nil && regexp.MustCompile(fmt.Sprintf(`(?m)^Uid:\s+%d\s`, zc.Uid)).Match(st) && portOpen(port)
	})
	return a, port
}

// zabbixPort is a port free on 127.0.0.1 in the range Zabbix accepts
// (1024-32767; the kernel's ephemeral ports are above it).
func zabbixPort(t *testing.T) int {
	for p := 20000 + os.Getpid()%10000; p < 32768; p += 7 {
		if l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p)); err == nil {
			l.Close()
			return p
		}
	}
	t.Fatal("no free port in 20000-32767")
	return 0
}

// agent2 runs the same UserParameter file under Zabbix agent 2 (Debian's
// zabbix-agent2 reads /etc/zabbix/zabbix_agent2.d/*.conf), as user zabbix.
func (z *zrig) agent2(confd string, env []string) {
	t := z.t
	if _, err := os.Stat(zabbixAgent2); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s missing: install zabbix-agent2 (make setup)", zabbixAgent2)
		}
		t.Logf("%s missing: agent 2 not checked", zabbixAgent2)
		return
	}
	if b, err := os.ReadFile("/etc/zabbix/zabbix_agent2.conf"); err == nil && !regexp.MustCompile(`(?m)^Include=/etc/zabbix/zabbix_agent2\.d/\*\.conf$`).Match(b) {
		t.Errorf("/etc/zabbix/zabbix_agent2.conf does not include /etc/zabbix/zabbix_agent2.d/*.conf")
	}
	dir := filepath.Dir(confd)
	conf := filepath.Join(dir, "zabbix_agent2.conf")
	z.write(conf, fmt.Sprintf("LogType=console\nPidFile=%s/agent2.pid\nControlSocket=%s/agent2.sock\nInclude=%s/*.conf\n", dir, dir, confd), 0o644)
	c := exec.Command("runuser", "-u", "zabbix", "--", zabbixAgent2, "-c", conf, "-t", "diskwatch.get[auto]")
	c.Env = env
	out, err := c.CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte(`|{"running":1,"error":""`)) || !bytes.Contains(out, []byte(`"name":"md0","level":"raid1","state":"clean"`)) {
		t.Errorf("zabbix_agent2 -t as zabbix: %v\n%.500s", err, out)
	}
}

func portOpen(port int) bool {
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// startServer runs zabbix_server on the database, polling often.
func (z *zrig) startServer() {
	dir := z.mkdir(z.base, "server")
	conf := filepath.Join(dir, "zabbix_server.conf")
	z.write(conf, fmt.Sprintf(`LogType=console
PidFile=%[1]s/server.pid
SocketDir=%[1]s
DBHost=%[2]s
DBPort=5432
DBName=zabbix
DBUser=postgres
ListenIP=127.0.0.1
ListenPort=%[3]d
AllowRoot=1
CacheUpdateFrequency=1
StartPollers=2
StartPollersUnreachable=1
StartTrappers=1
StartPingers=0
StartDiscoverers=0
StartHTTPPollers=0
StartLLDProcessors=1
StartPreprocessors=2
StartDBSyncers=1
StartEscalators=1
StartAlerters=1
StartTimers=1
StartHistoryPollers=1
StartReportWriters=0
HousekeepingFrequency=0
Timeout=10
`, dir, z.pgSock, zabbixPort(z.t)), 0o644)
	z.start("server", os.Environ(), zabbixServer, "-f", "-c", conf)
}

type zitem struct {
	Itemid    string
	Key       string `json:"key_"`
	Lastvalue string
	Lastclock string
	State     string
	Error     string
	Flags     string
}

func (z *zrig) items(host string) []zitem {
	var items []zitem
	z.call("item.get", map[string]any{"hostids": host, "output": []string{"itemid", "key_", "lastvalue", "lastclock", "state", "error", "flags"}}, &items)
	return items
}

func hasValue(items []zitem, keyPrefix string) bool {
	for _, it := range items {
		if strings.HasPrefix(it.Key, keyPrefix) && it.Lastclock != "0" && it.State == "0" {
			return true
		}
	}
	return false
}

func (z *zrig) value(items []zitem, key string) string {
	for _, it := range items {
		if it.Key == key {
			return it.Lastvalue
		}
	}
	z.t.Errorf("no item %s", key)
	return ""
}

func (z *zrig) expectValue(items []zitem, key, want string) {
	if v := z.value(items, key); v != want {
		z.t.Errorf("%s = %q, want %q", key, v, want)
	}
}

// waitProblem waits until the trigger named name is in PROBLEM (or OK)
// and returns its operational data.
func (z *zrig) waitProblem(host, name string, problem bool, timeout time.Duration) string {
	z.t.Helper()
	var opdata string
	want := "0"
	if problem {
		want = "1"
	}
	z.waitFor(fmt.Sprintf("trigger %q value %s", name, want), timeout, func() bool {
		var trs []struct {
			Description string
			Value       string
		}
		z.call("trigger.get", map[string]any{"hostids": host, "expandDescription": true, "output": []string{"description", "value"}}, &trs)
		for _, tr := range trs {
			if tr.Description == name && tr.Value == want {
				opdata = z.lastOpdata(host, name)
				return true
			}
		}
		return false
	})
	return opdata
}

// lastOpdata is the operational data of the trigger's items now (the
// trigger's opdata with {ITEM.LASTVALUE2} expanded).
func (z *zrig) lastOpdata(host, name string) string {
	var trs []struct {
		Description string
		Items       []struct {
			Key       string `json:"key_"`
			Lastvalue string
		}
	}
	z.call("trigger.get", map[string]any{"hostids": host, "expandDescription": true, "output": []string{"description"},
		"selectItems": []string{"key_", "lastvalue"}}, &trs)
	for _, tr := range trs {
		if tr.Description != name {
			continue
		}
		for _, it := range tr.Items {
			if strings.Contains(it.Key, "problems") || it.Key == "diskwatch.error" {
				return it.Lastvalue
			}
		}
	}
	return ""
}
