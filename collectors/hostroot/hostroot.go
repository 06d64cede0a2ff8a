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
)

// FS is a host root. The zero value is not usable; use New.
type FS struct {
	root string
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

// ReadFile reads a whole (small) file, at most 4 MiB.
func (f FS) ReadFile(path string) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, maxAttr+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxAttr {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, maxAttr)
	}
	return b, nil
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
	type res struct {
		b   []byte
		err error
	}
	ch := make(chan res, 1)
	go func() {
		fh, err := os.Open(path)
		if err != nil {
			ch <- res{nil, err}
			return
		}
		defer fh.Close()
		b := make([]byte, n)
		m, err := fh.ReadAt(b, off)
		if err == io.EOF && m > 0 {
			err = nil
		}
		ch <- res{b[:m], err}
	}()
	select {
	case r := <-ch:
		return r.b, r.err
	case <-ctx.Done():
		return nil, fmt.Errorf("read %s at %d: %w", path, off, ctx.Err())
	}
}
