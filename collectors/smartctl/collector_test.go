package smartctl

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/diskwatch/diskwatch/collectors"
	"github.com/diskwatch/diskwatch/collectors/hostroot"
	"github.com/diskwatch/diskwatch/collectors/model"
)

func TestCollector(t *testing.T) {
	megaraid := abs(t, "testdata/scrutiny/smart-megaraid1.json")
	failing := abs(t, "testdata/scrutiny/smart-fail2.json")
	// The stand-in answers by device (its last argument).
	standIn(t, `for last; do :; done
case "$last" in
/dev/bus/0) cat '`+megaraid+`'; exit 4;;
/dev/sdc) cat '`+failing+`'; exit 216;;
/dev/sdb) echo '{"smartctl":{"messages":[{"string":"Device is in SLEEP mode, exit(2)","severity":"information"}],"exit_status":2},"device":{"name":"/dev/sdb","type":"sat","protocol":"ATA"}}'; exit 2;;
*) echo '{"smartctl":{"argv":["smartctl","'$last'"],"messages":[{"string":"Smartctl open device: '$last' failed: Permission denied","severity":"error"}],"exit_status":2}}'; exit 2;;
esac`)
	c := New(hostroot.New("/"), []Device{{"/dev/bus/0", "megaraid,1"}, {"/dev/sdb", ""}, {"/dev/sdc", "usbjmicron"}, {"/dev/sdd", ""}}, Backend{Timeout: 10 * time.Second})
	snap := collectors.Run(context.Background(), time.Unix(0, 0), []collectors.Named{{Name: "smartctl", Collector: c}})
	if len(snap.Disks) != 3 {
		t.Fatalf("want 3 disks (one unreadable), got %d", len(snap.Disks))
	}
	byPath := map[string]model.Disk{}
	for _, d := range snap.Disks {
		byPath[d.Device.Path] = d
	}
	if d := byPath["/dev/sda"]; d.Device.Via != "sat+megaraid,1" || d.Device.Model != "WD4000FYYX" {
		t.Errorf("megaraid disk: %+v", d.Device)
	}
	if d := byPath["/dev/sdb"]; d.Skipped != "sleep" {
		t.Errorf("sleeping disk: %+v", d)
	}
	if d := byPath["/dev/sdc"]; d.SMARTPassed == nil || *d.SMARTPassed {
		t.Errorf("failing disk: %+v", d.SMARTPassed)
	}
	st := snap.Sources[0]
	if st.State != model.SourcePartial || !st.PermissionDenied || len(st.Errors) != 1 || !strings.Contains(st.Errors[0], "/dev/sdd") {
		t.Errorf("source status: %+v", st)
	}
}

func TestCollectorAbsent(t *testing.T) {
	ctx := context.Background()
	var snap model.Snapshot
	if err := New(hostroot.New("/"), nil, Backend{}).Collect(ctx, &snap); !errors.Is(err, collectors.ErrAbsent) {
		t.Errorf("no devices: %v", err)
	}
	if err := New(hostroot.New(t.TempDir()), []Device{{Path: "/dev/sda"}}, Backend{}).Collect(ctx, &snap); !errors.Is(err, collectors.ErrAbsent) {
		t.Errorf("fixture root: %v", err)
	}
	err := New(hostroot.New("/"), []Device{{Path: "/dev/sda"}, {Path: "/dev/sdb"}}, Backend{Program: "/nonexistent/smartctl"}).Collect(ctx, &snap)
	if !errors.Is(err, ErrNotInstalled) || strings.Count(err.Error(), "not found") != 1 {
		t.Errorf("not installed: %v", err)
	}
}
