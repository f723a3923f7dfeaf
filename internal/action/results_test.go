package action

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/mlops-series/mlops-series/internal/check"
	"github.com/mlops-series/mlops-series/internal/ui"
)

// A failed check's line is followed by what client-go logged during it, in one summary line; a
// passed check shows none of it.
func TestPrintResultsSummarisesLibraryLog(t *testing.T) {
	var buf bytes.Buffer
	e := &Env{UI: &ui.UI{Out: &buf, Err: &buf, Level: ui.Normal}}
	forward := "An error occurred forwarding: error forwarding port 5000 to pod mlflow-0, uid : connection refused (localPort=41234 remotePort=5000)"
	e.printResults([]check.Result{
		{Name: "mlflow-health", Type: "http", Message: "GET http://127.0.0.1:41234/health: unreachable: EOF", Duration: time.Second,
			Via: "port-forward pod/mlflow-0 5000", Read: "docs/ko/chapter-6.md#tracking-server", Log: []string{forward, forward, forward}},
		{Name: "pods", Type: "pods", Passed: true, Message: "2 pods Ready", Log: []string{"ignored"}},
	})
	out := buf.String()
	for _, want := range []string{
		"    ✗ mlflow-health: GET http://127.0.0.1:41234/health: unreachable: EOF",
		"\n      client-go: " + forward + " (+2 more; -v shows them)\n      via: port-forward pod/mlflow-0 5000\n",
		"    ✓ pods: 2 pods Ready",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "ignored") {
		t.Errorf("a passed check's library log was printed:\n%s", out)
	}
}
