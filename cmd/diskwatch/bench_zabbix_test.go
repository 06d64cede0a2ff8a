package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// BenchmarkZabbixItemVsHello runs, in the same loop, a Zabbix item call
// answered from the daemon's snapshot — by the shipped fast path
// (diskwatch-zabbix get md.degraded md9) and by `diskwatch zabbix get` —
// and a static hello-world binary (Go, CGO_ENABLED=0; and C, gcc -static,
// when gcc is there). It reports each one's wall time per call and the
// fast path's ratio to the hellos. Target: within 2x.
func BenchmarkZabbixItemVsHello(b *testing.B) {
	dir := b.TempDir()
	dw := filepath.Join(dir, "diskwatch")
	build := func(out string, args ...string) {
		c := exec.Command("go", append([]string{"build", "-trimpath", "-ldflags", "-s -w", "-o", out}, args...)...)
		c.Env = append(os.Environ(), "CGO_ENABLED=0")
		if o, err := c.CombinedOutput(); err != nil {
			b.Fatalf("go build: %v\n%s", err, o)
		}
	}
	build(dw, ".")
	dwz := filepath.Join(dir, "diskwatch-zabbix")
	build(dwz, "../diskwatch-zabbix")
	hdir := filepath.Join(dir, "hello")
	os.MkdirAll(hdir, 0o755)
	os.WriteFile(filepath.Join(hdir, "go.mod"), []byte("module hello\n\ngo 1.22\n"), 0o644)
	os.WriteFile(filepath.Join(hdir, "main.go"), []byte("package main\n\nimport \"os\"\n\nfunc main() { os.Stdout.WriteString(\"hello\\n\") }\n"), 0o644)
	hello := filepath.Join(dir, "hello-go")
	c := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", hello, ".")
	c.Dir = hdir
	c.Env = append(os.Environ(), "CGO_ENABLED=0")
	if o, err := c.CombinedOutput(); err != nil {
		b.Fatalf("hello: %v\n%s", err, o)
	}
	chello := ""
	if gcc, err := exec.LookPath("gcc"); err == nil {
		src := filepath.Join(dir, "hello.c")
		os.WriteFile(src, []byte("#include <unistd.h>\nint main(void){write(1,\"hello\\n\",6);return 0;}\n"), 0o644)
		if exec.Command(gcc, "-static", "-O2", "-o", filepath.Join(dir, "hello-c"), src).Run() == nil {
			chello = filepath.Join(dir, "hello-c")
		}
	}

	// The daemon's snapshot of a fixture root.
	root := filepath.Join(dir, "root")
	copyRootB(b, "degraded-mix", root)
	cfg := filepath.Join(dir, "diskwatch.yaml")
	os.WriteFile(cfg, []byte(baseConfig), 0o600)
	state := filepath.Join(dir, "state")
	if o, err := exec.Command(dw, "daemon", "--root", root, "--config", cfg, "--state", state, "--no-history", "--metrics-listen", "off", "--rounds", "1").CombinedOutput(); err != nil {
		b.Fatalf("daemon: %v\n%s", err, o)
	}
	item := exec.Command(dw, "zabbix", "--state", state, "--max-age", "1000h", "get", "md.degraded", "md9")
	if o, err := item.Output(); err != nil || string(o) != "1\n" {
		b.Fatalf("item: %q %v", o, err)
	}
	run := func(argv ...string) time.Duration {
		c := exec.Command(argv[0], argv[1:]...)
		s := time.Now()
		if err := c.Run(); err != nil {
			b.Fatalf("%v: %v", argv, err)
		}
		return time.Since(s)
	}
	if o, err := exec.Command(dwz, "--state", state, "get", "md.degraded", "md9").Output(); err != nil || string(o) != "1\n" {
		b.Fatalf("fast item: %q %v", o, err)
	}
	var th, tc, tz, tf, tm time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		th += run(hello)
		if chello != "" {
			tc += run(chello)
		}
		tz += run(dw, "zabbix", "--state", state, "--max-age", "1000h", "get", "md.degraded", "md9")
		tf += run(dwz, "--state", state, "get", "md.degraded", "md9")
		tm += run(dwz, "--state", state, "get", "diskwatch.get", "1000h")
	}
	n := float64(b.N)
	ms := func(d time.Duration) float64 { return float64(d) / n / 1e6 }
	b.ReportMetric(ms(th), "hello_go_ms")
	if chello != "" {
		b.ReportMetric(ms(tc), "hello_c_ms")
		b.ReportMetric(float64(tf)/float64(tc), "fast_x_hello_c")
	}
	b.ReportMetric(ms(tz), "diskwatch_zabbix_ms")
	b.ReportMetric(ms(tf), "fastpath_ms")
	b.ReportMetric(float64(tf)/float64(th), "fast_x_hello_go")
	// The shipped template's one agent item: the whole host as JSON.
	b.ReportMetric(ms(tm), "template_item_ms")
	b.ReportMetric(float64(tm)/float64(th), "template_item_x_hello_go")
	b.ReportMetric(templateSpawnsPerMinute(b), "spawns_per_host_min")
}

// templateSpawnsPerMinute counts the process starts the shipped template
// costs a host per minute: every item the agent runs (not dependent, not
// calculated), at its interval (user macros at their template defaults).
// Discovery rules are dependent items and cost nothing more, however many
// disks the host has.
func templateSpawnsPerMinute(b *testing.B) float64 {
	raw, err := os.ReadFile("../../contrib/zabbix/template_diskwatch.yaml")
	if err != nil {
		b.Fatal(err)
	}
	var f struct {
		Export struct {
			Templates []struct {
				Macros []struct{ Macro, Value string }
				Items  []struct {
					Type, Key, Delay string
				}
				DiscoveryRules []struct {
					Type, Key, Delay string
					ItemPrototypes   []struct {
						Type, Key, Delay string
					} `yaml:"item_prototypes"`
				} `yaml:"discovery_rules"`
			}
		} `yaml:"zabbix_export"`
	}
	if err := yaml.Unmarshal(raw, &f); err != nil {
		b.Fatal(err)
	}
	t := f.Export.Templates[0]
	macros := map[string]string{}
	for _, m := range t.Macros {
		macros[m.Macro] = m.Value
	}
	perMin := 0.0
	add := func(typ, key, delay string) {
		if typ != "" && typ != "ZABBIX_PASSIVE" && typ != "ZABBIX_ACTIVE" {
			return // dependent, calculated, ...: no process
		}
		if v, ok := macros[delay]; ok {
			delay = v
		}
		d, err := time.ParseDuration(strings.Replace(delay, "d", "h", 1))
		if err != nil || d <= 0 {
			b.Fatalf("item %s: interval %q", key, delay)
		}
		if strings.HasSuffix(delay, "d") {
			d *= 24
		}
		perMin += float64(time.Minute) / float64(d)
	}
	for _, it := range t.Items {
		add(it.Type, it.Key, it.Delay)
	}
	for _, r := range t.DiscoveryRules {
		add(r.Type, r.Key, r.Delay)
		for _, p := range r.ItemPrototypes {
			if p.Type == "" || p.Type == "ZABBIX_PASSIVE" || p.Type == "ZABBIX_ACTIVE" {
				b.Fatalf("item prototype %s is an agent item: one process per disk", p.Key)
			}
		}
	}
	return perMin
}

func copyRootB(b *testing.B, name, dir string) {
	src := filepath.Join("testdata", "roots", name)
	err := filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if fi.IsDir() {
			return os.MkdirAll(filepath.Join(dir, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, rel), data, 0o644)
	})
	if err != nil {
		b.Fatal(err)
	}
}
