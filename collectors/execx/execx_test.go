package execx

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestOutputAndExitCode(t *testing.T) {
	ctx := context.Background()
	out, err := Output(ctx, 10*time.Second, "echo", "a b", "$HOME")
	if err != nil {
		t.Fatal(err)
	}
	if got := string(out); got != "a b $HOME\n" {
		t.Fatalf("argv was not passed verbatim: %q", got)
	}
	err = Cmd{Name: "sh", Args: []string{"-c", "echo oops >&2; exit 3"}, Timeout: 10 * time.Second}.Run(ctx)
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != 3 || ee.Stderr != "oops" {
		t.Fatalf("want ExitError code 3 with stderr, got %#v", err)
	}
	if _, err := Output(ctx, time.Second, "/nonexistent/program"); err == nil {
		t.Fatal("missing program: no error")
	}
}

// TestTimeoutKillsGroup starts a program that leaves a background child
// behind, and checks that the timeout kills both and nothing is left.
func TestTimeoutKillsGroup(t *testing.T) {
	var out bytes.Buffer
	start := time.Now()
	p, err := Cmd{Name: "sh", Args: []string{"-c", "sleep 100 & echo $!; wait"}, Stdout: &out, Timeout: 500 * time.Millisecond}.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	err = p.Wait()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want deadline exceeded, got %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("kill took %v", d)
	}
	child, err := strconv.Atoi(strings.TrimSpace(out.String()))
	if err != nil {
		t.Fatalf("child pid %q: %v", out.String(), err)
	}
	// The grandchild was reparented and must be gone (or at most a zombie
	// of init, which is not ours to reap): signal 0 fails or its state is Z.
	deadline := time.Now().Add(3 * time.Second)
	for {
		if syscall.Kill(child, 0) != nil {
			break
		}
		st, _ := os.ReadFile("/proc/" + strconv.Itoa(child) + "/stat")
		if f := strings.Fields(string(st)); len(f) > 2 && f[2] == "Z" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("background child %d survived the timeout", child)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Our own direct child was reaped.
	if err := syscall.Kill(p.Pid(), 0); err == nil {
		st, _ := os.ReadFile("/proc/" + strconv.Itoa(p.Pid()) + "/stat")
		t.Fatalf("process %d still exists: %s", p.Pid(), st)
	}
}

func TestCancelKills(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	p, err := Cmd{Name: "sleep", Args: []string{"100"}, Timeout: -1}.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case <-p.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("cancel did not kill the program")
	}
	if err := p.Wait(); !errors.Is(err, context.Canceled) {
		t.Fatalf("want canceled, got %v", err)
	}
}

// TestDieWithParent: a helper process started with DieWithParent dies
// when the process that started it is killed.
func TestDieWithParent(t *testing.T) {
	if os.Getenv("EXECX_HELPER") == "1" {
		p, err := Cmd{Name: "sleep", Args: []string{"100"}, Timeout: -1, DieWithParent: true}.Start(context.Background())
		if err != nil {
			os.Exit(3)
		}
		os.WriteFile(os.Getenv("EXECX_PIDFILE"), []byte(strconv.Itoa(p.Pid())), 0o644)
		time.Sleep(time.Minute)
		return
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	pidFile := t.TempDir() + "/pid"
	parent, err := Cmd{Name: self, Args: []string{"-test.run=^TestDieWithParent$"}, Env: append(os.Environ(), "EXECX_HELPER=1", "EXECX_PIDFILE="+pidFile), Timeout: 30 * time.Second}.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var child int
	for i := 0; i < 100 && child == 0; i++ {
		time.Sleep(50 * time.Millisecond)
		b, _ := os.ReadFile(pidFile)
		child, _ = strconv.Atoi(strings.TrimSpace(string(b)))
	}
	if child == 0 {
		parent.Kill()
		t.Fatal("helper wrote no pid")
	}
	syscall.Kill(parent.Pid(), syscall.SIGKILL) // only the parent, not its group
	parent.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for syscall.Kill(child, 0) == nil {
		st, _ := os.ReadFile("/proc/" + strconv.Itoa(child) + "/stat")
		if f := strings.Fields(string(st)); len(f) > 2 && f[2] == "Z" {
			break
		}
		if time.Now().After(deadline) {
			syscall.Kill(child, syscall.SIGKILL)
			t.Fatalf("child %d outlived its parent", child)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
