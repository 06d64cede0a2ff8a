package daemon

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/diskwatch/diskwatch/alerts/assemble"
	"github.com/diskwatch/diskwatch/alerts/config"
	"github.com/diskwatch/diskwatch/alerts/output/prom"
	"github.com/diskwatch/diskwatch/alerts/report"
	"github.com/diskwatch/diskwatch/collectors/model"
)

// DefaultMetricsListen is where /metrics is served unless configured: the
// Prometheus exporter port list has no free 9xxx entry left, 9847 is not
// used by any exporter we know of.
const DefaultMetricsListen = "127.0.0.1:9847"

// serveHTTP serves /metrics and /report on daemon.metrics_listen.
func (d *Daemon) serveHTTP(cfg *config.Config) {
	addr := DefaultMetricsListen
	if cfg.Daemon.MetricsListen != nil {
		addr = *cfg.Daemon.MetricsListen
	}
	if d.opt.MetricsListen != "" {
		addr = d.opt.MetricsListen
	}
	if addr == "" || addr == "off" {
		return
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		d.log.Error().Err(err).Str("listen", addr).Msg("Prometheus /metrics not served")
		return
	}
	if tcp, ok := ln.Addr().(*net.TCPAddr); ok && !tcp.IP.IsLoopback() {
		d.log.Warn().Str("listen", ln.Addr().String()).
			Msg("/metrics and /report are reachable from other hosts (device models, serials, array layout); listen on 127.0.0.1 or firewall the port")
	}
	d.httpSrv = &http.Server{Handler: limitRequests(d.handler(), MaxRequests), ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: 30 * time.Second, WriteTimeout: 2 * time.Minute, IdleTimeout: time.Minute, MaxHeaderBytes: 16 << 10}
	go d.httpSrv.Serve(ln)
	d.log.Info().Str("listen", ln.Addr().String()).Msg("serving Prometheus /metrics")
}

// handler routes the daemon's HTTP paths; any other path is 404.
func (d *Daemon) handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", prom.Handler(d.latest.Load))
	mux.HandleFunc("/report", d.serveReport)
	// As Prometheus' own components: /-/healthy while the process serves,
	// /-/ready once the first round has published readings.
	mux.HandleFunc("/-/healthy", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "diskwatch is Healthy.")
	})
	mux.HandleFunc("/-/ready", func(w http.ResponseWriter, _ *http.Request) {
		if d.latest.Load() == nil {
			http.Error(w, "diskwatch is not ready: the first round is running.", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "diskwatch is Ready.")
	})
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "diskwatch: metrics at /metrics, health report at /report, /-/healthy, /-/ready")
	})
	return mux
}

// serveReport is the daemon's /report: the same page as `diskwatch report`,
// from the latest round and the daemon's history store (?since=90d).
func (d *Daemon) serveReport(w http.ResponseWriter, r *http.Request) {
	doc := d.latest.Load()
	if doc == nil || doc.Snapshot == nil {
		http.Error(w, "no round finished yet", http.StatusServiceUnavailable)
		return
	}
	window := 90 * 24 * time.Hour
	if s := r.URL.Query().Get("since"); s != "" {
		v, err := assemble.ParseWindow(s)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if v > MaxReportWindow {
			http.Error(w, fmt.Sprintf("since=%s: at most %dd (the history store keeps daily points that long)", s, MaxReportWindow/(24*time.Hour)), http.StatusBadRequest)
			return
		}
		window = v
	}
	// One report at a time: each reads the store and holds the page in
	// memory while rendering it.
	select {
	case d.reportSem <- struct{}{}:
		defer func() { <-d.reportSem }()
	case <-time.After(5 * time.Second):
		w.Header().Set("Retry-After", "10")
		http.Error(w, "another report is being built; retry shortly", http.StatusServiceUnavailable)
		return
	case <-r.Context().Done():
		return
	}
	// The round's own findings, as the alerts were computed; disks known
	// only from history get none.
	fs := append([]model.Finding(nil), doc.Findings...)
	var hist assemble.StoredHistory
	if d.store != nil {
		hist = d.store
	}
	rep, err := assemble.Report(r.Context(), doc.Snapshot, func(*model.Snapshot) []model.Finding { return fs },
		hist, doc.Host, d.now(), window, d.log)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:")
	if err := report.Render(&cappedWriter{w: w, left: MaxReportBytes}, rep); err != nil {
		d.log.Warn().Err(err).Msg("/report: render failed")
	}
}

// Bounds of the HTTP endpoints.
var (
	// MaxRequests is how many requests are served at once; more wait.
	MaxRequests = 8
	// ReportConcurrency is how many /report pages are built at once.
	ReportConcurrency = 1
	// MaxReportWindow is the longest ?since= /report accepts.
	MaxReportWindow = 400 * 24 * time.Hour
	// MaxReportBytes caps one /report response.
	MaxReportBytes int64 = 64 << 20
)

// limitRequests serves at most n requests at a time; the others wait for
// a slot as long as their client does.
func limitRequests(h http.Handler, n int) http.Handler {
	sem := make(chan struct{}, n)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case sem <- struct{}{}:
			defer func() { <-sem }()
			h.ServeHTTP(w, r)
		case <-r.Context().Done():
		}
	})
}

// cappedWriter fails writes beyond left bytes.
type cappedWriter struct {
	w    io.Writer
	left int64
}

func (c *cappedWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > c.left {
		return 0, fmt.Errorf("report larger than %d MiB: cut", MaxReportBytes>>20)
	}
	c.left -= int64(len(p))
	return c.w.Write(p)
}
