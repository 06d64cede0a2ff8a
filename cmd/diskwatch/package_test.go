package main

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// builtPackage is `make release` run once per test binary into a
// temporary directory (the checkout's bin/, build/ and dist/ untouched).
type builtPackage struct {
	dist    string // .deb, .rpm, tar.gz, SHA256SUMS
	deb     string
	version string // the package version make computed
	log     string
}

var (
	pkgOnce  sync.Once
	pkgTmp   string // removed by TestMain
	pkgBuilt *builtPackage
	pkgErr   error
)

// makeRelease runs `make release` (which runs `make package`) the way
// README tells a packager to, with its output directories in a
// temporary directory.
func makeRelease(t testing.TB) *builtPackage {
	t.Helper()
	needProgram(t, "make", "make")
	needProgram(t, "dpkg-deb", "dpkg")
	pkgOnce.Do(func() {
		tmp, err := os.MkdirTemp("", "diskwatch-pkg-")
		if err != nil {
			pkgErr = err
			return
		}
		pkgTmp = tmp
		root, _ := filepath.Abs("../..")
		p := &builtPackage{dist: filepath.Join(tmp, "dist")}
		c := exec.Command("make", "-s", "release", "BINDIR="+filepath.Join(tmp, "bin"), "BUILD="+filepath.Join(tmp, "build"), "DIST="+p.dist)
		c.Dir = root
		out, err := c.CombinedOutput()
		p.log = string(out)
		if err != nil {
			pkgErr = &pkgError{"make release: " + err.Error() + "\n" + p.log}
			return
		}
		debs, _ := filepath.Glob(filepath.Join(p.dist, "diskwatch_*.deb"))
		if len(debs) != 1 {
			pkgErr = &pkgError{"make release made no single .deb:\n" + p.log}
			return
		}
		p.deb = debs[0]
		v, err := exec.Command("dpkg-deb", "-f", p.deb, "Version").Output()
		if err != nil {
			pkgErr = err
			return
		}
		p.version = strings.TrimSpace(string(v))
		pkgBuilt = p
	})
	if pkgErr != nil {
		t.Fatal(pkgErr)
	}
	return pkgBuilt
}

type pkgError struct{ s string }

func (e *pkgError) Error() string { return e.s }

// `make package` builds a .deb that lintian passes without errors or
// warnings (two documented overrides), with everything an operator
// expects where Debian puts it, and a binary that names the package
// version.
func TestPackageDeb(t *testing.T) {
	lintian := needProgram(t, "lintian", "lintian")
	p := makeRelease(t)
	if !regexp.MustCompile(`^\d+\.\d+\.\d+\+[0-9a-z.+]+-\d+$`).MatchString(p.version) {
		t.Errorf("package version %q: want UPSTREAM+GIT-REVISION", p.version)
	}

	out, _ := exec.Command(lintian, "--pedantic", "--display-info", "--fail-on", "none", p.deb).CombinedOutput()
	var bad []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if l := sc.Text(); strings.HasPrefix(l, "E:") || strings.HasPrefix(l, "W:") {
			bad = append(bad, l)
		}
	}
	t.Logf("lintian --pedantic --display-info:\n%s", out)
	if len(bad) > 0 {
		t.Errorf("lintian errors/warnings:\n%s", strings.Join(bad, "\n"))
	}

	list, err := exec.Command("dpkg-deb", "-c", p.deb).Output()
	if err != nil {
		t.Fatal(err)
	}
	modes := map[string]string{}
	for _, l := range strings.Split(string(list), "\n") {
		f := strings.Fields(l)
		if len(f) >= 6 {
			modes[strings.TrimPrefix(f[5], ".")] = f[0] + " " + f[1]
		}
	}
	for path, mode := range map[string]string{
		"/usr/sbin/diskwatch":                                              "-rwxr-xr-x root/root",
		"/usr/sbin/diskwatch-zabbix":                                       "-rwxr-xr-x root/root",
		"/etc/diskwatch/diskwatch.yaml":                                    "-rw-r----- root/root",
		"/etc/zabbix/zabbix_agentd.conf.d/userparameter_diskwatch.conf":    "-rw-r--r-- root/root",
		"/lib/systemd/system/diskwatch.service":                            "-rw-r--r-- root/root",
		"/usr/share/man/man8/diskwatch.8.gz":                               "-rw-r--r-- root/root",
		"/usr/share/man/man8/diskwatch-zabbix.8.gz":                        "-rw-r--r-- root/root",
		"/usr/share/man/man5/diskwatch.yaml.5.gz":                          "-rw-r--r-- root/root",
		"/usr/share/bash-completion/completions/diskwatch":                 "-rw-r--r-- root/root",
		"/usr/share/zsh/vendor-completions/_diskwatch":                     "-rw-r--r-- root/root",
		"/usr/share/fish/vendor_completions.d/diskwatch.fish":              "-rw-r--r-- root/root",
		"/usr/share/doc/diskwatch/README.md.gz":                            "-rw-r--r-- root/root",
		"/usr/share/doc/diskwatch/changelog.Debian.gz":                     "-rw-r--r-- root/root",
		"/usr/share/doc/diskwatch/copyright":                               "-rw-r--r-- root/root",
		"/usr/share/doc/diskwatch/examples/cron.d-diskwatch":               "-rw-r--r-- root/root",
		"/usr/share/doc/diskwatch/examples/zabbix/template_diskwatch.yaml": "-rw-r--r-- root/root",
	} {
		if got := modes[path]; got != mode {
			t.Errorf("%s: %q, want %q", path, got, mode)
		}
	}
	// Nothing is enabled by the package itself: no cron.d file, no
	// .wants link.
	for path := range modes {
		if strings.HasPrefix(path, "/etc/cron") || strings.Contains(path, ".wants/") {
			t.Errorf("package installs %s: it must enable nothing", path)
		}
	}
	conff, _ := exec.Command("dpkg-deb", "-f", p.deb, "Conffiles").Output()
	ctl := t.TempDir()
	if out, err := exec.Command("dpkg-deb", "-e", p.deb, ctl).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb -e: %v\n%s", err, out)
	}
	cf, _ := os.ReadFile(filepath.Join(ctl, "conffiles"))
	for _, want := range []string{"/etc/diskwatch/diskwatch.yaml", "/etc/zabbix/zabbix_agentd.conf.d/userparameter_diskwatch.conf"} {
		if !bytes.Contains(cf, []byte(want)) {
			t.Errorf("conffiles lacks %s:\n%s%s", want, cf, conff)
		}
	}

	// The packaged binary names the package version; the agent snippet
	// names the packaged binary.
	x := t.TempDir()
	if out, err := exec.Command("dpkg-deb", "-x", p.deb, x).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb -x: %v\n%s", err, out)
	}
	v, err := exec.Command(filepath.Join(x, "usr/sbin/diskwatch"), "--version").CombinedOutput()
	if err != nil || strings.TrimSpace(string(v)) != "diskwatch "+p.version {
		t.Errorf("diskwatch --version = %q (%v), want %q", v, err, "diskwatch "+p.version)
	}
	snip, _ := os.ReadFile(filepath.Join(x, "etc/zabbix/zabbix_agentd.conf.d/userparameter_diskwatch.conf"))
	if !bytes.Contains(snip, []byte("/usr/sbin/diskwatch-zabbix ")) || bytes.Contains(snip, []byte("/usr/local/")) {
		t.Errorf("agent snippet does not name /usr/sbin/diskwatch-zabbix:\n%s", snip)
	}
	// The conffile is the built-in default and valid.
	cfg := filepath.Join(x, "etc/diskwatch/diskwatch.yaml")
	if out, err := exec.Command(filepath.Join(x, "usr/sbin/diskwatch"), "config", "check", cfg).CombinedOutput(); err != nil {
		t.Errorf("config check of the conffile: %v\n%s", err, out)
	}
	// The man pages name every command and render without groff warnings
	// (lintian runs man too; this names the page).
	if man, err := exec.LookPath("man"); err == nil {
		for _, page := range []string{"man8/diskwatch.8.gz", "man8/diskwatch-zabbix.8.gz", "man5/diskwatch.yaml.5.gz"} {
			c := exec.Command(man, "--warnings", "-E", "UTF-8", "-l", filepath.Join(x, "usr/share/man", page))
			c.Env = append(os.Environ(), "MANWIDTH=80")
			var stderr bytes.Buffer
			c.Stderr = &stderr
			text, err := c.Output()
			if err != nil || stderr.Len() > 0 {
				t.Errorf("man %s: %v\n%s", page, err, stderr.String())
			}
			if page == "man8/diskwatch.8.gz" {
				for _, name := range commandNames() {
					if !bytes.Contains(text, []byte("   "+name+"\n")) {
						t.Errorf("diskwatch(8) has no section for %q", name)
					}
				}
				if !bytes.Contains(text, []byte("--format")) {
					t.Errorf("diskwatch(8) lists no flags")
				}
			}
		}
	}
	// The completions parse and complete commands and flags.
	if bash, err := exec.LookPath("bash"); err == nil {
		script := `source "$1"; COMP_WORDS=(diskwatch ch); COMP_CWORD=1; _diskwatch; echo "${COMPREPLY[*]}";` +
			`COMP_WORDS=(diskwatch check --fo); COMP_CWORD=2; _diskwatch; echo "${COMPREPLY[*]}"`
		out, err := exec.Command(bash, "-c", script, "bash", filepath.Join(x, "usr/share/bash-completion/completions/diskwatch")).CombinedOutput()
		if err != nil || string(out) != "check\n--format\n" {
			t.Errorf("bash completion: %v: %q, want \"check\\n--format\\n\"", err, out)
		}
	}
}

// The RPM from the same `make package` holds the same files where
// RHEL-like systems look for them, the configuration as %config(noreplace),
// and scriptlets that enable nothing.
func TestPackageRPM(t *testing.T) {
	rpm := needProgram(t, "rpm", "rpm")
	p := makeRelease(t)
	rpms, _ := filepath.Glob(filepath.Join(p.dist, "diskwatch-*.rpm"))
	if len(rpms) != 1 {
		t.Fatalf("no single .rpm in %s", p.dist)
	}
	q := func(args ...string) string {
		out, err := exec.Command(rpm, append(append([]string{"-qp"}, args...), rpms[0])...).CombinedOutput()
		if err != nil {
			t.Fatalf("rpm -qp %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	upstream, release, _ := strings.Cut(p.version, "-")
	if got := q("--queryformat", "%{NAME} %{VERSION} %{RELEASE} %{ARCH}"); got != "diskwatch "+upstream+" "+release+" x86_64" {
		t.Errorf("rpm NEVRA: %q", got)
	}
	list := q("--dump")
	for _, f := range []string{"/usr/sbin/diskwatch ", "/usr/sbin/diskwatch-zabbix ", "/usr/lib/systemd/system/diskwatch.service ",
		"/etc/diskwatch/diskwatch.yaml ", "/etc/zabbix/zabbix_agentd.d/userparameter_diskwatch.conf ",
		"/usr/share/man/man8/diskwatch.8.gz ", "/usr/share/zsh/site-functions/_diskwatch "} {
		if !strings.Contains(list, f) {
			t.Errorf("rpm lacks %s", f)
		}
	}
	// --dump: path size mtime digest mode owner group isconfig ...
	for _, l := range strings.Split(list, "\n") {
		if f := strings.Fields(l); len(f) > 7 && f[0] == "/etc/diskwatch/diskwatch.yaml" && (f[4] != "0100640" || f[7] != "1") {
			t.Errorf("rpm: %s: mode %s config %s, want 0100640 and config", f[0], f[4], f[7])
		}
	}
	scripts := q("--scripts")
	if strings.Contains(scripts, "enable --now") || strings.Contains(scripts, "systemctl start") {
		t.Errorf("rpm scriptlets start or enable the daemon:\n%s", scripts)
	}
}

// `make release` writes a tar.gz of the static binaries and contrib/ and
// a SHA256SUMS that sha256sum -c accepts.
func TestReleaseArchive(t *testing.T) {
	p := makeRelease(t)
	c := exec.Command("sha256sum", "-c", "SHA256SUMS")
	c.Dir = p.dist
	out, err := c.CombinedOutput()
	if err != nil {
		t.Fatalf("sha256sum -c: %v\n%s", err, out)
	}
	for _, want := range []string{".deb: OK", ".rpm: OK", ".tar.gz: OK"} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("SHA256SUMS lacks a %s line:\n%s", want, out)
		}
	}
	tgz, _ := filepath.Glob(filepath.Join(p.dist, "diskwatch-*-linux-*.tar.gz"))
	if len(tgz) != 1 {
		t.Fatalf("no release tar.gz in %s", p.dist)
	}
	x := t.TempDir()
	if out, err := exec.Command("tar", "-C", x, "-xzf", tgz[0]).CombinedOutput(); err != nil {
		t.Fatalf("tar: %v\n%s", err, out)
	}
	top := filepath.Join(x, "diskwatch-"+p.version)
	for _, f := range []string{"diskwatch", "diskwatch-zabbix", "README.md", "contrib/systemd/diskwatch.service",
		"contrib/diskwatch.example.yaml", "contrib/cron/diskwatch", "docs/diskwatch.8", "docs/diskwatch.bash"} {
		if _, err := os.Stat(filepath.Join(top, f)); err != nil {
			t.Errorf("release archive: %v", err)
		}
	}
	// Static: runs with no loader (file(1) would say "statically linked").
	out, err = exec.Command(filepath.Join(top, "diskwatch"), "--version").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "diskwatch "+p.version {
		t.Errorf("archive's diskwatch --version = %q (%v)", out, err)
	}
	if ldd, err := exec.Command("ldd", filepath.Join(top, "diskwatch")).CombinedOutput(); err == nil || !bytes.Contains(ldd, []byte("not a dynamic executable")) {
		t.Errorf("archive's diskwatch is not static: %s", ldd)
	}
}

// commandNames lists the commands as the man page names them ("config
// check" for a subcommand), from the same definitions as the help.
func commandNames() []string {
	var out []string
	for _, c := range newRoot(&env{getenv: func(string) string { return "" }}).Commands() {
		if c.Hidden || c.Name() == "help" || c.Name() == "completion" {
			continue
		}
		out = append(out, c.Name())
	}
	return out
}
