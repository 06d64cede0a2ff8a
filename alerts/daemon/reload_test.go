package daemon

import (
	"strings"
	"testing"

	"github.com/diskwatch/diskwatch/alerts/config"
	"github.com/diskwatch/diskwatch/alerts/rules"
)

// A reload that would remove every sink (an emptied or truncated file
// reads as the defaults) is refused unless the file says so.
func TestSinklessReloadRefused(t *testing.T) {
	parse := func(y string) *config.Config {
		c, err := config.Parse("t.yaml", []byte(y), rules.Default())
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	running := parse("notify:\n  webhook:\n    - url: http://127.0.0.1:1/hook\n")
	for _, tc := range []struct {
		name, next string
		refused    bool
	}{
		{"defaults only", "{}\n", true},
		{"no sinks", "notify:\n  renotify: 1h\n", true},
		{"no sinks, explicitly", "notify:\n  allow_no_sinks: true\n", false},
		{"another sink", "notify:\n  exec:\n    - argv: [/bin/true]\n", false},
	} {
		err := sinklessReload(running, parse(tc.next))
		if (err != nil) != tc.refused {
			t.Errorf("%s: %v, want refused=%v", tc.name, err, tc.refused)
		}
		if err != nil && !strings.Contains(err.Error(), "allow_no_sinks") {
			t.Errorf("%s: the refusal does not name the way out: %v", tc.name, err)
		}
	}
	// Nothing to lose: a sink-less configuration reloads freely.
	if err := sinklessReload(parse("{}\n"), parse("{}\n")); err != nil {
		t.Errorf("sink-less to sink-less: %v", err)
	}
}
