package smart

import (
	"context"
	"testing"
	"time"

	"github.com/diskwatch/diskwatch/collectors/model"
	"github.com/diskwatch/diskwatch/collectors/smart/passthrough"
	"github.com/diskwatch/diskwatch/collectors/smart/scsi"
)

// sleepySAS is a SCSI disk that answers INQUIRY and REQUEST SENSE with
// the fixed-format sense data of a power condition (SPC-4 4.5.3: key NO
// SENSE, ASC 5Eh) and fails the test on any command that needs the medium.
type sleepySAS struct {
	t        *testing.T
	key      uint8
	asc      [2]uint8
	medium   int
	commands []byte
}

func (s *sleepySAS) SCSIRead(_ context.Context, step string, cdb []byte, n int, _ time.Duration) ([]byte, error) {
	s.commands = append(s.commands, cdb[0])
	switch cdb[0] {
	case 0x12:
		if cdb[1]&1 != 0 {
			return nil, &passthrough.Error{Device: "sas", Step: step, Err: passthrough.ErrUnsupported}
		}
		b := make([]byte, 96)
		b[2], b[3], b[4] = 6, 2, 91
		copy(b[8:], "HGST    HUH721010AL5200 A21D")
		return b[:min(n, 96)], nil
	case 0x03:
		b := make([]byte, 18)
		b[0], b[2], b[7], b[12], b[13] = 0x70, s.key, 10, s.asc[0], s.asc[1]
		return b, nil
	}
	s.medium++
	return nil, &passthrough.Error{Device: "sas", Step: step, Err: passthrough.ErrUnsupported}
}

// TestSCSIStandbyUnread: a SAS disk in standby (by timer, by command, or
// stopped) is left unread under the default policy — no READ CAPACITY,
// LOG SENSE or READ DEFECT DATA — and read when idle or active.
func TestSCSIStandbyUnread(t *testing.T) {
	for _, c := range []struct {
		name    string
		key     uint8
		asc     [2]uint8
		mode    string
		skipped bool
	}{
		{"standby by timer", scsi.KeyNoSense, [2]uint8{0x5e, 0x02}, "standby", true},
		{"standby by command", scsi.KeyNoSense, [2]uint8{0x5e, 0x04}, "standby", true},
		{"power state change to standby", scsi.KeyNoSense, [2]uint8{0x5e, 0x43}, "standby", true},
		{"stopped, START UNIT required", scsi.KeyNotReady, [2]uint8{0x04, 0x02}, "standby", true},
		{"idle_b by timer", scsi.KeyNoSense, [2]uint8{0x5e, 0x05}, "idle", false},
		{"active", scsi.KeyNoSense, [2]uint8{0, 0}, "active", false},
	} {
		disk := &sleepySAS{t: t, key: c.key, asc: c.asc}
		var d model.Disk
		r := Reader{Standby: Standby{Mode: "standby"}}
		if err := r.ReadSCSI(context.Background(), disk, &d); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if d.PowerMode != c.mode || (d.Skipped != "") != c.skipped || (disk.medium == 0) != c.skipped {
			t.Errorf("%s: power mode %q, skipped %q, %d medium commands (%x)", c.name, d.PowerMode, d.Skipped, disk.medium, disk.commands)
		}
	}
	// -n never reads a disk in standby.
	disk := &sleepySAS{t: t, key: scsi.KeyNoSense, asc: [2]uint8{0x5e, 0x43}}
	var d model.Disk
	if err := (&Reader{Standby: Standby{Mode: "never"}}).ReadSCSI(context.Background(), disk, &d); err != nil || d.Skipped != "" || disk.medium == 0 {
		t.Errorf("never: skipped %q, %d medium commands, %v", d.Skipped, disk.medium, err)
	}
}
