package cli

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

func newRenderCmd(g *Globals) *cobra.Command {
	var summary bool
	cmd := &cobra.Command{
		Use:   "render CHAPTER",
		Short: "Print every manifest `up` would apply for the chapter and what it requires (like helm template)",
		Example: `  mlops-series render chapter-6
  mlops-series render chapter-6 --summary`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeChapters(g),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.env()
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if summary || g.Output != "text" {
				w = nil
			}
			per, total, err := e.Render(cmd.Context(), args[0], w)
			if err != nil {
				return err
			}
			if g.Output != "text" {
				return g.printData(cmd, map[string]any{"components": per, "total": total})
			}
			out := cmd.ErrOrStderr()
			if summary {
				out = cmd.OutOrStdout()
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "# CHAPTER\tCOMPONENT\tVERSION\tMEMORY\tCPU\tIMAGES")
			for _, p := range per {
				fmt.Fprintf(tw, "# %s\t%s\t%s\t%dMi\t%dm\t%d\n", p.Chapter, p.Component, p.Version, p.Footprint.MiB(), p.Footprint.MilliCPU(), len(p.Footprint.Images))
			}
			fmt.Fprintf(tw, "# total\t\t\t%dMi\t%dm\t%d\n", total.MiB(), total.MilliCPU(), len(total.Images))
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&summary, "summary", false, "print only the requested memory/CPU table")
	return cmd
}
