package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/diskwatch/diskwatch/cmd/diskwatch/internal/rig"
)

// TestWriteReadTree archives a directory with a file, an empty directory,
// a symbolic link and a directory reached through a link, a character
// device and a missing path, reads it back with rig.ReadTree and writes
// it out again with Tree.WriteDir.
func TestWriteReadTree(t *testing.T) {
	src := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(src, "md", "dev-sda"), 0o755))
	must(os.MkdirAll(filepath.Join(src, "md", "empty"), 0o755))
	must(os.WriteFile(filepath.Join(src, "md", "dev-sda", "state"), []byte("in_sync,write_error\n"), 0o644))
	must(os.Symlink("dev-sda", filepath.Join(src, "md", "rd0")))
	must(os.Symlink("md", filepath.Join(src, "link")))
	var out, errs bytes.Buffer
	paths := []string{filepath.Join(src, "md"), filepath.Join(src, "link"), "/dev/null", filepath.Join(src, "missing")}
	must(Write(&out, &errs, 8192, paths))
	if !strings.Contains(errs.String(), "missing") {
		t.Errorf("the missing path was not reported: %q", errs.String())
	}
	tree, err := rig.ReadTree(out.Bytes())
	must(err)
	rel := strings.TrimPrefix(src, "/")
	if got := string(tree.Files[rel+"/md/dev-sda/state"]); got != "in_sync,write_error\n" {
		t.Errorf("state = %q; files %v", got, keys(tree.Files))
	}
	// The directory given through a link is named under the link.
	if _, ok := tree.Files[rel+"/link/dev-sda/state"]; !ok {
		t.Errorf("link argument not walked under its own name: %v", keys(tree.Files))
	}
	if tree.Links[rel+"/md/rd0"] != "dev-sda" {
		t.Errorf("links: %v", tree.Links)
	}
	if b, ok := tree.Files["dev/null"]; !ok || len(b) != 0 {
		t.Errorf("/dev/null: %q %v", b, ok)
	}
	dst := t.TempDir()
	must(tree.WriteDir(dst))
	b, err := os.ReadFile(filepath.Join(dst, rel, "md", "rd0", "state"))
	if err != nil || string(b) != "in_sync,write_error\n" {
		t.Errorf("written tree: %q %v", b, err)
	}
	if st, err := os.Stat(filepath.Join(dst, rel, "md", "empty")); err != nil || !st.IsDir() {
		t.Errorf("empty directory lost: %v", err)
	}
}

// TestDeviceHead keeps only the head of a block device, when there is one
// to read.
func TestDeviceHead(t *testing.T) {
	devs, _ := filepath.Glob("/dev/loop[0-9]*")
	var out, errs bytes.Buffer
	if len(devs) == 0 {
		t.Skip("no block device to read")
	}
	if err := Write(&out, &errs, 512, devs[:1]); err != nil {
		t.Fatal(err)
	}
	tree, err := rig.ReadTree(out.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if b, ok := tree.Files[strings.TrimPrefix(devs[0], "/")]; ok && len(b) > 512 {
		t.Errorf("%s: %d bytes kept, want at most 512", devs[0], len(b))
	}
}

func keys(m map[string][]byte) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	return k
}
