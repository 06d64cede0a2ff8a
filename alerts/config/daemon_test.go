package config

import (
	"strings"
	"testing"
	"time"

	"github.com/diskwatch/diskwatch/alerts/rules"
)

func TestDaemonNotifySections(t *testing.T) {
	c, err := Parse("t.yaml", []byte(`daemon:
  interval: 30s
  collector_intervals: {mdraid: 2m}
  metrics_listen: "off"
notify:
  renotify: 12h
  email: [{host: smtp.example.org, from: a@example.org, to: [b@example.org], password: x}]
  exec: [{argv: [/bin/true]}]
`), rules.Default())
	if err != nil {
		t.Fatal(err)
	}
	if c.Daemon.Interval != 30*time.Second || c.Daemon.Collectors["mdraid"] != 2*time.Minute || *c.Daemon.MetricsListen != "off" || c.Notify.Renotify != 12*time.Hour {
		t.Errorf("parsed %+v %+v", c.Daemon, c.Notify)
	}
	for in, want := range map[string]string{
		"daemon:\n  interval: soon\n":                                  "t.yaml:2",
		"daemon:\n  jitter: 2\n":                                       "jitter must be between 0 and 0.5",
		"notify:\n  webhook: [{url: ftp://x}]\n":                       "webhook[0]: url must start with http",
		"notify:\n  exec: [{argv: []}]\n":                              "exec[0]: argv must name a program",
		"notify:\n  email: [{host: h, from: f, to: [t], tls: ssl3}]\n": "tls must be starttls",
		"notify:\n  min_severity: OK\n":                                "min_severity must be",
		"notify:\n  pager: {}\n":                                       "t.yaml:2",
	} {
		_, err := Parse("t.yaml", []byte(in), rules.Default())
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err %v, want %q", in, err, want)
		}
	}
}
