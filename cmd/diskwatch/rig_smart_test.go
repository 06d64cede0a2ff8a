package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/diskwatch/diskwatch/cmd/diskwatch/internal/rig"
	"github.com/diskwatch/diskwatch/collectors/model"
)

// smartRigCaptures is where TestRigSMARTNative writes, with
// DISKWATCH_RIG_UPDATE=1, the raw command exchanges and smartctl -j -a
// output of each emulated disk; collectors/smart replays them in its unit
// tests.
const smartRigCaptures = "../../collectors/smart/testdata/rig"

// TestRigSMARTNative reads real kernel devices in QEMU with the native
// SMART collector (no smartctl fallback): an AHCI disk (ATA through SAT),
// an NVMe controller, virtio-scsi and LSI SCSI disks without SMART and a
// MegaRAID logical drive. Each record must equal, field by field, the
// normalized `smartctl -a -j` of the same device taken in the same guest.
// NVMe critical warning bits set over QMP must come back, and a disk put to
// standby with STANDBY IMMEDIATE through SG_IO must not be woken by
// `diskwatch check`.
func TestRigSMARTNative(t *testing.T) {
	disks := []rig.Disk{{ID: "na0", Bus: rig.AHCI}, {ID: "nn0", Bus: rig.NVMe, Props: []string{"smart_critical_warning=0"}},
		{ID: "nv0", Bus: rig.VirtioSCSI}, {ID: "nl0", Bus: rig.LSI}, {ID: "nm0", Bus: rig.MegaSAS}}
	ctx, vm := rigBoot(t, 15*time.Minute, rig.Config{Disks: disks},
		map[string]string{"/usr/bin/smartdump": "github.com/diskwatch/diskwatch/cmd/diskwatch/internal/smartdump"})
	var err error
	defer func() {
		if t.Failed() {
			c := strings.Split(strings.TrimRight(vm.ConsoleLog(), "\n"), "\n")
			t.Logf("guest console (tail):\n%s", strings.Join(c[max(0, len(c)-40):], "\n"))
		}
	}()
	var dev map[string]string
	for i := 0; ; i++ {
		if dev, err = vm.BlockBySerial(ctx); err != nil {
			t.Fatal(err)
		}
		if (dev["na0"] != "" && dev["nn0"] != "" && dev["nv0"] != "" && dev["nl0"] != "") || i == 90 {
			break
		}
		time.Sleep(time.Second)
	}
	if dev["na0"] == "" || dev["nn0"] == "" || dev["nv0"] == "" || dev["nl0"] == "" {
		t.Fatalf("disks by serial: %v", dev)
	}
	ahci, nvme := "/dev/"+dev["na0"], "/dev/"+regexp.MustCompile(`^nvme[0-9]+`).FindString(dev["nn0"])
	if _, err := vm.MustExec(ctx, time.Minute, "mkdir -p /tmp/dw && printf 'collectors:\\n  mdraid: {enabled: false}\\n  smart: {smartctl_fallback: false}\\n' >/tmp/dw/native.yaml"); err != nil {
		t.Fatal(err)
	}
	read := func(stage string) map[string]model.Disk {
		t.Helper()
		start := time.Now()
		r, err := vm.Exec(ctx, 2*time.Minute, "diskwatch smart --config /tmp/dw/native.yaml --format json 2>/tmp/dw/err; cat /tmp/dw/err >&2")
		if err != nil {
			t.Fatal(err)
		}
		out := string(r.Output)
		js := out[:strings.LastIndex(out, "]")+1]
		var recs []model.Disk
		if err := json.Unmarshal([]byte(js), &recs); err != nil {
			t.Fatalf("%s: %v\n%s", stage, err, out)
		}
		m := map[string]model.Disk{}
		for _, d := range recs {
			m[d.Device.Path] = d
		}
		t.Logf("%s: %d native records in %v (guest, TCG); stderr: %s", stage, len(m), time.Since(start).Round(time.Millisecond), out[len(js):])
		return m
	}
	rigDiscovery(ctx, t, vm, map[string]string{dev["na0"]: `"protocol":"ata","via":"sat"`, dev["nn0"]: `"protocol":"nvme","via":"nvme"`, dev["nv0"]: `"protocol":"scsi","via":"scsi"`})
	recs := read("healthy")
	paths := make([]string, 0, len(recs))
	for p := range recs {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, want := range []string{ahci, nvme, "/dev/" + dev["nv0"], "/dev/" + dev["nl0"]} {
		if _, ok := recs[want]; !ok {
			t.Errorf("no native record for %s; have %v", want, paths)
		}
	}
	update := os.Getenv("DISKWATCH_RIG_UPDATE") == "1"
	bus := map[string]string{ahci: "ahci", nvme: "nvme", "/dev/" + dev["nv0"]: "virtio-scsi", "/dev/" + dev["nl0"]: "lsi"}
	for _, p := range paths {
		rec := recs[p]
		f := "/tmp/dw/" + filepath.Base(p) + ".json"
		r, err := vm.Exec(ctx, time.Minute, fmt.Sprintf("smartctl -j -a %s >%s; diskwatch smart --format json --smartctl-json %s", p, f, f))
		if err != nil {
			t.Fatal(err)
		}
		var caps []model.Disk
		if err := json.Unmarshal(r.Output, &caps); err != nil || len(caps) != 1 {
			t.Errorf("%s: smartctl capture: %v\n%s", p, err, r.Output)
			continue
		}
		want := caps[0]
		// Fields only a smartctl record has: its exit status, and its
		// messages; the native record names the kernel device.
		want.Smartctl, rec.Smartctl = nil, nil
		if want.ERC == nil {
			want.ERC = rec.ERC // smartctl -a does not read SCT ERC (-l scterc does)
		}
		want.Device.Name, rec.Device.Name = "", ""
		tolerateSmartctlGaps(&want, &rec)
		if diff := cmp.Diff(want, rec); diff != "" {
			t.Errorf("%s (%s): native record differs from smartctl -a -j (-smartctl +native):\n%s", p, bus[p], diff)
		}
		if update && bus[p] != "" {
			raw, err := vm.MustExec(ctx, time.Minute, fmt.Sprintf("smartdump record %s %s; echo ==; cat %s", map[bool]string{true: "nvme", false: map[bool]string{true: "ata", false: "scsi"}[rec.Device.Protocol == "ata"]}[rec.Device.Protocol == "nvme"], p, f))
			if err != nil {
				t.Fatal(err)
			}
			ex, sc, _ := strings.Cut(string(raw), "\n==\n")
			os.MkdirAll(smartRigCaptures, 0o755)
			os.WriteFile(filepath.Join(smartRigCaptures, bus[p]+".exchanges.json"), []byte(ex), 0o644)
			os.WriteFile(filepath.Join(smartRigCaptures, bus[p]+".smartctl.json"), []byte(sc), 0o644)
		}
	}
	// One full read per disk: native in-process (the daemon), diskwatch as
	// a one-shot process, smartctl -a -j; same guest, same run.
	for _, b := range []struct{ proto, dev string }{{"ata", ahci}, {"nvme", nvme}, {"scsi", "/dev/" + dev["nv0"]}} {
		out, err := vm.MustExec(ctx, 5*time.Minute, "smartdump bench "+b.proto+" 20 "+b.dev)
		if err != nil {
			t.Errorf("bench %s: %v", b.dev, err)
			continue
		}
		t.Logf("bench (mean of 20 after a warm-up, guest under TCG): %s", strings.TrimSpace(string(out)))
	}
	a := recs[ahci]
	if a.Device.Protocol != "ata" || a.Device.Serial != "na0" || a.SMARTPassed == nil || !*a.SMARTPassed || a.Attr(9) == nil {
		t.Errorf("AHCI record: %+v", a)
	}
	n := recs[nvme]
	if n.NVMe == nil || n.Device.Serial != "nn0" || n.NVMe.CriticalWarning != 0 || n.SMARTPassed == nil || !*n.SMARTPassed {
		t.Errorf("NVMe record: %+v", n)
	}
	if v := recs["/dev/"+dev["nv0"]]; v.Device.Protocol != "scsi" || v.SMARTAvailable || v.SMARTPassed != nil {
		t.Errorf("virtio-scsi record (a disk without SMART): %+v", v)
	}

	// A self-test started by hand shows up in the disk's own log.
	if out, err := vm.MustExec(ctx, time.Minute, "diskwatch selftest "+ahci+" short"); err != nil {
		t.Errorf("selftest: %v", err)
	} else {
		t.Logf("selftest: %s", strings.TrimSpace(string(out)))
		time.Sleep(2 * time.Second)
		st := read("after a short self-test")[ahci].SelfTest
		if st == nil || (!st.Running && (len(st.Entries) == 0 || st.Entries[0].Type != "short")) {
			t.Errorf("self-test log after selftest short: %+v", st)
		}
	}
	if out, err := vm.Exec(ctx, time.Minute, "diskwatch selftest "+"/dev/"+dev["nv0"]+" short"); err == nil {
		t.Logf("selftest on virtio-scsi (SEND DIAGNOSTIC): exit %d: %s", out.Exit, strings.TrimSpace(string(out.Output)))
	}
	rigScheduledSelfTest(ctx, t, vm, ahci, read)

	// Critical warning bits 2 and 3 at run time over QMP.
	if _, err := vm.QMP(ctx, "qom-set", map[string]any{"path": "/machine/peripheral/nn0", "property": "smart_critical_warning", "value": 0x0c}); err != nil {
		t.Fatal(err)
	}
	n = read("critical warning 0x0c")[nvme]
	if n.NVMe == nil || n.NVMe.CriticalWarning != 0x0c || n.SMARTPassed == nil || *n.SMARTPassed {
		t.Errorf("NVMe after qom-set 0x0c: %+v passed %v", n.NVMe, n.SMARTPassed)
	}

	// Standby: STANDBY IMMEDIATE through SG_IO, then a full check; the
	// disk must still report standby afterwards (it was not read).
	out, err := vm.MustExec(ctx, time.Minute, "smartdump standby "+ahci+" && smartdump power "+ahci)
	if err != nil {
		t.Fatal(err)
	}
	before := strings.TrimSpace(string(out))
	r, err := vm.Exec(ctx, 2*time.Minute, "diskwatch check --config /tmp/dw/native.yaml --format json 2>/dev/null; smartdump power "+ahci)
	if err != nil {
		t.Fatal(err)
	}
	body := string(r.Output)
	i := strings.LastIndex(body, "}")
	after := strings.TrimSpace(body[i+1:])
	var doc struct {
		Disks []model.Disk `json:"disks"`
	}
	if err := json.Unmarshal([]byte(body[:i+1]), &doc); err != nil {
		t.Fatalf("check json: %v\n%s", err, body)
	}
	var got *model.Disk
	for k := range doc.Disks {
		if doc.Disks[k].Device.Path == ahci {
			got = &doc.Disks[k]
		}
	}
	t.Logf("after STANDBY IMMEDIATE: CHECK POWER MODE says %q; after diskwatch check: %q; record: %+v", before, after, got)
	if got == nil {
		t.Fatalf("check has no record of %s", ahci)
	}
	if got.PowerMode != before {
		t.Errorf("record power_mode %q, CHECK POWER MODE said %q", got.PowerMode, before)
	}
	if before == "standby" {
		if got.Skipped != "standby" || len(got.ATAAttributes) != 0 || after != "standby" {
			t.Errorf("a disk in standby was read or woken: skipped %q, %d attributes, power mode after %q", got.Skipped, len(got.ATAAttributes), after)
		}
	} else {
		t.Logf("QEMU's emulated disk reports %q after STANDBY IMMEDIATE: standby cannot be observed on this emulation", before)
	}
}

// tolerateSmartctlGaps removes the differences between a native record and
// the normalized `smartctl -a -j` of the same device that are gaps of
// smartctl -a, not disagreements: the power mode (smartctl reports it only
// with -n), the NVMe warning/critical temperatures (WCTEMP/CCTEMP, which
// smartctl -a does not put in its JSON), smartctl's own messages, and the
// temperature 0 that smartctl -a prints for a SCSI disk with no
// temperature log page (the native record says "unknown"). Anything else
// must be equal.
func tolerateSmartctlGaps(want, native *model.Disk) {
	if want.PowerMode == "" {
		native.PowerMode = ""
	}
	if native.Device.Protocol == "nvme" {
		if want.WarnTemperatureC == nil {
			native.WarnTemperatureC = nil
		}
		if want.CritTemperatureC == nil {
			native.CritTemperatureC = nil
		}
	}
	want.Errors, native.Errors = nil, nil
	if native.Device.Protocol == "scsi" && !native.SMARTAvailable && native.TemperatureC == nil && want.TemperatureC != nil && *want.TemperatureC == 0 {
		want.TemperatureC = nil
	}
}

// rigScheduledSelfTest runs the daemon in the guest with a short self-test
// scheduled a minute ago on the AHCI disk: its first round starts the
// test (SMART EXECUTE OFFLINE IMMEDIATE; the disk's own self-test log
// gains an entry), its second round and a restarted daemon start none.
func rigScheduledSelfTest(ctx context.Context, t *testing.T, vm *rig.VM, ahci string, read func(string) map[string]model.Disk) {
	logged := func(stage string) []model.SelfTestEntry {
		if st := read(stage)[ahci].SelfTest; st != nil {
			return st.Entries
		}
		return nil
	}
	before := len(logged("before the scheduled self-test"))
	out, err := vm.MustExec(ctx, time.Minute, `at=$(date -d @$(( $(date +%s) - 60 )) +%H:%M)
cat >/tmp/dw/selftest.yaml <<EOF
collectors:
  mdraid: {enabled: false}
  kmsg: {enabled: false}
  hwraid: {enabled: false}
  hwmon: {enabled: false}
  smart:
    smartctl_fallback: false
    self_tests:
      short: "daily $at"
      devices: [`+ahci+`]
daemon: {interval: 1s, collector_intervals: {mdraid: 1s, smart: 1s, smartctl: 1s, hwraid: 1s, hwmon: 1s, probes: 1s}}
EOF
echo "schedule: daily $at, guest time $(date +%H:%M:%S)"`)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("scheduled self-test: %s", strings.TrimSpace(string(out)))
	daemon := func(stage string, rounds int) (started []string) {
		t.Helper()
		r, err := vm.Exec(ctx, 3*time.Minute, fmt.Sprintf("diskwatch daemon --config /tmp/dw/selftest.yaml --state /tmp/dw/selftest-state --metrics-listen off --no-history --rounds %d --log-format json 2>&1", rounds))
		if err != nil {
			t.Fatal(err)
		}
		if r.Exit != 0 {
			t.Errorf("%s: daemon exit %d:\n%s", stage, r.Exit, r.Output)
		}
		for _, l := range strings.Split(string(r.Output), "\n") {
			if strings.Contains(l, `"part":"selftest"`) {
				t.Logf("%s: %s", stage, l)
			}
			if strings.Contains(l, "self-test started") {
				started = append(started, l)
			}
		}
		return started
	}
	started := daemon("daemon, 2 rounds", 2)
	if len(started) != 1 || !strings.Contains(started[0], `"device":"`+ahci+`"`) || !strings.Contains(started[0], `"test":"short"`) {
		t.Errorf("daemon with a short self-test due: started %q, want one short test on %s", started, ahci)
	}
	after := logged("after the daemon's scheduled self-test")
	if len(after) != before+1 || after[0].Type != "short" {
		t.Errorf("self-test log: %d entries before, after %+v; want one more, a short one", before, after)
	}
	st, err := vm.MustExec(ctx, time.Minute, "stat -c %a /tmp/dw/selftest-state/selftests.json; cat /tmp/dw/selftest-state/selftests.json")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(st), "600\n") || !strings.Contains(string(st), `"serial:QEMU_HARDDISK_na0"`) {
		t.Errorf("self-test state file (mode, content):\n%s", st)
	}
	if started := daemon("daemon restarted", 1); len(started) != 0 {
		t.Errorf("restarted daemon started the same slot's test again: %q", started)
	}
	again := logged("after the restarted daemon")
	if len(again) != len(after) {
		t.Errorf("self-test log grew from %d to %d entries after a restart", len(after), len(again))
	}
	t.Logf("self-test log of %s: %d entries before the daemon, %d after it, %d after a restart; state file (mode, content):\n%s", ahci, before, len(after), len(again), st)
}

// rigDiscovery checks SMART discovery in the real kernel with --verbose:
// the block devices come from ghw's inventory (not the /sys/block
// fallback), and each kernel device in want (a name: "sda", "nvme0n1")
// gets the protocol want says.
func rigDiscovery(ctx context.Context, t *testing.T, vm *rig.VM, want map[string]string) {
	t.Helper()
	r, err := vm.Exec(ctx, 2*time.Minute, "diskwatch smart --config /tmp/dw/native.yaml --verbose --log-format json --format json 2>&1 >/dev/null")
	if err != nil {
		t.Fatal(err)
	}
	out := string(r.Output)
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, `"message":"smart: block devices from ghw"`) || strings.Contains(l, `"message":"smart: found"`) ||
			strings.Contains(l, `"message":"smart: skipped"`) || strings.Contains(l, "ghw block inventory failed") {
			t.Logf("discovery: %s", l)
		}
	}
	if !strings.Contains(out, `"message":"smart: block devices from ghw"`) || strings.Contains(out, "ghw block inventory failed") {
		t.Errorf("discovery did not use ghw's inventory:\n%s", out)
	}
	for name, proto := range want {
		if !strings.Contains(out, `"device":"`+name+`",`+proto) {
			t.Errorf("%s: not found with %s:\n%s", name, proto, out)
		}
	}
}
