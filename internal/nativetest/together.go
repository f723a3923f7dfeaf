package nativetest

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// Together runs the starts at once, each in its own goroutine, and returns when all have
// returned. A test that needs several tools waits for the slowest start instead of the sum: the
// starts mostly wait on interpreters importing their packages and on health URLs, which leaves
// a 2-core machine room for more than one.
//
// Each start gets a testing.TB whose Fatal, FailNow and Skip end only that start's goroutine
// (testing allows them only on the test's own goroutine); once all have returned, t fails with
// every start's failure, or skips when a start skipped. The servers they start are stopped in
// t's cleanups as usual.
func Together(t testing.TB, starts ...func(t testing.TB)) {
	t.Helper()
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		failed  []string
		skipped []string
	)
	for i, start := range starts {
		wg.Add(1)
		g := &goTB{TB: t, mu: &mu, failed: &failed, skipped: &skipped, n: i + 1}
		go func() {
			defer wg.Done()
			start(g)
		}()
	}
	wg.Wait()
	switch {
	case len(failed) > 0:
		t.Fatalf("%d of %d starts failed:\n%s", len(failed), len(starts), strings.Join(failed, "\n"))
	case len(skipped) > 0:
		t.Skip(strings.Join(skipped, "\n"))
	}
}

// goTB is the testing.TB of one start of Together.
type goTB struct {
	testing.TB
	mu              *sync.Mutex
	failed, skipped *[]string
	n               int
}

// end records why this start stopped and ends its goroutine, as FailNow and SkipNow end a test's.
func (g *goTB) end(to *[]string, msg string) {
	g.mu.Lock()
	*to = append(*to, fmt.Sprintf("start %d: %s", g.n, msg))
	g.mu.Unlock()
	runtime.Goexit()
}

func (g *goTB) Fatal(args ...any)                 { g.end(g.failed, fmt.Sprint(args...)) }
func (g *goTB) Fatalf(format string, args ...any) { g.end(g.failed, fmt.Sprintf(format, args...)) }
func (g *goTB) FailNow()                          { g.end(g.failed, "failed (see the log above)") }
func (g *goTB) Skip(args ...any)                  { g.end(g.skipped, fmt.Sprint(args...)) }
func (g *goTB) Skipf(format string, args ...any)  { g.end(g.skipped, fmt.Sprintf(format, args...)) }
func (g *goTB) SkipNow()                          { g.end(g.skipped, "skipped") }
