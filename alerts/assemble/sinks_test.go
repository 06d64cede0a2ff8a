package assemble

import (
	"testing"

	"github.com/rs/zerolog"

	"github.com/diskwatch/diskwatch/alerts/config"
	"github.com/diskwatch/diskwatch/alerts/rules"
)

// A sink's name (its queue) follows where it delivers, not its place in
// the list: reordering the webhooks keeps each queue with its receiver.
func TestSinkNamesSurviveReordering(t *testing.T) {
	names := func(y string) map[string]string {
		c, err := config.Parse("t.yaml", []byte(y), rules.Default())
		if err != nil {
			t.Fatal(err)
		}
		ss, err := Sinks(c, zerolog.Nop())
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, s := range ss {
			out[s.Label] = s.Name
		}
		return out
	}
	a := names("notify:\n  webhook:\n    - url: http://127.0.0.1:1/a\n    - url: http://127.0.0.1:1/b\n")
	b := names("notify:\n  webhook:\n    - url: http://127.0.0.1:1/b\n    - url: http://127.0.0.1:1/a\n")
	if a["webhook[0]"] != b["webhook[1]"] || a["webhook[1]"] != b["webhook[0]"] || a["webhook[0]"] == a["webhook[1]"] {
		t.Errorf("names before %v, after reordering %v", a, b)
	}
}
