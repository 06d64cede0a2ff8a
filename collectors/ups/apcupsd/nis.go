// Package apcupsd reads an apcupsd daemon through its Network Information
// Server (NIS, TCP 3551): the client sends a 2-byte big-endian length and
// the command "status"; the server answers with records, each a 2-byte
// length and a "KEY      : value" line, ending with a zero-length record.
// Written from apcupsd's manual (NIS and apcaccess sections).
package apcupsd

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"
)

// Limits on a reply, so a garbage or endless server cannot make the
// client eat memory.
const (
	maxRecords = 1000
	maxRecord  = 4096
)

// ErrFrame is wrapped by every framing error.
var ErrFrame = errors.New("bad NIS reply")

// ReadRecords reads length-prefixed records until the zero-length end
// record. Records are returned without their trailing newline.
func ReadRecords(r io.Reader) ([]string, error) {
	var out []string
	var hdr [2]byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return out, fmt.Errorf("record %d length: %w", len(out)+1, noEOF(err))
		}
		n := int(binary.BigEndian.Uint16(hdr[:]))
		if n == 0 {
			return out, nil
		}
		if n > maxRecord {
			return out, fmt.Errorf("%w: record %d claims %d bytes", ErrFrame, len(out)+1, n)
		}
		if len(out) >= maxRecords {
			return out, fmt.Errorf("%w: more than %d records", ErrFrame, maxRecords)
		}
		b := make([]byte, n)
		if _, err := io.ReadFull(r, b); err != nil {
			return out, fmt.Errorf("record %d body: %w", len(out)+1, noEOF(err))
		}
		for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r' || b[len(b)-1] == 0) {
			b = b[:len(b)-1]
		}
		out = append(out, string(b))
	}
}

func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("connection closed before the end record: %w", io.ErrUnexpectedEOF)
	}
	return err
}

// AppendRecord appends one length-prefixed record (a request, or a
// server's reply line in tests).
func AppendRecord(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}

// Query connects to the NIS at addr, sends cmd ("status") and returns the
// reply records. timeout bounds the connect and the whole exchange; the
// context's deadline, when earlier, wins.
func Query(ctx context.Context, addr, cmd string, timeout time.Duration) ([]string, error) {
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) && op.Err != nil {
			err = op.Err // "dial tcp ADDR: connect:" would repeat the address and the step
			var sc *os.SyscallError
			if errors.As(err, &sc) {
				err = sc.Err
			}
		}
		return nil, fmt.Errorf("apcupsd %s: connect: %w", addr, err)
	}
	defer conn.Close()
	dl := time.Now().Add(timeout) // an I/O deadline, not a reading time
	if d, ok := ctx.Deadline(); ok && d.Before(dl) {
		dl = d
	}
	conn.SetDeadline(dl)
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if _, err := conn.Write(AppendRecord(nil, cmd)); err != nil {
		return nil, fmt.Errorf("apcupsd %s: %s: %w", addr, cmd, err)
	}
	recs, err := ReadRecords(bufio.NewReader(conn))
	if err != nil {
		return nil, fmt.Errorf("apcupsd %s: %s: %w", addr, cmd, err)
	}
	return recs, nil
}
