package rig

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/diskwatch/diskwatch/collectors/execx"
)

func TestParseDepends(t *testing.T) {
	real, err := os.ReadFile("testdata/apt-cache-depends.txt")
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{
		string(real): "linux-image-6.1.0-56-amd64",
		"linux-image-amd64\n  Depends: <linux-image-6.1.0-99-amd64>\n": "",
		"": "",
		"linux-image-amd64\n  Depends: linux-image-6.12.9+bpo-amd64\n  Recommends: firmware\n": "linux-image-6.12.9+bpo-amd64",
	} {
		if got := ParseDepends([]byte(in)); got != want {
			t.Errorf("ParseDepends(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseLdd(t *testing.T) {
	for file, want := range map[string][]string{
		"testdata/ldd-mdadm.txt": {"/lib/x86_64-linux-gnu/libudev.so.1", "/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2"},
		"testdata/ldd-smartctl.txt": {"/lib/x86_64-linux-gnu/libselinux.so.1", "/lib/x86_64-linux-gnu/libstdc++.so.6",
			"/lib/x86_64-linux-gnu/libgcc_s.so.1", "/lib/x86_64-linux-gnu/libc.so.6", "/lib/x86_64-linux-gnu/libpcre2-8.so.0",
			"/lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/libm.so.6"},
	} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if got := parseLdd(b); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %q, want %q", file, got, want)
		}
	}
}

// realFrame is what the guest agent prints for a step: the busybox base64
// of the output between markers (made here with the same busybox).
func realFrame(t testing.TB, id string, out []byte, rc string) string {
	bb, err := execx.LookPath("busybox")
	if err != nil {
		t.Skip("busybox not installed")
	}
	var enc bytes.Buffer
	if err := (execx.Cmd{Name: bb, Args: []string{"base64"}, Stdin: bytes.NewReader(out), Stdout: &enc}).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	return "@@RIG BEGIN " + id + "@@\n" + enc.String() + "@@RIG END " + id + " " + rc + "@@\n"
}

func lineSource(s string) func(context.Context) (string, error) {
	lines := strings.Split(s, "\n")
	return func(ctx context.Context) (string, error) {
		for len(lines) > 0 {
			l := strings.TrimRight(lines[0], "\r")
			lines = lines[1:]
			if l != "" {
				return l, nil
			}
		}
		return "", errors.New("command channel closed")
	}
}

func TestReadFrame(t *testing.T) {
	out, err := os.ReadFile("testdata/ldd-smartctl.txt")
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, 0, 0xff, '\n')
	stream := "noise before\n" + realFrame(t, "6", []byte("old step"), "0") + realFrame(t, "7", out, "2")
	r, err := readFrame(context.Background(), lineSource(stream), "7")
	if err != nil {
		t.Fatal(err)
	}
	if r.Exit != 2 || !bytes.Equal(r.Output, out) {
		t.Errorf("exit %d output %q", r.Exit, r.Output)
	}
	for name, bad := range map[string]string{
		"truncated":  "@@RIG BEGIN 7@@\nYWJj\n",
		"bad exit":   "@@RIG BEGIN 7@@\nYWJj\n@@RIG END 7 x@@\n",
		"bad base64": "@@RIG BEGIN 7@@\n!!!!\n@@RIG END 7 0@@\n",
		"nested":     "@@RIG BEGIN 7@@\n@@RIG READY x@@\n",
	} {
		if _, err := readFrame(context.Background(), lineSource(bad), "7"); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func FuzzReadFrame(f *testing.F) {
	f.Add(realFrame(f, "1", []byte("md0 : active raid1 sdb[1](F) sda[0]\n"), "2"))
	f.Add("@@RIG BEGIN 1@@\n" + base64.StdEncoding.EncodeToString([]byte{0, 1, 2}) + "\n@@RIG END 1 0@@\n")
	f.Fuzz(func(t *testing.T, s string) {
		r, err := readFrame(context.Background(), lineSource(s), "1")
		if err == nil && r.Output == nil && !strings.Contains(s, "@@RIG END 1 ") {
			t.Fatalf("a result without an end marker: %+v", r)
		}
	})
}

func FuzzParseLdd(f *testing.F) {
	for _, p := range []string{"testdata/ldd-mdadm.txt", "testdata/ldd-smartctl.txt"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, l := range parseLdd(b) {
			if !strings.HasPrefix(l, "/") || strings.ContainsAny(l, " \t\n") {
				t.Fatalf("bad library path %q", l)
			}
		}
	})
}

func FuzzParseDepends(f *testing.F) {
	b, err := os.ReadFile("testdata/apt-cache-depends.txt")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		if p := ParseDepends(b); p != "" && (!strings.HasPrefix(p, "linux-image-") || strings.ContainsAny(p, " \t\n")) {
			t.Fatalf("bad package %q", p)
		}
	})
}

func FuzzReadTree(f *testing.F) {
	b, err := os.ReadFile("testdata/rigfiles-03-failed.tar.gz")
	if err != nil {
		f.Fatal(err)
	}
	if tree, err := ReadTree(b); err != nil || len(tree.Files) < 20 || len(tree.Links) == 0 {
		f.Fatalf("seed capture: %v", err)
	}
	f.Add(b)
	f.Add([]byte{})
	f.Add([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		tree, err := ReadTree(b)
		if err != nil {
			return
		}
		for n := range tree.Files {
			if strings.HasPrefix(n, "/") || strings.Contains(n, "..") {
				t.Fatalf("unsafe name %q", n)
			}
		}
	})
}

func TestDiskArgs(t *testing.T) {
	dir := t.TempDir()
	args, err := diskArgs(dir, []Disk{
		{ID: "a0", Bus: AHCI, Serial: "S0"}, {ID: "a1", Bus: AHCI, Inject: []Inject{{Sector: 100000}}},
		{ID: "n0", Bus: NVMe, Props: []string{"smart_critical_warning=4"}},
		{ID: "v0", Bus: VirtioSCSI}, {ID: "m0", Bus: MegaSAS}, {ID: "m1", Bus: MegaSAS, SizeMiB: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(args, " ")
	for _, want := range []string{
		"-device ahci,id=ahci",
		"-device ide-hd,id=a0,drive=drv-a0,bus=ahci.0,serial=S0",
		"file=blkdebug:" + filepath.Join(dir, "a1.blkdebug") + ":" + filepath.Join(dir, "a1.img") + ",format=raw",
		"-device ide-hd,id=a1,drive=drv-a1,bus=ahci.1,serial=a1",
		"-device nvme,id=n0,drive=drv-n0,serial=n0,smart_critical_warning=4",
		"-device virtio-scsi-pci,id=vscsi", "scsi-hd,id=v0,drive=drv-v0,bus=vscsi.0,scsi-id=0",
		"-device megasas,id=mr", "scsi-hd,id=m1,drive=drv-m1,bus=mr.0,scsi-id=1",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("args lack %q:\n%s", want, got)
		}
	}
	if strings.Count(got, "-device ahci,") != 1 || strings.Count(got, "-device megasas,") != 1 {
		t.Errorf("one controller per bus expected:\n%s", got)
	}
	if st, err := os.Stat(filepath.Join(dir, "m1.img")); err != nil || st.Size() != 1<<20 {
		t.Errorf("m1.img: %v %v", st, err)
	}
	conf, _ := os.ReadFile(filepath.Join(dir, "a1.blkdebug"))
	if want := "[inject-error]\nevent = \"write_aio\"\nerrno = \"5\"\niotype = \"write\"\nsector = \"100000\"\n"; !strings.HasPrefix(string(conf), want) {
		t.Errorf("blkdebug config:\n%s", conf)
	}
	for _, bad := range [][]Disk{
		{{ID: "a,b", Bus: AHCI}}, {{ID: "", Bus: AHCI}}, {{ID: "x", Bus: "floppy"}}, {{ID: "x", Bus: NVMe}, {ID: "x", Bus: NVMe}},
		{{ID: "1", Bus: AHCI}, {ID: "2", Bus: AHCI}, {ID: "3", Bus: AHCI}, {ID: "4", Bus: AHCI}, {ID: "5", Bus: AHCI}, {ID: "6", Bus: AHCI}, {ID: "7", Bus: AHCI}},
	} {
		if _, err := diskArgs(t.TempDir(), bad); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}

// TestCPIO writes an archive and lists and extracts it with the real
// cpio program.
func TestCPIO(t *testing.T) {
	if _, err := execx.LookPath("cpio"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("cpio not installed (.ci/setup installs it)")
		}
		t.Skip("cpio not installed")
	}
	var b bytes.Buffer
	c := &cpioWriter{w: &b, names: map[string]bool{}}
	c.file("usr/sbin/prog", 0o755, []byte("#!/bin/sh\necho hi\n"))
	c.file("etc/odd", 0o644, []byte("12345"))
	c.symlink("bin/sh", "busybox")
	c.mkdirAll("proc")
	if err := c.close(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var out bytes.Buffer
	err := execx.Cmd{Name: "cpio", Args: []string{"-i", "-d", "--quiet"}, Dir: dir, Stdin: &b, Stdout: &out}.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "etc/odd")); string(got) != "12345" {
		t.Errorf("etc/odd = %q", got)
	}
	if st, err := os.Stat(filepath.Join(dir, "usr/sbin/prog")); err != nil || st.Mode().Perm() != 0o755 {
		t.Errorf("usr/sbin/prog: %v %v", st, err)
	}
	if l, err := os.Readlink(filepath.Join(dir, "bin/sh")); err != nil || l != "busybox" {
		t.Errorf("bin/sh -> %q %v", l, err)
	}
	if st, err := os.Stat(filepath.Join(dir, "proc")); err != nil || !st.IsDir() {
		t.Errorf("proc: %v", err)
	}
}
