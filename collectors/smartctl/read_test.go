package smartctl

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// standIn writes an executable shell script called smartctl into a fresh
// directory, puts that directory first on PATH, and returns the directory.
// The script records its arguments in DIR/argv.
func standIn(t *testing.T, body string) string {
	t.Helper()
	dir := t.TempDir()
	script := "#!/bin/sh\nprintf '%s\\n' \"$@\" > " + dir + "/argv\n" + body + "\n"
	if err := os.WriteFile(filepath.Join(dir, "smartctl"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return dir
}

func abs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// A smartctl that reports DISK FAILING (exit bit 3) gives a record with
// smart_passed=false and no error: a failing disk is data.
func TestReadDiskFailingIsData(t *testing.T) {
	capture := abs(t, "testdata/scrutiny/smart-fail2.json")
	dir := standIn(t, "cat '"+capture+"'\nexit 8")
	d, err := Read(context.Background(), "/dev/sdc", "usbjmicron")
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if d.SMARTPassed == nil || *d.SMARTPassed {
		t.Errorf("smart_passed = %v, want false", d.SMARTPassed)
	}
	// The process's exit status wins over the capture's (216).
	if d.Smartctl == nil || d.Smartctl.Status != 8 || strings.Join(d.Smartctl.Flags, ",") != "disk_failing" {
		t.Errorf("exit status decoded as %+v", d.Smartctl)
	}
	if d.Device.Model != "Hitachi HDS721050DLE630" || len(d.ATAAttributes) == 0 {
		t.Errorf("record lost data: %+v", d.Device)
	}
	argv, _ := os.ReadFile(filepath.Join(dir, "argv"))
	if got := strings.Fields(string(argv)); strings.Join(got, " ") != "--json=c -a -n standby -d usbjmicron -- /dev/sdc" {
		t.Errorf("smartctl argv = %q", got)
	}
}

// smartctl -n standby on a sleeping disk exits with bit 1 and says so: the
// record is "skipped: standby", not an error.
func TestReadStandbyIsSkipped(t *testing.T) {
	standIn(t, `cat <<'EOF'
{"json_format_version":[1,0],"smartctl":{"version":[7,3],"argv":["smartctl","--json=c","-a","-n","standby","--","/dev/sdb"],"messages":[{"string":"Device is in STANDBY mode, exit(2)","severity":"information"}],"exit_status":2},"device":{"name":"/dev/sdb","info_name":"/dev/sdb [SAT]","type":"sat","protocol":"ATA"}}
EOF
exit 2`)
	d, err := Read(context.Background(), "/dev/sdb", "")
	if err != nil {
		t.Fatalf("standby disk reported as an error: %v", err)
	}
	if d.Skipped != "standby" || d.PowerMode != "standby" || d.Device.Path != "/dev/sdb" || d.SMARTPassed != nil {
		t.Errorf("record = %+v", d)
	}
}

// Bit 2 (some command failed) keeps the record and says so.
func TestReadCommandFailedKeepsRecord(t *testing.T) {
	standIn(t, "cat '"+abs(t, "testdata/scrutiny/smart-megaraid1.json")+"'\nexit 4")
	d, err := Read(context.Background(), "/dev/sda", "sat+megaraid,1")
	if err != nil {
		t.Fatal(err)
	}
	if d.Device.Via != "sat+megaraid,1" || d.Attr(5) == nil || d.Attr(5).Raw != 387 || len(d.Errors) != 1 {
		t.Errorf("record = %+v errors %q", d.Device, d.Errors)
	}
}

// A smartctl that hangs is killed at the timeout with everything it
// started, and nothing is left behind, not even a zombie.
func TestReadHangKilledAtTimeout(t *testing.T) {
	dir := standIn(t, "echo $$ > "+"PIDDIR/pid\nsleep 300 &\necho $! > PIDDIR/child\nwait")
	// PIDDIR is the stand-in's own directory.
	script := filepath.Join(dir, "smartctl")
	b, _ := os.ReadFile(script)
	os.WriteFile(script, []byte(strings.ReplaceAll(string(b), "PIDDIR", dir)), 0o755)

	start := time.Now()
	_, err := Backend{Timeout: 300 * time.Millisecond}.Read(context.Background(), "/dev/sdz", "")
	took := time.Since(start)
	if err == nil || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "/dev/sdz") {
		t.Fatalf("want a timeout error naming the device, got %v", err)
	}
	if took > 5*time.Second {
		t.Errorf("kill took %v", took)
	}
	for _, f := range []string{"pid", "child"} {
		s, rerr := os.ReadFile(filepath.Join(dir, f))
		if rerr != nil {
			t.Fatalf("stand-in did not start: %v", rerr)
		}
		pid, _ := strconv.Atoi(strings.TrimSpace(string(s)))
		if pid <= 0 {
			t.Fatalf("bad pid %q", s)
		}
		gone(t, pid)
	}
}

// gone waits briefly for pid to disappear. A process reparented to init
// may linger as init's zombie for a moment; our own child must be reaped.
func gone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		if syscall.Kill(pid, 0) != nil {
			return
		}
		st, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		f := strings.Fields(string(st))
		if len(f) > 3 && f[2] == "Z" && f[3] != strconv.Itoa(os.Getpid()) {
			return // init's zombie, not ours
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d survived the timeout: %s", pid, st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestReadErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := (Backend{Program: "/nonexistent/smartctl"}).Read(ctx, "/dev/sda", ""); !errors.Is(err, ErrNotInstalled) {
		t.Errorf("missing program: %v", err)
	}
	// smartctl 6 prints text, not JSON.
	standIn(t, "echo 'smartctl 6.6 2016-05-31 r4324 [x86_64-linux] (local build)'\necho '=======> UNRECOGNIZED OPTION: json=c'\nexit 1")
	_, err := Read(ctx, "/dev/sda", "")
	if err == nil || !strings.Contains(err.Error(), "unusable output") || !strings.Contains(err.Error(), "7.0") {
		t.Errorf("text output: %v", err)
	}
}

// TestReadRealSmartctl runs the real smartctl on devices that answer
// without privileges or hardware: a device type it cannot detect (exit
// bit 0) and a device that does not exist (exit bit 1, open failed).
func TestReadRealSmartctl(t *testing.T) {
	if _, err := exec.LookPath("smartctl"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("smartctl is not installed (.ci/setup installs smartmontools)")
		}
		t.Skip("smartctl is not installed: apt-get install smartmontools")
	}
	ctx := context.Background()
	d, err := Read(ctx, "/dev/null", "")
	if err == nil || !strings.Contains(err.Error(), "Unable to detect device type") || d.Smartctl == nil || d.Smartctl.Status&ExitCommandLine == 0 {
		t.Errorf("/dev/null: %v, %+v", err, d.Smartctl)
	}
	missing := filepath.Join(t.TempDir(), "sdz")
	d, err = Read(ctx, missing, "sat")
	if err == nil || !strings.Contains(err.Error(), "open") || !strings.Contains(err.Error(), missing) || d.Smartctl.Status&ExitOpenFailed == 0 {
		t.Errorf("missing device: %v, %+v", err, d.Smartctl)
	}
	if d.Skipped != "" {
		t.Errorf("an open failure is not standby: %+v", d)
	}
}

// BenchmarkReadSmartctlFloor is the least one smartctl backend read costs:
// the real smartctl started, its JSON read and normalized, on a device
// that fails to open (no hardware needed). A real read adds the device's
// own command time.
func BenchmarkReadSmartctlFloor(b *testing.B) {
	if _, err := exec.LookPath("smartctl"); err != nil {
		b.Skip("smartctl is not installed")
	}
	dev := filepath.Join(b.TempDir(), "sdz")
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		if _, err := Read(ctx, dev, "sat"); err == nil {
			b.Fatal("no error for a missing device")
		}
	}
}
