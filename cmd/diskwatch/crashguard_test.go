package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A `check` that crashes (here: SIGSEGV delivered to the checking process
// while it waits on a read, as a runtime fault would end it) exits 3
// (UNKNOWN) and says diskwatch crashed — never 2, which cron and Nagios
// read as CRITICAL. A normal check keeps its own exit code.
func TestCheckCrashIsUnknown(t *testing.T) {
	bin := diskwatchBin(t)
	cfg := noConfig(t)
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "proc"), 0o755)
	if err := syscall.Mkfifo(filepath.Join(root, "proc", "mdstat"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "check", "--root", root, "--config", cfg, "--state", "off", "--format", "nagios")
	var out, errb syncBuf
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The checking child: the supervisor's only child.
	var child int
	deadline := time.Now().Add(5 * time.Second)
	for child == 0 && time.Now().Before(deadline) {
		child = childOf(cmd.Process.Pid)
		time.Sleep(10 * time.Millisecond)
	}
	if child == 0 {
		t.Fatal("no checking child process")
	}
	time.Sleep(300 * time.Millisecond)
	syscall.Kill(child, syscall.SIGSEGV)
	err := cmd.Wait()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	if code != exitUnknown || !strings.Contains(errb.String(), "crash of diskwatch itself") || !strings.Contains(out.String(), "DISKWATCH UNKNOWN") {
		t.Fatalf("exit %d, stdout %q, stderr:\n%s", code, out.String(), errb.String())
	}
	// A normal run keeps its code (CRITICAL for a degraded array).
	c2 := exec.Command(bin, "check", "--root", mdRootDegraded(t), "--config", cfg, "--state", "off")
	err = c2.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != exitCritical {
		t.Errorf("a degraded array through the supervisor: %v", err)
	}
}

func mdRootDegraded(t *testing.T) string {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "proc"), 0o755)
	os.WriteFile(filepath.Join(root, "proc", "mdstat"), []byte("Personalities : [raid1]\nmd0 : active raid1 sda1[0]\n      1048512 blocks super 1.2 [2/1] [U_]\n\nunused devices: <none>\n"), 0o644)
	return root
}

// childOf finds a child process of pid in /proc.
func childOf(pid int) int {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			return n
		}
	}
	return 0
}
