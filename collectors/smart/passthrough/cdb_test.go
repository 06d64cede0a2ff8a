package passthrough

import (
	"bytes"
	"testing"
)

// Expected CDBs are written out byte by byte from SAT-4 (ATA
// PASS-THROUGH), SPC-5 (INQUIRY, LOG SENSE, SEND DIAGNOSTIC) and SBC-4.

func TestATACDBs(t *testing.T) {
	for _, c := range []struct {
		name   string
		cmd    ATACommand
		cdb16  []byte
		cdb12  []byte
		blocks int
	}{
		{"IDENTIFY DEVICE", ATACommand{Command: ATAIdentify, Count: 1, Protocol: ATAPIOIn, Blocks: 1},
			[]byte{0x85, 0x08, 0x0e, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0xec, 0},
			[]byte{0xa1, 0x08, 0x0e, 0, 1, 0, 0, 0, 0, 0xec, 0, 0}, 1},
		{"SMART READ DATA", SMARTCommand(SMARTReadData, 0, 1),
			[]byte{0x85, 0x08, 0x0e, 0, 0xd0, 0, 1, 0, 0, 0, 0x4f, 0, 0xc2, 0, 0xb0, 0},
			[]byte{0xa1, 0x08, 0x0e, 0xd0, 1, 0, 0x4f, 0xc2, 0, 0xb0, 0, 0}, 1},
		{"SMART RETURN STATUS", func() ATACommand { c := SMARTCommand(SMARTReturnStatus, 0, 0); c.CheckCondition = true; return c }(),
			[]byte{0x85, 0x06, 0x20, 0, 0xda, 0, 0, 0, 0, 0, 0x4f, 0, 0xc2, 0, 0xb0, 0},
			[]byte{0xa1, 0x06, 0x20, 0xda, 0, 0, 0x4f, 0xc2, 0, 0xb0, 0, 0}, 0},
		{"SMART READ LOG self-test", SMARTCommand(SMARTReadLog, 0x06, 1),
			[]byte{0x85, 0x08, 0x0e, 0, 0xd5, 0, 1, 0, 0x06, 0, 0x4f, 0, 0xc2, 0, 0xb0, 0},
			[]byte{0xa1, 0x08, 0x0e, 0xd5, 1, 0x06, 0x4f, 0xc2, 0, 0xb0, 0, 0}, 1},
		{"CHECK POWER MODE", ATACommand{Command: ATACheckPowerMode, Protocol: ATANonData, CheckCondition: true},
			[]byte{0x85, 0x06, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xe5, 0},
			[]byte{0xa1, 0x06, 0x20, 0, 0, 0, 0, 0, 0, 0xe5, 0, 0}, 0},
		{"READ LOG EXT devstat page 5", ReadLogExtCommand(0x04, 0x0105, 1),
			[]byte{0x85, 0x09, 0x0e, 0, 0, 0, 1, 0, 0x04, 0, 0x05, 0x01, 0, 0, 0x2f, 0},
			nil, 1},
	} {
		if g := c.cmd.CDB16(); !bytes.Equal(g, c.cdb16) {
			t.Errorf("%s (16):\n got % x\nwant % x", c.name, g, c.cdb16)
		}
		if c.cdb12 != nil {
			if g := c.cmd.CDB12(); !bytes.Equal(g, c.cdb12) {
				t.Errorf("%s (12):\n got % x\nwant % x", c.name, g, c.cdb12)
			}
		}
		if c.cmd.Blocks != c.blocks {
			t.Errorf("%s: %d blocks", c.name, c.cmd.Blocks)
		}
	}
}

func TestSCSICDBs(t *testing.T) {
	for _, c := range []struct {
		name      string
		got, want []byte
	}{
		{"INQUIRY", InquiryCDB(false, 0, 96), []byte{0x12, 0, 0, 0, 96, 0}},
		{"INQUIRY VPD 83", InquiryCDB(true, 0x83, 252), []byte{0x12, 1, 0x83, 0, 252, 0}},
		{"LOG SENSE 2F", LogSenseCDB(0x2f, 0, 0x1000), []byte{0x4d, 0, 0x6f, 0, 0, 0, 0, 0x10, 0, 0}},
		{"READ CAPACITY 16", ReadCapacity16CDB(32), []byte{0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0}},
		{"READ DEFECT DATA 10", ReadDefect10CDB(4), []byte{0x37, 0, 0x0b, 0, 0, 0, 0, 0, 4, 0}},
		{"SEND DIAGNOSTIC short", SendDiagnosticCDB(SCSITestShortBG), []byte{0x1d, 0x20, 0, 0, 0, 0}},
		{"SEND DIAGNOSTIC long", SendDiagnosticCDB(SCSITestExtendedBG), []byte{0x1d, 0x40, 0, 0, 0, 0}},
	} {
		if !bytes.Equal(c.got, c.want) {
			t.Errorf("%s:\n got % x\nwant % x", c.name, c.got, c.want)
		}
	}
}

func TestNVMeCommands(t *testing.T) {
	c := NVMeGetLog(NVMeLogSMART, NVMeAllNS, 512)
	if c.Opcode != 0x02 || c.CDW10 != 0x007f0002 || c.CDW11 != 0 || c.DataLen != 512 || c.NSID != 0xffffffff {
		t.Errorf("get log %+v", c)
	}
	c = NVMeGetLog(NVMeLogError, NVMeAllNS, 64*4096)
	if c.CDW10>>16 != 0xffff || c.CDW11 != 0 {
		t.Errorf("numd split %+v", c)
	}
	c = NVMeGetLog(NVMeLogError, NVMeAllNS, 4*0x10000+4)
	if c.CDW10>>16 != 0 || c.CDW11 != 1 {
		t.Errorf("numdu %+v", c)
	}
	if c := NVMeIdentifyCmd(1, 0); c.Opcode != 6 || c.CDW10 != 1 || c.DataLen != 4096 {
		t.Errorf("identify %+v", c)
	}
	if c := NVMeSelfTestCmd(NVMeTestExtended); c.Opcode != 0x14 || c.CDW10 != 2 || c.NSID != NVMeAllNS {
		t.Errorf("self-test %+v", c)
	}
}
