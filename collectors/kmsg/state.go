package kmsg

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/diskwatch/diskwatch/collectors/hostroot"
)

// stateFile is the name of the position file under the state directory.
const stateFile = "kmsg-position.json"

// state is the remembered position in the kernel log.
type state struct {
	// BootID is /proc/sys/kernel/random/boot_id when the position was
	// saved: sequence numbers restart at each boot.
	BootID string `json:"boot_id"`
	// Seq is the last sequence number handled.
	Seq uint64 `json:"seq"`
}

// loadState reads the position; (nil, nil) when there is none yet.
func loadState(dir string) (*state, error) {
	p := filepath.Join(dir, stateFile)
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("kernel log position %s: %w", p, err)
	}
	var s state
	if err := json.Unmarshal(b, &s); err != nil {
		// A damaged file must not make diskwatch re-alert on the whole
		// log: treat it as a first start (tail from the end).
		return nil, fmt.Errorf("kernel log position %s: unreadable, starting from the end of the log: %w", p, err)
	}
	return &s, nil
}

// saveState writes the position atomically: a temporary file in the same
// directory, fsync, rename, fsync of the directory; mode 0600.
func saveState(dir string, s *state) error {
	// dir is diskwatch's state directory: 0755 like the daemon makes it
	// (the Zabbix agent reads the snapshot there); the position file is 0600.
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("kernel log position: create %s: %w", dir, err)
	}
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, stateFile+".tmp*")
	if err != nil {
		return fmt.Errorf("kernel log position: %w", err)
	}
	tmp := f.Name()
	fail := func(step string, err error) error {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("kernel log position: %s %s: %w", step, tmp, err)
	}
	if err := f.Chmod(0o600); err != nil {
		return fail("chmod", err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		return fail("write", err)
	}
	if err := f.Sync(); err != nil {
		return fail("fsync", err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("kernel log position: close %s: %w", tmp, err)
	}
	final := filepath.Join(dir, stateFile)
	if err := os.Rename(tmp, final); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("kernel log position: rename to %s: %w", final, err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// Position is where the watcher keeping its position in dir has read the
// kernel log up to: the last sequence number it handled, if that position
// is of the boot fs is in now (sequence numbers restart at each boot).
func Position(fs hostroot.FS, dir string) (seq uint64, ok bool, err error) {
	s, err := loadState(dir)
	if err != nil || s == nil {
		return 0, false, err
	}
	bootID, _ := fs.ReadString(fs.Proc("sys", "kernel", "random", "boot_id"))
	return s.Seq, s.BootID == bootID, nil
}
