// Command diskwatch-zabbix is the fast path of the Zabbix agent items: it
// answers `diskwatch zabbix get|discovery` from the daemon's snapshot with a
// binary that links only what that needs, so an item costs about as much
// as starting a static program. When the snapshot is missing or stale it
// hands the call to `diskwatch zabbix` (the program next to it, or in
// PATH), which reads the devices.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/diskwatch/diskwatch/alerts/assemble/locate"
	"github.com/diskwatch/diskwatch/alerts/output/zabbix"
	"github.com/diskwatch/diskwatch/collectors/execx"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, os.Getenv, time.Now()))
}

func run(args []string, stdout, stderr io.Writer, getenv func(string) string, now time.Time) int {
	flag, rest := "", args
	if len(rest) >= 2 && rest[0] == "--state" {
		flag, rest = rest[1], rest[2:]
	}
	// The same rule as every diskwatch command: --state, DISKWATCH_STATE,
	// the configuration's daemon.state_dir, /var/lib/diskwatch.
	configured := ""
	if flag == "" && getenv(locate.EnvState) == "" {
		p, _ := locate.ConfigPath("", getenv)
		configured, _ = locate.ConfiguredStateDir(p) // a bad file: `diskwatch zabbix` says why
	}
	state := locate.StateDir(flag, getenv, configured)
	if len(rest) < 2 || (rest[0] != "get" && rest[0] != "discovery") {
		fmt.Fprintln(stderr, "usage: diskwatch-zabbix [--state DIR] get KEY | get NAME ARG... | discovery KIND")
		return 2
	}
	doc, err := locate.FreshSnapshot(state, now, 0)
	if err != nil {
		return fallback(args, stdout, stderr, state)
	}
	if rest[0] == "discovery" {
		b, err := zabbix.Discovery(doc, rest[1])
		if err != nil {
			fmt.Fprintln(stderr, "diskwatch zabbix:", oneLine(err.Error()))
			return 1
		}
		fmt.Fprintf(stdout, "%s\n", b)
		return 0
	}
	name, kargs, err := zabbix.ParseKey(rest[1])
	if err == nil && len(rest) > 2 {
		if kargs != nil {
			err = errors.New("give the key either as NAME[ARGS] or as NAME ARG...")
		}
		kargs = rest[2:]
		for len(kargs) > 0 && kargs[len(kargs)-1] == "" {
			kargs = kargs[:len(kargs)-1]
		}
		for _, a := range kargs {
			if err == nil {
				err = zabbix.ValidateArg(a)
			}
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, "diskwatch zabbix:", oneLine(err.Error()))
		return 1
	}
	v, err := zabbix.Get(doc, name, kargs, now)
	if err != nil {
		fmt.Fprintln(stderr, "diskwatch zabbix:", oneLine(err.Error()))
		return 1
	}
	fmt.Fprintln(stdout, v)
	return 0
}

// fallback runs `diskwatch zabbix --state DIR ARGS...` to read devices.
func fallback(args []string, stdout, stderr io.Writer, state string) int {
	prog := "diskwatch"
	if self, err := os.Executable(); err == nil {
		if p := filepath.Join(filepath.Dir(self), "diskwatch"); fileExists(p) {
			prog = p
		}
	}
	rest := args
	if len(rest) >= 2 && rest[0] == "--state" {
		rest = rest[2:]
	}
	err := execx.Cmd{Name: prog, Args: append([]string{"zabbix", "--state", state}, rest...), Stdout: stdout, Stderr: stderr, Timeout: 2 * time.Minute}.Run(context.Background())
	var ee *execx.ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	if err != nil {
		fmt.Fprintln(stderr, "diskwatch zabbix:", oneLine(err.Error()))
		return 1
	}
	return 0
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

func oneLine(s string) string { return strings.NewReplacer("\n", " ", "\r", " ").Replace(s) }
