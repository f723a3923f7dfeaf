package cli

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/mlops-series/mlops-series/internal/action"
	"github.com/mlops-series/mlops-series/internal/metrics"
)

func newUpCmd(g *Globals) *cobra.Command {
	var o action.UpOptions
	var endpoints []string
	var ci bool
	var mo action.MetricsOptions
	cmd := &cobra.Command{
		Use:   "up CHAPTER",
		Short: "Bring up a chapter (and what it requires), wait for it, and run its checks",
		Example: `  mlops-series up chapter-6
  mlops-series up chapter-6 --context my-cluster`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeChapters(g),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.envFor(args[0])
			if err != nil {
				return err
			}
			if o.Endpoints, err = action.ParseEndpoints(endpoints); err != nil {
				return err
			}
			if ci && o.Timeout == 0 {
				o.Timeout = 10 * time.Minute
			}
			e.Metrics = metrics.New("up", args[0])
			return withMetrics(cmd.Context(), e, mo, e.Up(cmd.Context(), args[0], o))
		},
	}
	f := cmd.Flags()
	f.DurationVar(&o.Timeout, "timeout", 0, "wait at most this long for each component (default: the spec's, else 5m)")
	f.BoolVar(&o.SkipChecks, "skip-checks", false, "do not run the chapter's checks at the end")
	f.BoolVar(&o.SkipDoctor, "skip-doctor", false, "do not check the environment first (mlops-series doctor)")
	f.StringVar(&o.JUnit, "junit", "", "write the checks' JUnit report to this file")
	f.StringArrayVar(&endpoints, "endpoint", nil, "NAME=URL: reach component NAME at URL instead of a port-forward")
	metricsFlags(cmd, &mo)
	f.BoolVar(&g.Recreate, "recreate", false, "with --provisioner terraform: allow a plan that replaces the cluster")
	f.BoolVar(&ci, "ci", false, "CI mode: longer default waits (image pulls on fresh runners)")
	lockFlags(cmd, &o.Lock)
	return cmd
}
