// Package nut is a client for the Network UPS Tools upsd network protocol
// (TCP 3493), written from NUT's "Network protocol information" document:
// line-oriented requests and replies, values in double quotes with
// backslash escapes, multi-line answers framed by BEGIN LIST / END LIST,
// errors as "ERR CODE [detail]".
package nut

import (
	"errors"
	"fmt"
	"strings"
)

// maxLine bounds one reply line; upsd's own limit is far below it.
const maxLine = 64 << 10

// ReplyError is an "ERR CODE [detail]" reply from upsd.
type ReplyError struct {
	Code   string // ACCESS-DENIED, UNKNOWN-UPS, DATA-STALE, ...
	Detail string
}

func (e *ReplyError) Error() string {
	if e.Detail != "" {
		return "upsd: " + e.Code + " (" + e.Detail + ")"
	}
	return "upsd: " + e.Code
}

// Stale reports whether the error means the UPS itself cannot be reached
// by its driver (communication with the UPS lost), as opposed to a
// protocol or permission problem.
func (e *ReplyError) Stale() bool {
	switch e.Code {
	case "DATA-STALE", "DRIVER-NOT-CONNECTED":
		return true
	}
	return false
}

// ErrSyntax is wrapped by every malformed-line error.
var ErrSyntax = errors.New("malformed reply")

// SplitLine splits one protocol line into words. A word is a run of
// non-space characters or a double-quoted string in which \" and \\ (and
// a backslash before any other character) stand for the character after
// the backslash. An empty quoted string is an empty word. It fails on an
// unterminated quote, a dangling backslash, control characters or a line
// longer than the protocol allows.
func SplitLine(line string) ([]string, error) {
	if len(line) > maxLine {
		return nil, fmt.Errorf("%w: line of %d bytes", ErrSyntax, len(line))
	}
	line = strings.TrimRight(line, "\r\n")
	var words []string
	var b strings.Builder
	i := 0
	for i < len(line) {
		c := line[i]
		switch {
		case c == ' ' || c == '\t':
			i++
			continue
		case c == '"':
			b.Reset()
			i++
			closed := false
			for i < len(line) {
				c = line[i]
				if c == '\\' {
					if i+1 >= len(line) {
						return nil, fmt.Errorf("%w: dangling backslash", ErrSyntax)
					}
					if e := line[i+1]; (e < 0x20 && e != '\t') || e == 0x7f {
						return nil, fmt.Errorf("%w: control character 0x%02x", ErrSyntax, e)
					}
					b.WriteByte(line[i+1])
					i += 2
					continue
				}
				if c == '"' {
					closed = true
					i++
					break
				}
				if (c < 0x20 && c != '\t') || c == 0x7f {
					return nil, fmt.Errorf("%w: control character 0x%02x", ErrSyntax, c)
				}
				b.WriteByte(c)
				i++
			}
			if !closed {
				return nil, fmt.Errorf("%w: unterminated quote", ErrSyntax)
			}
			if i < len(line) && line[i] != ' ' && line[i] != '\t' {
				return nil, fmt.Errorf("%w: text right after a closing quote", ErrSyntax)
			}
			words = append(words, b.String())
		default:
			start := i
			for i < len(line) && line[i] != ' ' && line[i] != '\t' {
				if line[i] < 0x20 || line[i] == 0x7f {
					return nil, fmt.Errorf("%w: control character 0x%02x", ErrSyntax, line[i])
				}
				if line[i] == '"' {
					return nil, fmt.Errorf("%w: quote inside a word", ErrSyntax)
				}
				i++
			}
			words = append(words, line[start:i])
		}
	}
	return words, nil
}

// ParseReply splits a reply line and turns an "ERR" line into a
// *ReplyError. An empty line is a syntax error.
func ParseReply(line string) ([]string, error) {
	w, err := SplitLine(line)
	if err != nil {
		return nil, err
	}
	if len(w) == 0 {
		return nil, fmt.Errorf("%w: empty line", ErrSyntax)
	}
	if w[0] == "ERR" {
		e := &ReplyError{Code: "UNKNOWN"}
		if len(w) > 1 {
			e.Code = w[1]
		}
		if len(w) > 2 {
			e.Detail = strings.Join(w[2:], " ")
		}
		return nil, e
	}
	return w, nil
}

// Quote renders a request argument: bare when it is a plain word, else
// double-quoted with " and \ escaped.
func Quote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\"\\") {
		return s
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	return `"` + r.Replace(s) + `"`
}

// validArg reports whether s can be sent as one request argument (no line
// breaks or other control characters that would split or corrupt the
// request).
func validArg(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return false
		}
	}
	return true
}
