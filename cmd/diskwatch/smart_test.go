package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/diskwatch/diskwatch/collectors/model"
)

// smartCaptures are real smartctl -j captures (sources:
// collectors/smartctl/testdata/SOURCES.md): an ATA disk failing behind a
// USB bridge, a MegaRAID pass-through disk, an NVMe drive, a SAS disk, a
// health-only (-H) output, and an error-only output.
var smartCaptures = []string{
	"scrutiny/smart-fail2.json",
	"scrutiny/smart-megaraid1.json",
	"scrutiny/smart-nvme-failed.json",
	"smartctl_exporter/HITACHI_H109060SESUN600G_10.json",
	"scrutiny/smart-pass.json",
}

func capturePaths(names ...string) []string {
	var out []string
	for _, n := range names {
		out = append(out, filepath.Join("..", "..", "collectors", "smartctl", "testdata", n))
	}
	return out
}

func TestSmartCapturesGolden(t *testing.T) {
	files := capturePaths(smartCaptures...)
	for _, format := range []string{"text", "json"} {
		out, errOut, code := runCmd(t, nil, append([]string{"smart", "--format", format, "--smartctl-json"}, files...)...)
		if code != exitOK || errOut != "" {
			t.Fatalf("%s: exit %d, stderr %q", format, code, errOut)
		}
		golden(t, "smart-captures."+format, out)
	}
	// The JSON is an array of records, one per capture, in order.
	out, _, _ := runCmd(t, nil, append([]string{"smart", "--smartctl-json", "--format=json"}, files...)...)
	var recs []model.Disk
	if err := json.Unmarshal([]byte(out), &recs); err != nil {
		t.Fatal(err)
	}
	if len(recs) != len(files) || recs[0].Device.Path != "/dev/sdc" || recs[2].NVMe == nil || recs[3].SCSI == nil {
		t.Errorf("records: %d", len(recs))
	}
}

func TestSmartCaptureErrors(t *testing.T) {
	files := capturePaths("scrutiny/smart-pass.json", "scrutiny/smart-fail.json", "scrutiny/smartctl_scan_simple.json", "does-not-exist.json")
	out, errOut, code := runCmd(t, nil, append([]string{"smart", "--smartctl-json"}, files...)...)
	if code != exitUnknown {
		t.Errorf("exit %d, want %d", code, exitUnknown)
	}
	// The good capture is still printed; each bad one is named with why.
	if !strings.Contains(out, "/dev/sdc") || !strings.Contains(out, "PASSED") {
		t.Errorf("stdout lost the good capture:\n%s", out)
	}
	for _, want := range []string{"smart-fail.json: smartctl: /dev/sda: smartctl read no device data: Smartctl open device", "smartctl_scan_simple.json: smartctl JSON: not a smartctl device report", "does-not-exist.json"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if _, errOut, code := runCmd(t, nil, "smart", "--smartctl-json"); code != exitUnknown || !strings.Contains(errOut, "FILE") {
		t.Errorf("no files: %d %q", code, errOut)
	}
	if _, _, code := runCmd(t, nil, "smart", "--format", "xml", "--smartctl-json", files[0]); code != exitUnknown {
		t.Errorf("bad format: %d", code)
	}
}

// TestSmartDevices reads devices through a stand-in smartctl: the ones
// the config lists (the smartctl collector), and a DEVICE argument no
// collector produced (read through smartctl directly).
func TestSmartDevices(t *testing.T) {
	dir := t.TempDir()
	megaraid, _ := filepath.Abs(capturePaths("scrutiny/smart-megaraid1.json")[0])
	nvme, _ := filepath.Abs(capturePaths("scrutiny/smart-nvme-failed.json")[0])
	script := "#!/bin/sh\nfor last; do :; done\ncase \"$last\" in\n/dev/bus/0) cat '" + megaraid + "'; exit 4;;\n/dev/nvme0) cat '" + nvme + "'; exit 0;;\nesac\nexit 2\n"
	if err := os.WriteFile(filepath.Join(dir, "smartctl"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	cfg := filepath.Join(dir, "diskwatch.yaml")
	os.WriteFile(cfg, []byte("collectors:\n  mdraid: {enabled: false}\n  smartctl:\n    devices:\n      - {path: /dev/bus/0, type: \"megaraid,1\"}\n"), 0o644)

	out, errOut, code := runCmd(t, nil, "smart", "--config", cfg, "--format", "json")
	var recs []model.Disk
	if err := json.Unmarshal([]byte(out), &recs); err != nil || code != exitOK || errOut != "" {
		t.Fatalf("exit %d, stderr %q, %v", code, errOut, err)
	}
	if len(recs) != 1 || recs[0].Device.Via != "sat+megaraid,1" || recs[0].Device.Model != "WD4000FYYX" {
		t.Errorf("configured device: %+v", recs)
	}

	// Flags after the device; a device no collector knows.
	out, errOut, code = runCmd(t, nil, "smart", "--config", cfg, "/dev/nvme0", "sda", "--format", "text")
	if code != exitOK || errOut != "" || !strings.Contains(out, "/dev/nvme0\n") || !strings.Contains(out, "/dev/sda [sda megaraid,1]") {
		t.Errorf("exit %d, stderr %q:\n%s", code, errOut, out)
	}
	// A device smartctl cannot open: an error naming it.
	_, errOut, code = runCmd(t, nil, "smart", "--config", cfg, "/dev/sdq")
	if code != exitUnknown || !strings.Contains(errOut, "/dev/sdq") {
		t.Errorf("unreadable device: exit %d, stderr %q", code, errOut)
	}
}

// Device strings are untrusted (a USB bridge can report anything): the
// text output escapes control characters.
func TestSmartTextCleansDeviceStrings(t *testing.T) {
	f := filepath.Join(t.TempDir(), "evil.json")
	os.WriteFile(f, []byte(`{"device":{"name":"/dev/sdx","type":"sat","protocol":"ATA"},"model_name":"EVIL\u001b[2J\u0007","serial_number":"S\nN","smart_status":{"passed":true}}`), 0o644)
	out, _, code := runCmd(t, nil, "smart", "--smartctl-json", f)
	if code != exitOK || strings.ContainsAny(out, "\x1b\x07") || !strings.Contains(out, `EVIL\x1b[2J\x07`) || !strings.Contains(out, `S\x0aN`) {
		t.Errorf("exit %d:\n%q", code, out)
	}
}

// TestSmartVerboseDiscovery: `--verbose` says where the block-device
// inventory came from (ghw, chrooted at --root), each disk found with what
// udev knows of it, and why each other device is skipped. The root is
// collectors/smart/testdata/roots/copied-udev (its README says what it is);
// it has no device nodes, so no disk is read.
func TestSmartVerboseDiscovery(t *testing.T) {
	root := filepath.Join("..", "..", "collectors", "smart", "testdata", "roots", "copied-udev")
	out, errOut, code := runCmd(t, nil, "smart", "--config", noConfig(t), "--root", root, "--verbose", "--log-format", "json")
	// Nothing read says why, in one line.
	if code != exitOK || out != "no disks read (skipped dm-0: device-mapper volume; loop1: loop device; md0: md RAID array (its members are read); sr0: optical drive)\n" {
		t.Fatalf("exit %d, stdout %q, stderr:\n%s", code, out, errOut)
	}
	for _, want := range []string{
		`"devices":8,"root":"` + root + `"`, `"message":"smart: block devices from ghw"`,
		`"device":"sdb","protocol":"ata","via":"sat","usb":true,"controller":"SCSI","bus_path":"pci-0000:00:14.0-usb-0:2:1.0-scsi-0:0:0:0","model":"PSSD_T7","serial":"S5SXNS0R123456A"`,
		`"device":"dm-0","reason":"device-mapper volume"`, `"device":"loop1","reason":"loop device"`,
		`"device":"md0","reason":"md RAID array (its members are read)"`, `"device":"sr0","reason":"optical drive"`,
		`"device":"sda","reason":"no device node under ` + root + `/dev"`,
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %s:\n%s", want, errOut)
		}
	}
	if strings.Contains(errOut, `"loop0"`) || strings.Contains(errOut, `"level":"warn"`) {
		t.Errorf("unused loop0 listed, or a warning:\n%s", errOut)
	}
}
