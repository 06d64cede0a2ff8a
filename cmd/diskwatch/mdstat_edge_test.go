package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// mdstat whose slot counts and slot map disagree, or that has counts but
// no map, never reads as healthy; a NUL inside a member's sysfs state does
// not hide write_error. Through `check --root`, as a user runs it.
func TestMdstatEdgeVerdicts(t *testing.T) {
	cfg := noConfig(t)
	for _, tc := range []struct {
		name, mdstat string
		state        map[string]string // member -> sysfs state
		wantCode     int
		wantRule     string
	}{
		{"counts say one missing, map says none", "Personalities : [raid1]\nmd0 : active raid1 sdb1[1] sda1[0]\n      1048512 blocks super 1.2 [2/1] [UU]\n\nunused devices: <none>\n",
			nil, exitCritical, "md.degraded"},
		{"counts without a slot map", "Personalities : [raid1]\nmd0 : active raid1 sda1[0]\n      1048512 blocks super 1.2 [2/1]\n\nunused devices: <none>\n",
			nil, exitCritical, "md.degraded"},
		{"consistent and whole", "Personalities : [raid1]\nmd0 : active raid1 sdb1[1] sda1[0]\n      1048512 blocks super 1.2 [2/2] [UU]\n\nunused devices: <none>\n",
			nil, exitOK, ""},
		{"NUL before write_error", "Personalities : [raid1]\nmd0 : active raid1 sdb1[1] sda1[0]\n      1048512 blocks super 1.2 [2/2] [UU]\n\nunused devices: <none>\n",
			map[string]string{"sda1": "in_sync", "sdb1": "in_sync,\x00write_error"}, exitCritical, "md.member_error"},
		{"NUL glued to write_error", "Personalities : [raid1]\nmd0 : active raid1 sdb1[1] sda1[0]\n      1048512 blocks super 1.2 [2/2] [UU]\n\nunused devices: <none>\n",
			map[string]string{"sda1": "in_sync", "sdb1": "in_sync\x00write_error\x00"}, exitCritical, "md.member_error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			os.MkdirAll(filepath.Join(root, "proc"), 0o755)
			os.WriteFile(filepath.Join(root, "proc", "mdstat"), []byte(tc.mdstat), 0o644)
			for m, st := range tc.state {
				d := filepath.Join(root, "sys/block/md0/md/dev-"+m)
				os.MkdirAll(d, 0o755)
				os.WriteFile(filepath.Join(d, "state"), []byte(st+"\n"), 0o644)
			}
			out, stderr, code := runCmd(t, nil, "check", "--root", root, "--config", cfg, "--format", "json")
			if code != tc.wantCode {
				t.Fatalf("exit %d, want %d\n%s\n%s", code, tc.wantCode, out, stderr)
			}
			if tc.wantRule != "" && !strings.Contains(out, `"rule": "`+tc.wantRule+`"`) {
				t.Errorf("no %s finding:\n%s", tc.wantRule, out)
			}
		})
	}
}
