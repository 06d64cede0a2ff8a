package lifecycle

import (
	"testing"
	"time"

	"github.com/diskwatch/diskwatch/collectors/model"
)

// TestClockJumpsBack is fault 10 of the trust issue: the wall clock jumps
// back an hour while an alert fires. No duplicate firing, no re-notify
// storm, no lost resolution.
func TestClockJumpsBack(t *testing.T) {
	tr := New(DefaultPolicy)
	t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	f := model.Finding{Severity: model.Critical, Rule: "md.degraded", Subject: "md0", SubjectID: "md0", Message: "md0 is DEGRADED"}
	count := map[Kind]int{}
	step := func(now time.Time, fs ...model.Finding) {
		for _, ev := range tr.Update(now, fs) {
			count[ev.Kind]++
		}
	}
	step(t0, f)
	step(t0.Add(time.Minute), f)
	for i := 0; i < 90; i++ { // an hour and a half of rounds after the jump
		step(t0.Add(-time.Hour+time.Duration(i)*time.Minute), f)
	}
	if count[Firing] != 1 || count[Renotify] != 0 || count[Resolved] != 0 {
		t.Fatalf("after the jump: %v", count)
	}
	now := t0.Add(31 * time.Minute)
	step(now)
	step(now.Add(time.Minute))
	if count[Resolved] != 1 {
		t.Fatalf("resolution lost after the jump: %v", count)
	}
	// And it fires again, once, when the condition returns.
	step(now.Add(2*time.Minute), f)
	if count[Firing] != 2 {
		t.Fatalf("refire: %v", count)
	}
}
