package rig

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/diskwatch/diskwatch/collectors/execx"
)

// Kernel is an unpacked Debian kernel package.
type Kernel struct {
	// Package is the Debian package name (linux-image-6.1.0-56-amd64).
	Package string
	// Release is the kernel release (6.1.0-56-amd64), the name of its
	// modules directory.
	Release string
	// Dir is where the package was unpacked.
	Dir string
	// Vmlinuz is the kernel image to boot.
	Vmlinuz string
}

// ModulesDir is the kernel's module tree.
func (k *Kernel) ModulesDir() string { return filepath.Join(k.Dir, "lib", "modules", k.Release) }

var dependsRE = regexp.MustCompile(`(?m)^\s*Depends:\s*(linux-image-[0-9][^\s]*)\s*$`)

// ParseDepends returns the linux-image-VERSION package that
// `apt-cache depends linux-image-amd64` names, "" when none.
func ParseDepends(out []byte) string {
	m := dependsRE.FindSubmatch(out)
	if m == nil {
		return ""
	}
	return string(m[1])
}

// CurrentKernelPackage asks apt which linux-image package the
// linux-image-amd64 metapackage depends on now. When apt knows none (its
// lists were never fetched) it runs `apt-get update` once and asks again.
func CurrentKernelPackage(ctx context.Context) (string, error) {
	ask := func() (string, error) {
		out, err := execx.Output(ctx, 60*time.Second, "apt-cache", "depends", "linux-image-amd64")
		if p := ParseDepends(out); p != "" {
			return p, nil
		}
		if err != nil {
			return "", fmt.Errorf("apt-cache depends linux-image-amd64: %w", err)
		}
		return "", errors.New("apt-cache depends linux-image-amd64: no linux-image dependency listed")
	}
	p, err := ask()
	if err == nil {
		return p, nil
	}
	if uerr := (execx.Cmd{Name: "apt-get", Args: []string{"update", "-qq"}, Timeout: 5 * time.Minute}).Run(ctx); uerr != nil {
		return "", fmt.Errorf("%v; apt-get update: %w", err, uerr)
	}
	return ask()
}

// FetchKernel returns the kernel package pkg unpacked under cacheDir,
// downloading it with `apt-get download` and unpacking it with
// `dpkg-deb -x` the first time. pkg "" means the current
// linux-image-amd64 dependency; when apt cannot say which that is (no
// network), the newest kernel already in the cache is used.
func FetchKernel(ctx context.Context, cacheDir, pkg string) (*Kernel, error) {
	if pkg == "" {
		p, err := CurrentKernelPackage(ctx)
		if err != nil {
			if k := newestCached(cacheDir); k != nil {
				return k, nil
			}
			return nil, fmt.Errorf("find the kernel package: %w", err)
		}
		pkg = p
	}
	if !strings.HasPrefix(pkg, "linux-image-") || strings.ContainsAny(pkg, "/ \t\n") {
		return nil, fmt.Errorf("kernel package %q: want linux-image-VERSION", pkg)
	}
	dir := filepath.Join(cacheDir, pkg)
	if k, err := loadKernel(pkg, dir); err == nil {
		return k, nil
	}
	debs := filepath.Join(cacheDir, "debs")
	if err := os.MkdirAll(debs, 0o755); err != nil {
		return nil, fmt.Errorf("kernel cache: %w", err)
	}
	deb, _ := findDeb(debs, pkg)
	if deb == "" {
		err := execx.Cmd{Name: "apt-get", Args: []string{"download", "-q", pkg}, Dir: debs, Timeout: 10 * time.Minute}.Run(ctx)
		if err != nil {
			return nil, fmt.Errorf("apt-get download %s: %w", pkg, err)
		}
		if deb, err = findDeb(debs, pkg); err != nil {
			return nil, err
		}
	}
	tmp := dir + ".unpacking"
	os.RemoveAll(tmp)
	if err := (execx.Cmd{Name: "dpkg-deb", Args: []string{"-x", deb, tmp}, Timeout: 5 * time.Minute}).Run(ctx); err != nil {
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("dpkg-deb -x %s: %w", filepath.Base(deb), err)
	}
	os.RemoveAll(dir)
	if err := os.Rename(tmp, dir); err != nil {
		return nil, fmt.Errorf("kernel cache: %w", err)
	}
	os.Remove(deb) // the unpacked tree is the cache
	return loadKernel(pkg, dir)
}

func findDeb(dir, pkg string) (string, error) {
	m, _ := filepath.Glob(filepath.Join(dir, pkg+"_*.deb"))
	if len(m) == 0 {
		return "", fmt.Errorf("apt-get download %s: no %s_*.deb in %s", pkg, pkg, dir)
	}
	sort.Strings(m)
	return m[len(m)-1], nil
}

// loadKernel checks an unpacked package directory.
func loadKernel(pkg, dir string) (*Kernel, error) {
	m, _ := filepath.Glob(filepath.Join(dir, "boot", "vmlinuz-*"))
	if len(m) != 1 {
		return nil, fmt.Errorf("%s: want one boot/vmlinuz-*, found %d", dir, len(m))
	}
	rel := strings.TrimPrefix(filepath.Base(m[0]), "vmlinuz-")
	k := &Kernel{Package: pkg, Release: rel, Dir: dir, Vmlinuz: m[0]}
	if _, err := os.Stat(k.ModulesDir()); err != nil {
		return nil, fmt.Errorf("%s: modules: %w", dir, err)
	}
	return k, nil
}

func newestCached(cacheDir string) *Kernel {
	m, _ := filepath.Glob(filepath.Join(cacheDir, "linux-image-*"))
	sort.Strings(m)
	for i := len(m) - 1; i >= 0; i-- {
		if strings.HasSuffix(m[i], ".unpacking") {
			continue
		}
		if k, err := loadKernel(filepath.Base(m[i]), m[i]); err == nil {
			return k
		}
	}
	return nil
}

// findModules maps each module name to its .ko file in the kernel's tree
// (names are matched with '-' and '_' taken as equal, as modprobe does).
func (k *Kernel) findModules(names []string) (map[string]string, error) {
	norm := func(s string) string { return strings.ReplaceAll(s, "-", "_") }
	want := map[string]string{}
	for _, n := range names {
		want[norm(n)] = n
	}
	found := map[string]string{}
	err := filepath.WalkDir(k.ModulesDir(), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(p, ".ko") {
			return nil
		}
		if n, ok := want[norm(strings.TrimSuffix(d.Name(), ".ko"))]; ok {
			found[n] = p
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("kernel %s: list modules: %w", k.Release, err)
	}
	var missing []string
	for _, n := range names {
		if found[n] == "" {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("kernel %s: modules not found (compressed or renamed?): %s", k.Release, strings.Join(missing, ", "))
	}
	return found, nil
}
