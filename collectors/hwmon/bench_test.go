package hwmon

import (
	"context"
	"testing"

	"github.com/diskwatch/diskwatch/collectors/hostroot"
	"github.com/diskwatch/diskwatch/collectors/model"
)

// BenchmarkCollectFixture reads the whole real fixture tree (12 chips, 23
// sensors) per iteration, file system reads included.
func BenchmarkCollectFixture(b *testing.B) {
	c := New(hostroot.New(buildRoot(b)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var snap model.Snapshot
		if err := c.Collect(context.Background(), &snap); err != nil || len(snap.Sensors) != 23 {
			b.Fatal(err, len(snap.Sensors))
		}
	}
}
