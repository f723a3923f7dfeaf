package action

import (
	"context"

	"github.com/mlops-series/mlops-series/internal/check"
	"github.com/mlops-series/mlops-series/internal/cluster"
	"github.com/mlops-series/mlops-series/internal/i18n"
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
			return i18n.Errorf(i18n.EndpointFlag, k, err)
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
	e.printResults(ch, results)
	passed, failed, skipped := check.Summary(results)
	if o.JUnit != "" {
		if err := check.WriteJUnit(o.JUnit, results); err != nil {
			return err
		}
	}
	if failed > 0 {
		return &ExitError{Code: ExitCheckFailed, Err: i18n.Errorf(i18n.CheckFailedCounts, ch.ID(), passed, failed, skipped)}
	}
	e.UI.Say(i18n.CheckCounts, ch.ID(), passed, failed, skipped)
	return nil
}
