// Command docgen writes the man pages diskwatch(8), diskwatch-zabbix(8)
// and diskwatch.yaml(5) and the bash, zsh and fish completions of
// diskwatch, for the packages (`make package`).
//
// Its single source is the built binary itself: `diskwatch help` lists
// the commands, `diskwatch COMMAND -h` each command's usage and flags, and
// `diskwatch config default` the commented default configuration. So the
// pages say what the binary does, never what someone remembered to write.
// Reading the help text is the only part tied to today's flag-package CLI
// (readModel); the renderers take a plain model (Command, Flag), so a CLI
// library that exposes its own model (kong, cobra) replaces readModel only.
//
//	go run ./cmd/diskwatch/internal/docgen -bin bin/diskwatch -zabbix-bin bin/diskwatch-zabbix -version V -out DIR
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Flag is one command-line flag.
type Flag struct {
	Name string // without dashes
	Arg  string // the value's placeholder; "" for a boolean flag
	Help string
}

// Command is one subcommand.
type Command struct {
	Name    string
	Summary string
	// Usage is the prose of the command's help before its flags (usage
	// lines, argument descriptions), as printed.
	Usage []string
	Flags []Flag
}

func main() {
	bin := flag.String("bin", "bin/diskwatch", "the built diskwatch `binary`")
	zbin := flag.String("zabbix-bin", "bin/diskwatch-zabbix", "the built diskwatch-zabbix `binary`")
	version := flag.String("version", "", "package `version` named in the pages' footers")
	date := flag.String("date", "", "date in the pages' footers (YYYY-MM-DD; default: SOURCE_DATE_EPOCH or today)")
	out := flag.String("out", "build/docs", "output `directory`")
	flag.Parse()
	if err := run(*bin, *zbin, *version, *date, *out); err != nil {
		fmt.Fprintln(os.Stderr, "docgen:", err)
		os.Exit(1)
	}
}

func run(bin, zbin, version, date, out string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if date == "" {
		date = time.Now().UTC().Format("2006-01-02")
		if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
			var sec int64
			if _, err := fmt.Sscan(s, &sec); err == nil {
				date = time.Unix(sec, 0).UTC().Format("2006-01-02")
			}
		}
	}
	cmds, err := readModel(ctx, bin)
	if err != nil {
		return err
	}
	zusage, err := helpOf(ctx, zbin)
	if err != nil {
		return err
	}
	cfg, err := output(ctx, bin, "config", "default")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	files := map[string]string{
		"diskwatch.8":        manDiskwatch(cmds, version, date),
		"diskwatch-zabbix.8": manZabbix(zusage, version, date),
		"diskwatch.yaml.5":   manConfig(cfg, version, date),
		"diskwatch.bash":     bashCompletion(cmds),
		"_diskwatch":         zshCompletion(cmds),
		"diskwatch.fish":     fishCompletion(cmds),
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(out, name), []byte(text), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// output runs bin with args and returns its standard output (and error
// output), whatever its exit status: help goes to standard error.
func output(ctx context.Context, bin string, args ...string) (string, error) {
	var b bytes.Buffer
	c := exec.CommandContext(ctx, bin, args...)
	c.Stdout, c.Stderr = &b, &b
	c.Env = append(os.Environ(), "DISKWATCH_CONFIG=", "DISKWATCH_ROOT=", "DISKWATCH_STATE=")
	err := c.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return "", fmt.Errorf("%s %s: %w", bin, strings.Join(args, " "), err)
	}
	return b.String(), nil
}

func helpOf(ctx context.Context, bin string) (string, error) {
	s, err := output(ctx, bin)
	return strings.TrimSpace(s), err
}

var (
	cmdLineRE  = regexp.MustCompile(`^  ([a-z][a-z0-9-]*)\s+(.*)$`)
	flagLineRE = regexp.MustCompile(`^  -([A-Za-z0-9][A-Za-z0-9-]*)(?: (.+))?$`)
)

// readModel reads the commands and their flags from the binary's help.
func readModel(ctx context.Context, bin string) ([]Command, error) {
	top, err := output(ctx, bin, "help")
	if err != nil {
		return nil, err
	}
	var cmds []Command
	in := false
	for _, l := range strings.Split(top, "\n") {
		if strings.TrimSpace(l) == "commands:" {
			in = true
			continue
		}
		if m := cmdLineRE.FindStringSubmatch(l); in && m != nil {
			cmds = append(cmds, Command{Name: m[1], Summary: m[2]})
		}
	}
	if len(cmds) == 0 {
		return nil, fmt.Errorf("%s help: no commands listed:\n%s", bin, top)
	}
	for i := range cmds {
		if cmds[i].Name == "version" {
			continue
		}
		h, err := output(ctx, bin, cmds[i].Name, "-h")
		if err != nil {
			return nil, err
		}
		cmds[i].Usage, cmds[i].Flags = parseHelp(h)
	}
	return cmds, nil
}

// parseHelp splits the flag package's help into prose and flags:
// "  -name ARG" lines, each followed by its indented ("    \t") help.
func parseHelp(h string) (usage []string, flags []Flag) {
	lines := strings.Split(strings.TrimRight(h, "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if m := flagLineRE.FindStringSubmatch(l); m != nil {
			f := Flag{Name: m[1], Arg: m[2]}
			var help []string
			for i+1 < len(lines) && strings.HasPrefix(lines[i+1], "    ") {
				i++
				help = append(help, strings.TrimSpace(lines[i]))
			}
			f.Help = strings.Join(help, " ")
			flags = append(flags, f)
			continue
		}
		if strings.HasPrefix(l, "Usage of ") || strings.TrimSpace(l) == "flags:" ||
			strings.HasPrefix(l, "diskwatch config: unknown subcommand") {
			continue
		}
		usage = append(usage, l)
	}
	for len(usage) > 0 && strings.TrimSpace(usage[len(usage)-1]) == "" {
		usage = usage[:len(usage)-1]
	}
	return usage, flags
}

// roff escapes text for a man page line: backslashes, and a leading
// '.' or '\” that would read as a request.
func roff(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "-", `\-`)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}

func header(name, section, version, date, title string) string {
	return fmt.Sprintf(".\\\" Generated by cmd/diskwatch/internal/docgen from the binary's help; do not edit.\n"+
		".TH %s %s %q %q %q\n", strings.ToUpper(name), section, date, "diskwatch "+version, title)
}

func manDiskwatch(cmds []Command, version, date string) string {
	var b strings.Builder
	b.WriteString(header("diskwatch", "8", version, date, "System Administration"))
	b.WriteString(".SH NAME\ndiskwatch \\- disk, RAID and UPS health watchdog\n")
	b.WriteString(".SH SYNOPSIS\n.B diskwatch\n.I COMMAND\n.RI [ flags ]\n.br\n.B diskwatch \\-\\-version\n")
	b.WriteString(".SH DESCRIPTION\n" +
		"diskwatch reads Linux software RAID, SMART (ATA/SATA, NVMe, SCSI/SAS, disks behind 3ware and LSI\n" +
		"MegaRAID controllers), the kernel log, UPSes and sensors, keeps their history, runs threshold and\n" +
		"trend rules over them and says, early and with the fix, when a disk or array is about to lose data.\n" +
		".PP\nFlags may be given with one or two dashes. Every collecting command reads\n" +
		".I /etc/diskwatch/diskwatch.yaml\n(see\n.BR diskwatch.yaml (5)),\nor the built-in default when it is absent.\n")
	b.WriteString(".SH COMMANDS\n")
	for _, c := range cmds {
		fmt.Fprintf(&b, ".SS %s\n%s\n", roff(c.Name), roff(c.Summary))
		if len(c.Usage) > 0 {
			b.WriteString(".PP\n.nf\n")
			for _, l := range c.Usage {
				fmt.Fprintf(&b, "%s\n", roff(l))
			}
			b.WriteString(".fi\n")
		}
		for _, f := range c.Flags {
			fmt.Fprintf(&b, ".TP\n.B \\-\\-%s", roff(f.Name))
			if f.Arg != "" {
				fmt.Fprintf(&b, " \" \\fI%s\\fR\"", roff(f.Arg))
			}
			fmt.Fprintf(&b, "\n%s\n", roff(f.Help))
		}
	}
	b.WriteString(".SH EXIT STATUS\n" +
		".B check\nexits 0 (OK), 1 (WARNING), 2 (CRITICAL) or 3 (UNKNOWN: diskwatch itself could not tell),\n" +
		"the monitoring-plugins convention.\n")
	b.WriteString(".SH ENVIRONMENT\n.TP\n.B DISKWATCH_CONFIG\nconfiguration file (as \\-\\-config)\n" +
		".TP\n.B DISKWATCH_STATE\nstate directory (as \\-\\-state)\n.TP\n.B DISKWATCH_ROOT\nhost root to read (as \\-\\-root)\n")
	b.WriteString(".SH FILES\n.TP\n.I /etc/diskwatch/diskwatch.yaml\nconfiguration\n" +
		".TP\n.I /var/lib/diskwatch\nstate: history, alert state, notification queue, snapshot.json for Zabbix and metrics\n" +
		".TP\n.I /lib/systemd/system/diskwatch.service\nthe daemon's unit (systemctl reload re\\-reads the configuration)\n")
	b.WriteString(".SH SEE ALSO\n.BR diskwatch.yaml (5),\n.BR diskwatch\\-zabbix (8),\n.BR smartctl (8),\n.BR mdadm (8),\n" +
		".BR systemd.exec (5);\n.I /usr/share/doc/diskwatch/README.md.gz\n")
	return b.String()
}

func manZabbix(usage, version, date string) string {
	var b strings.Builder
	b.WriteString(header("diskwatch-zabbix", "8", version, date, "System Administration"))
	b.WriteString(".SH NAME\ndiskwatch\\-zabbix \\- answer Zabbix agent items from the diskwatch daemon's snapshot\n")
	b.WriteString(".SH SYNOPSIS\n.nf\n")
	for _, l := range strings.Split(strings.TrimPrefix(usage, "usage: "), "\n") {
		fmt.Fprintf(&b, "%s\n", roff(l))
	}
	b.WriteString(".fi\n.SH DESCRIPTION\n" +
		"The Zabbix agent runs diskwatch\\-zabbix for each diskwatch item (see\n" +
		".IR /etc/zabbix/zabbix_agentd.conf.d/userparameter_diskwatch.conf ).\n" +
		"It answers from\n.I snapshot.json\nin the state directory, written by\n.BR \"diskwatch daemon\" ,\n" +
		"touching no disk; when the snapshot is missing or stale it runs\n.B diskwatch zabbix\n" +
		"(the program next to it), which reads the devices (SMART then needs root).\n" +
		".SH ENVIRONMENT\n.TP\n.B DISKWATCH_STATE\nstate directory (default /var/lib/diskwatch)\n" +
		".SH SEE ALSO\n.BR diskwatch (8),\n.BR zabbix_agentd (8)\n")
	return b.String()
}

func manConfig(cfg, version, date string) string {
	var b strings.Builder
	b.WriteString(header("diskwatch.yaml", "5", version, date, "File Formats"))
	b.WriteString(".SH NAME\ndiskwatch.yaml \\- diskwatch configuration\n")
	b.WriteString(".SH DESCRIPTION\n" +
		".I /etc/diskwatch/diskwatch.yaml\nis YAML. Unknown keys and bad values are errors with file and line;\n" +
		".B diskwatch config check\n.I FILE\nvalidates a file, and a file writable by other users is refused.\n" +
		"Without the file the built\\-in default below applies;\n.B diskwatch config default\nprints it.\n" +
		"The daemon re\\-reads the file on SIGHUP\n(\n.BR \"systemctl reload diskwatch\" );\n" +
		"a bad file is logged and the running configuration kept.\n" +
		".SH DEFAULT CONFIGURATION\nEvery section, with its defaults and comments:\n.PP\n.nf\n")
	for _, l := range strings.Split(strings.TrimRight(cfg, "\n"), "\n") {
		fmt.Fprintf(&b, "%s\n", roff(l))
	}
	b.WriteString(".fi\n.SH FILES\n.TP\n.I /etc/diskwatch/diskwatch.yaml\n" +
		".TP\n.I /usr/share/doc/diskwatch/examples/diskwatch.example.yaml\na daemon's configuration with every notifier\n" +
		".SH SEE ALSO\n.BR diskwatch (8)\n")
	return b.String()
}

func names(cmds []Command) []string {
	var n []string
	for _, c := range cmds {
		n = append(n, c.Name)
	}
	sort.Strings(n)
	return n
}

func bashCompletion(cmds []Command) string {
	var b strings.Builder
	b.WriteString("# bash completion for diskwatch (generated by cmd/diskwatch/internal/docgen)\n")
	b.WriteString("_diskwatch() {\n\tlocal cur prev cmd i\n\tcur=${COMP_WORDS[COMP_CWORD]}\n\tprev=${COMP_WORDS[COMP_CWORD-1]}\n")
	b.WriteString("\tcmd=\n\tfor ((i = 1; i < COMP_CWORD; i++)); do\n\t\tcase ${COMP_WORDS[i]} in -*) ;; *) cmd=${COMP_WORDS[i]}; break ;; esac\n\tdone\n")
	fmt.Fprintf(&b, "\tif [[ -z $cmd ]]; then\n\t\tCOMPREPLY=($(compgen -W '%s --version --help' -- \"$cur\"))\n\t\treturn\n\tfi\n", strings.Join(names(cmds), " "))
	b.WriteString("\tlocal flags= valued=\n\tcase $cmd in\n")
	for _, c := range cmds {
		var fl, val []string
		for _, f := range c.Flags {
			fl = append(fl, "--"+f.Name)
			if f.Arg != "" {
				val = append(val, "--"+f.Name, "-"+f.Name)
			}
		}
		fmt.Fprintf(&b, "\t%s) flags='%s'; valued='%s' ;;\n", c.Name, strings.Join(fl, " "), strings.Join(val, " "))
	}
	b.WriteString("\tesac\n")
	b.WriteString("\tif [[ \" $valued \" == *\" $prev \"* ]]; then\n\t\tCOMPREPLY=($(compgen -f -- \"$cur\"))\n\t\treturn\n\tfi\n")
	b.WriteString("\tif [[ $cur == -* ]]; then\n\t\tCOMPREPLY=($(compgen -W \"$flags\" -- \"$cur\"))\n\telse\n\t\tCOMPREPLY=($(compgen -f -- \"$cur\"))\n\tfi\n}\n")
	b.WriteString("complete -o filenames -F _diskwatch diskwatch\n")
	return b.String()
}

// zshQuote quotes s for a zsh single-quoted word inside an _arguments spec
// (brackets and colons are spec syntax).
func zshQuote(s string) string {
	r := strings.NewReplacer("'", `'\''`, "[", `\[`, "]", `\]`, ":", `\:`)
	return r.Replace(s)
}

func zshCompletion(cmds []Command) string {
	var b strings.Builder
	b.WriteString("#compdef diskwatch\n# zsh completion for diskwatch (generated by cmd/diskwatch/internal/docgen)\n\n")
	b.WriteString("_diskwatch() {\n\tlocal -a commands\n\tcommands=(\n")
	for _, c := range cmds {
		fmt.Fprintf(&b, "\t\t'%s:%s'\n", c.Name, zshQuote(c.Summary))
	}
	b.WriteString("\t)\n\tif (( CURRENT == 2 )); then\n\t\t_describe -t commands 'diskwatch command' commands\n\t\treturn\n\tfi\n")
	b.WriteString("\tlocal cmd=${words[2]}\n\tshift words; (( CURRENT-- ))\n\tcase $cmd in\n")
	for _, c := range cmds {
		fmt.Fprintf(&b, "\t%s)\n\t\t_arguments -S \\\n", c.Name)
		for _, f := range c.Flags {
			spec := fmt.Sprintf("--%s[%s]", f.Name, zshQuote(f.Help))
			if f.Arg != "" {
				spec += ":" + zshQuote(f.Arg) + ":_files"
			}
			fmt.Fprintf(&b, "\t\t\t'%s' \\\n", spec)
		}
		b.WriteString("\t\t\t'*:argument:_files'\n\t\t;;\n")
	}
	b.WriteString("\tesac\n}\n\n_diskwatch \"$@\"\n")
	return b.String()
}

func fishQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, "'", `\'`).Replace(s) + "'"
}

func fishCompletion(cmds []Command) string {
	var b strings.Builder
	b.WriteString("# fish completion for diskwatch (generated by cmd/diskwatch/internal/docgen)\n")
	all := strings.Join(names(cmds), " ")
	b.WriteString("complete -c diskwatch -f\n")
	b.WriteString("complete -c diskwatch -n __fish_use_subcommand -l version -d 'print the version'\n")
	for _, c := range cmds {
		fmt.Fprintf(&b, "complete -c diskwatch -n 'not __fish_seen_subcommand_from %s' -a %s -d %s\n", all, c.Name, fishQuote(c.Summary))
	}
	for _, c := range cmds {
		for _, f := range c.Flags {
			line := fmt.Sprintf("complete -c diskwatch -n '__fish_seen_subcommand_from %s' -l %s -d %s", c.Name, f.Name, fishQuote(f.Help))
			if f.Arg != "" {
				line += " -r -F"
			}
			b.WriteString(line + "\n")
		}
		// Arguments (devices, files).
		fmt.Fprintf(&b, "complete -c diskwatch -n '__fish_seen_subcommand_from %s' -F\n", c.Name)
	}
	return b.String()
}
