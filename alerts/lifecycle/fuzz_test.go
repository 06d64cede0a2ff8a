package lifecycle

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/diskwatch/diskwatch/collectors/model"
)

// FuzzLoad: any bytes in the state file load without a panic, as a state
// or an error, and a loaded state survives an Update and a Save.
func FuzzLoad(f *testing.F) {
	tr := New(Policy{})
	tr.Update(t0, []model.Finding{{Rule: "md.degraded", Subject: "md0", SubjectID: "md0", Severity: model.Critical, Related: []string{"sdb1"}}})
	dir := f.TempDir()
	tr.Save(filepath.Join(dir, "seed.json"))
	seed, _ := os.ReadFile(filepath.Join(dir, "seed.json"))
	f.Add(seed)
	f.Add([]byte(`{"version":1,"entries":{"x":null}}`))
	f.Add([]byte(`{"entries":{"k":{"alert":{"severity":"WARNING"},"changes":["2026-01-01T00:00:00Z"]}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(t.TempDir(), "s.json")
		os.WriteFile(p, b, 0o600)
		tr := New(Policy{})
		if err := tr.Load(p); err != nil {
			return
		}
		tr.Update(t0, []model.Finding{{Rule: "r", Subject: "s", Severity: model.Warning}})
		tr.Update(t0.Add(1e12), nil)
		if err := tr.Save(p); err != nil {
			t.Fatal(err)
		}
	})
}
