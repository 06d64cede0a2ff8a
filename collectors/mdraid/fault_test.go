package mdraid

import (
	"context"
	"fmt"
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
