package zabbix_test

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/diskwatch/diskwatch/alerts/output/internal/testdoc"
	"github.com/diskwatch/diskwatch/alerts/output/zabbix"
)

const templateName = "diskwatch by Zabbix agent"

type tplPreproc struct {
	Type         string   `yaml:"type"`
	Parameters   []string `yaml:"parameters"`
	ErrorHandler string   `yaml:"error_handler"`
}

type tplTag struct{ Tag, Value string }

type tplTrigger struct {
	UUID         string   `yaml:"uuid"`
	Expression   string   `yaml:"expression"`
	Name         string   `yaml:"name"`
	Priority     string   `yaml:"priority"`
	Description  string   `yaml:"description"`
	Tags         []tplTag `yaml:"tags"`
	Dependencies []struct {
		Name, Expression string
	} `yaml:"dependencies"`
}

type tplItem struct {
	UUID          string `yaml:"uuid"`
	Name          string `yaml:"name"`
	Type          string `yaml:"type"`
	Key           string `yaml:"key"`
	Description   string `yaml:"description"`
	Valuemap      *struct{ Name string }
	Preprocessing []tplPreproc          `yaml:"preprocessing"`
	MasterItem    *struct{ Key string } `yaml:"master_item"`
	Tags          []tplTag              `yaml:"tags"`
	Triggers      []tplTrigger          `yaml:"triggers"`
}

type tplRule struct {
	tplItem           `yaml:",inline"`
	ItemPrototypes    []tplItem    `yaml:"item_prototypes"`
	TriggerPrototypes []tplTrigger `yaml:"trigger_prototypes"`
	Overrides         []struct {
		Operations []struct {
			Object string `yaml:"operationobject"`
			Value  string `yaml:"value"`
		} `yaml:"operations"`
	} `yaml:"overrides"`
	LLDMacroPaths []struct {
		Macro string `yaml:"lld_macro"`
		Path  string `yaml:"path"`
	} `yaml:"lld_macro_paths"`
}

type tplFile struct {
	Export struct {
		Version   string `yaml:"version"`
		Templates []struct {
			Template       string    `yaml:"template"`
			Items          []tplItem `yaml:"items"`
			DiscoveryRules []tplRule `yaml:"discovery_rules"`
			Macros         []struct{ Macro, Value, Description string }
			Valuemaps      []struct{ Name string }
			Tags           []tplTag
		} `yaml:"templates"`
	} `yaml:"zabbix_export"`
}

func readTemplate(t *testing.T) (tplFile, string) {
	t.Helper()
	b, err := os.ReadFile("../../../contrib/zabbix/template_diskwatch.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var f tplFile
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Export.Templates) != 1 || f.Export.Templates[0].Template != templateName {
		t.Fatalf("want one template %q", templateName)
	}
	return f, string(b)
}

// The shipped template is what Zabbix 6.0 imports and what its
// conventions ask for (the real import is TestZabbixServer in
// cmd/diskwatch-zabbix): UUIDv4s; one agent item, everything else
// dependent on it; every item tagged; every trigger described with what to
// do, tagged with its scope, its expression and dependencies pointing at
// what exists; every user macro and value map it uses defined.
func TestTemplateConventions(t *testing.T) {
	f, raw := readTemplate(t)
	tpl := f.Export.Templates[0]
	uuidv4 := regexp.MustCompile(`^[0-9a-f]{12}4[0-9a-f]{3}[89ab][0-9a-f]{15}$`)
	seen := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\s*(?:- )?uuid: (\S+)$`).FindAllStringSubmatch(raw, -1) {
		if !uuidv4.MatchString(m[1]) || seen[m[1]] {
			t.Errorf("uuid %s: not a UUIDv4 in 32 hex digits, or used twice", m[1])
		}
		seen[m[1]] = true
	}
	if len(seen) < 50 {
		t.Errorf("only %d uuids", len(seen))
	}

	// The agent item and its UserParameter.
	ub, err := os.ReadFile("../../../contrib/zabbix/userparameter_diskwatch.conf")
	if err != nil {
		t.Fatal(err)
	}
	ups := regexp.MustCompile(`(?m)^UserParameter=([^,]+),(.*)$`).FindAllStringSubmatch(string(ub), -1)
	if len(ups) != 1 || ups[0][1] != zabbix.MasterKey+"[*]" || !strings.Contains(ups[0][2], "diskwatch-zabbix get "+zabbix.MasterKey+` "$1"`) {
		t.Fatalf("UserParameter file: want one line for %s[*] running diskwatch-zabbix: %q", zabbix.MasterKey, ups)
	}
	var master string
	for _, it := range tpl.Items {
		if it.Type == "" {
			if master != "" {
				t.Errorf("second agent item %s: one process per host per interval", it.Key)
			}
			master = it.Key
		}
	}
	if !strings.HasPrefix(master, zabbix.MasterKey+"[") {
		t.Fatalf("agent item %q, want %s[...]", master, zabbix.MasterKey)
	}

	macros := map[string]bool{}
	for _, m := range tpl.Macros {
		if m.Description == "" {
			t.Errorf("macro %s has no description", m.Macro)
		}
		macros[m.Macro] = true
	}
	for _, m := range regexp.MustCompile(`\{\$([A-Z0-9_.]+)(?::"[^"]*")?\}`).FindAllStringSubmatch(raw, -1) {
		if !macros["{$"+m[1]+"}"] {
			t.Errorf("macro %s used but not defined in the template", m[0])
		}
	}
	maps := map[string]bool{}
	for _, v := range tpl.Valuemaps {
		maps[v.Name] = true
	}

	type trig struct {
		tplTrigger
		keys map[string]bool
	}
	var triggers []trig
	byID := map[string]bool{}
	checkItem := func(it tplItem, where string) {
		if it.Key != master && (it.Type != "DEPENDENT" || it.MasterItem == nil || it.MasterItem.Key != master) {
			t.Errorf("%s %s: not dependent on %s", where, it.Key, master)
		}
		if it.Description == "" {
			t.Errorf("%s %s: no description", where, it.Key)
		}
		if !hasTag(it.Tags, "component") && where != "discovery rule" {
			t.Errorf("%s %s: no component tag", where, it.Key)
		}
		if it.Valuemap != nil && !maps[it.Valuemap.Name] {
			t.Errorf("%s %s: value map %q not defined", where, it.Key, it.Valuemap.Name)
		}
	}
	hostKeys := map[string]bool{}
	for _, it := range tpl.Items {
		checkItem(it, "item")
		hostKeys[it.Key] = true
	}
	for _, it := range tpl.Items {
		for _, tr := range it.Triggers {
			triggers = append(triggers, trig{tr, hostKeys})
		}
	}
	for _, r := range tpl.DiscoveryRules {
		checkItem(r.tplItem, "discovery rule")
		keys := map[string]bool{}
		for k := range hostKeys {
			keys[k] = true
		}
		for _, p := range r.ItemPrototypes {
			checkItem(p, "item prototype")
			keys[p.Key] = true
		}
		for _, tr := range r.TriggerPrototypes {
			triggers = append(triggers, trig{tr, keys})
		}
		// An override's item prototype operation matches prototype names
		// (not keys): it must match one.
		for _, o := range r.Overrides {
			for _, op := range o.Operations {
				n := 0
				for _, p := range r.ItemPrototypes {
					if op.Object == "ITEM_PROTOTYPE" && strings.Contains(p.Name, op.Value) {
						n++
					}
				}
				if n == 0 {
					t.Errorf("discovery %s: override operation %q matches no item prototype name", r.Key, op.Value)
				}
			}
		}
	}
	for _, tr := range triggers {
		byID[tr.Name+"\x00"+tr.Expression] = true
	}
	ref := regexp.MustCompile(`\w+\(/([^/]+)/([^,)]+(?:\[[^\]]*\])?)`)
	for _, tr := range triggers {
		if !strings.Contains(strings.ToLower(tr.Description), "what to do") {
			t.Errorf("trigger %q: description does not say what to do", tr.Name)
		}
		if !hasTag(tr.Tags, "scope") {
			t.Errorf("trigger %q: no scope tag", tr.Name)
		}
		refs := ref.FindAllStringSubmatch(tr.Expression, -1)
		if len(refs) == 0 {
			t.Errorf("trigger %q: no item in %s", tr.Name, tr.Expression)
		}
		for _, m := range refs {
			if m[1] != templateName || !tr.keys[m[2]] {
				t.Errorf("trigger %q: %s/%s is not an item of this template (or of its discovery rule)", tr.Name, m[1], m[2])
			}
		}
		for _, d := range tr.Dependencies {
			if !byID[d.Name+"\x00"+d.Expression] {
				t.Errorf("trigger %q depends on %q, which is not a trigger of this template", tr.Name, d.Name)
			}
		}
	}
	if len(triggers) < 15 || len(tpl.DiscoveryRules) != 5 || !hasTag(tpl.Tags, "class") {
		t.Errorf("%d triggers, %d discovery rules, tags %v", len(triggers), len(tpl.DiscoveryRules), tpl.Tags)
	}
}

func hasTag(tags []tplTag, name string) bool {
	for _, t := range tags {
		if t.Tag == name && t.Value != "" {
			return true
		}
	}
	return false
}

// Every JSONPath of the template finds its value in what diskwatch.get
// answers for a snapshot with disks (ATA and NVMe), arrays, a UPS and a
// sensor, for every discovered entity; and finds nothing but the error
// when diskwatch is not running.
func TestTemplateJSONPaths(t *testing.T) {
	f, _ := readTemplate(t)
	tpl := f.Export.Templates[0]
	doc := testdoc.Doc()
	doc.Snapshot.Arrays[0].MismatchCount = 0 // as sysfs reports it
	fresh := decode(t, zabbix.NewMaster("/s/snapshot.json", doc, nil, testdoc.Time, 0).JSON())
	stale := decode(t, zabbix.NewMaster("/s/snapshot.json", doc, nil, testdoc.Time.Add(time.Hour), 0).JSON())

	for _, it := range tpl.Items {
		p := jsonPath(t, it)
		if p == "" {
			continue
		}
		if _, err := evalPath(fresh, p); err != nil {
			t.Errorf("item %s: %s: %v", it.Key, p, err)
		}
		v, err := evalPath(stale, p)
		switch it.Key {
		case "diskwatch.running", "diskwatch.error", "diskwatch.age":
			if err != nil {
				t.Errorf("item %s when not running: %v", it.Key, err)
			}
		default:
			if err == nil {
				t.Errorf("item %s when not running: %v, want an error", it.Key, v)
			}
		}
	}
	for _, r := range tpl.DiscoveryRules {
		rows, err := evalPath(fresh, jsonPath(t, r.tplItem))
		list, _ := rows.([]any)
		if err != nil || len(list) == 0 {
			t.Errorf("discovery %s: %v rows, %v", r.Key, rows, err)
			continue
		}
		if _, err := evalPath(stale, jsonPath(t, r.tplItem)); err == nil {
			t.Errorf("discovery %s finds rows when diskwatch is not running", r.Key)
		}
		for _, p := range r.ItemPrototypes {
			hits := 0
			for _, row := range list {
				path := jsonPath(t, p)
				for _, mp := range r.LLDMacroPaths {
					v, err := evalPath(row, mp.Path)
					if err != nil {
						t.Fatalf("discovery %s: macro %s: %v", r.Key, mp.Macro, err)
					}
					path = strings.ReplaceAll(path, mp.Macro, fmt.Sprint(v))
				}
				if _, err := evalPath(fresh, path); err == nil {
					hits++
				}
			}
			if hits == 0 {
				t.Errorf("item prototype %s: %s finds no value for any of %d rows", p.Key, jsonPath(t, p), len(list))
			}
		}
	}
}

func decode(t *testing.T, b []byte) any {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func jsonPath(t *testing.T, it tplItem) string {
	for _, p := range it.Preprocessing {
		if p.Type == "JSONPATH" {
			return p.Parameters[0]
		}
	}
	if it.MasterItem != nil {
		t.Errorf("%s: dependent without a JSONPath step", it.Key)
	}
	return ""
}

// evalPath evaluates the JSONPath subset the template uses:
// $.a.b, $.list[?(@.k=="v" && @.n==5)].field.first().
func evalPath(v any, path string) (any, error) {
	rest, ok := strings.CutPrefix(path, "$")
	if !ok {
		return nil, fmt.Errorf("path %q does not start with $", path)
	}
	first := false
	if r, ok := strings.CutSuffix(rest, ".first()"); ok {
		rest, first = r, true
	}
	var many []any
	filtered := false
	for rest != "" {
		switch {
		case strings.HasPrefix(rest, "[?("):
			end := strings.Index(rest, ")]")
			if end < 0 {
				return nil, fmt.Errorf("bad filter in %q", path)
			}
			list, ok := v.([]any)
			if !ok {
				return nil, fmt.Errorf("%q: filter on a non-list", path)
			}
			many, filtered = nil, true
			for _, e := range list {
				if match(e, rest[3:end]) {
					many = append(many, e)
				}
			}
			rest = rest[end+2:]
		case strings.HasPrefix(rest, "."):
			name := rest[1:]
			if i := strings.IndexAny(name, ".["); i >= 0 {
				name = name[:i]
			}
			rest = rest[1+len(name):]
			get := func(x any) (any, bool) {
				m, ok := x.(map[string]any)
				if !ok {
					return nil, false
				}
				y, ok := m[name]
				return y, ok
			}
			if filtered {
				var next []any
				for _, e := range many {
					if y, ok := get(e); ok {
						next = append(next, y)
					}
				}
				many = next
				continue
			}
			y, ok := get(v)
			if !ok {
				return nil, fmt.Errorf("no %q in %q", name, path)
			}
			v = y
		default:
			return nil, fmt.Errorf("unsupported %q in %q", rest, path)
		}
	}
	if filtered {
		if !first || len(many) == 0 {
			return nil, fmt.Errorf("%q: no match", path)
		}
		return many[0], nil
	}
	return v, nil
}

func match(e any, cond string) bool {
	m, ok := e.(map[string]any)
	if !ok {
		return false
	}
	for _, c := range strings.Split(cond, "&&") {
		k, want, ok := strings.Cut(strings.TrimSpace(c), "==")
		if !ok || !strings.HasPrefix(k, "@.") {
			return false
		}
		got, ok := m[k[2:]]
		if !ok {
			return false
		}
		if s, err := strconv.Unquote(want); err == nil {
			if got != s {
				return false
			}
		} else if n, err := strconv.ParseFloat(want, 64); err != nil || got != n {
			return false
		}
	}
	return true
}
