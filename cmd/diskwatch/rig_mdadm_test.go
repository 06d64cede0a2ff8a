package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/diskwatch/diskwatch/alerts/config"
	"github.com/diskwatch/diskwatch/alerts/history"
	"github.com/diskwatch/diskwatch/alerts/rules"
	"github.com/diskwatch/diskwatch/cmd/diskwatch/internal/rig"
	"github.com/diskwatch/diskwatch/collectors/model"
)

// rigConfigWith writes the embedded default configuration with every
// collector but keep disabled.
func rigConfigWith(t *testing.T, keep ...string) string {
	t.Helper()
	var out []string
	in, section := false, ""
	for _, l := range strings.Split(string(config.DefaultYAML()), "\n") {
		switch {
		case l == "collectors:":
			in = true
		case in && l != "" && !strings.HasPrefix(l, " ") && !strings.HasPrefix(l, "#"):
			in = false
		case in && strings.HasPrefix(l, "  ") && !strings.HasPrefix(l, "   ") && !strings.HasPrefix(strings.TrimSpace(l), "#"):
			section = strings.TrimSuffix(strings.TrimSpace(l), ":")
		case in && !slices.Contains(keep, section) && strings.TrimSpace(l) == "enabled: true":
			l = strings.Replace(l, "true", "false", 1)
		}
		out = append(out, l)
	}
	p := filepath.Join(t.TempDir(), "rig.yaml")
	if err := os.WriteFile(p, []byte(strings.Join(out, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := config.Load(p, true, rules.Default()); err != nil {
		t.Fatalf("rig config: %v", err)
	}
	return p
}

// TestRigMDAdmEvents runs issue 21's md rules on a real kernel in QEMU:
// QEMU's AHCI disks have no SCT (IDENTIFY word 206 = 0) and the kernel's
// command timeout is 30 s, so md members warn md.scterc with the exact
// fix, and are quiet once the timeout is raised; mdadm.conf written by the
// real `mdadm --detail --scan` (with its spares=1) declares an array that
// is then stopped (md.not_assembled); a member fails and the spare
// rebuilds (md.spares_missing, then md.spare_active from the history kept
// by `diskwatch check --state`); a check (scrub) ends with the kernel's
// "data-check done", whose time lands in the history store.
func TestRigMDAdmEvents(t *testing.T) {
	ctx, vm := rigBoot(t, 20*time.Minute, rig.Config{
		Files: map[string]string{"/etc/diskwatch/diskwatch.yaml": rigConfigWith(t, "mdraid", "smart", "kmsg")},
		Disks: []rig.Disk{
			{ID: "m0a", Bus: rig.AHCI}, {ID: "m0b", Bus: rig.AHCI}, {ID: "m0s", Bus: rig.AHCI},
			{ID: "m1a", Bus: rig.AHCI}, {ID: "m1b", Bus: rig.AHCI},
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
		if len(dev) >= 5 || i == 90 {
			break
		}
		time.Sleep(time.Second)
	}
	a, b, s, c, d := dev["m0a"], dev["m0b"], dev["m0s"], dev["m1a"], dev["m1b"]
	if a == "" || b == "" || s == "" || c == "" || d == "" {
		t.Fatalf("disks by serial: %v", dev)
	}
	sub := strings.NewReplacer("{a}", a, "{b}", b, "{s}", s, "{c}", c, "{d}", d)
	step := func(name, script string) string {
		t.Helper()
		out, err := vm.MustExec(ctx, 3*time.Minute, sub.Replace(script))
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, out)
		}
		return string(out)
	}
	check := func(name string) *rigCheckDoc {
		t.Helper()
		r, err := vm.Exec(ctx, 2*time.Minute, "diskwatch check --format json --all --state /var/lib/diskwatch 2>/tmp/check.err; rc=$?; cat /tmp/check.err >&2; exit $rc")
		if err != nil {
			t.Fatal(err)
		}
		var doc rigCheckDoc
		if err := json.Unmarshal(r.Output, &doc); err != nil {
			t.Fatalf("%s: check output is not JSON: %v\n%s", name, err, r.Output)
		}
		t.Logf("%s: exit %d, problems %v", name, r.Exit, doc.problems())
		return &doc
	}
	byRule := func(doc *rigCheckDoc, rule string) []model.Finding {
		var out []model.Finding
		for _, f := range doc.Findings {
			if f.Rule == rule {
				out = append(out, f)
			}
		}
		return out
	}

	// Two arrays, md0 with a spare; mdadm.conf as mdadm writes it; md1 stopped.
	scan := step("create", `mkdir -p /etc/mdadm /var/lib/diskwatch
mdadm --create /dev/md0 --run --level=1 --raid-devices=2 --spare-devices=1 --metadata=1.2 --assume-clean /dev/{a} /dev/{b} /dev/{s} || exit 1
mdadm --create /dev/md1 --run --level=1 --raid-devices=2 --metadata=1.2 --assume-clean /dev/{c} /dev/{d} || exit 1
mdadm --detail --scan >/etc/mdadm/mdadm.conf && mdadm --stop /dev/md1 && cat /etc/mdadm/mdadm.conf && cat /sys/block/{a}/device/timeout`)
	t.Logf("mdadm --detail --scan and {a}'s timeout:\n%s", scan)
	if !strings.Contains(scan, "spares=1") || !strings.Contains(scan, "ARRAY /dev/md1") {
		t.Fatalf("mdadm.conf: %s", scan)
	}
	doc := check("declared, one stopped")
	na := byRule(doc, "md.not_assembled")
	if len(na) != 1 || na[0].Severity != model.Warning || na[0].Subject != "/dev/md1" || !strings.Contains(na[0].Remedy, "mdadm --assemble /dev/md1 --uuid=") {
		t.Errorf("md.not_assembled: %+v", na)
	}
	erc := byRule(doc, "md.scterc")
	for _, disk := range []string{a, b} {
		found := false
		for _, f := range erc {
			if strings.HasPrefix(f.Subject, disk+" ") && f.Severity == model.Warning &&
				strings.Contains(f.Message, "SCT ERC not supported") && strings.Contains(f.Message, "after 30 s") &&
				strings.Contains(f.Remedy, "echo 180 > /sys/block/"+disk+"/device/timeout") && strings.Contains(f.Remedy, `ATTR{device/timeout}="180"`) {
				found = true
			}
		}
		if !found {
			t.Errorf("no md.scterc WARNING for %s with the fix: %+v", disk, erc)
		}
	}
	if f := byRule(doc, "md.spares_missing"); len(f) != 0 {
		t.Errorf("spare present, yet: %+v", f)
	}
	// smartctl agrees there is no SCT ERC on this disk.
	if out, _ := vm.Exec(ctx, time.Minute, sub.Replace("smartctl -l scterc /dev/{a}")); !strings.Contains(string(out.Output), "SCT Commands not supported") &&
		!strings.Contains(string(out.Output), "SCT Error Recovery Control command not supported") {
		t.Errorf("smartctl -l scterc:\n%s", out.Output)
	}

	// The fix: the kernel waits 180 s on these disks.
	step("timeout", `for x in {a} {b} {s}; do echo 180 >/sys/block/$x/device/timeout; done`)
	if f := byRule(check("timeout raised"), "md.scterc"); len(f) != 0 {
		t.Errorf("md.scterc after the fix: %+v", f)
	}

	// A member fails; the spare rebuilds (slowly, to be seen rebuilding).
	step("fail", `echo 500 >/proc/sys/dev/raid/speed_limit_max
mdadm /dev/md0 --fail /dev/{a} || exit 1
for i in $(seq 300); do grep -q 'recovery =' /proc/mdstat && exit 0; sleep 0.1; done; cat /proc/mdstat; exit 1`)
	check("rebuilding onto the spare")
	step("rebuilt", `echo 200000 >/proc/sys/dev/raid/speed_limit_max; mdadm --wait /dev/md0; mdadm /dev/md0 --remove /dev/{a}; cat /proc/mdstat`)
	doc = check("rebuilt, spare used")
	if f := byRule(doc, "md.spares_missing"); len(f) != 1 || f[0].Subject != "md0" || !strings.Contains(f[0].Message, "spares=1") {
		t.Errorf("md.spares_missing: %+v", f)
	}
	if f := byRule(doc, "md.spare_active"); len(f) != 1 || f[0].Severity != model.Notice {
		t.Errorf("md.spare_active: %+v", f)
	}

	// A check (scrub): the kernel's "data-check done" is kept in history.
	step("scrub", `echo check >/sys/block/md0/md/sync_action; sleep 0.5; mdadm --wait /dev/md0; dmesg | grep 'data-check done'`)
	check("after the scrub")
	tree, err := vm.Capture(ctx, time.Minute, "/var/lib/diskwatch/history.db")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "history.db"), tree.Files["var/lib/diskwatch/history.db"], 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := history.Open(ctx, dir, history.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var md0 string
	for _, ar := range doc.Arrays {
		if ar.Name == "md0" {
			md0 = ar.ID()
		}
	}
	ps, err := st.Series(md0, model.MetricMDLastCheck, time.Time{})
	if err != nil || len(ps) == 0 {
		t.Fatalf("no check time for %s in the guest's history: %v %v", md0, ps, err)
	}
	t.Logf("md0's check kept in history at %s", time.Unix(int64(ps[len(ps)-1].Value), 0).UTC())
}
