package nut

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"
)

// fakeUpsd serves one scripted connection at a time: handle gets each
// request line and returns the raw reply text ("" = send nothing and
// keep the connection open: a hang). It stands in for upsd misbehaving.
type fakeUpsd struct {
	l      net.Listener
	handle func(req string, c net.Conn) (reply string, upgrade bool)
	reqs   chan string
}

func newFake(t *testing.T, handle func(req string, c net.Conn) (string, bool), tlsCfg *tls.Config) *fakeUpsd {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeUpsd{l: l, handle: handle, reqs: make(chan string, 100)}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				var conn net.Conn = c
				r := bufio.NewReader(conn)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					req := strings.TrimSpace(line)
					select {
					case f.reqs <- req:
					default:
					}
					reply, upgrade := f.handle(req, conn)
					if reply == "<close>" {
						return
					}
					if reply != "" {
						conn.Write([]byte(reply))
					}
					if upgrade {
						tc := tls.Server(c, tlsCfg)
						if tc.Handshake() != nil {
							return
						}
						conn = tc
						r = bufio.NewReader(conn)
					}
				}
			}()
		}
	}()
	return f
}

func (f *fakeUpsd) addr() string { return f.l.Addr().String() }

// goodReplies answers like upsd 2.8 with two UPSes.
func goodReplies(req string, _ net.Conn) (string, bool) {
	switch req {
	case "LIST UPS":
		return "BEGIN LIST UPS\nUPS a \"First UPS\"\nUPS b \"Second \\\"B\\\" UPS\"\nEND LIST UPS\n", false
	case "LIST VAR a":
		return "BEGIN LIST VAR a\nVAR a ups.status \"OB DISCHRG\"\nVAR a battery.charge \"87\"\nVAR a ups.model \"Smart \\\\ UPS\"\nEND LIST VAR a\n", false
	case "LIST VAR b":
		return "ERR DATA-STALE\n", false
	case "LOGOUT":
		return "OK Goodbye\n", false
	}
	if strings.HasPrefix(req, "USERNAME ") || strings.HasPrefix(req, "PASSWORD ") {
		return "OK\n", false
	}
	return "ERR UNKNOWN-COMMAND\n", false
}

func TestClientLists(t *testing.T) {
	f := newFake(t, goodReplies, nil)
	ctx := context.Background()
	c, err := Dial(ctx, f.addr(), Options{User: "mon", Password: "s3cret word"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ups, err := c.ListUPS(ctx)
	if err != nil || len(ups) != 2 || ups[1].Description != `Second "B" UPS` {
		t.Fatalf("%v %+v", err, ups)
	}
	vars, err := c.ListVars(ctx, "a")
	if err != nil || vars["ups.status"] != "OB DISCHRG" || vars["ups.model"] != `Smart \ UPS` {
		t.Fatalf("%v %v", err, vars)
	}
	_, err = c.ListVars(ctx, "b")
	var re *ReplyError
	if !errors.As(err, &re) || !re.Stale() {
		t.Fatalf("stale: %v", err)
	}
	// The password went out quoted, on its own request.
	seen := strings.Join(drain(f.reqs), "|")
	if !strings.Contains(seen, `PASSWORD "s3cret word"`) || !strings.Contains(seen, "USERNAME mon") {
		t.Errorf("requests: %s", seen)
	}
}

func drain(ch chan string) []string {
	var out []string
	for {
		select {
		case s := <-ch:
			out = append(out, s)
		default:
			return out
		}
	}
}

func TestClientAccessDeniedHidesPassword(t *testing.T) {
	f := newFake(t, func(req string, c net.Conn) (string, bool) {
		if strings.HasPrefix(req, "PASSWORD") {
			return "ERR ACCESS-DENIED\n", false
		}
		return goodReplies(req, c)
	}, nil)
	_, err := Dial(context.Background(), f.addr(), Options{User: "mon", Password: "hunter2"})
	if err == nil || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "ACCESS-DENIED") {
		t.Fatalf("err %v", err)
	}
}

func TestClientHangsMidReply(t *testing.T) {
	f := newFake(t, func(req string, c net.Conn) (string, bool) {
		if req == "LIST VAR a" {
			return "BEGIN LIST VAR a\nVAR a ups.status \"OL\"\nVAR a battery.ch", false // then silence
		}
		return goodReplies(req, c)
	}, nil)
	ctx := context.Background()
	c, err := Dial(ctx, f.addr(), Options{ReplyTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	_, err = c.ListVars(ctx, "a")
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("want a timeout, got %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("took %v", d)
	}
}

func TestClientContextCancel(t *testing.T) {
	f := newFake(t, func(req string, c net.Conn) (string, bool) {
		if req == "LIST UPS" {
			return "", false
		}
		return goodReplies(req, c)
	}, nil)
	c, err := Dial(context.Background(), f.addr(), Options{ReplyTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	if _, err := c.ListUPS(ctx); err == nil {
		t.Fatal("no error")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("cancel took %v", d)
	}
}

func TestClientGarbage(t *testing.T) {
	for name, reply := range map[string]string{
		"binary":         "\x00\x01\x02\xff\xfe garbage\n",
		"no BEGIN":       "VAR a ups.status \"OL\"\nEND LIST VAR a\n",
		"wrong END":      "BEGIN LIST VAR a\nEND LIST VAR b\n",
		"bad item":       "BEGIN LIST VAR a\nVAR a onlytwo\nEND LIST VAR a\n",
		"other ups item": "BEGIN LIST VAR a\nVAR zz ups.status \"OL\"\nEND LIST VAR a\n",
		"unterminated":   "BEGIN LIST VAR a\nVAR a ups.status \"OL\nEND LIST VAR a\n",
		"huge line":      "BEGIN LIST VAR a\nVAR a x \"" + strings.Repeat("A", maxLine+10) + "\"\n",
		"closed":         "<close>",
	} {
		t.Run(name, func(t *testing.T) {
			f := newFake(t, func(req string, c net.Conn) (string, bool) {
				if req == "LIST VAR a" {
					return reply, false
				}
				return goodReplies(req, c)
			}, nil)
			c, err := Dial(context.Background(), f.addr(), Options{ReplyTimeout: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			vars, err := c.ListVars(context.Background(), "a")
			if err == nil {
				t.Fatalf("no error, vars %v", vars)
			}
			if strings.Contains(err.Error(), "\x00") {
				t.Errorf("raw garbage in error: %q", err)
			}
		})
	}
}

func TestClientConnectRefused(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	if _, err := Dial(context.Background(), addr, Options{}); err == nil {
		t.Fatal("no error")
	}
}

func selfSigned(t *testing.T) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}

func TestClientSTARTTLS(t *testing.T) {
	srv := selfSigned(t)
	f := newFake(t, func(req string, c net.Conn) (string, bool) {
		if req == "STARTTLS" {
			return "OK STARTTLS\n", true
		}
		if _, ok := c.(*tls.Conn); !ok && strings.HasPrefix(req, "LIST") {
			return "ERR ACCESS-DENIED\n", false // refuses clear text
		}
		return goodReplies(req, c)
	}, srv)
	ctx := context.Background()
	// Verification against system roots fails for a self-signed cert.
	if _, err := Dial(ctx, f.addr(), Options{TLS: TLSRequire}); err == nil || !strings.Contains(err.Error(), "TLS handshake") {
		t.Fatalf("unverified cert accepted: %v", err)
	}
	c, err := Dial(ctx, f.addr(), Options{TLS: TLSRequire, TLSConfig: &tls.Config{InsecureSkipVerify: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if ups, err := c.ListUPS(ctx); err != nil || len(ups) != 2 {
		t.Fatalf("%v %v", err, ups)
	}
}

func TestClientSTARTTLSNotOffered(t *testing.T) {
	f := newFake(t, func(req string, c net.Conn) (string, bool) {
		if req == "STARTTLS" {
			return "ERR FEATURE-NOT-CONFIGURED\n", false
		}
		return goodReplies(req, c)
	}, nil)
	ctx := context.Background()
	if _, err := Dial(ctx, f.addr(), Options{TLS: TLSRequire}); err == nil || !strings.Contains(err.Error(), "not offered") {
		t.Fatalf("require: %v", err)
	}
	c, err := Dial(ctx, f.addr(), Options{TLS: TLSTry})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.ListUPS(ctx); err != nil {
		t.Fatal(err)
	}
}
