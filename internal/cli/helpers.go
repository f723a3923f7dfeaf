package cli

import (
	"context"
	"errors"

	"github.com/spf13/cobra"

	"github.com/mlops-series/mlops-series/internal/action"
)

func metricsFlags(cmd *cobra.Command, mo *action.MetricsOptions) {
	cmd.Flags().StringVar(&mo.File, "metrics-file", "", "write this run's metrics (step durations, check results) to a Prometheus textfile")
	cmd.Flags().StringVar(&mo.Push, "push-metrics", "", "push this run's metrics to a Pushgateway URL; bare --push-metrics uses the monitoring chapter's")
	cmd.Flags().Lookup("push-metrics").NoOptDefVal = "auto"
}

// withMetrics emits the run's metrics whatever the command's outcome; the command's error wins.
func withMetrics(ctx context.Context, e *action.Env, mo action.MetricsOptions, err error) error {
	if merr := e.EmitMetrics(context.WithoutCancel(ctx), mo); merr != nil {
		if err != nil {
			return errors.Join(err, merr)
		}
		return merr
	}
	return err
}
