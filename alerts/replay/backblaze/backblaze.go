// Package backblaze reads Backblaze drive-stats data (one row per drive per
// day: date, serial_number, model, capacity_bytes, failure,
// smart_N_normalized, smart_N_raw, any subset of SMART columns) and turns
// each row into a model.Disk with its ATA attributes, for `diskwatch
// replay`. It streams: memory does not grow with the number of rows.
//
// The parser (Parser) is pure and works on any io.Reader; Open adds the
// file handling (a .csv, a .csv.gz, or a directory of daily files read in
// name order, which is date order for Backblaze's YYYY-MM-DD names). These
// are user-supplied data files, not host state, so they are opened directly
// rather than through hostroot.
package backblaze

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/diskwatch/diskwatch/collectors/model"
)

// Record is one drive-day.
type Record struct {
	// Date is the day of the reading (UTC midnight).
	Date time.Time
	// Failure is set on a drive's last row when it failed that day.
	Failure bool
	// Disk is the reading as diskwatch's rules see it: Device.Model,
	// Serial, Capacity and Protocol "ata"; ATA attributes with Value (the
	// normalized column; 0 when absent) and Raw; TemperatureC from
	// attribute 194, PowerOnHours from 9, PowerCycles from 12.
	Disk model.Disk
}

// maxLine bounds one CSV line (a real row is well under 2 KiB).
const maxLine = 1 << 20

// column kinds
const (
	colIgnore = iota
	colDate
	colSerial
	colModel
	colCapacity
	colFailure
	colNorm
	colRaw
	colThresh
)

type column struct {
	kind int
	attr int // index into Parser.attrs
}

// Parser reads rows of one CSV stream whose first line is the header.
type Parser struct {
	name  string
	br    *bufio.Reader
	line  int
	cols  []column
	attrs []int // attribute IDs, in the order of first appearance
	// fields is reused between rows.
	fields [][]byte
	// per-row scratch, reused
	norm, raw, thresh []int64
	hasN, hasR, hasT  []bool
	hasDate           bool
	hasSerial         bool
	// broken is set after an I/O error: the stream cannot go on.
	broken bool
}

// NewParser reads the header of r. name is used in error messages (a file
// name).
func NewParser(name string, r io.Reader) (*Parser, error) {
	p := &Parser{name: name, br: bufio.NewReaderSize(r, 256<<10)}
	hdr, err := p.readLine()
	if err == io.EOF {
		return nil, fmt.Errorf("%s: empty file, no header", name)
	}
	if err != nil {
		return nil, err
	}
	hdr = bytes.TrimPrefix(hdr, []byte("\xef\xbb\xbf"))
	fields, err := p.split(hdr)
	if err != nil {
		return nil, err
	}
	ids := map[int]int{}
	for _, f := range fields {
		name := strings.ToLower(strings.TrimSpace(string(f)))
		c := column{kind: colIgnore}
		switch name {
		case "date":
			c.kind = colDate
			p.hasDate = true
		case "serial_number":
			c.kind = colSerial
			p.hasSerial = true
		case "model":
			c.kind = colModel
		case "capacity_bytes":
			c.kind = colCapacity
		case "failure":
			c.kind = colFailure
		default:
			if rest, ok := strings.CutPrefix(name, "smart_"); ok {
				num, suffix, _ := strings.Cut(rest, "_")
				id, err := strconv.Atoi(num)
				if err == nil && id > 0 && id < 256 {
					kind := colIgnore
					switch suffix {
					case "normalized":
						kind = colNorm
					case "raw":
						kind = colRaw
					case "thresh", "threshold":
						kind = colThresh
					}
					if kind != colIgnore {
						idx, ok := ids[id]
						if !ok {
							idx = len(p.attrs)
							ids[id] = idx
							p.attrs = append(p.attrs, id)
						}
						c = column{kind: kind, attr: idx}
					}
				}
			}
		}
		p.cols = append(p.cols, c)
	}
	if !p.hasDate || !p.hasSerial {
		return nil, fmt.Errorf("%s:1: header lacks the date and serial_number columns (is this Backblaze drive-stats data?)", name)
	}
	n := len(p.attrs)
	p.norm, p.raw, p.thresh = make([]int64, n), make([]int64, n), make([]int64, n)
	p.hasN, p.hasR, p.hasT = make([]bool, n), make([]bool, n), make([]bool, n)
	return p, nil
}

// readLine returns the next line without its line ending; the slice is
// valid until the next call.
func (p *Parser) readLine() ([]byte, error) {
	for {
		line, err := p.br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			// A long line: accumulate, bounded.
			buf := append([]byte(nil), line...)
			for err == bufio.ErrBufferFull {
				if len(buf) > maxLine {
					p.broken = true
					return nil, fmt.Errorf("%s:%d: line longer than %d bytes", p.name, p.line+1, maxLine)
				}
				line, err = p.br.ReadSlice('\n')
				buf = append(buf, line...)
			}
			line = buf
		}
		if err != nil && err != io.EOF {
			p.broken = true
			return nil, fmt.Errorf("%s:%d: read: %w", p.name, p.line+1, err)
		}
		if len(line) == 0 && err == io.EOF {
			return nil, io.EOF
		}
		p.line++
		line = bytes.TrimRight(line, "\r\n")
		if len(bytes.TrimSpace(line)) == 0 {
			if err == io.EOF {
				return nil, io.EOF
			}
			continue
		}
		return line, nil
	}
}

// split cuts a line at commas; a line containing a quote is parsed with
// encoding/csv instead (Backblaze never quotes, other tools might).
func (p *Parser) split(line []byte) ([][]byte, error) {
	p.fields = p.fields[:0]
	if bytes.IndexByte(line, '"') >= 0 {
		r := csv.NewReader(bytes.NewReader(line))
		r.FieldsPerRecord = -1
		rec, err := r.Read()
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %v", p.name, p.line, err)
		}
		for _, f := range rec {
			p.fields = append(p.fields, []byte(f))
		}
		return p.fields, nil
	}
	for {
		i := bytes.IndexByte(line, ',')
		if i < 0 {
			p.fields = append(p.fields, line)
			return p.fields, nil
		}
		p.fields = append(p.fields, line[:i])
		line = line[i+1:]
	}
}

// Next returns the next drive-day. It returns io.EOF at the end. A bad row
// is an error naming the file and line; the caller may log it and call
// Next again (the parser stays usable).
func (p *Parser) Next(rec *Record) error {
	line, err := p.readLine()
	if err != nil {
		return err
	}
	fields, err := p.split(line)
	if err != nil {
		return err
	}
	if len(fields) != len(p.cols) {
		return fmt.Errorf("%s:%d: %d fields, header has %d", p.name, p.line, len(fields), len(p.cols))
	}
	for i := range p.hasN {
		p.hasN[i], p.hasR[i], p.hasT[i] = false, false, false
	}
	*rec = Record{}
	d := &rec.Disk
	d.Device.Protocol = "ata"
	d.SMARTAvailable = true
	d.SMARTEnabled = true
	for i, f := range fields {
		c := p.cols[i]
		if c.kind == colIgnore {
			continue
		}
		f = bytes.TrimSpace(f)
		switch c.kind {
		case colDate:
			t, err := parseDate(f)
			if err != nil {
				return fmt.Errorf("%s:%d: date %q: %v", p.name, p.line, model.Clean(string(f)), err)
			}
			rec.Date = t
		case colSerial:
			d.Device.Serial = string(f)
		case colModel:
			d.Device.Model = string(f)
		case colCapacity:
			if len(f) > 0 {
				v, ok := parseNum(f)
				if !ok {
					return fmt.Errorf("%s:%d: capacity_bytes %q is not a number", p.name, p.line, model.Clean(string(f)))
				}
				d.Device.Capacity = v
			}
		case colFailure:
			switch string(f) {
			case "1":
				rec.Failure = true
			case "0", "":
			default:
				return fmt.Errorf("%s:%d: failure %q is not 0 or 1", p.name, p.line, model.Clean(string(f)))
			}
		case colNorm, colRaw, colThresh:
			if len(f) == 0 {
				continue
			}
			v, ok := parseNum(f)
			if !ok {
				return fmt.Errorf("%s:%d: smart_%d %q is not a number", p.name, p.line, p.attrs[c.attr], model.Clean(string(f)))
			}
			switch c.kind {
			case colNorm:
				p.norm[c.attr], p.hasN[c.attr] = v, true
			case colRaw:
				p.raw[c.attr], p.hasR[c.attr] = v, true
			default:
				p.thresh[c.attr], p.hasT[c.attr] = v, true
			}
		}
	}
	if d.Device.Serial == "" {
		return fmt.Errorf("%s:%d: empty serial_number", p.name, p.line)
	}
	if rec.Date.IsZero() {
		return fmt.Errorf("%s:%d: empty date", p.name, p.line)
	}
	n := 0
	for i := range p.attrs {
		if p.hasN[i] || p.hasR[i] {
			n++
		}
	}
	if n > 0 {
		d.ATAAttributes = make([]model.ATAAttribute, 0, n)
	}
	for i, id := range p.attrs {
		if !p.hasN[i] && !p.hasR[i] {
			continue
		}
		a := model.ATAAttribute{ID: id, Raw: p.raw[i], Value: int(p.norm[i]), Worst: int(p.norm[i])}
		if p.hasT[i] {
			a.Thresh = int(p.thresh[i])
		}
		d.ATAAttributes = append(d.ATAAttributes, a)
		if !p.hasR[i] {
			continue
		}
		switch id {
		case 194:
			t := float64(p.raw[i] & 0xffff)
			if t > 0 && t < 150 {
				d.TemperatureC = &t
			}
		case 9:
			h := p.raw[i]
			d.PowerOnHours = &h
		case 12:
			c := p.raw[i]
			d.PowerCycles = &c
		}
	}
	return nil
}

// HasThresholds reports whether the data carries vendor thresholds
// (smart_N_thresh columns); Backblaze's does not.
func (p *Parser) HasThresholds() bool {
	for i := range p.cols {
		if p.cols[i].kind == colThresh {
			return true
		}
	}
	return false
}

func parseDate(f []byte) (time.Time, error) {
	if len(f) == 10 && f[4] == '-' && f[7] == '-' {
		y, ok1 := atoi(f[0:4])
		m, ok2 := atoi(f[5:7])
		d, ok3 := atoi(f[8:10])
		if ok1 && ok2 && ok3 && m >= 1 && m <= 12 && d >= 1 && d <= 31 {
			t := time.Date(int(y), time.Month(m), int(d), 0, 0, 0, 0, time.UTC)
			if t.Day() == int(d) {
				return t, nil
			}
		}
	}
	return time.Parse("2006-01-02", string(f))
}

func atoi(b []byte) (int64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// parseNum reads an integer, or a float written by a tool that exported the
// CSV through a float column ("12.0"), rounded toward zero.
func parseNum(b []byte) (int64, bool) {
	neg := false
	s := b
	if len(s) > 0 && s[0] == '-' {
		neg, s = true, s[1:]
	}
	if len(s) > 0 && len(s) <= 18 {
		if n, ok := atoi(s); ok {
			if neg {
				n = -n
			}
			return n, true
		}
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f > math.MaxInt64 || f < math.MinInt64 {
		return 0, false
	}
	return int64(f), true
}

// Source streams records from a file or a directory of daily files.
type Source struct {
	files []string
	next  int
	cur   *Parser
	close func() error
	// Thresholds is set once a file with smart_N_thresh columns was opened.
	Thresholds bool
}

// Open prepares to read path: a .csv, a .csv.gz, or a directory whose
// *.csv and *.csv.gz files are read in name order.
func Open(path string) (*Source, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("backblaze data: %w", err)
	}
	s := &Source{}
	if !st.IsDir() {
		s.files = []string{path}
		return s, nil
	}
	ents, err := os.ReadDir(path)
	if err != nil {
		return nil, fmt.Errorf("backblaze data: %w", err)
	}
	for _, e := range ents {
		n := e.Name()
		if !e.IsDir() && (strings.HasSuffix(n, ".csv") || strings.HasSuffix(n, ".csv.gz")) {
			s.files = append(s.files, filepath.Join(path, n))
		}
	}
	sort.Strings(s.files)
	if len(s.files) == 0 {
		return nil, fmt.Errorf("backblaze data: no .csv or .csv.gz files in %s", path)
	}
	return s, nil
}

// Files lists the files the source reads, in order.
func (s *Source) Files() []string { return s.files }

// Next fills rec with the next drive-day; io.EOF at the end. Errors of
// single rows (ErrRow) leave the source usable.
func (s *Source) Next(ctx context.Context, rec *Record) error {
	for {
		if s.cur == nil {
			if err := ctx.Err(); err != nil {
				return err
			}
			if s.next >= len(s.files) {
				return io.EOF
			}
			if err := s.openNext(); err != nil {
				return err
			}
		}
		err := s.cur.Next(rec)
		if err == io.EOF {
			s.Close()
			continue
		}
		if err != nil && !s.cur.broken {
			return &RowError{Err: err}
		}
		return err
	}
}

// RowError is a bad row; reading can go on after it.
type RowError struct{ Err error }

func (e *RowError) Error() string { return e.Err.Error() }
func (e *RowError) Unwrap() error { return e.Err }

func (s *Source) openNext() error {
	name := s.files[s.next]
	s.next++
	f, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("backblaze data: %w", err)
	}
	var r io.Reader = f
	closeAll := f.Close
	if strings.HasSuffix(name, ".gz") {
		gz, err := gzip.NewReader(f)
		if err != nil {
			f.Close()
			return fmt.Errorf("backblaze data %s: gzip: %w", name, err)
		}
		r = gz
		closeAll = func() error { gz.Close(); return f.Close() }
	}
	p, err := NewParser(name, r)
	if err != nil {
		closeAll()
		return fmt.Errorf("backblaze data: %w", err)
	}
	if p.HasThresholds() {
		s.Thresholds = true
	}
	s.cur, s.close = p, closeAll
	return nil
}

// Close releases the current file.
func (s *Source) Close() error {
	if s.cur == nil {
		return nil
	}
	s.cur = nil
	return s.close()
}
