package ata

import (
	"encoding/binary"
	"errors"
	"testing"
)

// page builders lay out the structures as T13 ACS-3 defines them, so the
// decoders are checked against the spec rather than against themselves.

func putATAString(b []byte, firstWord, words int, s string) {
	buf := make([]byte, 2*words)
	for i := range buf {
		buf[i] = ' '
	}
	copy(buf, s)
	for i := 0; i < words; i++ {
		// first character in the high byte of the word
		binary.LittleEndian.PutUint16(b[2*(firstWord+i):], uint16(buf[2*i])<<8|uint16(buf[2*i+1]))
	}
}

func putWord(b []byte, w int, v uint16) { binary.LittleEndian.PutUint16(b[2*w:], v) }

func seal(b []byte) {
	b[511] = 0
	var s byte
	for _, c := range b[:511] {
		s += c
	}
	b[511] = -s
}

func identifyPage() []byte {
	b := make([]byte, 512)
	putWord(b, 0, 0x0040)
	putATAString(b, 10, 10, "WD-WCC4E1234567")
	putATAString(b, 23, 4, "82.00A82")
	putATAString(b, 27, 20, "WDC WD20EFRX-68EUZN0")
	putWord(b, 60, 0xffff)
	putWord(b, 61, 0x0fff)
	putWord(b, 82, 0x746b)        // bit 0: SMART supported
	putWord(b, 83, 0x4000|1<<10)  // valid, 48-bit
	putWord(b, 84, 0x4000|0x0123) // valid, error log, self-test, GPL, WWN
	putWord(b, 85, 0x7469)        // bit 0: SMART enabled
	putWord(b, 87, 0x4000|0x0123)
	// 3907029168 sectors = 0xE8E088B0
	putWord(b, 100, 0x88b0)
	putWord(b, 101, 0xe8e0)
	putWord(b, 106, 0x6003) // 4 KiB physical, 512 logical
	// WWN 5 0014ee 25fa1b2c3
	putWord(b, 108, 0x5001)
	putWord(b, 109, 0x4ee2)
	putWord(b, 110, 0x5fa1)
	putWord(b, 111, 0xb2c3)
	putWord(b, 217, 5400)
	b[510] = 0xa5
	seal(b)
	return b
}

func TestParseIdentify(t *testing.T) {
	id, err := ParseIdentify(identifyPage())
	if err != nil {
		t.Fatal(err)
	}
	want := Identify{Model: "WDC WD20EFRX-68EUZN0", Serial: "WD-WCC4E1234567", Firmware: "82.00A82",
		WWN: "5 0014ee 25fa1b2c3", WWNNAA: 5, WWNOUI: 0x0014ee, WWNID: 0x25fa1b2c3,
		Sectors: 3907029168, LogicalSectorSize: 512, RotationRate: 5400, SMARTSupported: true,
		SMARTEnabled: true, SelfTest: true, ErrorLogging: true, LBA48: true, GPLogging: true, ChecksumPresent: true}
	if *id != want {
		t.Errorf("got  %+v\nwant %+v", *id, want)
	}
	if id.Capacity() != 2000398934016 {
		t.Errorf("capacity %d", id.Capacity())
	}
}

func TestParseIdentifyVariants(t *testing.T) {
	// SSD, 28-bit only, SMART disabled, no checksum signature, no WWN.
	b := identifyPage()
	putWord(b, 217, 1)
	putWord(b, 83, 0x4000)
	putWord(b, 85, 0)
	putWord(b, 84, 0x4003)
	putWord(b, 87, 0x4003)
	b[510] = 0
	id, err := ParseIdentify(b)
	if err != nil {
		t.Fatal(err)
	}
	if id.RotationRate != 1 || id.LBA48 || id.SMARTEnabled || !id.SMARTSupported || id.WWN != "" || id.Sectors != 0x0fffffff {
		t.Errorf("got %+v", id)
	}
	// Bad checksum: data returned with ErrChecksum.
	b = identifyPage()
	b[100] ^= 1
	id, err = ParseIdentify(b)
	if !errors.Is(err, ErrChecksum) || id == nil || id.Model != "WDC WD20EFRX-68EUZN0" {
		t.Errorf("bad checksum: %v %+v", err, id)
	}
	if _, err := ParseIdentify(make([]byte, 100)); !errors.Is(err, ErrShort) {
		t.Errorf("short: %v", err)
	}
	// 4Kn logical sectors: word 106 bit 12 with 2048 words per sector.
	b = identifyPage()
	putWord(b, 106, 0x4000|1<<12)
	putWord(b, 117, 2048)
	seal(b)
	id, _ = ParseIdentify(b)
	if id.LogicalSectorSize != 4096 || id.Capacity() != 3907029168*4096 {
		t.Errorf("4Kn: %d %d", id.LogicalSectorSize, id.Capacity())
	}
}

type attrSpec struct {
	id          uint8
	flags       uint16
	value, wrst uint8
	raw         [6]byte
	thresh      uint8
}

func smartPages(attrs []attrSpec, selfTestByte byte) (data, thr []byte) {
	data, thr = make([]byte, 512), make([]byte, 512)
	binary.LittleEndian.PutUint16(data, 0x0010)
	binary.LittleEndian.PutUint16(thr, 0x0010)
	for i, a := range attrs {
		e := data[2+12*i:]
		e[0] = a.id
		binary.LittleEndian.PutUint16(e[1:], a.flags)
		e[3], e[4] = a.value, a.wrst
		copy(e[5:11], a.raw[:])
		thr[2+12*i] = a.id
		thr[3+12*i] = a.thresh
	}
	data[362] = 0x82
	data[363] = selfTestByte
	data[367] = 0x7b
	binary.LittleEndian.PutUint16(data[368:], 0x0003)
	data[370] = 1
	data[372] = 2
	data[373] = 0xff
	binary.LittleEndian.PutUint16(data[375:], 402)
	data[374] = 5
	seal(data)
	seal(thr)
	return data, thr
}

func le48(v uint64) (r [6]byte) {
	for i := range r {
		r[i] = byte(v >> (8 * i))
	}
	return
}

func TestAttributes(t *testing.T) {
	specs := []attrSpec{
		{1, 0x002f, 200, 200, le48(0), 51},
		{3, 0x0027, 172, 171, le48(0x0000_0012_0f2c), 21}, // 3884, average 18
		{5, 0x0033, 140, 140, le48(387), 140},             // at threshold: failing now
		{9, 0x0032, 38, 38, le48(45632), 0},
		{10, 0x0032, 100, 90, le48(0), 97}, // worst below threshold: failed in the past
		{194, 0x0022, 115, 97, [6]byte{0x23, 0, 0x14, 0, 0x3a, 0}, 0},
		{190, 0x0022, 65, 45, [6]byte{0x23, 0, 0x14, 0x2d, 0, 0}, 45},
		{233, 0x0032, 99, 99, le48(7), 0},
	}
	data, thr := smartPages(specs, 0xf3)
	d, err := ParseSMARTData(data)
	if err != nil {
		t.Fatal(err)
	}
	if !d.SelfTestRunning() || d.SelfTestRemaining != 30 || d.ExtendedPollMinutes != 402 || d.ShortPollMinutes != 2 || !d.SelfTestSupported() || !d.ErrorLogSupported {
		t.Errorf("data header %+v", d)
	}
	th, err := ParseThresholds(thr)
	if err != nil {
		t.Fatal(err)
	}
	got := Attributes(d, th, nil, 5400)
	type row struct {
		name, raw, when string
		rawv            int64
		pre             bool
	}
	want := []row{
		{"Raw_Read_Error_Rate", "0", "", 0, true},
		{"Spin_Up_Time", "3884 (Average 18)", "", 0x120f2c, true},
		{"Reallocated_Sector_Ct", "387", "now", 387, true},
		{"Power_On_Hours", "45632", "", 45632, false},
		{"Spin_Retry_Count", "0", "past", 0, false},
		{"Temperature_Celsius", "35 (Min/Max 20/58)", "", 0x3a00140023, false},
		{"Airflow_Temperature_Cel", "35 (Min/Max 20/45)", "past", 0x2d140023, false},
		{"Unknown_HDD_Attribute", "7", "", 7, false}, // 233 is SSD-only
	}
	if len(got) != len(want) {
		t.Fatalf("%d attributes, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Name != w.name || g.RawString != w.raw || g.WhenFailed != w.when || g.Raw != w.rawv || g.Prefailure != w.pre || g.Thresh != int(specs[i].thresh) {
			t.Errorf("attr %d: got %+v, want %+v", specs[i].id, g, w)
		}
	}
	// On an SSD, 233 has its name and 10 (HDD-only) does not.
	got = Attributes(d, th, nil, 1)
	if got[7].Name != "Media_Wearout_Indicator" || got[4].Name != "Unknown_SSD_Attribute" {
		t.Errorf("ssd names: %q %q", got[7].Name, got[4].Name)
	}
	// Without thresholds: no thresh, no when_failed.
	got = Attributes(d, nil, nil, 5400)
	if got[2].WhenFailed != "" || got[2].Thresh != 0 {
		t.Errorf("no thresholds: %+v", got[2])
	}
}

func TestWhenFailed(t *testing.T) {
	for _, c := range []struct {
		v, w, th uint8
		noWorst  bool
		want     string
	}{{100, 100, 0, false, ""}, {1, 1, 0, false, ""}, {10, 10, 10, false, "now"}, {9, 9, 10, false, "now"},
		{11, 10, 10, false, "past"}, {11, 10, 10, true, ""}, {200, 199, 51, false, ""}} {
		if g := WhenFailed(c.v, c.w, c.th, c.noWorst); g != c.want {
			t.Errorf("WhenFailed(%d,%d,%d,%v) = %q, want %q", c.v, c.w, c.th, c.noWorst, g, c.want)
		}
	}
}

func TestFormatRaw(t *testing.T) {
	for _, c := range []struct {
		raw  uint64
		f    RawFormat
		id   uint8
		want string
	}{
		{0x000000000123, FmtDefault, 1, "291"},
		{0x0102030405, FmtRaw8, 1, "0 1 2 3 4 5"},
		{0x000100020003, FmtRaw16, 1, "1 2 3"},
		{0xabcdef, FmtHex48, 1, "0x000000abcdef"},
		{0x0001_0002_0005, FmtRaw16OptRaw16, 5, "5 (1 2)"},
		{0x0500_0000_1234, FmtRaw24OptRaw8, 9, "4660 (5 0 0)"},
		{3*60 + 7, FmtMin2Hour, 9, "3h+07m"},
		{3*3600 + 4*60 + 5, FmtSec2Hour, 9, "3h+04m+05s"},
		{2*120 + 2*30, FmtHalfMin2Hour, 9, "2h+30m"},
		{uint64(61001)<<32 | 1234, FmtMsec24Hour32, 9, "1234h+01m+01.001s"},
		{0x0000_0000_0123, FmtRaw24DivRaw24, 193, "0/291"},
		{0x00000005_00000010, FmtRaw24DivRaw32, 1, "5/16"},
		{385, FmtTemp10x, 194, "38.5"},
		{0x1e, FmtTempMinMax, 194, "30"},
		{0x00_00_2d_14_00_1e, FmtTempMinMax, 194, "30 (Min/Max 20/45)"}, // 00 00 HH LL xx TT
		{0x00_00_00_2d_14_1e, FmtTempMinMax, 194, "30 (Min/Max 20/45)"}, // 00 00 00 HH LL TT
		{0x00_2d_00_14_00_1e, FmtTempMinMax, 194, "30 (Min/Max 20/45)"}, // xx HH xx LL xx TT
		{0x00_07_2d_14_00_1e, FmtTempMinMax, 194, "30 (Min/Max 20/45 #7)"},
		{0x00_00_00_00_ff_fb, FmtTempMinMax, 194, "-5"},
		{0x11_22_33_44_55_66, FmtTempMinMax, 194, "102 (17 34 51 68 85)"},
	} {
		if g := FormatRaw(c.raw, c.f, c.id); g != c.want {
			t.Errorf("FormatRaw(%#x, %v) = %q, want %q", c.raw, c.f, g, c.want)
		}
	}
}

func TestRawValueByteOrder(t *testing.T) {
	a := RawAttribute{ID: 1, Value: 0xaa, Worst: 0xbb, Raw: [6]byte{1, 2, 3, 4, 5, 6}, Reserved: 0xcc}
	for _, c := range []struct {
		def  AttrDef
		want uint64
	}{
		{AttrDef{Format: FmtRaw48}, 0x060504030201},
		{AttrDef{Format: FmtRaw56}, 0xcc060504030201},
		{AttrDef{Format: FmtRaw64}, 0x060504030201bbaa},
		{AttrDef{Format: FmtRaw48, ByteOrder: "012345"}, 0x010203040506},
		{AttrDef{Format: FmtRaw24DivRaw24, ByteOrder: "z54z10"}, 0x000605000201},
	} {
		if g := RawValue(a, c.def); g != c.want {
			t.Errorf("%+v: %#x, want %#x", c.def, g, c.want)
		}
	}
}

func TestParseVendorAttribute(t *testing.T) {
	d := NewDefs()
	for _, arg := range []string{"9,minutes", "194,10xCelsius", "1,raw48:54321,Raw_Read_Error_Rate", "233,raw48,Media_Wearout_Indicator,HDD", "197,increasing", "5,hex64:w012345r"} {
		if err := d.ParseVendorAttribute(arg); err != nil {
			t.Errorf("%s: %v", arg, err)
		}
	}
	if g := d.Lookup(9, 7200); g.Name != "Power_On_Minutes" || g.Format != FmtMin2Hour {
		t.Errorf("9: %+v", g)
	}
	if g := d.Lookup(194, 7200); g.Name != "Temperature_Celsius_x10" || g.Format != FmtTemp10x {
		t.Errorf("194: %+v", g)
	}
	if g := d.Lookup(233, 1); g.Name != "Unknown_SSD_Attribute" {
		t.Errorf("233 on ssd: %+v", g)
	}
	if g := d.Lookup(197, 0); g.Name != "Total_Pending_Sectors" || !g.Increasing {
		t.Errorf("197: %+v", g)
	}
	if g := d.Lookup(5, 0); !g.NoWorstVal || g.NoNormVal {
		t.Errorf("5: %+v", g)
	}
	for _, bad := range []string{"9", "0,raw48", "256,raw48", "9,nosuch", "9,raw48:0123456789", "9,raw48,Na me", "9,raw48,X,BOTH", "x,raw48"} {
		if err := d.ParseVendorAttribute(bad); err == nil {
			t.Errorf("%q: accepted", bad)
		}
	}
}

func TestPowerModeAndStatus(t *testing.T) {
	for c, want := range map[uint8]string{0x00: PowerStandby, 0x01: PowerStandby, 0x80: PowerIdle, 0x81: PowerIdle, 0x83: PowerIdle, 0xff: PowerActive, 0x42: PowerUnknown} {
		if g, _ := PowerMode(c); g != want {
			t.Errorf("PowerMode(%#x) = %s, want %s", c, g, want)
		}
	}
	if p, err := ReturnStatus(0x4f, 0xc2); !p || err != nil {
		t.Error("good status")
	}
	if p, err := ReturnStatus(0xf4, 0x2c); p || err != nil {
		t.Error("bad status")
	}
	if _, err := ReturnStatus(0, 0); err == nil {
		t.Error("no registers accepted")
	}
}

func selfTestPage(entries [][3]uint16, index byte) []byte {
	// entries: {subcommand, status byte, hours}
	b := make([]byte, 512)
	binary.LittleEndian.PutUint16(b, 1)
	for i, e := range entries {
		d := b[2+24*i:]
		d[0] = byte(e[0])
		d[1] = byte(e[1])
		binary.LittleEndian.PutUint16(d[2:], e[2])
		if e[1]>>4 == 7 {
			binary.LittleEndian.PutUint32(d[5:], 0x0012d687)
		} else {
			binary.LittleEndian.PutUint32(d[5:], 0xffffffff)
		}
	}
	b[508] = index
	seal(b)
	return b
}

func TestParseSelfTestLog(t *testing.T) {
	b := selfTestPage([][3]uint16{{1, 0x00, 100}, {2, 0x00, 200}, {1, 0x74, 300}, {2, 0x10, 310}}, 4)
	log, err := ParseSelfTestLog(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(log.Entries) != 4 {
		t.Fatalf("%d entries", len(log.Entries))
	}
	e0, e1 := log.Entries[0], log.Entries[1]
	if e0.Type != "long" || e0.Status != "Aborted by host" || e0.Passed || e0.Failed || e0.LifetimeHour != 310 {
		t.Errorf("most recent: %+v", e0)
	}
	if e1.Type != "short" || e1.Passed || !e1.Failed || e1.FailingLBA == nil || *e1.FailingLBA != 0x12d687 || e1.Status != "Completed: read failure" {
		t.Errorf("failed: %+v", e1)
	}
	if log.Entries[3].LifetimeHour != 100 {
		t.Errorf("oldest last: %+v", log.Entries[3])
	}
	// Ring wrapped: index 1 means entry 0 is newest, then 20, 19, ...
	full := make([][3]uint16, 21)
	for i := range full {
		full[i] = [3]uint16{1, 0, uint16(1000 + i)}
	}
	full[0][2] = 5000
	log, _ = ParseSelfTestLog(selfTestPage(full, 1))
	if len(log.Entries) != 21 || log.Entries[0].LifetimeHour != 5000 || log.Entries[1].LifetimeHour != 1020 {
		t.Errorf("wrapped: %+v", log.Entries[:2])
	}
	empty, err := ParseSelfTestLog(selfTestPage(nil, 0))
	if err != nil || len(empty.Entries) != 0 {
		t.Errorf("empty: %v %+v", err, empty)
	}
	if _, err := ParseSelfTestLog(selfTestPage(nil, 30)); err == nil {
		t.Error("index 30 accepted")
	}
}

func TestErrorLogAndDevStats(t *testing.T) {
	b := make([]byte, 512)
	b[0] = 1
	binary.LittleEndian.PutUint16(b[452:], 1234)
	seal(b)
	if n, err := ParseErrorLogCount(b); n != 1234 || err != nil {
		t.Errorf("error count %d %v", n, err)
	}
	p0 := make([]byte, 512)
	binary.LittleEndian.PutUint16(p0, 1)
	p0[8] = 3
	copy(p0[9:], []byte{0, 1, 5})
	pages, err := DevStatPages(p0)
	if err != nil || len(pages) != 3 || pages[2] != 5 {
		t.Errorf("pages %v %v", pages, err)
	}
	p5 := make([]byte, 512)
	binary.LittleEndian.PutUint16(p5, 1)
	p5[2] = 5
	binary.LittleEndian.PutUint64(p5[8:], 3<<62|0xfb)   // -5 C current
	binary.LittleEndian.PutUint64(p5[32:], 1<<63|0x40)  // supported but not valid: skipped
	binary.LittleEndian.PutUint64(p5[88:], 3<<62|0x3c)  // max operating 60
	binary.LittleEndian.PutUint64(p5[80:], 3<<62|12345) // time over temperature
	st, err := ParseDevStatPage(p5)
	if err != nil || len(st) != 3 {
		t.Fatalf("%v %+v", err, st)
	}
	if st[0].Value != -5 || st[0].Name != "Current Temperature" || st[1].Value != 12345 || st[2].Value != 60 {
		t.Errorf("%+v", st)
	}
}
