package smart

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/diskwatch/diskwatch/collectors/model"
	"github.com/diskwatch/diskwatch/collectors/smart/ata"
	"github.com/diskwatch/diskwatch/collectors/smart/passthrough"
	"github.com/diskwatch/diskwatch/collectors/smart/scsi"
	"github.com/diskwatch/diskwatch/collectors/smartctl"
)

// TestReplayRigCaptures replays the commands recorded on real (QEMU)
// devices through the readers and compares the record with the same
// device's `smartctl -j -a`, normalized: the decoders must reach
// smartctl's answer from the raw pages alone. See testdata/rig/SOURCES.md.
func TestReplayRigCaptures(t *testing.T) {
	files, _ := filepath.Glob("testdata/rig/*.exchanges.json")
	if len(files) < 4 {
		t.Fatalf("%d rig captures", len(files))
	}
	for _, f := range files {
		bus := strings.TrimSuffix(filepath.Base(f), ".exchanges.json")
		t.Run(bus, func(t *testing.T) {
			ex, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			sc, err := os.ReadFile(filepath.Join("testdata/rig", bus+".smartctl.json"))
			if err != nil {
				t.Fatal(err)
			}
			want, err := smartctl.Normalize(sc)
			if err != nil {
				t.Fatal(err)
			}
			rp, err := NewReplay(ex)
			if err != nil {
				t.Fatal(err)
			}
			got := model.Disk{Device: model.DeviceInfo{Path: want.Device.Path}}
			r := &Reader{Standby: Standby{Mode: "standby"}}
			switch want.Device.Protocol {
			case "ata":
				err = r.ReadATA(context.Background(), rp, &got)
			case "nvme":
				err = r.ReadNVMe(context.Background(), rp, &got)
			default:
				err = r.ReadSCSI(context.Background(), rp, &got)
			}
			if err != nil {
				t.Fatal(err)
			}
			want.Smartctl, want.Errors, got.Errors = nil, nil, nil
			if want.ERC == nil {
				want.ERC = got.ERC // smartctl -a does not read SCT ERC (-l scterc does)
			}
			if want.PowerMode == "" {
				got.PowerMode = ""
			}
			if got.Device.Protocol == "nvme" && want.WarnTemperatureC == nil {
				got.WarnTemperatureC, got.CritTemperatureC = nil, nil
			}
			if got.Device.Protocol == "scsi" && !got.SMARTAvailable && got.TemperatureC == nil && want.TemperatureC != nil && *want.TemperatureC == 0 {
				want.TemperatureC = nil // smartctl -a prints 0 for "no temperature page"
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("replayed native read differs from smartctl -a -j (-smartctl +native):\n%s", diff)
			}
		})
	}
}

// TestStandbyNotRead: a disk whose CHECK POWER MODE answer is standby
// (COUNT 00h, ACS-3 table "CHECK POWER MODE normal output") gets no
// further command under -n standby, and is read under -n never. QEMU's
// emulated disks always answer FFh (active), so this path is checked with
// the answer laid out from the spec; the rest of the exchange is the real
// AHCI capture.
func TestStandbyNotRead(t *testing.T) {
	ex, err := os.ReadFile("testdata/rig/ahci.exchanges.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		policy    string
		count     uint16
		skipped   string
		wantAttrs bool
	}{{"standby", 0x00, "standby", false}, {"standby", 0x80, "", true}, {"never", 0x00, "", true}, {"idle", 0x80, "idle", false}} {
		rp, _ := NewReplay(ex)
		rp.left[0].Regs = &scsi.ATARegisters{Count: c.count, CountLow: uint8(c.count), Status: 0x50}
		p, _ := ParseStandby(c.policy)
		var d model.Disk
		if err := (&Reader{Standby: p}).ReadATA(context.Background(), rp, &d); err != nil {
			t.Fatal(err)
		}
		mode, _ := ata.PowerMode(uint8(c.count))
		if d.Skipped != c.skipped || d.PowerMode != mode || (len(d.ATAAttributes) > 0) != c.wantAttrs {
			t.Errorf("-n %s, count %#x: skipped %q mode %q, %d attributes", c.policy, c.count, d.Skipped, d.PowerMode, len(d.ATAAttributes))
		}
		if c.skipped != "" && len(rp.left) != len(mustReplay(t, ex).left)-1 {
			t.Errorf("-n %s: %d commands sent after CHECK POWER MODE on a sleeping disk", c.policy, len(mustReplay(t, ex).left)-1-len(rp.left))
		}
	}
	// A drive that aborts CHECK POWER MODE is asleep (smartd's reading).
	rp := mustReplay(t, ex)
	rp.left[0].Err, rp.left[0].Kind, rp.left[0].Regs = "aborted", "aborted", nil
	var d model.Disk
	(&Reader{Standby: Standby{Mode: "standby"}}).ReadATA(context.Background(), rp, &d)
	if d.PowerMode != "sleep" || d.Skipped != "sleep" {
		t.Errorf("aborted CHECK POWER MODE: %q %q", d.PowerMode, d.Skipped)
	}
}

func mustReplay(t *testing.T, b []byte) *Replay {
	rp, err := NewReplay(b)
	if err != nil {
		t.Fatal(err)
	}
	return rp
}

// TestATAErrorsKeepGoing: a step that fails is reported with its name and
// the rest of the record is still read.
func TestATAErrorsKeepGoing(t *testing.T) {
	ex, _ := os.ReadFile("testdata/rig/ahci.exchanges.json")
	rp := mustReplay(t, ex)
	for i := range rp.left {
		if rp.left[i].Step == "SMART READ THRESHOLDS" {
			rp.left[i].Err, rp.left[i].Kind, rp.left[i].Data = "EIO", "", nil
		}
	}
	var d model.Disk
	if err := (&Reader{}).ReadATA(context.Background(), rp, &d); err != nil {
		t.Fatal(err)
	}
	if len(d.ATAAttributes) == 0 || d.SMARTPassed == nil || len(d.Errors) != 1 || !strings.Contains(d.Errors[0], "SMART READ THRESHOLDS") {
		t.Errorf("attrs %d passed %v errors %q", len(d.ATAAttributes), d.SMARTPassed, d.Errors)
	}
	// A device that refuses ATA pass-through is not ATA.
	rp = mustReplay(t, []byte(`[{"step":"CHECK POWER MODE","error":"x","kind":"unsupported"}]`))
	if err := (&Reader{}).ReadATA(context.Background(), rp, &model.Disk{}); err == nil || !strings.Contains(err.Error(), ErrNotATA.Error()) {
		t.Errorf("got %v", err)
	}
	_ = passthrough.ErrUnsupported
}

// BenchmarkReplayATA is the decode side of one full ATA read (the real
// AHCI capture, no ioctls).
func BenchmarkReplayATA(b *testing.B) {
	ex, _ := os.ReadFile("testdata/rig/ahci.exchanges.json")
	for i := 0; i < b.N; i++ {
		rp, _ := NewReplay(ex)
		var d model.Disk
		(&Reader{}).ReadATA(context.Background(), rp, &d)
	}
}
