package action

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/mlops-series/mlops-series/internal/check"
	"github.com/mlops-series/mlops-series/internal/i18n"
	"github.com/mlops-series/mlops-series/internal/series"
	"github.com/mlops-series/mlops-series/internal/ui"
)

// A failed check's line is followed by what client-go logged during it, in one summary line; a
// passed check shows none of it.
func TestPrintResultsSummarisesLibraryLog(t *testing.T) {
	var buf bytes.Buffer
	e := &Env{UI: &ui.UI{Out: &buf, Err: &buf, Level: ui.Normal}}
	forward := "An error occurred forwarding: error forwarding port 5000 to pod mlflow-0, uid : connection refused (localPort=41234 remotePort=5000)"
	e.printResults(&series.Chapter{}, []check.Result{
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

// A check's line says what it proves in the run's language (the spec's about) and its result
// follows; a failure's details, via and read lines are in that language too.
func TestPrintResultsInKorean(t *testing.T) {
	var buf bytes.Buffer
	e := &Env{UI: &ui.UI{Out: &buf, Err: &buf, Level: ui.Normal, Lang: i18n.Ko}}
	ch := &series.Chapter{Checks: []series.Check{
		{Name: "mlflow-health", About: series.Localized{Ko: "MLflow 서버의 /health 가 OK 를 응답", En: "MLflow's /health answers OK"}},
		{Name: "pods", About: series.Localized{Ko: "챕터의 모든 파드가 Ready", En: "every pod of the chapter is Ready"}},
	}}
	e.printResults(ch, []check.Result{
		{Name: "mlflow-health", Message: "GET http://127.0.0.1:1/health: unreachable", Duration: time.Second,
			Via: "endpoint http://127.0.0.1:1", Read: "docs/ko/chapter-6.md#tracking-server"},
		{Name: "pods", Passed: true, Message: "2 pods Ready", Duration: 2 * time.Second},
	})
	want := "    ✗ mlflow-health: MLflow 서버의 /health 가 OK 를 응답" + strings.Repeat(" ", 16) + "1.0s\n" +
		"      GET http://127.0.0.1:1/health: unreachable\n" +
		"      경유: endpoint http://127.0.0.1:1\n" +
		"      참고: docs/ko/chapter-6.md#tracking-server\n" +
		"    ✓ pods: 챕터의 모든 파드가 Ready" + strings.Repeat(" ", 36) + "2.0s\n" +
		"      2 pods Ready\n"
	if got := buf.String(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}
