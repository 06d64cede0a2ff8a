package rules

import (
	"encoding/json"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/diskwatch/diskwatch/collectors/model"
)

// Subjects makes memHistory a SubjectLister.
func (h memHistory) SubjectsWithMetric(metric string, since time.Time) ([]string, error) {
	var out []string
	for k, ps := range h {
		if k[1] == metric && len(ps) > 0 && !ps[len(ps)-1].Time.Before(since) {
			out = append(out, k[0])
		}
	}
	sort.Strings(out)
	return out, nil
}

// TestSensorsOnRealFixture evaluates the readings of node_exporter's real
// hwmon fixture (collectors/hwmon/testdata/golden.json): nothing there is
// too hot; the chip limits that mean "unset" (in1_max 0, NVMe 65261.85°C)
// must not raise false alarms; nct6779 in1's alarm flag is reported only.
func TestSensorsOnRealFixture(t *testing.T) {
	b, err := os.ReadFile("../../collectors/hwmon/testdata/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var ss []model.Sensor
	if err := json.Unmarshal(b, &ss); err != nil {
		t.Fatal(err)
	}
	fs := NewSet(SensorRules()...).Evaluate(&Input{Snapshot: &model.Snapshot{Sensors: ss}, Now: time.Unix(1e9, 0)}, nil)
	if got := verdict(fs); got != "sensor.alarm:OK" || fs[0].SubjectID != "hwmon/nct6779@nct6775.656/in1" {
		t.Fatalf("verdict %q: %+v", got, fs)
	}
	// With a configured limit of 50°C for one core, only it is reported.
	st := &Settings{Devices: []DeviceSettings{{Path: "hwmon/coretemp@coretemp.0/temp2", Params: map[string]map[string]float64{"sensor.limit": {"temp_max": 50}}}}}
	fs = NewSet(SensorRules()...).Evaluate(&Input{Snapshot: &model.Snapshot{Sensors: ss}, Now: time.Unix(1e9, 0)}, st)
	if got := verdict(fs); got != "sensor.limit:WARNING sensor.alarm:OK" || !strings.Contains(fs[0].Message, "54.0°C, above its maximum 50.0°C") {
		t.Fatalf("override: %q %+v", got, fs)
	}
}

func TestSensorLimits(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	for _, tc := range []struct {
		s    model.Sensor
		want string
	}{
		{model.Sensor{ID: "a", Kind: "temperature", Unit: "C", Value: 101, Max: f(84), Crit: f(100)}, "sensor.limit:CRITICAL"},
		{model.Sensor{ID: "a", Kind: "temperature", Unit: "C", Value: 85, Max: f(84), Crit: f(100)}, "sensor.limit:WARNING"},
		{model.Sensor{ID: "a", Kind: "temperature", Unit: "C", Value: 84, Max: f(84), Crit: f(100)}, ""},
		{model.Sensor{ID: "a", Kind: "temperature", Unit: "C", Value: -5, Min: f(0)}, ""},
		{model.Sensor{ID: "probe/room", Kind: "temperature", Unit: "C", Value: 4, Min: f(10), Chip: "command"}, "sensor.limit:WARNING"},
		{model.Sensor{ID: "v", Kind: "voltage", Unit: "V", Value: 11.2, Min: f(11.4), Max: f(12.6)}, "sensor.limit:WARNING"},
		{model.Sensor{ID: "v", Kind: "voltage", Unit: "V", Value: 1.0, Min: f(0), Max: f(0)}, ""},
		{model.Sensor{ID: "f", Kind: "fan", Unit: "rpm", Value: 300, Min: f(600)}, "sensor.limit:WARNING"},
		{model.Sensor{ID: "f", Kind: "fan", Unit: "rpm", Value: 0, Min: f(600)}, ""},
		{model.Sensor{ID: "t", Kind: "temperature", Unit: "C", Value: 60, Alarm: true}, "sensor.alarm:WARNING"},
		{model.Sensor{ID: "h", Kind: "humidity", Unit: "%", Value: 81, Max: f(70)}, "sensor.limit:WARNING"},
	} {
		fs := NewSet(SensorRules()...).Evaluate(&Input{Snapshot: &model.Snapshot{Sensors: []model.Sensor{tc.s}}}, nil)
		if got := verdict(fs); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.s, got, tc.want)
		}
	}
}

func TestSensorHistoryRules(t *testing.T) {
	base := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	h := memHistory{}
	set := NewSet(SensorRules()...)
	run := func(i int, ss ...model.Sensor) string {
		now := base.Add(time.Duration(i) * time.Minute)
		snap := &model.Snapshot{Sensors: ss}
		h.add(now, snap.Samples())
		return verdict(set.Evaluate(&Input{Snapshot: snap, Now: now, History: h}, nil))
	}
	// A room probe warming 2°C per minute, a fan that stops, a drive
	// sensor that goes away.
	temps := []float64{24, 24, 26, 28, 30, 32}
	fans := []float64{1200, 1180, 1190, 0, 0, 0}
	wants := []string{"", "", "sensor.rising:WARNING", "sensor.fan_stopped:CRITICAL sensor.rising:WARNING", "sensor.fan_stopped:CRITICAL sensor.rising:WARNING",
		"sensor.fan_stopped:CRITICAL sensor.disappeared:WARNING sensor.rising:WARNING"}
	for i := range temps {
		ss := []model.Sensor{
			{ID: "probe/room", Kind: "temperature", Unit: "C", Value: temps[i]},
			{ID: "hwmon/nct6779@nct6775.656/fan2", Kind: "fan", Unit: "rpm", Value: fans[i]},
		}
		if i < 5 {
			ss = append(ss, model.Sensor{ID: "hwmon/drivetemp@wwn:5000/temp1", Kind: "temperature", Unit: "C", Value: 35})
		}
		if got := run(i, ss...); got != wants[i] {
			t.Errorf("cycle %d: %q, want %q", i, got, wants[i])
		}
	}
	// A fan that never spun is not a stopped fan.
	h2 := memHistory{}
	for i := 0; i < 3; i++ {
		now := base.Add(time.Duration(i) * time.Minute)
		snap := &model.Snapshot{Sensors: []model.Sensor{{ID: "fan9", Kind: "fan", Unit: "rpm", Value: 0}}}
		h2.add(now, snap.Samples())
		if fs := set.Evaluate(&Input{Snapshot: snap, Now: now, History: h2}, nil); len(fs) != 0 {
			t.Errorf("idle fan: %+v", fs)
		}
	}
}
