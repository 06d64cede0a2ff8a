package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/diskwatch/diskwatch/alerts/assemble"
	"github.com/diskwatch/diskwatch/alerts/config"
	"github.com/diskwatch/diskwatch/alerts/rules"
	"github.com/diskwatch/diskwatch/collectors/model"
)

func cmdConfig(e *env) *cobra.Command {
	c := &cobra.Command{Use: "config", Short: "config check FILE | config default"}
	c.AddCommand(&cobra.Command{Use: "default", Args: cobra.NoArgs,
		Short: "print the default configuration, every setting commented (collector intervals as smartd's)",
		Run:   func(c *cobra.Command, _ []string) { e.stdout.Write(config.DefaultYAML()) }},
		&cobra.Command{Use: "check FILE", Args: cobra.ExactArgs(1),
			Short: "check a configuration file: every error with FILE:LINE:COL, all at once",
			RunE: func(c *cobra.Command, args []string) error {
				if _, err := config.Load(args[0], true, rules.Default()); err != nil {
					for _, l := range strings.Split(err.Error(), "\n") {
						fmt.Fprintln(e.stderr, l)
					}
					return exitCode(exitUnknown)
				}
				fmt.Fprintf(e.stdout, "%s: OK\n", args[0])
				return nil
			}})
	return c
}

func cmdNotify(e *env) *cobra.Command {
	c := &cobra.Command{Use: "notify", Short: "notify test [--sink NAME]: send a test alert through the configured sinks"}
	t := &cobra.Command{Use: "test", Args: cobra.NoArgs,
		Short: "send a clearly marked test alert through every configured sink (or --sink NAME) and say, per sink, delivered or failed and why",
		Long: "Like smartd's -M test and mdadm --monitor --test: checks the email, webhook, exec, Alertmanager and\n" +
			"syslog paths before a disk dies. Each sink is tried once (no queue). Exit status 0 when every sink\n" +
			"delivered, 3 otherwise."}
	o := newOpts(e, t, fConfig, "warn")
	names := t.Flags().StringArray("sink", nil, "only the sink `NAME` (as configured: email, email[1], webhook, alertmanager, exec, syslog, log; repeatable)")
	timeout := t.Flags().Duration("timeout", 30*time.Second, "how long each sink may take")
	t.RunE = func(c *cobra.Command, _ []string) error {
		s, err := o.open(c.Context(), true)
		if err != nil {
			return err
		}
		sinks, err := assemble.Sinks(s.cfg, s.log)
		if err == nil {
			sinks, err = assemble.SelectSinks(sinks, *names)
		}
		if err != nil {
			return err
		}
		host := s.cfg.Notify.Host
		if host == "" {
			host, _ = os.Hostname()
		}
		failed := 0
		for _, r := range assemble.TestSinks(c.Context(), sinks, assemble.TestMessage(host, e.now()), *timeout) {
			if r.Err != nil {
				failed++
				fmt.Fprintf(e.stdout, "%-16s FAILED: %s\n", r.Sink, model.Clean(r.Err.Error()))
			} else {
				fmt.Fprintf(e.stdout, "%-16s delivered\n", r.Sink)
			}
		}
		if failed > 0 {
			return exitCode(exitUnknown)
		}
		return nil
	}
	c.AddCommand(t)
	return c
}

// cmdMan prints the model of every command and flag as JSON for the
// packaging's man page and completion generator (internal/docgen): the
// same definitions as the help.
func cmdMan() *cobra.Command {
	return &cobra.Command{Use: "__model", Hidden: true, Args: cobra.NoArgs,
		Short: "print the commands and flags as JSON (for the man page generator)",
		RunE: func(c *cobra.Command, _ []string) error {
			type flag struct{ Name, Arg, Help string }
			type command struct {
				Name, Summary string
				Usage         []string
				Flags         []flag
			}
			var out []command
			for _, sub := range c.Root().Commands() {
				if sub.Hidden || sub.Name() == "help" || sub.Name() == "completion" {
					continue
				}
				cmd := command{Name: sub.Name(), Summary: sub.Short}
				leaves := []*cobra.Command{sub}
				if sub.HasSubCommands() {
					leaves = sub.Commands() // "config check FILE", "config default": one entry
				}
				for _, l := range leaves {
					cmd.Usage = append(cmd.Usage, "usage: "+l.UseLine())
					if l.Long != "" {
						cmd.Usage = append(cmd.Usage, strings.Split(l.Long, "\n")...)
					} else if l != sub {
						cmd.Usage = append(cmd.Usage, "  "+l.Short)
					}
					l.Flags().VisitAll(func(f *pflag.Flag) {
						arg, help := pflag.UnquoteUsage(f)
						if f.Value.Type() == "bool" {
							arg = ""
						}
						cmd.Flags = append(cmd.Flags, flag{f.Name, arg, help})
					})
				}
				out = append(out, cmd)
			}
			enc := json.NewEncoder(c.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(out)
		}}
}
