package rules

import (
	"testing"

	"github.com/diskwatch/diskwatch/collectors/model"
)

func TestSmartctlCmdNeverInventsAPath(t *testing.T) {
	for _, tc := range []struct {
		dev  model.DeviceInfo
		want string
	}{
		{model.DeviceInfo{Path: "/dev/sda"}, "smartctl -x /dev/sda"},
		{model.DeviceInfo{Path: "/dev/twa0", Via: "3ware,1", Name: "twa0 port 1"}, "smartctl -x -d 3ware,1 /dev/twa0"},
		{model.DeviceInfo{Name: "sdc"}, "smartctl -x /dev/sdc"},
		// Rebuilt from history (a replayed fleet): the name is the identity.
		{model.DeviceInfo{Name: "ST32000542AS 6XW1G4CA", Identity: "serial:ST32000542AS_6XW1G4CA"}, "smartctl -x DEVICE"},
	} {
		if got := smartctlCmd(&model.Disk{Device: tc.dev}, "-x"); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.dev, got, tc.want)
		}
	}
}
