package scsi

import (
	"encoding/binary"
	"fmt"

	"github.com/diskwatch/diskwatch/collectors/model"
)

// Log page codes.
const (
	PageSupported     = 0x00
	PageWriteErrors   = 0x02
	PageReadErrors    = 0x03
	PageVerifyErrors  = 0x05
	PageNonMedium     = 0x06
	PageTemperature   = 0x0d
	PageStartStop     = 0x0e
	PageSelfTest      = 0x10
	PageBackgroundScn = 0x15
	PageIE            = 0x2f
)

// Param is one log parameter.
type Param struct {
	Code    uint16
	Control uint8
	Value   []byte
}

// Uint returns the parameter value as a big-endian unsigned integer (the
// counters are variable-length); values longer than 8 bytes keep their last
// 8 bytes.
func (p Param) Uint() uint64 {
	v := p.Value
	if len(v) > 8 {
		v = v[len(v)-8:]
	}
	var n uint64
	for _, c := range v {
		n = n<<8 | uint64(c)
	}
	return n
}

// LogPage is a decoded LOG SENSE page.
type LogPage struct {
	Code, Subpage uint8
	Params        []Param
}

// Param returns the parameter with code c.
func (l *LogPage) Param(c uint16) (Param, bool) {
	for _, p := range l.Params {
		if p.Code == c {
			return p, true
		}
	}
	return Param{}, false
}

// ParseLogPage decodes a LOG SENSE response for page want: the 4-byte
// header (page code in byte 0 bits 5:0, length in bytes 2-3) and the
// parameter list. A truncated last parameter is an error (the ones before
// it are still returned).
func ParseLogPage(b []byte, want uint8) (*LogPage, error) {
	if len(b) < 4 {
		return nil, fmt.Errorf("log page 0x%02x: %d bytes: %w", want, len(b), ErrShort)
	}
	lp := &LogPage{Code: b[0] & 0x3f, Subpage: b[1]}
	if lp.Code != want {
		return nil, fmt.Errorf("log page 0x%02x: device returned page 0x%02x", want, lp.Code)
	}
	n := int(binary.BigEndian.Uint16(b[2:]))
	if len(b) < 4+n {
		// Some devices report more than the allocation length let through;
		// decode what arrived.
		n = len(b) - 4
	}
	p := b[4 : 4+n]
	if want == PageSupported {
		for _, c := range p {
			lp.Params = append(lp.Params, Param{Code: uint16(c & 0x3f)})
		}
		return lp, nil
	}
	for len(p) >= 4 {
		l := int(p[3])
		if len(p) < 4+l {
			return lp, fmt.Errorf("log page 0x%02x: parameter 0x%04x length %d, have %d: %w", want, binary.BigEndian.Uint16(p), l, len(p)-4, ErrShort)
		}
		lp.Params = append(lp.Params, Param{Code: binary.BigEndian.Uint16(p), Control: p[2], Value: p[4 : 4+l]})
		p = p[4+l:]
	}
	return lp, nil
}

// SupportedPages lists the page codes of a page 00h response.
func SupportedPages(l *LogPage) map[uint8]bool {
	m := map[uint8]bool{}
	for _, p := range l.Params {
		m[uint8(p.Code)] = true
	}
	return m
}

// Temperature decodes page 0Dh: current temperature (parameter 0) and the
// reference (trip) temperature (parameter 1), in Celsius. ok is false for
// a value the device reports as unknown (FFh).
func Temperature(l *LogPage) (cur int, curOK bool, ref int, refOK bool) {
	if p, ok := l.Param(0); ok && len(p.Value) >= 2 && p.Value[1] != 0xff {
		cur, curOK = int(p.Value[1]), true
	}
	if p, ok := l.Param(1); ok && len(p.Value) >= 2 && p.Value[1] != 0xff {
		ref, refOK = int(p.Value[1]), true
	}
	return
}

// IE is the informational exceptions state (page 2Fh parameter 0).
type IE struct {
	ASC, ASCQ uint8
	// TempC is the most recent temperature reading (0xFF unknown → -1).
	TempC int
}

// Failing reports whether the device signals a failure prediction (any
// additional sense code other than 0 means "threshold exceeded").
func (ie IE) Failing() bool { return ie.ASC != 0 }

// String describes the exception.
func (ie IE) String() string {
	if ie.ASC == 0 {
		return "OK"
	}
	return fmt.Sprintf("%s (ASC 0x%02x ASCQ 0x%02x)", SenseDescription(ie.ASC, ie.ASCQ), ie.ASC, ie.ASCQ)
}

// InformationalExceptions decodes page 2Fh.
func InformationalExceptions(l *LogPage) (IE, error) {
	p, ok := l.Param(0)
	if !ok || len(p.Value) < 2 {
		return IE{}, fmt.Errorf("log page 0x2f: no general parameter: %w", ErrShort)
	}
	ie := IE{ASC: p.Value[0], ASCQ: p.Value[1], TempC: -1}
	if len(p.Value) >= 3 && p.Value[2] != 0xff {
		ie.TempC = int(p.Value[2])
	}
	return ie, nil
}

// ErrorCounters are the counters of pages 02h/03h/05h.
type ErrorCounters struct {
	CorrectedFast, CorrectedDelayed, Rereads, TotalCorrected, AlgorithmInvocations uint64
	BytesProcessed, Uncorrected                                                    uint64
	HaveUncorrected                                                                bool
}

// ErrorCounterPage decodes an error counter page (02h write, 03h read, 05h
// verify).
func ErrorCounterPage(l *LogPage) ErrorCounters {
	var c ErrorCounters
	for _, p := range l.Params {
		v := p.Uint()
		switch p.Code {
		case 0:
			c.CorrectedFast = v
		case 1:
			c.CorrectedDelayed = v
		case 2:
			c.Rereads = v
		case 3:
			c.TotalCorrected = v
		case 4:
			c.AlgorithmInvocations = v
		case 5:
			c.BytesProcessed = v
		case 6:
			c.Uncorrected, c.HaveUncorrected = v, true
		}
	}
	return c
}

// StartStop is page 0Eh.
type StartStop struct {
	ManufactureYear, ManufactureWeek   string
	SpecifiedCycles, AccumulatedCycles uint64
	SpecifiedLoads, AccumulatedLoads   uint64
	HaveCycles, HaveLoads              bool
}

// StartStopPage decodes page 0Eh.
func StartStopPage(l *LogPage) StartStop {
	var s StartStop
	for _, p := range l.Params {
		switch p.Code {
		case 1:
			if len(p.Value) >= 6 {
				s.ManufactureYear, s.ManufactureWeek = string(p.Value[0:4]), string(p.Value[4:6])
			}
		case 3:
			s.SpecifiedCycles = p.Uint()
		case 4:
			s.AccumulatedCycles, s.HaveCycles = p.Uint(), true
		case 5:
			s.SpecifiedLoads = p.Uint()
		case 6:
			s.AccumulatedLoads, s.HaveLoads = p.Uint(), true
		}
	}
	return s
}

// PowerOnMinutes decodes the accumulated power-on minutes of the
// background scan results page (15h, parameter 0, bytes 0-3).
func PowerOnMinutes(l *LogPage) (uint64, bool) {
	p, ok := l.Param(0)
	if !ok || len(p.Value) < 4 {
		return 0, false
	}
	return uint64(binary.BigEndian.Uint32(p.Value)), true
}

func selfTestResult(r uint8) string {
	switch r {
	case 0:
		return "Completed"
	case 1:
		return "Aborted (by user command)"
	case 2:
		return "Aborted (device reset ?)"
	case 3:
		return "Unknown error, incomplete"
	case 4:
		return "Completed, segment failed"
	case 5:
		return "Failed in first segment"
	case 6:
		return "Failed in second segment"
	case 7:
		return "Failed in segment"
	case 0xf:
		return "Self test in progress ..."
	}
	return fmt.Sprintf("Reserved result (0x%x)", r)
}

// SelfTestFailed reports whether a self-test result code is a failure.
func SelfTestFailed(r uint8) bool { return r >= 3 && r <= 7 }

// SelfTests decodes page 10h: up to 20 results (parameters 1-20), newest
// first. Unused parameters (all zero) are left out.
func SelfTests(l *LogPage) *model.SelfTestLog {
	log := &model.SelfTestLog{}
	for _, p := range l.Params {
		if p.Code < 1 || p.Code > 20 || len(p.Value) < 16 {
			continue
		}
		v := p.Value
		code, res := v[0]>>5, v[0]&0x0f
		hours := binary.BigEndian.Uint16(v[2:])
		if code == 0 && res == 0 && v[1] == 0 && hours == 0 {
			continue
		}
		if res == 0xf {
			log.Running = true
		}
		typ := "vendor"
		switch code {
		case 1, 5:
			typ = "short"
		case 2, 6:
			typ = "long"
		case 0:
			typ = "default"
		}
		e := model.SelfTestEntry{Type: typ, Status: selfTestResult(res), Passed: res == 0, Failed: SelfTestFailed(res), LifetimeHour: int64(hours)}
		if lba := binary.BigEndian.Uint64(v[4:]); SelfTestFailed(res) && lba != ^uint64(0) {
			l := int64(lba & (1<<63 - 1))
			e.FailingLBA = &l
		}
		log.Entries = append(log.Entries, e)
	}
	return log
}

// NonMediumErrors decodes page 06h (Non-Medium Error, SPC-5 7.3.13): its
// parameter 0000h counts recoverable and unrecoverable errors not tied to
// the medium (transport, hardware, resets).
func NonMediumErrors(l *LogPage) (uint64, bool) {
	p, ok := l.Param(0)
	if !ok || len(p.Value) == 0 {
		return 0, false
	}
	return p.Uint(), true
}
