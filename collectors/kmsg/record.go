package kmsg

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Record is one /dev/kmsg record: "prio,seq,usec,flags;message" followed by
// optional " KEY=value" continuation lines (Documentation/ABI/testing/
// dev-kmsg).
type Record struct {
	// Level is the syslog level (0 emerg .. 7 debug); Facility the syslog
	// facility (0 = kernel).
	Level    int
	Facility int
	Seq      uint64
	// Usec is the time since boot in microseconds.
	Usec uint64
	// Cont is the flags field: '-' normally, 'c' or '+' for old
	// continuation fragments.
	Flags string
	// Message is the text with the kernel's \xNN escapes left as they are.
	Message string
	// Dict holds the continuation lines (SUBSYSTEM=scsi, DEVICE=+scsi:...).
	Dict map[string]string
}

// ErrNotRecord is returned for a line that is not a kmsg record header.
var ErrNotRecord = errors.New("not a kmsg record")

// ParseRecord parses one record: a header line, and any continuation lines
// after it (each starting with a space), as one read() of /dev/kmsg
// returns it or as consecutive lines of a saved file.
func ParseRecord(s string) (Record, error) {
	s = strings.TrimRight(s, "\n")
	head, rest, _ := strings.Cut(s, "\n")
	var r Record
	prefix, msg, ok := strings.Cut(head, ";")
	if !ok {
		return r, fmt.Errorf("%w: no ';' in %q", ErrNotRecord, trunc(head))
	}
	f := strings.SplitN(prefix, ",", 5)
	if len(f) < 3 {
		return r, fmt.Errorf("%w: header %q has fewer than 3 fields", ErrNotRecord, trunc(prefix))
	}
	pri, err := strconv.ParseUint(f[0], 10, 31)
	if err != nil {
		return r, fmt.Errorf("%w: bad priority %q", ErrNotRecord, trunc(f[0]))
	}
	r.Level, r.Facility = int(pri&7), int(pri>>3)
	if r.Seq, err = strconv.ParseUint(f[1], 10, 64); err != nil {
		return r, fmt.Errorf("%w: bad sequence number %q", ErrNotRecord, trunc(f[1]))
	}
	if r.Usec, err = strconv.ParseUint(f[2], 10, 64); err != nil {
		return r, fmt.Errorf("%w: bad timestamp %q", ErrNotRecord, trunc(f[2]))
	}
	if len(f) > 3 {
		r.Flags = f[3]
	}
	r.Message = msg
	for _, l := range strings.Split(rest, "\n") {
		if !strings.HasPrefix(l, " ") {
			continue
		}
		k, v, ok := strings.Cut(l[1:], "=")
		if !ok {
			continue
		}
		if r.Dict == nil {
			r.Dict = map[string]string{}
		}
		r.Dict[k] = v
	}
	return r, nil
}

// SplitRecords splits a saved kmsg file (records one after the other, each
// header line followed by its " KEY=value" lines) into record texts.
func SplitRecords(b []byte) []string {
	var out []string
	var cur strings.Builder
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, " ") && cur.Len() > 0 {
			cur.WriteByte('\n')
			cur.WriteString(l)
			continue
		}
		if cur.Len() > 0 {
			out = append(out, cur.String())
			cur.Reset()
		}
		if l != "" {
			cur.WriteString(l)
		}
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

func trunc(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
