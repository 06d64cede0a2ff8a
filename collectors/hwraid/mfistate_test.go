package hwraid

import (
	"testing"
)

// FuzzParseMFIState: whatever bytes a controller returns, the DCMD
// decoders give a value or an error, never a panic or an out-of-range
// read.
func FuzzParseMFIState(f *testing.F) {
	f.Add(make([]byte, 8), uint8(0))
	f.Add(make([]byte, cfgReadSize), uint8(1))
	f.Add(make([]byte, pdInfoSize), uint8(2))
	f.Add(make([]byte, bbuStatusSize), uint8(3))
	f.Fuzz(func(t *testing.T, b []byte, which uint8) {
		switch which % 4 {
		case 0:
			lds, err := ParseLDList(b)
			if err == nil && 8+16*len(lds) > len(b) {
				t.Fatalf("%d LDs from %d bytes", len(lds), len(b))
			}
		case 1:
			ParseConfig(b)
		case 2:
			ParsePDInfo(b)
		case 3:
			ParseBBUStatus(b)
		}
	})
}

// TestParseConfigCounts: a configuration whose counts claim more than the
// buffer holds is an error that carries the size to read again with.
func TestParseConfigCounts(t *testing.T) {
	b := make([]byte, 64)
	b[0], b[1] = 0x00, 0x20 // size 8192
	b[4], b[8] = 3, 3       // 3 arrays, 3 LDs
	if _, size, err := ParseConfig(b); err == nil || size != 8192 {
		t.Errorf("size %d, err %v", size, err)
	}
}
