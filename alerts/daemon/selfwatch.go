package daemon

import (
	"fmt"
	"strings"

	"github.com/diskwatch/diskwatch/collectors/model"
)

// selfWatch is the rule that watches diskwatch itself. It is fed by the
// status of each source after every round and raises a WARNING once a
// collector has failed daemon.self_alert_after runs in a row (default 3):
// diskwatch is then blind to what that collector watches.
type selfWatch struct {
	failures map[string]int // consecutive failed runs per collector
}

// evaluate counts the runs of the collectors that ran (a replayed result
// is not a run) and returns the findings.
func (w *selfWatch) evaluate(sources []model.SourceStatus, ran map[string]bool, after int) []model.Finding {
	if after <= 0 {
		after = 3
	}
	var out []model.Finding
	for _, st := range sources {
		if ran[st.Name] {
			if st.State == model.SourceFailed {
				w.failures[st.Name]++
			} else {
				w.failures[st.Name] = 0
			}
		}
		if n := w.failures[st.Name]; n >= after {
			errs := make([]string, len(st.Errors))
			for i, e := range st.Errors {
				errs[i] = model.Clean(e)
			}
			out = append(out, model.Finding{
				Severity: model.Warning, Rule: "daemon.collector_failing", Subject: "collector " + st.Name, SubjectID: "collector:" + st.Name,
				Message:  fmt.Sprintf("collector %s failed %d runs in a row: %s", st.Name, n, strings.Join(errs, "; ")),
				Remedy:   "diskwatch is blind to what this collector watches until it works again: check the errors, permissions and devices",
				Evidence: errs,
			})
		}
	}
	return out
}

// counts copies the failure counts for the snapshot.
func (w *selfWatch) counts() map[string]int {
	out := make(map[string]int, len(w.failures))
	for k, v := range w.failures {
		out[k] = v
	}
	return out
}
