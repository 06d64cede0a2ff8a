package mdraid

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/diskwatch/diskwatch/collectors/hostroot"
	"github.com/diskwatch/diskwatch/collectors/model"
)

// TestHungDeviceAmong256 is fault 12 of the trust issue: 256 block devices,
// one of which never answers (a FIFO: open blocks forever, as a dead disk
// can). The collection must finish within its per-read deadline, report
// the hung device, and still find the re-attached disk among the others.
func TestHungDeviceAmong256(t *testing.T) {
	r := reattachedRoot(t)
	for i := 0; i < 256; i++ {
		name := fmt.Sprintf("sdx%d", i)
		r.blockdev(name, fmt.Sprintf("65:%d", i), make([]byte, 8192), false)
	}
	hung := filepath.Join(r.dir, "dev", "sdx100")
	if err := syscall.Unlink(hung); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(hung, 0o600); err != nil {
		t.Fatal(err)
	}
	c := New(hostroot.New(r.dir))
	c.ReadTimeout = 300 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var snap model.Snapshot
	done := make(chan error, 1)
	go func() { done <- c.Collect(ctx, &snap) }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "sdx100") {
			t.Errorf("the hung device is not reported: %v", err)
		}
		if len(snap.Arrays) != 2 || len(snap.Arrays[0].Candidates) != 1 || snap.Arrays[0].Candidates[0] != "sdb1" {
			t.Errorf("results lost around the hung device: %+v", snap.Arrays)
		}
	case <-ctx.Done():
		t.Fatal("collection did not finish: a hung device stalled it")
	}
}

// A sysfs attribute that never answers (array_state a named pipe nobody
// writes to) costs the collector one read timeout, once: mdstat's degraded
// array still comes out, the error says the read hung (a timeout, which
// the daemon's self-watch counts as a failure), and the next run does not
// wait on the same path again.
func TestHungSysfsAttribute(t *testing.T) {
	r := newRoot(t)
	r.text("proc/mdstat", "Personalities : [raid1]\nmd0 : active raid1 sda1[0]\n      1048512 blocks super 1.2 [2/1] [U_]\n\nunused devices: <none>\n")
	r.text("sys/block/md0/md/level", "raid1\n")
	fifo := filepath.Join(r.dir, "sys/block/md0/md/array_state")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	c := New(hostroot.New(r.dir).WithReadTimeout(300 * time.Millisecond))
	for run := 0; run < 2; run++ {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		var snap model.Snapshot
		start := time.Now()
		err := c.Collect(ctx, &snap)
		took := time.Since(start)
		cancel()
		if len(snap.Arrays) != 1 || snap.Arrays[0].DisksDown != 1 {
			t.Fatalf("run %d: mdstat's degraded array lost: %+v", run, snap.Arrays)
		}
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "array_state") {
			t.Fatalf("run %d: the hung read is not reported as a timeout: %v", run, err)
		}
		if run == 0 && (took < 300*time.Millisecond || took > 3*time.Second) {
			t.Errorf("first run took %s, want about one read timeout", took)
		}
		if run == 1 && took > 200*time.Millisecond {
			t.Errorf("second run waited again on the hung path: %s", took)
		}
		t.Logf("run %d: %s: %v", run, took.Round(time.Millisecond), err)
	}
	// Open the pipe for writing: the stuck read returns and the path is
	// read again.
	w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	w.WriteString("clean\n")
	w.Close()
	deadline := time.Now().Add(5 * time.Second)
	for hostroot.Stuck(fifo) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if hostroot.Stuck(fifo) {
		t.Error("the read is still counted stuck after the pipe answered")
	}
}

// When the details take longer than the collector's own deadline (many
// hung paths), mdstat's arrays still come out before it.
func TestMdstatBeforeCollectorDeadline(t *testing.T) {
	r := newRoot(t)
	var mdstat strings.Builder
	mdstat.WriteString("Personalities : [raid1]\n")
	for i := 0; i < 20; i++ {
		fmt.Fprintf(&mdstat, "md%d : active raid1 sda%d[0]\n      1048512 blocks super 1.2 [2/1] [U_]\n\n", i, i+1)
		r.text(fmt.Sprintf("sys/block/md%d/md/level", i), "raid1\n")
		if err := syscall.Mkfifo(filepath.Join(r.dir, fmt.Sprintf("sys/block/md%d/md/array_state", i)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	r.text("proc/mdstat", mdstat.String())
	c := New(hostroot.New(r.dir).WithReadTimeout(time.Second))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var snap model.Snapshot
	start := time.Now()
	err := c.Collect(ctx, &snap)
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("collect took %s, past its 2 s deadline", took)
	}
	if len(snap.Arrays) != 20 || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("%d arrays, err %v", len(snap.Arrays), err)
	}
	for _, a := range snap.Arrays {
		if a.DisksDown != 1 {
			t.Errorf("%s: %+v", a.Name, a)
		}
	}
}
