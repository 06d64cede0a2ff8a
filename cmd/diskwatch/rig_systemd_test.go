package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/diskwatch/diskwatch/alerts/output/cli"
	"github.com/diskwatch/diskwatch/alerts/output/snapshot"
	"github.com/diskwatch/diskwatch/alerts/output/zabbix"
	"github.com/diskwatch/diskwatch/cmd/diskwatch/internal/rig"
)

// rigRootPackages are added to a minbase bookworm root for
// TestRigSystemd: systemd as PID 1, udev, mdadm, Debian's Zabbix agent.
var rigRootPackages = []string{"systemd-sysv", "udev", "mdadm", "zabbix-agent", "procps"}

// rigCacheDir is where the Debian root image is kept between runs
// (~/.cache/diskwatch/rig, or under XDG_CACHE_HOME).
func rigCacheDir(t *testing.T) string {
	c := os.Getenv("XDG_CACHE_HOME")
	if c == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			home = os.TempDir() // no HOME: a cache that lasts until reboot
		}
		c = filepath.Join(home, ".cache")
	}
	return filepath.Join(c, "diskwatch", "rig")
}

// capMask is the capability set the unit grants: CAP_SYS_RAWIO (17),
// CAP_SYS_ADMIN (21), CAP_MKNOD (27), CAP_SYSLOG (34).
const capMask = "0000000408220000"

// TestRigSystemd installs the .deb that `make package` builds into a
// Debian bookworm root (debootstrap) booted with systemd as PID 1 on the
// rig's kernel, with an AHCI disk, an NVMe disk, two disks behind an
// emulated MegaRAID and two AHCI disks for an md RAID1, and checks, as an
// operator would, with systemctl, journalctl, apt and the Zabbix agent:
// install enables nothing; start reaches READY with exactly the unit's
// capabilities and reads every disk (SATA SMART, NVMe SMART, the MegaRAID
// disks through the ioctl node it creates) with no permission error;
// the Zabbix agent as user zabbix reads the items; reload re-reads the
// configuration (and keeps it when the new file is bad); a failed md
// member raises the CRITICAL alert in the journal; the watchdog is
// petted, and a stopped daemon is killed and restarted by systemd; each
// capability is needed (without it the collector that needs it fails);
// apt purge leaves nothing behind.
func TestRigSystemd(t *testing.T) {
	rigRequire(t)
	if m := rig.RootMissing(); len(m) > 0 {
		if os.Getenv("CI") != "" {
			t.Fatalf("missing: %s (.ci/setup installs them)", strings.Join(m, ", "))
		}
		t.Skipf("missing: %s", strings.Join(m, ", "))
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	pkg := makeRelease(t)
	t.Logf("package %s (%d bytes) built in %v", filepath.Base(pkg.deb), fileSize(pkg.deb), time.Since(start).Round(time.Millisecond))
	// The next revision of the same package, for the upgrade.
	up := t.TempDir()
	root, _ := filepath.Abs("../..")
	mk := exec.CommandContext(ctx, "make", "-s", "package", "PKG_RELEASE=2", "BINDIR="+filepath.Join(up, "bin"), "BUILD="+filepath.Join(up, "build"), "DIST="+up)
	mk.Dir = root
	if out, err := mk.CombinedOutput(); err != nil {
		t.Fatalf("make package PKG_RELEASE=2: %v\n%s", err, out)
	}
	deb2, _ := filepath.Glob(filepath.Join(up, "diskwatch_*-2_*.deb"))
	if len(deb2) != 1 {
		t.Fatalf("make package PKG_RELEASE=2 made no single .deb in %s", up)
	}
	version2 := strings.TrimSuffix(pkg.version, "-1") + "-2"
	img, err := rig.DebianRoot(ctx, rigCacheDir(t), rig.RootSpec{Include: rigRootPackages}, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	kcache, err := filepath.Abs("../../testdata/rig/work")
	if err != nil {
		t.Fatal(err)
	}
	vm, err := rig.Boot(ctx, rig.Config{
		CacheDir:  kcache,
		Root:      img,
		MemoryMiB: 1024,
		Files:     map[string]string{"/root/diskwatch.deb": pkg.deb, "/root/diskwatch-2.deb": deb2[0]},
		Disks: []rig.Disk{
			{ID: "SATA0", Bus: rig.AHCI}, {ID: "MDA", Bus: rig.AHCI}, {ID: "MDB", Bus: rig.AHCI},
			{ID: "NVME0", Bus: rig.NVMe},
			// Two disks on one controller: the second is MFI device id 256.
			{ID: "MEGA0", Bus: rig.MegaSAS}, {ID: "MEGA1", Bus: rig.MegaSAS},
		},
		BootTimeout: 5 * time.Minute,
		Log:         t.Logf,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer vm.Close()
	defer func() {
		if t.Failed() {
			c := strings.Split(strings.TrimRight(vm.ConsoleLog(), "\n"), "\n")
			t.Logf("guest console (tail):\n%s", strings.Join(c[max(0, len(c)-60):], "\n"))
			r, _ := vm.Exec(ctx, time.Minute, "journalctl -u diskwatch --no-pager -o short-monotonic | tail -60; systemctl status diskwatch --no-pager")
			t.Logf("guest journal of diskwatch:\n%s", r.Output)
		}
	}()
	// sh runs a step that must succeed.
	sh := func(timeout time.Duration, script string) string {
		t.Helper()
		out, err := vm.MustExec(ctx, timeout, script)
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		return string(out)
	}
	// prop reads systemctl show properties of diskwatch.
	prop := func(names ...string) map[string]string {
		t.Helper()
		out := sh(30*time.Second, "systemctl show diskwatch -p "+strings.Join(names, " -p "))
		m := map[string]string{}
		for _, l := range strings.Split(out, "\n") {
			if k, v, ok := strings.Cut(l, "="); ok {
				m[k] = v
			}
		}
		return m
	}
	// waitJournal waits until the diskwatch unit's journal matches re.
	waitJournal := func(re *regexp.Regexp, within time.Duration) (string, time.Duration) {
		t.Helper()
		t0 := time.Now()
		for {
			out := sh(30*time.Second, "journalctl -u diskwatch --no-pager -o cat")
			if m := re.FindString(out); m != "" {
				return m, time.Since(t0)
			}
			if time.Since(t0) > within {
				t.Fatalf("journal of diskwatch: no %q within %v:\n%s", re, within, tail(out, 30))
			}
			time.Sleep(2 * time.Second)
		}
	}

	out := sh(5*time.Minute, "systemctl is-system-running --wait; systemctl --failed --no-legend --plain; uname -r; systemctl --version | head -1; cat /proc/sys/kernel/dmesg_restrict")
	t.Logf("guest booted to the rig agent in %v: %s", vm.BootTime.Round(time.Millisecond), strings.Join(strings.Fields(out), " "))
	dev, err := vm.BlockBySerial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"SATA0", "MDA", "MDB", "NVME0"} {
		if dev[s] == "" {
			t.Fatalf("no guest disk with serial %s: %v", s, dev)
		}
	}

	// What is on disk before the package: purge must return to it.
	const listFS = `find / -xdev \( -path /proc -o -path /sys -o -path /dev -o -path /run -o -path /tmp -o -path /var/tmp ` +
		`-o -path /var/log/journal -o -path /var/log/apt -o -path /var/cache -o -path /var/lib/apt -o -path /var/lib/dpkg -o -path /root ` +
		`-o -path /var/lib/systemd/timers -o -path /var/lib/systemd/random-seed -o -path /var/lib/systemd/catalog \) -prune ` +
		`-o -printf '%p %M %u:%g\n' | sort`
	before := sh(2*time.Minute, listFS)

	// Install: nothing enabled, nothing started, the state directory made.
	t0 := time.Now()
	out = sh(3*time.Minute, "DEBIAN_FRONTEND=noninteractive apt-get install -y /root/diskwatch.deb 2>&1")
	t.Logf("apt-get install took %v", time.Since(t0).Round(time.Millisecond))
	if !strings.Contains(out, "neither enabled nor started") {
		t.Errorf("postinst does not say what it left undone:\n%s", out)
	}
	out = sh(time.Minute, `diskwatch --version; dpkg-query -W -f '${Version}\n' diskwatch; systemctl is-enabled diskwatch; systemctl is-active diskwatch;
stat -c '%n %a %U:%G' /var/lib/diskwatch /etc/diskwatch/diskwatch.yaml; test -e /dev/megaraid_sas_ioctl_node && echo node-exists || echo no-node; true`)
	want := fmt.Sprintf("diskwatch %s\n%s\ndisabled\ninactive\n/var/lib/diskwatch 755 root:root\n/etc/diskwatch/diskwatch.yaml 640 root:root\nno-node\n", pkg.version, pkg.version)
	if out != want {
		t.Errorf("after install:\n%s\nwant:\n%s", out, want)
	}

	// An md RAID1 that the daemon will see degraded.
	sh(time.Minute, fmt.Sprintf("mdadm --create /dev/md0 --run --level=1 --raid-devices=2 --metadata=1.2 --assume-clean /dev/%s /dev/%s && cat /proc/mdstat", dev["MDA"], dev["MDB"]))

	// Start: Type=notify, so start returns once READY=1 came.
	t0 = time.Now()
	sh(6*time.Minute, "systemctl start diskwatch")
	startTime := time.Since(t0)
	p := prop("ActiveState", "SubState", "MainPID", "NRestarts", "WatchdogUSec", "WatchdogTimestampMonotonic")
	t.Logf("systemctl start diskwatch: %v (READY after the first round); %v", startTime.Round(time.Millisecond), p)
	if p["ActiveState"] != "active" || p["SubState"] != "running" || p["WatchdogUSec"] != "1min" {
		t.Fatalf("after start: %v", p)
	}
	pid := p["MainPID"]
	out = sh(30*time.Second, "grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb):' /proc/"+pid+"/status; grep -E '^(NoNewPrivs|Seccomp):' /proc/"+pid+"/status")
	for _, c := range []string{"CapPrm:\t" + capMask, "CapEff:\t" + capMask, "CapBnd:\t" + capMask, "NoNewPrivs:\t1", "Seccomp:\t2"} {
		if !strings.Contains(out, c) {
			t.Errorf("daemon's /proc/PID/status lacks %q:\n%s", c, out)
		}
	}
	j := sh(30*time.Second, "journalctl -u diskwatch --no-pager -o cat")
	for _, w := range []string{"systemd watchdog enabled", "diskwatch daemon ready", "Started diskwatch.service"} {
		if !strings.Contains(j, w) && !strings.Contains(j, strings.TrimSuffix(w, ".service")) {
			t.Errorf("journal lacks %q:\n%s", w, j)
		}
	}
	for _, bad := range []string{"operation not permitted", "permission denied", "EPERM", "EACCES"} {
		if strings.Contains(strings.ToLower(j), strings.ToLower(bad)) {
			t.Errorf("journal shows a permission failure (%q) under the unit:\n%s", bad, j)
		}
	}
	// The MegaRAID ioctl node, made by the daemon under the unit.
	out = sh(30*time.Second, "stat -c '%F %a' /dev/megaraid_sas_ioctl_node")
	if strings.TrimSpace(out) != "character special file 600" {
		t.Errorf("megaraid ioctl node: %q", out)
	}
	// Every disk read: SATA and NVMe SMART, the MegaRAID disks through
	// MFI; every collector ok.
	if out := sh(30*time.Second, "stat -c '%a' /var/lib/diskwatch/snapshot.json"); strings.TrimSpace(out) != "644" {
		t.Errorf("snapshot.json mode %q, want 644 (read by the Zabbix agent)", out)
	}
	raw := sh(30*time.Second, "cat /var/lib/diskwatch/snapshot.json")
	var doc snapshot.Doc
	if err := json.Unmarshal([]byte(raw), &doc); err != nil || doc.Snapshot == nil {
		t.Fatalf("snapshot.json: %v\n%s", err, tail(raw, 10))
	}
	seen := map[string]string{}
	for _, d := range doc.Snapshot.Disks {
		seen[d.Device.Serial] = fmt.Sprintf("%s smart_available=%v errors=%v", d.Device.Path, d.SMARTAvailable, d.Errors)
	}
	t.Logf("disks in the daemon's snapshot: %v", seen)
	for _, s := range []string{"SATA0", "NVME0"} {
		if !strings.Contains(seen[s], "smart_available=true errors=[]") {
			t.Errorf("disk %s: %q, want SMART read", s, seen[s])
		}
	}
	for _, src := range doc.Snapshot.Sources {
		t.Logf("source %s: %s %v", src.Name, src.State, src.Errors)
		if src.State != "ok" {
			t.Errorf("collector %s under the unit: %s %v", src.Name, src.State, src.Errors)
		}
	}

	// The Zabbix agent, as user zabbix, reads the item through the
	// packaged snippet (Debian's agent includes zabbix_agentd.conf.d).
	zbx := func() zabbix.Master {
		t.Helper()
		out := sh(time.Minute, "runuser -u zabbix -- zabbix_agentd -t 'diskwatch.get[auto]'")
		m := regexp.MustCompile(`(?s)\[t\|(.*)\]\s*$`).FindStringSubmatch(out)
		var v zabbix.Master
		if m == nil || json.Unmarshal([]byte(m[1]), &v) != nil || v.Readings == nil {
			t.Fatalf("zabbix_agentd -t diskwatch.get[auto] as zabbix: %s", out)
		}
		return v
	}
	md0Degraded := func(v zabbix.Master) int {
		for _, a := range v.Arrays {
			if a.Name == "md0" {
				return a.Degraded
			}
		}
		return -1
	}
	v := zbx()
	var serials []string
	for _, d := range v.Disks {
		serials = append(serials, d.Serial)
	}
	t.Logf("zabbix_agentd -t diskwatch.get[auto] as zabbix: running %d, severity %d (%s; %s), disks %v, md0 degraded %d", v.Running, v.Severity, v.Problems, v.OtherProblems, serials, md0Degraded(v))
	if v.Running != 1 || md0Degraded(v) != 0 || !slices.Contains(serials, "NVME0") || !slices.Contains(serials, "SATA0") {
		t.Errorf("Zabbix item before the failure: running %d, md0 degraded %d, disks %v", v.Running, md0Degraded(v), serials)
	}

	// Reload: a bad file is refused and the daemon keeps running; a good
	// one (hwmon off, 5 s rounds) is applied.
	sh(30*time.Second, "cp -p /etc/diskwatch/diskwatch.yaml /root/diskwatch.yaml.orig; printf 'collectors:\\n  nosuch: {}\\n' >/etc/diskwatch/diskwatch.yaml; systemctl reload diskwatch")
	waitJournal(regexp.MustCompile(`configuration reload failed; keeping the running configuration`), 2*time.Minute)
	sh(30*time.Second, `sed -e 's/^  interval: [0-9a-z]* /  interval: 5s /' -e 's/mdraid: [0-9a-z]*/mdraid: 5s/' /root/diskwatch.yaml.orig >/etc/diskwatch/diskwatch.yaml
awk '/^  hwmon:/{h=1} h && /enabled: true/{sub("true","false"); h=0} {print}' /etc/diskwatch/diskwatch.yaml >/root/c && cat /root/c >/etc/diskwatch/diskwatch.yaml
grep -n 'interval: 5s' /etc/diskwatch/diskwatch.yaml && grep -n 'mdraid: 5s' /etc/diskwatch/diskwatch.yaml && diskwatch config check /etc/diskwatch/diskwatch.yaml && systemctl reload diskwatch`)
	line, took := waitJournal(regexp.MustCompile(`.*configuration reloaded.*`), 2*time.Minute)
	t.Logf("reload applied after %v: %s", took.Round(time.Millisecond), line)
	if p := prop("ActiveState", "MainPID"); p["ActiveState"] != "active" || p["MainPID"] != pid {
		t.Errorf("after the reloads: %v (main PID was %s)", p, pid)
	}

	// A real degraded array: the CRITICAL alert in the journal, and in Zabbix.
	sh(time.Minute, fmt.Sprintf("mdadm /dev/md0 --fail /dev/%s && cat /proc/mdstat", dev["MDB"]))
	// The journal holds logfmt (read by people): rule=md.degraded ... severity=CRITICAL.
	line, took = waitJournal(regexp.MustCompile(`.*rule=md\.degraded .*severity=CRITICAL.*`), 3*time.Minute)
	t.Logf("md.degraded alert in the journal %v after mdadm --fail: %s", took.Round(time.Millisecond), line)
	for i := 0; ; i++ {
		if d := md0Degraded(zbx()); d == 1 {
			break
		} else if i == 20 {
			t.Errorf("Zabbix: md0 degraded = %d after the failure", d)
			break
		}
		time.Sleep(3 * time.Second)
	}

	// The watchdog is petted: the same process lives on past WatchdogSec
	// and systemd's last ping is later than at start.
	var p2 map[string]string
	for {
		p2 = prop("ActiveState", "MainPID", "NRestarts", "WatchdogTimestampMonotonic", "ActiveEnterTimestampMonotonic")
		up, _ := strconv.ParseFloat(strings.TrimSpace(sh(10*time.Second, "cut -d' ' -f1 /proc/uptime")), 64)
		if alive := time.Duration(up*1e6)*time.Microsecond - time.Duration(atoi(p2["ActiveEnterTimestampMonotonic"]))*time.Microsecond; alive > 75*time.Second {
			t.Logf("watchdog: active for %v (WatchdogSec 1min): %v", alive.Round(time.Second), p2)
			break
		}
		time.Sleep(5 * time.Second)
	}
	if p2["ActiveState"] != "active" || p2["MainPID"] != pid || p2["NRestarts"] != "0" || atoi(p2["WatchdogTimestampMonotonic"]) <= atoi(p["WatchdogTimestampMonotonic"]) {
		t.Errorf("watchdog not petted: at start %v, now %v", p, p2)
	}
	// A stopped daemon stops petting: systemd kills it (SIGABRT) and
	// restarts it.
	sh(10*time.Second, "kill -STOP "+pid)
	t0 = time.Now()
	for {
		time.Sleep(3 * time.Second)
		p3 := prop("ActiveState", "SubState", "MainPID", "NRestarts")
		if p3["ActiveState"] == "active" && p3["MainPID"] != pid && p3["MainPID"] != "0" {
			t.Logf("restarted %v after kill -STOP: %v", time.Since(t0).Round(time.Second), p3)
			if p3["NRestarts"] != "1" {
				t.Errorf("NRestarts = %s, want 1", p3["NRestarts"])
			}
			break
		}
		if time.Since(t0) > 5*time.Minute {
			t.Fatalf("not restarted 5 min after kill -STOP: %v", p3)
		}
	}
	j = sh(30*time.Second, "journalctl -u diskwatch --no-pager -o cat")
	if !strings.Contains(j, "Watchdog timeout") {
		t.Errorf("journal does not say the watchdog fired:\n%s", tail(j, 30))
	}

	// Upgrade to the next revision: the running daemon is restarted on the
	// new binary, the administrator's configuration is kept, nothing is
	// enabled.
	pidBefore := prop("MainPID")["MainPID"]
	t0 = time.Now()
	out = sh(3*time.Minute, "DEBIAN_FRONTEND=noninteractive apt-get install -y /root/diskwatch-2.deb 2>&1")
	t.Logf("upgrade to %s took %v", version2, time.Since(t0).Round(time.Millisecond))
	p4 := prop("ActiveState", "MainPID", "UnitFileState")
	out = sh(time.Minute, "diskwatch --version; tr '\\0' ' ' </proc/"+p4["MainPID"]+"/cmdline; echo; readlink /proc/"+p4["MainPID"]+"/exe; grep -c '^  interval: 5s ' /etc/diskwatch/diskwatch.yaml")
	if p4["ActiveState"] != "active" || p4["MainPID"] == pidBefore || p4["UnitFileState"] != "disabled" ||
		!strings.HasPrefix(out, "diskwatch "+version2+"\n") || !strings.Contains(out, "/usr/sbin/diskwatch\n1\n") {
		t.Errorf("after the upgrade: %v (main PID was %s)\n%s", p4, pidBefore, out)
	}

	// Each capability is needed: the same command, run with the unit's
	// bounding set but one (setpriv: what CapabilityBoundingSet does to a
	// root process), fails where the unit's set works. The daemon is
	// stopped first: it would make the MegaRAID node itself.
	sh(time.Minute, "systemctl stop diskwatch")
	caps := []string{"CAP_SYS_RAWIO", "CAP_SYS_ADMIN", "CAP_SYSLOG", "CAP_MKNOD"}
	bounding := func(drop ...string) string {
		set := "-all"
		for _, c := range caps {
			if !slices.Contains(drop, c) {
				set += ",+" + strings.ToLower(strings.TrimPrefix(c, "CAP_"))
			}
		}
		return set
	}
	for _, c := range []struct {
		name, drop, cmd string
	}{
		{"SATA SMART", "CAP_SYS_RAWIO", "smart --format json /dev/" + dev["SATA0"]},
		{"NVMe SMART", "CAP_SYS_ADMIN", "smart --format json /dev/" + strings.TrimSuffix(dev["NVME0"], "n1")},
		{"kernel log", "CAP_SYSLOG CAP_SYS_ADMIN", "kernel-log --format json"},
		{"MegaRAID node", "CAP_MKNOD", "raid --format json"},
	} {
		run := func(set string) (string, int) {
			script := fmt.Sprintf("rm -f /dev/megaraid_sas_ioctl_node; setpriv --bounding-set=%s --no-new-privs -- /usr/sbin/diskwatch %s 2>&1", set, c.cmd)
			r, err := vm.Exec(ctx, 2*time.Minute, script)
			if err != nil {
				t.Fatal(err)
			}
			return string(r.Output), r.Exit
		}
		okOut, okExit := run(bounding())
		badOut, badExit := run(bounding(strings.Fields(c.drop)...))
		t.Logf("%s: with the unit's capabilities exit %d; without %s exit %d: %s", c.name, okExit, c.drop, badExit, cli.OneLine(tail(badOut, 3)))
		if okExit != 0 || badExit == 0 && okOut == badOut {
			t.Errorf("%s: with the unit's set: exit %d\n%s\nwithout %s: exit %d\n%s", c.name, okExit, tail(okOut, 10), c.drop, badExit, tail(badOut, 10))
		}
	}

	// Purge: enabled by the administrator first; afterwards no unit, no
	// link, no state, no configuration: the file system as before.
	sh(time.Minute, "systemctl enable diskwatch 2>&1 && systemctl is-enabled diskwatch")
	sh(3*time.Minute, "DEBIAN_FRONTEND=noninteractive apt-get purge -y diskwatch 2>&1")
	out = sh(time.Minute, "systemctl is-active diskwatch; systemctl cat diskwatch >/dev/null 2>&1 && echo unit-still-there; dpkg-query -W diskwatch 2>&1; true")
	if !strings.Contains(out, "inactive") || strings.Contains(out, "unit-still-there") {
		t.Errorf("after purge: %s", out)
	}
	after := sh(2*time.Minute, listFS)
	if d := lineDiff(before, after); d != "" {
		t.Errorf("apt purge left the file system changed (- before, + after):\n%s", d)
	}
	t.Logf("TestRigSystemd: %v in all", time.Since(start).Round(time.Second))
}

func fileSize(p string) int64 {
	st, err := os.Stat(p)
	if err != nil {
		return -1
	}
	return st.Size()
}

func atoi(s string) int64 { n, _ := strconv.ParseInt(s, 10, 64); return n }

func tail(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(l[max(0, len(l)-n):], "\n")
}

// lineDiff lists the lines only in a (-) or only in b (+).
func lineDiff(a, b string) string {
	in := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, l := range strings.Split(s, "\n") {
			m[l] = true
		}
		return m
	}
	ma, mb := in(a), in(b)
	var d []string
	for _, l := range strings.Split(a, "\n") {
		if !mb[l] {
			d = append(d, "- "+l)
		}
	}
	for _, l := range strings.Split(b, "\n") {
		if !ma[l] {
			d = append(d, "+ "+l)
		}
	}
	return strings.Join(d, "\n")
}
