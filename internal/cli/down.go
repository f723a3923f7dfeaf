package cli

import (
	"github.com/spf13/cobra"

	"github.com/mlops-series/mlops-series/internal/action"
)

func newDownCmd(g *Globals) *cobra.Command {
	var o action.DownOptions
	cmd := &cobra.Command{
		Use:   "down [CHAPTER | --all]",
		Short: "Remove exactly what a chapter installed; --all removes every chapter and the kind cluster mlops-series created",
		Example: `  mlops-series down chapter-6
  mlops-series down --all`,
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: completeChapters(g),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.env()
			if err != nil {
				return err
			}
			name := ""
			if len(args) == 1 {
				name = args[0]
			}
			return e.Down(cmd.Context(), name, o)
		},
	}
	cmd.Flags().BoolVar(&o.All, "all", false, "remove every installed chapter, then the kind cluster if mlops-series created it")
	cmd.Flags().DurationVar(&o.Timeout, "timeout", 0, "wait at most this long for each removal (default 3m)")
	return cmd
}
