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
		Use:   "check CHAPTER|path",
		Short: "Run a chapter's smoke checks, or the whole path across chapters (exit 2 when one fails)",
		Long: `Run a chapter's smoke checks against its running tools (exit 2 when one fails).

"check path" runs the series' story end to end on chapters 5, 6, 7, 8 and 10 (all must be up):
Feast serves the iris features, the Airflow DAG iris_training trains and registers a new model
version with them, the version becomes MLflow's champion, the FastAPI app answers with it and
Prometheus counts its predictions. Each hop is printed with the post section that explains it.`,
		Example: `  mlops-series check chapter-6
  mlops-series check chapter-6 --endpoint mlflow=http://127.0.0.1:5000 --junit report.xml
  mlops-series check path`,
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
			if args[0] == action.PathName {
				return withMetrics(cmd.Context(), e, mo, e.CheckPath(cmd.Context(), o))
			}
			return withMetrics(cmd.Context(), e, mo, e.Check(cmd.Context(), args[0], o))
		},
	}
	cmd.Flags().StringArrayVar(&endpoints, "endpoint", nil, "NAME=URL: reach component NAME at URL instead of a port-forward")
	metricsFlags(cmd, &mo)
	cmd.Flags().StringVar(&o.JUnit, "junit", "", "write a JUnit report to this file")
	return cmd
}
