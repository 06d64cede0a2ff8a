// Package kmsg watches the kernel log (/dev/kmsg) for disk trouble: ATA
// errors and timeouts, SCSI/block I/O and medium errors, NVMe timeouts and
// controller resets, md member failures, and the event lines of 3ware
// (3w-9xxx, 3w-sas, 3w-xxxx) and MegaRAID (megaraid_sas) controllers.
// Each recognised line becomes a model.KernelEvent attributed to its disk
// (ataN -> sdX through sysfs links, sdX -> WWN or model and serial, a
// controller's port -> "twa0 port 1").
//
// On the live host /dev/kmsg is a character device returning one record
// per read(2), EAGAIN at the end and EPIPE when records were overwritten;
// under --root DIR, DIR/dev/kmsg is a regular file holding the same
// records one after the other. The collector tails from the end on its
// first start and remembers the last sequence number it handled in a
// small state file, so old lines never alert again after a restart.
package kmsg

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/diskwatch/diskwatch/collectors"
	"github.com/diskwatch/diskwatch/collectors/hostroot"
	"github.com/diskwatch/diskwatch/collectors/model"
)

// Options configure a Collector.
type Options struct {
	// StateDir is where the position (last sequence number) is kept. Empty
	// means no state: every record present is read on every Collect (for
	// fixture roots and tests).
	StateDir string
	// Now is the clock (required).
	Now func() time.Time
	// Keep is how long recognised events stay in the snapshot across
	// cycles of one process, so a burst that spans cycles is seen whole.
	// 0 means one hour.
	Keep time.Duration
	// MaxRecords bounds the records read in one Collect (a flood must not
	// stall the cycle); 0 means 100000.
	MaxRecords int
}

// Collector reads the kernel log. It is safe for use by one cycle at a
// time; it keeps /dev/kmsg open between cycles.
type Collector struct {
	fs   hostroot.FS
	opt  Options
	mu   sync.Mutex
	fd   int // live character device, -1 when closed
	st   *state
	kept []model.KernelEvent
}

// New returns a kernel-log collector for the host root.
func New(fs hostroot.FS, opt Options) *Collector {
	if opt.Keep <= 0 {
		opt.Keep = time.Hour
	}
	if opt.MaxRecords <= 0 {
		opt.MaxRecords = 100000
	}
	if opt.Now == nil {
		panic("kmsg.New: Options.Now is required")
	}
	return &Collector{fs: fs, opt: opt, fd: -1}
}

// Close releases the open /dev/kmsg descriptor.
func (c *Collector) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fd >= 0 {
		err := syscall.Close(c.fd)
		c.fd = -1
		return err
	}
	return nil
}

// Collect reads the records that appeared since the last position and adds
// the recognised ones (plus those of the last Keep) to out.Events.
func (c *Collector) Collect(ctx context.Context, out *model.Snapshot) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.opt.Now()
	path := c.fs.Dev("kmsg")
	var errs []error

	bootID, _ := c.fs.ReadString(c.fs.Proc("sys", "kernel", "random", "boot_id"))
	if c.st == nil && c.opt.StateDir != "" {
		st, err := loadState(c.opt.StateDir)
		if err != nil {
			errs = append(errs, err)
		}
		c.st = st // nil when there is none: first start
	}
	// No saved position: tail from the end. No state directory at all
	// (fixture roots, tests): the first read takes every record. Within
	// one process the position is kept in memory either way.
	first := c.opt.StateDir != "" && c.st == nil
	all := c.opt.StateDir == "" && c.st == nil
	var after uint64
	if c.st != nil {
		if c.st.BootID != bootID {
			all = true // rebooted: every record of this boot is new
		} else {
			after = c.st.Seq
		}
	}

	recs, lost, err := c.read(ctx, path)
	if err != nil {
		if hostroot.IsNotExist(err) && len(c.kept) == 0 {
			return fmt.Errorf("kernel log %s: %w", path, collectors.ErrAbsent)
		}
		errs = append(errs, fmt.Errorf("kernel log %s: %w", path, err))
	}
	if lost {
		errs = append(errs, fmt.Errorf("kernel log %s: records were overwritten before they were read (log flood); some lines are lost", path))
	}
	// A position beyond every record means the log was reset without a
	// new boot id (a fixture replaced): read it all.
	if !all && len(recs) > 0 && recs[len(recs)-1].Seq < after {
		all = true
	}
	boot := bootTime(c.fs, now)
	res := newResolver(ctx, c.fs)
	maxSeq := after
	var fresh []model.KernelEvent
	for _, r := range recs {
		if r.Seq > maxSeq || all {
			if r.Seq > maxSeq {
				maxSeq = r.Seq
			}
		}
		if first || (!all && r.Seq <= after) {
			continue
		}
		m, ok := Classify(r.Message)
		if !ok {
			continue
		}
		ev := res.event(r, m)
		ev.Time = boot.Add(time.Duration(r.Usec) * time.Microsecond)
		if boot.IsZero() {
			ev.Time = now
		}
		fresh = append(fresh, ev)
	}
	if all && len(recs) > 0 {
		maxSeq = recs[len(recs)-1].Seq
	}
	ns := &state{BootID: bootID, Seq: maxSeq}
	if c.opt.StateDir != "" && (c.st == nil || *c.st != *ns) {
		if err := saveState(c.opt.StateDir, ns); err != nil {
			errs = append(errs, err)
		}
	}
	c.st = ns
	// Keep recent events across cycles of this process.
	cut := now.Add(-c.opt.Keep)
	kept := c.kept[:0]
	for _, e := range c.kept {
		if !e.Time.Before(cut) {
			kept = append(kept, e)
		}
	}
	c.kept = append(kept, fresh...)
	out.Events = append(out.Events, c.kept...)
	return errors.Join(errs...)
}

// read returns the records of the kernel log at path, and whether the
// kernel reported records lost (EPIPE).
func (c *Collector) read(ctx context.Context, path string) ([]Record, bool, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, false, err
	}
	if st.Mode()&os.ModeCharDevice == 0 {
		b, err := c.fs.ReadFile(path)
		if err != nil {
			return nil, false, err
		}
		var out []Record
		for i, s := range SplitRecords(b) {
			if i >= c.opt.MaxRecords {
				break
			}
			r, err := ParseRecord(s)
			if err != nil {
				continue // a stray line loses nothing else
			}
			out = append(out, r)
		}
		return out, false, nil
	}
	if c.fd < 0 {
		fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
		if err != nil {
			if errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM) {
				return nil, false, fmt.Errorf("open: %w (%w)", err, collectors.ErrPermission)
			}
			return nil, false, fmt.Errorf("open: %w", err)
		}
		c.fd = fd
	}
	return readDevice(ctx, c.fd, c.opt.MaxRecords)
}

// readDevice reads records from an open non-blocking /dev/kmsg until EAGAIN.
func readDevice(ctx context.Context, fd, max int) ([]Record, bool, error) {
	buf := make([]byte, 16384)
	var out []Record
	lost := false
	for n := 0; n < max; n++ {
		if n%256 == 0 && ctx.Err() != nil {
			return out, lost, ctx.Err()
		}
		k, err := syscall.Read(fd, buf)
		switch {
		case errors.Is(err, syscall.EAGAIN):
			return out, lost, nil
		case errors.Is(err, syscall.EPIPE):
			lost = true
			continue
		case errors.Is(err, syscall.EINTR):
			continue
		case err != nil:
			return out, lost, fmt.Errorf("read: %w", err)
		case k == 0:
			return out, lost, io.ErrUnexpectedEOF
		}
		r, perr := ParseRecord(string(buf[:k]))
		if perr != nil {
			continue
		}
		out = append(out, r)
	}
	return out, lost, nil
}

// bootTime is now minus the uptime in /proc/uptime; zero when unknown.
func bootTime(fs hostroot.FS, now time.Time) time.Time {
	s, err := fs.ReadString(fs.Proc("uptime"))
	if err != nil {
		return time.Time{}
	}
	f := strings.Fields(s)
	if len(f) == 0 {
		return time.Time{}
	}
	up, err := strconv.ParseFloat(f[0], 64)
	if err != nil || up < 0 {
		return time.Time{}
	}
	return now.Add(-time.Duration(up * float64(time.Second)))
}
