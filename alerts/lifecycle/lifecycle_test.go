package lifecycle

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/diskwatch/diskwatch/collectors/model"
	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func f(rule, id string, sev model.Severity, related ...string) model.Finding {
	return model.Finding{Rule: rule, Subject: id, SubjectID: id, Severity: sev, Message: rule + " on " + id, Related: related}
}

// step is one cycle: at minutes after t0, these findings, these events.
type step struct {
	at   int
	in   []model.Finding
	want []string // "kind key SEVERITY"
}

func summarize(evs []Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, string(e.Kind)+" "+e.Alert.Key+" "+e.Alert.Severity.String())
	}
	return out
}

var (
	W = model.Warning
	C = model.Critical
	U = model.Unknown
)

func TestLifecycle(t *testing.T) {
	pol := Policy{Renotify: 60 * time.Minute, ResolveAfter: 1, FlapWindow: 30 * time.Minute, FlapChanges: 4}
	cases := []struct {
		name  string
		pol   Policy
		steps []step
	}{
		{"fire, dedup, renotify, resolve", pol, []step{
			{0, []model.Finding{f("smart.pending", "disk1", W), f("smart.pending", "disk1", W)}, []string{"firing smart.pending|disk1 WARNING"}},
			{5, []model.Finding{f("smart.pending", "disk1", W)}, nil},
			{59, []model.Finding{f("smart.pending", "disk1", W)}, nil},
			{60, []model.Finding{f("smart.pending", "disk1", W)}, []string{"renotify smart.pending|disk1 WARNING"}},
			{70, nil, []string{"resolved smart.pending|disk1 WARNING"}},
			{80, nil, nil},
		}},
		{"OK and UNKNOWN findings do not alert by default", pol, []step{
			{0, []model.Finding{f("collector.nothing", "diskwatch", model.OK), f("collector.failed", "collector:smart", U)}, nil},
		}},
		{"escalation notifies at once, de-escalation does not", pol, []step{
			{0, []model.Finding{f("md.degraded", "md0", W)}, []string{"firing md.degraded|md0 WARNING"}},
			{1, []model.Finding{f("md.degraded", "md0", C)}, []string{"escalated md.degraded|md0 CRITICAL"}},
			{2, []model.Finding{f("md.degraded", "md0", W)}, nil},
			{3, []model.Finding{f("md.degraded", "md0", C)}, nil},
			{4, nil, []string{"resolved md.degraded|md0 CRITICAL"}},
		}},
		{"hysteresis: resolved after two absent cycles", Policy{ResolveAfter: 2, FlapChanges: -1}, []step{
			{0, []model.Finding{f("r", "d", W)}, []string{"firing r|d WARNING"}},
			{1, nil, nil},
			{2, []model.Finding{f("r", "d", W)}, nil},
			{3, nil, nil},
			{4, nil, []string{"resolved r|d WARNING"}},
		}},
		{"a disk's CRITICAL inhibits its WARNINGs", pol, []step{
			{0, []model.Finding{f("smart.temp", "diskA", W), f("smart.health", "diskA", C), f("smart.temp", "diskB", W)},
				[]string{"firing smart.health|diskA CRITICAL", "firing smart.temp|diskB WARNING"}},
			// The critical goes: the warning, still there, is now told.
			{1, []model.Finding{f("smart.temp", "diskA", W), f("smart.temp", "diskB", W)},
				[]string{"resolved smart.health|diskA CRITICAL", "firing smart.temp|diskA WARNING"}},
		}},
		{"a failed array inhibits its members' lesser alerts", pol, []step{
			{0, []model.Finding{
				f("md.failed", "md0", C, "sdb1", "nvme0n1p2"),
				f("smart.pending", "sdb", W),
				f("smart.media", "nvme0n1", W),
				f("smart.pending", "sdc", W),
				f("smart.health", "sdb", C),
			}, []string{"firing md.failed|md0 CRITICAL", "firing smart.health|sdb CRITICAL", "firing smart.pending|sdc WARNING"}},
		}},
		{"flapping is told once, then quiet, then reconciled", Policy{Renotify: -1, ResolveAfter: 1, FlapWindow: 30 * time.Minute, FlapChanges: 4}, []step{
			{0, []model.Finding{f("ups.onbattery", "ups1", W)}, []string{"firing ups.onbattery|ups1 WARNING"}},
			{1, nil, []string{"resolved ups.onbattery|ups1 WARNING"}},
			{2, []model.Finding{f("ups.onbattery", "ups1", W)}, []string{"firing ups.onbattery|ups1 WARNING"}},
			{3, nil, []string{"flapping ups.onbattery|ups1 WARNING"}},
			{4, []model.Finding{f("ups.onbattery", "ups1", W)}, nil},
			{5, nil, nil},
			{6, []model.Finding{f("ups.onbattery", "ups1", W)}, nil},
			// Stable (firing) for the window: the changes at 0..6 have aged
			// out at 36; the last told state was "firing", so nothing new.
			{20, []model.Finding{f("ups.onbattery", "ups1", W)}, nil},
			{37, []model.Finding{f("ups.onbattery", "ups1", W)}, nil},
			{38, nil, []string{"resolved ups.onbattery|ups1 WARNING"}},
		}},
		{"flapping that settles resolved sends the recovery notice", Policy{Renotify: -1, ResolveAfter: 1, FlapWindow: 30 * time.Minute, FlapChanges: 4}, []step{
			{0, []model.Finding{f("r", "x", C)}, []string{"firing r|x CRITICAL"}},
			{1, nil, []string{"resolved r|x CRITICAL"}},
			{2, []model.Finding{f("r", "x", C)}, []string{"firing r|x CRITICAL"}},
			{3, nil, []string{"flapping r|x CRITICAL"}},
			{4, []model.Finding{f("r", "x", C)}, nil},
			{5, nil, nil},
			{20, nil, nil},
			{40, nil, []string{"resolved r|x CRITICAL"}},
			{41, nil, nil},
		}},
		{"UNKNOWN alerts when MinSeverity is UNKNOWN", Policy{MinSeverity: U, ResolveAfter: 1}, []step{
			{0, []model.Finding{f("collector.failed", "collector:smart", U)}, []string{"firing collector.failed|collector:smart UNKNOWN"}},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr := New(c.pol)
			for i, s := range c.steps {
				got := summarize(tr.Update(t0.Add(time.Duration(s.at)*time.Minute), s.in))
				if diff := cmp.Diff(s.want, got); diff != "" {
					t.Fatalf("step %d (t+%dm): events (-want +got):\n%s", i, s.at, diff)
				}
			}
		})
	}
}

// A restart (save, new tracker, load) neither re-alerts nor forgets.
func TestPersistAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "alerts.json")
	pol := Policy{Renotify: time.Hour, ResolveAfter: 1}
	tr := New(pol)
	if got := summarize(tr.Update(t0, []model.Finding{f("md.degraded", "md0", C)})); len(got) != 1 {
		t.Fatalf("first cycle: %v", got)
	}
	if err := tr.Save(path); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("state file mode %o, want 600", st.Mode().Perm())
	}
	tr2 := New(pol)
	if err := tr2.Load(path); err != nil {
		t.Fatal(err)
	}
	if got := summarize(tr2.Update(t0.Add(time.Minute), []model.Finding{f("md.degraded", "md0", C)})); got != nil {
		t.Errorf("after restart the same alert re-alerted: %v", got)
	}
	got := summarize(tr2.Update(t0.Add(2*time.Minute), nil))
	if diff := cmp.Diff([]string{"resolved md.degraded|md0 CRITICAL"}, got); diff != "" {
		t.Errorf("after restart the alert was forgotten (-want +got):\n%s", diff)
	}
	a := tr2.Active()
	if len(a) != 0 {
		t.Errorf("active after resolve: %v", a)
	}
	// A corrupt file is an error, not a silent reset.
	os.WriteFile(path, []byte("{not json"), 0o600)
	if err := New(pol).Load(path); err == nil {
		t.Error("corrupt state loaded without error")
	}
	// A missing file is an empty state.
	if err := New(pol).Load(filepath.Join(dir, "none.json")); err != nil {
		t.Error(err)
	}
}

func TestWholeDisk(t *testing.T) {
	for in, want := range map[string]string{"sdb1": "sdb", "sdb": "sdb", "nvme0n1p2": "nvme0n1", "nvme0n1": "nvme0n1", "mmcblk0p1": "mmcblk0", "/dev/sdaa12": "sdaa", "md0": "md"} {
		if got := wholeDisk(in); got != want {
			t.Errorf("wholeDisk(%q) = %q, want %q", in, got, want)
		}
	}
}

func BenchmarkUpdate(b *testing.B) {
	var fs []model.Finding
	for i := 0; i < 200; i++ {
		fs = append(fs, f("smart.pending", "disk"+string(rune('a'+i%26))+string(rune('a'+i/26)), W))
	}
	tr := New(Policy{})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tr.Update(t0.Add(time.Duration(i)*time.Minute), fs)
	}
}

// 200 disks with warnings and one failed array naming 50 members.
func BenchmarkUpdateInhibition(b *testing.B) {
	var fs []model.Finding
	var members []string
	for i := 0; i < 200; i++ {
		name := "sd" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		fs = append(fs, f("smart.pending", name, W))
		if i < 50 {
			members = append(members, name+"1")
		}
	}
	fs = append(fs, f("md.failed", "md0", C, members...))
	tr := New(Policy{})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tr.Update(t0.Add(time.Duration(i)*time.Minute), fs)
	}
}

// A subject that could not be read keeps its alert: no recovery notice
// because diskwatch went blind.
func TestUnseenSubjectsKeepAlerts(t *testing.T) {
	tr := New(Policy{ResolveAfter: 1})
	fs := []model.Finding{f("md.degraded", "md0", C), f("smart.pending", "sdb", W)}
	tr.Update(t0, fs)
	blind := func(id string) bool { return id == "md0" }
	got := summarize(tr.UpdateExcept(t0.Add(time.Minute), nil, blind))
	if diff := cmp.Diff([]string{"resolved smart.pending|sdb WARNING"}, got); diff != "" {
		t.Errorf("while md0 is unseen (-want +got):\n%s", diff)
	}
	got = summarize(tr.UpdateExcept(t0.Add(2*time.Minute), nil, nil))
	if diff := cmp.Diff([]string{"resolved md.degraded|md0 CRITICAL"}, got); diff != "" {
		t.Errorf("once md0 is read again (-want +got):\n%s", diff)
	}
}

// A process that queued a firing and died before saving its state: the
// restarted tracker adopts the queued event and does not announce it
// again; then the resolution is announced once. Adopting what the state
// already records changes nothing.
func TestAdoptQueuedEvents(t *testing.T) {
	fd := f("md.degraded", "md0", model.Critical)
	a := New(Policy{ResolveAfter: 1})
	evs := a.Update(t0, []model.Finding{fd})
	if len(evs) != 1 || evs[0].Kind != Firing {
		t.Fatalf("first: %v", summarize(evs))
	}
	// The state was not saved: a fresh tracker, with only the queue.
	b := New(Policy{ResolveAfter: 1})
	b.Adopt(evs[0].Kind, evs[0].Time, evs[0].Alert)
	if evs := b.Update(t0.Add(time.Minute), []model.Finding{fd}); len(evs) != 0 {
		t.Errorf("re-announced after adopting: %v", summarize(evs))
	}
	if got := b.Active(); len(got) != 1 || !got[0].StartsAt.Equal(t0) {
		t.Errorf("active: %+v", got)
	}
	// Adopting again (the state now records it) is a no-op.
	b.Adopt(evs[0].Kind, evs[0].Time, evs[0].Alert)
	if evs := b.Update(t0.Add(2*time.Minute), nil); len(evs) != 1 || evs[0].Kind != Resolved {
		t.Errorf("resolution: %v", summarize(evs))
	}
	// A queued resolution is adopted too: nothing more to say.
	c := New(Policy{ResolveAfter: 1})
	c.Adopt(evs[0].Kind, evs[0].Time, evs[0].Alert)
	evr := a.Update(t0.Add(2*time.Minute), nil)
	c.Adopt(evr[0].Kind, evr[0].Time, evr[0].Alert)
	if evs := c.Update(t0.Add(3*time.Minute), nil); len(evs) != 0 {
		t.Errorf("after an adopted resolution: %v", summarize(evs))
	}
}
