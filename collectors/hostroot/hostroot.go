// Package hostroot gives every collector one way to reach the host's
// /proc, /sys, /dev and /run trees, rooted at a directory. The live host is
// root "/"; a test or `--root DIR` points every read at DIR instead, the way
// procfs' NewFS and node_exporter's --path.* flags do.
package hostroot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// FS is a host root. The zero value is not usable; use New.
type FS struct {
	root    string
	timeout time.Duration // per read; 0: DefaultReadTimeout
}

// New returns an FS rooted at root ("" or "/" for the live host).
func New(root string) FS {
	if root == "" {
		root = "/"
	}
	return FS{root: filepath.Clean(root)}
}

// Root is the directory this FS is rooted at.
func (f FS) Root() string { return f.root }

// IsHost reports whether f reads the live host rather than a fixture tree.
func (f FS) IsHost() bool { return f.root == "/" }

// Path joins elem under the root. An absolute host path ("/proc/mdstat") is
// mapped under the root too.
func (f FS) Path(elem ...string) string {
	p := filepath.Join(elem...)
	return filepath.Join(f.root, strings.TrimPrefix(p, "/"))
}

// Proc returns a path under /proc.
func (f FS) Proc(elem ...string) string { return f.Path(append([]string{"proc"}, elem...)...) }

// Sys returns a path under /sys.
func (f FS) Sys(elem ...string) string { return f.Path(append([]string{"sys"}, elem...)...) }

// Dev returns a path under /dev.
func (f FS) Dev(elem ...string) string { return f.Path(append([]string{"dev"}, elem...)...) }

// Run returns a path under /run.
func (f FS) Run(elem ...string) string { return f.Path(append([]string{"run"}, elem...)...) }

// maxAttr bounds how much of one sysfs/procfs attribute is read, so a
// garbage or endless file cannot make a collector eat memory.
const maxAttr = 4 << 20

// DefaultReadTimeout bounds one read of a /proc, /sys or /run file when
// the FS sets no other (WithReadTimeout).
const DefaultReadTimeout = 5 * time.Second

// WithReadTimeout returns f with reads bounded by d instead of
// DefaultReadTimeout.
func (f FS) WithReadTimeout(d time.Duration) FS {
	f.timeout = d
	return f
}

func (f FS) readTimeout() time.Duration {
	if f.timeout > 0 {
		return f.timeout
	}
	return DefaultReadTimeout
}

// ReadFile reads a whole (small) regular file, at most 4 MiB, within the
// FS's read timeout. A read that does not return in time (a sysfs
// attribute of a hung device, a named pipe nobody writes to) is abandoned
// with an error wrapping context.DeadlineExceeded; while it stays stuck,
// further reads of the same path fail at once instead of stacking up
// (each stuck read holds a thread until the kernel lets it go).
func (f FS) ReadFile(path string) ([]byte, error) {
	var b []byte
	err := bounded(path, f.readTimeout(), func() error {
		var err error
		b, err = readRegular(path)
		return err
	})
	return b, err
}

// readRegular opens path, refuses anything but a regular file (sysfs and
// procfs attributes are regular files; a pipe, socket or device there is
// not what it claims to be) and reads at most maxAttr bytes.
func readRegular(path string) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	if st, err := fh.Stat(); err == nil && !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file (%s)", path, st.Mode().Type())
	}
	b, err := io.ReadAll(io.LimitReader(fh, maxAttr+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxAttr {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, maxAttr)
	}
	return b, nil
}

// flight is one read running in its own goroutine.
type flight struct {
	mu        sync.Mutex
	done      bool
	abandoned bool
	since     time.Time
}

// stuck holds the paths whose last read was abandoned and has not
// returned yet: path -> *flight.
var stuck sync.Map

// StuckReads is how many abandoned reads have not returned yet (each
// holds a thread; they are bounded by the number of distinct paths).
func StuckReads() int {
	n := 0
	stuck.Range(func(_, _ any) bool { n++; return true })
	return n
}

// Stuck reports whether an abandoned read of path has not returned yet.
func Stuck(path string) bool { _, ok := stuck.Load(path); return ok }

// bounded runs read in a goroutine and waits at most d (or until ctx
// ends, when given) for it.
func bounded(path string, d time.Duration, read func() error) error {
	return boundedCtx(context.Background(), path, d, read)
}

func boundedCtx(ctx context.Context, path string, d time.Duration, read func() error) error {
	if v, ok := stuck.Load(path); ok {
		fl := v.(*flight)
		return fmt.Errorf("read %s: still no answer to a read started %s ago: %w", path, time.Since(fl.since).Round(time.Second), context.DeadlineExceeded)
	}
	fl := &flight{since: time.Now()}
	ch := make(chan error, 1)
	go func() {
		err := read()
		fl.mu.Lock()
		fl.done = true
		if fl.abandoned {
			stuck.CompareAndDelete(path, fl)
		}
		fl.mu.Unlock()
		ch <- err
	}()
	t := time.NewTimer(d)
	defer t.Stop()
	var why error
	select {
	case err := <-ch:
		return err
	case <-t.C:
		why = fmt.Errorf("read %s: no answer within %s: %w", path, d, context.DeadlineExceeded)
	case <-ctx.Done():
		why = fmt.Errorf("read %s: %w", path, ctx.Err())
	}
	fl.mu.Lock()
	defer fl.mu.Unlock()
	if fl.done {
		return <-ch
	}
	fl.abandoned = true
	stuck.Store(path, fl)
	return why
}

// ReadString reads a sysfs-style attribute and trims surrounding space.
func (f FS) ReadString(path string) (string, error) {
	b, err := f.ReadFile(path)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// ReadInt reads a sysfs attribute holding one integer.
func (f FS) ReadInt(path string) (int64, error) {
	s, err := f.ReadString(path)
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}

// Exists reports whether path exists (following links).
func (f FS) Exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// Link resolves a symlink and returns the base name of its target, as for
// /sys/block/md0/md/dev-sdb1/block -> ../../../../sdb/sdb1.
func (f FS) LinkBase(path string) (string, error) {
	t, err := os.Readlink(path)
	if err != nil {
		return "", err
	}
	return filepath.Base(t), nil
}

// IsNotExist reports whether err means a file or directory is absent.
func IsNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }

// ReadAt reads up to n bytes at off from path (a block device or file),
// giving up when ctx ends. A read stuck in the kernel (a dying disk) is
// abandoned, not waited for: its goroutine ends when the kernel returns.
func (f FS) ReadAt(ctx context.Context, path string, off int64, n int) ([]byte, error) {
	var b []byte
	d := f.readTimeout()
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) > d {
		d = time.Until(dl)
	}
	err := boundedCtx(ctx, path, d, func() error {
		fh, err := os.Open(path)
		if err != nil {
			return err
		}
		defer fh.Close()
		buf := make([]byte, n)
		m, err := fh.ReadAt(buf, off)
		if err == io.EOF && m > 0 {
			err = nil
		}
		b = buf[:m]
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("at offset %d: %w", off, err)
	}
	return b, nil
}
