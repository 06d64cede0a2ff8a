package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// contribProm is the shipped Prometheus directory (rules, their tests, the
// Grafana dashboard).
const contribProm = "../../contrib/prometheus"

// promRules is the part of a rule file the tests look at.
type promRules struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert  string            `yaml:"alert"`
			Record string            `yaml:"record"`
			Expr   string            `yaml:"expr"`
			For    string            `yaml:"for"`
			Labels map[string]string `yaml:"labels"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

// promRuleTests is the part of a promtool test file the tests look at.
type promRuleTests struct {
	Tests []struct {
		AlertRuleTest []struct {
			Alertname string           `yaml:"alertname"`
			ExpAlerts []map[string]any `yaml:"exp_alerts"`
		} `yaml:"alert_rule_test"`
		PromQLExprTest []struct {
			Expr string `yaml:"expr"`
		} `yaml:"promql_expr_test"`
	} `yaml:"tests"`
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// promtool runs the real promtool (Debian package prometheus) in dir.
func runPromtool(t *testing.T, dir string, args ...string) {
	t.Helper()
	p := needProgram(t, "promtool", "prometheus")
	cmd := exec.Command(p, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	t.Logf("promtool %s:\n%s", strings.Join(args, " "), out)
}

// The shipped alerting rules pass promtool's checks and their unit tests,
// and every alert is tested firing (a test expecting it with labels) and
// carries a severity, a summary, a description and a remedy.
func TestPrometheusRules(t *testing.T) {
	runPromtool(t, contribProm, "check", "rules", "diskwatch.rules.yml")
	runPromtool(t, contribProm, "test", "rules", "diskwatch.rules.test.yml")

	var rules promRules
	readYAML(t, filepath.Join(contribProm, "diskwatch.rules.yml"), &rules)
	var tests promRuleTests
	readYAML(t, filepath.Join(contribProm, "diskwatch.rules.test.yml"), &tests)
	fired := map[string]bool{}
	for _, tc := range tests.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				fired[a.Alertname] = true
			}
		}
	}
	var raw struct {
		Groups []struct {
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	readYAML(t, filepath.Join(contribProm, "diskwatch.rules.yml"), &raw)
	n := 0
	for gi, g := range rules.Groups {
		for ri, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			n++
			if !fired[r.Alert] {
				t.Errorf("alert %s has no promtool test in which it fires", r.Alert)
			}
			if s := r.Labels["severity"]; s != "critical" && s != "warning" && s != "info" {
				t.Errorf("alert %s: severity %q", r.Alert, s)
			}
			ann := raw.Groups[gi].Rules[ri].Annotations
			for _, k := range []string{"summary", "description", "remedy"} {
				if ann[k] == "" {
					t.Errorf("alert %s lacks the %s annotation", r.Alert, k)
				}
			}
		}
	}
	if n < 10 {
		t.Errorf("only %d alerts read from the rule file", n)
	}
}
