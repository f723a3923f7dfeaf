package cli

import (
	"github.com/spf13/cobra"

	"github.com/mlops-series/mlops-series/internal/action"
)

func newOpenCmd(g *Globals) *cobra.Command {
	var o action.OpenOptions
	var noBrowser bool
	cmd := &cobra.Command{
		Use:   "open NAME",
		Short: "Port-forward a tool's web UI (e.g. mlflow) to 127.0.0.1 and open it; Ctrl-C stops",
		Example: `  mlops-series open mlflow
  mlops-series open mlflow --port 15000 --no-browser`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.env()
			if err != nil {
				return err
			}
			o.Browser = !noBrowser
			return e.Open(cmd.Context(), args[0], o)
		},
	}
	cmd.Flags().IntVar(&o.Port, "port", 0, "local port (default: the tool's port if free, else any free port; macOS uses 5000 for AirPlay)")
	cmd.Flags().BoolVar(&noBrowser, "no-browser", false, "only print the URL")
	return cmd
}
