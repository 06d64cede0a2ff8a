package lifecycle

import (
	"testing"
	"time"

	"github.com/diskwatch/diskwatch/collectors/model"
)

// TestResolvedCarriesRecoveryText: the OK finding a rule emits when its
// condition ends ("back on line after 4m on battery") becomes the text of
// the resolved notice, even when resolution waits for more clean rounds.
func TestResolvedCarriesRecoveryText(t *testing.T) {
	tr := New(Policy{ResolveAfter: 2})
	t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	onBattery := model.Finding{Severity: model.Warning, Rule: "ups.on_battery", Subject: "ups1", SubjectID: "ups1", Message: "ups1 is on battery"}
	back := onBattery
	back.Severity, back.Message = model.OK, "ups1 is back on line after 4m on battery"
	evs := tr.Update(t0, []model.Finding{onBattery})
	if len(evs) != 1 || evs[0].Kind != Firing {
		t.Fatalf("round 1: %+v", evs)
	}
	if evs := tr.Update(t0.Add(time.Minute), []model.Finding{back}); len(evs) != 0 {
		t.Fatalf("round 2 resolved too early: %+v", evs)
	}
	evs = tr.Update(t0.Add(2*time.Minute), nil)
	if len(evs) != 1 || evs[0].Kind != Resolved || evs[0].Alert.Message != back.Message {
		t.Fatalf("round 3: %+v", evs)
	}
}
