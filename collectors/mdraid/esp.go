package mdraid

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/diskwatch/diskwatch/collectors/fat"
	"github.com/diskwatch/diskwatch/collectors/model"
)

// Bounds on what is read from one ESP.
const (
	espMaxDepth   = 4        // \EFI\a\b\c\x.efi
	espMaxLoaders = 64       // .efi files listed
	espMaxBytes   = 96 << 20 // bytes of .efi files hashed
)

// espLoaders lists the \EFI\**\*.efi files of the FAT file system on
// partition p of the disk at dev, with their sizes and SHA-256 sums. Reads
// stay inside the partition.
func (c *Collector) espLoaders(ctx context.Context, dev string, p Partition, ss int64) ([]model.EFIFile, error) {
	base, size := int64(p.First)*ss, int64(p.Size)*ss
	if p.First >= 1<<40 || p.Size >= 1<<40 {
		return nil, errors.New("partition extent out of range")
	}
	src := func(off int64, n int) ([]byte, error) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if off < 0 || off >= size {
			return nil, fmt.Errorf("offset %d outside the partition (%d bytes)", off, size)
		}
		if off+int64(n) > size {
			n = int(size - off)
		}
		return c.FS.ReadAt(ctx, dev, base+off, n)
	}
	return ESPLoaders(src)
}

// ESPLoaders lists the \EFI\**\*.efi files of a FAT volume read through
// src, with their sizes and SHA-256 sums, sorted by path.
func ESPLoaders(src fat.Source) ([]model.EFIFile, error) {
	v, err := fat.Open(src)
	if err != nil {
		return nil, err
	}
	root, err := v.Root()
	if err != nil {
		return nil, err
	}
	var out []model.EFIFile
	var hashed int64
	var walk func(prefix string, es []fat.Entry, depth int) error
	walk = func(prefix string, es []fat.Entry, depth int) error {
		for _, e := range es {
			p := prefix + "/" + e.Name
			switch {
			case e.Dir && depth < espMaxDepth:
				sub, err := v.ReadDir(e)
				if err != nil {
					return err
				}
				if err := walk(p, sub, depth+1); err != nil {
					return err
				}
			case !e.Dir && depth >= 2 && strings.HasSuffix(strings.ToLower(e.Name), ".efi"):
				if len(out) >= espMaxLoaders {
					return fmt.Errorf("more than %d .efi files", espMaxLoaders)
				}
				if hashed += int64(e.Size); hashed > espMaxBytes {
					return fmt.Errorf(".efi files larger than %d bytes in all", espMaxBytes)
				}
				h := sha256.New()
				if err := v.ReadFile(e, func(b []byte) { h.Write(b) }); err != nil {
					return err
				}
				out = append(out, model.EFIFile{Path: p, Size: int64(e.Size), SHA256: hex.EncodeToString(h.Sum(nil))})
			}
		}
		return nil
	}
	for _, e := range root {
		if e.Dir && strings.EqualFold(e.Name, "EFI") {
			sub, err := v.ReadDir(e)
			if err != nil {
				return nil, err
			}
			if err := walk(e.Name, sub, 1); err != nil {
				return out, err
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}
