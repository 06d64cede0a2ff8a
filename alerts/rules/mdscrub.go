package rules

import (
	"fmt"
	"time"

	"github.com/diskwatch/diskwatch/collectors/model"
)

// A scrub (md "check") reads every sector of every member: a sector that
// went bad where nobody reads is found while redundancy can still repair
// it, not during a rebuild that needs it. Debian's checkarray/mdcheck run
// one monthly; a disabled timer, a container without cron, an array added
// later go unscrubbed for years without a word.

var mdScrubOverdue = &Rule{
	Name: "md.scrub_overdue",
	Summary: "a redundant md array has had no check (scrub) for days (default 35) while diskwatch watched it: no check seen running and no " +
		"'data-check done' in the kernel log (WARNING, with echo check > /sys/block/mdN/md/sync_action); needs the history store, which keeps " +
		"each check's time (md_last_check_unix) and mismatch_cnt",
	Params: map[string]float64{"days": 35},
	Eval: func(in *Input, p Params) []model.Finding {
		var out []model.Finding
		if in.History == nil {
			return nil
		}
		for i := range in.Snapshot.Arrays {
			a := &in.Snapshot.Arrays[i]
			if !redundant(a.Level) || a.Activity == "inactive" || a.ReadOnly || isContainer(a) {
				continue
			}
			if a.SyncAction != "" && a.SyncAction != "idle" {
				continue // a check, resync or rebuild is running now
			}
			days := p.Get("days", mdMatch(a))
			window := time.Duration(days * float64(Day))
			from := in.Now.Add(-window)
			seen, _ := in.History.Series(a.ID(), "md_disks_total", from.Add(-2*Day))
			if len(seen) == 0 || seen[0].Time.After(from) {
				continue // not watched that long: no claim
			}
			checks, _ := in.History.Series(a.ID(), model.MetricMDLastCheck, from)
			if len(checks) > 0 {
				continue
			}
			msg := fmt.Sprintf("%s (%s) has had no check (scrub) in the %s diskwatch has watched it: a sector gone bad on a member stays hidden until "+
				"a rebuild needs it, when redundancy can no longer repair it", model.Clean(a.Name), model.Clean(a.Level), roughDays(days))
			if last, _ := in.History.Series(a.ID(), model.MetricMDLastCheck, time.Time{}); len(last) > 0 {
				msg += fmt.Sprintf("; last check seen %s", time.Unix(int64(last[len(last)-1].Value), 0).UTC().Format("2006-01-02"))
			}
			if a.MismatchCount > 0 {
				msg += fmt.Sprintf("; mismatch_cnt %d from the last one", a.MismatchCount)
			}
			f := mdFinding(a, model.Warning, msg,
				fmt.Sprintf("start one now: echo check > /sys/block/%s/md/sync_action (it runs in the background; watch /proc/mdstat and mismatch_cnt); "+
					"then schedule it monthly (Debian: the mdcheck_start/mdcheck_continue timers or /etc/cron.d/mdadm's checkarray)", model.Clean(a.Name)))
			f.Values = map[string]float64{"days": days}
			out = append(out, f)
		}
		return out
	},
}

func roughDays(d float64) string {
	if d == 1 {
		return "last day"
	}
	return fmt.Sprintf("%s days", num(d))
}
