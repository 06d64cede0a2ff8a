package engine

import (
	"sort"
	"time"

	"github.com/diskwatch/diskwatch/alerts/rules"
	"github.com/diskwatch/diskwatch/collectors/model"
)

// legacyHistory reads a subject's history also under the keys it had
// before identities were normalised (a SAS disk's "wwn:0x…", an md
// array's kernel name before it was keyed by UUID), so trends carry over
// an upgrade. New readings are stored under the new key only; the old
// points age out of the store as any others do.
type legacyHistory struct {
	rules.History
	alias map[string][]string
}

// withLegacy wraps h with the snapshot's legacy keys (h itself when there
// are none).
func withLegacy(h rules.History, snap *model.Snapshot) rules.History {
	if h == nil {
		return nil
	}
	alias := map[string][]string{}
	for _, d := range snap.Disks {
		if old := d.Device.LegacyIDs(); len(old) > 0 {
			alias[d.Device.ID()] = old
		}
	}
	for i := range snap.Arrays {
		a := &snap.Arrays[i]
		if old := a.LegacyIDs(); len(old) > 0 {
			alias[a.ID()] = old
		}
	}
	if len(alias) == 0 {
		return h
	}
	return legacyHistory{History: h, alias: alias}
}

// Series returns the points under the subject's key and its legacy keys,
// oldest first; a time present under both keeps the new key's point.
func (h legacyHistory) Series(subject, metric string, since time.Time) ([]rules.Point, error) {
	ps, err := h.History.Series(subject, metric, since)
	if err != nil || len(h.alias[subject]) == 0 {
		return ps, err
	}
	seen := map[int64]bool{}
	for _, p := range ps {
		seen[p.Time.UnixNano()] = true
	}
	for _, old := range h.alias[subject] {
		o, err := h.History.Series(old, metric, since)
		if err != nil {
			continue
		}
		for _, p := range o {
			if !seen[p.Time.UnixNano()] {
				ps = append(ps, p)
				seen[p.Time.UnixNano()] = true
			}
		}
	}
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].Time.Before(ps[j].Time) })
	return ps, nil
}
