package lifecycle

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Save writes the tracker's state to path atomically: a temporary file in
// the same directory, fsync, rename, fsync of the directory. The file is
// mode 0600.
func (t *Tracker) Save(path string) error {
	b, err := json.MarshalIndent(t.st, "", " ")
	if err != nil {
		return fmt.Errorf("alert state %s: encode: %w", path, err)
	}
	return WriteFileAtomic(path, b)
}

// Load reads the state saved at path. A missing file is an empty state; an
// unreadable or corrupt one is an error (the caller decides; the daemon
// moves it aside and starts fresh, saying so).
func (t *Tracker) Load(path string) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("alert state %s: read: %w", path, err)
	}
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("alert state %s: corrupt: %w", path, err)
	}
	if st.Entries == nil {
		st.Entries = map[string]*entry{}
	}
	for k, e := range st.Entries {
		if e == nil {
			delete(st.Entries, k)
		}
	}
	st.Version = 1
	t.st = st
	return nil
}

// WriteFileAtomic replaces path with data (mode 0600) so that a crash
// leaves either the old or the new content, never a mix.
func WriteFileAtomic(path string, data []byte) error { return WriteFileAtomicMode(path, data, 0o600) }

// WriteFileAtomicMode is WriteFileAtomic with the file mode perm.
func WriteFileAtomicMode(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	fail := func(step string, err error) error {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("write %s: %s: %w", path, step, err)
	}
	if err := f.Chmod(perm); err != nil {
		return fail("chmod", err)
	}
	if _, err := f.Write(data); err != nil {
		return fail("write", err)
	}
	if err := f.Sync(); err != nil {
		return fail("fsync", err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: close: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: rename: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
