package backblaze

import (
	"bufio"
	"bytes"
	"container/heap"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
)

// SortOptions bound OpenSorted.
type SortOptions struct {
	// TempDir holds the sorted runs (default: os.TempDir()).
	TempDir string
	// MemBytes is how many bytes of rows are sorted in memory before a run
	// is written to disk (default 256 MiB).
	MemBytes int
}

// Sorted is a Source over data in any row order: its rows come sorted by
// date, then serial number. It was sorted on disk in bounded memory.
type Sorted struct {
	parsers    []*Parser
	dir        string
	runs       []*run
	h          runHeap
	Thresholds bool
	rows, out  int64
	own        []byte
}

type run struct {
	f   *os.File
	br  *bufio.Reader
	key []byte
	fi  int
	ln  []byte
}

func (r *run) next() error {
	kl, err := binary.ReadUvarint(r.br)
	if err != nil {
		return err // io.EOF at the end of the run
	}
	r.key = grow(r.key, int(kl))
	if _, err := io.ReadFull(r.br, r.key); err != nil {
		return unexpected(err)
	}
	fi, err := binary.ReadUvarint(r.br)
	if err != nil {
		return unexpected(err)
	}
	r.fi = int(fi)
	ll, err := binary.ReadUvarint(r.br)
	if err != nil {
		return unexpected(err)
	}
	r.ln = grow(r.ln, int(ll))
	if _, err := io.ReadFull(r.br, r.ln); err != nil {
		return unexpected(err)
	}
	return nil
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

func grow(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n)
	}
	return b[:n]
}

type runHeap []*run

func (h runHeap) Len() int           { return len(h) }
func (h runHeap) Less(i, j int) bool { return bytes.Compare(h[i].key, h[j].key) < 0 }
func (h runHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *runHeap) Push(x any)        { *h = append(*h, x.(*run)) }
func (h *runHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

type rec struct {
	key []byte // date, 0, serial
	fi  int
	ln  []byte
}

// OpenSorted reads every row under path (as Open does) and sorts them by
// (date, serial number) in runs of at most o.MemBytes, written to a
// temporary directory that Close removes; reading then merges the runs.
// Lines whose date or serial cannot be found are kept and reported as bad
// rows when read.
func OpenSorted(ctx context.Context, path string, o SortOptions) (*Sorted, error) {
	if o.MemBytes <= 0 {
		o.MemBytes = 256 << 20
	}
	src, err := Open(path)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(o.TempDir, "diskwatch-replay-sort-")
	if err != nil {
		return nil, fmt.Errorf("backblaze data: sort: %w", err)
	}
	s := &Sorted{dir: dir}
	fail := func(err error) (*Sorted, error) {
		s.Close()
		return nil, err
	}
	var buf []rec
	size := 0
	spill := func() error {
		if len(buf) == 0 {
			return nil
		}
		slices.SortStableFunc(buf, func(a, b rec) int { return bytes.Compare(a.key, b.key) })
		f, err := os.CreateTemp(dir, "run-")
		if err != nil {
			return fmt.Errorf("backblaze data: sort: %w", err)
		}
		bw := bufio.NewWriterSize(f, 1<<20)
		var tmp [binary.MaxVarintLen64]byte
		for _, r := range buf {
			bw.Write(tmp[:binary.PutUvarint(tmp[:], uint64(len(r.key)))])
			bw.Write(r.key)
			bw.Write(tmp[:binary.PutUvarint(tmp[:], uint64(r.fi))])
			bw.Write(tmp[:binary.PutUvarint(tmp[:], uint64(len(r.ln)))])
			bw.Write(r.ln)
		}
		if err := bw.Flush(); err != nil {
			f.Close()
			return fmt.Errorf("backblaze data: sort: %w", err)
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			f.Close()
			return fmt.Errorf("backblaze data: sort: %w", err)
		}
		s.runs = append(s.runs, &run{f: f, br: bufio.NewReaderSize(f, 256<<10)})
		buf, size = buf[:0], 0
		return nil
	}
	for _, name := range src.files {
		if err := ctx.Err(); err != nil {
			return fail(err)
		}
		r, closeFile, err := openFile(name, nil)
		if err != nil {
			return fail(err)
		}
		p, err := NewParser(displayName(name), r)
		if err != nil {
			closeFile()
			return fail(fmt.Errorf("backblaze data: %w", err))
		}
		if p.HasThresholds() {
			s.Thresholds = true
		}
		fi := len(s.parsers)
		s.parsers = append(s.parsers, p)
		dateCol, serialCol := -1, -1
		for i, c := range p.cols {
			switch c.kind {
			case colDate:
				dateCol = i
			case colSerial:
				serialCol = i
			}
		}
		for {
			line, err := p.readLine()
			if err == io.EOF {
				break
			}
			if err != nil {
				closeFile()
				return fail(err)
			}
			s.rows++
			ln := append([]byte(nil), line...)
			date, serial := field(ln, dateCol), field(ln, serialCol)
			key := make([]byte, 0, len(date)+1+len(serial))
			key = append(append(append(key, bytes.TrimSpace(date)...), 0), bytes.TrimSpace(serial)...)
			buf = append(buf, rec{key: key, fi: fi, ln: ln})
			size += len(ln) + len(key) + 64
			if size >= o.MemBytes {
				if err := spill(); err != nil {
					closeFile()
					return fail(err)
				}
			}
		}
		closeFile()
	}
	if err := spill(); err != nil {
		return fail(err)
	}
	for _, r := range s.runs {
		if err := r.next(); err != nil {
			if err == io.EOF {
				continue
			}
			return fail(fmt.Errorf("backblaze data: sort: %w", err))
		}
		s.h = append(s.h, r)
	}
	heap.Init(&s.h)
	return s, nil
}

// field is the i-th comma-separated field of an unquoted line (nil when
// quoted lines or short lines make it unknown: the row sorts first and is
// checked when parsed).
func field(line []byte, i int) []byte {
	if i < 0 || bytes.IndexByte(line, '"') >= 0 {
		return nil
	}
	for ; i > 0; i-- {
		j := bytes.IndexByte(line, ',')
		if j < 0 {
			return nil
		}
		line = line[j+1:]
	}
	if j := bytes.IndexByte(line, ','); j >= 0 {
		return line[:j]
	}
	return line
}

// NextRow returns the rows in (date, serial) order; io.EOF at the end.
func (s *Sorted) NextRow(ctx context.Context, row *Row) error {
	if len(s.h) == 0 {
		return io.EOF
	}
	r := s.h[0]
	s.out++
	if s.out&4095 == 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	// The row's slices point into the line: keep our own copy, as the
	// run's buffer is reused when it advances.
	s.own = append(s.own[:0], r.ln...)
	err := s.parsers[r.fi].ParseLine(s.own, row)
	if nerr := r.next(); nerr != nil {
		if nerr != io.EOF {
			return fmt.Errorf("backblaze data: sort: %w", nerr)
		}
		heap.Pop(&s.h)
	} else {
		heap.Fix(&s.h, 0)
	}
	if err != nil {
		return &RowError{Err: err}
	}
	return nil
}

// Want limits parsing to some attributes (Parser.Want).
func (s *Sorted) Want(ids []int) {
	for _, p := range s.parsers {
		p.Want(ids)
	}
}

// Progress is rows read of the total.
func (s *Sorted) Progress() (done, total int64) { return s.out, s.rows }

// Close removes the temporary runs.
func (s *Sorted) Close() error {
	var errs []error
	for _, r := range s.runs {
		errs = append(errs, r.f.Close())
	}
	s.runs, s.h = nil, nil
	if s.dir != "" {
		errs = append(errs, os.RemoveAll(s.dir))
		s.dir = ""
	}
	return errors.Join(errs...)
}
