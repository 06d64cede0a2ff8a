package rules

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/diskwatch/diskwatch/collectors/mdraid"
	"github.com/diskwatch/diskwatch/collectors/model"
)

var now = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func eval(t *testing.T, st *Settings, arrays ...model.Array) []model.Finding {
	t.Helper()
	snap := &model.Snapshot{Time: now, Arrays: arrays, Sources: []model.SourceStatus{{Name: "mdraid", State: model.SourceOK}}}
	return NewSet(MDRules()...).Evaluate(&Input{Snapshot: snap, Now: now}, st)
}

// verdicts renders findings as "subject SEVERITY rule".
func verdicts(fs []model.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Subject+" "+f.Severity.String()+" "+f.Rule)
	}
	sort.Strings(out)
	return out
}

// TestVerdictsOnRealCaptures gives every real /proc/mdstat capture (see
// collectors/mdraid/testdata/mdstat/SOURCES.md) its expected verdicts.
func TestVerdictsOnRealCaptures(t *testing.T) {
	full := []string{
		"md101 WARNING md.readonly",
		"md11 CRITICAL md.degraded", "md11 OK md.readonly", "md11 OK md.sync",
		"md201 OK md.sync",
		"md4 CRITICAL md.inactive",
		"md42 CRITICAL md.degraded",
		"md6 WARNING md.rebuilding",
		"md7 CRITICAL md.degraded",
		"md8 OK md.sync",
		"md9 CRITICAL md.degraded", "md9 OK md.sync",
	}
	without42 := []string{}
	for _, v := range full {
		if !strings.HasPrefix(v, "md42 ") {
			without42 = append(without42, v)
		}
	}
	want := map[string][]string{
		"mdstat-procfs-fixture-full.txt":    full,
		"mdstat-node_exporter-fixture.txt":  without42,
		"mdstat-node_exporter-788ac9a8.txt": {"md4 CRITICAL md.inactive", "md6 WARNING md.rebuilding", "md7 CRITICAL md.degraded", "md8 OK md.sync"},
		"mdstat-node_exporter-9749c2c0.txt": {"md11 OK md.readonly", "md11 OK md.sync", "md4 CRITICAL md.inactive", "md6 WARNING md.rebuilding", "md7 CRITICAL md.degraded", "md8 OK md.sync", "md9 OK md.sync"},
		"mdstat-md0.txt":                    nil,
		"mdstat-md00.txt":                   nil,
		"mdstat-md10.txt":                   nil,
		"mdstat-md101.txt":                  {"md101 WARNING md.readonly"},
		"mdstat-md11.txt":                   {"md11 CRITICAL md.degraded", "md11 OK md.readonly", "md11 OK md.sync"},
		"mdstat-md12.txt":                   nil,
		"mdstat-md120.txt":                  nil,
		"mdstat-md126.txt":                  nil,
		"mdstat-md127.txt":                  nil,
		"mdstat-md201.txt":                  {"md201 OK md.sync"},
		"mdstat-md219.txt":                  nil, // an IMSM container is always "inactive"
		"mdstat-md3.txt":                    nil,
		"mdstat-md4.txt":                    {"md4 CRITICAL md.inactive"},
		"mdstat-md42.txt":                   {"md42 CRITICAL md.degraded"},
		"mdstat-md6.txt":                    {"md6 WARNING md.rebuilding"},
		"mdstat-md7.txt":                    {"md7 CRITICAL md.degraded"},
		"mdstat-md8.txt":                    {"md8 OK md.sync"},
		"mdstat-md9.txt":                    {"md9 CRITICAL md.degraded", "md9 OK md.sync"},
	}
	files, _ := filepath.Glob("../../collectors/mdraid/testdata/mdstat/*.txt")
	if len(files) != len(want) {
		t.Fatalf("%d captures, %d verdicts: every capture needs a verdict", len(files), len(want))
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		arrays, err := mdraid.ParseMDStat(b)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		w, ok := want[filepath.Base(f)]
		if !ok {
			t.Errorf("%s: no expected verdict", f)
			continue
		}
		if diff := cmp.Diff(w, verdicts(eval(t, nil, arrays...))); diff != "" {
			t.Errorf("%s (-want +got):\n%s", filepath.Base(f), diff)
		}
	}
}

func arr(mut func(*model.Array)) model.Array {
	a := model.Array{Name: "md0", Path: "/dev/md0", Level: "raid1", Activity: "active", ArrayState: "clean",
		DisksTotal: 2, DisksActive: 2, Degraded: 0, MismatchCount: 0, SyncAction: "idle",
		Members: []model.Member{{Name: "sda1", Slot: 0, State: []string{"in_sync"}}, {Name: "sdb1", Slot: 1, State: []string{"in_sync"}}}}
	mut(&a)
	return a
}

func TestMDScenarios(t *testing.T) {
	for _, tc := range []struct {
		name    string
		a       model.Array
		want    []string
		message []string // substrings of the first finding's message+remedy
	}{
		{"healthy", arr(func(*model.Array) {}), nil, nil},
		{"re-attached, never re-added", arr(func(a *model.Array) {
			a.DisksActive, a.DisksDown, a.Degraded = 1, 1, 1
			a.Members = a.Members[:1]
			a.Candidates = []string{"sdb1"}
		}), []string{"md0 CRITICAL md.degraded"}, []string{"DEGRADED [2/1]", "/dev/sdb1 carries this array's superblock", "mdadm /dev/md0 --add /dev/sdb1"}},
		{"member failed", arr(func(a *model.Array) {
			a.DisksActive, a.DisksDown, a.Degraded, a.DisksFailed = 1, 1, 1, 1
			a.Members[1].Faulty = true
			a.Members[1].State = []string{"faulty"}
		}), []string{"md0 CRITICAL md.degraded"}, []string{"failed: sdb1", "mdadm /dev/md0 --remove /dev/sdb1", "--add /dev/NEWDISK"}},
		{"rebuilding", arr(func(a *model.Array) {
			a.DisksActive, a.DisksDown, a.Degraded = 1, 1, 1
			a.SyncAction, a.SyncPercent, a.SyncSpeedKiBs, a.SyncETA = "recover", 6.2, 2000, 24*time.Second
		}), []string{"md0 WARNING md.rebuilding"}, []string{"rebuilding [2/1]: 6.2% done", "2 MiB/s", "24s left"}},
		{"write error hidden from mdstat", arr(func(a *model.Array) {
			a.Members[1].State = []string{"in_sync", "write_error", "want_replacement"}
			a.Members[1].BadBlocks, a.Members[1].BadSectors = 1, 1
		}), []string{"md0 CRITICAL md.member_error"}, []string{"member sdb1: write_error, want_replacement, 1 bad-block entries", "replace"}},
		{"mismatch on raid1 is info", arr(func(a *model.Array) { a.MismatchCount, a.LastSyncAction = 128, "check" }),
			[]string{"md0 OK md.mismatch"}, []string{"usually harmless"}},
		{"mismatch on raid5 warns", arr(func(a *model.Array) {
			a.Level, a.MismatchCount, a.LastSyncAction, a.DisksTotal, a.DisksActive = "raid5", 8, "check", 3, 3
		}), []string{"md0 WARNING md.mismatch"}, []string{"parity and data disagree", "echo repair"}},
		{"mismatch while a check still runs is not judged", arr(func(a *model.Array) {
			a.Level, a.MismatchCount, a.SyncAction, a.SyncPercent = "raid5", 8, "check", 40
		}), []string{"md0 OK md.sync"}, nil},
		{"broken", arr(func(a *model.Array) { a.ArrayState = "broken" }), []string{"md0 CRITICAL md.inactive"}, []string{"failed"}},
		{"boot member without boot code", arr(func(a *model.Array) {
			a.MountPoints = []string{"/"}
			a.Boot = []model.BootInfo{{Disk: "sda", BIOS: true}, {Disk: "sdb"}}
		}), []string{"md0 WARNING md.boot"}, []string{"member disk sdb", "grub-install /dev/sdb"}},
		{"BIOS: GPT member without a BIOS boot partition", arr(func(a *model.Array) {
			a.MountPoints = []string{"/"}
			a.Boot = []model.BootInfo{biosOK("sda"), {Disk: "sdb", Firmware: "bios", GPT: true, BIOS: true, GRUB: true}}
		}), []string{"md0 WARNING md.boot"}, []string{"sdb is GPT but has no BIOS boot partition", "-t 0:ef02 /dev/sdb", "grub-install /dev/sdb", "dpkg-reconfigure grub-pc", "if sda dies"}},
		{"BIOS: member without core.img", arr(func(a *model.Array) {
			a.MountPoints = []string{"/"}
			a.Boot = []model.BootInfo{biosOK("sda"), {Disk: "sdb", Firmware: "bios", GPT: true, BIOS: true, GRUB: true, BIOSBootPartition: true}}
		}), []string{"md0 WARNING md.boot"}, []string{"sdb has no GRUB core.img in its BIOS boot partition", "grub-install /dev/sdb"}},
		{"BIOS: MBR member without core.img in the gap", arr(func(a *model.Array) {
			a.MountPoints = []string{"/"}
			a.Boot = []model.BootInfo{biosOK("sda"), {Disk: "sdb", Firmware: "bios", BIOS: true, GRUB: true}}
		}), []string{"md0 WARNING md.boot"}, []string{"no GRUB core.img in the gap after its MBR", "grub-install /dev/sdb"}},
		{"BIOS: an ESP does not make a member bootable", arr(func(a *model.Array) {
			a.MountPoints = []string{"/"}
			a.Boot = []model.BootInfo{biosOK("sda"), {Disk: "sdb", Firmware: "bios", GPT: true, EFI: true, ESPPartition: 1}}
		}), []string{"md0 WARNING md.boot"}, []string{"sdb is GPT but has no BIOS boot partition"}},
		{"BIOS: another boot loader's MBR code is not judged", arr(func(a *model.Array) {
			a.MountPoints = []string{"/"}
			a.Boot = []model.BootInfo{biosOK("sda"), {Disk: "sdb", Firmware: "bios", GPT: true, BIOS: true}}
		}), nil, nil},
		{"BIOS: healthy pair", arr(func(a *model.Array) {
			a.MountPoints = []string{"/"}
			a.Boot = []model.BootInfo{biosOK("sda"), biosOK("sdb")}
		}), nil, nil},
		{"UEFI: healthy pair", arr(func(a *model.Array) {
			a.MountPoints = []string{"/"}
			a.Boot = []model.BootInfo{uefiOK("sda", grubA), uefiOK("sdb", grubA)}
		}), nil, nil},
		{"UEFI: boot code in the MBR does not make a member bootable", arr(func(a *model.Array) {
			a.MountPoints = []string{"/"}
			a.Boot = []model.BootInfo{uefiOK("sda", grubA), {Disk: "sdb", Firmware: "uefi", BIOS: true}}
		}), []string{"md0 WARNING md.boot"}, []string{"sdb has no EFI system partition", "efibootmgr -c -d /dev/sdb -p N", `\EFI\debian\shimx64.efi`}},
		{"UEFI: empty ESP", arr(func(a *model.Array) {
			a.MountPoints = []string{"/boot"}
			a.Boot = []model.BootInfo{uefiOK("nvme0n1", grubA), {Disk: "nvme1n1", Firmware: "uefi", GPT: true, EFI: true, ESPPartition: 1}}
		}), []string{"md0 WARNING md.boot"}, []string{"member disk nvme1n1 (nvme1n1p1) holds no", "of=/dev/nvme1n1p1", "--efi-directory", "if nvme0n1 dies"}},
		{"UEFI: ESPs drifted apart", arr(func(a *model.Array) {
			a.MountPoints = []string{"/"}
			a.Boot = []model.BootInfo{uefiOK("sda", grubA), uefiOK("sdb", grubB), uefiOK("sdc", grubA)}
		}), []string{"md0 WARNING md.boot"}, []string{"drifted apart (sda+sdc vs sdb differ: EFI/debian/grubx64.efi)", "rsync -a --delete /boot/efi/", "--efi-directory"}},
		{"UEFI: an unreadable ESP is unknown, not a warning", arr(func(a *model.Array) {
			a.MountPoints = []string{"/"}
			a.Boot = []model.BootInfo{uefiOK("sda", grubA), {Disk: "sdb", Firmware: "uefi", EFI: true, ESPPartition: 1, ESPError: "sdb partition 1: FAT boot sector: no 55AA signature"}}
		}), nil, nil},
		{"UEFI: member ESP without a boot entry is a notice", arr(func(a *model.Array) {
			a.MountPoints = []string{"/"}
			sda, sdb := uefiOK("sda", grubA), uefiOK("sdb", grubA)
			sda.BootEntries, sdb.NoBootEntry = []string{"Boot0001"}, true
			a.Boot = []model.BootInfo{sda, sdb}
		}), []string{"md0 NOTICE md.boot_entry"}, []string{"member disk sdb (sdb1)", "if sda dies", `efibootmgr -c -d /dev/sdb -p 1 -L 'debian (sdb)' -l '\EFI\debian\shimx64.efi'`}},
		{"UEFI: boot entries unknown (no efivars) say nothing", arr(func(a *model.Array) {
			a.MountPoints = []string{"/"}
			a.Boot = []model.BootInfo{uefiOK("sda", grubA), uefiOK("sdb", grubA)}
		}), nil, nil},
		{"boot members all bootable", arr(func(a *model.Array) {
			a.MountPoints = []string{"/boot"}
			a.Boot = []model.BootInfo{{Disk: "sda", BIOS: true}, {Disk: "sdb", EFI: true}}
		}), nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := eval(t, nil, tc.a)
			if diff := cmp.Diff(tc.want, verdicts(fs)); diff != "" {
				t.Fatalf("(-want +got):\n%s", diff)
			}
			for _, s := range tc.message {
				if !strings.Contains(fs[0].Message+" — "+fs[0].Remedy, s) {
					t.Errorf("message %q / remedy %q lacks %q", fs[0].Message, fs[0].Remedy, s)
				}
			}
		})
	}
}

func TestSettings(t *testing.T) {
	raid1Mismatch := arr(func(a *model.Array) { a.MismatchCount, a.LastSyncAction = 128, "check" })
	st := &Settings{Global: map[string]map[string]float64{"md.mismatch": {"raid1_warn": 1}}}
	if diff := cmp.Diff([]string{"md0 WARNING md.mismatch"}, verdicts(eval(t, st, raid1Mismatch))); diff != "" {
		t.Errorf("global override (-want +got):\n%s", diff)
	}
	st.Devices = []DeviceSettings{{Path: "/dev/md0", Params: map[string]map[string]float64{"md.mismatch": {"min": 1000}}}}
	if got := verdicts(eval(t, st, raid1Mismatch)); got != nil {
		t.Errorf("per-device min: %v", got)
	}
	st = &Settings{Enabled: map[string]bool{"md.mismatch": false}}
	if got := verdicts(eval(t, st, raid1Mismatch)); got != nil {
		t.Errorf("disabled rule fired: %v", got)
	}
	st = &Settings{Devices: []DeviceSettings{{Path: "/dev/md9", Enabled: map[string]bool{"md.mismatch": false}}}}
	if got := verdicts(eval(t, st, raid1Mismatch)); len(got) != 1 {
		t.Errorf("override for another device applied: %v", got)
	}
	if !(DeviceSettings{Model: "ST4000*"}).Matches(model.Match{Model: "ST4000DM000"}) || (DeviceSettings{Model: "ST4000*", Serial: "X"}).Matches(model.Match{Model: "ST4000DM000"}) {
		t.Error("model glob / AND matching wrong")
	}
}

var (
	grubA = model.EFIFile{Path: "EFI/debian/grubx64.efi", Size: 2_000_000, SHA256: "aa"}
	grubB = model.EFIFile{Path: "EFI/debian/grubx64.efi", Size: 2_000_512, SHA256: "bb"}
)

func biosOK(d string) model.BootInfo {
	return model.BootInfo{Disk: d, Firmware: "bios", GPT: true, BIOS: true, GRUB: true, BIOSBootPartition: true, CoreImg: true}
}

func uefiOK(d string, grub model.EFIFile) model.BootInfo {
	shim := model.EFIFile{Path: "EFI/debian/shimx64.efi", Size: 950_000, SHA256: "cc"}
	return model.BootInfo{Disk: d, Firmware: "uefi", GPT: true, EFI: true, ESPPartition: 1, Loaders: []model.EFIFile{grub, shim}}
}
