package ata

import "testing"

// BenchmarkDecodeAll decodes what one read of an ATA disk returns:
// IDENTIFY, SMART data, thresholds, attributes named and formatted.
func BenchmarkDecodeAll(b *testing.B) {
	id := identifyPage()
	data, thr := smartPages([]attrSpec{
		{1, 0x2f, 200, 200, le48(0), 51}, {3, 0x27, 172, 171, le48(0x120f2c), 21}, {4, 0x32, 100, 100, le48(73), 0},
		{5, 0x33, 200, 200, le48(0), 140}, {9, 0x32, 38, 38, le48(45632), 0}, {12, 0x32, 100, 100, le48(73), 0},
		{194, 0x22, 115, 97, [6]byte{0x23, 0, 0x14, 0, 0x3a, 0}, 0}, {197, 0x32, 200, 200, le48(0), 0},
	}, 0)
	b.SetBytes(3 * 512)
	for i := 0; i < b.N; i++ {
		ident, _ := ParseIdentify(id)
		sd, _ := ParseSMARTData(data)
		th, _ := ParseThresholds(thr)
		Attributes(sd, th, nil, ident.RotationRate)
	}
}

// BenchmarkParseDriveDB parses the installed drive database (done once
// per process).
func BenchmarkParseDriveDB(b *testing.B) {
	loadSystemDriveDB(b)
	var src []byte
	for _, p := range systemDriveDBs {
		if s, err := readFile(p); err == nil {
			src = s
			break
		}
	}
	b.SetBytes(int64(len(src)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ParseDriveDB(src)
	}
}

// BenchmarkDriveDBLookup looks a model up in a parsed database whose
// regexes were compiled by a first lookup (the per-read cost).
func BenchmarkDriveDBLookup(b *testing.B) {
	db, _ := loadSystemDriveDB(b)
	db.Lookup("WDC WD20EFRX-68EUZN0", "82.00A82")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		db.Lookup("WDC WD20EFRX-68EUZN0", "82.00A82")
	}
}
