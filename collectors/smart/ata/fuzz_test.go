package ata

import (
	"os"
	"testing"
)

// Fuzz targets: every decoder must return an error, never panic, on any
// input. Seeds are the spec-layout pages of the table tests and, for the
// drive database, the installed drivedb.h when present.

func FuzzParseIdentify(f *testing.F) {
	f.Add(identifyPage())
	f.Add(make([]byte, 512))
	f.Fuzz(func(t *testing.T, b []byte) {
		id, err := ParseIdentify(b)
		if err == nil && id == nil {
			t.Fatal("nil without error")
		}
		if id != nil {
			_ = id.Capacity()
		}
	})
}

func FuzzSMARTData(f *testing.F) {
	d, th := smartPages([]attrSpec{{5, 0x33, 100, 100, le48(3), 10}, {194, 0x22, 100, 90, [6]byte{0x23, 0, 0x14, 0x2d}, 0}}, 0xf3)
	f.Add(d, th)
	f.Fuzz(func(t *testing.T, data, thr []byte) {
		sd, _ := ParseSMARTData(data)
		ts, _ := ParseThresholds(thr)
		for _, a := range Attributes(sd, ts, nil, 0) {
			if a.WhenFailed != "" && a.WhenFailed != "now" && a.WhenFailed != "past" {
				t.Fatalf("when_failed %q", a.WhenFailed)
			}
		}
	})
}

func FuzzFormatRaw(f *testing.F) {
	f.Add(uint64(0x2d14001e), uint8(FmtTempMinMax), uint8(194))
	f.Add(uint64(1234), uint8(FmtMin2Hour), uint8(9))
	f.Fuzz(func(t *testing.T, raw uint64, fm, id uint8) {
		if FormatRaw(raw, RawFormat(fm%20), id) == "" {
			t.Fatal("empty raw string")
		}
	})
}

func FuzzLogs(f *testing.F) {
	f.Add(selfTestPage([][3]uint16{{1, 0x00, 100}, {2, 0x74, 200}}, 2))
	f.Fuzz(func(t *testing.T, b []byte) {
		ParseSelfTestLog(b)
		ParseErrorLogCount(b)
		DevStatPages(b)
		ParseDevStatPage(b)
	})
}

func FuzzParseDriveDB(f *testing.F) {
	f.Add([]byte(miniDB))
	for _, p := range systemDriveDBs {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
			break
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		db, err := ParseDriveDB(b)
		if err == nil {
			db.Lookup("Samsung SSD 860 EVO 500GB", "RVT01B6Q")
		}
	})
}

func FuzzVendorAttribute(f *testing.F) {
	for _, s := range []string{"9,minutes", "1,raw48:54321,Raw_Read_Error_Rate", "N,raw16", "233,raw48,X,SSD"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d := NewDefs()
		if d.ParseVendorAttribute(s) == nil {
			d.Lookup(9, 0)
		}
	})
}
