package cli

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

func newStatusCmd(g *Globals) *cobra.Command {
	return &cobra.Command{
		Use:               "status [CHAPTER]",
		Short:             "Show the installed chapters and the state of their components",
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
			rep, err := e.Status(cmd.Context(), name)
			if err != nil {
				return err
			}
			if g.Output != "text" {
				return g.printData(cmd, rep)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "cluster %s (%s, Kubernetes %s)\n", rep.Cluster, rep.Provider, rep.Version)
			if len(rep.Chapters) == 0 {
				fmt.Fprintln(w, "no chapter installed: `mlops-series up chapter-6` installs one")
				return nil
			}
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "CHAPTER\tCOMPONENT\tNAMESPACE\tVERSION\tRELEASE\tREVISION\tPODS READY")
			for _, c := range rep.Chapters {
				for _, comp := range c.Components {
					id := c.Chapter
					if !c.Complete {
						id += " (incomplete)"
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d/%d\n", id, comp.Name, comp.Namespace, comp.Version, comp.Release, comp.Revision, comp.PodsReady, comp.Pods)
				}
			}
			return tw.Flush()
		},
	}
}
