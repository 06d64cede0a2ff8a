package nut

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"
)

// TLSMode says whether the client asks upsd for STARTTLS.
type TLSMode int

// TLS modes.
const (
	// TLSOff never asks for TLS.
	TLSOff TLSMode = iota
	// TLSTry asks for STARTTLS and goes on in clear text when upsd says
	// the feature is not configured or not supported.
	TLSTry
	// TLSRequire fails when upsd does not offer TLS.
	TLSRequire
)

// Options configure a connection.
type Options struct {
	// User and Password are sent with USERNAME / PASSWORD when User is set.
	// The password never appears in an error.
	User, Password string
	TLS            TLSMode
	// TLSConfig is used for STARTTLS (ServerName defaults to the host).
	TLSConfig *tls.Config
	// ConnectTimeout bounds the TCP connect (default 5 s); ReplyTimeout
	// bounds each request and its whole reply (default 5 s). The context's
	// deadline, when earlier, wins.
	ConnectTimeout, ReplyTimeout time.Duration
}

// maxListItems bounds a LIST reply, so a runaway server cannot make the
// client eat memory.
const maxListItems = 20000

// Client is one connection to upsd. It is not safe for concurrent use.
type Client struct {
	conn         net.Conn
	r            *bufio.Reader
	replyTimeout time.Duration
	addr         string
	// broken is set after an I/O or framing error: the connection is out
	// of step and Close does not say LOGOUT on it.
	broken bool
}

// Dial connects to upsd at addr (host:port), does STARTTLS and logs in as
// the options ask.
func Dial(ctx context.Context, addr string, o Options) (*Client, error) {
	ct := o.ConnectTimeout
	if ct <= 0 {
		ct = 5 * time.Second
	}
	d := net.Dialer{Timeout: ct}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("connect %s: %w", addr, dialCause(err))
	}
	c := &Client{conn: conn, r: bufio.NewReaderSize(conn, 4096), replyTimeout: o.ReplyTimeout, addr: addr}
	if c.replyTimeout <= 0 {
		c.replyTimeout = 5 * time.Second
	}
	if o.TLS != TLSOff {
		if err := c.startTLS(ctx, addr, o); err != nil {
			conn.Close()
			return nil, err
		}
	}
	if o.User != "" {
		if err := c.simple(ctx, "USERNAME", "USERNAME "+Quote(o.User)); err != nil {
			c.conn.Close()
			return nil, err
		}
		if !validArg(o.Password) {
			c.conn.Close()
			return nil, fmt.Errorf("upsd %s: PASSWORD: the password holds a control character", addr)
		}
		if err := c.simple(ctx, "PASSWORD", "PASSWORD "+Quote(o.Password)); err != nil {
			c.conn.Close()
			return nil, err
		}
	}
	return c, nil
}

func (c *Client) startTLS(ctx context.Context, addr string, o Options) error {
	err := c.simple(ctx, "STARTTLS", "STARTTLS")
	var re *ReplyError
	if errors.As(err, &re) && (re.Code == "FEATURE-NOT-CONFIGURED" || re.Code == "FEATURE-NOT-SUPPORTED") {
		if o.TLS == TLSRequire {
			return fmt.Errorf("upsd %s: TLS required but not offered (%s)", addr, re.Code)
		}
		return nil
	}
	if err != nil {
		return err
	}
	cfg := &tls.Config{}
	if o.TLSConfig != nil {
		cfg = o.TLSConfig.Clone()
	}
	if cfg.ServerName == "" {
		host, _, _ := net.SplitHostPort(addr)
		cfg.ServerName = host
	}
	tc := tls.Client(c.conn, cfg)
	hctx, cancel := context.WithTimeout(ctx, c.replyTimeout)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		return fmt.Errorf("upsd %s: TLS handshake: %w", addr, err)
	}
	c.conn = tc
	c.r = bufio.NewReaderSize(tc, 4096)
	return nil
}

// begin sets the deadline of one request and arms cancellation by ctx.
func (c *Client) begin(ctx context.Context) (end func()) {
	dl := time.Now().Add(c.replyTimeout) // an I/O deadline, not a reading time
	if d, ok := ctx.Deadline(); ok && d.Before(dl) {
		dl = d
	}
	c.conn.SetDeadline(dl)
	stop := context.AfterFunc(ctx, func() { c.conn.SetDeadline(time.Unix(1, 0)) })
	return func() { stop() }
}

func (c *Client) send(line string) error {
	_, err := io.WriteString(c.conn, line+"\n")
	if err != nil {
		c.broken = true
	}
	return err
}

// readLine reads one reply line of at most maxLine bytes.
func (c *Client) readLine() (string, error) {
	l, err := c.readLine1()
	if err != nil {
		c.broken = true
	}
	return l, err
}

func (c *Client) readLine1() (string, error) {
	var buf []byte
	for {
		part, err := c.r.ReadSlice('\n')
		buf = append(buf, part...)
		if len(buf) > maxLine {
			return "", fmt.Errorf("%w: line longer than %d bytes", ErrSyntax, maxLine)
		}
		if err == nil {
			return string(buf), nil
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if errors.Is(err, io.EOF) {
			if len(buf) > 0 {
				return "", fmt.Errorf("connection closed mid-line: %w", io.ErrUnexpectedEOF)
			}
			return "", fmt.Errorf("connection closed by upsd: %w", io.ErrUnexpectedEOF)
		}
		return "", err
	}
}

// simple sends a request whose answer is one "OK ..." line. what names the
// step in errors (never the argument: it may be a password).
func (c *Client) simple(ctx context.Context, what, line string) error {
	defer c.begin(ctx)()
	if err := c.send(line); err != nil {
		return fmt.Errorf("upsd %s: %s: %w", c.addr, what, err)
	}
	l, err := c.readLine()
	if err != nil {
		return fmt.Errorf("upsd %s: %s: %w", c.addr, what, err)
	}
	w, err := ParseReply(l)
	if err != nil {
		c.markIfSyntax(err)
		return fmt.Errorf("upsd %s: %s: %w", c.addr, what, err)
	}
	if w[0] != "OK" {
		return fmt.Errorf("upsd %s: %s: %w: expected OK, got %q", c.addr, what, ErrSyntax, clip(l))
	}
	return nil
}

// list sends "LIST what args..." and returns the item lines' words (each
// starting with the item keyword, e.g. "VAR").
func (c *Client) list(ctx context.Context, args ...string) ([][]string, error) {
	what := "LIST " + args[0]
	for _, a := range args {
		if !validArg(a) {
			return nil, fmt.Errorf("upsd %s: %s: argument holds a control character", c.addr, what)
		}
	}
	req := "LIST"
	for _, a := range args {
		req += " " + Quote(a)
	}
	defer c.begin(ctx)()
	if err := c.send(req); err != nil {
		return nil, fmt.Errorf("upsd %s: %s: %w", c.addr, what, err)
	}
	l, err := c.readLine()
	if err != nil {
		return nil, fmt.Errorf("upsd %s: %s: %w", c.addr, what, err)
	}
	w, err := ParseReply(l)
	if err != nil {
		c.markIfSyntax(err)
		return nil, fmt.Errorf("upsd %s: %s: %w", c.addr, what, err)
	}
	if !headerMatches(w, "BEGIN", args) {
		c.broken = true
		return nil, fmt.Errorf("upsd %s: %s: %w: expected BEGIN LIST, got %q", c.addr, what, ErrSyntax, clip(l))
	}
	var items [][]string
	for {
		l, err := c.readLine()
		if err != nil {
			return nil, fmt.Errorf("upsd %s: %s: after %d items: %w", c.addr, what, len(items), err)
		}
		w, err := ParseReply(l)
		if err != nil {
			c.broken = true // an ERR or a bad line inside a list: out of step
			return nil, fmt.Errorf("upsd %s: %s: after %d items: %w", c.addr, what, len(items), err)
		}
		if w[0] == "END" {
			if !headerMatches(w, "END", args) {
				return nil, fmt.Errorf("upsd %s: %s: %w: mismatched %q", c.addr, what, ErrSyntax, clip(l))
			}
			return items, nil
		}
		if len(items) >= maxListItems {
			return nil, fmt.Errorf("upsd %s: %s: more than %d items", c.addr, what, maxListItems)
		}
		items = append(items, w)
	}
}

// markIfSyntax marks the connection broken unless err is an ERR reply
// (after which upsd and the client are still in step).
func (c *Client) markIfSyntax(err error) {
	var re *ReplyError
	if !errors.As(err, &re) {
		c.broken = true
	}
}

// headerMatches checks "BEGIN LIST VAR ups" / "END LIST VAR ups".
func headerMatches(w []string, kw string, args []string) bool {
	if len(w) != len(args)+2 || w[0] != kw || w[1] != "LIST" {
		return false
	}
	for i, a := range args {
		if w[i+2] != a {
			return false
		}
	}
	return true
}

// UPSEntry is one line of LIST UPS.
type UPSEntry struct {
	Name, Description string
}

// ListUPS lists the UPSes upsd serves.
func (c *Client) ListUPS(ctx context.Context) ([]UPSEntry, error) {
	items, err := c.list(ctx, "UPS")
	if err != nil {
		return nil, err
	}
	var out []UPSEntry
	for _, w := range items {
		if len(w) != 3 || w[0] != "UPS" {
			return nil, fmt.Errorf("upsd %s: LIST UPS: %w: unexpected item %q", c.addr, ErrSyntax, clip(fmt.Sprint(w)))
		}
		out = append(out, UPSEntry{w[1], w[2]})
	}
	return out, nil
}

// ListVars returns every variable of ups.
func (c *Client) ListVars(ctx context.Context, ups string) (map[string]string, error) {
	items, err := c.list(ctx, "VAR", ups)
	if err != nil {
		return nil, err
	}
	vars := make(map[string]string, len(items))
	for _, w := range items {
		if len(w) != 4 || w[0] != "VAR" || w[1] != ups {
			return nil, fmt.Errorf("upsd %s: LIST VAR %s: %w: unexpected item %q", c.addr, ups, ErrSyntax, clip(fmt.Sprint(w)))
		}
		vars[w[2]] = w[3]
	}
	return vars, nil
}

// ListClients returns the addresses of the clients logged into ups (NUT
// 2.8's LIST CLIENT: upsmon instances that sent LOGIN for it).
func (c *Client) ListClients(ctx context.Context, ups string) ([]string, error) {
	items, err := c.list(ctx, "CLIENT", ups)
	if err != nil {
		return nil, err
	}
	out := []string{}
	for _, w := range items {
		if len(w) != 3 || w[0] != "CLIENT" || w[1] != ups {
			return nil, fmt.Errorf("upsd %s: LIST CLIENT %s: %w: unexpected item %q", c.addr, ups, ErrSyntax, clip(fmt.Sprint(w)))
		}
		out = append(out, w[2])
	}
	return out, nil
}

// Broken reports whether the connection is out of step after an I/O or
// framing error; it must not be used for more requests.
func (c *Client) Broken() bool { return c.broken }

// Close says LOGOUT (briefly waiting for the goodbye) and closes the
// connection.
func (c *Client) Close() error {
	if c.broken {
		return c.conn.Close()
	}
	c.conn.SetDeadline(time.Now().Add(time.Second))
	if c.send("LOGOUT") == nil {
		_, _ = c.readLine()
	}
	return c.conn.Close()
}

// dialCause keeps what a failed dial says once: net's "dial tcp ADDR:
// connect: connection refused" becomes "connection refused" (the address
// and the step are in the caller's words already).
func dialCause(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		var sc *os.SyscallError
		if errors.As(op.Err, &sc) {
			return sc.Err
		}
		return op.Err
	}
	return err
}
