package main

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/diskwatch/diskwatch/alerts/rules"
	"github.com/diskwatch/diskwatch/cmd/diskwatch/internal/rig"
	"github.com/diskwatch/diskwatch/collectors/model"
)

// TestRigSmartctl reads real kernel devices in QEMU through the smartctl
// backend (the smartctl collector, configured with -d types as a user
// would): an AHCI disk (SAT), an NVMe controller, a virtio-scsi disk
// without SMART and a disk behind an emulated MegaRAID. Each record must
// equal the normalized `smartctl -j -a` capture of the same device taken
// in the guest, the SMART rules must stay quiet on the healthy devices
// (QEMU's NVMe reports spare 0 and threshold 0), and NVMe critical warning
// bits set over QMP must come back as named findings, with smartctl's exit
// bit 3 taken as data.
func TestRigSmartctl(t *testing.T) {
	disks := []rig.Disk{{ID: "sc0", Bus: rig.AHCI}, {ID: "scn0", Bus: rig.NVMe}, {ID: "scv0", Bus: rig.VirtioSCSI}, {ID: "scm0", Bus: rig.MegaSAS}}
	ctx, vm := rigBoot(t, 10*time.Minute, rig.Config{Disks: disks}, nil)
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
		if (dev["sc0"] != "" && dev["scn0"] != "" && dev["scv0"] != "") || i == 90 {
			break
		}
		time.Sleep(time.Second)
	}
	if dev["sc0"] == "" || dev["scn0"] == "" || dev["scv0"] == "" {
		t.Fatalf("disks by serial: %v", dev)
	}
	scan, err := vm.MustExec(ctx, time.Minute, "smartctl --scan-open")
	if err != nil {
		t.Fatal(err)
	}
	mr := regexp.MustCompile(`(?m)^(/dev/\S+) -d (megaraid,\d+)`).FindStringSubmatch(string(scan))
	if mr == nil {
		t.Fatalf("smartctl --scan-open lists no megaraid disk:\n%s", scan)
	}
	nvme := "/dev/" + strings.TrimSuffix(dev["scn0"], "n1")
	devices := []struct{ path, typ string }{
		{"/dev/" + dev["sc0"], "sat"}, {nvme, "nvme"}, {"/dev/" + dev["scv0"], ""}, {mr[1], mr[2]},
	}
	var cfg strings.Builder
	cfg.WriteString("collectors:\n  mdraid: {enabled: false}\n  smartctl:\n    devices:\n")
	for _, d := range devices {
		fmt.Fprintf(&cfg, "      - {path: %s, type: %q}\n", d.path, d.typ)
	}
	if _, err := vm.MustExec(ctx, time.Minute, "mkdir -p /tmp/dw && cat >/tmp/dw/diskwatch.yaml <<'EOF'\n"+cfg.String()+"EOF"); err != nil {
		t.Fatal(err)
	}

	// read returns the records the smartctl collector produced, by path.
	read := func(stage string) map[string]model.Disk {
		t.Helper()
		start := time.Now()
		r, err := vm.Exec(ctx, 2*time.Minute, "diskwatch smart --config /tmp/dw/diskwatch.yaml --format json 2>/tmp/dw/err; cat /tmp/dw/err >&2")
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
			if d.Smartctl != nil { // from smartctl, not the native collector
				m[d.Device.Path] = d
			}
		}
		t.Logf("%s: %d records from the smartctl collector in %v (guest, TCG); stderr: %s", stage, len(m), time.Since(start).Round(time.Millisecond), out[len(js):])
		return m
	}

	recs := read("healthy")
	for _, d := range devices {
		if _, ok := recs[d.path]; !ok {
			t.Errorf("no smartctl record for %s -d %q; have %v", d.path, d.typ, keys(recs))
		}
	}
	// Field by field against smartctl's own capture of the same device.
	for i, d := range devices {
		rec, ok := recs[d.path]
		if !ok {
			continue
		}
		arg := ""
		if d.typ != "" {
			arg = "-d " + d.typ
		}
		f := fmt.Sprintf("/tmp/dw/cap%d.json", i)
		r, err := vm.Exec(ctx, time.Minute, fmt.Sprintf("smartctl -j -a -n standby %s %s >%s; diskwatch smart --format json --smartctl-json %s", arg, d.path, f, f))
		if err != nil {
			t.Fatal(err)
		}
		var caps []model.Disk
		if err := json.Unmarshal(r.Output, &caps); err != nil || len(caps) != 1 {
			t.Errorf("%s: capture: %v\n%s", d.path, err, r.Output)
			continue
		}
		if diff := cmp.Diff(caps[0], rec); diff != "" {
			t.Errorf("%s: backend record differs from the normalized smartctl -j -a capture (-capture +backend):\n%s", d.path, diff)
		}
	}
	ahci := recs["/dev/"+dev["sc0"]]
	if ahci.Device.Protocol != "ata" || ahci.Device.Serial != "sc0" || ahci.SMARTPassed == nil || !*ahci.SMARTPassed || ahci.Attr(9) == nil {
		t.Errorf("AHCI record: %+v", ahci)
	}
	nv := recs[nvme]
	if nv.NVMe == nil || nv.Device.Serial != "scn0" || nv.NVMe.CriticalWarning != 0 || nv.SMARTPassed == nil || !*nv.SMARTPassed {
		t.Errorf("NVMe record: %+v", nv)
	}
	vio := recs["/dev/"+dev["scv0"]]
	if vio.Device.Protocol != "scsi" || vio.SMARTAvailable || vio.SMARTPassed != nil {
		t.Errorf("virtio-scsi record (a disk without SMART): %+v", vio)
	}
	if m := recs[mr[1]]; m.Device.Via != mr[2] {
		t.Errorf("megaraid record: %+v", m.Device)
	}

	// The rules on these real records: nothing but information.
	eval := func(recs map[string]model.Disk) []model.Finding {
		var ds []model.Disk
		for _, d := range recs {
			ds = append(ds, d)
		}
		return rules.NewSet(rules.SMARTRules()...).Evaluate(&rules.Input{Snapshot: &model.Snapshot{Disks: ds}, Now: fixedNow}, nil)
	}
	for _, f := range eval(recs) {
		if f.Severity != model.OK {
			t.Errorf("healthy QEMU devices: %s %s %s: %s", f.Severity, f.Rule, f.Subject, f.Message)
		}
	}
	notRead := 0
	for _, f := range eval(recs) {
		if f.Rule == "smart.not_read" {
			notRead++
		}
	}
	if notRead == 0 {
		t.Errorf("the virtio-scsi disk without SMART is not reported as such")
	}

	// Critical warning bits 2 (reliability degraded) and 3 (read-only),
	// set at run time: smartctl exits with bit 3 (disk failing), which is
	// data, and each bit is a named finding.
	if _, err := vm.QMP(ctx, "qom-set", map[string]any{"path": "/machine/peripheral/scn0", "property": "smart_critical_warning", "value": 0x0c}); err != nil {
		t.Fatal(err)
	}
	recs = read("critical warning 0x0c")
	nv, ok := recs[nvme]
	if !ok || nv.NVMe == nil || nv.NVMe.CriticalWarning != 0x0c || nv.SMARTPassed == nil || *nv.SMARTPassed ||
		nv.Smartctl.Status&0x08 == 0 {
		t.Fatalf("NVMe after qom-set: %+v %+v", nv.NVMe, nv.Smartctl)
	}
	var got []string
	for _, f := range eval(recs) {
		if f.Severity != model.OK {
			got = append(got, f.Rule+":"+f.Severity.String())
		}
	}
	sort.Strings(got)
	if want := "smart.nvme_critical_warning.read_only:CRITICAL smart.nvme_critical_warning.reliability_degraded:CRITICAL"; strings.Join(got, " ") != want {
		t.Errorf("findings: got %v, want %s", got, want)
	}
	r, err := vm.Exec(ctx, 2*time.Minute, "diskwatch check --config /tmp/dw/diskwatch.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if r.Exit != exitCritical || !strings.Contains(string(r.Output), "read-only mode") {
		t.Errorf("diskwatch check in the guest: exit %d\n%s", r.Exit, r.Output)
	}
}

func keys(m map[string]model.Disk) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
