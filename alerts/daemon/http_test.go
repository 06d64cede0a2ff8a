package daemon

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/diskwatch/diskwatch/alerts/output/snapshot"
	"github.com/diskwatch/diskwatch/collectors/model"
)

// /-/ready answers 503 until the first round has published readings, then
// 200; /-/healthy is 200 throughout; unknown paths are 404, as Prometheus'
// own components answer.
func TestHTTPHealthAndReady(t *testing.T) {
	d := &Daemon{}
	h := d.handler()
	get := func(path string) int {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		return w.Code
	}
	want := func(stage string, codes map[string]int) {
		t.Helper()
		for p, c := range codes {
			if got := get(p); got != c {
				t.Errorf("%s: GET %s = %d, want %d", stage, p, got, c)
			}
		}
	}
	want("before the first round", map[string]int{"/-/healthy": 200, "/-/ready": 503, "/metrics": 200, "/": 200, "/x": 404, "/-/reload": 404, "/metrics/": 404})
	d.latest.Store(&snapshot.Doc{Snapshot: &model.Snapshot{}})
	want("after it", map[string]int{"/-/healthy": 200, "/-/ready": 200, "/nope": 404})
}
