// Package check runs a chapter's smoke checks: Kubernetes-level ones (pods) and functional ones that
// talk to each tool's real API (http, mlflow-roundtrip, ...), reached through a client-go
// port-forward to the component's Service, or through an explicit --endpoint NAME=URL.
package check

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"sort"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"

	"github.com/mlops-series/mlops-series/internal/series"
	"github.com/mlops-series/mlops-series/internal/ui"
)

// Result is the outcome of one check.
type Result struct {
	Chapter  string        `json:"chapter"`
	Name     string        `json:"name"`
	Type     string        `json:"type"`
	Passed   bool          `json:"passed"`
	Skipped  bool          `json:"skipped,omitempty"`
	Duration time.Duration `json:"duration"`
	// Message is the summary on success, or what failed.
	Message string `json:"message,omitempty"`
	// Via says how the service was reached ("port-forward pod/x 5000", "endpoint URL").
	Via string `json:"via,omitempty"`
	// Read is the post section that explains the check.
	Read string `json:"read,omitempty"`
	// Log is what the libraries (client-go) logged while a failed check ran, e.g. the errors of
	// its port-forward.
	Log []string `json:"log,omitempty"`
}

// Runner runs checks against a cluster, endpoints, or both.
type Runner struct {
	// CS and REST reach the cluster; nil when checks run against --endpoint only.
	CS   kubernetes.Interface
	REST *rest.Config
	// Endpoints maps a component name to a base URL that replaces the port-forward.
	Endpoints map[string]string
	// HTTP is the client for functional checks (default: 30s timeout).
	HTTP *http.Client
	// NoCluster explains why Kubernetes-level checks are skipped (when CS is nil).
	NoCluster string
	// SeriesFS is the series folder: checks read their expectation files from the chapter folder.
	SeriesFS fs.FS
	// Lib resolves a check's component in the chapter's closure; without it only the chapter's
	// own components are known.
	Lib *series.Library
	// UI shows, with -v, what the libraries log while a check runs (nil: kept for Result.Log only).
	UI *ui.UI
	// Types is the table of check types (nil: Builtin).
	Types Types
	// ScrapedNamespaces, when set, makes a promql check require every one of these namespaces
	// (the installed chapters' components that expose metrics) to have scrape targets, all up.
	ScrapedNamespaces []string
}

// Run runs the checks of a chapter and returns one result per check, sorted by name.
func (r *Runner) Run(ctx context.Context, ch *series.Chapter) []Result {
	results := make([]Result, 0, len(ch.Checks))
	for _, c := range ch.Checks {
		results = append(results, r.one(ctx, ch, c))
	}
	sort.Slice(results, func(i, j int) bool { return results[i].Name < results[j].Name })
	return results
}

func (r *Runner) one(ctx context.Context, ch *series.Chapter, c series.Check) Result {
	res := Result{Chapter: ch.ID(), Name: c.Name, Type: c.Type, Read: ch.Read(c.Section)}
	start := time.Now()
	timeout := c.Timeout.Or(time.Minute)
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// client-go logs through the context's logger: the check's lines are told apart from the rest.
	log := r.UI.LibLog()
	cctx = klog.NewContext(cctx, log.Logger())
	msg, via, err := r.dispatch(cctx, ch, c)
	res.Duration = time.Since(start).Round(time.Millisecond)
	res.Via = via
	var skip *skipError
	switch {
	case errors.As(err, &skip):
		res.Skipped, res.Passed, res.Message = true, true, skip.reason
	case err != nil:
		if cctx.Err() != nil && ctx.Err() == nil {
			err = fmt.Errorf("timed out after %s: %w", timeout, err)
		}
		res.Message = err.Error()
		res.Log = log.Lines()
	default:
		res.Passed, res.Message = true, msg
	}
	return res
}

type skipError struct{ reason string }

func (s *skipError) Error() string { return "skipped: " + s.reason }

func (r *Runner) dispatch(ctx context.Context, ch *series.Chapter, c series.Check) (string, string, error) {
	types := r.Types
	if types == nil {
		types = Builtin()
	}
	typ, ok := types[c.Type]
	if !ok || typ.Run == nil {
		return "", "", fmt.Errorf("check type %q is not implemented by this binary", c.Type)
	}
	in := Input{Chapter: ch, Check: c}
	if !typ.Endpoint {
		if r.CS == nil && !typ.Local {
			return "", "", &skipError{reason: r.NoCluster}
		}
		msg, err := typ.Run(ctx, r, in)
		return msg, "", err
	}
	base, via, stop, err := r.endpoint(ctx, ch, c)
	if err != nil {
		return "", via, err
	}
	defer stop()
	in.HTTP, in.Base = r.HTTP, base
	if in.HTTP == nil {
		in.HTTP = &http.Client{Timeout: 30 * time.Second}
	}
	msg, err := typ.Run(ctx, r, in)
	return msg, via, err
}

// endpoint gives the base URL of a check's target: the --endpoint of its component, or a
// port-forward to a ready pod behind the Service.
func (r *Runner) endpoint(ctx context.Context, ch *series.Chapter, c series.Check) (string, string, func(), error) {
	if u, ok := r.Endpoints[c.Component]; ok {
		return strings.TrimSuffix(u, "/"), "endpoint " + u, func() {}, nil
	}
	if r.CS == nil {
		return "", "", nil, fmt.Errorf("no endpoint for %s: pass --endpoint %s=URL, or run against a cluster", c.Component, c.Component)
	}
	_, comp, err := r.component(ch, c.Component)
	if err != nil {
		return "", "", nil, err
	}
	fw, err := ForwardService(ctx, r.CS, r.REST, comp.Namespace, c.ServiceName(), c.Port)
	if err != nil {
		return "", "", nil, err
	}
	return fw.URL(), fw.Via, fw.Close, nil
}

// component finds the component a check of ch names, and the chapter that installs it.
func (r *Runner) component(ch *series.Chapter, name string) (*series.Chapter, series.Component, error) {
	if r.Lib != nil {
		return r.Lib.ClosureComponent(ch.ID(), name)
	}
	if comp, ok := ch.Component(name); ok {
		return ch, comp, nil
	}
	return nil, series.Component{}, fmt.Errorf("component %s is not in %s", name, ch.ID())
}

// Summary counts results.
func Summary(rs []Result) (passed, failed, skipped int) {
	for _, r := range rs {
		switch {
		case r.Skipped:
			skipped++
		case r.Passed:
			passed++
		default:
			failed++
		}
	}
	return
}
