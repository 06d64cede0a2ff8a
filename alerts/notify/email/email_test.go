package email_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/diskwatch/diskwatch/alerts/lifecycle"
	"github.com/diskwatch/diskwatch/alerts/notify"
	"github.com/diskwatch/diskwatch/alerts/notify/email"
	"github.com/diskwatch/diskwatch/alerts/notify/email/emailtest"
	"github.com/diskwatch/diskwatch/collectors/model"
)

func message() notify.Message {
	t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	return notify.FromEvent("host1", lifecycle.Event{Kind: lifecycle.Firing, Time: t0, Alert: model.Alert{
		Key: "md.degraded|md0", Finding: model.Finding{Rule: "md.degraded", Subject: "md0", SubjectID: "md0", Severity: model.Critical,
			Message: "md0 (raid1) is DEGRADED [2/1]", Remedy: "mdadm --manage /dev/md0 --add /dev/sdb1"}, StartsAt: t0,
	}})
}

func TestEximStartTLSAuth(t *testing.T) {
	ex := emailtest.StartExim(t)
	s := &email.Sink{Host: "127.0.0.1", Port: ex.Port, TLS: email.StartTLS, InsecureSkipVerify: true,
		Username: emailtest.User, Password: notify.Secret(emailtest.Password), From: "diskwatch@example.test", To: []string{"ops@example.test"}, Timeout: 10 * time.Second}
	if retry, err := s.Notify(context.Background(), message()); err != nil {
		t.Fatalf("send: retry=%v %v", retry, err)
	}
	mail := ex.WaitInbox("", 5*time.Second)
	for _, want := range []string{"Envelope-to: ops@example.test", "Subject: [diskwatch host1] CRITICAL md0 (raid1) is DEGRADED [2/1]", "X-Diskwatch-Alert: md.degraded|md0", "mdadm --manage /dev/md0 --add /dev/sdb1"} {
		if !strings.Contains(string(mail), want) {
			t.Fatalf("delivered mail lacks %q:\n%s\nexim log:\n%s", want, mail, ex.Log())
		}
	}
	// exim's log shows the message came in over TLS, authenticated.
	log := ex.Log()
	if !strings.Contains(log, "X=TLS") || !strings.Contains(log, "A=plain:"+emailtest.User) && !strings.Contains(log, "A=login:"+emailtest.User) {
		t.Errorf("exim log does not show TLS + auth:\n%s", log)
	}
}

// A wrong password is refused; the error says so without the password.
func TestEximBadPasswordHidden(t *testing.T) {
	port := emailtest.StartExim(t).Port
	const wrong = "WRONG-secret-9f8e7d"
	s := &email.Sink{Host: "127.0.0.1", Port: port, TLS: email.StartTLS, InsecureSkipVerify: true,
		Username: emailtest.User, Password: notify.Secret(wrong), From: "diskwatch@example.test", To: []string{"ops@example.test"}, Timeout: 10 * time.Second}
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
	port := emailtest.StartExim(t).Port
	s := &email.Sink{Host: "127.0.0.1", Port: port, TLS: email.StartTLS,
		Username: emailtest.User, Password: notify.Secret(emailtest.Password), From: "diskwatch@example.test", To: []string{"ops@example.test"}, Timeout: 10 * time.Second}
	if _, err := s.Notify(context.Background(), message()); err == nil {
		t.Fatal("a self-signed certificate was trusted")
	}
}
