package smart

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/diskwatch/diskwatch/collectors"
	"github.com/diskwatch/diskwatch/collectors/hostroot"
	"github.com/diskwatch/diskwatch/collectors/model"
	"github.com/diskwatch/diskwatch/collectors/smart/ata"
	"github.com/diskwatch/diskwatch/collectors/smart/passthrough"
	"github.com/diskwatch/diskwatch/collectors/smartctl"
)

// DriveDBPaths are where smartmontools keeps its drive database, the
// updated copy first (as smartctl looks them up).
var DriveDBPaths = []string{"/var/lib/smartmontools/drivedb/drivedb.h", "/usr/share/smartmontools/drivedb.h"}

// Fallback reads a device the native layer could not: smartctl's Read.
type Fallback func(ctx context.Context, dev, devType string) (model.Disk, error)

// Collector is the native SMART collector.
type Collector struct {
	FS hostroot.FS
	// Devices to read; empty means discover them (Discover).
	Devices []string
	Standby Standby
	// Timeout bounds each command sent to a disk (default 10 s).
	Timeout time.Duration
	// Fallback, when set, reads devices the native layer cannot (it is
	// smartctl.Read by default in New; nil disables it).
	Fallback Fallback
	// State keeps standby skip counts across cycles (nil: a fresh state
	// per Collect).
	State *State
	Log   zerolog.Logger
	// Parallel is how many disks are read at once (default 4).
	Parallel int

	dbOnce sync.Once
	db     *ata.DriveDB
}

// New returns a collector reading through fs with the default policy:
// auto-discovery, -n standby, smartctl as the fallback.
func New(fs hostroot.FS) *Collector {
	return &Collector{FS: fs, Standby: Standby{Mode: "standby"}, Fallback: smartctl.Read, State: &State{}, Log: zerolog.Nop()}
}

// DriveDB loads smartmontools' drive database through the host root, once.
// It is nil when smartmontools is not installed (the built-in attribute
// table applies).
func (c *Collector) DriveDB() *ata.DriveDB {
	c.dbOnce.Do(func() {
		for _, p := range DriveDBPaths {
			b, err := c.FS.ReadFile(c.FS.Path(p))
			if err != nil {
				continue
			}
			db, err := ata.ParseDriveDB(b)
			if err != nil {
				c.Log.Warn().Err(err).Str("file", p).Msg("drive database not usable; using the built-in attribute table")
				continue
			}
			c.db = db
			c.Log.Debug().Str("file", p).Str("version", db.Version).Int("entries", len(db.Entries)).Msg("drive database loaded")
			return
		}
	})
	return c.db
}

// Collect implements collectors.Collector.
//
// Skipped devices are logged at debug level to c.Log, or, when c.Log is
// the no-op logger, to the logger carried by ctx (zerolog.Ctx): a command
// run with --verbose that puts its logger in the context shows them.
func (c *Collector) Collect(ctx context.Context, out *model.Snapshot) error {
	if c.Log.GetLevel() == zerolog.Disabled {
		c.Log = *zerolog.Ctx(ctx)
	}
	var targets []Target
	var errs []error
	if len(c.Devices) == 0 {
		ts, skipped, err := Discover(ctx, c.FS, c.Log)
		if err != nil {
			if hostroot.IsNotExist(err) {
				return fmt.Errorf("smart: %w", collectors.ErrAbsent)
			}
			return err
		}
		for _, s := range skipped {
			c.Log.Debug().Str("device", model.Clean(s.Name)).Str("reason", s.Reason).Msg("smart: skipped")
		}
		for _, t := range ts {
			if !c.FS.Exists(c.FS.Dev(t.Name)) {
				// A sysfs-only fixture root, or a node udev has not made.
				c.Log.Debug().Str("device", model.Clean(t.Name)).Str("reason", "no device node under "+c.FS.Dev()).Msg("smart: skipped")
				continue
			}
			targets = append(targets, t)
		}
	} else {
		for _, d := range c.Devices {
			t, err := TargetFor(c.FS, d)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			targets = append(targets, t)
		}
	}
	if len(targets) == 0 && len(errs) == 0 {
		return fmt.Errorf("smart: no disks found: %w", collectors.ErrAbsent)
	}
	state := c.State
	if state == nil {
		state = &State{}
	}
	par := c.Parallel
	if par <= 0 {
		par = 4
	}
	disks := make([]*model.Disk, len(targets))
	derrs := make([]error, len(targets))
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			disks[i], derrs[i] = c.ReadTarget(ctx, t, state.Skipped(t.Path))
			if disks[i] != nil {
				state.Record(t.Path, disks[i].Skipped != "")
			}
		}()
	}
	wg.Wait()
	for i := range targets {
		if disks[i] != nil {
			out.Disks = append(out.Disks, *disks[i])
		}
		if derrs[i] != nil {
			errs = append(errs, derrs[i])
		}
	}
	return errors.Join(errs...)
}

// permissionError marks a failure to open a device for lack of privilege.
type permissionError struct{ err error }

func (e permissionError) Error() string {
	return e.err.Error() + " (diskwatch needs root for SMART, or CAP_SYS_RAWIO for ATA/SCSI and CAP_SYS_ADMIN for NVMe, with read access to the disk nodes)"
}
func (e permissionError) Is(target error) bool { return target == collectors.ErrPermission }
func (e permissionError) Unwrap() error        { return e.err }

// ReadTarget reads one disk natively, falling back to smartctl when the
// native layer cannot. It returns a record when anything was learned
// (even with an error).
func (c *Collector) ReadTarget(ctx context.Context, t Target, skippedBefore int) (*model.Disk, error) {
	r := &Reader{Timeout: c.Timeout, Standby: c.Standby, SkippedBefore: skippedBefore}
	if t.Protocol == "ata" {
		r.DB = c.DriveDB() // attribute names and formats: ATA only
	}
	return c.read(ctx, r, t)
}

func (c *Collector) read(ctx context.Context, r *Reader, t Target) (*model.Disk, error) {
	d := &model.Disk{Device: model.DeviceInfo{Path: t.Path, Name: t.Name, Protocol: t.Protocol, Via: t.Via}}
	dev, err := passthrough.Open(c.FS.Dev(t.Name))
	if err != nil {
		err = fmt.Errorf("smart %s: %w", model.Clean(t.Path), err)
		if errors.Is(err, fs.ErrPermission) {
			return nil, permissionError{err}
		}
		return nil, err
	}
	defer dev.Close()
	var rerr error
	switch t.Protocol {
	case "nvme":
		rerr = r.ReadNVMe(ctx, dev, d)
	case "ata":
		rerr = r.ReadATA(ctx, dev, d)
		if errors.Is(rerr, ErrNotATA) && t.USB {
			c.Log.Debug().Str("device", t.Path).Err(rerr).Msg("smart: bridge does not pass ATA commands; reading as SCSI")
			d = &model.Disk{Device: model.DeviceInfo{Path: t.Path, Name: t.Name, Protocol: "scsi", Via: "scsi"}}
			rerr = r.ReadSCSI(ctx, dev, d)
		}
	default:
		rerr = r.ReadSCSI(ctx, dev, d)
	}
	if rerr == nil {
		return d, nil
	}
	if errors.Is(rerr, fs.ErrPermission) {
		return nil, permissionError{fmt.Errorf("smart %s: %w", model.Clean(t.Path), rerr)}
	}
	if c.Fallback != nil {
		devType := ""
		switch t.Protocol {
		case "nvme":
			devType = "nvme"
		case "ata":
			devType = "sat"
		}
		if t.USB {
			devType = "" // smartctl knows bridges by USB id (usbjmicron, usbcypress, ...)
		}
		fd, ferr := c.Fallback(ctx, t.Path, devType)
		switch {
		case ferr == nil:
			fd.Errors = append(fd.Errors, "native read failed, read through smartctl: "+rerr.Error())
			return &fd, nil
		case errors.Is(ferr, smartctl.ErrNotInstalled):
		default:
			return nil, fmt.Errorf("smart %s: %w (smartctl fallback: %v)", model.Clean(t.Path), rerr, ferr)
		}
	}
	var pe *passthrough.Error
	if errors.As(rerr, &pe) {
		return nil, fmt.Errorf("smart: %w", rerr) // it names the device already
	}
	return nil, fmt.Errorf("smart %s: %w", model.Clean(t.Path), rerr)
}
