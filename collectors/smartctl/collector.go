package smartctl

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/diskwatch/diskwatch/collectors"
	"github.com/diskwatch/diskwatch/collectors/hostroot"
	"github.com/diskwatch/diskwatch/collectors/model"
)

// Device is one device the configuration asks to read through smartctl.
type Device struct {
	// Path is the device node smartctl opens: /dev/sda, /dev/twa0,
	// /dev/bus/0.
	Path string
	// Type is smartctl's -d argument ("" = smartctl's choice):
	// "megaraid,N", "3ware,N", "areca,N", "cciss,N", "sat", "usbjmicron".
	Type string
}

// Collector reads the configured devices through smartctl. It reads only
// what the configuration lists: discovery is the native SMART collector's.
type Collector struct {
	fs      hostroot.FS
	devices []Device
	backend Backend
	// parallel bounds how many smartctl processes run at once.
	parallel int
}

// New returns a collector for devices, run with b.
func New(fs hostroot.FS, devices []Device, b Backend) *Collector {
	return &Collector{fs: fs, devices: devices, backend: b, parallel: 4}
}

// Collect runs smartctl on every configured device. Each device's failure
// is reported with its path and the others go on; a disk in standby is
// listed as skipped, not read.
func (c *Collector) Collect(ctx context.Context, out *model.Snapshot) error {
	if len(c.devices) == 0 {
		return fmt.Errorf("smartctl: no devices configured: %w", collectors.ErrAbsent)
	}
	if !c.fs.IsHost() {
		// smartctl talks to the live host's devices; a fixture root has none.
		return fmt.Errorf("smartctl: reads devices of the live host only, not of --root %s: %w", c.fs.Root(), collectors.ErrAbsent)
	}
	disks := make([]*model.Disk, len(c.devices))
	errs := make([]error, len(c.devices))
	sem := make(chan struct{}, max(c.parallel, 1))
	var wg sync.WaitGroup
	for i, dev := range c.devices {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				errs[i] = fmt.Errorf("smartctl %s: %w", model.Clean(dev.Path), ctx.Err())
				return
			}
			defer func() { <-sem }()
			d, err := c.backend.Read(ctx, dev.Path, dev.Type)
			if err != nil {
				if strings.Contains(strings.ToLower(err.Error()), "permission denied") {
					err = permissionError{err}
				}
				errs[i] = err
				return
			}
			disks[i] = &d
		}()
	}
	wg.Wait()
	for _, d := range disks {
		if d != nil {
			out.Disks = append(out.Disks, *d)
		}
	}
	for _, err := range errs {
		if errors.Is(err, ErrNotInstalled) {
			// Said once, not per device.
			return fmt.Errorf("smartctl: %w; %d configured device(s) not read", ErrNotInstalled, len(c.devices))
		}
	}
	return errors.Join(errs...)
}

// permissionError marks a device smartctl could not open for lack of
// privileges, so the report can say once how to fix it.
type permissionError struct{ err error }

func (e permissionError) Error() string { return e.err.Error() }

func (e permissionError) Is(target error) bool { return target == collectors.ErrPermission }

func (e permissionError) Unwrap() error { return e.err }
