package mfiemu

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// SATAFromExchanges builds a SATA disk from a capture of the native
// reader's commands on a real device (collectors/smart's Exchange list:
// step, data as base64, ATA registers): its IDENTIFY, SMART data,
// thresholds and logs, byte for byte.
func SATAFromExchanges(b []byte) (*SATADisk, error) {
	var ex []struct {
		Step string `json:"step"`
		Data string `json:"data"`
	}
	if err := json.Unmarshal(b, &ex); err != nil {
		return nil, err
	}
	d := &SATADisk{Logs: map[uint8][]byte{}, PowerCount: 0xff}
	for _, e := range ex {
		if e.Data == "" {
			continue
		}
		data, err := base64.StdEncoding.DecodeString(e.Data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.Step, err)
		}
		switch {
		case e.Step == "IDENTIFY DEVICE":
			d.Identify = data
		case e.Step == "SMART READ DATA":
			d.SMARTData = data
		case e.Step == "SMART READ THRESHOLDS":
			d.Thresholds = data
		case strings.HasPrefix(e.Step, "SMART READ LOG 0x"):
			n, err := strconv.ParseUint(strings.TrimPrefix(e.Step, "SMART READ LOG 0x"), 16, 8)
			if err == nil {
				d.Logs[uint8(n)] = data
			}
		}
	}
	if d.Identify == nil || d.SMARTData == nil {
		return nil, fmt.Errorf("capture has no IDENTIFY DEVICE or SMART READ DATA")
	}
	d.Inquiry = satInquiry(d.Identify)
	return d, nil
}

// satInquiry is the standard INQUIRY a SAT layer returns for an ATA disk:
// vendor "ATA", product the first 16 characters of the model (ACS words
// 27-46, byte-swapped), revision the last 4 of the firmware (words 23-26).
func satInquiry(id []byte) []byte {
	b := make([]byte, 96)
	b[2], b[3], b[4] = 6, 2, 91
	copy(b[8:16], "ATA     ")
	model := ataString(id, 27, 20)
	copy(b[16:32], fmt.Sprintf("%-16.16s", model))
	fw := ataString(id, 23, 4)
	if len(fw) > 4 {
		fw = fw[len(fw)-4:]
	}
	copy(b[32:36], fmt.Sprintf("%-4.4s", fw))
	return b
}

func ataString(id []byte, word, words int) string {
	var s []byte
	for i := word; i < word+words; i++ {
		s = append(s, id[2*i+1], id[2*i])
	}
	return strings.TrimSpace(string(s))
}

func putATAString(id []byte, word, words int, s string) {
	s = fmt.Sprintf("%-*.*s", 2*words, 2*words, s)
	for i := 0; i < words; i++ {
		id[2*(word+i)], id[2*(word+i)+1] = s[2*i+1], s[2*i]
	}
}

// smartctlJSON is the part of `smartctl -j` output the converters use.
type smartctlJSON struct {
	ModelName       string `json:"model_name"`
	SerialNumber    string `json:"serial_number"`
	FirmwareVersion string `json:"firmware_version"`
	WWN             *struct {
		NAA int    `json:"naa"`
		OUI uint64 `json:"oui"`
		ID  uint64 `json:"id"`
	} `json:"wwn"`
	UserCapacity struct {
		Blocks uint64 `json:"blocks"`
	} `json:"user_capacity"`
	LogicalBlockSize int `json:"logical_block_size"`
	RotationRate     *int
	SmartStatus      struct {
		Passed bool `json:"passed"`
	} `json:"smart_status"`
	ATASmartAttributes struct {
		Revision int `json:"revision"`
		Table    []struct {
			ID     int `json:"id"`
			Value  int `json:"value"`
			Worst  int `json:"worst"`
			Thresh int `json:"thresh"`
			Flags  struct {
				Value int `json:"value"`
			} `json:"flags"`
			Raw struct {
				Value uint64 `json:"value"`
			} `json:"raw"`
		} `json:"table"`
	} `json:"ata_smart_attributes"`
	// SCSI.
	SCSIVendor    string `json:"scsi_vendor"`
	SCSIProduct   string `json:"scsi_product"`
	SCSIRevision  string `json:"scsi_revision"`
	LogicalUnitID string `json:"logical_unit_id"`
	Temperature   struct {
		Current   *int `json:"current"`
		DriveTrip *int `json:"drive_trip"`
	} `json:"temperature"`
	PowerOnTime struct {
		Hours   int64 `json:"hours"`
		Minutes int64 `json:"minutes"`
	} `json:"power_on_time"`
	SCSIGrownDefectList *int64 `json:"scsi_grown_defect_list"`
	SCSIErrorCounterLog map[string]struct {
		TotalUncorrected *uint64 `json:"total_uncorrected_errors"`
		TotalCorrected   uint64  `json:"total_errors_corrected"`
	} `json:"scsi_error_counter_log"`
	SCSIStartStop *struct {
		StartStop  *uint32 `json:"accumulated_start_stop_cycles"`
		LoadUnload *uint32 `json:"accumulated_load_unload_cycles"`
	} `json:"scsi_start_stop_cycle_counter"`
}

// SATAFromSmartctl lays a smartctl -j capture of an ATA disk back out as
// the pages the disk sent: IDENTIFY DEVICE (ACS-3 words 10-19 serial,
// 23-26 firmware, 27-46 model, 82-87 SMART feature bits, 100-103
// capacity, 108-111 WWN, 217 rotation rate), SMART READ DATA (revision, 30
// 12-byte attribute entries: id, flags, value, worst, 6-byte raw;
// checksum) and SMART READ THRESHOLDS (revision, 30 entries: id,
// threshold; checksum).
func SATAFromSmartctl(b []byte) (*SATADisk, error) {
	var j smartctlJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, err
	}
	var raw map[string]json.RawMessage
	json.Unmarshal(b, &raw)
	if rr, ok := raw["rotation_rate"]; ok {
		var v int
		if json.Unmarshal(rr, &v) == nil {
			j.RotationRate = &v
		}
	}
	if j.ModelName == "" || len(j.ATASmartAttributes.Table) == 0 {
		return nil, fmt.Errorf("not an ATA capture with SMART attributes")
	}
	id := make([]byte, 512)
	le := binary.LittleEndian
	le.PutUint16(id[0:], 0x0040) // fixed device
	putATAString(id, 10, 10, j.SerialNumber)
	putATAString(id, 23, 4, j.FirmwareVersion)
	putATAString(id, 27, 20, j.ModelName)
	le.PutUint16(id[49*2:], 0x0300)        // LBA, DMA
	le.PutUint16(id[80*2:], 0x01f0)        // ATA8-ACS..ACS-4
	le.PutUint16(id[82*2:], 0x0001)        // SMART supported
	le.PutUint16(id[83*2:], 0x4000|0x0400) // valid, 48-bit
	le.PutUint16(id[84*2:], 0x4000|0x0003) // valid, SMART error log, self-test
	le.PutUint16(id[85*2:], 0x0001)        // SMART enabled
	le.PutUint16(id[86*2:], 0x0400)        // 48-bit enabled
	le.PutUint16(id[87*2:], 0x4000|0x0003) // valid, logging
	le.PutUint64(id[100*2:], j.UserCapacity.Blocks)
	blocks := j.UserCapacity.Blocks
	if blocks > 0x0fffffff {
		blocks = 0x0fffffff
	}
	le.PutUint32(id[60*2:], uint32(blocks))
	if j.WWN != nil {
		le.PutUint16(id[84*2:], le.Uint16(id[84*2:])|0x0100)
		le.PutUint16(id[87*2:], le.Uint16(id[87*2:])|0x0100)
		w := uint64(j.WWN.NAA)<<60 | j.WWN.OUI<<36 | j.WWN.ID
		for i := 0; i < 4; i++ {
			le.PutUint16(id[(108+i)*2:], uint16(w>>(48-16*i)))
		}
	}
	if j.RotationRate != nil {
		r := *j.RotationRate
		if r == 0 {
			r = 1 // non-rotating
		}
		le.PutUint16(id[217*2:], uint16(r))
	}
	id[510] = 0xa5
	id[511] = checksum(id[:511])
	data, thr := make([]byte, 512), make([]byte, 512)
	rev := j.ATASmartAttributes.Revision
	if rev == 0 {
		rev = 16
	}
	le.PutUint16(data[0:], uint16(rev))
	le.PutUint16(thr[0:], uint16(rev))
	for i, a := range j.ATASmartAttributes.Table {
		if i == 30 {
			break
		}
		e := data[2+12*i:]
		e[0] = byte(a.ID)
		le.PutUint16(e[1:], uint16(a.Flags.Value))
		e[3], e[4] = byte(a.Value), byte(a.Worst)
		// Six raw bytes, and the reserved byte after them: smartctl's
		// raw.value includes it for the drivedb formats that read seven
		// bytes (r543210, e.g. msec24hour32).
		for k := 0; k < 7; k++ {
			e[5+k] = byte(a.Raw.Value >> (8 * k))
		}
		t := thr[2+12*i:]
		t[0], t[1] = byte(a.ID), byte(a.Thresh)
	}
	data[362] = 0x82                 // offline data collection: completed
	le.PutUint16(data[368:], 0x005b) // offline capabilities
	le.PutUint16(data[370:], 0x0003) // SMART capabilities
	data[372] = 0x01                 // error logging supported
	data[511] = checksum(data[:511])
	thr[511] = checksum(thr[:511])
	d := &SATADisk{Identify: id, SMARTData: data, Thresholds: thr, Failing: !j.SmartStatus.Passed, PowerCount: 0xff, Logs: map[uint8][]byte{}}
	d.Inquiry = satInquiry(id)
	return d, nil
}

func checksum(b []byte) byte {
	var s byte
	for _, c := range b {
		s += c
	}
	return -s
}

// logPage lays out a log page: code, then parameters (code, control 03h:
// binary, length, value).
func logPage(code uint8, params ...[]byte) []byte {
	b := []byte{code, 0, 0, 0}
	for _, p := range params {
		b = append(b, p...)
	}
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)-4))
	return b
}

func param(code uint16, v []byte) []byte {
	return append([]byte{byte(code >> 8), byte(code), 0x03, byte(len(v))}, v...)
}

func be(n int, v uint64) []byte {
	b := make([]byte, n)
	for i := 0; i < n; i++ {
		b[n-1-i] = byte(v >> (8 * i))
	}
	return b
}

// SCSIFromSmartctl lays a smartctl -j capture of a SCSI/SAS disk back out
// as the pages the disk sent: standard INQUIRY (vendor, product,
// revision), VPD 80h (serial) and 83h (the logical unit's NAA designator),
// READ CAPACITY(16), and the log pages smartctl read its numbers from
// (SPC-4/SBC-3 layouts): 0Dh temperature (param 0 current, 1 reference),
// 2Fh informational exceptions (ASC/ASCQ 0 when passed, 5Dh/00h when not),
// 03h/02h/05h error counters (param 3 total corrected, 6 total
// uncorrected), 0Eh start-stop cycles (param 4 start-stop, 6
// load-unload), 15h background scan (param 0: accumulated power-on
// minutes), and READ DEFECT DATA's grown list length.
func SCSIFromSmartctl(b []byte) (*SCSIDisk, error) {
	var j smartctlJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, err
	}
	if j.SCSIVendor == "" {
		return nil, fmt.Errorf("not a SCSI capture")
	}
	inq := make([]byte, 96)
	inq[2], inq[3], inq[4] = 6, 2, 91
	copy(inq[8:], fmt.Sprintf("%-8.8s%-16.16s%-4.4s", j.SCSIVendor, j.SCSIProduct, j.SCSIRevision))
	d := &SCSIDisk{Inquiry: inq, VPD: map[uint8][]byte{}, Logs: map[uint8][]byte{}}
	d.VPD[0x80] = append([]byte{0, 0x80, 0, byte(len(j.SerialNumber))}, j.SerialNumber...)
	if w, err := strconv.ParseUint(strings.TrimPrefix(j.LogicalUnitID, "0x"), 16, 64); err == nil && j.LogicalUnitID != "" {
		d.VPD[0x83] = append([]byte{0, 0x83, 0, 12, 0x01, 0x03, 0x00, 0x08}, be(8, w)...)
	}
	bs := j.LogicalBlockSize
	if bs == 0 {
		bs = 512
	}
	cap16 := make([]byte, 32)
	binary.BigEndian.PutUint64(cap16[0:], j.UserCapacity.Blocks-1)
	binary.BigEndian.PutUint32(cap16[8:], uint32(bs))
	d.Capacity16 = cap16
	if t := j.Temperature.Current; t != nil {
		ps := [][]byte{param(0, []byte{0, byte(*t)})}
		if r := j.Temperature.DriveTrip; r != nil {
			ps = append(ps, param(1, []byte{0, byte(*r)}))
		}
		d.Logs[0x0d] = logPage(0x0d, ps...)
	}
	ie := []byte{0, 0, 0xff}
	if !j.SmartStatus.Passed {
		ie[0] = 0x5d
	}
	if t := j.Temperature.Current; t != nil {
		ie[2] = byte(*t)
	}
	d.Logs[0x2f] = logPage(0x2f, param(0, ie))
	for name, code := range map[string]uint8{"read": 0x03, "write": 0x02, "verify": 0x05} {
		c, ok := j.SCSIErrorCounterLog[name]
		if !ok || c.TotalUncorrected == nil {
			continue
		}
		d.Logs[code] = logPage(code, param(3, be(8, c.TotalCorrected)), param(6, be(8, *c.TotalUncorrected)))
	}
	if s := j.SCSIStartStop; s != nil {
		var ps [][]byte
		if s.StartStop != nil {
			ps = append(ps, param(4, be(4, uint64(*s.StartStop))))
		}
		if s.LoadUnload != nil {
			ps = append(ps, param(6, be(4, uint64(*s.LoadUnload))))
		}
		d.Logs[0x0e] = logPage(0x0e, ps...)
	}
	if j.PowerOnTime.Hours > 0 {
		min := uint64(j.PowerOnTime.Hours*60 + j.PowerOnTime.Minutes)
		v := append(be(4, min), 0, 0, 0, 0, 0, 0, 0, 0)
		d.Logs[0x15] = logPage(0x15, param(0, v))
	}
	if g := j.SCSIGrownDefectList; g != nil {
		d.Defects = []byte{0, 0x08 | 0x03, 0, 0}
		binary.BigEndian.PutUint16(d.Defects[2:], uint16(*g*8))
	}
	return d, nil
}
