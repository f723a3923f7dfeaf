package cli

import (
	"github.com/spf13/cobra"

	"github.com/mlops-series/mlops-series/internal/action"
)

func newDownCmd(g *Globals) *cobra.Command {
	var o action.DownOptions
	cmd := &cobra.Command{
		Use:   "down [CHAPTER | --all]",
		Short: "Remove exactly what a chapter installed; --all removes every chapter and the cluster mlops-series created (kind or terraform)",
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
	cmd.Flags().BoolVar(&o.All, "all", false, "remove every installed chapter, then the cluster if mlops-series created it (with --provisioner terraform: the one Terraform made)")
	cmd.Flags().DurationVar(&o.Timeout, "timeout", 0, "wait at most this long for each removal (default 3m)")
	lockFlags(cmd, &o.Lock)
	return cmd
}

// lockFlags bind what up and down do when another run holds the cluster lock.
func lockFlags(cmd *cobra.Command, o *action.LockOptions) {
	cmd.Flags().DurationVar(&o.Timeout, "lock-timeout", action.DefaultLockTimeout,
		"wait at most this long for another up or down on the same cluster to finish (it holds the lease kube-system/mlops-series-lock)")
	cmd.Flags().BoolVar(&o.NoWait, "no-wait", false, "fail at once, naming the holder, when another up or down holds the cluster lock")
}
