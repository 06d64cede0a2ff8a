package config

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// CollectorNames are the names collector_intervals accepts.
var CollectorNames = []string{"mdraid", "smart", "smartctl", "kmsg", "hwraid", "hwmon", "ups", "probes"}

// positions maps a configuration path ("daemon.metrics_listen",
// "notify.webhook[0].url") to its value's node, so every error can say
// FILE:LINE:COL.
type positions map[string]*yaml.Node

var (
	nodeType      = reflect.TypeOf(yaml.Node{})
	unmarshalType = reflect.TypeOf((*yaml.Unmarshaler)(nil)).Elem()
	yamlMsgRE     = regexp.MustCompile("^(?:line \\d+: )?cannot unmarshal !!(\\w+) `(.*)` into (.+)$")
)

// walk checks the node n against type t before decoding, so that one
// mistake does not hide the others: an unknown key is reported (with the
// nearest known one) and dropped; a value of the wrong type is reported
// and cleared. Every node is recorded in pos under its path.
func walk(file string, n *yaml.Node, t reflect.Type, path string, pos positions, errs *[]error) {
	if n == nil {
		return
	}
	if n.Kind == yaml.DocumentNode {
		for _, c := range n.Content {
			walk(file, c, t, path, pos, errs)
		}
		return
	}
	if n.Kind == yaml.AliasNode || (n.Kind == yaml.ScalarNode && n.Tag == "!!null") {
		return
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if path != "" {
		pos[path] = n
	}
	where := path
	if where == "" {
		where = "the top level"
	}
	bad := func(at *yaml.Node, msg string, a ...any) {
		*errs = append(*errs, &Error{File: file, Line: at.Line, Col: at.Column, Msg: fmt.Sprintf(msg, a...)})
	}
	switch {
	case t == nodeType:
		return // parsed later with its own checks (rules:, devices:)
	case reflect.PointerTo(t).Implements(unmarshalType) || t.Kind() != reflect.Struct && t.Kind() != reflect.Map && t.Kind() != reflect.Slice:
		if err := n.Decode(reflect.New(t).Interface()); err != nil {
			if reflect.PointerTo(t).Implements(unmarshalType) {
				bad(n, "%s", typeMsg(err)) // says where itself
			} else {
				bad(n, "%s: %s", where, typeMsg(err))
			}
			clear(n)
		}
	case t.Kind() == reflect.Struct:
		if n.Kind != yaml.MappingNode {
			bad(n, "%s: expected a mapping of keys, not %s", where, kindName(n))
			clear(n)
			return
		}
		fields := map[string]reflect.Type{}
		var names []string
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name == "" || name == "-" || !f.IsExported() {
				continue
			}
			fields[name] = f.Type
			names = append(names, name)
		}
		keep := n.Content[:0]
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			ft, ok := fields[k.Value]
			if !ok {
				in := " in " + path
				if path == "" {
					in = " at the top level"
				}
				bad(k, "%q is not a known key%s%s", k.Value, in, suggest(k.Value, names))
				continue
			}
			keep = append(keep, k, v)
			walk(file, v, ft, join(path, k.Value), pos, errs)
		}
		n.Content = keep
	case t.Kind() == reflect.Map:
		if n.Kind != yaml.MappingNode {
			bad(n, "%s: expected a mapping, not %s", where, kindName(n))
			clear(n)
			return
		}
		keep := n.Content[:0]
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if path == "daemon.collector_intervals" && !contains(CollectorNames, k.Value) {
				bad(k, "%s: unknown collector %q%s", where, k.Value, suggest(k.Value, CollectorNames))
				continue
			}
			keep = append(keep, k, v)
			walk(file, v, t.Elem(), join(path, k.Value), pos, errs)
		}
		n.Content = keep
	case t.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			bad(n, "%s: expected a list, not %s", where, kindName(n))
			clear(n)
			return
		}
		for i, c := range n.Content {
			walk(file, c, t.Elem(), fmt.Sprintf("%s[%d]", path, i), pos, errs)
		}
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// clear makes n a null, so decoding leaves the default in place.
func clear(n *yaml.Node) {
	n.Kind, n.Tag, n.Value, n.Content, n.Style = yaml.ScalarNode, "!!null", "", nil, 0
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	return fmt.Sprintf("%q", n.Value)
}

// typeMsg turns yaml.v3's "cannot unmarshal !!str `30x` into
// time.Duration" into words an operator reads.
func typeMsg(err error) string {
	var te *yaml.TypeError
	msg := err.Error()
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	if m := yamlMsgRE.FindStringSubmatch(msg); m != nil {
		want := map[string]string{"time.Duration": "a duration such as 90s, 30m or 24h", "int": "a whole number", "bool": "true or false",
			"float64": "a number", "string": "a string", "[]string": "a list of strings"}[m[3]]
		if want == "" {
			want = m[3]
		}
		return fmt.Sprintf("%q is not %s", m[2], want)
	}
	return strings.TrimPrefix(regexp.MustCompile(`^line \d+: `).ReplaceAllString(msg, ""), "yaml: ")
}

// suggest returns ` (did you mean "x"?)` for the known name nearest to s,
// when it is near enough to be a typo.
func suggest(s string, known []string) string {
	best, bestD := "", 1<<30
	for _, k := range known {
		if d := distance(strings.ToLower(s), strings.ToLower(k)); d < bestD {
			best, bestD = k, d
		}
	}
	if best != "" && (bestD <= 2 || bestD <= len(s)/3) {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	if len(known) <= 12 {
		k := append([]string(nil), known...)
		sort.Strings(k)
		return " (known: " + strings.Join(k, ", ") + ")"
	}
	return ""
}

// distance is the Damerau-Levenshtein (optimal string alignment) distance.
func distance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// at gives err the position of path when it has none.
func (p positions) at(err error, path string) error {
	var e *Error
	if errors.As(err, &e) && e.Line == 0 {
		if n := p[path]; n != nil {
			e.Line, e.Col = n.Line, n.Column
		}
	}
	return err
}

// errAt is an error at the node of path (or of its nearest recorded parent).
func (p positions) errAt(file, path, msg string, a ...any) error {
	e := &Error{File: file, Msg: fmt.Sprintf(msg, a...)}
	for q := path; q != ""; {
		if n := p[q]; n != nil {
			e.Line, e.Col = n.Line, n.Column
			break
		}
		i := strings.LastIndexAny(q, ".[")
		if i < 0 {
			break
		}
		q = q[:i]
	}
	return e
}
