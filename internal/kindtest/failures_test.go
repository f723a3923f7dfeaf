//go:build kind

package kindtest

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
)

// The layer runs with -v, so a failure's message is printed where it happens, among hundreds of
// progress lines, and the final "--- FAIL" line says nothing of it. Every failure is also appended
// to the file $MLOPS_KIND_FAILURES (when set; `make kind-test` sets it), which .ci/run prints at
// the end of a failed run, where CI's summary shows it.
var failuresMu sync.Mutex

func recordFailure(t testing.TB, kind, msg string) {
	path := os.Getenv("MLOPS_KIND_FAILURES")
	if path == "" {
		return
	}
	lines := strings.Split(strings.TrimRight(msg, "\n"), "\n")
	if len(lines) > 25 {
		lines = append(lines[:25], fmt.Sprintf("... (%d more lines in the test's log)", len(lines)-25))
	}
	failuresMu.Lock()
	defer failuresMu.Unlock()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Logf("cannot record the failure in %s: %v", path, err)
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "%s %s: %s\n", t.Name(), kind, strings.Join(lines, "\n    "))
}

func errorf(t testing.TB, format string, a ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, a...)
	recordFailure(t, "error", msg)
	t.Error(msg)
}

func fatalf(t testing.TB, format string, a ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, a...)
	recordFailure(t, "fatal", msg)
	t.Fatal(msg)
}

func fatal(t testing.TB, a ...any) {
	t.Helper()
	msg := strings.TrimSuffix(fmt.Sprintln(a...), "\n") // as t.Fatal formats its operands
	recordFailure(t, "fatal", msg)
	t.Fatal(msg)
}

// A failure is appended to the file with the test's name, its first 25 lines and the count of the rest.
func TestRecordFailure(t *testing.T) {
	path := t.TempDir() + "/failures.log"
	t.Setenv("MLOPS_KIND_FAILURES", path)
	recordFailure(t, "error", "first")
	recordFailure(t, "fatal", strings.Repeat("line\n", 30))
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got := string(b)
	if !strings.HasPrefix(got, "TestRecordFailure error: first\nTestRecordFailure fatal: line\n    line") ||
		!strings.Contains(got, "... (5 more lines in the test's log)") {
		t.Errorf("recorded:\n%s", got)
	}
}
