package rules

import (
	"fmt"
	"strings"
	"time"

	"github.com/diskwatch/diskwatch/collectors/model"
)

// Rebuild risk: before `mdadm --add`, the members that survive must be
// read end to end. An unreadable sector on one of them (a pending or
// offline-uncorrectable sector) fails the rebuild on a RAID1 and costs a
// stripe on a RAID5; the remedy says so, with the data to decide, and
// "back up first" when a surviving member is itself at risk.

// memberRisk is what the rebuild depends on for one surviving member.
type memberRisk struct {
	name  string
	facts []string
	risky []string
}

func survivingRisk(in *Input, a *model.Array) []memberRisk {
	var out []memberRisk
	for j := range a.Members {
		m := &a.Members[j]
		if m.Faulty || m.Spare || m.Slot < 0 {
			continue
		}
		r := memberRisk{name: model.Clean(m.Name)}
		d := memberDisk(in.Snapshot, m)
		if d == nil || d.Skipped != "" {
			r.facts = append(r.facts, "no SMART reading")
			out = append(out, r)
			continue
		}
		r.name = d.Device.Display()
		count := func(id int, what string) {
			if at := d.Attr(id); at != nil {
				r.facts = append(r.facts, fmt.Sprintf("%d %s", at.Raw, what))
				if at.Raw > 0 && (id == 197 || id == 198) {
					r.risky = append(r.risky, fmt.Sprintf("%d %s", at.Raw, what))
				}
			}
		}
		count(197, "pending")
		count(198, "offline uncorrectable")
		count(5, "reallocated")
		if d.PowerOnHours != nil {
			r.facts = append(r.facts, fmt.Sprintf("%d power-on hours", *d.PowerOnHours))
		}
		if d.SMARTPassed != nil && !*d.SMARTPassed {
			r.risky = append(r.risky, "SMART health FAILED")
		}
		if score := Score(diskTrack(in, d, d.Device.ID()).Signals()); score > 0 {
			r.facts = append(r.facts, "risk score "+num(score))
			if score >= TierWarning {
				r.risky = append(r.risky, "failure-risk score "+num(score))
			}
		}
		out = append(out, r)
	}
	return out
}

// dataMembers is how many members' worth of data the array holds: a
// rebuild writes one member, SizeBytes/dataMembers bytes.
func dataMembers(a *model.Array) int {
	n := a.DisksTotal
	switch a.Level {
	case "raid1":
		return 1
	case "raid4", "raid5":
		n--
	case "raid6":
		n -= 2
	case "raid10":
		n /= 2
	}
	return max(n, 1)
}

// rebuildEstimate is the size a rebuild writes and how long it takes at
// the array's fastest sync speed stored within 90 days.
func rebuildEstimate(in *Input, a *model.Array) string {
	if a.SizeBytes <= 0 {
		return ""
	}
	per := float64(a.SizeBytes) / float64(dataMembers(a))
	s := fmt.Sprintf("the rebuild writes %s to the new member", bytesHuman(per))
	var speed float64
	if in.History != nil {
		ps, _ := in.History.Series(a.ID(), model.MetricMDSyncSpeed, in.Now.Add(-90*Day))
		for _, p := range ps {
			speed = max(speed, p.Value)
		}
	}
	if speed <= 0 {
		return s + " (no resync or check speed measured yet; at 100 MB/s about " + roughDuration(time.Duration(per/100e6*float64(time.Second))) + ")"
	}
	return s + fmt.Sprintf(", about %s at the %s/s this array last synced at", roughDuration(time.Duration(per/(speed*1024)*float64(time.Second))), bytesHuman(speed*1024))
}

func bytesHuman(b float64) string {
	for _, u := range []string{"B", "KB", "MB", "GB", "TB", "PB"} {
		if b < 1000 || u == "PB" {
			if b >= 100 || u == "B" {
				return fmt.Sprintf("%.0f %s", b, u)
			}
			return fmt.Sprintf("%.1f %s", b, u)
		}
		b /= 1000
	}
	return ""
}

// withRebuildRisk adds the rebuild's risk to a degraded array's finding:
// evidence per surviving member, the estimate, and "back up first" ahead
// of the remedy when a survivor is at risk itself.
func withRebuildRisk(in *Input, a *model.Array, f *model.Finding) {
	var risky []string
	for _, r := range survivingRisk(in, a) {
		line := "surviving member " + r.name
		if len(r.facts) > 0 {
			line += ": " + strings.Join(r.facts, ", ")
		}
		f.Evidence = append(f.Evidence, line)
		if len(r.risky) > 0 {
			risky = append(risky, r.name+" ("+strings.Join(r.risky, ", ")+")")
		}
	}
	est := rebuildEstimate(in, a)
	if len(risky) > 0 {
		f.Remedy = "BACK UP FIRST: the rebuild must read every sector of the surviving member(s), and " + strings.Join(risky, "; ") +
			" may not survive it (an unreadable sector fails the rebuild); then " + f.Remedy
	}
	if est != "" {
		f.Remedy += "; " + est
	}
}

var mdSameBatch = &Rule{
	Name: "md.same_batch",
	Summary: "members of one array are the same model and firmware with power-on hours within pct (default 5 %) of each other: " +
		"probably one batch, whose failures come together (info, the members listed)",
	Params: map[string]float64{"pct": 5},
	Eval: func(in *Input, p Params) []model.Finding {
		var out []model.Finding
		for i := range in.Snapshot.Arrays {
			a := &in.Snapshot.Arrays[i]
			if !redundant(a.Level) {
				continue
			}
			type member struct {
				name string
				poh  int64
			}
			groups := map[[2]string][]member{}
			var keys [][2]string
			seen := map[string]bool{}
			for j := range a.Members {
				m := &a.Members[j]
				d := memberDisk(in.Snapshot, m)
				if d == nil || m.Faulty || d.PowerOnHours == nil || d.Device.Model == "" || seen[d.Device.ID()] {
					continue
				}
				seen[d.Device.ID()] = true
				k := [2]string{model.Clean(d.Device.Model), model.Clean(d.Device.Firmware)}
				if groups[k] == nil {
					keys = append(keys, k)
				}
				groups[k] = append(groups[k], member{d.Device.Display(), *d.PowerOnHours})
			}
			pct := p.Get("pct", mdMatch(a))
			for _, k := range keys {
				g := groups[k]
				if len(g) < 2 {
					continue
				}
				lo, hi := g[0].poh, g[0].poh
				var names []string
				for _, m := range g {
					lo, hi = min(lo, m.poh), max(hi, m.poh)
					names = append(names, fmt.Sprintf("%s %d h", m.name, m.poh))
				}
				if hi <= 0 || float64(hi-lo) > float64(hi)*pct/100 {
					continue
				}
				f := mdFinding(a, model.OK, fmt.Sprintf("%s: %d members are %s firmware %s with power-on hours within %s%% of each other (probably one batch; "+
					"drives of one batch tend to fail close together): %s", model.Clean(a.Name), len(g), k[0], k[1], num(pct), strings.Join(names, ", ")),
					"keep a tested spare at hand and a current backup; when replacing, mix in a drive from another batch or vendor")
				f.Related = names
				out = append(out, f)
			}
		}
		return out
	},
}
