package hwraid

import (
	"bytes"
	"encoding/hex"
	"reflect"
	"strings"
	"testing"

	"github.com/diskwatch/diskwatch/collectors/smart/passthrough"
)

// unhex reads a hex dump written by hand from the megaraid_sas.h layouts
// (spaces and newlines ignored); "..." pads with zeros to n bytes.
func unhex(t *testing.T, s string, n int) []byte {
	t.Helper()
	s = strings.Join(strings.Fields(s), "")
	b, err := hex.DecodeString(strings.TrimSuffix(s, "..."))
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > n {
		t.Fatalf("golden longer (%d) than %d", len(b), n)
	}
	return append(b, make([]byte, n-len(b))...)
}

func golden(t *testing.T, name string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Errorf("%s:\n got %x\nwant %x", name, got, want)
	}
}

func TestIOCNumber(t *testing.T) {
	// _IOWR('M', 1, struct megasas_iocpacket): dir 3, size 404 (0x194).
	if megasasIOCFirmware != 0xC1944D01 || IocPacketSize != 404 {
		t.Fatalf("MEGASAS_IOC_FIRMWARE = %#x, packet %d", megasasIOCFirmware, IocPacketSize)
	}
}

func TestDCMDFrameGolden(t *testing.T) {
	// PD GET LIST reading 8 + 256*24 = 6152 (0x1808) bytes, 10 s.
	//   00 cmd=05 DCMD, 02 cmd_status=ff, 07 sge_count=1
	//   10 flags=0010 (DIR_READ), 12 timeout=000a, 14 data_xfer_len=1808
	//   18 opcode=02010000, 1c mbox (12 zero bytes), 28 sge32 {addr 0, len 1808}
	want := unhex(t, `
		05 00 ff 00 00 00 00 01  00 00 00 00 00 00 00 00
		10 00 0a 00 08 18 00 00  00 00 01 02 00 00 00 00
		00 00 00 00 00 00 00 00  00 00 00 00 08 18 00 00 ...`, 128)
	golden(t, "PD GET LIST frame", DCMDFrame(MRDCMDPDGetList, 6152, 10), want)
}

func TestPthruFrameGolden(t *testing.T) {
	// INQUIRY (36 bytes) to physical disk 1.
	//   00 cmd=04 PD_SCSI_IO, 01 sense_len=20, 02 cmd_status=ff,
	//   04 target_id=01, 06 cdb_len=06, 07 sge_count=01
	//   10 flags=0010, 12 timeout=000a, 14 data_xfer_len=24
	//   18/1c sense address (filled by IocPacket), 20 CDB, 30 sge32 {0, 24}
	f, err := PthruFrame(PDAddr{Target: 1}, passthrough.InquiryCDB(false, 0, 36), 36, 10)
	if err != nil {
		t.Fatal(err)
	}
	want := unhex(t, `
		04 20 ff 00 01 00 06 01  00 00 00 00 00 00 00 00
		10 00 0a 00 24 00 00 00  00 00 00 00 00 00 00 00
		12 00 00 00 24 00 00 00  00 00 00 00 00 00 00 00
		00 00 00 00 24 00 00 00 ...`, 128)
	golden(t, "INQUIRY pthru frame", f, want)

	// SMART READ DATA through SAT: ATA PASS-THROUGH (16), PIO data-in,
	// T_DIR from device, BYT_BLOK, T_LENGTH in the count field;
	// features d0, count 1, LBA mid 4f, LBA high c2, command b0.
	f, err = PthruFrame(PDAddr{Target: 5}, passthrough.SMARTCommand(0xd0, 0, 1).CDB16(), 512, 10)
	if err != nil {
		t.Fatal(err)
	}
	want = unhex(t, `
		04 20 ff 00 05 00 10 01  00 00 00 00 00 00 00 00
		10 00 0a 00 00 02 00 00  00 00 00 00 00 00 00 00
		85 08 0e 00 d0 00 01 00  00 00 4f 00 c2 00 b0 00
		00 00 00 00 00 02 00 00 ...`, 128)
	golden(t, "SMART READ DATA pthru frame", f, want)

	// TEST UNIT READY: no data, no SGE, no direction.
	f, _ = PthruFrame(PDAddr{}, []byte{0, 0, 0, 0, 0, 0}, 0, 10)
	want = unhex(t, `
		04 20 ff 00 00 00 06 00  00 00 00 00 00 00 00 00
		00 00 0a 00 00 00 00 00 ...`, 128)
	golden(t, "TEST UNIT READY pthru frame", f, want)

	for _, bad := range [][]byte{nil, make([]byte, 17)} {
		if _, err := PthruFrame(PDAddr{}, bad, 0, 1); err == nil {
			t.Errorf("CDB of %d bytes accepted", len(bad))
		}
	}
	// QEMU's device id 256 (scsi-id 1, LUN 0): target 01, LUN 00 at 0x04;
	// a LUN goes to 0x05.
	f, _ = PthruFrame(PDAddr{Target: 1, LUN: 2}, []byte{0, 0, 0, 0, 0, 0}, 0, 10)
	if f[offTargetID] != 1 || f[offLUN] != 2 {
		t.Errorf("address bytes %x", f[4:6])
	}
}

func TestPDAddrCandidates(t *testing.T) {
	for _, c := range []struct {
		id   uint16
		want []PDAddr
	}{
		{0, []PDAddr{{0, 0}}},
		{5, []PDAddr{{5, 0}, {0, 5}}},
		{256, []PDAddr{{1, 0}}},
		{0x0302, []PDAddr{{3, 2}}},
	} {
		if got := PDAddrCandidates(c.id); !reflect.DeepEqual(got, c.want) {
			t.Errorf("device id %d: %v, want %v", c.id, got, c.want)
		}
	}
}

func TestIocPacketGolden(t *testing.T) {
	f, _ := PthruFrame(PDAddr{Target: 1}, passthrough.InquiryCDB(false, 0, 36), 36, 10)
	p := IocPacket(6, f, offPthruSGL, 0x1122334455667788, 36, 0x99aabbccddeeff00)
	// host_no 0006, pad, sgl_off 30, sge_count 1, sense_off 18, sense_len 20,
	// the frame with the sense address at 18, then iovec[0] {base, len}.
	want := unhex(t, `
		06 00 00 00 30 00 00 00  01 00 00 00 18 00 00 00  20 00 00 00
		04 20 ff 00 01 00 06 01  00 00 00 00 00 00 00 00
		10 00 0a 00 24 00 00 00  00 ff ee dd cc bb aa 99
		12 00 00 00 24 00 00 00  00 00 00 00 00 00 00 00
		00 00 00 00 24 00 00 00  00 00 00 00 00 00 00 00
		00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00
		00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00
		00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00
		00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00
		88 77 66 55 44 33 22 11  24 00 00 00 00 00 00 00 ...`, IocPacketSize)
	golden(t, "iocpacket", p, want)

	// A DCMD: no sense buffer.
	p = IocPacket(0, DCMDFrame(MRDCMDPDGetList, 6152, 10), offDCMDSGL, 0x1000, 6152, 0)
	if p[4] != 0x28 || p[8] != 1 || p[12] != 0 || p[16] != 0 || !bytes.Equal(p[148:164], unhex(t, "0010000000000000 0818000000000000", 16)) {
		t.Errorf("DCMD packet header %x iovec %x", p[:20], p[148:164])
	}
}

func TestParsePDList(t *testing.T) {
	// Two entries: a disk (device 0, slot 0) and an enclosure (0x0d).
	b := unhex(t, `
		38 00 00 00 02 00 00 00
		00 00 ff ff 00 00 00 01  11 22 33 44 55 66 77 88  00 00 00 00 00 00 00 00
		20 00 20 00 00 ff 0d 00  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00`, 56)
	pds, err := ParsePDList(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(pds) != 2 || pds[0].DeviceID != 0 || pds[0].EnclDeviceID != 0xffff || pds[0].SCSIDevType != 0 ||
		pds[0].SASAddr[0] != 0x8877665544332211 || pds[1].DeviceID != 0x20 || pds[1].SCSIDevType != 0x0d || pds[1].Slot != 0xff {
		t.Errorf("got %+v", pds)
	}
	if _, err := ParsePDList(b[:40]); err == nil {
		t.Error("truncated list accepted")
	}
	if _, err := ParsePDList(nil); err == nil {
		t.Error("empty list accepted")
	}
}

func FuzzParsePDList(f *testing.F) {
	f.Add(unhex(&testing.T{}, "38000000020000000000ffff000000011122334455667788000000000000000020002000 00ff0d00 0000000000000000 0000000000000000", 56))
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		pds, err := ParsePDList(b)
		if err == nil && len(pds)*pdAddressSize+pdListHeaderSize > len(b) {
			t.Fatalf("%d entries from %d bytes", len(pds), len(b))
		}
	})
}
