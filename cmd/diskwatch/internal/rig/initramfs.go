package rig

import (
	"bufio"
	"compress/gzip"
	"context"
	_ "embed"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/diskwatch/diskwatch/collectors/execx"
)

// guestInit is the initramfs's /init: it mounts /proc, /sys and /dev,
// loads the modules in order, and serves the command channel on ttyS1.
//
//go:embed init.sh
var guestInit []byte

// guestAgent serves the command channel: sourced by /init, or run by
// rig-agent.service in a Debian root.
//
//go:embed agent.sh
var guestAgent []byte

// RootModules are loaded after the others when the guest boots a Debian
// root (Config.Root): its virtio disk and ext4.
var RootModules = []string{"crc16", "mbcache", "jbd2", "crc32c_generic", "ext4", "virtio_blk"}

// DefaultModules is an insmod order that works for the Debian 6.1 kernel:
// AHCI, NVMe, MegaRAID, LSI (sym53c8xx), virtio-scsi, md RAID1. The
// package ships no modules.dep, so the order matters.
var DefaultModules = []string{
	"crct10dif_common", "crc-t10dif", "crc64", "crc64-rocksoft", "crc64_rocksoft_generic", "t10-pi",
	"scsi_common", "scsi_mod", "sd_mod", "sg", "libata", "libahci", "ahci", "nvme-core", "nvme",
	"megaraid_sas", "scsi_transport_spi", "sym53c8xx", "virtio_ring", "virtio", "virtio_pci_modern_dev",
	"virtio_pci_legacy_dev", "virtio_pci", "virtio_scsi", "md-mod", "raid1",
}

// DefaultPrograms are host programs copied into the guest with the shared
// libraries ldd lists for them.
var DefaultPrograms = []string{"mdadm", "smartctl"}

// cpioWriter writes a "newc" (SVR4, no CRC) cpio archive, the format the
// kernel unpacks as an initramfs.
type cpioWriter struct {
	w     io.Writer
	ino   uint32
	err   error
	names map[string]bool
}

const (
	modeDir  = 0o040000
	modeFile = 0o100000
	modeLink = 0o120000
)

func (c *cpioWriter) header(name string, mode uint32, size int) {
	if c.err != nil {
		return
	}
	c.ino++
	nlink := 1
	if mode&0o170000 == modeDir {
		nlink = 2
	}
	h := fmt.Sprintf("070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		c.ino, mode, 0, 0, nlink, 0, size, 0, 0, 0, 0, len(name)+1, 0)
	_, c.err = io.WriteString(c.w, h+name+"\x00")
	c.pad(len(h) + len(name) + 1)
}

func (c *cpioWriter) pad(n int) {
	if c.err != nil {
		return
	}
	if r := n % 4; r != 0 {
		_, c.err = c.w.Write(make([]byte, 4-r))
	}
}

// mkdirAll adds every missing parent directory of name (and name).
func (c *cpioWriter) mkdirAll(name string) {
	name = strings.Trim(path.Clean("/"+name), "/")
	if name == "" || c.names[name] {
		return
	}
	c.mkdirAll(path.Dir(name))
	c.names[name] = true
	c.header(name, modeDir|0o755, 0)
}

// file adds a regular file with its parents.
func (c *cpioWriter) file(name string, perm uint32, data []byte) {
	name = strings.Trim(path.Clean("/"+name), "/")
	if c.names[name] {
		return
	}
	c.mkdirAll(path.Dir(name))
	c.names[name] = true
	c.header(name, modeFile|perm, len(data))
	if c.err == nil {
		_, c.err = c.w.Write(data)
	}
	c.pad(len(data))
}

// symlink adds a symbolic link.
func (c *cpioWriter) symlink(name, target string) {
	name = strings.Trim(path.Clean("/"+name), "/")
	if c.names[name] {
		return
	}
	c.mkdirAll(path.Dir(name))
	c.names[name] = true
	c.header(name, modeLink|0o777, len(target))
	if c.err == nil {
		_, c.err = io.WriteString(c.w, target)
	}
	c.pad(len(target))
}

func (c *cpioWriter) close() error {
	c.header("TRAILER!!!", 0, 0)
	return c.err
}

// ldd lists the shared libraries a host program loads, as absolute
// paths (the dynamic loader included).
func ldd(ctx context.Context, prog string) ([]string, error) {
	out, err := execx.Output(ctx, 30*time.Second, "ldd", prog)
	if err != nil {
		if strings.Contains(string(out)+err.Error(), "not a dynamic executable") {
			return nil, nil
		}
		return nil, fmt.Errorf("ldd %s: %w", prog, err)
	}
	return parseLdd(out), nil
}

var lddRE = regexp.MustCompile(`(?m)(?:=>\s*)?(/[^\s]+)\s+\(0x[0-9a-f]+\)`)

// parseLdd extracts library paths from ldd output.
func parseLdd(out []byte) []string {
	var libs []string
	for _, m := range lddRE.FindAllSubmatch(out, -1) {
		libs = append(libs, string(m[1]))
	}
	return libs
}

// initramfsSpec is what goes into the guest.
type initramfsSpec struct {
	kernel   *Kernel
	modules  []string
	programs []string          // host programs (names or paths), copied with their libraries
	files    map[string]string // guest path -> host path
	// root: boot the Debian root on /dev/vda; files are carried into it.
	root bool
}

// buildInitramfs writes a gzip-compressed newc initramfs to dst.
func buildInitramfs(ctx context.Context, dst string, s initramfsSpec) error {
	f, err := os.Create(dst)
	if err != nil {
		return fmt.Errorf("initramfs: %w", err)
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	zw, _ := gzip.NewWriterLevel(bw, gzip.BestSpeed)
	c := &cpioWriter{w: zw, names: map[string]bool{}}
	for _, d := range []string{"bin", "sbin", "usr/bin", "usr/sbin", "proc", "sys", "dev", "tmp", "run", "etc", "root", "lib/modules/rig"} {
		c.mkdirAll(d)
	}
	c.file("init", 0o755, guestInit)
	c.file("etc/rig/agent.sh", 0o755, guestAgent)
	if s.root {
		c.file("etc/rig/root", 0o644, nil)
	}
	add := func(guest, host string, perm uint32) error {
		b, err := os.ReadFile(host)
		if err != nil {
			return fmt.Errorf("initramfs: %w", err)
		}
		c.file(guest, perm, b)
		return nil
	}
	bb, err := execx.LookPath("busybox")
	if err != nil {
		return fmt.Errorf("initramfs: busybox (package busybox-static): %w", err)
	}
	if libs, err := ldd(ctx, bb); err != nil || len(libs) > 0 {
		return fmt.Errorf("initramfs: %s is not static (install busybox-static)", bb)
	}
	if err := add("bin/busybox", bb, 0o755); err != nil {
		return err
	}
	mods, err := s.kernel.findModules(s.modules)
	if err != nil {
		return err
	}
	for _, m := range s.modules {
		if err := add("lib/modules/rig/"+m+".ko", mods[m], 0o644); err != nil {
			return err
		}
	}
	c.file("etc/rig/modules", 0o644, []byte(strings.Join(s.modules, "\n")+"\n"))
	for _, p := range s.programs {
		host, err := execx.LookPath(p)
		if err != nil {
			return fmt.Errorf("initramfs: program %s: %w", p, err)
		}
		if err := add("usr/sbin/"+filepath.Base(host), host, 0o755); err != nil {
			return err
		}
		libs, err := ldd(ctx, host)
		if err != nil {
			return err
		}
		for _, l := range libs {
			if err := add(l, l, 0o755); err != nil {
				return err
			}
		}
	}
	guests := make([]string, 0, len(s.files))
	for g := range s.files {
		guests = append(guests, g)
	}
	sort.Strings(guests)
	for _, g := range guests {
		dst := g
		if s.root {
			dst = "carry/" + strings.TrimPrefix(g, "/")
		}
		if err := add(dst, s.files[g], 0o755); err != nil {
			return err
		}
	}
	c.symlink("bin/sh", "busybox")
	if err := c.close(); err != nil {
		return fmt.Errorf("initramfs: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("initramfs: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("initramfs: %w", err)
	}
	return f.Close()
}
