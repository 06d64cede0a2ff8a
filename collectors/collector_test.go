package collectors

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"testing"
	"time"

	"github.com/diskwatch/diskwatch/collectors/model"
)

type fn func(ctx context.Context, out *model.Snapshot) error

func (f fn) Collect(ctx context.Context, out *model.Snapshot) error { return f(ctx, out) }

func TestRunStates(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	set := []Named{
		{Name: "ok", Collector: fn(func(_ context.Context, o *model.Snapshot) error {
			o.Arrays = append(o.Arrays, model.Array{Name: "md0"})
			return nil
		})},
		{Name: "absent", Collector: fn(func(context.Context, *model.Snapshot) error {
			return fmt.Errorf("no mdstat: %w", ErrAbsent)
		})},
		{Name: "partial", Collector: fn(func(_ context.Context, o *model.Snapshot) error {
			o.Arrays = append(o.Arrays, model.Array{Name: "md1"})
			return errors.Join(errors.New("md2: bad"), fmt.Errorf("md3: %w", fs.ErrPermission))
		})},
		{Name: "failed", Collector: fn(func(context.Context, *model.Snapshot) error { return errors.New("boom") })},
		{Name: "panics", Collector: fn(func(context.Context, *model.Snapshot) error { panic("oops") })},
		{Name: "hangs", Timeout: 50 * time.Millisecond, Collector: fn(func(ctx context.Context, _ *model.Snapshot) error {
			select {} // ignores ctx on purpose: Run must not wait for it
		})},
	}
	snap := Run(context.Background(), now, set)
	if !snap.Time.Equal(now) {
		t.Errorf("time = %v", snap.Time)
	}
	want := map[string]string{"ok": "ok", "absent": "absent", "partial": "partial", "failed": "failed", "panics": "failed", "hangs": "failed"}
	for _, s := range snap.Sources {
		if want[s.Name] != s.State {
			t.Errorf("%s: state %q, want %q (%v)", s.Name, s.State, want[s.Name], s.Errors)
		}
		if s.Name == "partial" && (len(s.Errors) != 2 || !s.PermissionDenied) {
			t.Errorf("partial: errors %v perm %v", s.Errors, s.PermissionDenied)
		}
	}
	if len(snap.Sources) != len(set) || len(snap.Arrays) != 2 || snap.Arrays[0].Name != "md0" {
		t.Errorf("merged snapshot wrong: %+v", snap)
	}
}

func TestSameDiskTwoWaysIsOneRecord(t *testing.T) {
	dev := model.DeviceInfo{Path: "/dev/sda", Model: "M", Serial: "S1"}
	viaSmartctl := dev
	viaSmartctl.Path, viaSmartctl.Via = "/dev/bus/0", "megaraid,0"
	set := []Named{
		{Name: "smart", Collector: fn(func(_ context.Context, o *model.Snapshot) error {
			o.Disks = append(o.Disks, model.Disk{Device: dev}, model.Disk{Device: model.DeviceInfo{Path: "/dev/sdb", Serial: "S2"}})
			return nil
		})},
		{Name: "smartctl", Collector: fn(func(_ context.Context, o *model.Snapshot) error {
			o.Disks = append(o.Disks, model.Disk{Device: viaSmartctl, SMARTAvailable: true})
			return nil
		})},
	}
	snap := Run(context.Background(), time.Time{}, set)
	if len(snap.Disks) != 2 {
		t.Fatalf("%d disks: %+v", len(snap.Disks), snap.Disks)
	}
	if !snap.Disks[0].SMARTAvailable || snap.Disks[0].Device.Via != "megaraid,0" {
		t.Errorf("the record with SMART data should win: %+v", snap.Disks[0])
	}
}

// hangs never returns, whatever its context says (a read stuck in the
// kernel).
type hangs struct{}

func (hangs) Collect(context.Context, *model.Snapshot) error { select {} }

// A collector that ignores its deadline is abandoned at it: it counts as
// failed, and the concurrency slot it held goes to the next collector.
func TestHungCollectorFreesItsSlot(t *testing.T) {
	sensor := func(ctx context.Context, out *model.Snapshot) error {
		out.Sensors = append(out.Sensors, model.Sensor{ID: "hwmon:t1"})
		return nil
	}
	set := []Named{
		{Name: "stuck1", Collector: hangs{}, Timeout: 200 * time.Millisecond},
		{Name: "stuck2", Collector: hangs{}, Timeout: 200 * time.Millisecond},
		{Name: "hwmon", Collector: fn(sensor), Timeout: time.Second},
	}
	start := time.Now()
	parts := RunEach(context.Background(), set, 1)
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("took %s: a hung collector held its slot", took)
	}
	for i, want := range []string{model.SourceFailed, model.SourceFailed, model.SourceOK} {
		if st := parts[i].Sources[0]; st.State != want {
			t.Errorf("%s: %s, want %s (%v)", st.Name, st.State, want, st.Errors)
		}
	}
	if len(parts[2].Sensors) != 1 {
		t.Error("the sensor after the hung collectors was not read")
	}
}
