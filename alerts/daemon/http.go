package daemon

import (
	"fmt"
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
	d.httpSrv = &http.Server{Handler: d.handler(), ReadHeaderTimeout: 10 * time.Second}
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
		window = v
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
	if err := report.Render(w, rep); err != nil {
		d.log.Warn().Err(err).Msg("/report: render failed")
	}
}
