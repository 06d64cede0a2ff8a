package mdraid

import (
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/diskwatch/diskwatch/collectors/hostroot"
	"github.com/diskwatch/diskwatch/collectors/model"
)

func TestParseMDAdmConf(t *testing.T) {
	debian, err := os.ReadFile("testdata/mdadmconf/debian-bookworm-mkconf.conf")
	if err != nil {
		t.Fatal(err)
	}
	if got := ParseMDAdmConf(debian); len(got) != 0 {
		t.Errorf("Debian's default file declares no array, got %+v", got)
	}
	// mdadm --detail --scan lines (mdadm.conf(5) format), a continuation
	// line, a three-letter keyword, an ignored array, an IMSM container and
	// its member volume.
	conf := string(debian) + `ARRAY /dev/md0 metadata=1.2 spares=1 name=rig:0 UUID=3aaa0122:29827cfa:5331ad66:ca767371
ARRAY /dev/md/data metadata=1.2 name=rig:data
   UUID=8c2b5a2e-05f1-4a5f-8f3a-1b2c3d4e5f60 # blkid form
arr /dev/md2 uuid=00000000:00000000:00000000:00000002 level=raid5
ARRAY <ignore> UUID=11111111:11111111:11111111:11111111
ARRAY metadata=imsm UUID=22222222:22222222:22222222:22222222
ARRAY /dev/md/Volume0 container=22222222:22222222:22222222:22222222 member=0 UUID=33333333:33333333:33333333:33333333
DEVICE partitions
`
	want := []model.ConfArray{
		{Device: "/dev/md0", UUID: "3aaa012229827cfa5331ad66ca767371", Name: "rig:0", Spares: 1, Line: 21},
		{Device: "/dev/md/data", UUID: "8c2b5a2e05f14a5f8f3a1b2c3d4e5f60", Name: "rig:data", Spares: -1, Line: 22},
		{Device: "/dev/md2", UUID: "00000000000000000000000000000002", Level: "raid5", Spares: -1, Line: 24},
		{UUID: "22222222222222222222222222222222", Spares: -1, External: true, Line: 26},
		{Device: "/dev/md/Volume0", UUID: "33333333333333333333333333333333", Spares: -1, External: true, Line: 27},
	}
	if d := cmp.Diff(want, ParseMDAdmConf([]byte(conf))); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

// A host whose md module is not loaded (no /proc/mdstat) but whose
// mdadm.conf declares an array: the collector reports the declaration,
// not "absent".
func TestCollectMDAdmConfWithoutMDStat(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(root+"/etc/mdadm", 0o755)
	os.WriteFile(root+"/etc/mdadm/mdadm.conf", []byte("ARRAY /dev/md0 UUID=3aaa0122:29827cfa:5331ad66:ca767371\n"), 0o644)
	os.MkdirAll(root+"/proc", 0o755)
	var snap model.Snapshot
	if err := New(hostroot.New(root)).Collect(t.Context(), &snap); err != nil {
		t.Fatal(err)
	}
	if len(snap.MDConf) != 1 || len(snap.Arrays) != 0 {
		t.Errorf("%+v", snap)
	}
}

// The lines the real mdadm writes (rig capture).
func TestParseMDAdmDetailScan(t *testing.T) {
	b, err := os.ReadFile("testdata/mdadmconf/rig-detail-scan.conf")
	if err != nil {
		t.Fatal(err)
	}
	want := []model.ConfArray{
		{Device: "/dev/md0", UUID: "dd1d465393864bfb813a719dd459699c", Name: "(none):0", Spares: 1, Line: 1},
		{Device: "/dev/md1", UUID: "ec7dab6d2a7e0a2770278033947d98f2", Name: "(none):1", Spares: -1, Line: 2},
	}
	if d := cmp.Diff(want, ParseMDAdmConf(b)); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}
