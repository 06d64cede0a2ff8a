package history

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/diskwatch/diskwatch/alerts/rules"
	"github.com/diskwatch/diskwatch/collectors/model"
)

var _ rules.SubjectLister = (*Store)(nil)

func TestSubjectsWithMetric(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	s, err := Open(context.Background(), t.TempDir(), Options{Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.Append(context.Background(), t0, []model.Sample{{Subject: "hwmon/a/temp1", Metric: "sensor_temperature", Value: 40}, {Subject: "hwmon/b/fan1", Metric: "sensor_fan", Value: 900}})
	s.Append(context.Background(), t0.Add(2*time.Hour), []model.Sample{{Subject: "hwmon/c/temp2", Metric: "sensor_temperature", Value: 41}})
	got, err := s.SubjectsWithMetric("sensor_temperature", t0)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"hwmon/a/temp1", "hwmon/c/temp2"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	got, _ = s.SubjectsWithMetric("sensor_temperature", t0.Add(time.Hour))
	if diff := cmp.Diff([]string{"hwmon/c/temp2"}, got); diff != "" {
		t.Errorf("since: (-want +got):\n%s", diff)
	}
}
