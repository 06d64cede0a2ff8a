package hostroot

import (
	"os"
	"path/filepath"
	"testing"
)

func TestPathMapsUnderRoot(t *testing.T) {
	f := New("/tmp/x")
	for _, tc := range []struct{ got, want string }{
		{f.Proc("mdstat"), "/tmp/x/proc/mdstat"},
		{f.Sys("block", "md0", "md"), "/tmp/x/sys/block/md0/md"},
		{f.Path("/dev/sda"), "/tmp/x/dev/sda"},
		{New("").Dev("sda"), "/dev/sda"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
	if !New("/").IsHost() || f.IsHost() {
		t.Error("IsHost wrong")
	}
}

func TestReadIntAndString(t *testing.T) {
	dir := t.TempDir()
	f := New(dir)
	if err := os.MkdirAll(f.Sys("x"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(f.Sys("x", "n"), []byte("42\n"), 0o644)
	os.WriteFile(f.Sys("x", "bad"), []byte("4x2\n"), 0o644)
	if v, err := f.ReadInt(f.Sys("x", "n")); err != nil || v != 42 {
		t.Fatalf("ReadInt = %d, %v", v, err)
	}
	if _, err := f.ReadInt(f.Sys("x", "bad")); err == nil {
		t.Fatal("ReadInt of garbage: no error")
	}
	if _, err := f.ReadString(f.Sys("x", "missing")); !IsNotExist(err) {
		t.Fatalf("missing file: %v", err)
	}
	os.Symlink("../../a/b/sdb1", filepath.Join(f.Sys("x"), "block"))
	if b, err := f.LinkBase(f.Sys("x", "block")); err != nil || b != "sdb1" {
		t.Fatalf("LinkBase = %q, %v", b, err)
	}
}
