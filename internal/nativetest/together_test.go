package nativetest_test

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mlops-series/mlops-series/internal/nativetest"
)

// TestTogetherRunsStartsAtOnce: the starts overlap (each waits until all have begun), a failing
// start ends only its goroutine, and the test fails once, naming every failure, after the others
// have finished.
func TestTogetherRunsStartsAtOnce(t *testing.T) {
	var begun, finished atomic.Int32
	all := make(chan struct{})
	wait := func(tb testing.TB) {
		if begun.Add(1) == 3 {
			close(all)
		}
		select {
		case <-all:
		case <-time.After(10 * time.Second):
			tb.Fatal("the starts ran one after another")
		}
	}
	r := run(t, func(tb testing.TB) {
		nativetest.Together(tb,
			func(tb testing.TB) { wait(tb); finished.Add(1) },
			func(tb testing.TB) { wait(tb); tb.Fatalf("airflow: %s", "exited"); finished.Add(1) },
			func(tb testing.TB) { wait(tb); time.Sleep(50 * time.Millisecond); finished.Add(1) },
		)
	})
	if got := finished.Load(); got != 2 {
		t.Errorf("%d starts went on to the end, want 2 (the failing one stops at its Fatalf)", got)
	}
	if !strings.Contains(r.failed, "1 of 3 starts failed") || !strings.Contains(r.failed, "start 2: airflow: exited") {
		t.Errorf("failure = %q", r.failed)
	}
}

// TestTogetherSkipsWhenAStartSkips: a start that skips (a missing venv outside CI) skips the test
// with its reason; without failures or skips Together returns normally.
func TestTogetherSkipsWhenAStartSkips(t *testing.T) {
	r := run(t, func(tb testing.TB) {
		nativetest.Together(tb, func(tb testing.TB) {}, func(tb testing.TB) { tb.Skip("no feast venv") })
	})
	if r.skipped != "start 2: no feast venv" || r.failed != "" {
		t.Errorf("skipped %q, failed %q", r.skipped, r.failed)
	}
	r = run(t, func(tb testing.TB) { nativetest.Together(tb, func(tb testing.TB) {}, func(tb testing.TB) {}) })
	if r.skipped != "" || r.failed != "" {
		t.Errorf("skipped %q, failed %q", r.skipped, r.failed)
	}
}
