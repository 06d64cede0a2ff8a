package mdraid

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/procfs"

	"github.com/diskwatch/diskwatch/collectors/model"
)

// captures are the real /proc/mdstat files in testdata/mdstat (sources in
// testdata/mdstat/SOURCES.md).
func captures(t testing.TB) []string {
	files, err := filepath.Glob("testdata/mdstat/*.txt")
	if err != nil || len(files) < 20 {
		t.Fatalf("mdstat captures missing: %v %d", err, len(files))
	}
	return files
}

func TestParseMDStatEveryCapture(t *testing.T) {
	for _, f := range captures(t) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		arrays, err := ParseMDStat(b)
		if err != nil {
			t.Errorf("%s: %v", f, err)
		}
		want := strings.Count(string(b), " : active") + strings.Count(string(b), " : inactive")
		if len(arrays) != want {
			t.Errorf("%s: %d arrays, want %d", f, len(arrays), want)
		}
	}
}

// TestAgreesWithProcfs is a differential test: wherever procfs parses a
// capture, both parsers must agree on every count and member flag.
func TestAgreesWithProcfs(t *testing.T) {
	compared := 0
	for _, f := range captures(t) {
		b, _ := os.ReadFile(f)
		dir := t.TempDir()
		os.MkdirAll(filepath.Join(dir, "proc"), 0o755)
		os.WriteFile(filepath.Join(dir, "proc", "mdstat"), b, 0o644)
		pfs, err := procfs.NewFS(filepath.Join(dir, "proc"))
		if err != nil {
			t.Fatal(err)
		}
		theirs, err := pfs.MDStat()
		if err != nil {
			t.Logf("%s: procfs cannot parse it (%v); ours must", filepath.Base(f), err)
			continue
		}
		ours, err := ParseMDStat(b)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if len(ours) != len(theirs) {
			t.Fatalf("%s: %d arrays, procfs %d", f, len(ours), len(theirs))
		}
		for i, p := range theirs {
			o := ours[i]
			type counts struct {
				Name                                        string
				Active, Total, Failed, Down, Spare, Members int64
				Pct                                         float64
			}
			got := counts{o.Name, int64(o.DisksActive), int64(o.DisksTotal), int64(o.DisksFailed), int64(o.DisksDown), int64(o.DisksSpare), int64(len(o.Members)), o.SyncPercent}
			want := counts{p.Name, p.DisksActive, p.DisksTotal, p.DisksFailed, p.DisksDown, p.DisksSpare, int64(len(p.Devices)), p.BlocksSyncedPct}
			if p.ActivityState == "inactive" {
				got.Active, got.Total, got.Down = 0, 0, 0 // procfs zeroes counts of inactive arrays
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s %s: differs from procfs (-procfs +ours):\n%s", filepath.Base(f), p.Name, diff)
			}
			for j, d := range p.Devices {
				m := o.Members[j]
				if d.Name != m.Name || d.Faulty != m.Faulty || d.Spare != m.Spare || int(d.DescriptorIndex) != m.Index {
					t.Errorf("%s %s member %d: procfs %+v, ours %+v", filepath.Base(f), p.Name, j, d, m)
				}
			}
			compared++
		}
	}
	if compared < 50 {
		t.Fatalf("only %d arrays compared", compared)
	}
}

func TestParseMDStatFields(t *testing.T) {
	b, err := os.ReadFile("testdata/mdstat/mdstat-procfs-fixture-full.txt")
	if err != nil {
		t.Fatal(err)
	}
	arrays, err := ParseMDStat(b)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]model.Array{}
	for _, a := range arrays {
		byName[a.Name] = a
	}
	md6 := byName["md6"]
	want := model.Array{
		Name: "md6", Path: "/dev/md6", Level: "raid1", Metadata: "0.90", Activity: "active",
		DisksTotal: 2, DisksActive: 1, DisksFailed: 1, DisksDown: 1, DisksSpare: 1, Degraded: -1,
		SyncAction: "recover", SyncPercent: 8.5, SyncSpeedKiBs: 259783, SyncETA: 17 * time.Minute,
		MismatchCount: -1, SizeBytes: 195310144 * 1024,
		Members: []model.Member{
			{Name: "sdb2", Index: 2, Slot: -1, Faulty: true, Errors: -1, BadBlocks: -1},
			{Name: "sdc", Index: 1, Slot: -1, Spare: true, Errors: -1, BadBlocks: -1},
			{Name: "sda2", Index: 0, Slot: -1, Errors: -1, BadBlocks: -1},
		},
	}
	if diff := cmp.Diff(want, md6); diff != "" {
		t.Errorf("md6 (-want +got):\n%s", diff)
	}
	for name, check := range map[string]func(model.Array) bool{
		"md11": func(a model.Array) bool {
			return a.ReadOnly && a.ArrayState == "read-auto" && a.SyncPending == "PENDING"
		},
		"md101": func(a model.Array) bool { return a.ReadOnly && a.ArrayState == "readonly" && a.Level == "raid0" },
		"md219": func(a model.Array) bool {
			return a.Activity == "inactive" && a.Metadata == "external:imsm" && a.DisksSpare == 3
		},
		"md126": func(a model.Array) bool { return a.Metadata == "external:/md127/0" && a.DisksTotal == 2 },
		"md42": func(a model.Array) bool {
			return a.SyncAction == "reshape" && a.DisksDown == 1 && a.SyncPercent == 56.1
		},
		"md201": func(a model.Array) bool { return a.SyncAction == "check" && a.SyncETA == 12*time.Second },
		"md9":   func(a model.Array) bool { return a.SyncPending == "DELAYED" && a.DisksFailed == 2 && a.DisksDown == 0 },
		"md120": func(a model.Array) bool { return a.Level == "linear" && a.DisksTotal == 2 },
	} {
		if !check(byName[name]) {
			t.Errorf("%s parsed wrong: %+v", name, byName[name])
		}
	}
}

func TestParseMDStatBadInput(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		arrays   []string
		errPart  string
	}{
		{"empty", "", nil, ""},
		{"header only", "Personalities : [raid1]\nunused devices: <none>\n", nil, ""},
		{"truncated after array line", "md0 : active raid1 sda1[0] sdb1[1]\n", nil, "no status line"},
		{"one bad of two", "md0 : active raid1 sda1[0] sdb1[1]\n      100 blocks [2/2] [UU]\nmd1 : active raid1 sd@@\n      x blocks\n", []string{"md0"}, "unreadable member"},
		{"bad slot map", "md0 : active raid1 sda1[0]\n      100 blocks [2/1] [UUU]\n", nil, "does not match"},
		{"unknown state", "md0 : dancing raid1 sda1[0]\n      100 blocks [1/1] [U]\n", nil, "unknown state"},
		{"control chars are escaped", "md\x1b[31m0 : active raid1 sda1[0]\n", nil, `\x1b`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			arrays, err := ParseMDStat([]byte(tc.in))
			var got []string
			for _, a := range arrays {
				got = append(got, a.Name)
			}
			if diff := cmp.Diff(tc.arrays, got); diff != "" {
				t.Errorf("arrays (-want +got):\n%s", diff)
			}
			if tc.errPart == "" && err != nil {
				t.Errorf("unexpected error %v", err)
			}
			if tc.errPart != "" && (err == nil || !strings.Contains(err.Error(), tc.errPart)) {
				t.Errorf("error %v, want one containing %q", err, tc.errPart)
			}
			if err != nil && strings.ContainsRune(err.Error(), 0x1b) {
				t.Errorf("raw escape in error: %q", err)
			}
		})
	}
}

func FuzzParseMDStat(f *testing.F) {
	for _, p := range captures(f) {
		b, _ := os.ReadFile(p)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		arrays, _ := ParseMDStat(b)
		for _, a := range arrays {
			if a.DisksDown < 0 || a.DisksActive < 0 || a.DisksTotal < 0 || a.Name == "" {
				t.Fatalf("impossible array %+v", a)
			}
		}
	})
}

func FuzzParseBadBlocks(f *testing.F) {
	f.Add([]byte("100000 1\n"))
	f.Add([]byte("8 8\n1024 16\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		n, s, err := ParseBadBlocks(b)
		if err == nil && (n < 0 || s < 0) {
			t.Fatalf("negative counts %d %d", n, s)
		}
	})
}

func TestParseBadBlocks(t *testing.T) {
	n, s, err := ParseBadBlocks([]byte("100000 1\n200 8\n"))
	if err != nil || n != 2 || s != 9 {
		t.Fatalf("got %d %d %v", n, s, err)
	}
	if _, _, err := ParseBadBlocks([]byte("100000\n")); err == nil {
		t.Fatal("no error for a short line")
	}
}
