package smartctl

import (
	"errors"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/diskwatch/diskwatch/collectors/model"
)

// TestStoredDiskKeepsEveryField stores every capture's readings the way the
// history store does (Disk.Samples) and rebuilds the disk from them
// (model.DiskFromMetrics, what `report` does for a disk known only from
// history): the rebuilt disk must give back the very same samples, and a
// disk whose SMART was read must not come back as "SMART disabled".
func TestStoredDiskKeepsEveryField(t *testing.T) {
	n := 0
	for _, f := range captures(t) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		d, err := Normalize(b)
		if _, special := notDevice[f]; special || errors.Is(err, ErrNotDevice) || err != nil {
			continue
		}
		samples := d.Samples()
		if len(samples) == 0 {
			continue
		}
		latest := map[string]float64{}
		for _, s := range samples {
			latest[s.Metric] = s.Value
		}
		back := model.DiskFromMetrics(d.Device.ID(), latest)
		// Order aside (a rebuilt disk lists attributes by id).
		byMetric := cmpopts.SortSlices(func(a, b model.Sample) bool { return a.Metric < b.Metric })
		if diff := cmp.Diff(samples, back.Samples(), byMetric); diff != "" {
			t.Errorf("%s: stored and rebuilt samples differ (-stored +rebuilt):\n%s", f, diff)
		}
		if d.SMARTEnabled != back.SMARTEnabled || d.SMARTAvailable != back.SMARTAvailable {
			t.Errorf("%s: SMART available=%v enabled=%v came back as available=%v enabled=%v", f,
				d.SMARTAvailable, d.SMARTEnabled, back.SMARTAvailable, back.SMARTEnabled)
		}
		if back.Device.ID() != d.Device.ID() {
			t.Errorf("%s: identity %q came back as %q", f, d.Device.ID(), back.Device.ID())
		}
		n++
	}
	if n < 10 {
		t.Fatalf("only %d captures had readings", n)
	}
	t.Logf("%d captures stored and rebuilt", n)
}
