package rig

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/diskwatch/diskwatch/collectors/execx"
)

// RootSpec describes a Debian root made by debootstrap.
type RootSpec struct {
	// Suite is the Debian release (default "bookworm").
	Suite string
	// Mirror is the archive (default: the host's first apt source).
	Mirror string
	// Include are packages added to --variant=minbase (with their
	// dependencies): at least systemd-sysv to boot with systemd.
	Include []string
	// SizeMiB is the image size (default 1536; sparse).
	SizeMiB int
}

// RootMissing lists the host programs DebianRoot needs that are not
// installed, with their Debian packages.
func RootMissing() []string {
	var out []string
	for _, n := range [][2]string{{"debootstrap", "debootstrap"}, {"mkfs.ext4", "e2fsprogs"}} {
		if _, err := execx.LookPath(n[0]); err != nil {
			out = append(out, n[0]+" (package "+n[1]+")")
		}
	}
	return out
}

// DebianRoot returns an ext4 image of a Debian root for Config.Root,
// kept in cacheDir and built the first time (debootstrap --variant=minbase
// --include=..., then mkfs.ext4 -d): about a minute and ~300 MB on disk.
// The image name carries a hash of the spec, so another spec builds
// another image. Packages come from the mirror on the host: the guest has
// no network.
func DebianRoot(ctx context.Context, cacheDir string, spec RootSpec, logf func(string, ...any)) (string, error) {
	if spec.Suite == "" {
		spec.Suite = "bookworm"
	}
	if spec.SizeMiB == 0 {
		spec.SizeMiB = 1536
	}
	if spec.Mirror == "" {
		spec.Mirror = hostMirror()
	}
	inc := append([]string(nil), spec.Include...)
	sort.Strings(inc)
	for _, p := range inc {
		if p == "" || strings.ContainsAny(p, ", \t\n/") {
			return "", fmt.Errorf("rig: root package %q", p)
		}
	}
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s|%s|%d|v1", spec.Suite, strings.Join(inc, ","), spec.SizeMiB)))
	img := filepath.Join(cacheDir, fmt.Sprintf("debian-%s-%s.ext4", spec.Suite, hex.EncodeToString(sum[:6])))
	if _, err := os.Stat(img); err == nil {
		return img, nil
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return "", fmt.Errorf("rig: root cache: %w", err)
	}
	start := time.Now()
	dir, err := os.MkdirTemp(cacheDir, "debootstrap-")
	if err != nil {
		return "", fmt.Errorf("rig: root: %w", err)
	}
	defer os.RemoveAll(dir)
	root := filepath.Join(dir, "root")
	args := []string{"--variant=minbase", "--include=" + strings.Join(inc, ","), spec.Suite, root, spec.Mirror}
	if out, err := execx.Output(ctx, 20*time.Minute, "debootstrap", args...); err != nil {
		log := filepath.Join(root, "debootstrap", "debootstrap.log")
		b, _ := os.ReadFile(log)
		return "", fmt.Errorf("rig: debootstrap %s: %w\n%s\n%s", strings.Join(args, " "), err, tail(string(out), 20), tail(string(b), 30))
	}
	if logf != nil {
		logf("rig: debootstrap %s (%s) in %v", spec.Suite, strings.Join(inc, ","), time.Since(start).Round(time.Second))
	}
	// No network, no console login: a name and an empty fstab (the
	// initramfs mounts the root read-write).
	os.WriteFile(filepath.Join(root, "etc", "hostname"), []byte("rig\n"), 0o644)
	os.WriteFile(filepath.Join(root, "etc", "fstab"), []byte("# the rig's initramfs mounts /dev/vda on /\n"), 0o644)
	os.RemoveAll(filepath.Join(root, "var", "cache", "apt", "archives"))
	os.MkdirAll(filepath.Join(root, "var", "cache", "apt", "archives", "partial"), 0o755)
	tmp := img + ".tmp"
	os.Remove(tmp)
	t := time.Now()
	if out, err := execx.Output(ctx, 10*time.Minute, "mkfs.ext4", "-q", "-F", "-L", "rigroot", "-d", root, tmp, fmt.Sprintf("%dM", spec.SizeMiB)); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("rig: mkfs.ext4 -d: %w\n%s", err, out)
	}
	if err := os.Rename(tmp, img); err != nil {
		return "", fmt.Errorf("rig: root image: %w", err)
	}
	if logf != nil {
		logf("rig: root image %s made in %v", filepath.Base(img), time.Since(t).Round(time.Second))
	}
	return img, nil
}

// hostMirror is the first Debian archive in the host's apt sources
// (deb822 or one-line), else deb.debian.org.
func hostMirror() string {
	files, _ := filepath.Glob("/etc/apt/sources.list.d/*.sources")
	for _, f := range files {
		if m := firstURI(f, func(l string) string {
			if v, ok := strings.CutPrefix(l, "URIs:"); ok && len(strings.Fields(v)) > 0 {
				return strings.Fields(v)[0]
			}
			return ""
		}); m != "" {
			return m
		}
	}
	lists, _ := filepath.Glob("/etc/apt/sources.list.d/*.list")
	for _, f := range append([]string{"/etc/apt/sources.list"}, lists...) {
		if m := firstURI(f, func(l string) string {
			if fs := strings.Fields(l); len(fs) >= 3 && fs[0] == "deb" && !strings.HasPrefix(fs[1], "[") {
				return fs[1]
			}
			return ""
		}); m != "" {
			return m
		}
	}
	return "http://deb.debian.org/debian"
}

func firstURI(file string, pick func(string) string) string {
	f, err := os.Open(file)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if u := pick(strings.TrimSpace(sc.Text())); strings.HasPrefix(u, "http") && !strings.Contains(u, "security") {
			return u
		}
	}
	return ""
}
