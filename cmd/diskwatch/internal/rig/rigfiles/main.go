// Command rigfiles runs inside the rig's guest and writes the files named
// on its command line to standard output as a gzipped tar archive, so a
// test can capture /proc and /sys trees byte for byte in one step (a shell
// loop forking cat per sysfs attribute takes tens of seconds under TCG).
//
// Each argument is a file, a directory (walked without following the
// symbolic links inside it; the argument itself may be a link) or a block
// device, of which only the first -dev-bytes bytes are kept, or a
// character device, read without blocking until it has no more data
// (/dev/kmsg: the kernel log records so far). Files that
// cannot be read (write-only sysfs attributes) are skipped and listed on
// standard error. Symbolic links inside directories are archived as links.
//
// The rig copies it into every guest as /usr/bin/rigfiles.
package main

import (
	"archive/tar"
	"compress/gzip"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

func main() {
	devBytes := flag.Int64("dev-bytes", 8192, "keep only the first `N` bytes of a block device")
	flag.Parse()
	if err := Write(os.Stdout, os.Stderr, *devBytes, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "rigfiles:", err)
		os.Exit(1)
	}
}

// Write archives paths to w as a gzipped tar; what it skips is reported
// on errw.
func Write(w, errw io.Writer, devBytes int64, paths []string) error {
	zw := gzip.NewWriter(w)
	tw := tar.NewWriter(zw)
	a := &archiver{tw: tw, errw: errw, devBytes: devBytes, seen: map[string]bool{}}
	for _, p := range paths {
		a.add(p)
	}
	if a.err != nil {
		return a.err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return zw.Close()
}

type archiver struct {
	tw       *tar.Writer
	errw     io.Writer
	devBytes int64
	seen     map[string]bool
	err      error
}

func (a *archiver) skip(args ...any) {
	fmt.Fprintln(a.errw, append([]any{"rigfiles:"}, args...)...)
}

func name(p string) string { return strings.TrimPrefix(filepath.Clean(p), "/") }

// add archives one command-line path.
func (a *archiver) add(p string) {
	st, err := os.Stat(p)
	if err != nil {
		a.skip(err)
		return
	}
	if !st.IsDir() {
		a.file(p, st)
		return
	}
	// Walk the link's target, naming entries under the path given.
	root, err := filepath.EvalSymlinks(p)
	if err != nil {
		a.skip(err)
		return
	}
	filepath.WalkDir(root, func(q string, d fs.DirEntry, err error) error {
		if err != nil {
			a.skip(err)
			return nil
		}
		real := q
		q = filepath.Join(p, strings.TrimPrefix(q, root))
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			t, err := os.Readlink(real)
			if err == nil {
				a.header(&tar.Header{Typeflag: tar.TypeSymlink, Name: name(q), Linkname: t, Mode: 0o777})
			}
		case d.IsDir():
			a.header(&tar.Header{Typeflag: tar.TypeDir, Name: name(q) + "/", Mode: 0o755})
		default:
			if st, err := os.Stat(real); err == nil {
				a.fileAs(real, q, st)
			}
		}
		return nil
	})
}

func (a *archiver) header(h *tar.Header) bool {
	if a.seen[h.Name] || a.err != nil {
		return false
	}
	a.seen[h.Name] = true
	if err := a.tw.WriteHeader(h); err != nil {
		a.err = err
		return false
	}
	return true
}

// file archives a regular file or the head of a device. The content is
// read first: sysfs and procfs report sizes that are not the content's.
func (a *archiver) file(p string, st fs.FileInfo) { a.fileAs(p, p, st) }

// fileAs archives the file at p under the name as.
func (a *archiver) fileAs(p, as string, st fs.FileInfo) {
	var b []byte
	var err error
	switch m := st.Mode(); {
	case m&fs.ModeCharDevice != 0:
		b, err = readNonBlocking(p)
	case m&fs.ModeDevice != 0:
		b, err = readHead(p, a.devBytes)
	case m.IsRegular():
		b, err = readHead(p, 64<<20)
	default:
		return
	}
	if err != nil && len(b) == 0 {
		a.skip(p+":", err)
		return
	}
	if a.header(&tar.Header{Typeflag: tar.TypeReg, Name: name(as), Size: int64(len(b)), Mode: 0o644}) {
		if _, err := a.tw.Write(b); err != nil {
			a.err = err
		}
	}
}

func readHead(p string, n int64) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, n))
}

// readNonBlocking reads a character device until it would block. Raw
// system calls: the runtime poller would turn EAGAIN into waiting.
func readNonBlocking(p string) ([]byte, error) {
	fd, err := syscall.Open(p, syscall.O_RDONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer syscall.Close(fd)
	var out []byte
	buf := make([]byte, 16<<10)
	for len(out) < 64<<20 {
		n, err := syscall.Read(fd, buf)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EPIPE:
			continue // /dev/kmsg: records were overwritten; go on
		case err != nil || n <= 0:
			if err == syscall.EAGAIN {
				err = nil
			}
			return out, err
		}
		out = append(out, buf[:n]...)
	}
	return out, nil
}
