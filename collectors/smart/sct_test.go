package smart

import (
	"context"
	"encoding/binary"
	"os"
	"testing"
	"time"

	"github.com/diskwatch/diskwatch/collectors/model"
	"github.com/diskwatch/diskwatch/collectors/smart/ata"
	"github.com/diskwatch/diskwatch/collectors/smart/passthrough"
	"github.com/diskwatch/diskwatch/collectors/smart/scsi"
)

// QEMU's AHCI disk (the rig's real IDENTIFY, testdata/rig) has no SCT at
// all (word 206 = 0): the record says ERC is not supported, and no SCT
// command is sent (the replay has none to give).
func TestERCFromRigIdentify(t *testing.T) {
	ex, err := os.ReadFile("testdata/rig/ahci.exchanges.json")
	if err != nil {
		t.Fatal(err)
	}
	rp, err := NewReplay(ex)
	if err != nil {
		t.Fatal(err)
	}
	var d model.Disk
	if err := (&Reader{Standby: Standby{Mode: "standby"}}).ReadATA(context.Background(), rp, &d); err != nil {
		t.Fatal(err)
	}
	if d.ERC == nil || d.ERC.Supported || d.ERC.ReadDeciseconds != nil || len(d.Errors) != 0 {
		t.Fatalf("ERC %+v errors %v", d.ERC, d.Errors)
	}
}

// sctDrive answers SCT commands as ACS-3 8.3 lays them out: the status
// log (E0h read) with format version 3, and the ERC limit of a "return
// current" command in COUNT/LBA(7:0).
type sctDrive struct {
	read, write uint16
	last        []byte // the last command block written
	sent        []passthrough.ATACommand
}

func (s *sctDrive) ATA(_ context.Context, step string, c passthrough.ATACommand, _ time.Duration) ([]byte, *scsi.ATARegisters, error) {
	s.sent = append(s.sent, c)
	switch uint8(c.Features) {
	case passthrough.SMARTReadLog:
		b := make([]byte, 512)
		binary.LittleEndian.PutUint16(b[0:], 3)
		if s.last != nil {
			copy(b[16:20], s.last[0:4]) // action, function of the last command
		}
		return b, nil, nil
	case passthrough.SMARTWriteLog:
		s.last = append([]byte(nil), c.Data...)
		v := s.read
		if binary.LittleEndian.Uint16(c.Data[4:]) == ata.ERCWrite {
			v = s.write
		}
		return nil, &scsi.ATARegisters{Count: v & 0xff, LBALow: uint8(v >> 8), Status: 0x50}, nil
	}
	return nil, nil, &passthrough.Error{Step: step, Err: passthrough.ErrUnsupported}
}

func TestReadERC(t *testing.T) {
	for _, c := range []struct{ read, write uint16 }{{70, 70}, {0, 0}, {300, 120}} {
		dr := &sctDrive{read: c.read, write: c.write}
		var erc model.ERC
		if err := readERC(context.Background(), dr, &erc, time.Second); err != nil {
			t.Fatal(err)
		}
		if erc.ReadDeciseconds == nil || *erc.ReadDeciseconds != int(c.read) || *erc.WriteDeciseconds != int(c.write) {
			t.Errorf("%v: got %+v", c, erc)
		}
		for _, cmd := range dr.sent {
			if uint8(cmd.Features) == passthrough.SMARTWriteLog {
				if a, f := binary.LittleEndian.Uint16(cmd.Data[0:]), binary.LittleEndian.Uint16(cmd.Data[2:]); a != 3 || f != 2 {
					t.Fatalf("sent action %d function %d: only ERC 'return current' (3, 2) may be sent", a, f)
				}
				if cmd.Protocol != passthrough.ATAPIOOut || !cmd.CheckCondition || uint8(cmd.LBA) != ata.LogSCT {
					t.Errorf("write log command %+v", cmd)
				}
			}
		}
	}
	// Registers back as sent (E0h/01h): a pass-through that does not
	// return them; no value is made up.
	if _, ok := ata.ERCLimit(0x01, 0xe0); ok {
		t.Error("unchanged registers accepted")
	}
}
