package config

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/diskwatch/diskwatch/alerts/rules"
)

// TestTrustTable: who may own and write a configuration file and the
// directories above it. Each refusal names the fix.
func TestTrustTable(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to chown files to another user")
	}
	const nobody = 65534
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, dir string) string // returns the path to load
		want  string                                // "" accepted, else part of the error
	}{
		{"root 0644", func(t *testing.T, d string) string { return file(t, d, "c.yaml", 0o644, 0) }, ""},
		{"root 0600", func(t *testing.T, d string) string { return file(t, d, "c.yaml", 0o600, 0) }, ""},
		{"group-writable 0664", func(t *testing.T, d string) string { return file(t, d, "c.yaml", 0o664, 0) }, "chmod g-w"},
		{"world-writable 0646", func(t *testing.T, d string) string { return file(t, d, "c.yaml", 0o646, 0) }, "chmod o-w"},
		{"0666", func(t *testing.T, d string) string { return file(t, d, "c.yaml", 0o666, 0) }, "chmod go-w"},
		{"owned by nobody 0644", func(t *testing.T, d string) string { return file(t, d, "c.yaml", 0o644, nobody) }, "chown root"},
		{"owned by nobody 0600", func(t *testing.T, d string) string { return file(t, d, "c.yaml", 0o600, nobody) }, "chown root"},
		{"directory owned by nobody", func(t *testing.T, d string) string {
			sub := filepath.Join(d, "etc")
			os.Mkdir(sub, 0o755)
			os.Chown(sub, nobody, nobody)
			return file(t, sub, "c.yaml", 0o644, 0)
		}, "its directory"},
		{"world-writable directory", func(t *testing.T, d string) string {
			sub := filepath.Join(d, "etc")
			os.Mkdir(sub, 0o777)
			os.Chmod(sub, 0o777)
			return file(t, sub, "c.yaml", 0o644, 0)
		}, "chmod go-w " + "DIR/etc"},
		{"group-writable directory", func(t *testing.T, d string) string {
			sub := filepath.Join(d, "etc")
			os.Mkdir(sub, 0o775)
			os.Chmod(sub, 0o775)
			return file(t, sub, "c.yaml", 0o644, 0)
		}, "chmod g-w"},
		{"root-owned sticky directory (like /tmp)", func(t *testing.T, d string) string {
			sub := filepath.Join(d, "tmp")
			os.Mkdir(sub, 0o777)
			os.Chmod(sub, 0o777|os.ModeSticky)
			return file(t, sub, "c.yaml", 0o644, 0)
		}, ""},
		{"sticky directory owned by nobody", func(t *testing.T, d string) string {
			sub := filepath.Join(d, "tmp")
			os.Mkdir(sub, 0o777)
			os.Chmod(sub, 0o777|os.ModeSticky)
			os.Chown(sub, nobody, nobody)
			return file(t, sub, "c.yaml", 0o644, 0)
		}, "its directory"},
		{"symlink to a file owned by nobody", func(t *testing.T, d string) string {
			target := file(t, d, "real.yaml", 0o644, nobody)
			l := filepath.Join(d, "c.yaml")
			os.Symlink(target, l)
			return l
		}, "chown root"},
		{"symlink to a good file", func(t *testing.T, d string) string {
			target := file(t, d, "real.yaml", 0o644, 0)
			l := filepath.Join(d, "c.yaml")
			os.Symlink(target, l)
			return l
		}, ""},
		{"named pipe", func(t *testing.T, d string) string {
			p := filepath.Join(d, "c.yaml")
			syscall.Mkfifo(p, 0o600)
			return p
		}, "not a regular file"},
		{"2 MiB file", func(t *testing.T, d string) string {
			p := file(t, d, "c.yaml", 0o644, 0)
			f, _ := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
			f.Write([]byte("\n# " + strings.Repeat("x", 2<<20) + "\n"))
			f.Close()
			return p
		}, "larger than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			p := tc.setup(t, dir)
			_, err := Load(p, true, rules.Default())
			want := strings.ReplaceAll(tc.want, "DIR", dir)
			switch {
			case want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case want != "" && err == nil:
				t.Errorf("accepted, want a refusal saying %q", want)
			case want != "" && !strings.Contains(err.Error(), want):
				t.Errorf("error %q does not say %q", err, want)
			}
			if err != nil {
				t.Logf("%v", err)
			}
		})
	}
}

func file(t *testing.T, dir, name string, mode os.FileMode, uid int) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("collectors: {}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Chmod(p, mode)
	os.Chown(p, uid, uid)
	return p
}
