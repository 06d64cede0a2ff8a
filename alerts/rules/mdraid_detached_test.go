package rules

import (
	"strings"
	"testing"

	"github.com/diskwatch/diskwatch/collectors/model"
)

// TestMDDetachedFailedMember: after a failed disk was unplugged and
// re-added under a new name, md still lists the old entry as (F) while the
// array is [2/2] [UU] (QEMU rig, stage 08-replugged-readded). The hint
// must be `--remove detached`: `mdadm /dev/md0 --remove /dev/sdb` fails
// because /dev/sdb no longer exists.
func TestMDDetachedFailedMember(t *testing.T) {
	arr := func(detached bool, down int) model.Array {
		return model.Array{Name: "md0", Path: "/dev/md0", Level: "raid1", Activity: "active", DisksTotal: 2, DisksActive: 2 - down, DisksDown: down, Degraded: down,
			Members: []model.Member{{Name: "sda", Slot: 0}, {Name: "sdb", Slot: -1, Faulty: true, Detached: detached, State: []string{"faulty"}}, {Name: "sde", Slot: 1}}}
	}
	for _, tc := range []struct {
		name     string
		a        model.Array
		sev      model.Severity
		remedy   string
		noRemedy string
	}{
		{"detached ghost, in sync", arr(true, 0), model.Warning, "mdadm /dev/md0 --remove detached", "--remove /dev/sdb"},
		{"failed disk still attached, in sync", arr(false, 0), model.Critical, "mdadm /dev/md0 --remove /dev/sdb", "detached"},
		{"detached and degraded", arr(true, 1), model.Critical, "mdadm /dev/md0 --remove detached", "--remove /dev/sdb"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := mdDegraded.Eval(&Input{Snapshot: &model.Snapshot{Arrays: []model.Array{tc.a}}}, Params{rule: mdDegraded})
			if len(fs) != 1 {
				t.Fatalf("want one finding, got %+v", fs)
			}
			f := fs[0]
			if f.Severity != tc.sev || !strings.Contains(f.Remedy, tc.remedy) || strings.Contains(f.Remedy, tc.noRemedy) {
				t.Errorf("got %s %q (remedy %q); want %s with %q and without %q", f.Severity, f.Message, f.Remedy, tc.sev, tc.remedy, tc.noRemedy)
			}
		})
	}
}
