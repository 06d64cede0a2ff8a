package rig

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Tree is a file tree captured in the guest, keyed by slash-separated
// paths without the leading slash ("sys/block/md0/md/array_state").
type Tree struct {
	Files map[string][]byte
	// Links are symbolic links: path -> target, as in the guest.
	Links map[string]string
	// Dirs are the directories seen (so empty ones survive).
	Dirs []string
}

// Capture copies guest files into a Tree with one step. words are shell
// words for the guest, so globs expand there ("/sys/block/md*/md"). A
// directory is taken whole (without following the links inside it); a
// block device only its first 8 KiB; a character device (/dev/kmsg) what
// it has without blocking. Unreadable files are skipped.
func (vm *VM) Capture(ctx context.Context, timeout time.Duration, words ...string) (*Tree, error) {
	script := rigfilesGuest + " " + strings.Join(words, " ") + " 2>/tmp/rigfiles.err"
	out, err := vm.MustExec(ctx, timeout, script)
	if err != nil {
		return nil, err
	}
	return ReadTree(out)
}

// ReadTree reads the gzipped tar archive rigfiles writes.
func ReadTree(b []byte) (*Tree, error) {
	t := &Tree{Files: map[string][]byte{}, Links: map[string]string{}}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("rig: capture: %w", err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return t, nil
		}
		if err != nil {
			return t, fmt.Errorf("rig: capture: %w", err)
		}
		name := strings.TrimPrefix(path.Clean("/"+h.Name), "/")
		if name == "" || name == "." {
			continue
		}
		switch h.Typeflag {
		case tar.TypeDir:
			t.Dirs = append(t.Dirs, name)
		case tar.TypeSymlink:
			t.Links[name] = h.Linkname
		case tar.TypeReg:
			data, err := io.ReadAll(tr)
			if err != nil {
				return t, fmt.Errorf("rig: capture %s: %w", name, err)
			}
			t.Files[name] = data
		}
	}
}

// WriteDir writes the tree under dir (created; existing files are
// overwritten), symbolic links as links, so dir works as a host root.
func (t *Tree) WriteDir(dir string) error {
	for _, d := range t.Dirs {
		if err := os.MkdirAll(filepath.Join(dir, filepath.FromSlash(d)), 0o755); err != nil {
			return err
		}
	}
	names := make([]string, 0, len(t.Files))
	for n := range t.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p := filepath.Join(dir, filepath.FromSlash(n))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, t.Files[n], 0o644); err != nil {
			return err
		}
	}
	for n, target := range t.Links {
		p := filepath.Join(dir, filepath.FromSlash(n))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		os.Remove(p)
		if err := os.Symlink(target, p); err != nil {
			return err
		}
	}
	return nil
}
