package hwraid

import (
	"testing"
)

// The SMART READ DATA command (B0h/D0h, LBA mid/high 4Fh/C2h).
var smartReadData = TwATA{Command: 0xb0, Features: 0xd0, Count: 1, LBAMid: 0x4f, LBAHigh: 0xc2, DataIn: true}

func TestTwaIoctlBufGolden(t *testing.T) {
	// TW_Ioctl_Buf_Apache: control_code 0x108, buffer_length 512 at 20,
	// padding to 512, the 128-byte header, then TW_Passthru at 640:
	//   b1 = opcode 11h | sgloffset 5<<5, size 7, request_id ff, unit=port 1,
	//   status 0, flags 1, param 000d; features, sector_count, sector_num,
	//   cylinder_lo, cylinder_hi as 16-bit fields; drive_head, command b0;
	//   sg_list[0] at 20: 8-byte address (driver's), length 512.
	want := unhex(t, "08 01 00 00 00000000 00000000 00000000 00000000 00 02 00 00", 640)
	want = append(want, unhex(t, `
		b1 07 ff 01 00 01 0d 00  d0 00 01 00 00 00 4f 00
		c2 00 00 b0 00 00 00 00  00 00 00 00 00 02 00 00`, 1024+512+512-640)...)
	golden(t, "twa SMART READ DATA", TwaIoctlBuf(1, smartReadData), want)

	// SMART RETURN STATUS: non-data, no SGL (sgloffset 0, size 5, param 8),
	// no data length.
	rs := TwATA{Command: 0xb0, Features: 0xda, LBAMid: 0x4f, LBAHigh: 0xc2}
	want = unhex(t, "08 01 00 00", 640)
	want = append(want, unhex(t, `
		11 05 ff 03 00 01 08 00  da 00 00 00 00 00 4f 00
		c2 00 00 b0`, 2048-640)...)
	golden(t, "twa SMART RETURN STATUS", TwaIoctlBuf(3, rs), want)
}

func TestTwaGetParamGolden(t *testing.T) {
	// GET PARAM (12h) with its SGL at dword 2 (52h), size 5 (64-bit
	// TW_COMMAND_SIZE), parameter_count 1, SGL length 512 at 16; data:
	// TW_Param_Apache {table 0403h|8000h, parameter 3, size 1}.
	want := unhex(t, "08 01 00 00 00000000 00000000 00000000 00000000 00 02 00 00", 640)
	want = append(want, unhex(t, `52 05 ff 00 00 00 01 00  00 00 00 00 00 00 00 00  00 02 00 00`, 1536-640)...)
	want = append(want, unhex(t, "03 84 03 00 01 00", 512)...)
	golden(t, "twa GET PARAM port count", TwaGetParamBuf(twInformationTable, twParamPortCount, 1), want)
}

func TestTweIoctlBufGolden(t *testing.T) {
	// TW_New_Ioctl: data_buffer_length 512, padding to 512, TW_Command at
	// 512 with 3w-xxxx's 4-byte SGL address: length at 20+4.
	want := unhex(t, "00 02 00 00", 512)
	want = append(want, unhex(t, `
		b1 07 ff 02 00 01 0d 00  00 00 01 00 00 00 00 00
		00 00 00 ec 00 00 00 00  00 02 00 00`, 1024)...)
	golden(t, "twe IDENTIFY", TweIoctlBuf(2, TwATA{Command: 0xec, Count: 1, DataIn: true}), want)
}

func TestParseTw(t *testing.T) {
	// A returned packet: status 0, ATA status 50h in command, error 0,
	// cylinder lo/hi F4h/2Ch (SMART RETURN STATUS: threshold exceeded).
	p := unhex(t, "11 05 ff 01 00 01 08 00  00 00 00 00 00 00 f4 00 2c 00 00 50", 20)
	r, err := ParseTwPacket(p)
	if err != nil || r.Failed() || r.ATAStatus != 0x50 || r.LBAMid != 0xf4 || r.LBAHigh != 0x2c {
		t.Errorf("got %+v %v", r, err)
	}
	p[19] = 0x51 // ERR
	if r, _ := ParseTwPacket(p); !r.Failed() {
		t.Error("ATA ERR not a failure")
	}
	p[19], p[4] = 0x50, 0xc7 // controller status
	if r, _ := ParseTwPacket(p); !r.Failed() {
		t.Error("controller status not a failure")
	}
	if _, err := ParseTwPacket(p[:19]); err == nil {
		t.Error("short packet accepted")
	}
	if n, err := ParseTwPortCount(unhex(t, "03 84 03 00 01 00 01 00 04", 9)); err != nil || n != 4 {
		t.Errorf("port count %d %v", n, err)
	}
	for _, bad := range [][]byte{nil, unhex(t, "03 84 03 00 01 00 01 00 00", 9), unhex(t, "03 84 03 00 01 00 01 00 ff", 9)} {
		if _, err := ParseTwPortCount(bad); err == nil {
			t.Errorf("%x accepted", bad)
		}
	}
}

func FuzzParseTw(f *testing.F) {
	f.Add(unhex(&testing.T{}, "11 05 ff 01 00 01 08 00  00 00 00 00 00 00 f4 00 2c 00 00 50", 20))
	f.Add(unhex(&testing.T{}, "03 84 03 00 01 00 01 00 04", 9))
	f.Fuzz(func(t *testing.T, b []byte) {
		if r, err := ParseTwPacket(b); err == nil && len(b) < 20 {
			t.Fatalf("%+v from %d bytes", r, len(b))
		}
		if n, err := ParseTwPortCount(b); err == nil && (n < 1 || n > 32) {
			t.Fatalf("port count %d", n)
		}
	})
}
