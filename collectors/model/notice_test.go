package model

import (
	"encoding/json"
	"testing"
)

// NOTICE tells without paging: it exits 0, sorts above OK and below
// UNKNOWN and WARNING, and round-trips by name.
func TestNotice(t *testing.T) {
	if Notice.ExitCode() != 0 || Warning.ExitCode() != 1 || Critical.ExitCode() != 2 || Unknown.ExitCode() != 3 || OK.ExitCode() != 0 {
		t.Error("exit codes")
	}
	if !(OK.Rank() < Notice.Rank() && Notice.Rank() < Unknown.Rank() && Unknown.Rank() < Warning.Rank() && Warning.Rank() < Critical.Rank()) {
		t.Error("rank order: OK < NOTICE < UNKNOWN < WARNING < CRITICAL")
	}
	b, _ := json.Marshal(Notice)
	var s Severity
	if string(b) != `"NOTICE"` || json.Unmarshal([]byte(`"notice"`), &s) != nil || s != Notice {
		t.Errorf("json %s -> %v", b, s)
	}
}
