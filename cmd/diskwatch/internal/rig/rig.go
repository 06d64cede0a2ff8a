// Package rig boots a real Debian kernel in QEMU with emulated disks
// (AHCI, NVMe, virtio-scsi, LSI, MegaRAID; raw images, optional blkdebug
// error injection) and runs shell steps in the guest, returning each
// step's output and exit code. It is the real-kernel test rig of
// diskwatch: the md RAID scenarios use it, and SMART, hardware RAID and
// kernel-log tests can add their own disks and steps.
//
// The guest is a busybox initramfs with the modules of DefaultModules,
// host programs (mdadm, smartctl) with their libraries, and any files the
// caller adds (the static diskwatch binary); or, with Config.Root, a
// Debian root made by debootstrap (DebianRoot) booted with systemd as PID
// 1, the initramfs only loading the modules. Its console (ttyS0) is
// logged; commands travel over a virtio-serial port (flow-controlled: an
// emulated 16550 drops bytes when the host is slow to read) as base64
// frames, so output is byte-exact. QEMU runs under TCG by default (a stock
// Debian kernel does not boot under this machine's nested KVM) and is
// always killed by Close or when the context ends.
package rig

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/diskwatch/diskwatch/collectors/execx"
)

// Bus is where a disk is attached.
type Bus string

// Buses the rig knows.
const (
	AHCI       Bus = "ahci"        // SATA disk on an AHCI controller (ide-hd)
	NVMe       Bus = "nvme"        // an NVMe controller with one namespace
	VirtioSCSI Bus = "virtio-scsi" // scsi-hd on virtio-scsi-pci
	LSI        Bus = "lsi"         // scsi-hd on an LSI 53C895A (sym53c8xx)
	MegaSAS    Bus = "megasas"     // scsi-hd behind an emulated MegaRAID SAS 1078
	MegaSAS2   Bus = "megasas-gen2"
)

// Inject is one blkdebug error rule on a disk.
type Inject struct {
	// Event is the blkdebug event ("write_aio", "read_aio", ...);
	// default write_aio.
	Event string
	// Errno is the error returned; default 5 (EIO).
	Errno int
	// Sector is the first 512-byte sector of the image the rule hits;
	// -1 for any.
	Sector int64
	// IOType is "read", "write", ...; default "write".
	IOType string
	// Once makes the rule fire a single time.
	Once bool
}

// Disk is one emulated disk backed by a raw image.
type Disk struct {
	// ID names the disk (letters, digits, '-' and '_'): its image file,
	// QEMU drive "drv-ID" and device "ID" (the QOM path
	// /machine/peripheral/ID for QMP qom-set).
	ID  string
	Bus Bus
	// SizeMiB is the image size; default 64.
	SizeMiB int
	// Serial is the disk's serial number (default: the ID).
	Serial string
	// Props are extra -device properties ("smart_critical_warning=4").
	Props []string
	// Inject makes the image a blkdebug image with these error rules.
	Inject []Inject
}

// rigfiles is the guest's capture tool (see package rigfiles).
const (
	rigfilesPkg   = "github.com/diskwatch/diskwatch/cmd/diskwatch/internal/rig/rigfiles"
	rigfilesGuest = "/usr/bin/rigfiles"
)

// Config describes one machine.
type Config struct {
	// CacheDir keeps the unpacked kernel across runs (testdata/rig/work).
	CacheDir string
	// KernelPackage is the Debian kernel package; "" for the current
	// linux-image-amd64 dependency.
	KernelPackage string
	// Modules to insmod in order; nil for DefaultModules.
	Modules []string
	// Programs are host programs copied with their libraries into
	// /usr/sbin; nil for DefaultPrograms.
	Programs []string
	// Files are extra files: guest path -> host path. The capture tool
	// /usr/bin/rigfiles is always added.
	Files map[string]string
	Disks []Disk
	// MemoryMiB (default 512) and CPUs (default 2).
	MemoryMiB, CPUs int
	// Accel is QEMU's -accel value; default "tcg" (with -cpu max).
	Accel string
	// Root, when set, is an ext4 image of a Debian root (DebianRoot),
	// booted on /dev/vda with its own init (systemd) after the initramfs
	// loaded the modules. Writes go to QEMU's temporary snapshot, never to
	// the image. Files are copied into that root; the command channel is
	// the same agent, run there by rig-agent.service.
	Root string
	// Append is added to the kernel command line.
	Append string
	// BootTimeout bounds the boot up to the command channel being ready;
	// default 3 minutes.
	BootTimeout time.Duration
	// Console, if set, receives the guest console as it comes.
	Console io.Writer
	// Log, if set, receives one line per step and boot milestone.
	Log func(format string, args ...any)
}

// Result is what one step did.
type Result struct {
	Output []byte
	// Exit is the step's exit code (137 when its guest timeout killed it).
	Exit     int
	Duration time.Duration
}

// VM is a running machine.
type VM struct {
	cfg     Config
	Kernel  *Kernel
	dir     string // run directory: images, sockets, console.log
	proc    *execx.Process
	cmd     net.Conn
	lines   chan string
	readErr error
	mu      sync.Mutex
	seq     int
	console *os.File
	qmp     *qmpClient
	// BootTime is how long the boot took up to a ready command channel.
	BootTime time.Duration
	// Release is the guest's `uname -r`.
	Release string
	closed  bool
}

func (c *Config) logf(format string, args ...any) {
	if c.Log != nil {
		c.Log(format, args...)
	}
}

// channelModules carry the command channel (virtio-serial), in order.
var channelModules = []string{"virtio_ring", "virtio", "virtio_pci_modern_dev", "virtio_pci_legacy_dev", "virtio_pci", "virtio_console"}

// withChannelModules appends the channel's modules that mods lacks.
func withChannelModules(mods []string) []string {
	have := map[string]bool{}
	for _, m := range mods {
		have[strings.ReplaceAll(m, "-", "_")] = true
	}
	out := append([]string(nil), mods...)
	for _, m := range channelModules {
		if !have[m] {
			out = append(out, m)
		}
	}
	return out
}

// Missing lists the host programs the rig needs that are not installed,
// with the Debian package that provides each.
func Missing() []string {
	need := [][2]string{
		{"qemu-system-x86_64", "qemu-system-x86"}, {"busybox", "busybox-static"}, {"mdadm", "mdadm"},
		{"smartctl", "smartmontools"}, {"apt-get", "apt"}, {"dpkg-deb", "dpkg"}, {"ldd", "libc-bin"},
	}
	var out []string
	for _, n := range need {
		if _, err := execx.LookPath(n[0]); err != nil {
			out = append(out, n[0]+" (package "+n[1]+")")
		}
	}
	return out
}

// Boot fetches the kernel (cached), builds the initramfs, creates the
// disk images and starts QEMU, and returns once the guest's command
// channel answers. The caller must Close the VM.
func Boot(ctx context.Context, cfg Config) (*VM, error) {
	if cfg.CacheDir == "" {
		return nil, errors.New("rig: no CacheDir")
	}
	if cfg.Modules == nil {
		cfg.Modules = DefaultModules
	}
	cfg.Modules = withChannelModules(cfg.Modules)
	if cfg.Root != "" {
		cfg.Modules = append(cfg.Modules, RootModules...)
	}
	if cfg.Programs == nil {
		cfg.Programs = DefaultPrograms
	}
	if cfg.MemoryMiB == 0 {
		cfg.MemoryMiB = 512
	}
	if cfg.CPUs == 0 {
		cfg.CPUs = 2
	}
	if cfg.Accel == "" {
		cfg.Accel = "tcg"
	}
	if cfg.BootTimeout == 0 {
		cfg.BootTimeout = 3 * time.Minute
	}
	start := time.Now()
	k, err := FetchKernel(ctx, cfg.CacheDir, cfg.KernelPackage)
	if err != nil {
		return nil, err
	}
	cfg.logf("rig: kernel %s (%s) ready after %v", k.Release, k.Package, time.Since(start).Round(time.Millisecond))
	// Sockets need a short path (108 bytes); everything of one run lives
	// together in a temporary directory.
	dir, err := os.MkdirTemp("", "diskwatch-rig-")
	if err != nil {
		return nil, fmt.Errorf("rig: %w", err)
	}
	vm := &VM{cfg: cfg, Kernel: k, dir: dir, lines: make(chan string, 1024)}
	ok := false
	defer func() {
		if !ok {
			vm.Close()
		}
	}()
	t := time.Now()
	files := map[string]string{}
	for g, h := range cfg.Files {
		files[g] = h
	}
	if _, ok := files[rigfilesGuest]; !ok {
		files[rigfilesGuest] = filepath.Join(dir, "rigfiles")
		if err := BuildStatic(ctx, rigfilesPkg, files[rigfilesGuest]); err != nil {
			return nil, err
		}
	}
	initrd := filepath.Join(dir, "initramfs.gz")
	if err := buildInitramfs(ctx, initrd, initramfsSpec{kernel: k, modules: cfg.Modules, programs: cfg.Programs, files: files, root: cfg.Root != ""}); err != nil {
		return nil, err
	}
	if st, err := os.Stat(initrd); err == nil {
		cfg.logf("rig: initramfs %.1f MiB built in %v", float64(st.Size())/(1<<20), time.Since(t).Round(time.Millisecond))
	}
	args, err := vm.qemuArgs(initrd)
	if err != nil {
		return nil, err
	}
	vm.console, err = os.Create(filepath.Join(dir, "console.log"))
	if err != nil {
		return nil, fmt.Errorf("rig: %w", err)
	}
	var out io.Writer = vm.console
	if cfg.Console != nil {
		out = io.MultiWriter(vm.console, cfg.Console)
	}
	t = time.Now()
	vm.proc, err = execx.Cmd{Name: "qemu-system-x86_64", Args: args, Dir: dir, Stdout: out, Stderr: out, Timeout: -1, DieWithParent: true}.Start(ctx)
	if err != nil {
		return nil, fmt.Errorf("rig: %w", err)
	}
	bctx, cancel := context.WithTimeout(ctx, cfg.BootTimeout)
	defer cancel()
	if vm.cmd, err = vm.dial(bctx, filepath.Join(dir, "cmd.sock")); err != nil {
		return nil, vm.bootError("connect to the command channel", err)
	}
	go vm.readLines()
	for {
		line, err := vm.next(bctx)
		if err != nil {
			return nil, vm.bootError("wait for the guest", err)
		}
		if rel, found := strings.CutPrefix(line, "@@RIG READY "); found {
			vm.Release = strings.TrimSuffix(rel, "@@")
			break
		}
	}
	vm.BootTime = time.Since(t)
	cfg.logf("rig: guest %s ready after %v of boot", vm.Release, vm.BootTime.Round(time.Millisecond))
	ok = true
	return vm, nil
}

func (vm *VM) bootError(step string, err error) error {
	return fmt.Errorf("rig: %s: %w; console tail:\n%s", step, err, tail(vm.ConsoleLog(), 40))
}

func tail(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

// qemuArgs builds the QEMU command line and the disk images.
func (vm *VM) qemuArgs(initrd string) ([]string, error) {
	c := vm.cfg
	args := []string{
		"-accel", c.Accel, "-m", strconv.Itoa(c.MemoryMiB), "-smp", strconv.Itoa(c.CPUs),
		"-nographic", "-no-reboot", "-monitor", "none",
		"-kernel", vm.Kernel.Vmlinuz, "-initrd", initrd,
		"-append", strings.TrimSpace("console=ttyS0 panic=-1 loglevel=6 " + c.Append),
		"-serial", "stdio",
		"-chardev", "socket,id=cmd,path=" + filepath.Join(vm.dir, "cmd.sock") + ",server=on,wait=on",
		"-device", "virtio-serial-pci,id=vser",
		"-device", "virtserialport,bus=vser.0,chardev=cmd,name=rig",
		"-qmp", "unix:" + filepath.Join(vm.dir, "qmp.sock") + ",server=on,wait=off",
	}
	if c.Accel == "tcg" {
		args = append(args, "-cpu", "max")
	}
	if c.Root != "" {
		if strings.Contains(c.Root, ",") {
			return nil, fmt.Errorf("rig: root image path %q has a comma", c.Root)
		}
		args = append(args, "-drive", "file="+c.Root+",if=virtio,format=raw,snapshot=on")
	}
	dev, err := diskArgs(vm.dir, c.Disks)
	if err != nil {
		return nil, err
	}
	return append(args, dev...), nil
}

// diskArgs creates each disk's image (and blkdebug config) in dir and
// returns the -drive/-device arguments.
func diskArgs(dir string, disks []Disk) ([]string, error) {
	var args []string
	ctrl := map[Bus]bool{}
	next := map[Bus]int{}
	seen := map[string]bool{}
	for _, d := range disks {
		if d.ID == "" || strings.Trim(d.ID, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") != "" || seen[d.ID] {
			return nil, fmt.Errorf("rig: disk id %q: want a unique name of letters, digits, - and _", d.ID)
		}
		seen[d.ID] = true
		size := d.SizeMiB
		if size <= 0 {
			size = 64
		}
		img := filepath.Join(dir, d.ID+".img")
		f, err := os.Create(img)
		if err != nil {
			return nil, fmt.Errorf("rig: disk %s: %w", d.ID, err)
		}
		err = f.Truncate(int64(size) << 20)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("rig: disk %s: %w", d.ID, err)
		}
		file := img
		if len(d.Inject) > 0 {
			conf := filepath.Join(dir, d.ID+".blkdebug")
			if err := os.WriteFile(conf, []byte(blkdebugConf(d.Inject)), 0o644); err != nil {
				return nil, fmt.Errorf("rig: disk %s: %w", d.ID, err)
			}
			file = "blkdebug:" + conf + ":" + img
		}
		if strings.Contains(file, ",") {
			return nil, fmt.Errorf("rig: disk %s: path %q has a comma", d.ID, file)
		}
		serial := d.Serial
		if serial == "" {
			serial = d.ID
		}
		drv := "drv-" + d.ID
		args = append(args, "-drive", "if=none,id="+drv+",file="+file+",format=raw")
		props := strings.Join(append([]string{""}, d.Props...), ",")
		n := next[d.Bus]
		next[d.Bus]++
		switch d.Bus {
		case AHCI:
			if !ctrl[AHCI] {
				args = append(args, "-device", "ahci,id=ahci")
				ctrl[AHCI] = true
			}
			if n >= 6 {
				return nil, fmt.Errorf("rig: disk %s: an AHCI controller has 6 ports", d.ID)
			}
			args = append(args, "-device", fmt.Sprintf("ide-hd,id=%s,drive=%s,bus=ahci.%d,serial=%s%s", d.ID, drv, n, serial, props))
		case NVMe:
			args = append(args, "-device", fmt.Sprintf("nvme,id=%s,drive=%s,serial=%s%s", d.ID, drv, serial, props))
		case VirtioSCSI, LSI, MegaSAS, MegaSAS2:
			bus := map[Bus][2]string{VirtioSCSI: {"virtio-scsi-pci", "vscsi"}, LSI: {"lsi53c895a", "lsi"},
				MegaSAS: {"megasas", "mr"}, MegaSAS2: {"megasas-gen2", "mr2"}}[d.Bus]
			if !ctrl[d.Bus] {
				args = append(args, "-device", bus[0]+",id="+bus[1])
				ctrl[d.Bus] = true
			}
			args = append(args, "-device", fmt.Sprintf("scsi-hd,id=%s,drive=%s,bus=%s.0,scsi-id=%d,serial=%s%s", d.ID, drv, bus[1], n, serial, props))
		default:
			return nil, fmt.Errorf("rig: disk %s: unknown bus %q", d.ID, d.Bus)
		}
	}
	return args, nil
}

// blkdebugConf renders blkdebug's configuration file.
func blkdebugConf(rules []Inject) string {
	var b strings.Builder
	for _, r := range rules {
		ev, io, errno := r.Event, r.IOType, r.Errno
		if ev == "" {
			ev = "write_aio"
		}
		if io == "" {
			io = "write"
		}
		if errno == 0 {
			errno = 5
		}
		fmt.Fprintf(&b, "[inject-error]\nevent = \"%s\"\nerrno = \"%d\"\niotype = \"%s\"\n", ev, errno, io)
		if r.Sector >= 0 {
			fmt.Fprintf(&b, "sector = \"%d\"\n", r.Sector)
		}
		if r.Once {
			b.WriteString("once = \"on\"\n")
		}
		b.WriteString("\n")
	}
	return b.String()
}

// dial connects to a QEMU server socket, retrying until it exists.
func (vm *VM) dial(ctx context.Context, path string) (net.Conn, error) {
	var d net.Dialer
	for {
		c, err := d.DialContext(ctx, "unix", path)
		if err == nil {
			return c, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%s: %w (last: %v)", filepath.Base(path), ctx.Err(), err)
		case <-vm.proc.Done():
			return nil, fmt.Errorf("qemu exited: %v", vm.proc.Wait())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// readLines feeds the command channel's lines to vm.lines.
func (vm *VM) readLines() {
	r := bufio.NewReaderSize(vm.cmd, 64<<10)
	for {
		line, err := r.ReadString('\n')
		if line = strings.TrimRight(line, "\r\n"); line != "" {
			vm.lines <- line
		}
		if err != nil {
			vm.readErr = err
			close(vm.lines)
			return
		}
	}
}

// next returns the next line of the command channel.
func (vm *VM) next(ctx context.Context) (string, error) {
	select {
	case l, ok := <-vm.lines:
		if !ok {
			return "", fmt.Errorf("command channel closed: %v", vm.readErr)
		}
		return l, nil
	case <-ctx.Done():
		return "", ctx.Err()
	case <-vm.proc.Done():
		// Drain what arrived before QEMU went away.
		select {
		case l, ok := <-vm.lines:
			if ok {
				return l, nil
			}
		default:
		}
		return "", fmt.Errorf("qemu exited: %v", vm.proc.Wait())
	}
}

// Exec runs script with /bin/sh in the guest and returns its combined
// output and exit code. timeout bounds the step in the guest (it is
// killed) and on the host; an error means the rig itself failed (the
// channel broke, QEMU died), never that the script exited non-zero.
func (vm *VM) Exec(ctx context.Context, timeout time.Duration, script string) (Result, error) {
	vm.mu.Lock()
	defer vm.mu.Unlock()
	if timeout <= 0 {
		timeout = time.Minute
	}
	vm.seq++
	id := strconv.Itoa(vm.seq)
	start := time.Now()
	var b bytes.Buffer
	fmt.Fprintf(&b, "EXEC %s %d\n", id, int((timeout+time.Second-1)/time.Second))
	enc := base64.StdEncoding.EncodeToString([]byte(script))
	for len(enc) > 0 {
		n := min(76, len(enc))
		b.WriteString(enc[:n] + "\n")
		enc = enc[n:]
	}
	b.WriteString("@@EOF@@\n")
	// The host waits a little longer than the guest, which kills the step.
	hctx, cancel := context.WithTimeout(ctx, timeout+30*time.Second)
	defer cancel()
	if dl, ok := hctx.Deadline(); ok {
		vm.cmd.SetWriteDeadline(dl)
	}
	if _, err := vm.cmd.Write(b.Bytes()); err != nil {
		return Result{}, fmt.Errorf("rig: step %s: send: %w", id, err)
	}
	res, err := readFrame(hctx, vm.next, id)
	res.Duration = time.Since(start)
	if err != nil {
		return res, fmt.Errorf("rig: step %s after %v: %w%s", id, res.Duration.Round(time.Millisecond), err, vm.diagnose(ctx))
	}
	vm.cfg.logf("rig: step %s: exit %d after %v", id, res.Exit, res.Duration.Round(time.Millisecond))
	return res, nil
}

// readFrame reads one "@@RIG BEGIN id@@ ... @@RIG END id rc@@" frame;
// lines outside a frame are skipped.
func readFrame(ctx context.Context, next func(context.Context) (string, error), id string) (Result, error) {
	var res Result
	in := false
	var enc strings.Builder
	for {
		line, err := next(ctx)
		if err != nil {
			return res, err
		}
		switch {
		case line == "@@RIG BEGIN "+id+"@@":
			in = true
			enc.Reset()
		case !in:
			continue
		case strings.HasPrefix(line, "@@RIG END "+id+" "):
			rc, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(line, "@@RIG END "+id+" "), "@@"))
			if err != nil {
				return res, fmt.Errorf("bad end marker %q", line)
			}
			out, err := base64.StdEncoding.DecodeString(enc.String())
			if err != nil {
				return res, fmt.Errorf("decode output: %w", err)
			}
			res.Output, res.Exit = out, rc
			return res, nil
		case strings.HasPrefix(line, "@@RIG "):
			return res, fmt.Errorf("unexpected marker %q inside step %s", line, id)
		default:
			enc.WriteString(strings.TrimSpace(line))
		}
	}
}

// MustExec is Exec for steps that must succeed: a non-zero exit is an
// error carrying the output.
func (vm *VM) MustExec(ctx context.Context, timeout time.Duration, script string) ([]byte, error) {
	r, err := vm.Exec(ctx, timeout, script)
	if err != nil {
		return r.Output, err
	}
	if r.Exit != 0 {
		return r.Output, fmt.Errorf("rig: guest step exited %d: %s\n--- script:\n%s", r.Exit, bytes.TrimSpace(r.Output), script)
	}
	return r.Output, nil
}

// WaitBlock waits until each named block device (sda, nvme0n1) exists in
// the guest.
func (vm *VM) WaitBlock(ctx context.Context, timeout time.Duration, names ...string) error {
	var b strings.Builder
	secs := int(timeout / (200 * time.Millisecond))
	fmt.Fprintf(&b, "i=0\nwhile [ $i -lt %d ]; do\n ok=1\n", secs)
	for _, n := range names {
		fmt.Fprintf(&b, " [ -b /dev/%s ] || ok=0\n", n)
	}
	b.WriteString(" [ $ok = 1 ] && exit 0\n sleep 0.2; i=$((i+1))\ndone\nls /sys/block; exit 1\n")
	out, err := vm.MustExec(ctx, timeout+10*time.Second, b.String())
	if err != nil {
		return fmt.Errorf("rig: block devices %s did not appear (have: %s): %w", strings.Join(names, " "), strings.Join(strings.Fields(string(out)), " "), err)
	}
	return nil
}

// ConsoleLog returns the guest console so far.
func (vm *VM) ConsoleLog() string {
	b, _ := os.ReadFile(filepath.Join(vm.dir, "console.log"))
	return string(b)
}

// Dir is the run directory (disk images, console.log).
func (vm *VM) Dir() string { return vm.dir }

// Close powers the guest off, kills QEMU if it is still running after a
// few seconds, and removes the run directory.
func (vm *VM) Close() error {
	if vm.closed {
		return nil
	}
	vm.closed = true
	if vm.qmp != nil {
		vm.qmp.close()
	}
	if vm.proc != nil {
		if vm.cmd != nil {
			vm.cmd.SetWriteDeadline(time.Now().Add(time.Second))
			vm.cmd.Write([]byte("POWEROFF\n"))
		}
		select {
		case <-vm.proc.Done():
		case <-time.After(5 * time.Second):
		}
		vm.proc.Kill()
	}
	if vm.cmd != nil {
		vm.cmd.Close()
	}
	if vm.console != nil {
		vm.console.Close()
	}
	return os.RemoveAll(vm.dir)
}

// BuildStatic builds the Go main package pkg as a static, stripped binary
// (CGO_ENABLED=0, -s -w: a smaller initramfs boots faster under TCG) at
// out, for the guest.
func BuildStatic(ctx context.Context, pkg, out string) error {
	env := append(os.Environ(), "CGO_ENABLED=0")
	err := execx.Cmd{Name: "go", Args: []string{"build", "-trimpath", "-ldflags=-s -w", "-o", out, pkg}, Env: env, Timeout: 10 * time.Minute}.Run(ctx)
	if err != nil {
		return fmt.Errorf("rig: build %s: %w", pkg, err)
	}
	return nil
}

// serialScript prints "name serial" for every guest block device: the
// serial from SCSI VPD page 0x80 (SATA through libata, SCSI, virtio-scsi)
// or the NVMe controller's serial attribute.
const serialScript = `for d in /sys/block/*; do
	n=${d##*/}; s=
	if [ -r "$d/device/vpd_pg80" ]; then
		s=$(dd if="$d/device/vpd_pg80" bs=1 skip=4 2>/dev/null | tr -d '\000')
	elif [ -r "$d/device/serial" ]; then
		s=$(cat "$d/device/serial")
	fi
	echo "$n" $s
done`

// BlockBySerial maps each disk serial to its guest block device name
// (sda, nvme0n1): names depend on probe order, serials do not.
func (vm *VM) BlockBySerial(ctx context.Context) (map[string]string, error) {
	out, err := vm.MustExec(ctx, 30*time.Second, serialScript)
	if err != nil {
		return nil, err
	}
	return parseSerials(out), nil
}

func parseSerials(out []byte) map[string]string {
	m := map[string]string{}
	for _, l := range strings.Split(string(out), "\n") {
		f := strings.Fields(l)
		if len(f) == 2 {
			m[f[1]] = f[0]
		}
	}
	return m
}
