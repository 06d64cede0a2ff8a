package nut

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// Dump is the content of a `upsc UPS` listing or a NUT device-dump-library
// (.dev) file: "name: value" lines.
type Dump struct {
	Vars map[string]string
	// Annotations are the notes the DDL puts after a value ("#BAD: ...",
	// "#COMMENT: ..."), keyed by variable: they are not part of the value.
	Annotations map[string]string
	// Comments are the whole-line '#' comments (DDL headers).
	Comments []string
}

// ParseDump reads a upsc / .dev listing. Blank lines and lines starting
// with '#' are comments; an annotation after a value (whitespace, then '#'
// followed by BAD, COMMENT, NOTE or "<-", or a tab then '#') is split off
// into Annotations. A malformed line is reported with its line number and
// skipped: every good line is kept.
func ParseDump(data []byte) (*Dump, error) {
	d := &Dump{Vars: map[string]string{}, Annotations: map[string]string{}}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), maxLine)
	var errs []error
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimRight(sc.Text(), "\r")
		t := strings.TrimSpace(line)
		if t == "" {
			continue
		}
		if strings.HasPrefix(t, "#") {
			d.Comments = append(d.Comments, t)
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		name = strings.TrimSpace(name)
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			errs = append(errs, fmt.Errorf("line %d: not \"name: value\": %q", n, clip(line)))
			continue
		}
		value, note := splitAnnotation(value)
		d.Vars[name] = strings.TrimSpace(value)
		if note != "" {
			d.Annotations[name] = note
		}
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, fmt.Errorf("line %d: %w", n+1, err))
	}
	if len(d.Vars) == 0 && len(errs) == 0 {
		errs = append(errs, errors.New("no variables"))
	}
	return d, errors.Join(errs...)
}

// splitAnnotation separates a DDL note from a value.
func splitAnnotation(v string) (value, note string) {
	for i := 1; i < len(v); i++ {
		if v[i] != '#' || (v[i-1] != ' ' && v[i-1] != '\t') {
			continue
		}
		rest := v[i+1:]
		if v[i-1] == '\t' || strings.HasPrefix(rest, "BAD") || strings.HasPrefix(rest, "COMMENT") ||
			strings.HasPrefix(rest, "NOTE") || strings.HasPrefix(rest, "<-") {
			return strings.TrimSpace(v[:i]), strings.TrimSpace(v[i:])
		}
	}
	return v, ""
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
