// Package logfmt turns zerolog's JSON lines into logfmt (ts=... level=...
// msg=... key=value), the format node_exporter and Prometheus log in, for a
// person reading `journalctl -u diskwatch` or a log file. Under systemd's
// journal each line starts with its syslog priority (<3> error, <4>
// warning, <6> info, <7> debug), which journald takes as the entry's
// priority and strips.
package logfmt

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"
)

// Writer converts each JSON log line written to it.
type Writer struct {
	mu sync.Mutex
	w  io.Writer
	// Journal prefixes each line with its syslog priority and leaves the
	// time out (the journal has it).
	Journal bool
}

// New returns a Writer to w.
func New(w io.Writer, journal bool) *Writer { return &Writer{w: w, Journal: journal} }

var priority = map[string]int{"trace": 7, "debug": 7, "info": 6, "warn": 4, "error": 3, "fatal": 2, "panic": 0}

// Write converts one zerolog line; a line that is not JSON passes as is.
func (l *Writer) Write(p []byte) (int, error) {
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(p))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.w.Write(p)
	}
	var b strings.Builder
	level, _ := m["level"].(string)
	if l.Journal {
		if pr, ok := priority[level]; ok {
			fmt.Fprintf(&b, "<%d>", pr)
		}
	} else if t, ok := m["time"]; ok {
		pair(&b, "ts", t)
	}
	if level != "" {
		pair(&b, "level", level)
	}
	if msg, ok := m["message"]; ok {
		pair(&b, "msg", msg)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		if k != "time" && k != "level" && k != "message" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		pair(&b, k, m[k])
	}
	b.WriteByte('\n')
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, err := io.WriteString(l.w, strings.TrimLeft(b.String(), " ")); err != nil {
		return 0, err
	}
	return len(p), nil
}

func pair(b *strings.Builder, k string, v any) {
	if b.Len() > 0 && !strings.HasSuffix(b.String(), ">") {
		b.WriteByte(' ')
	}
	b.WriteString(k)
	b.WriteByte('=')
	b.WriteString(value(v))
}

// value quotes a value when it holds a space, a quote, an equals sign or
// a control character (quoted with Go escapes, so nothing raw reaches a
// terminal).
func value(v any) string {
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case json.Number:
		return x.String()
	case nil:
		return `""`
	case bool:
		return strconv.FormatBool(x)
	default:
		bs, _ := json.Marshal(x)
		s = string(bs)
	}
	if s == "" {
		return `""`
	}
	if strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == '"' || r == '=' || r == 0x7f || (r >= 0x80 && r < 0xa0) }) {
		return strconv.QuoteToASCII(s)
	}
	return s
}

// Logger is diskwatch's logger on w at level (debug, info, warn or error)
// in format: logfmt, json, console, or auto — console on a terminal, else
// logfmt, with journal priorities when journalStream (systemd's
// JOURNAL_STREAM, "DEVICE:INODE") names w. A bad level or format is an
// error that names the flag.
func Logger(w io.Writer, level, format, journalStream string) (zerolog.Logger, error) {
	lvl, err := zerolog.ParseLevel(level)
	if err != nil || (level != "debug" && level != "info" && level != "warn" && level != "error") {
		return zerolog.Nop(), fmt.Errorf("--log-level must be debug, info, warn or error, not %q", level)
	}
	f, isFile := w.(*os.File)
	tty := isFile && isatty.IsTerminal(f.Fd())
	switch format {
	case "json":
	case "console":
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.TimeOnly, NoColor: !tty}
	case "logfmt":
		w = New(w, false)
	case "auto", "":
		if tty {
			w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.TimeOnly}
		} else {
			w = New(w, isFile && isStream(journalStream, f))
		}
	default:
		return zerolog.Nop(), fmt.Errorf("--log-format must be logfmt, json or console, not %q", format)
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger(), nil
}

// isStream reports whether f is the stream v ("DEVICE:INODE") names.
func isStream(v string, f *os.File) bool {
	dev, ino, ok := strings.Cut(v, ":")
	if !ok {
		return false
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		return false
	}
	return fmt.Sprint(st.Dev) == dev && fmt.Sprint(st.Ino) == ino
}
