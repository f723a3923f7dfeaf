package cli

import (
	"github.com/spf13/cobra"

	"github.com/mlops-series/mlops-series/internal/action"
	"github.com/mlops-series/mlops-series/internal/metrics"
)

func newCheckCmd(g *Globals) *cobra.Command {
	var o action.CheckOptions
	var endpoints []string
	var mo action.MetricsOptions
	cmd := &cobra.Command{
		Use:   "check CHAPTER",
		Short: "Run a chapter's smoke checks (exit 2 when one fails)",
		Example: `  mlops-series check chapter-6
  mlops-series check chapter-6 --endpoint mlflow=http://127.0.0.1:5000 --junit report.xml`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeChapters(g),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.env()
			if err != nil {
				return err
			}
			if o.Endpoints, err = action.ParseEndpoints(endpoints); err != nil {
				return err
			}
			o.ClusterRequested = g.Context != "" || g.Kubeconfig != ""
			e.Metrics = metrics.New("check", args[0])
			return withMetrics(cmd.Context(), e, mo, e.Check(cmd.Context(), args[0], o))
		},
	}
	cmd.Flags().StringArrayVar(&endpoints, "endpoint", nil, "NAME=URL: reach component NAME at URL instead of a port-forward")
	metricsFlags(cmd, &mo)
	cmd.Flags().StringVar(&o.JUnit, "junit", "", "write a JUnit report to this file")
	return cmd
}
