// Package hwmontest builds a host root from node_exporter's real hwmon
// fixture (collectors/hwmon/testdata/node_exporter), recreating the
// symlinks its SYMLINKS.txt lists, for tests of anything that reads hwmon.
package hwmontest

import (
	"bufio"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// ExtraLinks are added to the fixture so that the NVMe and PCI NIC chips,
// present in it but not linked from class/hwmon there, are read too.
var ExtraLinks = map[string]string{
	"sys/class/hwmon/hwmon11": "../../devices/pci0000:00/0000:00:02.1/0000:01:00.0/nvme/nvme0/hwmon3",
	"sys/class/hwmon/hwmon12": "../../devices/pci0000:40/0000:40:01.3/0000:45:00.0/hwmon/hwmon0",
}

// FixtureDir is the fixture's directory in the source tree.
func FixtureDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "testdata", "node_exporter")
}

// BuildRoot copies the fixture into a temporary root, recreates its
// symlinks and returns the root.
func BuildRoot(t testing.TB) string {
	t.Helper()
	src := FixtureDir()
	root := t.TempDir()
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		dst := filepath.Join(root, rel)
		if info.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(src, "SYMLINKS.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	links := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(l, "#") || strings.TrimSpace(l) == "" {
			continue
		}
		from, to, ok := strings.Cut(l, " -> ")
		if !ok {
			t.Fatalf("bad SYMLINKS line %q", l)
		}
		links[from] = strings.TrimSuffix(to, "/")
	}
	for k, v := range ExtraLinks {
		links[k] = v
	}
	for from, to := range links {
		p := filepath.Join(root, from)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(to, p); err != nil {
			t.Fatal(err)
		}
	}
	return root
}
