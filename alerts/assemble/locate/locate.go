// Package locate says where diskwatch keeps things, by one rule for every
// command and for diskwatch-zabbix: the state directory (flag, then
// DISKWATCH_STATE, then the configuration's daemon.state_dir, then
// /var/lib/diskwatch), the configuration file, and when the daemon's
// snapshot is fresh enough to answer from.
//
// It links only the snapshot document and a YAML reader, so the Zabbix fast
// path stays small.
package locate

import (
	"errors"
	"os"
	"path/filepath"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/diskwatch/diskwatch/alerts/output/snapshot"
)

// Defaults and environment variables.
const (
	// DefaultStateDir holds the history store, alert state, notification
	// queue and snapshot unless configured otherwise.
	DefaultStateDir = "/var/lib/diskwatch"
	// DefaultConfig is where the configuration is read from.
	DefaultConfig = "/etc/diskwatch/diskwatch.yaml"
	// EnvState and EnvConfig name the state directory and the
	// configuration file when no flag does.
	EnvState  = "DISKWATCH_STATE"
	EnvConfig = "DISKWATCH_CONFIG"
	// MinSnapshotAge is the least age a snapshot may have and still be
	// used: a daemon with a short interval may be mid-round.
	MinSnapshotAge = 3 * time.Minute
)

// StateDir resolves the state directory: the flag's value, else
// $DISKWATCH_STATE, else configured (daemon.state_dir), else
// DefaultStateDir. getenv may be nil.
func StateDir(flag string, getenv func(string) string, configured string) string {
	if flag != "" {
		return flag
	}
	if getenv != nil {
		if v := getenv(EnvState); v != "" {
			return v
		}
	}
	if configured != "" {
		return configured
	}
	return DefaultStateDir
}

// ConfigPath resolves the configuration file: the flag, else
// $DISKWATCH_CONFIG, else DefaultConfig. explicit reports whether one was
// named (a missing named file is an error; a missing default is not).
func ConfigPath(flag string, getenv func(string) string) (path string, explicit bool) {
	if flag != "" {
		return flag, true
	}
	if getenv != nil {
		if v := getenv(EnvConfig); v != "" {
			return v, true
		}
	}
	return DefaultConfig, false
}

// ConfiguredStateDir reads daemon.state_dir from the configuration file at
// path without validating the rest (the full check is `diskwatch config
// check`): "" when the file or the key is absent.
func ConfiguredStateDir(path string) (string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	var doc struct {
		Daemon struct {
			StateDir string `yaml:"state_dir"`
		} `yaml:"daemon"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return "", err
	}
	return doc.Daemon.StateDir, nil
}

// SnapshotMaxAge is how old the daemon's snapshot may be and still answer
// for the devices: three daemon intervals, at least MinSnapshotAge.
func SnapshotMaxAge(interval time.Duration) time.Duration {
	if 3*interval > MinSnapshotAge {
		return 3 * interval
	}
	return MinSnapshotAge
}

// ErrStale is returned by FreshSnapshot for a snapshot older than allowed.
var ErrStale = errors.New("daemon snapshot is stale")

// FreshSnapshot reads the snapshot in dir and returns it when it is at
// most maxAge old at now (maxAge <= 0: SnapshotMaxAge of the daemon's
// interval). A missing file gives an error wrapping os.ErrNotExist, an old
// one ErrStale.
func FreshSnapshot(dir string, now time.Time, maxAge time.Duration) (*snapshot.Doc, error) {
	doc, err := snapshot.Read(filepath.Join(dir, snapshot.FileName))
	if err != nil {
		return nil, err
	}
	if maxAge <= 0 {
		var iv time.Duration
		if doc.Daemon != nil {
			iv = doc.Daemon.Interval
		}
		maxAge = SnapshotMaxAge(iv)
	}
	if now.Sub(doc.Written) > maxAge {
		return nil, ErrStale
	}
	return doc, nil
}
