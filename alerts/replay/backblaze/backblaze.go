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
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"math/bits"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"

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
	colIgnoredAttr // an attribute column Want left out
)

type column struct {
	kind int
	attr int // index into Parser.attrs
	was  int // the kind before Want
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
	// live[i]: column i is parsed
	live       []bool
	nextLive   []int
	lastLive   int // the last parsed column
	threshCols bool
	// per-row scratch, reused
	norm, raw, thresh []int64
	has               []uint8
	index             [256]int16
	lastDate          [16]byte
	lastDateLen       int
	lastDay           int32
	hasDate           bool
	hasSerial         bool
	// broken is set after an I/O error: the stream cannot go on.
	broken bool
}

// NewParser reads the header of r. name is used in error messages (a file
// name).
func NewParser(name string, r io.Reader) (*Parser, error) {
	return newParser(name, r, nil)
}

// newParser is NewParser reading through br (Reset to r) when br is set:
// a directory of daily files reuses one buffer.
func newParser(name string, r io.Reader, br *bufio.Reader) (*Parser, error) {
	if br == nil {
		br = bufio.NewReaderSize(r, 256<<10)
	} else {
		br.Reset(r)
	}
	p := &Parser{name: name, br: br}
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
	p.has = make([]uint8, n)
	p.setLive()
	p.threshCols = p.HasThresholds()
	for i := range p.index {
		p.index[i] = -1
	}
	for i, id := range p.attrs {
		p.index[id] = int16(i)
	}
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
		for len(line) > 0 && (line[len(line)-1] == '\n' || line[len(line)-1] == '\r') {
			line = line[:len(line)-1]
		}
		if len(line) == 0 || (line[0] <= ' ' || line[0] >= 0x80) && len(bytes.TrimSpace(line)) == 0 {
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

// Row is one drive-day as read, without building a model.Disk: the fast
// path replay takes. Slices are the parser's own and valid until the next
// call.
type Row struct {
	// Day counts days since 1970-01-01 (UTC).
	Day      int32
	Serial   []byte
	Model    []byte
	Capacity int64
	Failure  bool
	// Index maps an attribute ID to its position in Raw, Norm, Thresh and
	// Has, or -1 when the file has no column for it.
	Index *[256]int16
	// IDs lists the attribute IDs in position order.
	IDs               []int
	Raw, Norm, Thresh []int64
	// Has says which cells were present: bit 0 raw, 1 normalized, 2 thresh.
	Has []uint8
	// Thresholds: the file has threshold columns.
	Thresholds bool
}

// Cell presence bits of Row.Has.
const (
	HasRaw    = 1
	HasNorm   = 2
	HasThresh = 4
)

const (
	commas = 0x2c2c2c2c2c2c2c2c
	lo7    = 0x7f7f7f7f7f7f7f7f
)

// RawOf is attribute id's raw value and whether the row has it.
func (r *Row) RawOf(id int) (int64, bool) {
	i := r.Index[id]
	if i < 0 || r.Has[i]&HasRaw == 0 {
		return 0, false
	}
	return r.Raw[i], true
}

// Time is the row's day as UTC midnight.
func (r *Row) Time() time.Time { return time.Unix(int64(r.Day)*86400, 0).UTC() }

// Next returns the next drive-day. It returns io.EOF at the end. A bad row
// is an error naming the file and line; the caller may log it and call
// Next again (the parser stays usable).
func (p *Parser) Next(rec *Record) error {
	var row Row
	if err := p.NextRow(&row); err != nil {
		return err
	}
	row.Record(rec)
	return nil
}

// NextRow is Next without building a model.Disk.
func (p *Parser) NextRow(row *Row) error {
	line, err := p.readLine()
	if err != nil {
		return err
	}
	return p.ParseLine(line, row)
}

// ParseLine parses one data line of this parser's file (after its header).
func (p *Parser) ParseLine(line []byte, row *Row) error {
	for i := range p.has {
		p.has[i] = 0
	}
	*row = Row{Day: -1, Index: &p.index, IDs: p.attrs, Raw: p.raw, Norm: p.norm, Thresh: p.thresh, Has: p.has, Thresholds: p.threshCols}
	n := len(p.cols)
	if bytes.IndexByte(line, '"') >= 0 {
		fields, err := p.split(line)
		if err != nil {
			return err
		}
		if len(fields) != n {
			return fmt.Errorf("%s:%d: %d fields, header has %d", p.name, p.line, len(fields), n)
		}
		for i, f := range fields {
			if err := p.cell(i, f, row); err != nil {
				return err
			}
		}
	} else {
		// One pass over the bytes, eight at a time: a word without a comma
		// costs a few operations, and an empty or ignored cell a compare.
		col, start := 0, 0
		i := 0
		nextLive, lastLive := p.nextLive, p.lastLive
		for ; i+8 <= len(line); i += 8 {
			w := binary.LittleEndian.Uint64(line[i:])
			x := w ^ commas
			// the high bit of each byte of m is set where x's byte is 0,
			// i.e. where w has a comma (exact, no false positives)
			m := ^(((x & lo7) + lo7) | x | lo7)
			for m != 0 {
				// Commas that end fields holding no parsed column (most
				// of a row's ~90 cells) are only counted.
				// (m has only bytes' high bits: the multiply sums the
				// bytes into the top one, without a POPCNT check)
				c := int((m >> 7) * 0x0101010101010101 >> 56)
				skip := nextLive[col] - col
				if skip >= c {
					col += c
					start = i + (63-bits.LeadingZeros64(m))>>3 + 1
					break
				}
				if skip > 0 {
					for ; skip > 1; skip-- {
						m &= m - 1
					}
					start = i + bits.TrailingZeros64(m)>>3 + 1
					m &= m - 1
					col = nextLive[col]
				}
				// The lowest comma left ends parsed column col.
				j := i + bits.TrailingZeros64(m)>>3
				m &= m - 1
				if j > start {
					if c := p.cols[col]; c.kind == colRaw && line[start] != ' ' && line[start] != '\t' && line[j-1] != ' ' && line[j-1] != '\t' {
						// a raw value (most parsed cells): cell's case, inline
						v, ok := parseNum(line[start:j])
						if !ok {
							return p.cell(col, line[start:j], row)
						}
						p.raw[c.attr] = v
						p.has[c.attr] |= HasRaw
					} else if err := p.cell(col, line[start:j], row); err != nil {
						return err
					}
				}
				col++
				start = j + 1
				if col > lastLive {
					break
				}
			}
			if col > lastLive {
				// Past the last parsed column: only count the rest's
				// commas (vectorized), for the field check.
				col += bytes.Count(line[start:], []byte{','})
				i = len(line)
				break
			}
		}
		for ; i < len(line); i++ {
			if line[i] != ',' {
				continue
			}
			if i > start && col < n && p.live[col] {
				if err := p.cell(col, line[start:i], row); err != nil {
					return err
				}
			}
			col++
			start = i + 1
		}
		if col != n-1 {
			return fmt.Errorf("%s:%d: %d fields, header has %d", p.name, p.line, col+1, n)
		}
		if len(line) > start && col == p.lastLive {
			if err := p.cell(col, line[start:], row); err != nil {
				return err
			}
		}
	}
	if len(row.Serial) == 0 {
		return fmt.Errorf("%s:%d: empty serial_number", p.name, p.line)
	}
	if row.Day < 0 {
		return fmt.Errorf("%s:%d: empty date", p.name, p.line)
	}
	return nil
}

// cell parses one non-empty cell of column i into row.
func (p *Parser) cell(i int, f []byte, row *Row) error {
	c := p.cols[i]
	if c.kind == colIgnore || len(f) == 0 {
		return nil
	}
	if f[0] == ' ' || f[len(f)-1] == ' ' || f[0] == '\t' || f[len(f)-1] == '\t' {
		if f = bytes.TrimSpace(f); len(f) == 0 {
			return nil
		}
	}
	switch c.kind {
	case colDate:
		if !bytes.Equal(f, p.lastDate[:p.lastDateLen]) || p.lastDateLen == 0 {
			t, err := parseDate(f)
			if err != nil {
				return fmt.Errorf("%s:%d: date %q: %v", p.name, p.line, model.Clean(string(f)), err)
			}
			p.lastDateLen = copy(p.lastDate[:], f)
			if len(f) > len(p.lastDate) {
				p.lastDateLen = 0
			}
			p.lastDay = int32(t.Unix() / 86400)
		}
		row.Day = p.lastDay
	case colSerial:
		row.Serial = f
	case colModel:
		row.Model = f
	case colCapacity:
		v, ok := parseNum(f)
		if !ok {
			return fmt.Errorf("%s:%d: capacity_bytes %q is not a number", p.name, p.line, model.Clean(string(f)))
		}
		row.Capacity = v
	case colFailure:
		switch {
		case len(f) == 1 && f[0] == '1':
			row.Failure = true
		case len(f) == 1 && f[0] == '0':
		default:
			return fmt.Errorf("%s:%d: failure %q is not 0 or 1", p.name, p.line, model.Clean(string(f)))
		}
	case colNorm, colRaw, colThresh:
		v, ok := parseNum(f)
		if !ok {
			return fmt.Errorf("%s:%d: smart_%d %q is not a number", p.name, p.line, p.attrs[c.attr], model.Clean(string(f)))
		}
		switch c.kind {
		case colNorm:
			p.norm[c.attr] = v
			p.has[c.attr] |= HasNorm
		case colRaw:
			p.raw[c.attr] = v
			p.has[c.attr] |= HasRaw
		default:
			p.thresh[c.attr] = v
			p.has[c.attr] |= HasThresh
		}
	}
	return nil
}

// Record fills rec from the row (copying what it keeps).
func (r *Row) Record(rec *Record) {
	*rec = Record{Date: r.Time(), Failure: r.Failure}
	d := &rec.Disk
	d.Device.Protocol = "ata"
	d.SMARTAvailable = true
	d.SMARTEnabled = true
	d.Device.Serial = string(r.Serial)
	d.Device.Model = string(r.Model)
	d.Device.Capacity = r.Capacity
	n := 0
	for i := range r.IDs {
		if r.Has[i]&(HasRaw|HasNorm) != 0 {
			n++
		}
	}
	if n > 0 {
		d.ATAAttributes = make([]model.ATAAttribute, 0, n)
	}
	for i, id := range r.IDs {
		h := r.Has[i]
		if h&(HasRaw|HasNorm) == 0 {
			continue
		}
		norm := 0
		if h&HasNorm != 0 {
			norm = int(r.Norm[i])
		}
		raw := int64(0)
		if h&HasRaw != 0 {
			raw = r.Raw[i]
		}
		a := model.ATAAttribute{ID: id, Raw: raw, Value: norm, Worst: norm}
		if h&HasThresh != 0 {
			a.Thresh = int(r.Thresh[i])
		}
		d.ATAAttributes = append(d.ATAAttributes, a)
		if h&HasRaw == 0 {
			continue
		}
		switch id {
		case 194:
			t := float64(raw & 0xffff)
			if t > 0 && t < 150 {
				d.TemperatureC = &t
			}
		case 9:
			h := raw
			d.PowerOnHours = &h
		case 12:
			c := raw
			d.PowerCycles = &c
		}
	}
}

// Want limits parsing to the cells of the attributes ids, and to the
// normalized and threshold cells of attributes with a threshold column
// (the others read as absent); nil parses every cell.
// Replay's assessment reads a handful of attributes: skipping the rest is
// most of the work on data with every column filled.
func (p *Parser) Want(ids []int) {
	thresh := make([]bool, len(p.attrs))
	for _, c := range p.cols {
		if c.kind == colThresh || c.kind == colIgnoredAttr && c.was == colThresh {
			thresh[c.attr] = true
		}
	}
	for i := range p.cols {
		c := &p.cols[i]
		if c.kind != colNorm && c.kind != colRaw && c.kind != colThresh && c.kind != colIgnoredAttr {
			continue
		}
		if c.kind != colIgnoredAttr {
			c.was = c.kind
		}
		c.kind = c.was
		keep := ids == nil || slices.Contains(ids, p.attrs[c.attr]) ||
			c.kind != colRaw && thresh[c.attr]
		if !keep {
			c.kind = colIgnoredAttr
		}
	}
	p.setLive()
}

func (p *Parser) setLive() {
	p.live = p.live[:0]
	p.lastLive = -1
	for i, c := range p.cols {
		p.live = append(p.live, c.kind != colIgnore && c.kind != colIgnoredAttr)
		if p.live[i] {
			p.lastLive = i
		}
	}
	// nextLive[i]: the first parsed column at or after i (len(cols) when
	// none); one more entry for a row with too many fields.
	p.nextLive = make([]int, len(p.cols)+1)
	next := len(p.cols)
	p.nextLive[len(p.cols)] = next
	for i := len(p.cols) - 1; i >= 0; i-- {
		if p.live[i] {
			next = i
		}
		p.nextLive[i] = next
	}
}

// HasThresholds reports whether the data carries vendor thresholds
// (smart_N_thresh columns); Backblaze's does not.
func (p *Parser) HasThresholds() bool {
	for _, c := range p.cols {
		if c.kind == colThresh || c.kind == colIgnoredAttr && c.was == colThresh {
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
	want       []int
	wantSet    bool
	// bytes of the files read so far (as stored: compressed for .gz), and
	// their total size
	done, total int64
	counter     *countingReader
	// br is the read buffer, reused from file to file
	br *bufio.Reader
}

// Progress is how much of the input was read, in bytes as stored, and the
// total; for a progress bar with an ETA.
func (s *Source) Progress() (done, total int64) {
	d := s.done
	if s.counter != nil {
		d += s.counter.n
	}
	return d, s.total
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// Open prepares to read path: a .csv, a .csv.gz, a .zip of them
// (Backblaze's quarterly archive), or a directory whose *.csv, *.csv.gz and
// *.zip files are read in name order (a zip's members in name order).
func Open(path string) (*Source, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("backblaze data: %w", err)
	}
	s := &Source{}
	var names []string
	if st.IsDir() {
		ents, err := os.ReadDir(path)
		if err != nil {
			return nil, fmt.Errorf("backblaze data: %w", err)
		}
		for _, e := range ents {
			if n := e.Name(); !e.IsDir() && (dataFile(n) || strings.HasSuffix(n, ".zip")) {
				names = append(names, filepath.Join(path, n))
			}
		}
		sort.Strings(names)
	} else {
		names = []string{path}
	}
	for _, n := range names {
		if !strings.HasSuffix(n, ".zip") {
			s.files = append(s.files, n)
			continue
		}
		// Backblaze's quarterly archive: its daily CSVs in name order.
		zr, err := zip.OpenReader(n)
		if err != nil {
			return nil, fmt.Errorf("backblaze data %s: %w", n, err)
		}
		var members []string
		for _, f := range zr.File {
			if base := filepath.Base(f.Name); !f.FileInfo().IsDir() && dataFile(base) && !strings.HasPrefix(base, "._") &&
				!strings.HasPrefix(f.Name, "__MACOSX/") {
				members = append(members, f.Name)
				s.total += int64(f.UncompressedSize64)
			}
		}
		zr.Close()
		sort.Strings(members)
		for _, m := range members {
			s.files = append(s.files, n+zipSep+m)
		}
	}
	if len(s.files) == 0 {
		return nil, fmt.Errorf("backblaze data: no .csv, .csv.gz or .zip of them in %s", path)
	}
	for _, f := range s.files {
		if !strings.Contains(f, zipSep) {
			if st, err := os.Stat(f); err == nil {
				s.total += st.Size()
			}
		}
	}
	return s, nil
}

// displayName is a file's name for messages ("ARCHIVE.zip:MEMBER").
func displayName(name string) string { return strings.Replace(name, zipSep, ":", 1) }

func dataFile(n string) bool { return strings.HasSuffix(n, ".csv") || strings.HasSuffix(n, ".csv.gz") }

// zipSep separates an archive's path from a member's name in Source.files.
const zipSep = "\x00"

// Want limits parsing to some attributes (Parser.Want), for the files
// opened from now on.
func (s *Source) Want(ids []int) { s.want, s.wantSet = ids, true }

// Files lists the files the source reads, in order.
func (s *Source) Files() []string { return s.files }

// Next fills rec with the next drive-day; io.EOF at the end. Errors of
// single rows (ErrRow) leave the source usable.
func (s *Source) Next(ctx context.Context, rec *Record) error {
	var row Row
	if err := s.NextRow(ctx, &row); err != nil {
		return err
	}
	row.Record(rec)
	return nil
}

// NextRow is Next without building a model.Disk.
func (s *Source) NextRow(ctx context.Context, row *Row) error {
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
		err := s.cur.NextRow(row)
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
	s.counter = &countingReader{}
	r, closeAll, err := openFile(name, s.counter)
	if err != nil {
		return err
	}
	if s.br == nil {
		s.br = bufio.NewReaderSize(r, 256<<10)
	}
	p, err := newParser(displayName(name), r, s.br)
	if err != nil {
		closeAll()
		return fmt.Errorf("backblaze data: %w", err)
	}
	if p.HasThresholds() {
		s.Thresholds = true
	}
	if s.wantSet {
		p.Want(s.want)
	}
	s.cur, s.close = p, closeAll
	return nil
}

// openFile opens a .csv or .csv.gz; counter, when set, counts the bytes
// read from the file as stored.
func openFile(name string, counter *countingReader) (io.Reader, func() error, error) {
	if archive, member, ok := strings.Cut(name, zipSep); ok {
		zr, err := zip.OpenReader(archive)
		if err != nil {
			return nil, nil, fmt.Errorf("backblaze data %s: %w", archive, err)
		}
		for _, f := range zr.File {
			if f.Name != member {
				continue
			}
			rc, err := f.Open()
			if err != nil {
				zr.Close()
				return nil, nil, fmt.Errorf("backblaze data %s: %s: %w", archive, model.Clean(member), err)
			}
			var r io.Reader = rc
			if counter != nil {
				counter.r = rc
				r = counter
			}
			closeAll := func() error { rc.Close(); return zr.Close() }
			if strings.HasSuffix(member, ".gz") {
				gz, err := gzip.NewReader(r)
				if err != nil {
					closeAll()
					return nil, nil, fmt.Errorf("backblaze data %s: %s: gzip: %w", archive, model.Clean(member), err)
				}
				return gz, func() error { gz.Close(); return closeAll() }, nil
			}
			return r, closeAll, nil
		}
		zr.Close()
		return nil, nil, fmt.Errorf("backblaze data %s: no member %s", archive, model.Clean(member))
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, nil, fmt.Errorf("backblaze data: %w", err)
	}
	var r io.Reader = f
	if counter != nil {
		counter.r = f
		r = counter
	}
	closeAll := f.Close
	if strings.HasSuffix(name, ".gz") {
		gz, err := gzip.NewReader(r)
		if err != nil {
			f.Close()
			return nil, nil, fmt.Errorf("backblaze data %s: gzip: %w", name, err)
		}
		r = gz
		closeAll = func() error { gz.Close(); return f.Close() }
	}
	return r, closeAll, nil
}

// Close releases the current file.
func (s *Source) Close() error {
	if s.cur == nil {
		return nil
	}
	s.cur = nil
	if s.counter != nil {
		s.done += s.counter.n
		s.counter = nil
	}
	return s.close()
}
