// Package fromrules converts rule findings and lifecycle alerts into the
// snapshot document's own types.
package fromrules

import (
	"github.com/diskwatch/diskwatch/alerts/lifecycle"
	"github.com/diskwatch/diskwatch/alerts/output/snapshot"
	"github.com/diskwatch/diskwatch/alerts/rules"
)

// Findings converts findings.
func Findings(fs []rules.Finding) []snapshot.Finding {
	out := make([]snapshot.Finding, len(fs))
	for i, f := range fs {
		out[i] = snapshot.Finding{Severity: snapshot.Severity(f.Severity), Rule: f.Rule, Subject: f.Subject, SubjectID: f.SubjectID,
			Message: f.Message, Remedy: f.Remedy, Evidence: f.Evidence, Related: f.Related, Values: f.Values}
	}
	return out
}

// Alerts converts firing alerts.
func Alerts(as []lifecycle.Alert) []snapshot.Alert {
	out := make([]snapshot.Alert, len(as))
	for i, a := range as {
		out[i] = snapshot.Alert{Key: a.Key, Rule: a.Rule, Subject: a.Subject, SubjectID: a.SubjectID,
			Severity: snapshot.Severity(a.Severity), Message: a.Message, StartsAt: a.StartsAt, InhibitedBy: a.InhibitedBy}
	}
	return out
}
