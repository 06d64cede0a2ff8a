package fat

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// mkfs makes a FAT image of sizeKiB with mkfs.vfat -F bits and copies files
// into it with mtools (mmd, mcopy): name (with \ or /) -> content.
func mkfs(t testing.TB, bits string, sizeKiB int, files map[string]string) []byte {
	t.Helper()
	for _, tool := range []string{"mkfs.vfat", "mmd", "mcopy"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (.ci/setup installs dosfstools and mtools)", tool)
		}
	}
	dir := t.TempDir()
	img := filepath.Join(dir, "fat.img")
	run := func(name string, args ...string) {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Env = append(os.Environ(), "MTOOLS_SKIP_CHECK=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
	}
	run("mkfs.vfat", "-C", "-F", bits, img, strconv.Itoa(sizeKiB))
	made := map[string]bool{}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		parts := strings.Split(n, "/")
		for i := 1; i < len(parts); i++ {
			d := strings.Join(parts[:i], "/")
			if !made[d] {
				run("mmd", "-i", img, "::/"+d)
				made[d] = true
			}
		}
		src := filepath.Join(dir, "src")
		if err := os.WriteFile(src, []byte(files[n]), 0o644); err != nil {
			t.Fatal(err)
		}
		run("mcopy", "-i", img, src, "::/"+n)
	}
	b, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func memSource(img []byte) Source {
	return func(off int64, n int) ([]byte, error) {
		if off < 0 || off >= int64(len(img)) {
			return nil, os.ErrInvalid
		}
		end := off + int64(n)
		if end > int64(len(img)) {
			end = int64(len(img))
		}
		return img[off:end], nil
	}
}

// tree lists every file under the root as path -> content.
func tree(t *testing.T, v *Volume) map[string]string {
	t.Helper()
	out := map[string]string{}
	var walk func(prefix string, es []Entry, depth int)
	walk = func(prefix string, es []Entry, depth int) {
		for _, e := range es {
			p := prefix + e.Name
			if e.Dir {
				if depth > 4 {
					t.Fatalf("%s: too deep", p)
				}
				sub, err := v.ReadDir(e)
				if err != nil {
					t.Fatal(err)
				}
				walk(p+"/", sub, depth+1)
				continue
			}
			var buf bytes.Buffer
			if err := v.ReadFile(e, func(b []byte) { buf.Write(b) }); err != nil {
				t.Fatal(err)
			}
			out[p] = buf.String()
		}
	}
	root, err := v.Root()
	if err != nil {
		t.Fatal(err)
	}
	walk("", root, 0)
	return out
}

func TestReadRealImages(t *testing.T) {
	big := strings.Repeat("grub core bytes ", 40000) // 640 000 bytes: many clusters
	files := map[string]string{
		"EFI/debian/shimx64.efi":      "shim",
		"EFI/debian/grubx64.efi":      big,
		"EFI/BOOT/BOOTX64.EFI":        "fallback",
		"EFI/debian/grub.cfg":         "search.fs_uuid x root\n",
		"A Long File Name With.Space": "lfn",
		"empty.txt":                   "",
	}
	for _, tc := range []struct {
		bits    string
		sizeKiB int
		typ     int
	}{{"12", 2048, 12}, {"16", 16384, 16}, {"32", 40960, 32}} {
		t.Run("FAT"+tc.bits, func(t *testing.T) {
			img := mkfs(t, tc.bits, tc.sizeKiB, files)
			v, err := Open(memSource(img))
			if err != nil {
				t.Fatal(err)
			}
			if v.G.Type != tc.typ {
				t.Errorf("type %d, want %d", v.G.Type, tc.typ)
			}
			if diff := cmp.Diff(files, tree(t, v)); diff != "" {
				t.Errorf("files (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseBootSectorRejects(t *testing.T) {
	img := mkfs(t, "16", 16384, nil)
	for _, tc := range []struct {
		name  string
		patch func(b []byte)
	}{
		{"no signature", func(b []byte) { b[510] = 0 }},
		{"odd sector size", func(b []byte) { b[11], b[12] = 0x01, 0x02 }},
		{"zero sectors per cluster", func(b []byte) { b[13] = 0 }},
		{"no FATs", func(b []byte) { b[16] = 0 }},
		{"tiny volume", func(b []byte) { b[19], b[20] = 8, 0; b[32], b[33], b[34], b[35] = 0, 0, 0, 0 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := append([]byte(nil), img[:512]...)
			tc.patch(b)
			if _, err := ParseBootSector(b); err == nil {
				t.Error("accepted")
			}
		})
	}
	if _, err := ParseBootSector(img[:512]); err != nil {
		t.Errorf("real boot sector: %v", err)
	}
}

// TestChainLoop: a FAT whose chain points back to itself is an error, not a
// hang.
func TestChainLoop(t *testing.T) {
	img := mkfs(t, "16", 16384, map[string]string{"f.bin": strings.Repeat("x", 8192)})
	v, err := Open(memSource(img))
	if err != nil {
		t.Fatal(err)
	}
	root, _ := v.Root()
	var f Entry
	for _, e := range root {
		if e.Name == "f.bin" {
			f = e
		}
	}
	// Point the file's first cluster at itself in both FATs.
	for i := uint32(0); i < v.G.NumFATs; i++ {
		off := (v.G.ReservedSectors+i*v.G.FATSectors)*v.G.BytesPerSector + f.Cluster*2
		img[off], img[off+1] = byte(f.Cluster), byte(f.Cluster>>8)
	}
	f.Size = MaxFileBytes
	v, _ = Open(memSource(img))
	if err := v.ReadFile(f, func([]byte) {}); err == nil || !strings.Contains(err.Error(), "loops") {
		t.Errorf("got %v, want a loop error", err)
	}
}

func FuzzVolume(f *testing.F) {
	// A FAT12 image cut to its first 64 KiB (boot sector, FATs, root
	// directory and the first clusters): small enough for the fuzzer.
	img := mkfs(f, "12", 2048, map[string]string{"EFI/debian/grubx64.efi": "x", "EFI/BOOT/BOOTX64.EFI": "y"})
	f.Add(img[:64<<10])
	f.Fuzz(func(t *testing.T, img []byte) {
		v, err := Open(memSource(img))
		if err != nil {
			return
		}
		var walk func(es []Entry, depth int)
		walk = func(es []Entry, depth int) {
			for _, e := range es {
				if e.Dir && depth < 3 {
					if sub, err := v.ReadDir(e); err == nil {
						walk(sub, depth+1)
					}
				} else if !e.Dir {
					_ = v.ReadFile(e, func([]byte) {})
				}
			}
		}
		if es, err := v.Root(); err == nil {
			walk(es, 0)
		}
	})
}
