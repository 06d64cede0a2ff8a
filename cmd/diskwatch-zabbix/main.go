// Command diskwatch-zabbix answers the Zabbix agent's items from the
// daemon's snapshot, with a binary that links only what that needs, so an
// item costs about as much as starting a static program. It never reads a
// device and never logs: stdout carries only the value.
//
// `diskwatch-zabbix get diskwatch.get [MAXAGE]` (the item the shipped
// template polls) prints the whole host as one JSON object; when the
// snapshot is missing, unreadable or older than MAXAGE the object says
// "running":0 and why, with the snapshot's real age. Single items (`get
// md.degraded md0`, `discovery arrays`) print the value, or an error on
// stderr and exit 1 when the snapshot is missing, unreadable or stale.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/diskwatch/diskwatch/alerts/assemble/locate"
	"github.com/diskwatch/diskwatch/alerts/output/snapshot"
	"github.com/diskwatch/diskwatch/alerts/output/zabbix"
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
	path := filepath.Join(state, snapshot.FileName)
	doc, rerr := snapshot.Read(path)
	if rest[0] == "get" && (rest[1] == zabbix.MasterKey || strings.HasPrefix(rest[1], zabbix.MasterKey+"[")) {
		return master(path, doc, rerr, rest[1:], stdout, stderr, now)
	}
	if err := zabbix.Usable(path, doc, rerr, now, 0); err != nil {
		fmt.Fprintln(stderr, oneLine(err.Error()))
		return 1
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

// master prints the answer of zabbix.MasterKey (args: the key, with its
// optional argument in brackets or as the next word).
func master(path string, doc *snapshot.Doc, rerr error, args []string, stdout, stderr io.Writer, now time.Time) int {
	_, kargs, err := zabbix.ParseKey(args[0])
	if err == nil && len(args) > 1 {
		if kargs != nil {
			err = errors.New("give the key either as NAME[ARGS] or as NAME ARG...")
		}
		kargs = args[1:]
		for len(kargs) > 0 && kargs[len(kargs)-1] == "" {
			kargs = kargs[:len(kargs)-1]
		}
	}
	if err == nil && len(kargs) > 1 {
		err = fmt.Errorf("%s takes one argument, the maximum snapshot age", zabbix.MasterKey)
	}
	var maxAge time.Duration
	if err == nil && len(kargs) == 1 {
		maxAge, err = zabbix.ParseMaxAge(kargs[0])
	}
	if err != nil {
		fmt.Fprintln(stderr, "diskwatch zabbix:", oneLine(err.Error()))
		return 1
	}
	fmt.Fprintf(stdout, "%s\n", zabbix.NewMaster(path, doc, rerr, now, maxAge).JSON())
	return 0
}

func oneLine(s string) string { return strings.NewReplacer("\n", " ", "\r", " ").Replace(s) }
