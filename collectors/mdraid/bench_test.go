package mdraid

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/prometheus/procfs"

	"github.com/diskwatch/diskwatch/collectors/hostroot"
	"github.com/diskwatch/diskwatch/collectors/model"
)

// BenchmarkParseMDStat and BenchmarkProcfsMDStat parse the same 18-array
// capture: ours beside the reference (procfs, which also reads the file).
func BenchmarkParseMDStat(b *testing.B) {
	data, err := os.ReadFile("testdata/mdstat/mdstat-procfs-fixture-full.txt")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := ParseMDStat(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkProcfsMDStat(b *testing.B) {
	data, _ := os.ReadFile("testdata/mdstat/mdstat-procfs-fixture-full.txt")
	dir := b.TempDir()
	os.MkdirAll(filepath.Join(dir, "proc"), 0o755)
	os.WriteFile(filepath.Join(dir, "proc", "mdstat"), data, 0o644)
	fs, _ := procfs.NewFS(filepath.Join(dir, "proc"))
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := fs.MDStat(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCollect is a whole md collection over a fixture root with
// sysfs (file reads included).
func BenchmarkCollect(b *testing.B) {
	r := reattachedRoot(b)
	c := New(hostroot.New(r.dir))
	for b.Loop() {
		var snap model.Snapshot
		if err := c.Collect(context.Background(), &snap); err != nil {
			b.Fatal(err)
		}
	}
}
