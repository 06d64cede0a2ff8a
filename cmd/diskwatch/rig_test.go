package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/diskwatch/diskwatch/alerts/config"
	"github.com/diskwatch/diskwatch/alerts/rules"
	"github.com/diskwatch/diskwatch/cmd/diskwatch/internal/rig"
	"github.com/diskwatch/diskwatch/collectors/model"
)

var rigUpdate = flag.Bool("rig.update", false, "TestRigMD: rewrite the captures in testdata/rig/captures")

// rigCaptures holds what TestRigMD captured in the guest at each stage;
// TestRigCaptures replays them as fixture roots.
const rigCaptures = "../../testdata/rig/captures"

// rigCheckDoc is the part of `check --format json` the rig tests read.
type rigCheckDoc struct {
	Status   string          `json:"status"`
	Findings []model.Finding `json:"findings"`
	Arrays   []model.Array   `json:"arrays"`
	Sources  []model.SourceStatus
}

func (d *rigCheckDoc) array(name string) *model.Array {
	for i := range d.Arrays {
		if d.Arrays[i].Name == name {
			return &d.Arrays[i]
		}
	}
	return nil
}

// problems are the findings that are not OK, as "rule subject SEVERITY".
func (d *rigCheckDoc) problems() []string {
	var out []string
	for _, f := range d.Findings {
		if f.Severity != model.OK {
			out = append(out, f.Rule+" "+f.Subject+" "+f.Severity.String())
		}
	}
	return out
}

func (d *rigCheckDoc) finding(rule, subject string) *model.Finding {
	for i := range d.Findings {
		if d.Findings[i].Rule == rule && d.Findings[i].Subject == subject {
			return &d.Findings[i]
		}
	}
	return nil
}

// rigMDOnlyConfig writes the embedded default configuration with every
// collector but mdraid disabled, so the md scenarios' exit codes do not
// depend on what the other collectors make of QEMU's disks.
func rigMDOnlyConfig(t *testing.T) string {
	t.Helper()
	p := rigConfigWith(t, "mdraid")
	cfg, err := config.Load(p, true, rules.Default())
	if err != nil {
		t.Fatalf("md-only config: %v", err)
	}
	if !cfg.Collectors.MDRaid.On() {
		t.Fatal("md-only config: mdraid is off")
	}
	return p
}

func rigRequire(t *testing.T) {
	t.Helper()
	if os.Getenv("DISKWATCH_RIG") != "1" {
		t.Skip("real-kernel QEMU test: run with DISKWATCH_RIG=1 (make test-rig)")
	}
	if m := rig.Missing(); len(m) > 0 {
		if os.Getenv("CI") != "" {
			t.Fatalf("rig programs missing: %s (.ci/setup installs them)", strings.Join(m, ", "))
		}
		t.Skipf("rig programs missing: %s (run .ci/setup)", strings.Join(m, ", "))
	}
}

// rigBoot is every rig test's opening: skip (or fail under CI) without
// the rig, a deadline, diskwatch built static (plus the extra programs:
// guest path -> Go package), and the VM booted from the shared cache with
// them installed. The VM is closed and the deadline released when the test
// ends, after its own deferred functions (which may still read the VM).
func rigBoot(t *testing.T, timeout time.Duration, cfg rig.Config, extra map[string]string) (context.Context, *rig.VM) {
	t.Helper()
	rigRequire(t)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	progs := map[string]string{"/usr/bin/diskwatch": "github.com/diskwatch/diskwatch/cmd/diskwatch"}
	for k, v := range extra {
		progs[k] = v
	}
	if cfg.Files == nil {
		cfg.Files = map[string]string{}
	}
	tmp := t.TempDir()
	for guest, pkg := range progs {
		bin := filepath.Join(tmp, filepath.Base(guest))
		if err := rig.BuildStatic(ctx, pkg, bin); err != nil {
			t.Fatal(err)
		}
		cfg.Files[guest] = bin
	}
	cache, err := filepath.Abs("../../testdata/rig/work")
	if err != nil {
		t.Fatal(err)
	}
	cfg.CacheDir = cache
	if cfg.Log == nil {
		cfg.Log = t.Logf
	}
	vm, err := rig.Boot(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { vm.Close() })
	return ctx, vm
}

// rigCaptureWords name what the md collector reads, for vm.Capture:
// /proc/mdstat and mounts, each array's sysfs md tree, the block devices'
// size/dev/holders, the first 8 KiB of every whole disk (its md
// superblock), the kernel log (/dev/kmsg records) and, from /tmp/rig,
// dmesg and mdadm --detail.
var rigCaptureWords = []string{
	"/proc/mdstat", "/proc/mounts",
	"/sys/block/md*/md", "/sys/block/md*/size", "/sys/block/md*/dev", "/sys/block/md*/slaves",
	"/sys/class/block/*/dev", "/sys/class/block/*/size", "/sys/class/block/*/ro", "/sys/class/block/*/removable",
	"/sys/class/block/*/holders", "/sys/class/block/sd*[0-9]/partition",
	"/dev/sd[a-z]", "/dev/kmsg", "/tmp/rig",
}

const rigLogScript = `mkdir -p /tmp/rig
dmesg >/tmp/rig/dmesg.txt
for m in /dev/md[0-9]*; do mdadm --detail $m; done >/tmp/rig/mdadm-detail.txt 2>&1
exit 0`

// rigStage is one md scenario: steps that set it up, then a check whose
// exit code and JSON are asserted.
type rigStage struct {
	name  string
	setup string // guest shell script; {a}..{d} are the disks' device names
	exit  int
	check func(t *testing.T, d *rigCheckDoc, mdstat, setupOut string)
}

// TestRigMD builds md RAID1 arrays on AHCI disks of a real Debian kernel
// in QEMU and runs `diskwatch check --format json` in the guest at each
// stage of a member's life: healthy, resyncing, failed, removed but still
// carrying the superblock (re-attached, never re-added), re-added and
// rebuilding, rebuilt; then a write error that /proc/mdstat hides. With
// -rig.update it rewrites testdata/rig/captures.
func TestRigMD(t *testing.T) {
	start := time.Now()
	ctx, vm := rigBoot(t, 20*time.Minute, rig.Config{
		Files: map[string]string{"/etc/diskwatch/diskwatch.yaml": rigMDOnlyConfig(t)},
		Disks: []rig.Disk{
			{ID: "md0a", Bus: rig.AHCI}, {ID: "md0b", Bus: rig.AHCI},
			{ID: "md1a", Bus: rig.AHCI},
			// Writes to sector 100000 of this image fail with EIO.
			{ID: "md1b", Bus: rig.AHCI, Inject: []rig.Inject{{Sector: 100000}}},
		},
	}, nil)
	var err error
	defer func() {
		if t.Failed() {
			t.Logf("guest console (tail):\n%s", rigLastLines(vm.ConsoleLog(), 60))
		}
	}()
	var dev map[string]string
	for i := 0; ; i++ {
		if dev, err = vm.BlockBySerial(ctx); err != nil {
			t.Fatal(err)
		}
		if len(dev) >= 4 || i == 90 {
			break
		}
		time.Sleep(time.Second)
	}
	a, b, c, d := dev["md0a"], dev["md0b"], dev["md1a"], dev["md1b"]
	if a == "" || b == "" || c == "" || d == "" {
		t.Fatalf("disks by serial: %v", dev)
	}
	t.Logf("disks: md0 = %s + %s, md1 = %s + %s (blkdebug)", a, b, c, d)
	rel := vm.Release

	stages := []rigStage{
		{name: "01-resync", exit: 0,
			setup: `echo 1000 >/proc/sys/dev/raid/speed_limit_max
mdadm --create /dev/md0 --run --level=1 --raid-devices=2 --metadata=1.2 /dev/{a} /dev/{b}
mdadm --create /dev/md1 --run --level=1 --raid-devices=2 --metadata=1.2 --assume-clean /dev/{c} /dev/{d}
for i in $(seq 100); do grep -q 'resync =' /proc/mdstat && exit 0; sleep 0.1; done; cat /proc/mdstat; exit 1`,
			check: func(t *testing.T, doc *rigCheckDoc, mdstat, _ string) {
				f := doc.finding("md.sync", "md0")
				if f == nil || f.Severity != model.OK || !strings.Contains(f.Message, "resync in progress") || !strings.Contains(f.Message, "redundancy intact") {
					t.Errorf("want an OK md.sync finding for md0's initial resync, got %+v", f)
				}
			}},
		{name: "02-healthy", exit: 0,
			setup: `echo 200000 >/proc/sys/dev/raid/speed_limit_max
mdadm --wait /dev/md0; mdadm --wait /dev/md1; exit 0`,
			check: func(t *testing.T, doc *rigCheckDoc, mdstat, _ string) {
				for _, n := range []string{"md0", "md1"} {
					ar := doc.array(n)
					if ar == nil || ar.DisksTotal != 2 || ar.DisksActive != 2 || ar.Level != "raid1" || ar.SyncAction != "idle" {
						t.Errorf("%s: want a healthy idle raid1 [2/2], got %+v", n, ar)
					}
				}
				if !strings.Contains(mdstat, "[2/2] [UU]") {
					t.Errorf("mdstat:\n%s", mdstat)
				}
			}},
		{name: "03-failed", exit: 2,
			setup: `mdadm /dev/md0 --fail /dev/{b}`,
			check: func(t *testing.T, doc *rigCheckDoc, mdstat, _ string) {
				f := rigWantFinding(t, doc, "md.degraded", "md0", model.Critical)
				if f == nil {
					return
				}
				for _, s := range []string{"DEGRADED", "[2/1]", "failed: " + b} {
					if !strings.Contains(f.Message, s) {
						t.Errorf("md.degraded message lacks %q: %s", s, f.Message)
					}
				}
				if want := "mdadm /dev/md0 --remove /dev/" + b; !strings.Contains(f.Remedy, want) {
					t.Errorf("remedy lacks %q: %s", want, f.Remedy)
				}
				if !strings.Contains(mdstat, b+"[1](F)") || !strings.Contains(mdstat, "[2/1] [U_]") {
					t.Errorf("mdstat does not show the failed member:\n%s", mdstat)
				}
			}},
		{name: "04-reattached", exit: 2,
			setup: `mdadm /dev/md0 --remove /dev/{b} && mdadm --examine /dev/{b} | grep -q 'Array UUID'`,
			check: func(t *testing.T, doc *rigCheckDoc, mdstat, _ string) {
				f := rigWantFinding(t, doc, "md.degraded", "md0", model.Critical)
				if f == nil {
					return
				}
				if want := "/dev/" + b + " carries this array's superblock but is not a member"; !strings.Contains(f.Message, want) {
					t.Errorf("message lacks %q: %s", want, f.Message)
				}
				if want := "mdadm /dev/md0 --add /dev/" + b; !strings.Contains(f.Remedy, want) {
					t.Errorf("remedy lacks the exact hint %q: %s", want, f.Remedy)
				}
				if ar := doc.array("md0"); ar == nil || len(ar.Candidates) != 1 || ar.Candidates[0] != b {
					t.Errorf("md0 candidates: want [%s], got %+v", b, ar)
				}
			}},
		{name: "05-rebuilding", exit: 1,
			setup: `echo 1000 >/proc/sys/dev/raid/speed_limit_max
mdadm /dev/md0 --add /dev/{b} || exit 1
for i in $(seq 300); do
	grep -q 'recovery = *[1-9]' /proc/mdstat && exit 0
	sleep 0.1
done
cat /proc/mdstat; exit 1`,
			check: func(t *testing.T, doc *rigCheckDoc, mdstat, _ string) {
				f := rigWantFinding(t, doc, "md.rebuilding", "md0", model.Warning)
				if f == nil {
					return
				}
				if !strings.Contains(f.Message, "rebuilding") || !strings.Contains(f.Message, "% done") {
					t.Errorf("message lacks progress: %s", f.Message)
				}
				if p := f.Values["percent"]; p <= 0 || p >= 100 {
					t.Errorf("percent = %v, want in (0, 100)", p)
				}
				if f.Values["speed_kib_s"] <= 0 {
					t.Errorf("no rebuild speed in %v", f.Values)
				}
				if !strings.Contains(mdstat, "recovery =") {
					t.Errorf("mdstat shows no recovery:\n%s", mdstat)
				}
			}},
		{name: "06-rebuilt", exit: 0,
			setup: `echo 200000 >/proc/sys/dev/raid/speed_limit_max
mdadm --wait /dev/md0; grep -A1 '^md0' /proc/mdstat | grep -q '\[UU\]'`,
			check: func(t *testing.T, doc *rigCheckDoc, mdstat, _ string) {
				if ar := doc.array("md0"); ar == nil || ar.DisksActive != 2 || len(ar.Candidates) != 0 {
					t.Errorf("md0 not rebuilt: %+v", ar)
				}
			}},
		{name: "07-replugged", exit: 2,
			// The disk really goes away (as when unplugged) and comes back
			// under a new name; nothing re-adds it (no udev here).
			setup: `h=$(readlink /sys/block/{b}); h=${h#*/host}; h=host${h%%/*}
echo 1 >/sys/block/{b}/device/delete
dd if=/dev/zero of=/dev/md0 bs=4096 count=256 conv=fsync 2>/dev/null
for i in $(seq 100); do grep -q '(F)' /proc/mdstat && break; sleep 0.1; done
echo '- - -' >/sys/class/scsi_host/$h/scan
for i in $(seq 300); do
	for d in /sys/block/sd*; do
		s=$(dd if=$d/device/vpd_pg80 bs=1 skip=4 2>/dev/null | tr -d '\000 ')
		[ "$s" = md0b ] && [ -b /dev/${d##*/} ] && { echo "NEW ${d##*/}"; cat /proc/mdstat; exit 0; }
	done
	sleep 0.1
done
cat /proc/mdstat; exit 1`,
			check: func(t *testing.T, doc *rigCheckDoc, mdstat, out string) {
				nb := rigNewName(t, out)
				f := rigWantFinding(t, doc, "md.degraded", "md0", model.Critical)
				if f == nil {
					return
				}
				if want := "/dev/" + nb + " carries this array's superblock but is not a member"; !strings.Contains(f.Message, want) {
					t.Errorf("message lacks %q: %s", want, f.Message)
				}
				if want := "mdadm /dev/md0 --add /dev/" + nb; !strings.Contains(f.Remedy, want) {
					t.Errorf("remedy lacks the exact hint %q: %s", want, f.Remedy)
				}
			}},
		{name: "08-replugged-readded", exit: 1,
			// The remedy diskwatch gave. md still lists the unplugged
			// member as (F): the array is whole, only a stale entry is left,
			// and /dev/{b} no longer exists.
			setup: `n=$(for d in /sys/block/sd*; do s=$(dd if=$d/device/vpd_pg80 bs=1 skip=4 2>/dev/null | tr -d '\000 '); [ "$s" = md0b ] && echo ${d##*/}; done)
mdadm /dev/md0 --add /dev/$n || exit 1
mdadm --wait /dev/md0
echo "NEW $n"; cat /proc/mdstat`,
			check: func(t *testing.T, doc *rigCheckDoc, mdstat, out string) {
				f := rigWantFinding(t, doc, "md.degraded", "md0", model.Warning)
				if f == nil {
					return
				}
				if !strings.Contains(f.Message, "still lists failed member(s) "+b) || !strings.Contains(f.Message, "redundancy is intact") {
					t.Errorf("message: %s", f.Message)
				}
				if want := "mdadm /dev/md0 --remove detached"; f.Remedy != want {
					t.Errorf("remedy %q, want %q (/dev/%s is gone)", f.Remedy, want, b)
				}
				if !strings.Contains(mdstat, b+"[2](F)") || !strings.Contains(mdstat, "[2/2] [UU]") {
					t.Errorf("mdstat:\n%s", mdstat)
				}
			}},
		{name: "09-cleaned", exit: 0,
			// The old per-device hint fails; the one diskwatch gives works.
			setup: `if mdadm /dev/md0 --remove /dev/{b}; then echo "--remove /dev/{b} worked"; exit 3; fi
mdadm /dev/md0 --remove detached && ! grep -q '(F)' /proc/mdstat`,
			check: func(t *testing.T, doc *rigCheckDoc, mdstat, out string) {
				if p := doc.problems(); len(p) != 0 {
					t.Errorf("problems left: %v", p)
				}
			}},
		{name: "10-write-error-hidden", exit: 2,
			// Write the whole array; the write to sector 100000 of the
			// blkdebug disk fails, md records a bad block and keeps the
			// member in sync.
			setup: `dd if=/dev/zero of=/dev/md1 bs=64k 2>&1; sync
for i in $(seq 300); do grep -q write_error /sys/block/md1/md/dev-{d}/state && exit 0; sleep 0.1; done
cat /sys/block/md1/md/dev-{d}/state; exit 1`,
			check: func(t *testing.T, doc *rigCheckDoc, mdstat, _ string) {
				f := rigWantFinding(t, doc, "md.member_error", "md1", model.Critical)
				if f != nil {
					if !strings.Contains(f.Message, "member "+d) || !strings.Contains(f.Message, "write_error") {
						t.Errorf("message: %s", f.Message)
					}
					if !strings.Contains(f.Remedy, "--replace /dev/"+d) {
						t.Errorf("remedy: %s", f.Remedy)
					}
				}
				// The point of the scenario: mdstat still says all is well.
				if !mdstatArrayOK(mdstat, "md1") {
					t.Errorf("mdstat no longer hides the error for md1:\n%s", mdstat)
				}
				if p := doc.problems(); len(p) != 1 {
					t.Errorf("want only md1's member error, got %v", p)
				}
			}},
		{name: "11-readonly", exit: 1,
			setup: `mdadm --stop /dev/md1 && mdadm --readonly /dev/md0 && grep -q 'md0 : active (read-only)' /proc/mdstat`,
			check: func(t *testing.T, doc *rigCheckDoc, mdstat, _ string) {
				f := rigWantFinding(t, doc, "md.readonly", "md0", model.Warning)
				if f != nil && (!strings.Contains(f.Message, "read-only") || !strings.Contains(f.Remedy, "mdadm --readwrite /dev/md0")) {
					t.Errorf("finding: %+v", f)
				}
				if doc.array("md1") != nil {
					t.Error("md1 still listed after --stop")
				}
			}},
		{name: "12-raid1-mismatch", exit: 0,
			// Data written past md to one member: a raid1 check counts the
			// mismatch, which on raid1 is reported but not alarming.
			setup: `mdadm --readwrite /dev/md0 || exit 1
dd if=/dev/urandom of=/dev/{a} bs=4096 seek=2000 count=64 conv=fsync 2>/dev/null
echo check >/sys/block/md0/md/sync_action
sleep 1; mdadm --wait /dev/md0
cat /sys/block/md0/md/mismatch_cnt /sys/block/md0/md/last_sync_action`,
			check: func(t *testing.T, doc *rigCheckDoc, mdstat, out string) {
				f := rigWantFinding(t, doc, "md.mismatch", "md0", model.OK)
				if f != nil && (!strings.Contains(f.Message, "mismatched sectors") || !strings.Contains(f.Message, "usually harmless")) {
					t.Errorf("message: %s", f.Message)
				}
				if ar := doc.array("md0"); ar == nil || ar.MismatchCount <= 0 || ar.LastSyncAction != "check" {
					t.Errorf("md0 after check: %+v\n%s", ar, out)
				}
			}},
		{name: "13-inactive", exit: 2,
			// One member seen at boot: udev's `mdadm --incremental` puts it
			// in an array that waits, inactive, for the other.
			setup: `mdadm --stop /dev/md0 || exit 1
mdadm --incremental /dev/{a} 2>&1
cat /proc/mdstat
n=$(sed -n 's/^\(md[0-9]*\) : inactive .*/\1/p' /proc/mdstat)
[ -n "$n" ] && echo "NEW $n"`,
			check: func(t *testing.T, doc *rigCheckDoc, mdstat, out string) {
				n := rigNewName(t, out)
				f := rigWantFinding(t, doc, "md.inactive", n, model.Critical)
				if f != nil && (!strings.Contains(f.Message, "INACTIVE") || !strings.Contains(f.Message, a)) {
					t.Errorf("message: %s", f.Message)
				}
			}},
	}
	for _, st := range stages {
		ok := t.Run(st.name, func(t *testing.T) {
			script := strings.NewReplacer("{a}", a, "{b}", b, "{c}", c, "{d}", d).Replace(st.setup)
			setupOut, err := vm.MustExec(ctx, 3*time.Minute, script)
			if err != nil {
				t.Fatalf("setup: %v\n%s", err, setupOut)
			}
			r, err := vm.Exec(ctx, 2*time.Minute, "diskwatch check --format json 2>/tmp/check.err; rc=$?; cat /tmp/check.err >&2; exit $rc")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := vm.MustExec(ctx, time.Minute, rigLogScript); err != nil {
				t.Fatal(err)
			}
			tree, err := vm.Capture(ctx, 2*time.Minute, rigCaptureWords...)
			if err != nil {
				t.Fatalf("capture: %v", err)
			}
			mdstat := string(tree.Files["proc/mdstat"])
			t.Logf("exit %d; /proc/mdstat:\n%s", r.Exit, mdstat)
			if *rigUpdate {
				if err := rigWriteCapture(filepath.Join(rigCaptures, st.name), tree, r.Output, r.Exit); err != nil {
					t.Fatal(err)
				}
			}
			var doc rigCheckDoc
			if err := json.Unmarshal(r.Output, &doc); err != nil {
				t.Fatalf("check output is not JSON: %v\n%s", err, r.Output)
			}
			if r.Exit != st.exit || doc.Status != model.Severity(st.exit).String() {
				t.Errorf("exit %d status %s, want %d; problems %v\n%s", r.Exit, doc.Status, st.exit, doc.problems(), r.Output)
			}
			for _, s := range doc.Sources {
				if s.Name == "mdraid" && s.State != model.SourceOK {
					t.Errorf("source %s: %s %v", s.Name, s.State, s.Errors)
				}
			}
			st.check(t, &doc, mdstat, string(setupOut))
		})
		if !ok {
			break // later stages build on this one
		}
	}
	t.Logf("kernel %s; boot %v; whole test %v", rel, vm.BootTime.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
}

// rigNewName returns the device name a setup step printed as "NEW sdX".
func rigNewName(t *testing.T, out string) string {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		if n, ok := strings.CutPrefix(l, "NEW "); ok {
			return strings.TrimSpace(n)
		}
	}
	t.Fatalf("setup printed no new device name:\n%s", out)
	return ""
}

func rigWantFinding(t *testing.T, doc *rigCheckDoc, rule, subject string, sev model.Severity) *model.Finding {
	t.Helper()
	f := doc.finding(rule, subject)
	if f == nil {
		t.Errorf("no %s finding for %s; findings: %+v", rule, subject, doc.Findings)
		return nil
	}
	if f.Severity != sev {
		t.Errorf("%s %s: severity %s, want %s", rule, subject, f.Severity, sev)
	}
	return f
}

// mdstatArrayOK reports whether /proc/mdstat shows array name with every
// slot up ("[UU]").
func mdstatArrayOK(mdstat, name string) bool {
	lines := strings.Split(mdstat, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, name+" :") && i+1 < len(lines) {
			return strings.Contains(lines[i+1], "[UU]") && !strings.Contains(l, "(F)")
		}
	}
	return false
}

func rigLastLines(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

// rigWriteCapture replaces dir with the captured tree (its tmp/rig logs
// moved to dir itself), the guest's check output (check.json) and its exit
// code (exit-code).
func rigWriteCapture(dir string, tree *rig.Tree, check []byte, exit int) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	for name, data := range tree.Files {
		if base, ok := strings.CutPrefix(name, "tmp/rig/"); ok {
			delete(tree.Files, name)
			tree.Files[base] = data
		}
	}
	tree.Dirs = slices.DeleteFunc(tree.Dirs, func(d string) bool { return strings.HasPrefix(d, "tmp") })
	if err := tree.WriteDir(dir); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "check.json"), check, 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "exit-code"), []byte(fmt.Sprintf("%d\n", exit)), 0o644)
}

// TestMDRigCaptures replays every stage TestRigMD captured on the real
// kernel as a fixture root: diskwatch check on the host must reach the
// verdict it reached in the guest: the same exit code and the same
// findings (rule, subject, severity).
func TestMDRigCaptures(t *testing.T) {
	codes, err := filepath.Glob(filepath.Join(rigCaptures, "*", "exit-code"))
	if err != nil || len(codes) == 0 {
		t.Fatalf("no captures under %s (make test-rig with -rig.update writes them): %v", rigCaptures, err)
	}
	cfg := rigMDOnlyConfig(t)
	for _, p := range codes {
		dir := filepath.Dir(p)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			var want int
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := fmt.Sscan(string(b), &want); err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			b, err = os.ReadFile(filepath.Join(dir, "check.json"))
			if err != nil {
				t.Fatal(err)
			}
			var guest rigCheckDoc
			if err := json.Unmarshal(b, &guest); err != nil {
				t.Fatalf("guest check.json: %v", err)
			}
			out, stderr, code := runCmd(t, nil, "check", "--format", "json", "--root", dir, "--config", cfg)
			var host rigCheckDoc
			if err := json.Unmarshal([]byte(out), &host); err != nil {
				t.Fatalf("host check output: %v\n%s\n%s", err, out, stderr)
			}
			if code != want {
				t.Errorf("exit %d on the capture, %d in the guest; problems %v", code, want, host.problems())
			}
			key := func(d *rigCheckDoc) []string {
				var k []string
				for _, f := range d.Findings {
					k = append(k, fmt.Sprintf("%s %s %s", f.Rule, f.Subject, f.Severity))
				}
				return k
			}
			if g, h := strings.Join(key(&guest), "\n"), strings.Join(key(&host), "\n"); g != h {
				t.Errorf("findings differ\n--- guest\n%s\n--- capture replayed\n%s", g, h)
			}
			for _, s := range host.Sources {
				if s.State != model.SourceOK {
					t.Errorf("source %s: %s %v", s.Name, s.State, s.Errors)
				}
			}
		})
	}
}
