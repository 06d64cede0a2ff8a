// Package execx is the one place diskwatch runs other programs. A program
// is started from an argument vector (never through a shell), in its own
// process group, under a deadline; when the deadline passes or the context
// is cancelled the whole group is killed, and every started process is
// waited for, so none is left behind as a zombie.
package execx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// DefaultTimeout bounds a Cmd whose Timeout is zero.
const DefaultTimeout = 60 * time.Second

// waitDelay is how long Wait waits for output pipes after the process is
// gone (a grandchild may hold them open).
const waitDelay = 2 * time.Second

// Cmd describes one program run.
type Cmd struct {
	// Name is the program: a path, or a name looked up in PATH.
	Name string
	// Args are the arguments after the program name.
	Args []string
	// Dir is the working directory ("" for the current one).
	Dir string
	// Env, when non-nil, is the whole environment of the program.
	Env []string
	// Stdin is the program's standard input (nil: /dev/null).
	Stdin io.Reader
	// Stdout and Stderr receive the program's output (nil: discarded,
	// except that Run keeps the tail of stderr for its error).
	Stdout, Stderr io.Writer
	// Timeout bounds the run; 0 means DefaultTimeout, a negative value
	// means no deadline beyond the context's.
	Timeout time.Duration
	// DieWithParent has the kernel kill the program if this process dies
	// without killing it (a test binary's timeout panic, kill -9): for
	// long-running helpers such as a QEMU guest.
	DieWithParent bool
}

// ExitError is returned when the program ran and exited non-zero (or was
// killed by a signal).
type ExitError struct {
	Name string
	// Code is the exit status, or -1 when killed by a signal.
	Code int
	// Stderr is the tail of the program's standard error.
	Stderr string
}

func (e *ExitError) Error() string {
	s := fmt.Sprintf("%s: exit status %d", e.Name, e.Code)
	if e.Code < 0 {
		s = e.Name + ": killed by a signal"
	}
	if e.Stderr != "" {
		s += ": " + e.Stderr
	}
	return s
}

// Process is a started program.
type Process struct {
	name   string
	cmd    *exec.Cmd
	cancel context.CancelFunc
	ctx    context.Context
	errBuf *tailBuffer
	done   chan struct{}
	err    error
}

// Start starts the program. The caller must call Wait (or Kill, which
// waits) to release it.
func (c Cmd) Start(ctx context.Context) (*Process, error) {
	if c.Name == "" {
		return nil, errors.New("execx: empty program name")
	}
	timeout := c.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	var cancel context.CancelFunc
	if timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, timeout)
	} else {
		ctx, cancel = context.WithCancel(ctx)
	}
	cmd := exec.CommandContext(ctx, c.Name, c.Args...)
	cmd.Dir = c.Dir
	cmd.Env = c.Env
	cmd.Stdin = c.Stdin
	errBuf := &tailBuffer{max: 4096}
	cmd.Stdout = c.Stdout
	if c.Stderr != nil {
		cmd.Stderr = io.MultiWriter(c.Stderr, errBuf)
	} else {
		cmd.Stderr = errBuf
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if c.DieWithParent {
		cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	}
	cmd.Cancel = func() error {
		// The whole group: a program's children die with it.
		if cmd.Process == nil {
			return nil
		}
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	cmd.WaitDelay = waitDelay
	if err := cmd.Start(); err != nil {
		cancel()
		return nil, fmt.Errorf("start %s: %w", c.Name, err)
	}
	p := &Process{name: c.Name, cmd: cmd, cancel: cancel, ctx: ctx, errBuf: errBuf, done: make(chan struct{})}
	go func() {
		werr := cmd.Wait()
		// Anything the program left in its group goes too.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		p.err = p.wrap(werr)
		cancel()
		close(p.done)
	}()
	return p, nil
}

// Pid is the process id (also the process group id).
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Done is closed when the program has exited and been waited for.
func (p *Process) Done() <-chan struct{} { return p.done }

// Wait waits for the program to exit and returns its error (nil for exit
// status 0; an *ExitError; or a wrapped context error on timeout).
func (p *Process) Wait() error {
	<-p.done
	return p.err
}

// Kill kills the program's process group and waits for it.
func (p *Process) Kill() error {
	p.cancel()
	<-p.done
	return p.err
}

func (p *Process) wrap(err error) error {
	if err == nil {
		return nil
	}
	if cerr := p.ctx.Err(); cerr != nil {
		return fmt.Errorf("%s: %w", p.name, cerr)
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return &ExitError{Name: p.name, Code: ee.ExitCode(), Stderr: p.errBuf.tail()}
	}
	return fmt.Errorf("%s: %w", p.name, err)
}

// Run runs the program and waits for it.
func (c Cmd) Run(ctx context.Context) error {
	p, err := c.Start(ctx)
	if err != nil {
		return err
	}
	return p.Wait()
}

// Output runs name with args under timeout and returns its standard
// output.
func Output(ctx context.Context, timeout time.Duration, name string, args ...string) ([]byte, error) {
	var out bytes.Buffer
	err := Cmd{Name: name, Args: args, Stdout: &out, Timeout: timeout}.Run(ctx)
	return out.Bytes(), err
}

// LookPath finds a program in PATH (see os/exec.LookPath).
func LookPath(name string) (string, error) { return exec.LookPath(name) }

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = t.b[len(t.b)-t.max:]
	}
	return len(p), nil
}

func (t *tailBuffer) tail() string {
	s := strings.TrimSpace(string(t.b))
	if i := strings.LastIndexByte(s, '\n'); i >= 0 && len(s)-i > 0 {
		// Keep the last few lines only.
		lines := strings.Split(s, "\n")
		if len(lines) > 5 {
			lines = lines[len(lines)-5:]
		}
		s = strings.Join(lines, " | ")
	}
	return s
}
