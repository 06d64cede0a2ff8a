package ata

import (
	"encoding/binary"
	"fmt"

	"github.com/diskwatch/diskwatch/collectors/model"
)

// Log addresses used with SMART READ LOG / READ LOG EXT.
const (
	LogDirectory        = 0x00
	LogSummaryError     = 0x01
	LogComprehensiveErr = 0x02
	LogDeviceStatistics = 0x04
	LogSelfTest         = 0x06
)

// ParseErrorLogCount returns the device error count of the SMART summary
// error log (log 01h, bytes 452-453).
func ParseErrorLogCount(b []byte) (int64, error) {
	if len(b) < SectorSize {
		return 0, fmt.Errorf("summary error log: %d bytes: %w", len(b), ErrShort)
	}
	n := int64(binary.LittleEndian.Uint16(b[452:]))
	if !checksumOK(b) {
		return n, fmt.Errorf("summary error log: %w", ErrChecksum)
	}
	return n, nil
}

// selfTestTypes names the self-test subcommand (LBA low of the entry).
func selfTestType(code uint8) string {
	switch code {
	case 0x00:
		return "offline"
	case 0x01, 0x81:
		return "short"
	case 0x02, 0x82:
		return "long"
	case 0x03, 0x83:
		return "conveyance"
	case 0x04, 0x84:
		return "selective"
	}
	return fmt.Sprintf("vendor (0x%02x)", code)
}

// SelfTestStatusString names a self-test execution status (4-bit value),
// as smartctl prints it.
func SelfTestStatusString(st uint8) string {
	switch st {
	case 0:
		return "Completed without error"
	case 1:
		return "Aborted by host"
	case 2:
		return "Interrupted (host reset)"
	case 3:
		return "Fatal or unknown error"
	case 4:
		return "Completed: unknown failure"
	case 5:
		return "Completed: electrical failure"
	case 6:
		return "Completed: servo/seek failure"
	case 7:
		return "Completed: read failure"
	case 8:
		return "Completed: handling damage??"
	case 15:
		return "Self-test routine in progress"
	}
	return fmt.Sprintf("Unknown status (0x%x)", st)
}

// SelfTestFailed reports whether a status means the test found a fault
// (3-8); aborted and interrupted tests are not failures.
func SelfTestFailed(st uint8) bool { return st >= 3 && st <= 8 }

// ParseSelfTestLog decodes the SMART self-test log (log 06h): 21
// descriptors in a ring, most recent first in the result. Empty slots are
// left out.
func ParseSelfTestLog(b []byte) (*model.SelfTestLog, error) {
	if len(b) < SectorSize {
		return nil, fmt.Errorf("self-test log: %d bytes: %w", len(b), ErrShort)
	}
	b = b[:SectorSize]
	log := &model.SelfTestLog{}
	idx := int(b[508]) // 1-based index of the most recent descriptor
	if idx > 21 {
		return log, fmt.Errorf("self-test log: index %d out of range", idx)
	}
	if idx == 0 {
		return log, nil
	}
	for k := 0; k < 21; k++ {
		i := (idx - 1 - k + 21) % 21
		e := b[2+24*i : 2+24*(i+1)]
		allZero := true
		for _, c := range e {
			if c != 0 {
				allZero = false
				break
			}
		}
		if allZero {
			continue
		}
		st := e[1] >> 4
		entry := model.SelfTestEntry{
			Type:         selfTestType(e[0]),
			Status:       SelfTestStatusString(st),
			Passed:       st == 0,
			Failed:       SelfTestFailed(st),
			LifetimeHour: int64(binary.LittleEndian.Uint16(e[2:])),
		}
		if SelfTestFailed(st) {
			lba := int64(binary.LittleEndian.Uint32(e[5:]))
			if lba != 0xffffffff {
				entry.FailingLBA = &lba
			}
		}
		log.Entries = append(log.Entries, entry)
	}
	if !checksumOK(b) {
		return log, fmt.Errorf("self-test log: %w", ErrChecksum)
	}
	return log, nil
}

// LogDirectoryPages returns the number of pages of log addr from a GP or
// SMART log directory (log 00h: word N = page count of log N).
func LogDirectoryPages(dir []byte, addr uint8) int {
	if len(dir) < SectorSize || addr == 0 {
		return 0
	}
	return int(binary.LittleEndian.Uint16(dir[2*int(addr):]))
}

// DevStat is one device statistic (a qword of GP log 04h).
type DevStat struct {
	Page, Offset int
	Name         string
	Value        int64
	Normalized   bool
}

// devStatNames names the statistics ACS-4 defines on the pages diskwatch
// reads (1 general, 3 rotating media, 4 general errors, 5 temperature,
// 6 transport, 7 solid state).
var devStatNames = map[[2]int]string{
	{1, 8}: "Lifetime Power-On Resets", {1, 16}: "Power-on Hours", {1, 24}: "Logical Sectors Written",
	{1, 32}: "Number of Write Commands", {1, 40}: "Logical Sectors Read", {1, 48}: "Number of Read Commands",
	{3, 8}: "Spindle Motor Power-on Hours", {3, 16}: "Head Flying Hours", {3, 24}: "Head Load Events",
	{3, 32}: "Number of Reallocated Logical Sectors", {3, 40}: "Read Recovery Attempts",
	{3, 48}: "Number of Mechanical Start Failures", {3, 56}: "Number of Realloc. Candidate Logical Sectors",
	{4, 8}: "Number of Reported Uncorrectable Errors", {4, 16}: "Resets Between Cmd Acceptance and Completion",
	{5, 8}: "Current Temperature", {5, 16}: "Average Short Term Temperature", {5, 24}: "Average Long Term Temperature",
	{5, 32}: "Highest Temperature", {5, 40}: "Lowest Temperature", {5, 80}: "Time in Over-Temperature",
	{5, 88}: "Specified Maximum Operating Temperature", {5, 96}: "Time in Under-Temperature",
	{5, 104}: "Specified Minimum Operating Temperature",
	{6, 8}:   "Number of Hardware Resets", {6, 16}: "Number of ASR Events", {6, 24}: "Number of Interface CRC Errors",
	{7, 8}: "Percentage Used Endurance Indicator",
}

// temperature statistics are signed bytes.
func isTempStat(page, off int) bool { return page == 5 && off <= 104 && off != 80 && off != 96 }

// DevStatPages returns the page numbers listed by device statistics page 0
// (byte 8: count, bytes 9...: page numbers).
func DevStatPages(p0 []byte) ([]int, error) {
	if len(p0) < SectorSize {
		return nil, fmt.Errorf("device statistics page 0: %d bytes: %w", len(p0), ErrShort)
	}
	if p0[2] != 0 {
		return nil, fmt.Errorf("device statistics page 0: header says page %d", p0[2])
	}
	n := int(p0[8])
	if n > SectorSize-9 {
		n = SectorSize - 9
	}
	out := make([]int, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, int(p0[9+i]))
	}
	return out, nil
}

// ParseDevStatPage decodes one 512-byte device statistics page: every
// qword whose "supported" and "valid" bits (63, 62) are set. Values are
// bits 0-55 (temperatures a signed byte).
func ParseDevStatPage(b []byte) ([]DevStat, error) {
	if len(b) < SectorSize {
		return nil, fmt.Errorf("device statistics page: %d bytes: %w", len(b), ErrShort)
	}
	page := int(b[2])
	rev := binary.LittleEndian.Uint16(b)
	if rev == 0 {
		return nil, fmt.Errorf("device statistics page %d: revision 0 (not supported)", page)
	}
	var out []DevStat
	for off := 8; off+8 <= SectorSize; off += 8 {
		q := binary.LittleEndian.Uint64(b[off:])
		if q&(1<<63) == 0 || q&(1<<62) == 0 {
			continue
		}
		v := int64(q & ((1 << 56) - 1))
		if isTempStat(page, off) {
			v = int64(int8(q))
		}
		name := devStatNames[[2]int{page, off}]
		if name == "" {
			name = fmt.Sprintf("Page %d offset %d", page, off)
		}
		out = append(out, DevStat{Page: page, Offset: off, Name: name, Value: v, Normalized: q&(1<<61) != 0})
	}
	return out, nil
}
