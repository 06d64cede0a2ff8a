package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DefaultInterval is the scheduler's tick: UPSes and the kernel log are
// read this often (upsmon polls every 5 s).
const DefaultInterval = 10 * time.Second

// DefaultCollectorIntervals are smartd's and mdadm's habits: SMART every
// 30 minutes (smartd -i 1800; CHECK POWER MODE first, a sleeping disk is
// not woken), md arrays, sensors and probes every minute. Collectors not
// named run every tick (UPS, kernel log). Nothing that touches a disk runs
// every tick by default. collector_intervals overrides them one by one.
var DefaultCollectorIntervals = map[string]time.Duration{
	"smart": 30 * time.Minute, "smartctl": 30 * time.Minute, "hwraid": 30 * time.Minute,
	"mdraid": time.Minute, "hwmon": time.Minute, "probes": time.Minute,
}

// Tick is the scheduler's tick: interval, or DefaultInterval.
func (d Daemon) Tick() time.Duration {
	if d.Interval > 0 {
		return d.Interval
	}
	return DefaultInterval
}

// CollectorInterval is how often the collector name runs: its
// collector_intervals entry, else its default, never less than the tick.
func (d Daemon) CollectorInterval(name string) time.Duration {
	if iv, ok := d.Collectors[name]; ok && iv > 0 {
		return iv
	}
	if iv := DefaultCollectorIntervals[name]; iv > d.Tick() {
		return iv
	}
	return d.Tick()
}

// Daemon configures `diskwatch daemon`.
type Daemon struct {
	// Interval is the scheduler's tick: how often due collectors run
	// (default 10s).
	Interval time.Duration `yaml:"interval"`
	// Collectors sets each collector's own interval (name -> duration);
	// the others keep DefaultCollectorIntervals, else run every tick.
	Collectors map[string]time.Duration `yaml:"collector_intervals"`
	// Jitter spreads collector runs by up to this fraction of their
	// interval (default 0.1).
	Jitter *float64 `yaml:"jitter"`
	// Concurrency bounds how many collectors run at once (default 2).
	Concurrency int `yaml:"concurrency"`
	// StateDir holds the alert state, notification queue and snapshot
	// (default /var/lib/diskwatch; --state overrides).
	StateDir string `yaml:"state_dir"`
	// MetricsListen is the Prometheus /metrics address ("" or "off"
	// disables; default 127.0.0.1:9847).
	MetricsListen *string `yaml:"metrics_listen"`
	// SelfAlertAfter: a collector failing this many rounds in a row raises
	// a self-alert (default 3).
	SelfAlertAfter int `yaml:"self_alert_after"`
	// FlushTimeout bounds delivery of pending notifications on stop
	// (default 15s).
	FlushTimeout time.Duration `yaml:"flush_timeout"`
	Heartbeat    Heartbeat     `yaml:"heartbeat"`
}

// Heartbeat proves to an outside monitor that the daemon is alive.
type Heartbeat struct {
	// URL is fetched (GET) after each healthy round, at most every
	// Interval.
	URL string `yaml:"url"`
	// Command is run instead (argv, never a shell).
	Command  []string      `yaml:"command"`
	Interval time.Duration `yaml:"interval"`
}

// Notify configures the alert lifecycle and the sinks.
type Notify struct {
	// Renotify is how often a still-firing alert is sent again (default
	// 24h; "0s" never... use -1s to disable).
	Renotify time.Duration `yaml:"renotify"`
	// ResolveAfter is how many clean rounds resolve an alert (default 2).
	ResolveAfter int `yaml:"resolve_after"`
	// FlapWindow and FlapChanges define flapping (default 1h, 4).
	FlapWindow  time.Duration `yaml:"flap_window"`
	FlapChanges int           `yaml:"flap_changes"`
	// MinSeverity is the least severity that notifies (WARNING default;
	// UNKNOWN also alerts on collectors that cannot read; NOTICE also
	// sends the findings that tell without paging).
	MinSeverity string `yaml:"min_severity"`
	// Host overrides the host name in messages.
	Host string `yaml:"host"`
	// AllowNoSinks lets a reload (SIGHUP) remove every sink: without it,
	// a configuration with none replacing one with some is refused (an
	// emptied file reads as the defaults).
	AllowNoSinks bool `yaml:"allow_no_sinks"`

	Email        []EmailSink        `yaml:"email"`
	Webhook      []WebhookSink      `yaml:"webhook"`
	Exec         []ExecSink         `yaml:"exec"`
	Alertmanager []AlertmanagerSink `yaml:"alertmanager"`
	Syslog       *SyslogSink        `yaml:"syslog"`
}

// EmailSink is one SMTP destination.
type EmailSink struct {
	Host string `yaml:"host"`
	Port int    `yaml:"port"`
	// TLS: starttls (default), opportunistic, tls, none.
	TLS                string   `yaml:"tls"`
	InsecureSkipVerify bool     `yaml:"insecure_skip_verify"`
	Username           string   `yaml:"username"`
	Password           string   `yaml:"password"`
	PasswordFile       string   `yaml:"password_file"`
	From               string   `yaml:"from"`
	To                 []string `yaml:"to"`
}

// WebhookSink is one JSON POST destination.
type WebhookSink struct {
	URL     string            `yaml:"url"`
	Headers map[string]string `yaml:"headers"`
}

// ExecSink is one program run per event.
type ExecSink struct {
	Argv    []string      `yaml:"argv"`
	Timeout time.Duration `yaml:"timeout"`
}

// AlertmanagerSink is one Alertmanager.
type AlertmanagerSink struct {
	URL         string            `yaml:"url"`
	BearerToken string            `yaml:"bearer_token"`
	TTL         time.Duration     `yaml:"ttl"`
	Labels      map[string]string `yaml:"labels"`
}

// SyslogSink writes to the journal or syslog.
type SyslogSink struct {
	Enabled *bool  `yaml:"enabled"`
	Tag     string `yaml:"tag"`
}

// validateDaemon checks the daemon and notify sections; pos gives each
// error its place in the file.
func (c *Config) validateDaemon(file string, pos positions) []error {
	var errs []error
	bad := func(path, msg string, a ...any) { errs = append(errs, pos.errAt(file, path, msg, a...)) }
	d := c.Daemon
	if d.Interval < 0 || (d.Interval > 0 && d.Interval < time.Second) {
		bad("daemon.interval", "daemon: interval must be at least 1s, not %s", d.Interval)
	}
	for n, iv := range d.Collectors {
		if iv < time.Second {
			bad("daemon.collector_intervals."+n, "daemon: collector_intervals: %s must be at least 1s, not %s", n, iv)
		}
	}
	if d.Jitter != nil && (*d.Jitter < 0 || *d.Jitter > 0.5) {
		bad("daemon.jitter", "daemon: jitter must be between 0 and 0.5, not %g", *d.Jitter)
	}
	if d.Concurrency < 0 {
		bad("daemon.concurrency", "daemon: concurrency must be positive")
	}
	if d.MetricsListen != nil && *d.MetricsListen != "" && *d.MetricsListen != "off" {
		if err := checkListen(*d.MetricsListen); err != nil {
			bad("daemon.metrics_listen", "daemon: metrics_listen: %v", err)
		}
	}
	if len(d.Heartbeat.Command) > 0 && d.Heartbeat.URL != "" {
		bad("daemon.heartbeat", "daemon: heartbeat: set url or command, not both")
	}
	if d.Heartbeat.URL != "" {
		if err := checkURL(d.Heartbeat.URL); err != nil {
			bad("daemon.heartbeat.url", "daemon: heartbeat: url %v", err)
		}
	}
	n := c.Notify
	if n.MinSeverity != "" {
		switch strings.ToUpper(n.MinSeverity) {
		case "WARNING", "CRITICAL", "UNKNOWN", "NOTICE":
		default:
			bad("notify.min_severity", "notify: min_severity must be WARNING, CRITICAL, UNKNOWN or NOTICE, not %q%s", n.MinSeverity,
				suggest(strings.ToUpper(n.MinSeverity), []string{"WARNING", "CRITICAL", "UNKNOWN", "NOTICE"}))
		}
	}
	for i, e := range n.Email {
		p := fmt.Sprintf("notify.email[%d]", i)
		if e.Host == "" || e.From == "" || len(e.To) == 0 {
			bad(p, "notify: email[%d]: host, from and to are required", i)
		}
		if e.Port < 0 || e.Port > 65535 {
			bad(p+".port", "notify: email[%d]: port must be 1-65535, not %d", i, e.Port)
		}
		switch e.TLS {
		case "", "starttls", "opportunistic", "tls", "none":
		default:
			bad(p+".tls", "notify: email[%d]: tls must be starttls, opportunistic, tls or none, not %q%s", i, e.TLS,
				suggest(e.TLS, []string{"starttls", "opportunistic", "tls", "none"}))
		}
		if e.Password != "" && e.PasswordFile != "" {
			bad(p, "notify: email[%d]: set password or password_file, not both", i)
		}
	}
	for i, w := range n.Webhook {
		if err := checkURL(w.URL); err != nil {
			bad(fmt.Sprintf("notify.webhook[%d].url", i), "notify: webhook[%d]: url %v", i, err)
		}
	}
	for i, x := range n.Exec {
		if len(x.Argv) == 0 || x.Argv[0] == "" {
			bad(fmt.Sprintf("notify.exec[%d].argv", i), "notify: exec[%d]: argv must name a program (a list: [/path/prog, arg, ...]; no shell)", i)
		}
	}
	for i, a := range n.Alertmanager {
		if err := checkURL(a.URL); err != nil {
			bad(fmt.Sprintf("notify.alertmanager[%d].url", i), "notify: alertmanager[%d]: url %v", i, err)
		}
	}
	return errs
}

// checkListen checks a host:port listen address (port 0-65535; 0 picks a
// free one).
func checkListen(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not HOST:PORT (such as 127.0.0.1:9847 or :9847)", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%q: port %q is not 0-65535", addr, port)
	}
	return nil
}

// checkURL checks an http(s) URL with a host and, when given, a port in
// range. Its text is not repeated: it may carry a secret.
func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("must start with http:// or https:// and name a host")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("has port %q, not 1-65535", p)
		}
	}
	return nil
}
