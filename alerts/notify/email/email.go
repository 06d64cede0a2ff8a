// Package email sends alert events by SMTP (github.com/wneessen/go-mail):
// STARTTLS (mandatory or opportunistic) or implicit TLS, optional
// authentication. The password never appears in errors or logs.
package email

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	mail "github.com/wneessen/go-mail"

	"github.com/diskwatch/diskwatch/alerts/notify"
)

// TLS modes.
const (
	// StartTLS requires STARTTLS (the default).
	StartTLS = "starttls"
	// Opportunistic uses STARTTLS when the server offers it.
	Opportunistic = "opportunistic"
	// ImplicitTLS connects with TLS from the start (port 465).
	ImplicitTLS = "tls"
	// None never encrypts (a local relay only).
	None = "none"
)

// Sink sends mail.
type Sink struct {
	Host string
	Port int
	TLS  string
	// InsecureSkipVerify accepts any server certificate (a local relay
	// with a self-signed certificate).
	InsecureSkipVerify bool
	Username           string
	Password           notify.Secret
	From               string
	To                 []string
	Timeout            time.Duration
}

// Validate checks the settings.
func (s *Sink) Validate() error {
	switch s.TLS {
	case "", StartTLS, Opportunistic, ImplicitTLS, None:
	default:
		return fmt.Errorf("email: tls must be starttls, opportunistic, tls or none, not %q", s.TLS)
	}
	if s.Host == "" || s.From == "" || len(s.To) == 0 {
		return errors.New("email: host, from and to are required")
	}
	return nil
}

func (s *Sink) client() (*mail.Client, error) {
	opts := []mail.Option{mail.WithTimeout(s.timeout())}
	port := s.Port
	switch s.TLS {
	case ImplicitTLS:
		opts = append(opts, mail.WithSSL())
		if port == 0 {
			port = 465
		}
	case None:
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	case Opportunistic:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSOpportunistic))
	default:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	}
	if port == 0 {
		port = 587
	}
	opts = append(opts, mail.WithPort(port))
	opts = append(opts, mail.WithTLSConfig(&tls.Config{ServerName: s.Host, InsecureSkipVerify: s.InsecureSkipVerify, MinVersion: tls.VersionTLS12}))
	if s.Username != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover), mail.WithUsername(s.Username), mail.WithPassword(s.Password.Reveal()))
	}
	return mail.NewClient(s.Host, opts...)
}

func (s *Sink) timeout() time.Duration {
	if s.Timeout <= 0 {
		return 30 * time.Second
	}
	return s.Timeout
}

// Notify sends one mail per message over one connection. Connection
// failures and 4xx SMTP replies are temporary; 5xx replies permanent.
func (s *Sink) Notify(ctx context.Context, msgs ...notify.Message) (bool, error) {
	if err := s.Validate(); err != nil {
		return false, err
	}
	c, err := s.client()
	if err != nil {
		return false, s.wrap(err)
	}
	var ms []*mail.Msg
	for _, m := range msgs {
		mm := mail.NewMsg()
		if err := mm.From(s.From); err != nil {
			return false, fmt.Errorf("email: from %q: %w", s.From, err)
		}
		if err := mm.To(s.To...); err != nil {
			return false, fmt.Errorf("email: to: %w", err)
		}
		mm.Subject(m.Subject())
		mm.SetDateWithValue(m.Time)
		mm.SetMessageID()
		mm.SetGenHeader("X-Diskwatch-Alert", notify.OneLine(m.Alert.Key))
		mm.SetGenHeader("X-Diskwatch-Event", string(m.Kind))
		mm.SetBodyString(mail.TypeTextPlain, m.Body())
		ms = append(ms, mm)
	}
	if err := c.DialAndSendWithContext(ctx, ms...); err != nil {
		return retryable(err), s.wrap(err)
	}
	return false, nil
}

func (s *Sink) wrap(err error) error {
	return notify.RedactedError(fmt.Errorf("email via %s: %w", net.JoinHostPort(s.Host, fmt.Sprint(s.Port)), err), s.Password.Reveal())
}

// retryable: SMTP 5xx replies are permanent, everything else (network,
// 4xx, TLS) is worth another try.
func retryable(err error) bool {
	var se *mail.SendError
	if errors.As(err, &se) && se.IsTemp() {
		return true
	}
	msg := err.Error()
	for _, c := range []string{" 550 ", " 551 ", " 552 ", " 553 ", " 554 ", " 535 ", " 530 "} {
		if strings.Contains(" "+msg+" ", c) {
			return false
		}
	}
	return true
}
