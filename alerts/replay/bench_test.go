package replay

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/diskwatch/diskwatch/alerts/replay/backblaze"
)

// fixture finds the shared Backblaze fixture (../shared beside the
// checkout, as CI lays it out, or further up for a worktree).
func fixture(tb testing.TB) string {
	dir, _ := filepath.Abs(".")
	for ; dir != "/"; dir = filepath.Dir(dir) {
		p := filepath.Join(dir, "shared", "fixtures", "backblaze", "2013q2")
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			return p
		}
	}
	tb.Skip("shared Backblaze fixture (shared/fixtures/backblaze/2013q2) not found above the checkout")
	return ""
}

// cpuSeconds is the process's user + system CPU time.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// plainCopy writes the fixture's daily files decompressed into dir: the
// form Backblaze ships them in (a zip of plain daily CSVs).
func plainCopy(tb testing.TB, from, dir string) {
	files, _ := filepath.Glob(filepath.Join(from, "*.csv.gz"))
	for _, f := range files {
		in, err := os.Open(f)
		if err != nil {
			tb.Fatal(err)
		}
		gz, err := gzip.NewReader(in)
		if err != nil {
			tb.Fatal(err)
		}
		out, err := os.Create(filepath.Join(dir, strings.TrimSuffix(filepath.Base(f), ".gz")))
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := io.Copy(out, gz); err != nil {
			tb.Fatal(err)
		}
		out.Close()
		in.Close()
	}
}

// BenchmarkReplayVsPython replays the shared fixture (437,892 drive-days)
// with diskwatch and with the plain Python reference
// (contrib/bench/replay_reference.py) in the same run, each on one core,
// on the files as stored (.csv.gz) and as Backblaze ships them (plain
// .csv), and prints both rates in drive-days per CPU-second.
func BenchmarkReplayVsPython(b *testing.B) {
	gzDir := fixture(b)
	py, err := exec.LookPath("python3")
	if err != nil {
		b.Skip("python3 not installed")
	}
	csvDir := b.TempDir()
	plainCopy(b, gzDir, csvDir)
	ref, _ := filepath.Abs("../../contrib/bench/replay_reference.py")
	prev := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(prev)
	for _, in := range []struct{ name, dir string }{{"csv.gz", gzDir}, {"csv", csvDir}} {
		// Each iteration runs both, one after the other; the figures are
		// the medians over iterations (-benchtime 3x on a busy machine).
		var goRates, pyRates, parseRates []float64
		for i := 0; i < b.N; i++ {
			runtime.GC()
			// The floor: reading and parsing the same cells alone.
			parseRates = append(parseRates, parseOnly(b, in.dir))
			runtime.GC()
			src, err := backblaze.Open(in.dir)
			if err != nil {
				b.Fatal(err)
			}
			c0 := cpuSeconds()
			sum, err := Run(context.Background(), src, Options{}, time.Now)
			cpu := cpuSeconds() - c0
			src.Close()
			if err != nil {
				b.Fatal(err)
			}
			goRates = append(goRates, float64(sum.Rows)/cpu)

			out, err := exec.Command(py, ref, in.dir).Output()
			if err != nil {
				b.Fatalf("%s: %v", ref, err)
			}
			var r struct {
				Rows int64   `json:"rows"`
				Rate float64 `json:"drive_days_per_second"`
				BB7  int     `json:"practice_caught_7d"`
			}
			if err := json.Unmarshal(out, &r); err != nil {
				b.Fatalf("%s: %v: %s", ref, err, out)
			}
			if r.Rows != sum.Rows || r.BB7 != sum.Methods[2].Ahead["7"].K {
				b.Fatalf("the reference read %d rows and caught %d, replay %d and %d: not the same job", r.Rows, r.BB7, sum.Rows, sum.Methods[2].Ahead["7"].K)
			}
			pyRates = append(pyRates, r.Rate)
		}
		goRate, pyRate, parseRate := median(goRates), median(pyRates), median(parseRates)
		b.ReportMetric(goRate, in.name+"-go-drive-days/s")
		b.ReportMetric(pyRate, in.name+"-python-drive-days/s")
		b.Logf("replay of %s: diskwatch %.0f drive-days/CPU-s, plain Python %.0f: %.1fx; reading and parsing alone %.0f: %.1fx (medians of %d runs each)",
			in.name, goRate, pyRate, goRate/pyRate, parseRate, parseRate/pyRate, b.N)
	}
}

// parseOnly reads every row of dir as replay does (the same cells parsed)
// and does nothing with them: the cost floor of the input, in drive-days
// per CPU-second.
func parseOnly(tb testing.TB, dir string) float64 {
	src, err := backblaze.Open(dir)
	if err != nil {
		tb.Fatal(err)
	}
	defer src.Close()
	src.Want(wantedIDs)
	var row backblaze.Row
	rows := 0
	c0 := cpuSeconds()
	for {
		err := src.NextRow(context.Background(), &row)
		if err == io.EOF {
			break
		}
		if err != nil {
			tb.Fatal(err)
		}
		rows++
	}
	return float64(rows) / (cpuSeconds() - c0)
}

// BenchmarkReplayFixture replays the whole shared fixture, for profiling:
// go test -run '^$' -bench ReplayFixture -benchtime 3x -cpuprofile cpu.out ./alerts/replay/
func BenchmarkReplayFixture(b *testing.B) {
	dir := fixture(b)
	rows := int64(0)
	for i := 0; i < b.N; i++ {
		src, err := backblaze.Open(dir)
		if err != nil {
			b.Fatal(err)
		}
		sum, err := Run(context.Background(), src, Options{}, time.Now)
		if err != nil {
			b.Fatal(err)
		}
		src.Close()
		rows += sum.Rows
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "drive-days/s")
}

// BenchmarkReplayPlain replays the fixture's days as plain CSVs (as
// Backblaze ships them), for profiling the per-row cost without inflating:
// go test -run '^$' -bench ReplayPlain -benchtime 5x -cpuprofile cpu.out ./alerts/replay/
func BenchmarkReplayPlain(b *testing.B) {
	dir := b.TempDir()
	plainCopy(b, fixture(b), dir)
	var rates []float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		src, err := backblaze.Open(dir)
		if err != nil {
			b.Fatal(err)
		}
		c0 := cpuSeconds()
		sum, err := Run(context.Background(), src, Options{}, time.Now)
		cpu := cpuSeconds() - c0
		if err != nil {
			b.Fatal(err)
		}
		src.Close()
		rates = append(rates, float64(sum.Rows)/cpu)
	}
	b.ReportMetric(median(rates), "drive-days/CPU-s")
}
