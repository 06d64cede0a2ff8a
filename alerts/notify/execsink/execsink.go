// Package execsink runs a program for each alert event: an argument vector
// (never a shell), the event in DISKWATCH_* environment variables and as
// JSON on standard input. Programs run through collectors/execx, under a
// timeout, with their process group killed when it passes.
package execsink

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/diskwatch/diskwatch/alerts/notify"
	"github.com/diskwatch/diskwatch/collectors/execx"
)

// Sink runs Argv.
type Sink struct {
	Argv    []string
	Timeout time.Duration
	// Env is extra environment (KEY=VALUE) besides PATH and the
	// DISKWATCH_* variables.
	Env []string
}

// Environ returns the DISKWATCH_* variables for m.
func Environ(m notify.Message) []string {
	a := m.Alert
	end := ""
	if !a.EndsAt.IsZero() {
		end = a.EndsAt.UTC().Format(time.RFC3339)
	}
	vars := [][2]string{
		{"KIND", string(m.Kind)}, {"ID", m.ID}, {"HOST", m.Host}, {"KEY", a.Key}, {"RULE", a.Rule},
		{"SEVERITY", a.Severity.String()}, {"SUBJECT", a.Subject}, {"SUBJECT_ID", a.SubjectID},
		{"MESSAGE", a.Message}, {"REMEDY", a.Remedy}, {"SUMMARY", m.Subject()},
		{"STARTS_AT", a.StartsAt.UTC().Format(time.RFC3339)}, {"ENDS_AT", end},
		{"TIME", m.Time.UTC().Format(time.RFC3339)},
	}
	out := make([]string, 0, len(vars))
	for _, v := range vars {
		out = append(out, "DISKWATCH_"+v[0]+"="+notify.OneLine(v[1]))
	}
	return out
}

// Notify runs the program once per message. A program that cannot be
// found is a permanent failure; a non-zero exit or a timeout is temporary.
func (s *Sink) Notify(ctx context.Context, msgs ...notify.Message) (bool, error) {
	if len(s.Argv) == 0 {
		return false, errors.New("exec sink: empty argv")
	}
	for _, m := range msgs {
		in, err := json.Marshal(m)
		if err != nil {
			return false, fmt.Errorf("exec %s: encode: %w", s.Argv[0], err)
		}
		env := append([]string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}, s.Env...)
		env = append(env, Environ(m)...)
		var out bytes.Buffer
		err = execx.Cmd{Name: s.Argv[0], Args: s.Argv[1:], Env: env, Stdin: bytes.NewReader(append(in, '\n')),
			Stdout: &out, Timeout: s.timeout()}.Run(ctx)
		if err != nil {
			if errors.Is(err, exec.ErrNotFound) || strings.Contains(err.Error(), "no such file or directory") {
				return false, fmt.Errorf("exec sink: %w", err)
			}
			return true, fmt.Errorf("exec sink: %w", err)
		}
	}
	return false, nil
}

func (s *Sink) timeout() time.Duration {
	if s.Timeout <= 0 {
		return 30 * time.Second
	}
	return s.Timeout
}
