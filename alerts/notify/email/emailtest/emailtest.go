// Package emailtest runs a real SMTP server for tests: exim (Debian
// exim4-daemon-light) on 127.0.0.1 with a private configuration,
// STARTTLS with a self-signed certificate and AUTH PLAIN/LOGIN, delivering
// to an mbox file. When exim is missing a test is skipped, or fails when
// the CI environment variable is set.
package emailtest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/diskwatch/diskwatch/collectors/ups/upstest"
)

// The account exim accepts.
const (
	User     = "alerts"
	Password = "pa55-W0rd-zX9"
)

// Domain is the one domain exim delivers for (to Exim.Inbox).
const Domain = "example.test"

// eximConf is a private exim configuration: STARTTLS, AUTH PLAIN/LOGIN
// only after TLS, relaying to example.test only for authenticated
// clients, delivery to DIR/mail/inbox.
const eximConf = `primary_hostname = diskwatch-test.local
domainlist local_domains = example.test
spool_directory = DIR/spool
log_file_path = DIR/log/%slog
exim_user = root
exim_group = root
never_users =
local_interfaces = 127.0.0.1
tls_advertise_hosts = *
tls_certificate = DIR/cert.pem
tls_privatekey = DIR/key.pem
auth_advertise_hosts = ${if eq{$tls_in_cipher}{}{}{*}}
acl_smtp_rcpt = acl_check_rcpt
begin acl
acl_check_rcpt:
  accept authenticated = *
         domains = +local_domains
  deny message = authentication required
begin routers
local:
  driver = accept
  domains = +local_domains
  transport = mbox
begin transports
mbox:
  driver = appendfile
  file = DIR/mail/inbox
  envelope_to_add
  user = nobody
  mode = 0666
begin authenticators
plain:
  driver = plaintext
  public_name = PLAIN
  server_prompts = :
  server_condition = ${if and{{eq{$auth2}{USER}}{eq{$auth3}{PASSWORD}}}}
  server_set_id = $auth2
login:
  driver = plaintext
  public_name = LOGIN
  server_prompts = Username:: : Password::
  server_condition = ${if and{{eq{$auth1}{USER}}{eq{$auth2}{PASSWORD}}}}
  server_set_id = $auth1
`

// Exim is a running exim.
type Exim struct {
	// Dir holds its configuration, spool, logs and mail.
	Dir  string
	Port int
}

func writeCert(t testing.TB, dir string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	os.WriteFile(filepath.Join(dir, "cert.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
}

// StartExim runs exim on a free port of 127.0.0.1 until the end of the
// test. It needs root (a private configuration).
func StartExim(t testing.TB) *Exim {
	t.Helper()
	bin, err := exec.LookPath("exim4")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("exim4 not installed (Debian package exim4-daemon-light; .ci/setup installs it)")
		}
		t.Skip("exim4 not installed: apt-get install exim4-daemon-light")
	}
	if os.Geteuid() != 0 {
		t.Skip("exim with a private configuration needs root here")
	}
	dir := t.TempDir()
	for _, d := range []string{"spool", "log", "mail"} {
		os.MkdirAll(filepath.Join(dir, d), 0o700)
	}
	// Deliveries run as nobody (exim never delivers as root).
	for p := dir; p != "/" && p != os.TempDir(); p = filepath.Dir(p) {
		os.Chmod(p, 0o755)
	}
	os.Chmod(filepath.Join(dir, "mail"), 0o777)
	writeCert(t, dir)
	conf := strings.NewReplacer("DIR", dir, "USER", User, "PASSWORD", Password).Replace(eximConf)
	os.WriteFile(filepath.Join(dir, "exim.conf"), []byte(conf), 0o600)
	// A free port can be taken by a concurrent test before exim binds it
	// (exim then exits at once): three tries, each on a new port.
	for attempt := 1; attempt <= 3; attempt++ {
		port := upstest.FreePort(t)
		cmd := exec.Command(bin, "-C", filepath.Join(dir, "exim.conf"), "-bdf", "-oX", fmt.Sprint(port))
		// Its own process group: exim forks a child per connection and per
		// delivery, which outlive a killed daemon and would still be writing
		// to the spool while the test's directory is removed.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		var errOut bytes.Buffer
		cmd.Stderr = &errOut
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		t.Cleanup(func() {
			pg := -cmd.Process.Pid
			syscall.Kill(pg, syscall.SIGKILL)
			<-exited
			for i := 0; i < 100 && syscall.Kill(pg, 0) == nil; i++ {
				syscall.Kill(pg, syscall.SIGKILL)
				time.Sleep(20 * time.Millisecond)
			}
		})
		e := &Exim{Dir: dir, Port: port}
		if listening(port, exited, 30*time.Second) {
			return e
		}
		select {
		case <-exited:
			t.Logf("exim on port %d exited (try %d): %s%s", port, attempt, errOut.String(), e.Log())
		default:
			t.Logf("exim on port %d not listening after 30 s (try %d): %s", port, attempt, e.Log())
		}
	}
	t.Fatal("exim did not start")
	return nil
}

// listening waits until something accepts on 127.0.0.1:port; false when the
// process exits first or timeout passes (on a loaded 2-core CI machine
// exim's start took longer than 5 s).
func listening(port int, exited <-chan struct{}, timeout time.Duration) bool {
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			return true
		}
		select {
		case <-exited:
			return false
		case <-time.After(50 * time.Millisecond):
		}
	}
	return false
}

// Inbox is the mbox exim has delivered so far.
func (e *Exim) Inbox() []byte {
	b, _ := os.ReadFile(filepath.Join(e.Dir, "mail", "inbox"))
	return b
}

// WaitInbox waits up to timeout until the mbox holds want ("": anything)
// and returns it; it returns what there is when time runs out.
func (e *Exim) WaitInbox(want string, timeout time.Duration) []byte {
	deadline := time.Now().Add(timeout)
	for {
		b := e.Inbox()
		if len(b) > 0 && strings.Contains(string(b), want) || time.Now().After(deadline) {
			return b
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Log is exim's main and panic log.
func (e *Exim) Log() string {
	lg, _ := os.ReadFile(filepath.Join(e.Dir, "log", "mainlog"))
	pl, _ := os.ReadFile(filepath.Join(e.Dir, "log", "paniclog"))
	return string(lg) + string(pl)
}
