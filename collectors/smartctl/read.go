package smartctl

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/diskwatch/diskwatch/collectors/execx"
	"github.com/diskwatch/diskwatch/collectors/model"
)

// DefaultTimeout bounds one smartctl run. smartctl -a on a healthy disk
// takes well under a second; a disk that hangs in error recovery can take
// minutes, which is what the bound is for.
const DefaultTimeout = 60 * time.Second

// maxOutput bounds what is kept of smartctl's output (an -x report of a
// disk with a full error log is about 200 KiB).
const maxOutput = 8 << 20

// MaxOutput is the most of one smartctl -j document diskwatch reads, from
// the live smartctl or from a file (smart --smartctl-json).
const MaxOutput = maxOutput

// ReadCapture reads a saved `smartctl -j` document, at most MaxOutput
// bytes (a larger file is refused, not read into memory).
func ReadCapture(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxOutput+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxOutput {
		return nil, fmt.Errorf("%s: larger than %d MiB, the most a smartctl -j document may be", path, MaxOutput>>20)
	}
	return b, nil
}

// ErrNotInstalled is returned when the smartctl program cannot be found.
var ErrNotInstalled = errors.New("smartctl not found (install smartmontools)")

// Backend runs smartctl. The zero value is usable: smartctl from PATH,
// DefaultTimeout, -n standby.
type Backend struct {
	// Program is the smartctl to run: a path, or a name looked up in PATH
	// ("" = "smartctl").
	Program string
	// Timeout bounds one run (0 = DefaultTimeout).
	Timeout time.Duration
	// NoCheck is smartctl's -n argument: "standby" (the default: never
	// wake a disk that is in standby or sleep), "sleep", "idle" or "never"
	// (always read, spinning the disk up if needed).
	NoCheck string
}

// Read runs `smartctl -j -a -n standby [-d devType] dev` with the default
// Backend. devType is smartctl's -d argument ("" for smartctl's own
// choice): "sat", "nvme", "megaraid,N", "3ware,N", "usbjmicron", ...
func Read(ctx context.Context, dev, devType string) (model.Disk, error) {
	return Backend{}.Read(ctx, dev, devType)
}

// Args is the smartctl argument vector Read uses.
func (b Backend) Args(dev, devType string) []string {
	nocheck := b.NoCheck
	if nocheck == "" {
		nocheck = "standby"
	}
	args := []string{"--json=c", "-a", "-n", nocheck}
	if devType != "" {
		args = append(args, "-d", devType)
	}
	// "--" ends the options: a device name can never be taken for one.
	return append(args, "--", dev)
}

// Read reads one device through smartctl and normalizes the result.
//
// smartctl's exit status is decoded into the record (Smartctl): bit 3
// (disk failing) and bits 4-7 are findings about the disk, not errors, and
// the record comes back with a nil error. A disk in standby (smartctl -n
// exits with bit 1 and says so) comes back as a record with Skipped set,
// not an error. Bit 0 (command line) and bit 1 for any other reason (the
// device could not be opened) are errors; bit 2 (some command failed) keeps
// the record and notes it in Errors. Errors name the device and the step.
func (b Backend) Read(ctx context.Context, dev, devType string) (model.Disk, error) {
	prog := b.Program
	if prog == "" {
		prog = "smartctl"
	}
	timeout := b.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	what := dev
	if devType != "" {
		what += " -d " + devType
	}
	what = model.Clean(what)
	progPath, err := exec.LookPath(prog)
	if err != nil {
		return model.Disk{}, fmt.Errorf("smartctl %s: %w", what, ErrNotInstalled)
	}
	out := &limitBuffer{max: maxOutput}
	runErr := execx.Cmd{Name: progPath, Args: b.Args(dev, devType), Stdout: out, Timeout: timeout,
		Env: []string{"LC_ALL=C", "PATH=/usr/sbin:/usr/bin:/sbin:/bin"}}.Run(ctx)
	code := 0
	var ee *execx.ExitError
	switch {
	case runErr == nil:
	case errors.As(runErr, &ee) && ee.Code >= 0:
		code = ee.Code
	case errors.Is(runErr, context.DeadlineExceeded) && ctx.Err() == nil:
		return model.Disk{}, fmt.Errorf("smartctl %s: no answer within %v (killed): %w", what, timeout, runErr)
	default:
		return model.Disk{}, fmt.Errorf("smartctl %s: %w", what, runErr)
	}
	if out.over {
		return model.Disk{}, fmt.Errorf("smartctl %s: output larger than %d bytes", what, maxOutput)
	}
	d, nerr := Normalize(out.Bytes())
	if d.Device.Path == "" {
		d.Device.Path = dev
	}
	if d.Device.Via == "" {
		d.Device.Via = devType
	}
	if d.Smartctl == nil || d.Smartctl.Status != code {
		// The process's own status is the truth (older smartctl may not
		// write exit_status, or the JSON may be cut short).
		d.Smartctl = DecodeExit(code)
	}
	switch {
	case d.Skipped != "":
		return d, nil
	case nerr != nil && errors.Is(nerr, ErrNotDevice):
		msg := firstLine(out.Bytes())
		if ee != nil && ee.Stderr != "" {
			msg = ee.Stderr
		}
		return d, fmt.Errorf("smartctl %s: unusable output (exit status %d; smartctl 7.0 or later is needed for JSON): %s", what, code, model.Clean(msg))
	case code&ExitCommandLine != 0:
		return d, fmt.Errorf("smartctl %s: device or command line not accepted (exit status %d): %s", what, code, model.Clean(strings.Join(d.Errors, "; ")))
	case code&ExitOpenFailed != 0:
		msg := strings.Join(d.Errors, "; ")
		if msg == "" {
			msg = "device open failed"
		}
		return d, fmt.Errorf("smartctl %s: open (exit status %d): %s", what, code, model.Clean(msg))
	case nerr != nil:
		return d, fmt.Errorf("smartctl %s: %w", what, nerr)
	}
	noteCommandFailed(&d)
	return d, nil
}

// limitBuffer keeps at most max bytes and remembers whether more came.
type limitBuffer struct {
	bytes.Buffer
	max  int
	over bool
}

func (l *limitBuffer) Write(p []byte) (int, error) {
	if room := l.max - l.Len(); len(p) > room {
		l.over = true
		if room > 0 {
			l.Buffer.Write(p[:room])
		}
		return len(p), nil
	}
	return l.Buffer.Write(p)
}

var _ io.Writer = (*limitBuffer)(nil)
