// Package collectors defines the one-method Collector interface every
// source implements, and Run, which runs a set of them concurrently with
// per-collector deadlines.
package collectors

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"time"

	"github.com/diskwatch/diskwatch/collectors/model"
)

// ErrAbsent is returned (possibly wrapped) by a collector whose source does
// not exist on this host: no md arrays, no UPS configured. It is not a
// failure.
var ErrAbsent = errors.New("source absent on this host")

// ErrPermission marks a failure caused by missing privileges, so the report
// can say once how to fix it.
var ErrPermission = errors.New("permission denied")

// Collector reads one source. Collect fills its own section of out. It
// returns ErrAbsent when the source is not present, or the per-subject
// errors joined (errors.Join) while keeping every subject it could read:
// a partial result is still a result.
type Collector interface {
	Collect(ctx context.Context, out *model.Snapshot) error
}

// Named pairs a collector with the name it is reported and configured
// under.
type Named struct {
	Name      string
	Collector Collector
	// Timeout bounds one Collect call; 0 means 30 s.
	Timeout time.Duration
}

// Run runs every collector concurrently and merges their sections into one
// snapshot taken at now. A collector that outlives its timeout is reported
// as failed and its late result is dropped.
func Run(ctx context.Context, now time.Time, set []Named) *model.Snapshot {
	return Merge(now, RunEach(ctx, set, 0))
}

// RunEach runs the collectors, at most limit at a time (0: all at once),
// and returns each one's section with its status, in the order of set.
// This is the one place a collector's timeout and panic are contained: a
// collector's timeout starts when it gets its slot.
func RunEach(ctx context.Context, set []Named, limit int) []*model.Snapshot {
	parts := make([]*model.Snapshot, len(set))
	var sem chan struct{}
	if limit > 0 {
		sem = make(chan struct{}, limit)
	}
	var wg sync.WaitGroup
	for i, c := range set {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if sem != nil {
				select {
				case sem <- struct{}{}:
					defer func() { <-sem }()
				case <-ctx.Done():
					parts[i] = &model.Snapshot{Sources: []model.SourceStatus{{Name: c.Name, State: model.SourceFailed,
						Errors: []string{fmt.Sprintf("collector %s: waiting for a slot: %v", c.Name, ctx.Err())}}}}
					return
				}
			}
			parts[i] = runOne(ctx, c)
		}()
	}
	wg.Wait()
	return parts
}

// Merge combines collectors' sections into one snapshot taken at now: one
// record per disk, sorted.
func Merge(now time.Time, parts []*model.Snapshot) *model.Snapshot {
	snap := &model.Snapshot{Time: now}
	for _, p := range parts {
		snap.Merge(p)
	}
	snap.Disks = dedupDisks(snap.Disks)
	snap.Sort()
	return snap
}

// dedupDisks keeps one record per disk identity when the same drive was
// reached two ways (natively and through smartctl, or through a RAID
// controller and as a plain SCSI device): the record with SMART data wins,
// then the one from the collector listed first.
func dedupDisks(ds []model.Disk) []model.Disk {
	seen := map[string]int{}
	out := ds[:0:0]
	for _, d := range ds {
		id := d.Device.ID()
		i, dup := seen[id]
		if !dup {
			seen[id] = len(out)
			out = append(out, d)
			continue
		}
		if !out[i].SMARTAvailable && d.SMARTAvailable {
			out[i] = d
		}
	}
	return out
}

func runOne(ctx context.Context, c Named) *model.Snapshot {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now() // duration measurement only; never used as a reading time
	type result struct {
		snap *model.Snapshot
		err  error
	}
	done := make(chan result, 1)
	go func() {
		out := &model.Snapshot{}
		var err error
		func() {
			defer func() {
				if r := recover(); r != nil {
					err = fmt.Errorf("collector %s panicked: %v", c.Name, r)
				}
			}()
			err = c.Collector.Collect(ctx, out)
		}()
		done <- result{out, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-ctx.Done():
		// Abandoned: its goroutine ends when its reads return, and
		// the slot it held is freed now (RunEach).
		r = result{&model.Snapshot{}, fmt.Errorf("collector %s: no result within %s: %w", c.Name, timeout, ctx.Err())}
	}
	st := model.SourceStatus{Name: c.Name, State: model.SourceOK, Duration: time.Since(start)}
	switch {
	case r.err == nil:
	case errors.Is(r.err, ErrAbsent) && !hasData(r.snap):
		st.State = model.SourceAbsent
	default:
		st.Errors = splitJoined(r.err)
		st.PermissionDenied = errors.Is(r.err, ErrPermission) || errors.Is(r.err, fs.ErrPermission)
		if hasData(r.snap) && !errors.Is(r.err, context.DeadlineExceeded) {
			st.State = model.SourcePartial
		} else {
			// A hung or timed-out read counts as a failure even when
			// the collector kept what it had read before (mdstat's
			// arrays without their sysfs details): it is partly blind,
			// and the daemon's self-watch must see it.
			st.State = model.SourceFailed
		}
	}
	r.snap.Sources = append(r.snap.Sources, st)
	return r.snap
}

func hasData(s *model.Snapshot) bool {
	return len(s.Arrays)+len(s.Disks)+len(s.UPS)+len(s.Sensors)+len(s.Events) > 0
}

// splitJoined flattens an errors.Join tree into messages.
func splitJoined(err error) []string {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []string
		for _, e := range j.Unwrap() {
			if e != nil {
				out = append(out, splitJoined(e)...)
			}
		}
		return out
	}
	return []string{err.Error()}
}
