package mfiemu

import (
	"fmt"
	"os"
	"path/filepath"
)

// Scenario files, in collectors/hwraid/testdata/emu (SOURCES.md there
// says where each comes from).
const (
	RigAHCI   = "ahci.exchanges.json"
	SATAJSON  = "sat-Seagate_Enterprise_Capacity_3.5_HDD-ST8000NM0055-1RM112-sdh.json"
	SASJSON   = "HITACHI_H109060SESUN600G_9.json"
	SAS2JSON  = "HITACHI_H109060SESUN600G_10.json"
	ScenHost  = 6
	ScenEncl  = 32
	bbuLowRep = 1<<1 | 1<<10 // VOLTAGE_LOW, REPLACE_PACK
)

// Degraded is a MegaRAID (real firmware addressing, SCSI host 6) with:
//
//   - device 8, enclosure 32 slot 0: SATA disk from the rig's AHCI capture,
//     online in LD 0 (RAID1);
//   - device 9, slot 1: SATA disk from a smartctl capture, FAILED in LD 0,
//     so LD 0 is degraded;
//   - device 10, slot 2: SAS disk from a smartctl capture, online in LD 1
//     (RAID1, optimal);
//   - device 11, slot 3: SAS disk in standby (REQUEST SENSE 5Eh/43h),
//     online in LD 1;
//   - an iBBU reporting VOLTAGE_LOW and REPLACE_PACK.
//
// dir is the testdata/emu directory.
func Degraded(dir string) (*Controller, map[string]Disk, error) {
	read := func(name string) ([]byte, error) { return os.ReadFile(filepath.Join(dir, name)) }
	b, err := read(RigAHCI)
	if err != nil {
		return nil, nil, err
	}
	sata0, err := SATAFromExchanges(b)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", RigAHCI, err)
	}
	if b, err = read(SATAJSON); err != nil {
		return nil, nil, err
	}
	sata1, err := SATAFromSmartctl(b)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", SATAJSON, err)
	}
	if b, err = read(SASJSON); err != nil {
		return nil, nil, err
	}
	sas0, err := SCSIFromSmartctl(b)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", SASJSON, err)
	}
	if b, err = read(SAS2JSON); err != nil {
		return nil, nil, err
	}
	sas1, err := SCSIFromSmartctl(b)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", SAS2JSON, err)
	}
	sas1.Power = [2]uint8{0x5e, 0x43}
	// Two SAS disks of the same model: a distinct serial and LU name for
	// the second, as two real disks have (the captures are redacted).
	sas1.VPD[0x80] = append([]byte{0, 0x80, 0, 8}, "REDACTD2"...)
	if v := sas1.VPD[0x83]; v != nil {
		v[len(v)-1] ^= 0x01
	}
	c := &Controller{Host: ScenHost,
		PDs: []*PD{
			{DeviceID: 8, Encl: ScenEncl, Slot: 0, FWState: 0x18, SATA: true, Disk: sata0},
			{DeviceID: 9, Encl: ScenEncl, Slot: 1, FWState: 0x11, SATA: true, Disk: sata1, MediaErr: 12},
			{DeviceID: 10, Encl: ScenEncl, Slot: 2, FWState: 0x18, Disk: sas0},
			{DeviceID: 11, Encl: ScenEncl, Slot: 3, FWState: 0x18, Disk: sas1},
		},
		LDs: []LD{
			{Target: 0, Name: "system", Level: 1, State: 2, SizeBlocks: 1 << 20, Members: []uint16{8, 9}, MemberStates: []uint16{0x18, 0x11}},
			{Target: 1, Name: "data", Level: 1, State: 3, SizeBlocks: 1 << 21, Members: []uint16{10, 11}, MemberStates: []uint16{0x18, 0x18}},
		},
		BBU: &BBU{Type: 1, FWStatus: bbuLowRep, VoltageMV: 3600, TemperatureC: 31},
	}
	return c, map[string]Disk{"sata0": sata0, "sata1": sata1, "sas0": sas0, "sas1": sas1}, nil
}
