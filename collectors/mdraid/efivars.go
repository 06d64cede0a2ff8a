package mdraid

import (
	"encoding/binary"
	"fmt"
	"os"
	"regexp"
	"sort"
)

// efiGlobal is the EFI global variable vendor GUID, suffix of Boot####.
const efiGlobal = "8be4df61-93ca-11d2-aa0d-00e098032b8c"

var bootVar = regexp.MustCompile(`^Boot[0-9A-F]{4}-` + efiGlobal + `$`)

// Bounds on the boot entries read.
const (
	maxBootVars    = 256
	maxBootVarSize = 64 << 10
)

// GUIDString renders an on-disk (mixed-endian) GUID canonically, upper case.
func GUIDString(g [16]byte) string {
	le := binary.LittleEndian
	return fmt.Sprintf("%08X-%04X-%04X-%X-%X", le.Uint32(g[0:]), le.Uint16(g[4:]), le.Uint16(g[6:]), g[8:10], g[10:16])
}

// ParseLoadOption returns the partition GUIDs named by the hard drive media
// device path nodes of a Boot#### variable's contents (4 bytes of
// attributes, then an EFI_LOAD_OPTION: attributes, the file path list's
// length, a NUL-terminated UTF-16 description, the file path list).
func ParseLoadOption(b []byte) ([]string, error) {
	if len(b) < 4+6 {
		return nil, fmt.Errorf("load option: %d bytes", len(b))
	}
	b = b[4:]
	le := binary.LittleEndian
	fpl := int(le.Uint16(b[4:]))
	i := 6
	for ; i+1 < len(b); i += 2 {
		if b[i] == 0 && b[i+1] == 0 {
			break
		}
	}
	i += 2
	if i > len(b) || fpl > len(b)-i {
		return nil, fmt.Errorf("load option: file path list (%d bytes) runs past the end", fpl)
	}
	path := b[i : i+fpl]
	var out []string
	for off := 0; off+4 <= len(path); {
		typ, sub, n := path[off], path[off+1], int(le.Uint16(path[off+2:]))
		if n < 4 || off+n > len(path) {
			return out, fmt.Errorf("device path: node of %d bytes at %d", n, off)
		}
		if typ == 0x7f && sub == 0xff { // end of the whole path
			break
		}
		if typ == 4 && sub == 1 && n >= 42 && path[off+41] == 2 { // hard drive, GPT signature
			var g [16]byte
			copy(g[:], path[off+24:off+40])
			out = append(out, GUIDString(g))
		}
		off += n
	}
	return out, nil
}

// bootEntries reads the firmware's Boot#### variables and returns, for
// each partition GUID they name, the entries naming it ("Boot0003"). ok is
// false when no entry could be read: nothing is known then.
func (c *Collector) bootEntries() (map[string][]string, bool) {
	dir := c.FS.Sys("firmware", "efi", "efivars")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, false
	}
	out := map[string][]string{}
	read := 0
	for _, e := range ents {
		if !bootVar.MatchString(e.Name()) || read >= maxBootVars {
			continue
		}
		b, err := c.FS.ReadFile(c.FS.Sys("firmware", "efi", "efivars", e.Name()))
		if err != nil || len(b) > maxBootVarSize {
			continue
		}
		read++
		guids, _ := ParseLoadOption(b)
		for _, g := range guids {
			out[g] = append(out[g], e.Name()[:8])
		}
	}
	for _, v := range out {
		sort.Strings(v)
	}
	return out, read > 0
}
