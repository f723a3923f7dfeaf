package check

import (
	"strings"
	"testing"
	"time"
)

// A failed check's report carries what client-go logged during it.
func TestJUnitCarriesTheLibraryLog(t *testing.T) {
	b, err := JUnit([]Result{
		{Chapter: "chapter-6", Name: "mlflow-health", Type: "http", Message: "GET /health: EOF", Duration: time.Second,
			Read: "docs/ko/chapter-6.md#tracking-server", Log: []string{"An error occurred forwarding: refused", "again"}},
		{Chapter: "chapter-6", Name: "pods", Type: "pods", Passed: true, Message: "2 pods Ready"},
	})
	if err != nil {
		t.Fatal(err)
	}
	out := string(b)
	for _, want := range []string{
		`<testsuite name="chapter-6" tests="2" failures="1" skipped="0" time="1.000">`,
		`<failure message="GET /health: EOF">GET /health: EOF&#xA;read: docs/ko/chapter-6.md#tracking-server</failure>`,
		"<system-err>An error occurred forwarding: refused&#xA;again</system-err>",
		"<system-out>2 pods Ready</system-out>",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}
