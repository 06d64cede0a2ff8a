package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/diskwatch/diskwatch/alerts/assemble"
	"github.com/diskwatch/diskwatch/alerts/assemble/locate"
	"github.com/diskwatch/diskwatch/alerts/engine"
	"github.com/diskwatch/diskwatch/alerts/rules"
	"github.com/diskwatch/diskwatch/collectors/model"
)

func runCheck(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	var c common
	c.register(fs, e)
	format := fs.String("format", "text", "output `format`: text, json or nagios")
	showOK := fs.Bool("all", false, "text: also list OK (informational) findings")
	stateDir := fs.String("state", e.getenv("DISKWATCH_STATE"), "history store `DIR`: readings are appended so trend rules work from cron (default daemon.state_dir, else "+locate.DefaultStateDir+"; \"off\" to not keep history; env DISKWATCH_STATE)")
	if code, ok := parse(fs, args, e); !ok {
		return code
	}
	if !formatOK(e, "check", *format, "text", "json", "nagios") {
		return exitUnknown
	}
	log := c.logger(e)
	rs := rules.Default()
	cfg, err := c.loadConfig(rs)
	if err != nil {
		fmt.Fprintf(e.stderr, "diskwatch check: %v\n", err)
		if *format == "nagios" {
			fmt.Fprintf(e.stdout, "DISKWATCH UNKNOWN - configuration error: %s\n", oneLine(err.Error()))
		}
		return exitUnknown
	}
	ctx = log.WithContext(ctx) // collectors log what they skip and why at debug level
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if *stateDir == "" && c.root != "" && c.root != "/" {
		// A --root run reads a fixture tree, not this host: its readings
		// are not this host's history unless --state says where to put them.
		*stateDir = "off"
	}
	dir := assemble.StateDir(*stateDir, nil, cfg)
	kdir := dir
	if dir == "off" || dir == "none" {
		kdir = assemble.StateDir("", nil, cfg) // the kernel log's position is kept all the same
	}
	h := c.host(e, kdir)
	defer h.Close()
	eng := &engine.Engine{Sources: h.Sources(cfg), Rules: rs, Settings: &cfg.Settings, Now: e.now, Log: log}
	if st := assemble.OpenHistory(ctx, dir, log); st != nil {
		defer st.Close()
		eng.Store, eng.History = st, st
	}
	res := eng.Cycle(ctx)
	switch *format {
	case "json":
		writeCheckJSON(e.stdout, res)
	case "nagios":
		writeNagios(e.stdout, res)
	default:
		writeText(e.stdout, res, *showOK)
	}
	return res.Status.ExitCode()
}

// checkJSON is the JSON document `check --format json` prints.
type checkJSON struct {
	Status   string               `json:"status"`
	Time     string               `json:"time"`
	Findings []model.Finding      `json:"findings"`
	Summary  map[string]int       `json:"summary"`
	Sources  []model.SourceStatus `json:"sources"`
	Arrays   []model.Array        `json:"arrays,omitempty"`
	Disks    []model.Disk         `json:"disks,omitempty"`
	UPS      []model.UPS          `json:"ups,omitempty"`
	Sensors  []model.Sensor       `json:"sensors,omitempty"`
}

// writeCheckJSON prints check's JSON document.
func writeCheckJSON(w io.Writer, res *engine.Result) {
	doc := checkJSON{
		Status: res.Status.String(), Time: res.Snapshot.Time.UTC().Format("2006-01-02T15:04:05Z"),
		Findings: res.Findings, Summary: counts(res.Findings), Sources: res.Snapshot.Sources,
		Arrays: res.Snapshot.Arrays, Disks: res.Snapshot.Disks, UPS: res.Snapshot.UPS, Sensors: res.Snapshot.Sensors,
	}
	if doc.Findings == nil {
		doc.Findings = []model.Finding{}
	}
	writeJSON(w, doc)
}

func counts(fs []model.Finding) map[string]int {
	m := map[string]int{"OK": 0, "WARNING": 0, "CRITICAL": 0, "UNKNOWN": 0}
	for _, f := range fs {
		m[f.Severity.String()]++
	}
	return m
}

// writeText prints one line per finding, most severe first, then a
// summary line.
func writeText(w io.Writer, res *engine.Result, showOK bool) {
	hidden := 0
	for _, f := range res.Findings {
		if f.Severity == model.OK && !showOK && f.Rule != "collector.nothing" && f.Rule != "collector.permission" {
			hidden++
			continue
		}
		line := fmt.Sprintf("%-8s %s", f.Severity, withSubject(f))
		if f.Remedy != "" {
			line += " — " + f.Remedy
		}
		fmt.Fprintln(w, safeLine(line))
	}
	c := counts(res.Findings)
	s := res.Snapshot
	notice := ""
	if c["NOTICE"] > 0 {
		notice = fmt.Sprintf(", %d notice", c["NOTICE"])
	}
	fmt.Fprintf(w, "%s: %d critical, %d warning, %d unknown%s, %d info; watched %s\n",
		res.Status, c["CRITICAL"], c["WARNING"], c["UNKNOWN"], notice, c["OK"], watched(s))
	if hidden > 0 {
		fmt.Fprintf(w, "(%d informational findings hidden; --all shows them)\n", hidden)
	}
}

func watched(s *model.Snapshot) string {
	var parts []string
	add := func(n int, what string) {
		if n > 0 {
			if n > 1 && !strings.HasSuffix(what, "s") {
				what += "s"
			}
			parts = append(parts, fmt.Sprintf("%d %s", n, what))
		}
	}
	add(len(s.Arrays), "md array")
	add(len(s.Disks), "disk")
	add(len(s.UPS), "UPS")
	add(len(s.Sensors), "sensor")
	if len(parts) == 0 {
		return "nothing"
	}
	return strings.Join(parts, ", ")
}

// writeNagios prints one status line with perfdata.
func writeNagios(w io.Writer, res *engine.Result) {
	msg := "all " + watched(res.Snapshot) + " healthy"
	if watched(res.Snapshot) == "nothing" {
		msg = "nothing to watch on this host"
	}
	var top []string
	n := 0
	for _, f := range res.Findings {
		if f.Severity == model.OK {
			continue
		}
		n++
		if len(top) < 3 {
			top = append(top, withSubject(f))
		}
	}
	if n > 0 {
		msg = strings.Join(top, "; ")
		if n > len(top) {
			msg += fmt.Sprintf("; and %d more", n-len(top))
		}
	}
	var perf []string
	for _, a := range res.Snapshot.Arrays {
		if a.DisksTotal == 0 || a.Activity == "inactive" {
			continue
		}
		// Fewer active disks than slots is critical: range "total:".
		perf = append(perf, fmt.Sprintf("'%s_active'=%d;;%d:;0;%d", perfLabel(a.Name), a.DisksActive, a.DisksTotal, a.DisksTotal))
	}
	for _, d := range res.Snapshot.Disks {
		if d.TemperatureC != nil {
			perf = append(perf, fmt.Sprintf("'%s_temp'=%g", perfLabel(d.Device.Name+d.Device.Path), *d.TemperatureC))
		}
	}
	line := fmt.Sprintf("DISKWATCH %s - %s", res.Status, safeLine(msg))
	if len(perf) > 0 {
		line += " | " + strings.Join(perf, " ")
	}
	fmt.Fprintln(w, line)
}

func perfLabel(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\'' || r == '=' || r == '|' || r < 0x20 || r == ' ' {
			return '_'
		}
		return r
	}, model.Clean(s))
}

// withSubject prefixes a finding's message with its subject unless the
// message already starts with it.
func withSubject(f model.Finding) string {
	if strings.HasPrefix(f.Message, f.Subject) {
		return f.Message
	}
	return f.Subject + ": " + f.Message
}

// safeLine makes a line safe for a terminal or a monitoring system: one
// line, no control characters (device strings are untrusted; rules clean
// them already, this is the last line of defence).
func safeLine(s string) string { return model.Clean(oneLine(s)) }

// oneLine keeps an output line a single line.
func oneLine(s string) string {
	return strings.NewReplacer("\n", " ", "\r", " ").Replace(s)
}
