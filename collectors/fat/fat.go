// Package fat is a small read-only FAT12/16/32 directory reader, enough to
// list an EFI system partition and hash the boot loaders on it.
//
// The parse (ParseBootSector, ParseDir, the FAT entry decode) is pure and
// works on byte slices; Volume does the reads through a Source, with every
// size bounded so that a corrupt or hostile file system costs at most a few
// megabytes of reads and never loops.
package fat

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"unicode/utf16"
)

// Limits on what a Volume reads.
const (
	// MaxDirEntries bounds the 32-byte entries read from one directory.
	MaxDirEntries = 16384
	// MaxFileBytes bounds the bytes read from one file.
	MaxFileBytes = 64 << 20
)

// Source reads n bytes at byte offset off of the volume (a partition).
type Source func(off int64, n int) ([]byte, error)

// Geometry is what a FAT boot sector says about the volume's layout.
type Geometry struct {
	Type              int // 12, 16 or 32
	BytesPerSector    uint32
	SectorsPerCluster uint32
	ReservedSectors   uint32
	NumFATs           uint32
	RootEntries       uint32 // FAT12/16 fixed root directory
	TotalSectors      uint32
	FATSectors        uint32 // sectors per FAT
	RootCluster       uint32 // FAT32
	Clusters          uint32 // data clusters
}

// ClusterBytes is the size of one cluster in bytes.
func (g Geometry) ClusterBytes() uint32 { return g.BytesPerSector * g.SectorsPerCluster }

func (g Geometry) rootDirSectors() uint32 {
	return (g.RootEntries*32 + g.BytesPerSector - 1) / g.BytesPerSector
}

// dataStart is the first sector of cluster 2.
func (g Geometry) dataStart() uint32 {
	return g.ReservedSectors + g.NumFATs*g.FATSectors + g.rootDirSectors()
}

// ParseBootSector decodes a FAT boot sector (at least 512 bytes).
func ParseBootSector(b []byte) (Geometry, error) {
	if len(b) < 512 {
		return Geometry{}, fmt.Errorf("FAT boot sector: %d bytes, need 512", len(b))
	}
	if b[510] != 0x55 || b[511] != 0xaa {
		return Geometry{}, errors.New("FAT boot sector: no 55AA signature")
	}
	le := binary.LittleEndian
	g := Geometry{
		BytesPerSector:    uint32(le.Uint16(b[11:])),
		SectorsPerCluster: uint32(b[13]),
		ReservedSectors:   uint32(le.Uint16(b[14:])),
		NumFATs:           uint32(b[16]),
		RootEntries:       uint32(le.Uint16(b[17:])),
		TotalSectors:      uint32(le.Uint16(b[19:])),
		FATSectors:        uint32(le.Uint16(b[22:])),
	}
	if g.TotalSectors == 0 {
		g.TotalSectors = le.Uint32(b[32:])
	}
	if g.FATSectors == 0 {
		g.FATSectors = le.Uint32(b[36:])
		g.RootCluster = le.Uint32(b[44:])
	}
	switch g.BytesPerSector {
	case 512, 1024, 2048, 4096:
	default:
		return Geometry{}, fmt.Errorf("FAT boot sector: %d bytes per sector", g.BytesPerSector)
	}
	if g.SectorsPerCluster == 0 || g.SectorsPerCluster&(g.SectorsPerCluster-1) != 0 || g.SectorsPerCluster > 128 {
		return Geometry{}, fmt.Errorf("FAT boot sector: %d sectors per cluster", g.SectorsPerCluster)
	}
	if g.ReservedSectors == 0 || g.NumFATs == 0 || g.NumFATs > 4 || g.FATSectors == 0 {
		return Geometry{}, errors.New("FAT boot sector: implausible reserved/FAT counts")
	}
	ds := uint64(g.ReservedSectors) + uint64(g.NumFATs)*uint64(g.FATSectors) + uint64(g.rootDirSectors())
	if ds >= uint64(g.TotalSectors) {
		return Geometry{}, errors.New("FAT boot sector: no room for data clusters")
	}
	g.Clusters = uint32((uint64(g.TotalSectors) - ds) / uint64(g.SectorsPerCluster))
	switch {
	case g.Clusters < 4085:
		g.Type = 12
	case g.Clusters < 65525:
		g.Type = 16
	default:
		g.Type = 32
	}
	if g.Type == 32 && (g.RootCluster < 2 || g.RootCluster >= g.Clusters+2) {
		return Geometry{}, fmt.Errorf("FAT32 boot sector: root cluster %d out of range", g.RootCluster)
	}
	if g.Type != 32 && g.RootEntries == 0 {
		return Geometry{}, errors.New("FAT12/16 boot sector: no root directory entries")
	}
	// The FAT must hold an entry for every cluster.
	if need := (uint64(g.Clusters) + 2) * uint64(g.Type) / 8; need > uint64(g.FATSectors)*uint64(g.BytesPerSector) {
		return Geometry{}, errors.New("FAT boot sector: FAT too small for the clusters")
	}
	return g, nil
}

// Entry is one directory entry.
type Entry struct {
	Name    string // long name when present, else the 8.3 name
	Dir     bool
	Size    uint32
	Cluster uint32
}

// ParseDir decodes directory entries (a multiple of 32 bytes; a short tail is
// ignored). It stops at the end-of-directory marker and reports whether it
// saw one. Deleted entries, volume labels, "." and ".." are skipped; a long
// name whose checksum does not match its short entry is dropped.
func ParseDir(b []byte) (entries []Entry, end bool) {
	var lfn []uint16
	var lfnSum byte
	lfnOK := false
	for off := 0; off+32 <= len(b); off += 32 {
		e := b[off : off+32]
		switch e[0] {
		case 0x00:
			return entries, true
		case 0xe5:
			lfnOK = false
			continue
		}
		attr := e[11]
		if attr&0x3f == 0x0f { // long name part
			seq := e[0] & 0x1f
			if e[0]&0x40 != 0 {
				lfn, lfnSum, lfnOK = nil, e[13], seq > 0
			} else if !lfnOK || e[13] != lfnSum {
				lfnOK = false
				continue
			}
			var part []uint16
			for _, r := range [][2]int{{1, 11}, {14, 26}, {28, 32}} {
				for i := r[0]; i < r[1]; i += 2 {
					part = append(part, binary.LittleEndian.Uint16(e[i:]))
				}
			}
			lfn = append(part, lfn...) // parts come last first
			continue
		}
		if attr&0x08 != 0 { // volume label
			lfnOK = false
			continue
		}
		short := shortName(e)
		name := short
		if lfnOK && checksum(e[0:11]) == lfnSum {
			if n := decodeLFN(lfn); n != "" {
				name = n
			}
		}
		lfnOK = false
		if name == "." || name == ".." {
			continue
		}
		le := binary.LittleEndian
		cl := uint32(le.Uint16(e[26:])) | uint32(le.Uint16(e[20:]))<<16
		entries = append(entries, Entry{Name: name, Dir: attr&0x10 != 0, Size: le.Uint32(e[28:]), Cluster: cl})
	}
	return entries, false
}

func shortName(e []byte) string {
	base := []byte(strings.TrimRight(string(e[0:8]), " "))
	ext := []byte(strings.TrimRight(string(e[8:11]), " "))
	if len(base) > 0 && base[0] == 0x05 {
		base[0] = 0xe5
	}
	if e[12]&0x08 != 0 {
		base = []byte(strings.ToLower(string(base)))
	}
	if e[12]&0x10 != 0 {
		ext = []byte(strings.ToLower(string(ext)))
	}
	if len(ext) == 0 {
		return printable(string(base))
	}
	return printable(string(base) + "." + string(ext))
}

// printable replaces bytes outside printable ASCII: names are untrusted.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '/' || r == '\\' {
			return '?'
		}
		return r
	}, s)
}

func decodeLFN(u []uint16) string {
	for i, c := range u {
		if c == 0 {
			u = u[:i]
			break
		}
	}
	for len(u) > 0 && u[len(u)-1] == 0xffff {
		u = u[:len(u)-1]
	}
	return printable(string(utf16.Decode(u)))
}

func checksum(short []byte) byte {
	var s byte
	for _, c := range short {
		s = (s>>1 | s<<7) + c
	}
	return s
}

// Volume reads a FAT file system through a Source.
type Volume struct {
	G   Geometry
	src Source
	fat map[uint32][]byte // FAT sectors read so far, by sector index in the first FAT
}

// Open reads and checks the boot sector.
func Open(src Source) (*Volume, error) {
	b, err := src(0, 512)
	if err != nil {
		return nil, fmt.Errorf("read FAT boot sector: %w", err)
	}
	g, err := ParseBootSector(b)
	if err != nil {
		return nil, err
	}
	return &Volume{G: g, src: src, fat: map[uint32][]byte{}}, nil
}

func (v *Volume) fatByte(off uint32) (byte, error) {
	bps := v.G.BytesPerSector
	s := off / bps
	if s >= v.G.FATSectors {
		return 0, fmt.Errorf("FAT offset %d beyond the FAT", off)
	}
	sec, ok := v.fat[s]
	if !ok {
		var err error
		sec, err = v.src(int64(v.G.ReservedSectors+s)*int64(bps), int(bps))
		if err != nil {
			return 0, fmt.Errorf("read FAT: %w", err)
		}
		if len(sec) < int(bps) {
			return 0, errors.New("read FAT: short read")
		}
		v.fat[s] = sec
	}
	return sec[off%bps], nil
}

// next returns the cluster after cl in its chain, or 0 at the chain's end.
func (v *Volume) next(cl uint32) (uint32, error) {
	var n uint32
	switch v.G.Type {
	case 12:
		off := cl + cl/2
		b0, err := v.fatByte(off)
		if err != nil {
			return 0, err
		}
		b1, err := v.fatByte(off + 1)
		if err != nil {
			return 0, err
		}
		n = uint32(b0) | uint32(b1)<<8
		if cl&1 != 0 {
			n >>= 4
		}
		n &= 0xfff
		if n >= 0xff8 {
			return 0, nil
		}
	case 16, 32:
		w := uint32(v.G.Type / 8)
		for i := uint32(0); i < w; i++ {
			b, err := v.fatByte(cl*w + i)
			if err != nil {
				return 0, err
			}
			n |= uint32(b) << (8 * i)
		}
		if v.G.Type == 16 {
			if n >= 0xfff8 {
				return 0, nil
			}
		} else {
			n &= 0x0fffffff
			if n >= 0x0ffffff8 {
				return 0, nil
			}
		}
	}
	if n < 2 || n >= v.G.Clusters+2 {
		return 0, fmt.Errorf("FAT chain: cluster %d points to %d, out of range", cl, n)
	}
	return n, nil
}

// maxRun bounds one read of consecutive clusters.
const maxRun = 1 << 20

// chain reads the clusters of a chain starting at cl, up to max bytes, and
// calls fn with each run of consecutive clusters (one read each). It fails
// on a loop or an out-of-range cluster.
func (v *Volume) chain(cl uint32, max int64, fn func([]byte) (more bool)) error {
	cb := int64(v.G.ClusterBytes())
	var read int64
	steps := uint32(0)
	for cl != 0 && read < max {
		if cl < 2 || cl >= v.G.Clusters+2 {
			return fmt.Errorf("cluster %d out of range", cl)
		}
		first, n := cl, int64(1)
		var err error
		for {
			if steps++; steps > v.G.Clusters {
				return errors.New("FAT chain loops")
			}
			if cl, err = v.next(cl); err != nil {
				return err
			}
			if cl != first+uint32(n) || (n+1)*cb > maxRun || read+(n+1)*cb > max+cb {
				break
			}
			n++
		}
		off := (int64(v.G.dataStart()) + int64(first-2)*int64(v.G.SectorsPerCluster)) * int64(v.G.BytesPerSector)
		b, err := v.src(off, int(n*cb))
		if err != nil {
			return fmt.Errorf("read cluster %d: %w", first, err)
		}
		if int64(len(b)) < n*cb {
			return fmt.Errorf("read cluster %d: short read", first)
		}
		read += int64(len(b))
		if !fn(b) {
			return nil
		}
	}
	return nil
}

// Root lists the root directory.
func (v *Volume) Root() ([]Entry, error) {
	if v.G.Type == 32 {
		return v.ReadDir(Entry{Dir: true, Cluster: v.G.RootCluster})
	}
	off := int64(v.G.ReservedSectors+v.G.NumFATs*v.G.FATSectors) * int64(v.G.BytesPerSector)
	n := int(v.G.RootEntries) * 32
	if n > MaxDirEntries*32 {
		n = MaxDirEntries * 32
	}
	b, err := v.src(off, n)
	if err != nil {
		return nil, fmt.Errorf("read root directory: %w", err)
	}
	es, _ := ParseDir(b)
	return es, nil
}

// ReadDir lists directory d.
func (v *Volume) ReadDir(d Entry) ([]Entry, error) {
	if !d.Dir {
		return nil, fmt.Errorf("%s: not a directory", d.Name)
	}
	if d.Cluster == 0 && v.G.Type != 32 {
		return v.Root() // ".." of a first-level directory
	}
	var out []Entry
	err := v.chain(d.Cluster, MaxDirEntries*32, func(b []byte) bool {
		es, end := ParseDir(b)
		out = append(out, es...)
		return !end
	})
	if err != nil {
		return nil, fmt.Errorf("directory %s: %w", d.Name, err)
	}
	return out, nil
}

// ReadFile calls fn with the contents of file e, in pieces, in order. Files
// larger than MaxFileBytes fail.
func (v *Volume) ReadFile(e Entry, fn func([]byte)) error {
	if e.Dir {
		return fmt.Errorf("%s: is a directory", e.Name)
	}
	if e.Size > MaxFileBytes {
		return fmt.Errorf("%s: %d bytes, larger than %d", e.Name, e.Size, MaxFileBytes)
	}
	left := int64(e.Size)
	if left == 0 {
		return nil
	}
	err := v.chain(e.Cluster, left, func(b []byte) bool {
		if int64(len(b)) > left {
			b = b[:left]
		}
		fn(b)
		left -= int64(len(b))
		return left > 0
	})
	if err == nil && left > 0 {
		err = fmt.Errorf("chain ends %d bytes short", left)
	}
	if err != nil {
		return fmt.Errorf("file %s: %w", e.Name, err)
	}
	return nil
}
