package zabbix_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/diskwatch/diskwatch/alerts/output/zabbix"
)

// The shipped Zabbix template and UserParameter file agree: every item key
// the template uses is defined for the agent and answered by diskwatch;
// UUIDs are unique 32-digit hex; triggers name their template.
func TestTemplateMatchesUserParameters(t *testing.T) {
	tb, err := os.ReadFile("../../../contrib/zabbix/template_diskwatch.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ub, err := os.ReadFile("../../../contrib/zabbix/userparameter_diskwatch.conf")
	if err != nil {
		t.Fatal(err)
	}
	defined := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^UserParameter=([a-z._]+)`).FindAllStringSubmatch(string(ub), -1) {
		defined[m[1]] = true
	}
	answered := map[string]bool{"diskwatch.discovery": true}
	for _, n := range zabbix.Items() {
		answered[n] = true
	}
	for k := range defined {
		if !answered[k] {
			t.Errorf("UserParameter %s is not an item diskwatch answers", k)
		}
	}
	var doc map[string]any
	if err := yaml.Unmarshal(tb, &doc); err != nil {
		t.Fatal(err)
	}
	uuids := map[string]bool{}
	hex32 := regexp.MustCompile(`^[0-9a-f]{32}$`)
	var keys, exprs []string
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				switch k {
				case "uuid":
					s, _ := c.(string)
					if !hex32.MatchString(s) || uuids[s] {
						t.Errorf("bad or duplicate uuid %q", s)
					}
					uuids[s] = true
				case "key":
					keys = append(keys, c.(string))
				case "expression":
					exprs = append(exprs, c.(string))
				}
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(doc)
	if len(keys) < 20 || len(exprs) < 10 {
		t.Fatalf("template has %d keys, %d trigger expressions", len(keys), len(exprs))
	}
	for _, k := range keys {
		name, _, _ := strings.Cut(k, "[")
		if !defined[name] {
			t.Errorf("template key %s has no UserParameter", k)
		}
	}
	for _, e := range exprs {
		if !strings.Contains(e, "/diskwatch by Zabbix agent/") {
			t.Errorf("trigger expression does not name the template: %s", e)
		}
	}
}
