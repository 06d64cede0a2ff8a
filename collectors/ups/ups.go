// Package ups collects UPS status from NUT (upsd) and apcupsd servers
// named by URLs:
//
//	nut://[user:pass@]host[:port][/upsname][?tls=try|require&tls_ca=FILE&tls_insecure=1]
//	apcupsd://host[:port]
//
// Without a upsname every UPS the upsd serves is read. A URL's String()
// never shows the password.
package ups

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/diskwatch/diskwatch/collectors"
	"github.com/diskwatch/diskwatch/collectors/model"
	"github.com/diskwatch/diskwatch/collectors/ups/apcupsd"
	"github.com/diskwatch/diskwatch/collectors/ups/nut"
)

// Default ports.
const (
	NUTPort     = 3493
	APCUPSDPort = 3551
)

// Target is one parsed UPS URL.
type Target struct {
	Scheme   string // "nut" or "apcupsd"
	Host     string // host:port
	UPS      string // NUT UPS name; "" = all
	User     string
	Password string
	TLS      nut.TLSMode
	// TLSInsecure skips certificate verification (tls_insecure=1).
	TLSInsecure bool
	// TLSCAFile (tls_ca=FILE) holds the PEM certificates upsd's
	// certificate is verified against, instead of the system's; LoadCA
	// reads it into RootCAs.
	TLSCAFile string
	RootCAs   *x509.CertPool
}

// LoadCA reads TLSCAFile with read (the caller's file access) into
// RootCAs. Without TLSCAFile it does nothing.
func (t *Target) LoadCA(read func(string) ([]byte, error)) error {
	if t.TLSCAFile == "" {
		return nil
	}
	b, err := read(t.TLSCAFile)
	if err != nil {
		return fmt.Errorf("UPS %s: tls_ca: %w", t, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return fmt.Errorf("UPS %s: tls_ca %s: no PEM certificate in it", t, t.TLSCAFile)
	}
	t.RootCAs = pool
	return nil
}

// String renders the target without its password.
func (t Target) String() string {
	s := t.Scheme + "://"
	if t.User != "" {
		s += t.User + ":***@"
	}
	s += t.Host
	if t.UPS != "" {
		s += "/" + t.UPS
	}
	return s
}

// ParseURL parses a UPS URL. Its errors never contain the password.
func ParseURL(raw string) (Target, error) {
	var t Target
	u, err := url.Parse(raw)
	if err != nil {
		// url's errors quote the whole URL, password included.
		return t, fmt.Errorf("UPS URL %q: not a valid URL", redact(raw))
	}
	t.Scheme = u.Scheme
	port := 0
	switch u.Scheme {
	case "nut":
		port = NUTPort
	case "apcupsd":
		port = APCUPSDPort
	default:
		return t, fmt.Errorf("UPS URL %q: scheme must be nut:// or apcupsd://", redact(raw))
	}
	if u.Opaque != "" || u.Hostname() == "" {
		return t, fmt.Errorf("UPS URL %q: no host (write %s://HOST[:PORT]...)", redact(raw), u.Scheme)
	}
	host := u.Hostname()
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return t, fmt.Errorf("UPS URL %q: bad port %q", redact(raw), p)
		}
		port = n
	}
	t.Host = net.JoinHostPort(host, strconv.Itoa(port))
	if u.User != nil {
		if u.Scheme != "nut" {
			return t, fmt.Errorf("UPS URL %q: apcupsd takes no user name or password", redact(raw))
		}
		t.User = u.User.Username()
		t.Password, _ = u.User.Password()
	}
	name := strings.Trim(u.Path, "/")
	if u.Scheme == "apcupsd" && name != "" {
		return t, fmt.Errorf("UPS URL %q: apcupsd serves one UPS: no /NAME", redact(raw))
	}
	if strings.ContainsAny(name, "/ \t\"\\") {
		return t, fmt.Errorf("UPS URL %q: bad UPS name %q", redact(raw), name)
	}
	t.UPS = name
	q := u.Query()
	for k := range q {
		switch k {
		case "tls", "tls_insecure", "tls_ca":
			if u.Scheme != "nut" {
				return t, fmt.Errorf("UPS URL %q: %s applies to nut:// only", redact(raw), k)
			}
		default:
			return t, fmt.Errorf("UPS URL %q: unknown option %q (known: tls, tls_ca, tls_insecure)", redact(raw), k)
		}
	}
	switch q.Get("tls") {
	case "", "off":
	case "try":
		t.TLS = nut.TLSTry
	case "require":
		t.TLS = nut.TLSRequire
	default:
		return t, fmt.Errorf("UPS URL %q: tls must be off, try or require", redact(raw))
	}
	t.TLSCAFile = q.Get("tls_ca")
	if t.TLSCAFile != "" && !strings.HasPrefix(t.TLSCAFile, "/") {
		return t, fmt.Errorf("UPS URL %q: tls_ca must be an absolute path", redact(raw))
	}
	switch q.Get("tls_insecure") {
	case "", "0", "false":
	case "1", "true":
		t.TLSInsecure = true
	default:
		return t, fmt.Errorf("UPS URL %q: tls_insecure must be 0 or 1", redact(raw))
	}
	return t, nil
}

// redact hides the password of a URL-looking string, even an invalid one.
func redact(raw string) string {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return model.Clean(raw)
	}
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return model.Clean(raw)
	}
	cred := rest[:at]
	if user, _, hasPass := strings.Cut(cred, ":"); hasPass {
		cred = user + ":***"
	}
	return model.Clean(scheme + "://" + cred + rest[at:])
}

// Collector reads every target each cycle, over a fresh connection.
type Collector struct {
	Targets []Target
	// Timeout bounds the connect and each reply (default 5 s).
	Timeout time.Duration
}

// New returns a collector for targets.
func New(targets []Target, timeout time.Duration) *Collector {
	return &Collector{Targets: targets, Timeout: timeout}
}

// Collect fills out.UPS. An unreachable server or UPS still yields a UPS
// entry (Reachable false) so that communication loss is a finding, and its
// error is returned joined with the others.
func (c *Collector) Collect(ctx context.Context, out *model.Snapshot) error {
	if len(c.Targets) == 0 {
		return fmt.Errorf("no UPS configured: %w", collectors.ErrAbsent)
	}
	var errs []error
	for _, t := range c.Targets {
		us, err := c.collectOne(ctx, t)
		out.UPS = append(out.UPS, us...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (c *Collector) collectOne(ctx context.Context, t Target) ([]model.UPS, error) {
	switch t.Scheme {
	case "apcupsd":
		return c.collectAPC(ctx, t)
	default:
		return c.collectNUT(ctx, t)
	}
}

// Name is the UPS identity used as subject: "ups@host:port" for NUT,
// "apcupsd@host:port".
func Name(t Target, ups string) string {
	if t.Scheme == "apcupsd" {
		return "apcupsd@" + t.Host
	}
	if ups == "" {
		ups = "*"
	}
	return ups + "@" + t.Host
}

func unreachable(t Target, ups string, err error) model.UPS {
	return model.UPS{Name: Name(t, ups), Source: t.Scheme, Status: []string{}, Reachable: false, Error: model.Clean(err.Error())}
}

func (c *Collector) collectAPC(ctx context.Context, t Target) ([]model.UPS, error) {
	recs, err := apcupsd.Query(ctx, t.Host, "status", c.Timeout)
	if err != nil {
		return []model.UPS{unreachable(t, "", err)}, err
	}
	st, perr := apcupsd.ParseStatus(recs)
	u := apcupsd.ToUPS(Name(t, ""), st)
	if perr != nil {
		perr = fmt.Errorf("apcupsd %s: status: %w", t.Host, perr)
	}
	return []model.UPS{u}, perr
}

func (c *Collector) collectNUT(ctx context.Context, t Target) ([]model.UPS, error) {
	opt := nut.Options{User: t.User, Password: t.Password, TLS: t.TLS, ConnectTimeout: c.Timeout, ReplyTimeout: c.Timeout}
	if t.TLSInsecure || t.RootCAs != nil {
		opt.TLSConfig = &tls.Config{InsecureSkipVerify: t.TLSInsecure, RootCAs: t.RootCAs}
	}
	cl, err := nut.Dial(ctx, t.Host, opt)
	if err != nil {
		return []model.UPS{unreachable(t, t.UPS, err)}, err
	}
	defer cl.Close()
	names := []string{t.UPS}
	if t.UPS == "" {
		list, err := cl.ListUPS(ctx)
		if err != nil {
			return []model.UPS{unreachable(t, "", err)}, err
		}
		if len(list) == 0 {
			return nil, fmt.Errorf("upsd %s serves no UPS: %w", t.Host, collectors.ErrAbsent)
		}
		names = names[:0]
		for _, e := range list {
			names = append(names, e.Name)
		}
	}
	var out []model.UPS
	var errs []error
	for _, n := range names {
		vars, err := cl.ListVars(ctx, n)
		if err != nil {
			var re *nut.ReplyError
			if errors.As(err, &re) && re.Stale() {
				// upsd is fine; the driver lost the UPS: communication lost,
				// a finding rather than a collector failure.
				u := unreachable(t, n, err)
				out = append(out, u)
				continue
			}
			out = append(out, unreachable(t, n, err))
			errs = append(errs, err)
			if cl.Broken() {
				// The connection is no longer usable.
				for _, rest := range names[len(out):] {
					out = append(out, unreachable(t, rest, err))
				}
				break
			}
			continue
		}
		u := nut.ToUPS(Name(t, n), vars)
		// Who would shut down on this UPS: upsd's logged-in clients. An
		// upsd that does not know LIST CLIENT (before NUT 2.8) answers ERR:
		// unknown, and the connection stays usable.
		if cs, err := cl.ListClients(ctx, n); err == nil {
			u.Clients = cs
		}
		out = append(out, u)
	}
	return out, errors.Join(errs...)
}
