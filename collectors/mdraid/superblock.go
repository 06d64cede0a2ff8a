package mdraid

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
)

// mdMagic is the md superblock magic (md_p.h MD_SB_MAGIC), little-endian
// on disk for 1.x and native (little on x86) for 0.90.
const mdMagic = 0xa92b4efc

// Superblock is the part of an md superblock diskwatch needs.
type Superblock struct {
	Version string // "0.90", "1.0", "1.1", "1.2"
	// UUID is the array (set) UUID as 32 lower-case hex digits.
	UUID string
	// Name is the 1.x set name ("host:0"), empty for 0.90.
	Name string
	// Level is the raid level (1, 5, ...; -1 linear, 0 raid0).
	Level int32
	// DevNumber is this device's index in the 1.x dev_roles table.
	DevNumber uint32
	Events    uint64
}

// ErrNoSuperblock means no md superblock was found at the offsets probed.
var ErrNoSuperblock = errors.New("no md superblock")

// Superblock offsets for a device of size bytes, in probe order. The
// version-1 layouts are from the kernel's md_p.h / mdadm's super1.c (1.1 at
// 0, 1.2 at 4 KiB, 1.0 at the end less 8 KiB rounded down to 4 KiB); 0.90
// sits in the last 64 KiB-aligned 64 KiB block.
func superblockOffsets(size int64) []struct {
	Version string
	Offset  int64
} {
	out := []struct {
		Version string
		Offset  int64
	}{{"1.2", 4096}, {"1.1", 0}}
	if size >= 12*1024 {
		out = append(out, struct {
			Version string
			Offset  int64
		}{"1.0", ((size - 8*1024) &^ (4*1024 - 1))})
	}
	if size >= 128*1024 {
		out = append(out, struct {
			Version string
			Offset  int64
		}{"0.90", (size &^ (64*1024 - 1)) - 64*1024})
	}
	return out
}

// ParseSuperblock decodes a superblock of the given version from b (at
// least 256 bytes for 1.x, 64 for 0.90).
func ParseSuperblock(version string, b []byte) (Superblock, error) {
	if version == "0.90" {
		if len(b) < 64 {
			return Superblock{}, fmt.Errorf("0.90 superblock: %d bytes, need 64", len(b))
		}
		le := binary.LittleEndian
		if le.Uint32(b[0:]) != mdMagic {
			return Superblock{}, ErrNoSuperblock
		}
		if major := le.Uint32(b[4:]); major != 0 {
			return Superblock{}, fmt.Errorf("0.90 superblock: major version %d", major)
		}
		// set_uuid0 at 20, set_uuid1..3 at 52..63; mdadm prints each as a
		// native 32-bit word.
		uuid := fmt.Sprintf("%08x%08x%08x%08x", le.Uint32(b[20:]), le.Uint32(b[52:]), le.Uint32(b[56:]), le.Uint32(b[60:]))
		return Superblock{Version: version, UUID: uuid, Level: int32(le.Uint32(b[28:]))}, nil
	}
	if len(b) < 256 {
		return Superblock{}, fmt.Errorf("%s superblock: %d bytes, need 256", version, len(b))
	}
	le := binary.LittleEndian
	if le.Uint32(b[0:]) != mdMagic {
		return Superblock{}, ErrNoSuperblock
	}
	if major := le.Uint32(b[4:]); major != 1 {
		return Superblock{}, fmt.Errorf("%s superblock: major version %d", version, major)
	}
	name := b[32:64]
	for i, c := range name {
		if c == 0 {
			name = name[:i]
			break
		}
	}
	return Superblock{
		Version:   version,
		UUID:      hex.EncodeToString(b[16:32]),
		Name:      string(name),
		Level:     int32(le.Uint32(b[72:])),
		DevNumber: le.Uint32(b[160:]),
		Events:    le.Uint64(b[200:]),
	}, nil
}
