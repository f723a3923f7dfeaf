package cli

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

func newListCmd(g *Globals) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the chapters of the series (available and coming)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			e, err := g.env()
			if err != nil {
				return err
			}
			items := e.List()
			if g.Output != "text" {
				return g.printData(cmd, items)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s · %s\n\n", e.Lib.TOC.Title.Ko, e.Lib.TOC.Title.En)
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "CHAPTER\tTITLE\tTOOLS\tSTATUS")
			for _, it := range items {
				status := "coming"
				if it.Available {
					status = "available"
					if len(it.Requires) > 0 {
						status += " (requires " + strings.Join(it.Requires, ", ") + ")"
					}
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", it.ID, it.TitleEn, it.Tools, status)
			}
			return tw.Flush()
		},
	}
}
