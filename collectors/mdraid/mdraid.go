// Package mdraid collects Linux software RAID state from /proc/mdstat and
// /sys/block/mdN/md, finds disks that carry an array's superblock but were
// never re-added, and checks that every member of a / or /boot RAID1 can
// boot.
package mdraid

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/diskwatch/diskwatch/collectors"
	"github.com/diskwatch/diskwatch/collectors/hostroot"
	"github.com/diskwatch/diskwatch/collectors/model"
)

// Collector reads md arrays through a host root.
type Collector struct {
	FS hostroot.FS
	// ReadTimeout bounds each read of a disk's first or superblock
	// sectors (default 5 s).
	ReadTimeout time.Duration
	// Asleep, when set, is asked before a disk's sectors are read (boot
	// sectors, a stray member's superblock): a disk it says is asleep
	// under the standby policy is not read this cycle. Kernel disk name
	// in, as smart.Standby.Asleep.
	Asleep func(ctx context.Context, disk string) (bool, string)
}

// asleep asks the standby policy about the disk under block device name
// (a partition asks about its disk).
func (c *Collector) asleep(ctx context.Context, name string) (bool, string) {
	if c.Asleep == nil {
		return false, ""
	}
	return c.Asleep(ctx, c.parentDisk(name))
}

// New returns a collector reading through fs.
func New(fs hostroot.FS) *Collector { return &Collector{FS: fs} }

// Collect implements collectors.Collector.
func (c *Collector) Collect(ctx context.Context, out *model.Snapshot) error {
	conf := c.readMDAdmConf()
	out.MDConf = append(out.MDConf, conf...)
	data, err := c.FS.ReadFile(c.FS.Proc("mdstat"))
	if hostroot.IsNotExist(err) && len(conf) == 0 {
		return fmt.Errorf("%s: %w", c.FS.Proc("mdstat"), collectors.ErrAbsent)
	}
	if err != nil && !hostroot.IsNotExist(err) {
		return fmt.Errorf("read mdstat: %w", err)
	}
	arrays, perr := ParseMDStat(data)
	var errs []error
	if perr != nil {
		errs = append(errs, perr)
	}
	if len(arrays) == 0 && perr == nil && len(conf) == 0 {
		return fmt.Errorf("no md arrays in %s: %w", c.FS.Proc("mdstat"), collectors.ErrAbsent)
	}
	// What mdstat says is kept whatever happens to the details read
	// after it (sysfs, candidate disks, boot sectors): they run on a copy,
	// and if they are not done shortly before the collector's deadline,
	// mdstat's arrays go out alone — a degraded array still alerts while a
	// hung sysfs read is being waited for.
	basic := cloneArrays(arrays)
	type res struct {
		arrays []model.Array
		errs   []error
	}
	ch := make(chan res, 1)
	go func() {
		var errs []error
		for i := range arrays {
			if err := c.readSysfs(&arrays[i]); err != nil {
				errs = append(errs, err)
			}
		}
		if err := c.findCandidates(ctx, arrays); err != nil {
			errs = append(errs, err)
		}
		if err := c.checkBoot(ctx, arrays); err != nil {
			errs = append(errs, err)
		}
		ch <- res{arrays, errs}
	}()
	var cut <-chan time.Time
	if dl, ok := ctx.Deadline(); ok {
		margin := min(time.Until(dl)/10, time.Second)
		t := time.NewTimer(time.Until(dl) - margin)
		defer t.Stop()
		cut = t.C
	}
	select {
	case r := <-ch:
		out.Arrays = append(out.Arrays, r.arrays...)
		errs = append(errs, r.errs...)
	case <-cut:
		out.Arrays = append(out.Arrays, basic...)
		errs = append(errs, fmt.Errorf("sysfs details of the md arrays not read in time (mdstat's view is reported alone): %w", context.DeadlineExceeded))
	case <-ctx.Done():
		out.Arrays = append(out.Arrays, basic...)
		errs = append(errs, fmt.Errorf("sysfs details of the md arrays not read in time (mdstat's view is reported alone): %w", ctx.Err()))
	}
	return errors.Join(errs...)
}

// cloneArrays copies arrays deeply enough that filling in one copy leaves
// the other as it was.
func cloneArrays(as []model.Array) []model.Array {
	out := make([]model.Array, len(as))
	for i, a := range as {
		a.Members = append([]model.Member(nil), a.Members...)
		a.Candidates = append([]string(nil), a.Candidates...)
		out[i] = a
	}
	return out
}

func (c *Collector) timeout() time.Duration {
	if c.ReadTimeout > 0 {
		return c.ReadTimeout
	}
	return 5 * time.Second
}

// readSysfs adds what /sys/block/mdN/md says. Absent sysfs (an mdstat-only
// fixture, a container without /sys) is not an error.
func (c *Collector) readSysfs(a *model.Array) error {
	dir := c.FS.Sys("block", a.Name, "md")
	if !c.FS.Exists(dir) {
		return nil
	}
	var errs []error
	str := func(n string) string {
		s, err := c.FS.ReadString(filepath.Join(dir, n))
		if errors.Is(err, context.DeadlineExceeded) {
			errs = append(errs, fmt.Errorf("%s: %w", a.Name, err)) // hung; other read errors leave the field unknown, as before
		}
		return s
	}
	if s := str("array_state"); s != "" {
		a.ArrayState = s
		a.ReadOnly = s == "readonly" || s == "read-auto"
	}
	if s := str("level"); s != "" && a.Level == "" {
		a.Level = s
	}
	if v, err := strconv.Atoi(str("degraded")); err == nil {
		a.Degraded = v
	}
	if s := str("sync_action"); s != "" {
		if s != "idle" || a.SyncPending == "" {
			a.SyncAction = s
		}
	}
	a.LastSyncAction = str("last_sync_action")
	if v, err := strconv.ParseInt(str("mismatch_cnt"), 10, 64); err == nil {
		a.MismatchCount = v
	}
	if a.SyncAction != "" && a.SyncAction != "idle" && a.SyncPercent == 0 {
		// sync_completed is "done / total" in sectors.
		if d, t, ok := strings.Cut(str("sync_completed"), "/"); ok {
			dn, e1 := strconv.ParseFloat(strings.TrimSpace(d), 64)
			tn, e2 := strconv.ParseFloat(strings.TrimSpace(t), 64)
			if e1 == nil && e2 == nil && tn > 0 {
				a.SyncPercent = 100 * dn / tn
			}
		}
		if v, err := strconv.ParseFloat(str("sync_speed"), 64); err == nil && a.SyncSpeedKiBs == 0 {
			a.SyncSpeedKiBs = v
		}
	}
	if s := str("uuid"); s != "" {
		a.UUID = normUUID(s)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return errors.Join(append(errs, fmt.Errorf("%s: read sysfs members: %w", a.Name, err))...)
	}
	for _, e := range ents {
		name, ok := strings.CutPrefix(e.Name(), "dev-")
		if !ok {
			continue
		}
		mdir := filepath.Join(dir, e.Name())
		m := memberByName(a, name)
		if m == nil {
			a.Members = append(a.Members, model.Member{Name: name, Slot: -1, Errors: -1, BadBlocks: -1})
			m = &a.Members[len(a.Members)-1]
		}
		if s, err := c.FS.ReadString(filepath.Join(mdir, "state")); err == nil && s != "" {
			m.State = stateWords(s)
		} else if errors.Is(err, context.DeadlineExceeded) {
			errs = append(errs, fmt.Errorf("%s member %s: %w", a.Name, name, err))
			if m.HasState("faulty") {
				m.Faulty = true
			}
		}
		// A failed member that was unplugged keeps its md entry, but its
		// block device is gone from /sys/class/block (seen in the QEMU rig).
		if m.Faulty && c.FS.Exists(c.FS.Sys("class", "block")) && !c.FS.Exists(c.FS.Sys("class", "block", name)) {
			m.Detached = true
		}
		if m.Disk == "" && !m.Detached {
			m.Disk = c.parentDisk(name)
		}
		if m.Disk != "" {
			// The kernel's command timeout for the member's disk (SCSI
			// disks, SATA included); NVMe and virtio have none here.
			if v, err := c.FS.ReadInt(c.FS.Sys("block", m.Disk, "device", "timeout")); err == nil && v > 0 {
				m.CommandTimeoutS = int(v)
			}
		}
		if v, err := c.FS.ReadInt(filepath.Join(mdir, "slot")); err == nil {
			m.Slot = int(v)
		}
		if v, err := c.FS.ReadInt(filepath.Join(mdir, "errors")); err == nil {
			m.Errors = v
		}
		n, sectors, err1 := c.badBlocks(filepath.Join(mdir, "bad_blocks"))
		un, usectors, err2 := c.badBlocks(filepath.Join(mdir, "unacknowledged_bad_blocks"))
		switch {
		case err1 == nil:
			m.BadBlocks, m.BadSectors = n+un, sectors+usectors
		case !hostroot.IsNotExist(err1):
			errs = append(errs, fmt.Errorf("%s member %s: bad_blocks: %w", a.Name, name, err1))
		}
		_ = err2
	}
	return errors.Join(errs...)
}

// stateWords splits a member's sysfs state ("in_sync,write_error") into
// its words. NULs, spaces and other control characters separate words
// too, so that a stray byte cannot glue "write_error" to its neighbour
// and hide it.
func stateWords(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == 0 || unicode.IsSpace(r) || unicode.IsControl(r) })
}

// badBlocks reads a sysfs bad-block list ("sector length" per line).
func (c *Collector) badBlocks(path string) (entries, sectors int64, err error) {
	b, err := c.FS.ReadFile(path)
	if err != nil {
		return 0, 0, err
	}
	return ParseBadBlocks(b)
}

// ParseBadBlocks parses the md sysfs bad-block list format: one
// "first-sector length" pair per line.
func ParseBadBlocks(b []byte) (entries, sectors int64, err error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if len(f) != 2 {
			return entries, sectors, fmt.Errorf("bad_blocks: unreadable line %q", model.Clean(sc.Text()))
		}
		if _, err := strconv.ParseUint(f[0], 10, 64); err != nil {
			return entries, sectors, fmt.Errorf("bad_blocks: sector %q: %w", model.Clean(f[0]), err)
		}
		n, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil || n < 0 {
			return entries, sectors, fmt.Errorf("bad_blocks: length %q", model.Clean(f[1]))
		}
		entries++
		sectors += n
	}
	return entries, sectors, sc.Err()
}

func memberByName(a *model.Array, name string) *model.Member {
	for i := range a.Members {
		if a.Members[i].Name == name {
			return &a.Members[i]
		}
	}
	return nil
}

// normUUID turns any printed md UUID (mdadm's 8:8:8:8, blkid's 8-4-4-4-12)
// into 32 lower-case hex digits.
func normUUID(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.NewReplacer(":", "", "-", "", ".", "").Replace(s)
	if len(s) != 32 {
		return ""
	}
	for _, r := range s {
		if !strings.ContainsRune("0123456789abcdef", r) {
			return ""
		}
	}
	return s
}

var partRE = regexp.MustCompile(`^(.*?\D)(\d+)$`)

// parentDisk returns the whole disk holding block device name ("sdb" for
// "sdb1", "nvme0n1" for "nvme0n1p2"), or name itself for a whole disk.
func (c *Collector) parentDisk(name string) string {
	sysPath := c.FS.Sys("class", "block", name)
	if !c.FS.Exists(filepath.Join(sysPath, "partition")) {
		return name
	}
	if t, err := os.Readlink(sysPath); err == nil {
		// /sys/class/block/sdb1 -> ../../devices/.../block/sdb/sdb1
		return filepath.Base(filepath.Dir(t))
	}
	m := partRE.FindStringSubmatch(name)
	if m == nil {
		return name
	}
	p := m[1]
	if strings.HasSuffix(p, "p") && regexp.MustCompile(`\d$`).MatchString(strings.TrimSuffix(p, "p")) {
		p = strings.TrimSuffix(p, "p")
	}
	return p
}

// deviceSize returns a block device's size in bytes from sysfs.
func (c *Collector) deviceSize(name string) int64 {
	v, err := c.FS.ReadInt(c.FS.Sys("class", "block", name, "size"))
	if err != nil {
		return 0
	}
	return v * 512
}

// udevProps reads the udev database entry of a block device (E: lines).
func (c *Collector) udevProps(name string) map[string]string {
	dev, err := c.FS.ReadString(c.FS.Sys("class", "block", name, "dev"))
	if err != nil || dev == "" {
		return nil
	}
	b, err := c.FS.ReadFile(c.FS.Run("udev", "data", "b"+dev))
	if err != nil {
		return nil
	}
	props := map[string]string{}
	for _, l := range strings.Split(string(b), "\n") {
		if kv, ok := strings.CutPrefix(l, "E:"); ok {
			if k, v, ok := strings.Cut(kv, "="); ok {
				props[k] = v
			}
		}
	}
	return props
}

// superblockUUID finds the md array UUID carried by block device name:
// from udev's database when it has one (no disk I/O), else by reading the
// superblock itself.
func (c *Collector) superblockUUID(ctx context.Context, name string) (string, error) {
	if p := c.udevProps(name); p != nil && p["ID_FS_TYPE"] != "" {
		if p["ID_FS_TYPE"] != "linux_raid_member" {
			return "", ErrNoSuperblock
		}
		if u := normUUID(p["ID_FS_UUID"]); u != "" {
			return u, nil
		}
	}
	if asleep, mode := c.asleep(ctx, name); asleep {
		return "", fmt.Errorf("%s: in %s, not woken to read its md superblock: %w", name, mode, ErrNoSuperblock)
	}
	size := c.deviceSize(name)
	dev := c.FS.Dev(name)
	for _, o := range superblockOffsets(size) {
		n := 256
		if o.Version == "0.90" {
			n = 64
		}
		rctx, cancel := context.WithTimeout(ctx, c.timeout())
		b, err := c.FS.ReadAt(rctx, dev, o.Offset, n)
		cancel()
		if err != nil {
			return "", fmt.Errorf("%s: read md superblock (%s at %d): %w", name, o.Version, o.Offset, err)
		}
		sb, err := ParseSuperblock(o.Version, b)
		if err == nil {
			return sb.UUID, nil
		}
	}
	return "", ErrNoSuperblock
}

// skipCandidate reports block devices that can never be a stray md member.
var skipCandidate = regexp.MustCompile(`^(md|dm-|loop|ram|zram|sr|fd|nbd|zd)`)

// findCandidates looks, for every degraded array, for block devices that
// carry the array's UUID but are not members: the disk that was re-attached
// and never re-added. It reads superblocks only when an array is degraded.
func (c *Collector) findCandidates(ctx context.Context, arrays []model.Array) error {
	var degraded []*model.Array
	inUse := map[string]bool{}
	for i := range arrays {
		a := &arrays[i]
		for _, m := range a.Members {
			inUse[m.Name] = true // a faulty member is md.degraded's "remove" case
		}
		if isDegraded(a) {
			degraded = append(degraded, a)
		}
	}
	if len(degraded) == 0 {
		return nil
	}
	var errs []error
	for _, a := range degraded {
		if a.UUID != "" {
			continue
		}
		if p := c.udevProps(a.Name); p != nil && normUUID(p["MD_UUID"]) != "" {
			a.UUID = normUUID(p["MD_UUID"])
			continue
		}
		for _, m := range a.Members {
			if m.Faulty {
				continue
			}
			u, err := c.superblockUUID(ctx, m.Name)
			if err == nil {
				a.UUID = u
				break
			}
		}
	}
	ents, err := os.ReadDir(c.FS.Sys("class", "block"))
	if hostroot.IsNotExist(err) {
		return nil // no sysfs here (an mdstat-only root): nothing to scan
	}
	if err != nil {
		return fmt.Errorf("list block devices: %w", err)
	}
	for _, e := range ents {
		name := e.Name()
		if skipCandidate.MatchString(name) || inUse[name] {
			continue
		}
		if h, err := os.ReadDir(c.FS.Sys("class", "block", name, "holders")); err == nil && len(h) > 0 {
			continue // held by md, dm or another stack: in use
		}
		u, err := c.superblockUUID(ctx, name)
		if errors.Is(err, ErrNoSuperblock) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, a := range degraded {
			if a.UUID != "" && a.UUID == u {
				a.Candidates = append(a.Candidates, name)
			}
		}
	}
	for _, a := range degraded {
		sort.Strings(a.Candidates)
	}
	return errors.Join(errs...)
}

// isDegraded reports whether the array lacks redundancy it should have.
func isDegraded(a *model.Array) bool {
	if a.Activity == "inactive" {
		return false
	}
	return a.DisksDown > 0 || a.Degraded > 0
}
