package notify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/diskwatch/diskwatch/alerts/lifecycle"
	"github.com/diskwatch/diskwatch/alerts/notify"
	"github.com/diskwatch/diskwatch/alerts/notify/alertmanager"
	"github.com/diskwatch/diskwatch/alerts/notify/execsink"
	"github.com/diskwatch/diskwatch/alerts/notify/logsink"
	"github.com/diskwatch/diskwatch/alerts/notify/syslog"
)

func TestAlertmanagerConvert(t *testing.T) {
	s := &alertmanager.Sink{TTL: time.Hour, Labels: map[string]string{"env": "prod"}}
	f := s.Convert(msg(lifecycle.Firing))
	if f.Labels["alertname"] != "md.degraded" || f.Labels["severity"] != "critical" || f.Labels["env"] != "prod" || f.Labels["instance"] != "host1" || f.Labels["subject"] != "md0" {
		t.Errorf("labels %v", f.Labels)
	}
	if !f.EndsAt.Equal(t0.Add(time.Hour)) || !f.StartsAt.Equal(t0) {
		t.Errorf("firing: startsAt %s endsAt %s", f.StartsAt, f.EndsAt)
	}
	if !strings.Contains(f.Annotations["summary"], "CRITICAL") || f.Annotations["description"] != "md0 is degraded" {
		t.Errorf("annotations %v", f.Annotations)
	}
	r := msg(lifecycle.Resolved)
	r.Alert.EndsAt = t0.Add(10 * time.Minute)
	if got := s.Convert(r); !got.EndsAt.Equal(t0.Add(10 * time.Minute)) {
		t.Errorf("resolved endsAt %s", got.EndsAt)
	}
}

// The exec sink runs an argv (no shell: metacharacters stay literal), with
// DISKWATCH_* variables and the JSON message on stdin; a missing program
// is permanent, a failing or hung one temporary.
func TestExecSink(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "rec")
	os.WriteFile(script, []byte("#!/bin/sh\nprintf '%s\\n' \"$@\" > \"$OUTDIR/args\"\nenv > \"$OUTDIR/env\"\ncat > \"$OUTDIR/stdin\"\n"), 0o755)
	m := msg(lifecycle.Firing)
	m.Alert.Message = "evil; $(reboot) `id`\nsecond"
	s := &execsink.Sink{Argv: []string{script, "--team", "a b; rm -rf /"}, Env: []string{"OUTDIR=" + dir}}
	if retry, err := s.Notify(context.Background(), m); err != nil {
		t.Fatalf("retry=%v err=%v", retry, err)
	}
	args, _ := os.ReadFile(filepath.Join(dir, "args"))
	if string(args) != "--team\na b; rm -rf /\n" {
		t.Errorf("argv not passed as is: %q", args)
	}
	env, _ := os.ReadFile(filepath.Join(dir, "env"))
	for _, want := range []string{"DISKWATCH_RULE=md.degraded", "DISKWATCH_SEVERITY=CRITICAL", "DISKWATCH_KIND=firing", "DISKWATCH_HOST=host1", "DISKWATCH_MESSAGE=evil; $(reboot) `id` second"} {
		if !strings.Contains(string(env), want+"\n") {
			t.Errorf("env lacks %q:\n%s", want, env)
		}
	}
	var got notify.Message
	in, _ := os.ReadFile(filepath.Join(dir, "stdin"))
	if err := json.Unmarshal(in, &got); err != nil || got.Alert.Key != m.Alert.Key {
		t.Errorf("stdin: %v %s", err, in)
	}
	if retry, err := (&execsink.Sink{Argv: []string{filepath.Join(dir, "missing")}}).Notify(context.Background(), m); err == nil || retry {
		t.Errorf("missing program: retry=%v err=%v (want permanent)", retry, err)
	}
	os.WriteFile(filepath.Join(dir, "fail"), []byte("#!/bin/sh\necho busy >&2\nexit 75\n"), 0o755)
	if retry, err := (&execsink.Sink{Argv: []string{filepath.Join(dir, "fail")}}).Notify(context.Background(), m); err == nil || !retry || !strings.Contains(err.Error(), "busy") {
		t.Errorf("failing program: retry=%v err=%v (want temporary, with stderr)", retry, err)
	}
	os.WriteFile(filepath.Join(dir, "hang"), []byte("#!/bin/sh\nsleep 30\n"), 0o755)
	start := time.Now()
	if retry, err := (&execsink.Sink{Argv: []string{filepath.Join(dir, "hang")}, Timeout: 200 * time.Millisecond}).Notify(context.Background(), m); err == nil || !retry {
		t.Errorf("hung program: retry=%v err=%v", retry, err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("hung program not killed at its timeout")
	}
}

// The syslog path, to a datagram socket the test owns.
func TestSyslogSink(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "log.sock")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s := &syslog.Sink{Network: "unixgram", Addr: sock, Tag: "diskwatch-test"}
	if _, err := s.Notify(context.Background(), msg(lifecycle.Firing), msg(lifecycle.Resolved)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 2048)
	var got []string
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	for i := 0; i < 2; i++ {
		n, _, err := c.ReadFromUnix(buf)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(buf[:n]))
	}
	// <26> = daemon(3)*8 + crit(2); <29> = daemon*8 + notice(5).
	if !strings.HasPrefix(got[0], "<26>") || !strings.Contains(got[0], "diskwatch-test") || !strings.Contains(got[0], "CRITICAL md0") {
		t.Errorf("firing line %q", got[0])
	}
	if !strings.HasPrefix(got[1], "<29>") || !strings.Contains(got[1], "RESOLVED") {
		t.Errorf("resolved line %q", got[1])
	}
}

func TestLogSink(t *testing.T) {
	var b bytes.Buffer
	logsink.Sink{Log: zerolog.New(&b)}.Notify(context.Background(), msg(lifecycle.Firing), msg(lifecycle.Resolved))
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"level":"error"`) || !strings.Contains(lines[1], `"level":"info"`) || !strings.Contains(lines[1], `"event":"resolved"`) {
		t.Errorf("log lines:\n%s", b.String())
	}
}
