package smart

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/diskwatch/diskwatch/collectors/model"
)

// FuzzReaders replaces one answer of a real rig capture with fuzzed bytes
// and runs the reader: whatever a device returns, a read ends with a
// record or an error, never a panic. Seeds: every real exchange.
func FuzzReaders(f *testing.F) {
	files, _ := filepath.Glob("testdata/rig/*.exchanges.json")
	caps := map[string][]byte{}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		caps[p] = b
		rp, _ := NewReplay(b)
		for i, e := range rp.left {
			f.Add(uint8(len(caps)-1), uint8(i), e.Data)
		}
	}
	f.Fuzz(func(t *testing.T, which, step uint8, data []byte) {
		if len(files) == 0 {
			return
		}
		p := files[int(which)%len(files)]
		rp, _ := NewReplay(caps[p])
		if len(rp.left) == 0 {
			return
		}
		rp.left[int(step)%len(rp.left)].Data = data
		r := &Reader{Standby: Standby{Mode: "never"}}
		var d model.Disk
		ctx := context.Background()
		switch filepath.Base(p) {
		case "ahci.exchanges.json":
			r.ReadATA(ctx, rp, &d)
		case "nvme.exchanges.json":
			r.ReadNVMe(ctx, rp, &d)
		default:
			r.ReadSCSI(ctx, rp, &d)
		}
	})
}

func FuzzParseStandby(f *testing.F) {
	for _, s := range []string{"standby", "standby,24", "never", "idle,0", "sleep,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if p, err := ParseStandby(s); err == nil {
			p.Skip("standby", 3)
		}
	})
}
