package nativetest_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/mlops-series/mlops-series/internal/nativetest"
	"github.com/mlops-series/mlops-series/internal/testenv"
)

// recorder is a testing.TB that records how a helper ended the test instead of ending it.
type recorder struct {
	testing.TB
	ctx     context.Context
	skipped string
	failed  string
}

func (r *recorder) Helper()                   {}
func (r *recorder) Context() context.Context  { return r.ctx }
func (r *recorder) Cleanup(func())            {}
func (r *recorder) Logf(string, ...any)       {}
func (r *recorder) Skip(a ...any)             { r.skipped = fmt.Sprint(a...); runtime.Goexit() }
func (r *recorder) Skipf(f string, a ...any)  { r.skipped = fmt.Sprintf(f, a...); runtime.Goexit() }
func (r *recorder) Fatal(a ...any)            { r.failed = fmt.Sprint(a...); runtime.Goexit() }
func (r *recorder) Fatalf(f string, a ...any) { r.failed = fmt.Sprintf(f, a...); runtime.Goexit() }
func (r *recorder) Errorf(f string, a ...any) { r.failed = fmt.Sprintf(f, a...) }

func run(t *testing.T, f func(testing.TB)) *recorder {
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // a helper that does not skip fails fast instead of starting anything
	r := &recorder{TB: t, ctx: ctx}
	done := make(chan struct{})
	go func() { defer close(done); f(r) }()
	<-done
	return r
}

// TestShortSkipsSlowLayers: under -short (`make unit`, the fast loop) the control-plane and
// native-tool layers skip at their one entry point each, whatever is installed; `make
// integration` runs them.
func TestShortSkipsSlowLayers(t *testing.T) {
	if !testing.Short() {
		t.Skip("asserts the -short behaviour: run with -short")
	}
	t.Setenv("CI", "true") // a missing binary would fail, not skip: only -short may skip here
	for name, f := range map[string]func(testing.TB){
		"control plane": func(tb testing.TB) { testenv.Require(tb, testenv.Options{}) },
		"venv tool":     func(tb testing.TB) { nativetest.Tool(tb, "mlflow", "mlflow") },
		"cache tool":    func(tb testing.TB) { nativetest.CacheTool(tb, "statsd_exporter") },
		"debian tool":   func(tb testing.TB) { nativetest.DebianTool(tb, "prometheus") },
		"mlflow server": func(tb testing.TB) { nativetest.MLflow(tb) },
		"redis":         func(tb testing.TB) { nativetest.Redis(tb, "", t.TempDir()) },
		"ray head":      func(tb testing.TB) { nativetest.Ray(tb) },
	} {
		if r := run(t, f); r.skipped == "" {
			t.Errorf("%s under -short: not skipped (failed: %q)", name, r.failed)
		}
	}
}
