package cli

import (
	"github.com/spf13/cobra"

	"github.com/mlops-series/mlops-series/internal/action"
)

func newGitopsCmd(g *Globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "gitops",
		Short: "Work with the Git repository Flux syncs the cluster from (chapter 2)",
	}
	cmd.AddCommand(newGitopsPushCmd(g))
	return cmd
}

func newGitopsPushCmd(g *Globals) *cobra.Command {
	var o action.GitopsPushOptions
	var endpoints []string
	cmd := &cobra.Command{
		Use:   "push [CHAPTER]",
		Short: "Commit the chapter's GitOps folder to its in-cluster Git server, then wait for Flux to apply it",
		Long: `Commits the chapter's GitOps folder (chapter 2: gitops/) to the main branch of the Git server
running in the cluster, and asks Flux to fetch and apply it at once instead of at its next interval.
It returns when the Kustomization has applied that commit. Nothing is committed when the repository
already holds exactly these files.

Edit a copy of the series (--series DIR) and push from it, or push any folder with --dir.`,
		Example: `  mlops-series gitops push --series ./series --message "team-a: more memory"
  mlops-series gitops push chapter-2 --dir ./my-gitops
  mlops-series gitops push --no-wait`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.env()
			if err != nil {
				return err
			}
			if o.Endpoints, err = action.ParseEndpoints(endpoints); err != nil {
				return err
			}
			name := ""
			if len(args) == 1 {
				name = args[0]
			}
			return e.GitopsPush(cmd.Context(), name, o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.Message, "message", "m", "", "commit message")
	f.StringVar(&o.Dir, "dir", "", "push this folder instead of the chapter's")
	f.BoolVar(&o.NoWait, "no-wait", false, "return after the push, without waiting for Flux")
	f.DurationVar(&o.Timeout, "timeout", 0, "how long to wait for Flux to apply the commit (default 3m)")
	f.StringArrayVar(&endpoints, "endpoint", nil, "NAME=URL: reach component NAME (the Git server) at URL instead of a port-forward")
	return cmd
}
