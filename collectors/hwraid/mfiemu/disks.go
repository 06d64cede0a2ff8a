package mfiemu

import (
	"encoding/binary"
	"sync"
)

// fixedSense is fixed-format sense data (SPC-4 4.5.3) with key and
// ASC/ASCQ.
func fixedSense(key, asc, ascq uint8) []byte {
	b := make([]byte, 18)
	b[0], b[2], b[7], b[12], b[13] = 0x70, key, 10, asc, ascq
	return b
}

// illegalRequest is the sense of an unsupported command or page.
func illegalRequest() []byte { return fixedSense(0x05, 0x24, 0x00) }

// SCSIDisk is a SCSI/SAS disk: INQUIRY, VPD and log pages, READ CAPACITY,
// READ DEFECT DATA and its power condition (REQUEST SENSE). Commands that
// need the medium (everything but INQUIRY and REQUEST SENSE) are counted
// in Medium: a disk in standby must see none.
type SCSIDisk struct {
	Inquiry    []byte
	VPD        map[uint8][]byte
	Logs       map[uint8][]byte
	Capacity16 []byte
	// Defects is the READ DEFECT DATA(10) header; nil: unsupported.
	Defects []byte
	// Power is the REQUEST SENSE answer's ASC/ASCQ (0,0: active; 5Eh/43h
	// standby).
	Power [2]uint8
	// NotReady makes REQUEST SENSE say NOT READY with Power as ASC/ASCQ
	// (04h/02h: stopped).
	NotReady bool

	mu     sync.Mutex
	medium int
}

// Medium is how many commands that need the medium the disk was sent.
func (d *SCSIDisk) Medium() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.medium
}

func alloc(cdb []byte) int {
	switch cdb[0] {
	case 0x12, 0x4d:
		if cdb[0] == 0x4d {
			return int(binary.BigEndian.Uint16(cdb[7:]))
		}
		return int(binary.BigEndian.Uint16(cdb[3:]))
	}
	return 0
}

func trim(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// SCSI implements Disk.
func (d *SCSIDisk) SCSI(cdb []byte, n int) ([]byte, []byte) {
	switch cdb[0] {
	case 0x12: // INQUIRY
		if cdb[1]&1 == 0 {
			return trim(d.Inquiry, min(n, alloc(cdb))), nil
		}
		if cdb[2] == 0x00 {
			l := []byte{0, 0, 0, 0, 0x00}
			for _, p := range []uint8{0x80, 0x83, 0xb1} {
				if d.VPD[p] != nil {
					l = append(l, p)
				}
			}
			l[3] = byte(len(l) - 4)
			return trim(l, min(n, alloc(cdb))), nil
		}
		if v, ok := d.VPD[cdb[2]]; ok {
			return trim(v, min(n, alloc(cdb))), nil
		}
		return nil, illegalRequest()
	case 0x03: // REQUEST SENSE
		key := uint8(0)
		if d.NotReady {
			key = 0x02
		}
		return trim(fixedSense(key, d.Power[0], d.Power[1]), n), nil
	}
	d.mu.Lock()
	d.medium++
	d.mu.Unlock()
	switch cdb[0] {
	case 0x4d: // LOG SENSE
		code := cdb[2] & 0x3f
		if code == 0 {
			l := []byte{0, 0, 0, 0, 0x00}
			for c := uint8(1); c < 0x40; c++ {
				if d.Logs[c] != nil {
					l = append(l, c)
				}
			}
			binary.BigEndian.PutUint16(l[2:], uint16(len(l)-4))
			return trim(l, min(n, alloc(cdb))), nil
		}
		if p, ok := d.Logs[code]; ok {
			return trim(p, min(n, alloc(cdb))), nil
		}
		return nil, illegalRequest()
	case 0x9e: // SERVICE ACTION IN: READ CAPACITY(16)
		if cdb[1]&0x1f == 0x10 && d.Capacity16 != nil {
			return trim(d.Capacity16, n), nil
		}
	case 0x37: // READ DEFECT DATA(10)
		if d.Defects != nil {
			return trim(d.Defects, n), nil
		}
	}
	return nil, illegalRequest()
}

// SATADisk is a SATA disk behind the controller's SAT layer: it answers
// ATA PASS-THROUGH (16) with real ATA pages (IDENTIFY DEVICE, SMART READ
// DATA/THRESHOLDS, SMART READ LOG) and the ATA registers of non-data
// commands in descriptor-format sense (SAT-4 12.2.2.6: RECOVERED ERROR,
// 00h/1Dh ATA PASS-THROUGH INFORMATION AVAILABLE, descriptor 09h).
// PowerCount is CHECK POWER MODE's COUNT (FFh active, 00h standby). Any
// command but CHECK POWER MODE counts in Medium.
type SATADisk struct {
	Inquiry    []byte
	Identify   []byte
	SMARTData  []byte
	Thresholds []byte
	Logs       map[uint8][]byte
	// Failing makes SMART RETURN STATUS answer F4h/2Ch (threshold
	// exceeded).
	Failing    bool
	PowerCount uint8

	mu     sync.Mutex
	medium int
}

// Medium is how many commands other than CHECK POWER MODE the disk got.
func (d *SATADisk) Medium() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.medium
}

// ataSense returns descriptor sense carrying the output registers.
func ataSense(status, count, lbaLow, lbaMid, lbaHigh uint8) []byte {
	b := make([]byte, 8+14)
	b[0], b[1], b[2], b[3], b[7] = 0x72, 0x01, 0x00, 0x1d, 14
	dsc := b[8:]
	dsc[0], dsc[1] = 0x09, 12
	dsc[5], dsc[7], dsc[9], dsc[11], dsc[13] = count, lbaLow, lbaMid, lbaHigh, status
	return b
}

// SCSI implements Disk.
func (d *SATADisk) SCSI(cdb []byte, n int) ([]byte, []byte) {
	switch cdb[0] {
	case 0x12:
		if cdb[1]&1 == 0 && d.Inquiry != nil {
			return trim(d.Inquiry, n), nil
		}
		return nil, illegalRequest()
	case 0x85:
	default:
		return nil, illegalRequest()
	}
	feature, count, lbaLow, cmd := cdb[4], cdb[6], cdb[8], cdb[14]
	if cmd == 0xe5 { // CHECK POWER MODE
		return nil, ataSense(0x50, d.PowerCount, 0, 0, 0)
	}
	d.mu.Lock()
	d.medium++
	d.mu.Unlock()
	aborted := ataSense(0x51, 0, 0, 0, 0)
	aborted[1] = 0x0b // ABORTED COMMAND
	page := func(b []byte) ([]byte, []byte) {
		if b == nil {
			return nil, aborted
		}
		return trim(b, n), nil
	}
	switch cmd {
	case 0xec:
		return page(d.Identify)
	case 0xb0: // SMART
		switch feature {
		case 0xd0:
			return page(d.SMARTData)
		case 0xd1:
			return page(d.Thresholds)
		case 0xd5:
			if count == 0 {
				return nil, aborted
			}
			return page(d.Logs[lbaLow])
		case 0xda:
			if d.Failing {
				return nil, ataSense(0x50, 0, 0, 0xf4, 0x2c)
			}
			return nil, ataSense(0x50, 0, 0, 0x4f, 0xc2)
		}
	}
	return nil, aborted
}
