package email_test

import (
	"context"
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
	"testing"
	"time"

	"github.com/diskwatch/diskwatch/alerts/lifecycle"
	"github.com/diskwatch/diskwatch/alerts/notify"
	"github.com/diskwatch/diskwatch/alerts/notify/email"
	"github.com/diskwatch/diskwatch/alerts/rules"
)

const (
	user     = "alerts"
	password = "pa55-W0rd-zX9"
)

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

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func writeCert(t *testing.T, dir string) {
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

// startExim runs a real exim (Debian exim4-daemon-light) on 127.0.0.1.
func startExim(t *testing.T) (dir string, port int) {
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
	dir = t.TempDir()
	for _, d := range []string{"spool", "log", "mail"} {
		os.MkdirAll(filepath.Join(dir, d), 0o700)
	}
	// Deliveries run as nobody (exim never delivers as root).
	for p := dir; p != "/" && p != os.TempDir(); p = filepath.Dir(p) {
		os.Chmod(p, 0o755)
	}
	os.Chmod(filepath.Join(dir, "mail"), 0o777)
	writeCert(t, dir)
	conf := strings.NewReplacer("DIR", dir, "USER", user, "PASSWORD", password).Replace(eximConf)
	os.WriteFile(filepath.Join(dir, "exim.conf"), []byte(conf), 0o600)
	port = freePort(t)
	cmd := exec.Command(bin, "-C", filepath.Join(dir, "exim.conf"), "-bdf", "-oX", fmt.Sprint(port))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for i := 0; i < 100; i++ {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			return dir, port
		}
		time.Sleep(50 * time.Millisecond)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "log", "mainlog"))
	t.Fatalf("exim did not start:\n%s", b)
	return
}

func message() notify.Message {
	t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	return notify.FromEvent("host1", lifecycle.Event{Kind: lifecycle.Firing, Time: t0, Alert: lifecycle.Alert{
		Key: "md.degraded|md0", Rule: "md.degraded", Subject: "md0", SubjectID: "md0", Severity: rules.Critical,
		Message: "md0 (raid1) is DEGRADED [2/1]", Remedy: "mdadm --manage /dev/md0 --add /dev/sdb1", StartsAt: t0,
	}})
}

func TestEximStartTLSAuth(t *testing.T) {
	dir, port := startExim(t)
	s := &email.Sink{Host: "127.0.0.1", Port: port, TLS: email.StartTLS, InsecureSkipVerify: true,
		Username: user, Password: notify.Secret(password), From: "diskwatch@example.test", To: []string{"ops@example.test"}, Timeout: 10 * time.Second}
	if retry, err := s.Notify(context.Background(), message()); err != nil {
		t.Fatalf("send: retry=%v %v", retry, err)
	}
	box := filepath.Join(dir, "mail", "inbox")
	var mail []byte
	for i := 0; i < 100; i++ {
		if mail, _ = os.ReadFile(box); len(mail) > 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, want := range []string{"Envelope-to: ops@example.test", "Subject: [diskwatch host1] CRITICAL md0 (raid1) is DEGRADED [2/1]", "X-Diskwatch-Alert: md.degraded|md0", "mdadm --manage /dev/md0 --add /dev/sdb1"} {
		if !strings.Contains(string(mail), want) {
			lg, _ := os.ReadFile(filepath.Join(dir, "log", "mainlog"))
			pl, _ := os.ReadFile(filepath.Join(dir, "log", "paniclog"))
			t.Fatalf("delivered mail lacks %q:\n%s\nexim log:\n%s\n%s", want, mail, lg, pl)
		}
	}
	// exim's log shows the message came in over TLS, authenticated.
	log, _ := os.ReadFile(filepath.Join(dir, "log", "mainlog"))
	if !strings.Contains(string(log), "X=TLS") || !strings.Contains(string(log), "A=plain:"+user) && !strings.Contains(string(log), "A=login:"+user) {
		t.Errorf("exim log does not show TLS + auth:\n%s", log)
	}
}

// A wrong password is refused; the error says so without the password.
func TestEximBadPasswordHidden(t *testing.T) {
	_, port := startExim(t)
	const wrong = "WRONG-secret-9f8e7d"
	s := &email.Sink{Host: "127.0.0.1", Port: port, TLS: email.StartTLS, InsecureSkipVerify: true,
		Username: user, Password: notify.Secret(wrong), From: "diskwatch@example.test", To: []string{"ops@example.test"}, Timeout: 10 * time.Second}
	_, err := s.Notify(context.Background(), message())
	if err == nil {
		t.Fatal("wrong password accepted")
	}
	if strings.Contains(err.Error(), wrong) {
		t.Errorf("error leaks the password: %v", err)
	}
	t.Logf("error: %v", err)
}

// STARTTLS required but the certificate is not trusted: refused.
func TestEximUntrustedCertRefused(t *testing.T) {
	_, port := startExim(t)
	s := &email.Sink{Host: "127.0.0.1", Port: port, TLS: email.StartTLS,
		Username: user, Password: notify.Secret(password), From: "diskwatch@example.test", To: []string{"ops@example.test"}, Timeout: 10 * time.Second}
	if _, err := s.Notify(context.Background(), message()); err == nil {
		t.Fatal("a self-signed certificate was trusted")
	}
}
