package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/diskwatch/diskwatch/alerts/output/cli"
)

var update = flag.Bool("update", false, "rewrite golden files")

var fixedNow = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// runCmd runs diskwatch in-process with the given environment.
func runCmd(t *testing.T, envv map[string]string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var o, e bytes.Buffer
	en := &env{stdout: &o, stderr: &e, now: func() time.Time { return fixedNow },
		getenv: func(k string) string { return envv[k] }}
	code = run(context.Background(), en, args)
	return o.String(), e.String(), code
}

var durationRE = regexp.MustCompile(`"duration_ns": \d+`)

func golden(t *testing.T, name, got string) {
	t.Helper()
	got = durationRE.ReplaceAllString(got, `"duration_ns": 0`)
	p := filepath.Join("testdata", "golden", name)
	if *update {
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from golden file:\n--- want\n%s\n--- got\n%s", name, want, got)
	}
}

// noConfig points --config at the embedded default regardless of the
// machine's /etc/diskwatch.
func noConfig(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "diskwatch.yaml")
	var o bytes.Buffer
	run(context.Background(), &env{stdout: &o, stderr: &o, getenv: func(string) string { return "" }, now: time.Now}, []string{"config", "default"})
	os.WriteFile(p, o.Bytes(), 0o644)
	return p
}

func TestGoldenCheck(t *testing.T) {
	cfg := noConfig(t)
	for _, tc := range []struct {
		root string
		code int
	}{
		{"healthy", exitOK},
		{"rebuilding", exitWarning},
		{"degraded-mix", exitCritical},
		{"hidden-write-error", exitCritical},
	} {
		for _, format := range []string{"text", "json", "nagios"} {
			t.Run(tc.root+"/"+format, func(t *testing.T) {
				out, errOut, code := runCmd(t, nil, "check", "--config", cfg, "--root", filepath.Join("testdata", "roots", tc.root), "--format", format)
				if code != tc.code {
					t.Errorf("exit %d, want %d; stderr %s", code, tc.code, errOut)
				}
				golden(t, "check-"+tc.root+"."+format, out)
				if format == "json" {
					var doc struct {
						Status   string
						Findings []map[string]any
					}
					if err := json.Unmarshal([]byte(out), &doc); err != nil {
						t.Fatalf("not JSON: %v", err)
					}
					if want := []string{"OK", "WARNING", "CRITICAL"}[tc.code]; doc.Status != want {
						t.Errorf("status %s, want %s", doc.Status, want)
					}
				}
			})
		}
	}
}

func TestNothingToWatchIsOK(t *testing.T) {
	out, _, code := runCmd(t, nil, "check", "--config", noConfig(t), "--root", t.TempDir())
	if code != exitOK || !strings.Contains(out, "nothing to watch") {
		t.Fatalf("exit %d, output %q", code, out)
	}
}

func TestRootFromEnvironment(t *testing.T) {
	out, _, code := runCmd(t, map[string]string{"DISKWATCH_ROOT": filepath.Join("testdata", "roots", "rebuilding")}, "check", "--config", noConfig(t), "--format", "nagios")
	if code != exitWarning || !strings.HasPrefix(out, "DISKWATCH WARNING - md6") {
		t.Fatalf("exit %d, output %q", code, out)
	}
}

func TestBadConfigIsUnknown(t *testing.T) {
	p := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(p, []byte("rules:\n  no.such.rule: {}\n"), 0o644)
	out, errOut, code := runCmd(t, nil, "check", "--config", p, "--format", "nagios", "--root", t.TempDir())
	if code != exitUnknown || !strings.Contains(errOut, "bad.yaml:2:") || !strings.HasPrefix(out, "DISKWATCH UNKNOWN") {
		t.Fatalf("exit %d, out %q, err %q", code, out, errOut)
	}
	_, errOut, code = runCmd(t, nil, "config", "check", p)
	if code != exitUnknown || !strings.Contains(errOut, `bad.yaml:2:3: unknown rule "no.such.rule"`) {
		t.Fatalf("config check: exit %d, %q", code, errOut)
	}
	_, _, code = runCmd(t, nil, "config", "check", noConfig(t))
	if code != exitOK {
		t.Fatalf("config check of the default: exit %d", code)
	}
}

func TestUsage(t *testing.T) {
	if _, e, code := runCmd(t, nil); code != exitUnknown || !strings.Contains(e, "usage:") {
		t.Errorf("no args: %d %q", code, e)
	}
	if _, e, code := runCmd(t, nil, "frob"); code != exitUnknown || !strings.Contains(e, `unknown command "frob"`) {
		t.Errorf("unknown: %d %q", code, e)
	}
	if _, e, code := runCmd(t, nil, "check", "--format", "xml"); code != exitUnknown || !strings.Contains(e, "--format") {
		t.Errorf("bad format: %d %q", code, e)
	}
}

func TestNoRawControlCharactersInOutput(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "proc"), 0o755)
	os.WriteFile(filepath.Join(dir, "proc", "mdstat"), []byte("Personalities : [raid1]\n"+
		"md0 : active raid1 sd\x1bP0;pwned\x07a[0](F) sdb\x9b2J[1]\n      100 blocks [2/1] [_U]\n\nunused devices: <none>\n"), 0o644)
	for _, format := range []string{"text", "nagios", "json"} {
		out, _, code := runCmd(t, nil, "check", "--config", noConfig(t), "--root", dir, "--format", format)
		if code != exitCritical {
			t.Errorf("%s: exit %d\n%s", format, code, out)
		}
		for _, r := range out {
			if (r < 0x20 && r != '\n') || r == 0x7f || (r >= 0x80 && r < 0xa0) {
				t.Fatalf("%s: raw control character %U in output:\n%q", format, r, out)
			}
		}
		if format == "text" && !strings.Contains(out, `sd\x1bP0;pwned\x07a`) {
			t.Errorf("text: the escaped name is not shown: %s", out)
		}
	}
}

// encoding/json leaves DEL and the C1 controls raw; diskwatch's JSON
// output escapes them, and the value reads back unchanged.
func TestWriteJSONEscapesDELAndC1(t *testing.T) {
	in := map[string]string{"model": "a\x7fb\u009bc\x1bd<"}
	var b bytes.Buffer
	if err := cli.JSON(&b, in); err != nil {
		t.Fatal(err)
	}
	if want := "{\n  \"model\": \"a\\u007fb\\u009bc\\u001bd\\u003c\"\n}\n"; b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
	var back map[string]string
	if err := json.Unmarshal(b.Bytes(), &back); err != nil || back["model"] != in["model"] {
		t.Errorf("read back %q: %v", back, err)
	}
}
