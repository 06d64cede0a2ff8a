package nvme

import (
	"encoding/binary"
	"math"
	"reflect"
	"testing"
)

// Pages are laid out field by field from the NVMe Base Specification 2.0
// (Identify Controller figure 275, Identify Namespace figure 280, SMART /
// Health log figure 207, Error Information figure 205, Device Self-test
// log figures 209-210).

func controllerPage() []byte {
	b := make([]byte, IdentifySize)
	binary.LittleEndian.PutUint16(b[0:], 0x144d)
	binary.LittleEndian.PutUint16(b[2:], 0x144d)
	copy(b[4:24], "S4EWNX0N123456A     ")
	copy(b[24:64], "Samsung SSD 970 EVO 500GB               ")
	copy(b[64:72], "2B2QEXE7")
	b[73], b[74], b[75] = 0x38, 0x25, 0x00
	binary.LittleEndian.PutUint32(b[80:], 0x00010300)
	binary.LittleEndian.PutUint16(b[256:], 0x0017)
	b[262] = 63
	binary.LittleEndian.PutUint16(b[266:], 358)
	binary.LittleEndian.PutUint16(b[268:], 358)
	binary.LittleEndian.PutUint64(b[280:], 500107862016)
	binary.LittleEndian.PutUint32(b[516:], 1)
	return b
}

func TestParseIdentifyController(t *testing.T) {
	c, err := ParseIdentifyController(controllerPage())
	if err != nil {
		t.Fatal(err)
	}
	want := Controller{VendorID: 0x144d, SubsystemVendorID: 0x144d, Serial: "S4EWNX0N123456A",
		Model: "Samsung SSD 970 EVO 500GB", Firmware: "2B2QEXE7", IEEEOUI: 0x002538, Version: 0x10300,
		SelfTestSupported: true, ErrorLogEntries: 64, WarningTempK: 358, CriticalTempK: 358,
		TotalCapacity: Uint128{Lo: 500107862016}, Namespaces: 1}
	if !reflect.DeepEqual(*c, want) {
		t.Errorf("got  %+v\nwant %+v", *c, want)
	}
	if KelvinToC(c.WarningTempK) != 85 {
		t.Error("kelvin")
	}
	if _, err := ParseIdentifyController(make([]byte, 100)); err == nil {
		t.Error("short accepted")
	}
}

func TestParseIdentifyNamespace(t *testing.T) {
	b := make([]byte, IdentifySize)
	binary.LittleEndian.PutUint64(b[0:], 976773168)
	b[26] = 1                // format 1 in use
	b[128+2] = 9             // format 0: 512
	b[128+4+2] = 12          // format 1: 4096
	b[120], b[127] = 0x00, 7 // EUI64 big-endian
	ns, err := ParseIdentifyNamespace(b)
	if err != nil {
		t.Fatal(err)
	}
	if ns.LBASize != 4096 || ns.Bytes() != 976773168*4096 || ns.EUI64 != 7 {
		t.Errorf("%+v", ns)
	}
	b[26] = 2 // format 2 has LBADS 0: invalid
	if _, err := ParseIdentifyNamespace(b); err == nil {
		t.Error("LBADS 0 accepted")
	}
}

func healthPage() []byte {
	b := make([]byte, SMARTLogSize)
	b[0] = WarnSpare | WarnReliability
	binary.LittleEndian.PutUint16(b[1:], 323) // 50 C
	b[3], b[4], b[5] = 90, 10, 3
	put := func(o int, lo, hi uint64) {
		binary.LittleEndian.PutUint64(b[o:], lo)
		binary.LittleEndian.PutUint64(b[o+8:], hi)
	}
	put(32, 12345678, 0)
	put(48, 23456789, 0)
	put(64, 1, 0)
	put(80, 2, 0)
	put(96, 3, 0)
	put(112, 1490, 0)
	put(128, 6123, 0)
	put(144, 144, 0)
	put(160, 7, 0)
	put(176, 3202, 1) // beyond 64 bits
	binary.LittleEndian.PutUint32(b[192:], 5)
	binary.LittleEndian.PutUint32(b[196:], 6)
	binary.LittleEndian.PutUint16(b[200:], 320)
	return b
}

func TestParseHealth(t *testing.T) {
	h, err := ParseHealth(healthPage())
	if err != nil {
		t.Fatal(err)
	}
	m := h.Model()
	if m.CriticalWarning != 5 || m.TemperatureC != 50 || m.AvailableSpare != 90 || m.AvailableSpareThreshold != 10 ||
		m.PercentageUsed != 3 || m.DataUnitsRead != 12345678 || m.DataUnitsWritten != 23456789 || m.PowerCycles != 1490 ||
		m.PowerOnHours != 6123 || m.UnsafeShutdowns != 144 || m.MediaErrors != 7 || m.NumErrLogEntries != math.MaxUint64 {
		t.Errorf("%+v", m)
	}
	if s := h.NumErrLogEntries.String(); s != "18446744073709554818" {
		t.Errorf("128-bit: %s", s)
	}
	if h.SensorsK[0] != 320 || h.WarningTempTime != 5 || h.CriticalCompTime != 6 {
		t.Errorf("%+v", h)
	}
	if got := CriticalWarningNames(h.CriticalWarning); !reflect.DeepEqual(got, []string{"available spare below threshold", "NVM subsystem reliability degraded"}) {
		t.Errorf("names %q", got)
	}
	if got := CriticalWarningNames(0x80); len(got) != 1 || got[0] != "reserved bit 7" {
		t.Errorf("reserved %q", got)
	}
	if _, err := ParseHealth(make([]byte, 511)); err == nil {
		t.Error("short accepted")
	}
}

func TestParseErrorLog(t *testing.T) {
	b := make([]byte, 4*ErrorEntrySize)
	binary.LittleEndian.PutUint64(b[0:], 17)
	binary.LittleEndian.PutUint16(b[12:], 0x4005<<1|1)
	binary.LittleEndian.PutUint64(b[16:], 4242)
	binary.LittleEndian.PutUint64(b[2*ErrorEntrySize:], 16)
	got, err := ParseErrorLog(b)
	if err != nil || len(got) != 2 || got[0].ErrorCount != 17 || got[0].Status != 0x4005 || got[0].LBA != 4242 || got[1].ErrorCount != 16 {
		t.Errorf("%v %+v", err, got)
	}
	if _, err := ParseErrorLog(make([]byte, 65)); err == nil {
		t.Error("odd size accepted")
	}
}

func TestParseSelfTestLog(t *testing.T) {
	b := make([]byte, SelfTestSize)
	b[0], b[1] = 2, 40 // extended test running, 40 % done
	for i := 0; i < 20; i++ {
		b[4+28*i] = 0x0f // unused
	}
	e := b[4:]
	e[0] = 0x1<<4 | 7 // short, failed segments
	e[2] = 0x02       // FLBA valid
	binary.LittleEndian.PutUint64(e[4:], 1234)
	binary.LittleEndian.PutUint64(e[16:], 99)
	e = b[4+28:]
	e[0] = 0x2<<4 | 0
	binary.LittleEndian.PutUint64(e[4:], 1000)
	log, err := ParseSelfTestLog(b)
	if err != nil {
		t.Fatal(err)
	}
	if !log.Running || log.RemainingPercent != 60 || len(log.Entries) != 2 {
		t.Fatalf("%+v", log)
	}
	if e0 := log.Entries[0]; e0.Type != "short" || e0.Passed || !e0.Failed || e0.FailingLBA == nil || *e0.FailingLBA != 99 || e0.LifetimeHour != 1234 {
		t.Errorf("%+v", e0)
	}
	if e1 := log.Entries[1]; e1.Type != "long" || !e1.Passed || e1.Status != "Completed without error" {
		t.Errorf("%+v", e1)
	}
}

func FuzzDecoders(f *testing.F) {
	f.Add(healthPage())
	f.Add(controllerPage())
	f.Fuzz(func(t *testing.T, b []byte) {
		if h, err := ParseHealth(b); err == nil {
			h.Model()
			CriticalWarningNames(h.CriticalWarning)
		}
		ParseIdentifyController(b)
		if ns, err := ParseIdentifyNamespace(b); ns != nil && err == nil {
			ns.Bytes()
		}
		ParseErrorLog(b)
		ParseSelfTestLog(b)
	})
}

func BenchmarkParseHealth(b *testing.B) {
	p := healthPage()
	b.SetBytes(int64(len(p)))
	for i := 0; i < b.N; i++ {
		h, _ := ParseHealth(p)
		h.Model()
	}
}
