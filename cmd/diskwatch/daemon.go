package main

import (
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/diskwatch/diskwatch/alerts/assemble"
	"github.com/diskwatch/diskwatch/alerts/config"
	"github.com/diskwatch/diskwatch/alerts/daemon"
)

func cmdDaemon(e *env) *cobra.Command {
	c := &cobra.Command{Use: "daemon", Args: cobra.NoArgs,
		Short: "watch continuously: alerts (log, email, webhook, exec, Alertmanager, syslog), Prometheus /metrics, snapshot for Zabbix",
		Long: "Runs each collector at its own interval (daemon.collector_intervals), evaluates the rules every round,\n" +
			"sends alerts through the configured sinks, serves /metrics and /report and writes the snapshot that\n" +
			"metrics, zabbix and diskwatch-zabbix answer from. SIGHUP reloads the configuration; SIGTERM stops."}
	o := newOpts(e, c, fRoot|fConfig|fUPS|fState, "info")
	listen := c.Flags().String("metrics-listen", "", "serve Prometheus /metrics on `ADDR` (overrides daemon.metrics_listen; \"off\" disables)")
	rounds := c.Flags().Int("rounds", 0, "stop after `N` rounds (0: run until SIGTERM); for tests and trials")
	noHistory := c.Flags().Bool("no-history", false, "do not open the history store")
	c.RunE = func(c *cobra.Command, _ []string) error {
		if e.getenv("GOGC") == "" {
			// The daemon's live heap is small and long-lived: collecting at
			// 50 % growth instead of Go's 100 % keeps about 1.5 MiB less
			// resident (measured by `make soak`) for little CPU.
			debug.SetGCPercent(50)
		}
		o.timeout = 0 // rounds have their own deadlines
		s, err := o.open(c.Context(), true)
		if err != nil {
			return err
		}
		d := daemon.New(daemon.Options{FS: o.fs(), StateDir: o.stateDir(s.cfg), Rules: s.rs, MetricsListen: *listen, Rounds: *rounds,
			NoHistory: *noHistory, Log: s.log, Now: e.now,
			Load: func() (*config.Config, error) { return assemble.LoadConfig(o.config, nil, o.ups, s.rs) }})
		if err := d.Start(c.Context(), s.cfg); err != nil {
			return err
		}
		return d.Run(c.Context())
	}
	return c
}
