// Package action implements the verbs: each is an ordered list of steps, each step observing the
// current state, doing the minimum, and observing again.
package action

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"k8s.io/klog/v2"

	"github.com/mlops-series/mlops-series/internal/cluster"
	"github.com/mlops-series/mlops-series/internal/metrics"
	"github.com/mlops-series/mlops-series/internal/series"
	"github.com/mlops-series/mlops-series/internal/ui"
)

// Exit codes (documented in the README).
const (
	ExitOK          = 0
	ExitFailure     = 1
	ExitCheckFailed = 2
	ExitUnfit       = 3
)

// ExitError carries an exit code other than 1.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// Code maps an error to the process exit code.
func Code(err error) int {
	if err == nil {
		return ExitOK
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	var engine *cluster.EngineError
	if errors.As(err, &engine) {
		return ExitUnfit
	}
	return ExitFailure
}

// Env is what every action works with.
type Env struct {
	Lib    *series.Library
	Charts fs.FS
	UI     *ui.UI
	// Provisioner gives the cluster (kind by default, existing with --context/--kubeconfig).
	Provisioner cluster.Provisioner
	// Metrics records step durations and check results (nil: not recorded).
	Metrics *metrics.Recorder
}

// withLibLog gives ctx the logger that client-go's port-forward logs through (klog.FromContext):
// its lines are shown with -v and never written raw to the terminal. Checks get one of their own
// (check.Runner), which also keeps the lines for the failing check's report.
func (e *Env) withLibLog(ctx context.Context) context.Context {
	return klog.NewContext(ctx, e.UI.LibLog().Logger())
}

func (e *Env) chapter(name string) (*series.Chapter, error) {
	if e.Lib == nil {
		return nil, fmt.Errorf("no series loaded")
	}
	return e.Lib.Chapter(name)
}
