package nut

import (
	"context"
	"net"
	"os"
	"testing"
)

// BenchmarkParseDump parses every real DDL dump once per iteration.
func BenchmarkParseDump(b *testing.B) {
	var data [][]byte
	n := 0
	for _, f := range devFiles(b) {
		d, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		data = append(data, d)
		n += len(d)
	}
	b.SetBytes(int64(n))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, d := range data {
			if _, err := ParseDump(d); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkSplitLine(b *testing.B) {
	line := `VAR myups ups.model "Smart-UPS \"1500\" RM with escapes \\ and spaces"`
	b.SetBytes(int64(len(line)))
	for i := 0; i < b.N; i++ {
		if _, err := SplitLine(line); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkListVars measures one LIST VAR round trip of a 40-variable UPS
// over loopback TCP (fake server; the real upsd figure is in
// collectors/ups BenchmarkRealUpsdCollect).
func BenchmarkListVars(b *testing.B) {
	reply := "BEGIN LIST VAR a\n"
	for i := 0; i < 40; i++ {
		reply += "VAR a var." + string(rune('a'+i%26)) + string(rune('a'+i/26)) + " \"value with spaces 123.4\"\n"
	}
	reply += "END LIST VAR a\n"
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, 256)
		for {
			if _, err := c.Read(buf); err != nil {
				return
			}
			c.Write([]byte(reply))
		}
	}()
	c, err := Dial(context.Background(), l.Addr().String(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer c.conn.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if v, err := c.ListVars(context.Background(), "a"); err != nil || len(v) != 40 {
			b.Fatal(err, len(v))
		}
	}
}
