package assemble

import (
	"context"
	"path"
	"strings"

	"github.com/rs/zerolog"

	"github.com/diskwatch/diskwatch/collectors/hostroot"
	"github.com/diskwatch/diskwatch/collectors/model"
	"github.com/diskwatch/diskwatch/collectors/smart"
)

// WhyNoDisks says in one line why no disk was read: the SMART collectors
// off, or each block device skipped and why.
func WhyNoDisks(ctx context.Context, fs hostroot.FS, smartOn bool) string {
	if !smartOn {
		return ": collectors.smart and collectors.smartctl are both disabled in the configuration"
	}
	_, skipped, err := smart.Discover(ctx, fs, zerolog.Nop())
	if err != nil {
		return ": " + model.Clean(err.Error())
	}
	if len(skipped) == 0 {
		return ": no disk under " + fs.Sys("block")
	}
	var why []string
	for _, sk := range skipped {
		why = append(why, model.Clean(sk.Name)+": "+model.Clean(sk.Reason))
	}
	return " (skipped " + strings.Join(why, "; ") + ")"
}

// PickDisks keeps the disks named by want (a path, "/dev/sda", or a name,
// "sda") in the order asked, and returns the names nothing matched.
func PickDisks(disks []model.Disk, want []string) (picked []model.Disk, missing []string) {
	for _, w := range want {
		found := false
		for _, d := range disks {
			if d.Device.Path == w || d.Device.Name == w || path.Base(d.Device.Path) == w {
				picked = append(picked, d)
				found = true
			}
		}
		if !found {
			missing = append(missing, w)
		}
	}
	return picked, missing
}
