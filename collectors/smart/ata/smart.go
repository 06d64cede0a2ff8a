package ata

import (
	"encoding/binary"
	"fmt"
	"strconv"

	"github.com/diskwatch/diskwatch/collectors/model"
)

// NumAttributes is the number of attribute slots in SMART READ DATA.
const NumAttributes = 30

// RawAttribute is one 12-byte attribute entry of SMART READ DATA.
type RawAttribute struct {
	ID       uint8
	Flags    uint16
	Value    uint8 // normalized current value
	Worst    uint8
	Raw      [6]byte
	Reserved uint8
	// Slot is the entry's position (0-29) in the table.
	Slot int
}

// Prefailure reports flag bit 0 (pre-failure / advisory).
func (a RawAttribute) Prefailure() bool { return a.Flags&1 != 0 }

// SMARTData is the decoded SMART READ DATA (D0h) structure.
type SMARTData struct {
	Revision   uint16
	Attributes []RawAttribute // the non-empty slots, in table order
	// OfflineStatus is byte 362 (offline data collection status).
	OfflineStatus uint8
	// SelfTestStatus is the self-test execution status (byte 363, bits
	// 7:4); 15 means a self-test is in progress.
	SelfTestStatus uint8
	// SelfTestRemaining is the percentage of a running self-test left.
	SelfTestRemaining int
	OfflineCapability uint8
	SMARTCapability   uint16
	ErrorLogSupported bool
	// Polling times in minutes as the drive recommends them.
	ShortPollMinutes, ExtendedPollMinutes, ConveyancePollMinutes int
}

// SelfTestRunning reports whether the drive says a self-test is in
// progress.
func (d *SMARTData) SelfTestRunning() bool { return d.SelfTestStatus == 0x0f }

// SelfTestSupported reports offline capability bit 4.
func (d *SMARTData) SelfTestSupported() bool { return d.OfflineCapability&0x10 != 0 }

// ParseSMARTData decodes 512 bytes of SMART READ DATA. A checksum mismatch
// is returned as ErrChecksum along with the decoded data (smartctl warns and
// goes on; so do we).
func ParseSMARTData(b []byte) (*SMARTData, error) {
	if len(b) < SectorSize {
		return nil, fmt.Errorf("smart read data: %d bytes: %w", len(b), ErrShort)
	}
	b = b[:SectorSize]
	d := &SMARTData{Revision: binary.LittleEndian.Uint16(b)}
	for i := 0; i < NumAttributes; i++ {
		e := b[2+12*i : 2+12*(i+1)]
		if e[0] == 0 {
			continue
		}
		a := RawAttribute{ID: e[0], Flags: binary.LittleEndian.Uint16(e[1:]), Value: e[3], Worst: e[4], Reserved: e[11], Slot: i}
		copy(a.Raw[:], e[5:11])
		d.Attributes = append(d.Attributes, a)
	}
	d.OfflineStatus = b[362]
	d.SelfTestStatus = b[363] >> 4
	d.SelfTestRemaining = int(b[363]&0x0f) * 10
	d.OfflineCapability = b[367]
	d.SMARTCapability = binary.LittleEndian.Uint16(b[368:])
	d.ErrorLogSupported = b[370]&1 != 0
	d.ShortPollMinutes = int(b[372])
	d.ExtendedPollMinutes = int(b[373])
	if b[373] == 0xff {
		d.ExtendedPollMinutes = int(binary.LittleEndian.Uint16(b[375:]))
	}
	d.ConveyancePollMinutes = int(b[374])
	if !checksumOK(b) {
		return d, fmt.Errorf("smart read data: %w", ErrChecksum)
	}
	return d, nil
}

// Threshold is one entry of SMART READ THRESHOLDS.
type Threshold struct {
	ID        uint8
	Threshold uint8
}

// ParseThresholds decodes 512 bytes of SMART READ THRESHOLDS (D1h),
// returning all 30 slots (empty ones have ID 0) so that a threshold can be
// matched by slot as well as by ID.
func ParseThresholds(b []byte) ([]Threshold, error) {
	if len(b) < SectorSize {
		return nil, fmt.Errorf("smart read thresholds: %d bytes: %w", len(b), ErrShort)
	}
	b = b[:SectorSize]
	out := make([]Threshold, NumAttributes)
	for i := range out {
		out[i] = Threshold{ID: b[2+12*i], Threshold: b[3+12*i]}
	}
	if !checksumOK(b) {
		return out, fmt.Errorf("smart read thresholds: %w", ErrChecksum)
	}
	return out, nil
}

// findThreshold finds the threshold of attribute id, trying slot first
// (where it normally is) and then every slot.
func findThreshold(th []Threshold, slot int, id uint8) (uint8, bool) {
	if slot < len(th) && th[slot].ID == id {
		return th[slot].Threshold, true
	}
	for _, t := range th {
		if t.ID == id {
			return t.Threshold, true
		}
	}
	return 0, false
}

// WhenFailed says whether a normalized value is at or below its threshold
// now ("now"), was in the past ("past": worst at or below it), or neither
// (""). A threshold of 0 means "always passing" (ATA-3), as smartctl
// treats it. noWorst disables the "past" check (the -v ... flag some
// presets set).
func WhenFailed(value, worst, thresh uint8, noWorst bool) string {
	switch {
	case thresh == 0:
		return ""
	case value <= thresh:
		return "now"
	case !noWorst && worst <= thresh:
		return "past"
	}
	return ""
}

// Attributes turns SMART READ DATA and READ THRESHOLDS into normalized
// attributes, naming and formatting each raw value with defs (the built-in
// table overlaid with the drive database presets for this model; nil for
// the built-in table only). rpm is the IDENTIFY rotation rate (1 = SSD),
// which picks HDD/SSD-specific names. thresholds may be nil when they
// could not be read: thresh is then 0 and when_failed empty.
func Attributes(d *SMARTData, thresholds []Threshold, defs *Defs, rpm int) []model.ATAAttribute {
	if d == nil {
		return nil
	}
	out := make([]model.ATAAttribute, 0, len(d.Attributes))
	for _, a := range d.Attributes {
		def := defs.Lookup(a.ID, rpm)
		raw := RawValue(a, def)
		na := model.ATAAttribute{
			ID:         int(a.ID),
			Name:       def.Name,
			Value:      int(a.Value),
			Worst:      int(a.Worst),
			Raw:        int64(raw),
			RawString:  FormatRaw(raw, def.Format, a.ID),
			Prefailure: a.Prefailure(),
		}
		if th, ok := findThreshold(thresholds, a.Slot, a.ID); ok {
			na.Thresh = int(th)
			if !def.NoNormVal {
				na.WhenFailed = WhenFailed(a.Value, a.Worst, th, def.NoWorstVal)
			}
		}
		out = append(out, na)
	}
	return out
}

// RawValue assembles the raw integer of an attribute per the definition's
// byte order (default "543210": the six raw bytes, little-endian), the
// number smartctl prints as raw.value.
func RawValue(a RawAttribute, def AttrDef) uint64 {
	order := def.ByteOrder
	if order == "" {
		switch def.Format {
		case FmtRaw64, FmtHex64:
			order = "543210wv"
		case FmtRaw56, FmtHex56, FmtRaw24DivRaw32, FmtMsec24Hour32:
			order = "r543210"
		default:
			order = "543210"
		}
	}
	var v uint64
	for i := 0; i < len(order); i++ {
		var c byte
		switch ch := order[i]; {
		case ch >= '0' && ch <= '5':
			c = a.Raw[ch-'0']
		case ch == 'r':
			c = a.Reserved
		case ch == 'v':
			c = a.Value
		case ch == 'w':
			c = a.Worst
		}
		v = v<<8 | uint64(c)
	}
	return v
}

// FormatRaw renders a raw value the way smartctl prints raw.string for the
// given format. id picks the per-attribute default when f is FmtDefault.
func FormatRaw(raw uint64, f RawFormat, id uint8) string {
	if f == FmtDefault {
		f = defaultFormat(id)
	}
	var r [6]byte
	for i := range r {
		r[i] = byte(raw >> (8 * i))
	}
	w0 := uint64(r[0]) | uint64(r[1])<<8
	w1 := uint64(r[2]) | uint64(r[3])<<8
	w2 := uint64(r[4]) | uint64(r[5])<<8
	u := strconv.FormatUint
	switch f {
	case FmtRaw8:
		return fmt.Sprintf("%d %d %d %d %d %d", r[5], r[4], r[3], r[2], r[1], r[0])
	case FmtRaw16:
		return fmt.Sprintf("%d %d %d", w2, w1, w0)
	case FmtHex48:
		return fmt.Sprintf("0x%012x", raw)
	case FmtHex56:
		return fmt.Sprintf("0x%014x", raw)
	case FmtHex64:
		return fmt.Sprintf("0x%016x", raw)
	case FmtRaw16OptRaw16:
		s := u(w0, 10)
		if w1 != 0 || w2 != 0 {
			s += fmt.Sprintf(" (%d %d)", w2, w1)
		}
		return s
	case FmtRaw16OptAvg16:
		s := u(w0, 10)
		if w1 != 0 {
			s += fmt.Sprintf(" (Average %d)", w1)
		}
		return s
	case FmtRaw24OptRaw8:
		s := u(raw&0xffffff, 10)
		if r[3] != 0 || r[4] != 0 || r[5] != 0 {
			s += fmt.Sprintf(" (%d %d %d)", r[5], r[4], r[3])
		}
		return s
	case FmtRaw24DivRaw24:
		return fmt.Sprintf("%d/%d", raw>>24, raw&0xffffff)
	case FmtRaw24DivRaw32:
		return fmt.Sprintf("%d/%d", raw>>32, raw&0xffffffff)
	case FmtMin2Hour:
		m := w0 + w1<<16
		s := fmt.Sprintf("%dh+%02dm", m/60, m%60)
		if w2 != 0 {
			s += fmt.Sprintf(" (%d)", w2)
		}
		return s
	case FmtSec2Hour:
		return fmt.Sprintf("%dh+%02dm+%02ds", raw/3600, (raw%3600)/60, raw%60)
	case FmtHalfMin2Hour:
		return fmt.Sprintf("%dh+%02dm", raw/120, (raw%120)/2)
	case FmtMsec24Hour32:
		ms := raw >> 32
		sec := ms / 1000
		return fmt.Sprintf("%dh+%02dm+%02d.%03ds", raw&0xffffffff, sec/60, sec%60, ms%1000)
	case FmtTempMinMax:
		return formatTemp(r, w0, w1, w2)
	case FmtTemp10x:
		return fmt.Sprintf("%d.%d", w0/10, w0%10)
	}
	// raw48, raw56, raw64 and anything unknown: the plain integer.
	return u(raw, 10)
}

// tempWordClass classifies a 16-bit word as a plausible temperature:
// 0x11 non-negative byte/word, 0x01 negative byte, 0x10 negative word,
// 0 not a temperature.
func tempWordClass(w uint64) int {
	switch {
	case w <= 0x7f:
		return 0x11
	case w <= 0xff:
		return 0x01
	case w >= 0xff80 && w <= 0xffff:
		return 0x10
	}
	return 0
}

// tempRange accepts a min/max pair around t within -60..120 C.
func tempRange(t int, a, b byte) (lo, hi int, ok bool) {
	t1, t2 := int(int8(a)), int(int8(b))
	if t1 > t2 {
		t1, t2 = t2, t1
	}
	if -60 <= t1 && t1 <= t && t <= t2 && t2 <= 120 && !(t1 == -1 && t2 <= 0) {
		return t1, t2, true
	}
	return 0, 0, false
}

// formatTemp renders a temperature raw value, finding a min/max pair in the
// upper bytes where drives commonly put one (the layouts smartmontools
// documents: 00 00 00 00 xx TT, 00 00 HH LL xx TT, 00 00 00 HH LL TT,
// xx HH xx LL xx TT, CC CC HH LL xx TT with an over-temperature count).
func formatTemp(r [6]byte, w0, w1, w2 uint64) string {
	t := int(int8(r[0]))
	c0 := tempWordClass(w0)
	var lo, hi int
	var ok bool
	form := -1
	switch {
	case w2 == 0:
		switch {
		case w1 == 0 && c0 != 0:
			form = 0
		case c0 != 0:
			if lo, hi, ok = tempRange(t, r[2], r[3]); ok {
				form = 1
				break
			}
			fallthrough
		default:
			if r[3] == 0 {
				if lo, hi, ok = tempRange(t, r[1], r[2]); ok {
					form = 1
				}
			}
		}
	case c0 != 0:
		if c0&tempWordClass(w1)&tempWordClass(w2) != 0 {
			if lo, hi, ok = tempRange(t, r[2], r[4]); ok {
				form = 1
				break
			}
		}
		if w2 < 0x7fff {
			if lo, hi, ok = tempRange(t, r[2], r[3]); ok && hi >= 40 {
				form = 4
			}
		}
	}
	switch form {
	case 0:
		return strconv.Itoa(t)
	case 1:
		return fmt.Sprintf("%d (Min/Max %d/%d)", t, lo, hi)
	case 4:
		return fmt.Sprintf("%d (Min/Max %d/%d #%d)", t, lo, hi, w2)
	}
	return fmt.Sprintf("%d (%d %d %d %d %d)", r[0], r[5], r[4], r[3], r[2], r[1])
}
