package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/diskwatch/diskwatch/alerts/output/cli"
	"github.com/diskwatch/diskwatch/collectors/model"
)

// ackHost is a host whose one disk is read through smartctl (the
// collectors.smartctl.program setting) answering with a real capture:
// scrutiny/smart-fail2.json, a Hitachi HDS721050DLE630 with 8 pending
// sectors (collectors/smartctl/testdata/SOURCES.md). later(v) writes the
// same drive's next reading with attribute 197 at v — the capture with
// one value changed by the test, for the growth step; the capture file
// itself is not touched.
type ackHost struct {
	dir, cfg, reading string
	capture           map[string]any
}

func newAckHost(t *testing.T) *ackHost {
	t.Helper()
	h := &ackHost{dir: t.TempDir()}
	b, err := os.ReadFile(capturePaths("scrutiny/smart-fail2.json")[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &h.capture); err != nil {
		t.Fatal(err)
	}
	h.reading = filepath.Join(h.dir, "reading.json")
	if err := os.WriteFile(h.reading, b, 0o644); err != nil {
		t.Fatal(err)
	}
	prog := filepath.Join(h.dir, "smartctl")
	os.WriteFile(prog, []byte("#!/bin/sh\ncat '"+h.reading+"'\nexit 216\n"), 0o755)
	h.cfg = filepath.Join(h.dir, "diskwatch.yaml")
	os.WriteFile(h.cfg, []byte(fmt.Sprintf(`collectors:
  mdraid: {enabled: false}
  smart: {enabled: false}
  kmsg: {enabled: false}
  hwraid: {enabled: false}
  hwmon: {enabled: false}
  smartctl:
    program: %s
    devices: [{path: /dev/sdz, type: sat}]
`, prog)), 0o600)
	return h
}

func (h *ackHost) later(t *testing.T, pending int) {
	t.Helper()
	for _, a := range h.capture["ata_smart_attributes"].(map[string]any)["table"].([]any) {
		if a := a.(map[string]any); a["id"].(float64) == 197 {
			a["raw"] = map[string]any{"value": pending, "string": fmt.Sprint(pending)}
		}
	}
	b, _ := json.Marshal(h.capture)
	if err := os.WriteFile(h.reading, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// check runs the built binary's `diskwatch check --format json` and
// returns the findings of rule.
func (h *ackHost) check(t *testing.T, bin, state, rule string) []model.Finding {
	t.Helper()
	cmd := exec.Command(bin, "check", "--config", h.cfg, "--state", state, "--format", "json")
	out, err := cmd.Output()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatal(err)
	}
	var doc cli.CheckDoc
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("check output: %v\n%s", err, out)
	}
	var fs []model.Finding
	for _, f := range doc.Findings {
		if f.Rule == rule {
			fs = append(fs, f)
		}
	}
	return fs
}

// TestAckPendingSectorsEndToEnd drives the built binary as README says:
// `diskwatch check` warns on 8 pending sectors on every run; after
// `diskwatch ack sdc 197` (the capture names its disk /dev/sdc) the same static count is quiet on the next run
// and after a restart (each check is a new process reopening the store);
// one more pending sector warns again, saying it grew past the
// acknowledgement.
func TestAckPendingSectorsEndToEnd(t *testing.T) {
	bin := diskwatchBin(t)
	h := newAckHost(t)
	state := filepath.Join(h.dir, "state")
	for run := 1; run <= 2; run++ {
		fs := h.check(t, bin, state, "smart.pending_sectors")
		if len(fs) != 1 || fs[0].Severity != model.Notice || !strings.Contains(fs[0].Message, "raw 8") {
			t.Fatalf("run %d before ack: smart.pending_sectors %+v, want one NOTICE on 8 sectors", run, fs)
		}
	}
	out, err := exec.Command(bin, "ack", "--config", h.cfg, "--state", state, "sdc", "197").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "acknowledged smart_attr_197_raw = 8") {
		t.Fatalf("ack: %v\n%s", err, out)
	}
	for run := 1; run <= 2; run++ {
		if fs := h.check(t, bin, state, "smart.pending_sectors"); len(fs) != 0 {
			t.Fatalf("run %d after ack: the acknowledged count still warns: %+v", run, fs)
		}
	}
	// The daemon (another process, the same store) agrees: its snapshot's
	// findings have none (a NOTICE is not an alert, so alerts.json would
	// not say).
	alertsDir := state
	cmd := exec.Command(bin, "daemon", "--config", h.cfg, "--state", alertsDir, "--rounds", "1", "--log-level", "error")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("daemon: %v\n%s", err, out)
	}
	if b, err := os.ReadFile(filepath.Join(alertsDir, "snapshot.json")); err != nil || !strings.Contains(string(b), `"findings"`) || strings.Contains(string(b), "smart.pending_sectors") {
		t.Fatalf("daemon after ack: %v\n%s", err, b)
	}
	h.later(t, 9)
	fs := h.check(t, bin, state, "smart.pending_sectors")
	if len(fs) != 1 || fs[0].Severity != model.Notice || !strings.Contains(fs[0].Message, "raw 9") || !strings.Contains(fs[0].Message, "grew beyond 8 acknowledged") {
		t.Fatalf("after growth past the ack: %+v", fs)
	}
	if fs := h.check(t, bin, state, "trend.pending"); len(fs) != 1 || fs[0].Severity != model.Notice {
		t.Fatalf("trend.pending after growth: %+v", fs)
	}
}
