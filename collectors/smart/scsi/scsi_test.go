package scsi

import (
	"encoding/binary"
	"errors"
	"testing"
)

// Pages are laid out field by field from T10 SPC-5 (INQUIRY 6.7, VPD
// 7.7, LOG SENSE 7.3, sense data 4.4) and SBC-4 (READ CAPACITY, READ
// DEFECT DATA, VPD B1h); SAT-4 for the ATA Status Return descriptor.

func inquiryPage() []byte {
	b := make([]byte, 96)
	b[0] = 0x00
	b[2] = 0x06
	b[4] = 91
	copy(b[8:16], "SEAGATE ")
	copy(b[16:32], "ST1200MM0088    ")
	copy(b[32:36], "N004")
	return b
}

func TestInquiryAndVPD(t *testing.T) {
	q, err := ParseInquiry(inquiryPage())
	if err != nil {
		t.Fatal(err)
	}
	if q.ModelName() != "SEAGATE ST1200MM0088" || q.Revision != "N004" || q.DeviceType != TypeDisk || q.Version != 6 {
		t.Errorf("%+v", q)
	}
	if _, err := ParseInquiry(make([]byte, 20)); !errors.Is(err, ErrShort) {
		t.Error("short inquiry")
	}
	sn := append([]byte{0, 0x80, 0, 20}, []byte("Z4028VRY0000C810BZXB")...)
	if s, err := ParseSerialVPD(sn); err != nil || s != "Z4028VRY0000C810BZXB" {
		t.Errorf("serial %q %v", s, err)
	}
	if _, err := ParseSerialVPD(sn[:10]); err == nil {
		t.Error("truncated serial accepted")
	}
	// 83h: a T10 vendor id designator (ASCII), then the LU NAA, then a
	// target port NAA (association 1) that must not be taken.
	d := []byte{0, 0x83, 0, 0}
	d = append(d, 0x02, 0x01, 0, 8)
	d = append(d, []byte("SEAGATE ")...)
	d = append(d, 0x01, 0x03, 0, 8, 0x50, 0x00, 0xc5, 0x00, 0x8a, 0x1b, 0x2c, 0x3d)
	d = append(d, 0x61, 0x93, 0, 8, 0x50, 0x00, 0xc5, 0x00, 0x8a, 0x1b, 0x2c, 0x3e)
	binary.BigEndian.PutUint16(d[2:], uint16(len(d)-4))
	ds, err := ParseDeviceIDVPD(d)
	if err != nil || len(ds) != 3 {
		t.Fatalf("%v %+v", err, ds)
	}
	if w := LogicalUnitNAA(ds); w != "5000c5008a1b2c3d" {
		t.Errorf("naa %q", w)
	}
	d[len(d)-9] = 200 // designator length past the end
	if _, err := ParseDeviceIDVPD(d); err == nil {
		t.Error("bad designator length accepted")
	}
	if r, err := ParseRotationVPD([]byte{0, 0xb1, 0, 2, 0x29, 0x04}); err != nil || r != 10500 {
		t.Errorf("rotation %d %v", r, err)
	}
	if r, _ := ParseRotationVPD([]byte{0, 0xb1, 0, 2, 0, 1}); r != 1 {
		t.Errorf("ssd rotation %d", r)
	}
	if _, err := ParseRotationVPD([]byte{0, 0x80, 0, 2, 0, 1}); err == nil {
		t.Error("wrong page accepted")
	}
	last, bl, _ := ParseReadCapacity16([]byte{0, 0, 0, 0, 0x8b, 0xba, 0x0c, 0xaf, 0, 0, 2, 0})
	if Capacity(last, bl) != 1200243695616 {
		t.Errorf("capacity %d", Capacity(last, bl))
	}
	l10, b10, _ := ParseReadCapacity10([]byte{0, 0x01, 0xff, 0xff, 0, 0, 2, 0})
	if Capacity(uint64(l10), b10) != 0x20000*512 {
		t.Error("capacity 10")
	}
}

func param(code uint16, v ...byte) []byte {
	b := []byte{byte(code >> 8), byte(code), 0x03, byte(len(v))}
	return append(b, v...)
}

func page(code uint8, params ...[]byte) []byte {
	b := []byte{code, 0, 0, 0}
	for _, p := range params {
		b = append(b, p...)
	}
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)-4))
	return b
}

func TestLogPages(t *testing.T) {
	sup, err := ParseLogPage([]byte{0, 0, 0, 6, 0x00, 0x02, 0x03, 0x0d, 0x0e, 0x2f}, PageSupported)
	if err != nil {
		t.Fatal(err)
	}
	if m := SupportedPages(sup); !m[0x2f] || !m[0x0d] || m[0x10] {
		t.Errorf("supported %v", m)
	}
	tp, err := ParseLogPage(page(PageTemperature, param(0, 0, 36), param(1, 0, 68)), PageTemperature)
	if err != nil {
		t.Fatal(err)
	}
	if c, cok, r, rok := Temperature(tp); c != 36 || !cok || r != 68 || !rok {
		t.Errorf("temperature %d %v %d %v", c, cok, r, rok)
	}
	tp, _ = ParseLogPage(page(PageTemperature, param(0, 0, 0xff)), PageTemperature)
	if _, cok, _, rok := Temperature(tp); cok || rok {
		t.Error("unknown temperature reported")
	}
	ie, _ := ParseLogPage(page(PageIE, param(0, 0x5d, 0x10, 40)), PageIE)
	st, err := InformationalExceptions(ie)
	if err != nil || !st.Failing() || st.TempC != 40 || st.String() != "hardware impending failure (ASC 0x5d ASCQ 0x10)" {
		t.Errorf("ie %+v %v %s", st, err, st.String())
	}
	ie, _ = ParseLogPage(page(PageIE, param(0, 0, 0, 0xff)), PageIE)
	if st, _ := InformationalExceptions(ie); st.Failing() || st.TempC != -1 || st.String() != "OK" {
		t.Errorf("ie ok %+v", st)
	}
	rd, _ := ParseLogPage(page(PageReadErrors, param(0, 0, 0, 0x12, 0x34), param(3, 0x7e), param(5, 0, 0, 0, 0x01, 0, 0, 0, 0), param(6, 0, 0, 0, 2)), PageReadErrors)
	c := ErrorCounterPage(rd)
	if c.CorrectedFast != 0x1234 || c.TotalCorrected != 0x7e || c.BytesProcessed != 0x0100000000 || c.Uncorrected != 2 || !c.HaveUncorrected {
		t.Errorf("counters %+v", c)
	}
	ss, _ := ParseLogPage(page(PageStartStop, param(1, '2', '0', '1', '6', '4', '2'), param(3, 0, 0, 0xc3, 0x50), param(4, 0, 0, 0, 73), param(6, 0, 0, 1, 0)), PageStartStop)
	s := StartStopPage(ss)
	if s.ManufactureYear != "2016" || s.ManufactureWeek != "42" || s.SpecifiedCycles != 50000 || s.AccumulatedCycles != 73 || s.AccumulatedLoads != 256 || !s.HaveCycles {
		t.Errorf("start-stop %+v", s)
	}
	bs, _ := ParseLogPage(page(PageBackgroundScn, param(0, 0, 0x14, 0x7a, 0x60, 0, 0, 0, 0, 0, 0, 0, 0)), PageBackgroundScn)
	if m, ok := PowerOnMinutes(bs); !ok || m != 0x147a60 {
		t.Errorf("pom %d", m)
	}
	if _, err := ParseLogPage(page(PageTemperature), PageIE); err == nil {
		t.Error("wrong page accepted")
	}
	bad := page(PageReadErrors, param(0, 1, 2))
	bad = append(bad, 0, 6, 3, 20, 1)
	binary.BigEndian.PutUint16(bad[2:], uint16(len(bad)-4))
	if lp, err := ParseLogPage(bad, PageReadErrors); err == nil || len(lp.Params) != 1 {
		t.Error("truncated parameter accepted")
	}
}

func selfTestParam(n uint16, code, res uint8, hours uint16, lba uint64, key, asc, ascq uint8) []byte {
	v := make([]byte, 16)
	v[0] = code<<5 | res
	v[1] = byte(n)
	binary.BigEndian.PutUint16(v[2:], hours)
	binary.BigEndian.PutUint64(v[4:], lba)
	v[12], v[13], v[14] = key, asc, ascq
	return param(n, v...)
}

func TestSelfTests(t *testing.T) {
	params := [][]byte{
		selfTestParam(1, 2, 7, 2000, 0x1234, KeyMediumError, 0x11, 0),
		selfTestParam(2, 1, 0, 1900, ^uint64(0), 0, 0, 0),
	}
	for i := uint16(3); i <= 20; i++ {
		params = append(params, param(i, make([]byte, 16)...))
	}
	lp, err := ParseLogPage(page(PageSelfTest, params...), PageSelfTest)
	if err != nil {
		t.Fatal(err)
	}
	log := SelfTests(lp)
	if len(log.Entries) != 2 || log.Running {
		t.Fatalf("%+v", log)
	}
	e0, e1 := log.Entries[0], log.Entries[1]
	if e0.Type != "long" || e0.Passed || !e0.Failed || e0.FailingLBA == nil || *e0.FailingLBA != 0x1234 || e0.LifetimeHour != 2000 {
		t.Errorf("%+v", e0)
	}
	if e1.Type != "short" || !e1.Passed || e1.FailingLBA != nil {
		t.Errorf("%+v", e1)
	}
}

func TestSense(t *testing.T) {
	fixed := make([]byte, 18)
	fixed[0], fixed[2], fixed[7], fixed[12], fixed[13] = 0x70, KeyIllegalRequest, 10, 0x20, 0
	s, err := ParseSense(fixed)
	if err != nil || s.Key != KeyIllegalRequest || s.ASC != 0x20 || s.Descriptor || s.ATA != nil {
		t.Errorf("%v %+v", err, s)
	}
	if s.String() != "ILLEGAL REQUEST: invalid command operation code (ASC 0x20 ASCQ 0x00)" {
		t.Errorf("%s", s)
	}
	// SAT fixed format with ATA registers: SMART RETURN STATUS good.
	fixed = make([]byte, 18)
	fixed[0], fixed[2], fixed[7], fixed[12], fixed[13] = 0x70, KeyRecovered, 10, 0, 0x1d
	fixed[3], fixed[4], fixed[6] = 0, 0x50, 0xff
	fixed[9], fixed[10], fixed[11] = 0, 0x4f, 0xc2
	s, _ = ParseSense(fixed)
	if s.ATA == nil || s.ATA.LBAMid != 0x4f || s.ATA.LBAHigh != 0xc2 || s.ATA.Status != 0x50 || s.ATA.CountLow != 0xff {
		t.Errorf("fixed ATA %+v", s.ATA)
	}
	// Descriptor format with an ATA Status Return descriptor: failing
	// SMART status (F4h/2Ch), and an information descriptor.
	d := []byte{0x72, KeyRecovered, 0x00, 0x1d, 0, 0, 0, 26,
		0x09, 0x0c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf4, 0x00, 0x2c, 0x00, 0x50,
		0x00, 0x0a, 0x80, 0, 0, 0, 0, 0, 0, 0, 0x12, 0x34}
	s, err = ParseSense(d)
	if err != nil || !s.Descriptor || s.ATA == nil || s.ATA.LBAMid != 0xf4 || s.ATA.LBAHigh != 0x2c || s.ATA.Status != 0x50 || !s.InfoValid || s.Info != 0x1234 {
		t.Errorf("descriptor %v %+v %+v", err, s, s.ATA)
	}
	if s.ATA.LBA != 0x2cf400 {
		t.Errorf("lba %#x", s.ATA.LBA)
	}
	d[9] = 40 // descriptor longer than the data
	if _, err := ParseSense(d); err == nil {
		t.Error("bad descriptor accepted")
	}
	if _, err := ParseSense([]byte{0x7f}); err == nil {
		t.Error("unknown response code accepted")
	}
}

func TestDefects(t *testing.T) {
	if n, err := ParseDefectHeader([]byte{0, 0x08 | 0x04, 0, 8 * 12}); err != nil || n != 12 {
		t.Errorf("%d %v", n, err)
	}
	if n, err := ParseDefectHeader([]byte{0, 0x08, 0, 4 * 3}); err != nil || n != 3 {
		t.Errorf("short format %d %v", n, err)
	}
	if _, err := ParseDefectHeader([]byte{0, 0x04, 0, 8}); err == nil {
		t.Error("GLISTV clear accepted")
	}
	if n, err := ParseDefectHeader12([]byte{0, 0x0d, 0, 0, 0, 1, 0, 0}); err != nil || n != 8192 {
		t.Errorf("12: %d %v", n, err)
	}
}

func FuzzDecoders(f *testing.F) {
	f.Add(inquiryPage(), uint8(0))
	f.Add(page(PageTemperature, param(0, 0, 36)), uint8(PageTemperature))
	f.Add([]byte{0x72, 1, 0, 0x1d, 0, 0, 0, 14, 0x09, 0x0c, 0, 0, 0, 0, 0, 0, 0, 0x4f, 0, 0xc2, 0, 0x50}, uint8(0))
	f.Fuzz(func(t *testing.T, b []byte, pc uint8) {
		ParseInquiry(b)
		ParseSerialVPD(b)
		if ds, err := ParseDeviceIDVPD(b); err == nil {
			LogicalUnitNAA(ds)
		}
		ParseRotationVPD(b)
		ParseDefectHeader(b)
		ParseDefectHeader12(b)
		if s, err := ParseSense(b); err == nil {
			_ = s.String()
		}
		if lp, err := ParseLogPage(b, pc&0x3f); err == nil {
			Temperature(lp)
			InformationalExceptions(lp)
			ErrorCounterPage(lp)
			StartStopPage(lp)
			SelfTests(lp)
			PowerOnMinutes(lp)
			SupportedPages(lp)
		}
	})
}

// Page 06h laid out from SPC-5 7.3.13: parameter 0000h, the non-medium
// error count, a 4-byte counter here (its length is the device's choice).
func TestNonMediumErrorPage(t *testing.T) {
	lp, err := ParseLogPage(page(PageNonMedium, param(0, 0, 0, 0x01, 0x2c)), PageNonMedium)
	if err != nil {
		t.Fatal(err)
	}
	if n, ok := NonMediumErrors(lp); !ok || n != 300 {
		t.Errorf("non-medium errors %d %v, want 300", n, ok)
	}
	empty, _ := ParseLogPage(page(PageNonMedium), PageNonMedium)
	if _, ok := NonMediumErrors(empty); ok {
		t.Error("a page without parameter 0000h gave a count")
	}
}
