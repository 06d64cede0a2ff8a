// Package snapshot is the document the daemon publishes after every round
// (readings, findings, firing alerts, its own status), written atomically
// to a state file that Zabbix items and `diskwatch metrics` read without
// touching a disk.
//
// It depends on collectors/model only (findings and alerts are the model's
// own types), so the Zabbix fast path (cmd/diskwatch-zabbix) links almost nothing and
// starts about as fast as a static program.
package snapshot

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/diskwatch/diskwatch/collectors/model"
)

// FileName is the snapshot's name inside the state directory.
const FileName = "snapshot.json"

// Doc is the published state.
type Doc struct {
	Version int       `json:"version"`
	Written time.Time `json:"written"`
	Host    string    `json:"host,omitempty"`
	// Status is the overall status (worst finding).
	Status   model.Severity  `json:"status"`
	Snapshot *model.Snapshot `json:"snapshot"`
	Findings []model.Finding `json:"findings"`
	Alerts   []model.Alert   `json:"alerts,omitempty"`
	Daemon   *Daemon         `json:"daemon,omitempty"`
}

// Daemon is the daemon's own status.
type Daemon struct {
	PID     int       `json:"pid"`
	Started time.Time `json:"started"`
	Rounds  uint64    `json:"rounds"`
	// Interval is the scheduler tick; a snapshot older than a few ticks is
	// stale.
	Interval time.Duration `json:"interval_ns"`
	// QueuedNotifications waiting for a sink.
	QueuedNotifications int `json:"queued_notifications"`
	// CollectorFailures counts consecutive failed rounds per collector.
	CollectorFailures map[string]int `json:"collector_failures,omitempty"`
}

// Write publishes doc at path, atomically, mode 0644: the Zabbix agent
// runs as its own user and must read it. It holds readings and findings
// (models, serials), never a secret.
func Write(path string, doc *Doc) error {
	doc.Version = 1
	b, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("snapshot %s: encode: %w", path, err)
	}
	return writeAtomic(path, b, 0o644)
}

// ErrStale is returned by ReadFresh for a snapshot older than allowed.
var ErrStale = errors.New("snapshot is stale")

// Read loads the snapshot at path.
func Read(path string) (*Doc, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	var d Doc
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("snapshot %s: corrupt: %w", path, err)
	}
	if d.Snapshot == nil {
		d.Snapshot = &model.Snapshot{}
	}
	return &d, nil
}

// ReadFresh loads the snapshot if it was written within maxAge of now;
// otherwise it returns fs.ErrNotExist (no daemon) or ErrStale.
func ReadFresh(path string, now time.Time, maxAge time.Duration) (*Doc, error) {
	d, err := Read(path)
	if err != nil {
		return nil, err
	}
	if maxAge > 0 && now.Sub(d.Written) > maxAge {
		return d, fmt.Errorf("%w: written %s ago", ErrStale, now.Sub(d.Written).Round(time.Second))
	}
	return d, nil
}

// IsMissing reports whether err means no snapshot file exists.
func IsMissing(err error) bool { return errors.Is(err, fs.ErrNotExist) }

// writeAtomic replaces path with data: temp file, fsync, rename.
func writeAtomic(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
