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
	"sort"
	"strconv"
	"strings"
	"sync"
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
