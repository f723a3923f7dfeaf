package cli

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/mlops-series/mlops-series/internal/docs"
)

func newFootprintCmd(g *Globals) *cobra.Command {
	return &cobra.Command{
		Use:   "footprint",
		Short: "Sum the memory and CPU each chapter requests (alone, with what it requires, and the core chapters together)",
		Long: `footprint renders every available chapter like render does and sums the requests of its workloads.
It exits 1 when a chapter's closure requests more than 4 GiB or the core chapters (5, 6, 8, 10)
together more than 3 GiB: what the series promises a 8-16 GB laptop.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			e, err := g.env()
			if err != nil {
				return err
			}
			info, err := componentInfo(cmd.Context(), e)
			if err != nil {
				return err
			}
			rows := docs.Footprints(e.Lib, info)
			if g.Output != "text" {
				if err := g.printData(cmd, rows); err != nil {
					return err
				}
			} else {
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', tabwriter.AlignRight)
				fmt.Fprintln(tw, "CHAPTER\tMEMORY\tCPU\tWITH REQUIRES\tCPU\tTARGET\t")
				for _, r := range rows {
					name := r.Name
					if name == "core" {
						name = "core (" + strings.Join(r.Chapters, ",") + ")"
					}
					fmt.Fprintf(tw, "%s\t%dMi\t%dm\t%dMi\t%dm\t%dMi\t\n", name, r.Own.MiB(), r.Own.MilliCPU(), r.Closure.MiB(), r.Closure.MilliCPU(), r.TargetMiB)
				}
				if err := tw.Flush(); err != nil {
					return err
				}
			}
			var over []string
			for _, r := range rows {
				if !r.Within() {
					over = append(over, fmt.Sprintf("%s requests %d MiB (target %d)", r.Name, r.Closure.MiB(), r.TargetMiB))
				}
			}
			if len(over) > 0 {
				return fmt.Errorf("footprint over target: %s", strings.Join(over, "; "))
			}
			return nil
		},
	}
}
