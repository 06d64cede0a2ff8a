// Package lifecycle turns each cycle's findings into alert events: an alert
// fires, is re-notified at an interval while it lasts, escalates when its
// severity rises, and resolves with a recovery notice. Alerts are keyed by
// (rule, subject), so one condition is one alert however many cycles see
// it. Inhibition keeps lesser alerts quiet while a greater one explains
// them (a failed array inhibits its members' lesser alerts; a disk's
// CRITICAL inhibits its WARNINGs), and flap suppression keeps a condition
// that comes and goes from notifying every time.
//
// Time is injected: every call takes now. The state is persisted by Save
// (temp file, fsync, rename, mode 0600) so a restart neither re-alerts nor
// forgets.
package lifecycle

import (
	"sort"
	"strings"
	"time"

	"github.com/diskwatch/diskwatch/collectors/model"
)

// Kind is what happened to an alert.
type Kind string

// Event kinds.
const (
	// Firing: the alert started (or became notifiable again after flapping
	// or inhibition ended).
	Firing Kind = "firing"
	// Renotify: the alert is still firing and the re-notify interval passed.
	Renotify Kind = "renotify"
	// Escalated: the alert's severity rose while it fired.
	Escalated Kind = "escalated"
	// Resolved: the condition is gone (the recovery notice).
	Resolved Kind = "resolved"
	// Flapping: the alert changed state too often; further changes are not
	// notified until it has been stable for the flap window.
	Flapping Kind = "flapping"
)

// Event is one notification-worthy change.
type Event struct {
	Kind  Kind        `json:"kind"`
	Time  time.Time   `json:"time"`
	Alert model.Alert `json:"alert"`
	// Previous is the severity before an escalation.
	Previous model.Severity `json:"previous,omitempty"`
}

// Policy tunes the lifecycle.
type Policy struct {
	// Renotify is how often a still-firing alert is sent again; 0 never.
	Renotify time.Duration
	// ResolveAfter is how many consecutive cycles a finding must be absent
	// before its alert resolves (hysteresis; at least 1).
	ResolveAfter int
	// FlapWindow and FlapChanges: an alert that changes state (fires or
	// resolves) FlapChanges times within FlapWindow is flapping. 0
	// disables flap suppression.
	FlapWindow  time.Duration
	FlapChanges int
	// MinSeverity is the least severity that alerts (default WARNING:
	// UNKNOWN and OK findings are shown by check but not alerted unless
	// set to UNKNOWN).
	MinSeverity model.Severity
}

// DefaultPolicy is used for zero fields.
var DefaultPolicy = Policy{Renotify: 24 * time.Hour, ResolveAfter: 2, FlapWindow: time.Hour, FlapChanges: 4, MinSeverity: model.Warning}

// entry is the tracker's memory of one key.
type entry struct {
	Alert model.Alert `json:"alert"`
	// Missing counts consecutive cycles without the finding.
	Missing int `json:"missing,omitempty"`
	// Notified is the state last told to the sinks: "" never, "firing",
	// "resolved".
	Notified string `json:"notified,omitempty"`
	// NotifiedSeverity is the severity last told.
	NotifiedSeverity model.Severity `json:"notified_severity,omitempty"`
	LastNotified     time.Time      `json:"last_notified,omitempty"`
	// Changes are the times the alert fired or resolved, within the flap
	// window.
	Changes  []time.Time `json:"changes,omitempty"`
	Flapping bool        `json:"flapping,omitempty"`
	// Recovery is the text of the OK finding that announced the end of
	// the condition, kept until the alert resolves.
	Recovery *model.Finding `json:"recovery,omitempty"`
}

// State is the tracker's persisted memory.
type State struct {
	Version int               `json:"version"`
	Entries map[string]*entry `json:"entries"`
}

// Tracker holds the lifecycle of every alert. It is not safe for
// concurrent use.
type Tracker struct {
	policy Policy
	st     State
}

// New returns a tracker with policy p (zero fields take DefaultPolicy's).
func New(p Policy) *Tracker {
	if p.Renotify < 0 {
		p.Renotify = 0
	} else if p.Renotify == 0 {
		p.Renotify = DefaultPolicy.Renotify
	}
	if p.ResolveAfter <= 0 {
		p.ResolveAfter = DefaultPolicy.ResolveAfter
	}
	if p.FlapWindow == 0 {
		p.FlapWindow = DefaultPolicy.FlapWindow
	}
	if p.FlapChanges == 0 {
		p.FlapChanges = DefaultPolicy.FlapChanges
	}
	if p.MinSeverity == model.OK {
		p.MinSeverity = DefaultPolicy.MinSeverity
	}
	return &Tracker{policy: p, st: State{Version: 1, Entries: map[string]*entry{}}}
}

// SetPolicy changes the policy (on reload) and keeps the state.
func (t *Tracker) SetPolicy(p Policy) {
	n := New(p)
	t.policy = n.policy
}

// Key is the dedup key of a finding: rule and stable subject identity.
func Key(f model.Finding) string {
	id := f.SubjectID
	if id == "" {
		id = f.Subject
	}
	return f.Rule + "|" + id
}

// alerting reports whether severity s alerts under the policy.
func (t *Tracker) alerting(s model.Severity) bool {
	if s == model.OK {
		return false
	}
	return s.Rank() >= t.policy.MinSeverity.Rank()
}

// Update feeds one cycle's findings and returns the events to notify, in
// a stable order (resolved first, then by key).
func (t *Tracker) Update(now time.Time, findings []model.Finding) []Event {
	return t.UpdateExcept(now, findings, nil)
}

// UpdateExcept is Update for a cycle in which some subjects could not be
// read (their collector failed): unseen reports them, and their firing
// alerts are kept as they are instead of counting towards resolution. An
// alert is resolved because its condition is gone, never because diskwatch
// went blind.
func (t *Tracker) UpdateExcept(now time.Time, findings []model.Finding, unseen func(subjectID string) bool) []Event {
	// Dedup: one finding per key, the most severe.
	cur := map[string]model.Finding{}
	// An OK finding under an alert's own key is its recovery notice ("back
	// on line after 4m on battery"): the resolved event carries its text.
	notes := map[string]model.Finding{}
	for _, f := range findings {
		if f.Severity == model.OK {
			notes[Key(f)] = f
		}
		if !t.alerting(f.Severity) {
			continue
		}
		k := Key(f)
		if old, ok := cur[k]; !ok || f.Severity.Rank() > old.Severity.Rank() {
			cur[k] = f
		}
	}
	inhibited := inhibitions(cur)

	var evs []Event
	// Present findings.
	for k, f := range cur {
		e := t.st.Entries[k]
		if e == nil {
			e = &entry{}
			t.st.Entries[k] = e
		}
		wasActive := e.Alert.Key != "" && e.Alert.Active()
		a := fromFinding(k, f)
		if wasActive {
			a.StartsAt = e.Alert.StartsAt
		} else {
			a.StartsAt = now
			e.Changes = append(e.Changes, now)
		}
		a.LastSeen = now
		a.InhibitedBy = inhibited[k]
		e.Alert = a
		e.Missing = 0
		if t.flapCheck(now, e) {
			evs = append(evs, Event{Kind: Flapping, Time: now, Alert: e.Alert})
		}
		if ev, ok := t.decideFiring(now, e); ok {
			evs = append(evs, ev)
		}
	}
	// Absent: count towards resolution.
	for k, e := range t.st.Entries {
		if _, ok := cur[k]; ok {
			continue
		}
		if e.Alert.Active() && unseen != nil && unseen(e.Alert.SubjectID) {
			continue
		}
		if n, ok := notes[k]; ok && e.Alert.Active() {
			e.Recovery = &n
		}
		if e.Alert.Active() {
			e.Missing++
			if e.Missing >= t.policy.ResolveAfter {
				e.Alert.EndsAt = now
				e.Alert.InhibitedBy = ""
				e.Changes = append(e.Changes, now)
			}
		}
		if t.flapCheck(now, e) {
			evs = append(evs, Event{Kind: Flapping, Time: now, Alert: e.Alert})
		}
		if !e.Alert.Active() && e.Notified == "firing" && !e.Flapping {
			if e.Recovery != nil {
				e.Alert.Message, e.Alert.Remedy = e.Recovery.Message, e.Recovery.Remedy
				e.Recovery = nil
			}
			e.Notified = "resolved"
			e.LastNotified = now
			evs = append(evs, Event{Kind: Resolved, Time: now, Alert: e.Alert})
		}
		// Forget resolved alerts once nothing about them is pending and
		// the flap window has passed.
		if !e.Alert.Active() && e.Notified != "firing" && now.Sub(e.Alert.EndsAt) >= t.policy.FlapWindow {
			delete(t.st.Entries, k)
		}
	}
	sort.SliceStable(evs, func(i, j int) bool {
		if (evs[i].Kind == Resolved) != (evs[j].Kind == Resolved) {
			return evs[i].Kind == Resolved
		}
		return evs[i].Alert.Key < evs[j].Alert.Key
	})
	return evs
}

// decideFiring picks the event (if any) for a present alert.
func (t *Tracker) decideFiring(now time.Time, e *entry) (Event, bool) {
	a := e.Alert
	if a.InhibitedBy != "" {
		return Event{}, false
	}
	if e.Flapping {
		return Event{}, false
	}
	switch {
	case e.Notified != "firing":
		e.Notified, e.NotifiedSeverity, e.LastNotified = "firing", a.Severity, now
		return Event{Kind: Firing, Time: now, Alert: a}, true
	case a.Severity.Rank() > e.NotifiedSeverity.Rank():
		prev := e.NotifiedSeverity
		e.NotifiedSeverity, e.LastNotified = a.Severity, now
		return Event{Kind: Escalated, Time: now, Alert: a, Previous: prev}, true
	case t.policy.Renotify > 0 && now.Sub(e.LastNotified) >= t.policy.Renotify:
		e.NotifiedSeverity, e.LastNotified = a.Severity, now
		return Event{Kind: Renotify, Time: now, Alert: a}, true
	}
	return Event{}, false
}

// flapCheck trims the change history to the window, updates the flapping
// flag and reports whether the alert just started flapping (notified once).
// While flapping, the notified state is left as it was, so that once the
// alert is stable again the next cycle reconciles it (a firing or a
// resolved notice, only if it differs from what was last told).
func (t *Tracker) flapCheck(now time.Time, e *entry) bool {
	if t.policy.FlapChanges <= 0 {
		return false
	}
	was := e.Flapping
	keep := e.Changes[:0]
	for _, c := range e.Changes {
		if now.Sub(c) < t.policy.FlapWindow {
			keep = append(keep, c)
		}
	}
	e.Changes = keep
	e.Flapping = len(e.Changes) >= t.policy.FlapChanges
	return e.Flapping && !was
}

// fromFinding makes the alert of a finding.
func fromFinding(k string, f model.Finding) model.Alert {
	return model.Alert{Key: k, Finding: f}
}

// inhibitions returns, for each inhibited key, the key inhibiting it.
//   - A CRITICAL alert on a subject inhibits the WARNING and UNKNOWN alerts
//     of other rules on the same subject.
//   - A CRITICAL alert naming related devices (a failed array and its
//     members) inhibits the lesser alerts of those devices.
func inhibitions(cur map[string]model.Finding) map[string]string {
	out := map[string]string{}
	keys := make([]string, 0, len(cur))
	for k := range cur {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	// Only CRITICAL alerts inhibit.
	type crit struct {
		key string
		f   model.Finding
	}
	var crits []crit
	for _, k := range keys {
		if f := cur[k]; f.Severity == model.Critical {
			crits = append(crits, crit{k, f})
		}
	}
	if len(crits) == 0 {
		return out
	}
	for _, k := range keys {
		f := cur[k]
		if f.Severity.Rank() >= model.Critical.Rank() {
			continue
		}
		var names map[string]bool
		for _, c := range crits {
			if sameSubject(f, c.f) {
				out[k] = c.key
				break
			}
			if len(c.f.Related) == 0 {
				continue
			}
			if names == nil {
				names = subjectNames(f)
			}
			if relatedTo(names, c.f) {
				out[k] = c.key
				break
			}
		}
	}
	return out
}

func sameSubject(a, b model.Finding) bool {
	ida, idb := a.SubjectID, b.SubjectID
	if ida == "" {
		ida = a.Subject
	}
	if idb == "" {
		idb = b.Subject
	}
	return ida == idb
}

// relatedTo reports whether a subject known by names is one of c's related
// devices (by kernel name, whole disk of a partition, or identity).
func relatedTo(names map[string]bool, c model.Finding) bool {
	for _, r := range c.Related {
		for _, n := range []string{r, wholeDisk(r)} {
			if n != "" && names[n] {
				return true
			}
		}
	}
	return false
}

// subjectNames lists the names a finding's subject is known by.
func subjectNames(f model.Finding) map[string]bool {
	m := map[string]bool{}
	add := func(s string) {
		s = strings.TrimPrefix(s, "/dev/")
		if s != "" {
			m[s] = true
		}
	}
	add(f.SubjectID)
	add(f.Match.Path)
	if i := strings.IndexByte(f.Subject, ' '); i > 0 {
		add(f.Subject[:i])
	} else {
		add(f.Subject)
	}
	return m
}

// wholeDisk maps a partition name to its disk: sdb1 -> sdb, nvme0n1p2 ->
// nvme0n1, mmcblk0p1 -> mmcblk0.
func wholeDisk(n string) string {
	n = strings.TrimPrefix(n, "/dev/")
	i := len(n)
	for i > 0 && n[i-1] >= '0' && n[i-1] <= '9' {
		i--
	}
	if i == len(n) || i == 0 {
		return n
	}
	if n[i-1] == 'p' && i >= 2 && n[i-2] >= '0' && n[i-2] <= '9' {
		return n[:i-1]
	}
	if strings.HasPrefix(n, "nvme") || strings.HasPrefix(n, "mmcblk") {
		return n // nvme0n1: the digits are part of the name
	}
	return n[:i]
}

// Active returns the firing alerts (inhibited ones included, marked), by
// key.
func (t *Tracker) Active() []model.Alert {
	var out []model.Alert
	for _, e := range t.st.Entries {
		if e.Alert.Active() {
			out = append(out, e.Alert)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// Adopt makes the state reflect an event that was queued for (or
// delivered to) the sinks but that the saved state may not record — the
// process died between writing the notification queue and saving this
// state. The next Update then neither announces it again under a new id
// nor forgets it. Adopting an event the state already records changes
// nothing; events are adopted oldest first.
func (t *Tracker) Adopt(kind Kind, at time.Time, a model.Alert) {
	if a.Key == "" {
		return
	}
	e := t.st.Entries[a.Key]
	switch kind {
	case Firing, Escalated, Renotify:
		if e == nil {
			e = &entry{Alert: a, Changes: []time.Time{a.StartsAt}}
			t.st.Entries[a.Key] = e
		}
		if !e.LastNotified.IsZero() && !at.After(e.LastNotified) {
			return // the state is as new
		}
		if !e.Alert.Active() || e.Alert.Key == "" {
			e.Alert = a
		}
		e.Notified = "firing"
		if a.Severity.Rank() > e.NotifiedSeverity.Rank() || kind == Firing {
			e.NotifiedSeverity = a.Severity
		}
		e.LastNotified = at
	case Resolved:
		if e == nil || (!e.LastNotified.IsZero() && !at.After(e.LastNotified)) {
			return
		}
		e.Notified, e.LastNotified = "resolved", at
		if e.Alert.Active() {
			e.Alert.EndsAt = a.EndsAt
			if e.Alert.EndsAt.IsZero() {
				e.Alert.EndsAt = at
			}
		}
	}
}
