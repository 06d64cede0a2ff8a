package zabbix_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/diskwatch/diskwatch/alerts/output/internal/testdoc"
	"github.com/diskwatch/diskwatch/alerts/output/zabbix"
)

func TestParseKey(t *testing.T) {
	cases := []struct {
		key     string
		name    string
		args    []string
		wantErr string
	}{
		{"diskwatch.status", "diskwatch.status", nil, ""},
		{"smart.attr[wwn:5000cca0499602d2,5,raw]", "smart.attr", []string{"wwn:5000cca0499602d2", "5", "raw"}, ""},
		{`smart.attr["serial:A_B",5]`, "smart.attr", []string{"serial:A_B", "5"}, ""},
		{"md.state[md0]", "md.state", []string{"md0"}, ""},
		{"ups.status[apc@127.0.0.1:3493]", "ups.status", []string{"apc@127.0.0.1:3493"}, ""},
		{"sensor[hwmon/coretemp/temp1]", "sensor", []string{"hwmon/coretemp/temp1"}, ""},
		{"smart.attr[sda,5,,]", "smart.attr", []string{"sda", "5"}, ""},
		{"md.state[../../etc/passwd]", "", nil, `".."`},
		{"md.state[md0/../../x]", "", nil, `".."`},
		{"md.state[--help]", "", nil, "may not start"},
		{"md.state[/dev/md0]", "", nil, "may not start"},
		{"md.state[md0;reboot]", "", nil, "not allowed"},
		{"md.state[$(id)]", "", nil, "not allowed"},
		{"md.state[md0", "", nil, "missing ]"},
		{"MD.state[md0]", "", nil, "bad item key"},
		{`md.state["md0]`, "", nil, "unterminated"},
		{"md.state[" + strings.Repeat("a", 200) + "]", "", nil, "longer"},
	}
	for _, c := range cases {
		name, args, err := zabbix.ParseKey(c.key)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("ParseKey(%q): err %v, want %q", c.key, err, c.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseKey(%q): %v", c.key, err)
			continue
		}
		if name != c.name || !cmp.Equal(args, c.args) {
			t.Errorf("ParseKey(%q) = %q %q, want %q %q", c.key, name, args, c.name, c.args)
		}
	}
}

func FuzzParseKey(f *testing.F) {
	for _, s := range []string{"smart.attr[wwn:5000cca0499602d2,5,raw]", `smart.attr["a,b",5]`, "md.state[md0]", "x[", "x[\"", "a[,,]", "sensor[hwmon/x/temp1]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		name, args, err := zabbix.ParseKey(key)
		if err != nil {
			return
		}
		if name == "" {
			t.Fatalf("empty name accepted from %q", key)
		}
		for _, a := range args {
			if zabbix.ValidateArg(a) != nil || strings.HasPrefix(a, "-") || strings.Contains(a, "..") {
				t.Fatalf("invalid argument %q accepted from %q", a, key)
			}
		}
	})
}

func TestGet(t *testing.T) {
	doc := testdoc.Doc()
	cases := []struct{ key, want string }{
		{"smart.attr[wwn:5000cca0499602d2,12,raw]", "81"},
		{"smart.attr[wwn:5000cca0499602d2,12]", "81"},
		{"smart.attr[wwn:5000cca0499602d2,12,thresh]", "0"},
		{"smart.health[wwn:5000cca0499602d2]", "1"},
		{"smart.temp[wwn:5000cca0499602d2]", "26"},
		{"smart.temp[nvme0]", "29"},
		{"smart.nvme[nvme0,critical_warning]", "0"},
		{"md.state[md127]", "active"},
		{"md.degraded[md127]", "0"},
		{"md.disks[md127,active]", "2"},
		{"ups.status[apc]", "OL DISCHRG"},
		{"ups.charge[apc@127.0.0.1:3493]", "100"},
		{"ups.runtime[apc]", "3618"},
		{"sensor[hwmon/coretemp/temp1]", "41"},
		{"diskwatch.status", "2"},
		{"diskwatch.collector[smartctl]", "partial"},
	}
	for _, c := range cases {
		name, args, err := zabbix.ParseKey(c.key)
		if err != nil {
			t.Fatalf("%s: %v", c.key, err)
		}
		got, err := zabbix.Get(doc, name, args, testdoc.Time)
		if err != nil {
			t.Errorf("%s: %v", c.key, err)
			continue
		}
		if got != c.want {
			t.Errorf("%s = %q, want %q", c.key, got, c.want)
		}
	}
	// md127 of the capture has no sysfs: its mismatch count is unknown,
	// not -1.
	for _, key := range []string{"md.state[md99]", "smart.temp[nosuchdisk]", "ups.status[none]", "sensor[x]", "md.mismatch[md127]"} {
		name, args, _ := zabbix.ParseKey(key)
		if _, err := zabbix.Get(doc, name, args, testdoc.Time); !errors.Is(err, zabbix.ErrNotFound) {
			t.Errorf("%s: err %v, want not found", key, err)
		}
	}
	if _, err := zabbix.Get(doc, "smart.attr", []string{"nvme0", "300"}, testdoc.Time); err == nil {
		t.Error("attribute 300 accepted")
	}
	if _, err := zabbix.Get(doc, "nope", nil, testdoc.Time); err == nil || !strings.Contains(err.Error(), "known:") {
		t.Errorf("unknown item: %v", err)
	}
}

func TestDiscovery(t *testing.T) {
	doc := testdoc.Doc()
	for _, k := range zabbix.Kinds {
		b, err := zabbix.Discovery(doc, k)
		if err != nil {
			t.Fatal(err)
		}
		var rows []map[string]string
		if err := json.Unmarshal(b, &rows); err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		if len(rows) == 0 {
			t.Errorf("%s: no rows", k)
		}
	}
	b, _ := zabbix.Discovery(doc, "disks")
	for _, want := range []string{`"{#DISKID}":"wwn:5000cca0499602d2"`, `"{#MODEL}":"HGST HUS724020ALE640"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("disks discovery lacks %s: %s", want, b)
		}
	}
	if _, err := zabbix.Discovery(doc, "../x"); err == nil {
		t.Error("bad kind accepted")
	}
}
