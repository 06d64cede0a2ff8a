package rules_test

import (
	"os"
	"strings"
	"testing"

	"github.com/diskwatch/diskwatch/alerts/rules"
	"github.com/diskwatch/diskwatch/collectors/model"
	"github.com/diskwatch/diskwatch/collectors/smartctl"
)

// TestSCTERCTimeoutMismatch: md members' recovery limits against the
// kernel's command timeout. The disk with ERC disabled is a real smartctl
// -x capture (scrutiny/smart-ata-full.json, Samsung 860 EVO, "ata_sct_erc":
// read/write disabled; collectors/smartctl/testdata/SOURCES.md).
func TestSCTERCTimeoutMismatch(t *testing.T) {
	b, err := os.ReadFile("../../collectors/smartctl/testdata/scrutiny/smart-ata-full.json")
	if err != nil {
		t.Fatal(err)
	}
	disabled, err := smartctl.Normalize(b)
	if err != nil {
		t.Fatal(err)
	}
	if disabled.ERC == nil || !disabled.ERC.Supported || *disabled.ERC.ReadDeciseconds != 0 {
		t.Fatalf("capture's ERC: %+v", disabled.ERC)
	}
	disk := func(path string, erc *model.ERC) model.Disk {
		d := ataDisk(nil)
		d.Device.Path, d.Device.Serial, d.ERC = path, "SN-"+path[5:], erc
		return d
	}
	ds := func(v int) *int { return &v }
	set := only(rules.Default(), "md.scterc")
	for _, c := range []struct {
		name    string
		disk    model.Disk
		level   string
		timeout int
		want    string // "" quiet, else a remedy fragment
	}{
		{"no SCT ERC, 30 s", disk("/dev/sdb", &model.ERC{}), "raid1", 30, `echo 180 > /sys/block/sdb/device/timeout`},
		{"ERC disabled (real capture), 30 s", disabled, "raid1", 30, `smartctl -l scterc,70,70 /dev/sdb`},
		{"ERC 7 s, 30 s", disk("/dev/sdb", &model.ERC{Supported: true, ReadDeciseconds: ds(70), WriteDeciseconds: ds(70)}), "raid5", 30, ""},
		{"ERC 40 s, 30 s", disk("/dev/sdb", &model.ERC{Supported: true, ReadDeciseconds: ds(400), WriteDeciseconds: ds(400)}), "raid1", 30, "scterc,70,70"},
		{"no SCT ERC, timeout raised to 180", disk("/dev/sdb", &model.ERC{}), "raid1", 180, ""},
		{"no redundancy (raid0)", disk("/dev/sdb", &model.ERC{}), "raid0", 30, ""},
		{"ERC not read (asleep, or via smartctl -a)", disk("/dev/sdb", nil), "raid1", 30, ""},
		{"timeout unknown (not a SCSI disk)", disk("/dev/sdb", &model.ERC{}), "raid1", 0, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := c.disk
			d.Device.Path = "/dev/sdb"
			a := model.Array{Name: "md0", Level: c.level, Activity: "active", DisksTotal: 2, DisksActive: 2,
				Members: []model.Member{{Name: "sdb1", Disk: "sdb", Slot: 0, CommandTimeoutS: c.timeout}}}
			fs := set.Evaluate(&rules.Input{Snapshot: &model.Snapshot{Arrays: []model.Array{a}, Disks: []model.Disk{d}}, Now: day0}, nil)
			if c.want == "" {
				if len(fs) != 0 {
					t.Fatalf("want quiet, got %+v", fs)
				}
				return
			}
			if len(fs) != 1 || fs[0].Severity != model.Warning || !strings.Contains(fs[0].Remedy, c.want) ||
				!strings.Contains(fs[0].Remedy, "/etc/udev/rules.d/") || !strings.Contains(fs[0].Message, "member of md0") {
				t.Fatalf("got %+v", fs)
			}
		})
	}
}
