package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
)

// A Go program that dies of a runtime fault, an unrecovered panic in a
// goroutine or an exhausted resource exits with status 2 — which cron and
// Nagios read as CRITICAL, a false cry about the disks. `check` therefore
// runs in a child process (this binary again) that reports its verdict on
// a pipe just before it exits; a child that ends without one crashed, and
// the parent says so and exits 3 (UNKNOWN): diskwatch's own failure is
// never CRITICAL.

// childEnv marks the child; its value is the verdict pipe's descriptor.
const childEnv = "DISKWATCH_CHECK_CHILD"

// superviseCheck runs `check` in a child when args ask for it and this is
// not the child already; ok is false otherwise (run in this process).
func superviseCheck(args []string, stdout, stderr io.Writer) (code int, ok bool) {
	if os.Getenv(childEnv) == "3" {
		// The verdict pipe is ours alone: no process this child starts
		// (the history verifier, smartctl) may hold it open.
		syscall.CloseOnExec(3)
	}
	if len(args) == 0 || args[0] != "check" || os.Getenv(childEnv) != "" {
		return 0, false
	}
	exe, err := os.Executable()
	if err != nil {
		return 0, false
	}
	r, w, err := os.Pipe()
	if err != nil {
		return 0, false
	}
	cmd := exec.Command(exe, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.ExtraFiles = []*os.File{w} // fd 3 in the child
	cmd.Env = append(os.Environ(), childEnv+"=3")
	if err := cmd.Start(); err != nil {
		r.Close()
		w.Close()
		return 0, false
	}
	w.Close()
	// ^C and SIGTERM are for the child (which stops its check cleanly);
	// the parent passes them on and waits.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		for s := range sigs {
			cmd.Process.Signal(s)
		}
	}()
	var verdict [1]byte
	n, _ := io.ReadFull(r, verdict[:])
	r.Close()
	werr := cmd.Wait()
	if n == 1 {
		return int(verdict[0]), true
	}
	how := "exited without a verdict"
	var ee *exec.ExitError
	if errors.As(werr, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			how = "was killed by " + ws.Signal().String()
		} else {
			how = fmt.Sprintf("exited with status %d without a verdict", ee.ExitCode())
		}
	}
	fmt.Fprintf(stderr, "diskwatch check: the check %s (a crash of diskwatch itself, not a finding about the disks): UNKNOWN\n", how)
	for i, a := range args {
		if a == "--format=nagios" || (a == "--format" && i+1 < len(args) && args[i+1] == "nagios") {
			fmt.Fprintf(stdout, "DISKWATCH UNKNOWN - diskwatch check %s\n", strings.TrimSpace(how))
		}
	}
	return exitUnknown, true
}

// reportVerdict tells a supervising parent the exit code (the child's
// last act before exiting).
func reportVerdict(code int) {
	if os.Getenv(childEnv) != "3" {
		return
	}
	f := os.NewFile(3, "verdict")
	if f == nil {
		return
	}
	f.Write([]byte{byte(code)})
	f.Close()
}
