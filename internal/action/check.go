package action

import (
	"context"
	"fmt"

	"github.com/mlops-series/mlops-series/internal/check"
	"github.com/mlops-series/mlops-series/internal/cluster"
)

// CheckOptions tune `check`.
type CheckOptions struct {
	Endpoints map[string]string
	JUnit     string
	// ClusterRequested is true when --context/--kubeconfig was given: the cluster is then always used.
	ClusterRequested bool
}

// Check runs a chapter's checks. When every functional check has an --endpoint and no cluster was
// asked for, no cluster is contacted and Kubernetes-level checks are reported as skipped.
func (e *Env) Check(ctx context.Context, name string, o CheckOptions) error {
	ch, err := e.chapter(name)
	if err != nil {
		return err
	}
	for k := range o.Endpoints {
		if _, _, err := e.Lib.ClosureComponent(ch.ID(), k); err != nil {
			return fmt.Errorf("--endpoint %s: %w", k, err)
		}
	}
	e.header(ch)
	needCluster := o.ClusterRequested
	for _, c := range ch.Checks {
		if check.NeedsEndpoint(c) {
			if _, ok := o.Endpoints[c.Component]; !ok {
				needCluster = true
			}
		}
	}
	var cl *cluster.Cluster
	if needCluster {
		cl, err = e.Provisioner.Connect(ctx)
		if err != nil {
			return err
		}
	}
	r, err := e.newRunner(ctx, cl, ch, o.Endpoints)
	if err != nil {
		return err
	}
	results := r.Run(ctx, ch)
	e.recordChecks(results)
	e.printResults(results)
	passed, failed, skipped := check.Summary(results)
	if o.JUnit != "" {
		if err := check.WriteJUnit(o.JUnit, results); err != nil {
			return err
		}
	}
	if failed > 0 {
		return &ExitError{Code: ExitCheckFailed, Err: fmt.Errorf("check %s: %d passed, %d failed, %d skipped", ch.ID(), passed, failed, skipped)}
	}
	e.UI.Printf("%s: %d passed, %d failed, %d skipped\n", ch.ID(), passed, failed, skipped)
	return nil
}
