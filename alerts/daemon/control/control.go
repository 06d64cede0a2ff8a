// Package control is the running daemon's local control socket
// (STATE/control.sock, mode 0600, the daemon's own user only): while the
// daemon holds the history store, `diskwatch report`, `ack` and `check`
// read the history through it, and `ack` records its baseline through it.
//
// Why a socket and not a shared store: the store (bbolt) takes an
// exclusive file lock for a writer and a shared one for a reader, so no
// other process can even read it while the daemon has it open, and
// reopening it every round would make the daemon's own writes wait for
// readers. With one process owning the store nothing is lost or blocked:
// readers get consistent answers between two appends, and an
// acknowledgement is written by the process whose rules read it, so it
// takes effect in the daemon's next round.
package control

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/diskwatch/diskwatch/alerts/rules"
)

// SocketName is the socket's name in the state directory.
const SocketName = "control.sock"

// Store is what the socket serves: the daemon's history store.
type Store interface {
	Series(subject, metric string, since time.Time) ([]rules.Point, error)
	Baseline(subject, metric string) (rules.Point, bool)
	Latest(subject string) (map[string]rules.Point, error)
	Subjects() ([]string, error)
	Ack(ctx context.Context, subject, metric string, t time.Time, v float64) error
}

// Serve listens on dir/control.sock and answers until ctx ends. A stale
// socket left by a crashed daemon is replaced.
func Serve(ctx context.Context, dir string, st Store, snapshot func() any) (*http.Server, error) {
	path := filepath.Join(dir, SocketName)
	os.Remove(path)
	old := unix.Umask(0o177)
	ln, err := net.Listen("unix", path)
	unix.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket: %w", err)
	}
	mux := http.NewServeMux()
	reply := func(w http.ResponseWriter, v any, err error) {
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(v)
	}
	mux.HandleFunc("GET /history/series", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		since, _ := time.Parse(time.RFC3339Nano, q.Get("since"))
		ps, err := st.Series(q.Get("subject"), q.Get("metric"), since)
		reply(w, ps, err)
	})
	mux.HandleFunc("GET /history/baseline", func(w http.ResponseWriter, r *http.Request) {
		p, ok := st.Baseline(r.URL.Query().Get("subject"), r.URL.Query().Get("metric"))
		reply(w, baseline{p, ok}, nil)
	})
	mux.HandleFunc("GET /history/latest", func(w http.ResponseWriter, r *http.Request) {
		m, err := st.Latest(r.URL.Query().Get("subject"))
		reply(w, m, err)
	})
	mux.HandleFunc("GET /history/subjects", func(w http.ResponseWriter, r *http.Request) {
		s, err := st.Subjects()
		reply(w, s, err)
	})
	mux.HandleFunc("POST /ack", func(w http.ResponseWriter, r *http.Request) {
		var a ack
		err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&a)
		if err == nil {
			err = st.Ack(r.Context(), a.Subject, a.Metric, a.Time, a.Value)
		}
		reply(w, struct{}{}, err)
	})
	mux.HandleFunc("GET /snapshot", func(w http.ResponseWriter, r *http.Request) { reply(w, snapshot(), nil) })
	srv := &http.Server{Handler: sameUser(mux), ReadHeaderTimeout: 10 * time.Second, ConnContext: peerUID}
	go srv.Serve(ln)
	go func() {
		<-ctx.Done()
		srv.Close()
		os.Remove(path)
	}()
	return srv, nil
}

type baseline struct {
	Point rules.Point `json:"point"`
	OK    bool        `json:"ok"`
}

type ack struct {
	Subject string    `json:"subject"`
	Metric  string    `json:"metric"`
	Time    time.Time `json:"time"`
	Value   float64   `json:"value"`
}

type connKey struct{}

// peerUID records the connecting process's user (SO_PEERCRED).
func peerUID(ctx context.Context, c net.Conn) context.Context {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return ctx
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return ctx
	}
	raw.Control(func(fd uintptr) {
		if cred, err := unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED); err == nil {
			ctx = context.WithValue(ctx, connKey{}, int(cred.Uid))
		}
	})
	return ctx
}

// sameUser refuses a peer of another user (root excepted) as a second
// fence behind the socket's mode.
func sameUser(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if uid, ok := r.Context().Value(connKey{}).(int); ok && uid != 0 && uid != os.Getuid() {
			http.Error(w, "not your daemon", http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// Client talks to a running daemon's socket. It implements rules.History
// and rules.Baselines, so trend rules and the report read the daemon's
// history through it.
type Client struct {
	hc  *http.Client
	ctx context.Context
}

// ErrNoDaemon means no daemon answers on the socket.
var ErrNoDaemon = errors.New("no daemon answers on the control socket")

// Dial returns a client for the daemon owning dir, after checking it
// answers.
func Dial(ctx context.Context, dir string) (*Client, error) {
	path := filepath.Join(dir, SocketName)
	c := &Client{ctx: ctx, hc: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", path)
		}}}}
	var subjects []string
	if err := c.get("/history/subjects", nil, &subjects); err != nil {
		return nil, fmt.Errorf("%w (%s): %v", ErrNoDaemon, path, err)
	}
	return c, nil
}

func (c *Client) get(p string, q url.Values, v any) error {
	req, err := http.NewRequestWithContext(c.ctx, http.MethodGet, "http://daemon"+p+"?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	return c.do(req, v)
}

func (c *Client) do(req *http.Request, v any) error {
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var b [512]byte
		n, _ := resp.Body.Read(b[:])
		return fmt.Errorf("daemon: %s: %s", resp.Status, b[:n])
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// Series implements rules.History.
func (c *Client) Series(subject, metric string, since time.Time) (ps []rules.Point, err error) {
	err = c.get("/history/series", url.Values{"subject": {subject}, "metric": {metric}, "since": {since.Format(time.RFC3339Nano)}}, &ps)
	return ps, err
}

// Baseline implements rules.Baselines.
func (c *Client) Baseline(subject, metric string) (rules.Point, bool) {
	var b baseline
	if err := c.get("/history/baseline", url.Values{"subject": {subject}, "metric": {metric}}, &b); err != nil {
		return rules.Point{}, false
	}
	return b.Point, b.OK
}

// Latest returns the newest reading of each metric of subject.
func (c *Client) Latest(subject string) (m map[string]rules.Point, err error) {
	err = c.get("/history/latest", url.Values{"subject": {subject}}, &m)
	return m, err
}

// Subjects lists the stored subjects.
func (c *Client) Subjects() (s []string, err error) {
	err = c.get("/history/subjects", nil, &s)
	return s, err
}

// Ack records an acknowledged value in the daemon's store.
func (c *Client) Ack(ctx context.Context, subject, metric string, t time.Time, v float64) error {
	b, _ := json.Marshal(ack{subject, metric, t, v})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://daemon/ack", bytesReader(b))
	if err != nil {
		return err
	}
	var out struct{}
	return c.do(req, &out)
}

// Close releases idle connections.
func (c *Client) Close() error {
	c.hc.CloseIdleConnections()
	return nil
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
