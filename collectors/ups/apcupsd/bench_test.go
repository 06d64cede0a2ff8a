package apcupsd

import (
	"bytes"
	"testing"
)

// BenchmarkParseStatus frames and parses every real apcaccess capture once
// per iteration, as a NIS reply.
func BenchmarkParseStatus(b *testing.B) {
	var replies [][]byte
	n := 0
	for _, lines := range captures(b) {
		var r []byte
		for _, l := range lines {
			r = AppendRecord(r, l+"\n")
		}
		r = AppendRecord(r, "")
		replies = append(replies, r)
		n += len(r)
	}
	b.SetBytes(int64(n))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, r := range replies {
			recs, err := ReadRecords(bytes.NewReader(r))
			if err != nil {
				b.Fatal(err)
			}
			st, err := ParseStatus(recs)
			if err != nil {
				b.Fatal(err)
			}
			_ = ToUPS("x", st)
		}
	}
}
