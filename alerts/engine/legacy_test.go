package engine

import (
	"testing"
	"time"

	"github.com/diskwatch/diskwatch/alerts/rules"
	"github.com/diskwatch/diskwatch/collectors/model"
)

type mapHistory map[string][]rules.Point

func (m mapHistory) Series(subject, metric string, since time.Time) ([]rules.Point, error) {
	var out []rules.Point
	for _, p := range m[subject+"|"+metric] {
		if !p.Time.Before(since) {
			out = append(out, p)
		}
	}
	return out, nil
}

// TestLegacyHistory: readings stored before the upgrade under a SAS disk's
// "wwn:0x…" key and an md array's kernel name are read with the new
// keys' readings, in time order.
func TestLegacyHistory(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	h := mapHistory{
		"wwn:0x5000c500a1b2c3d4|smart_scsi_grown_defects":          {{Time: t0, Value: 3}, {Time: t0.Add(time.Hour), Value: 4}},
		"wwn:5000c500a1b2c3d4|smart_scsi_grown_defects":            {{Time: t0.Add(2 * time.Hour), Value: 9}},
		"md0|md_disks_active":                                      {{Time: t0, Value: 2}},
		"md:uuid:0a1b2c3d4e5f60718293a4b5c6d7e8f9|md_disks_active": {{Time: t0.Add(time.Hour), Value: 1}},
	}
	snap := &model.Snapshot{
		Disks:  []model.Disk{{Device: model.DeviceInfo{Path: "/dev/sdb", WWN: "0x5000c500a1b2c3d4"}}},
		Arrays: []model.Array{{Name: "md0", UUID: "0a1b2c3d4e5f60718293a4b5c6d7e8f9"}},
	}
	lh := withLegacy(h, snap)
	ps, _ := lh.Series("wwn:5000c500a1b2c3d4", "smart_scsi_grown_defects", t0)
	if len(ps) != 3 || ps[0].Value != 3 || ps[2].Value != 9 {
		t.Errorf("disk series %+v", ps)
	}
	ps, _ = lh.Series("md:uuid:0a1b2c3d4e5f60718293a4b5c6d7e8f9", "md_disks_active", t0)
	if len(ps) != 2 || ps[0].Value != 2 || ps[1].Value != 1 {
		t.Errorf("array series %+v", ps)
	}
	// A disk whose key did not change reads only its own.
	if withLegacy(h, &model.Snapshot{Disks: []model.Disk{{Device: model.DeviceInfo{WWN: "5 000c50 0a1b2c3d4"}}}}) == nil {
		t.Error("nil history")
	}
	if withLegacy(nil, snap) != nil {
		t.Error("no store: no history")
	}
}
