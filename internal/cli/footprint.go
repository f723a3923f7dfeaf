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
together more than 3 GiB: what the series promises a 8-16 GB laptop. A (+N) is what a pod that a
run the reader starts adds while it lasts (chapter 5's training pod); it is not compared.`,
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
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%dMi\t\n", name,
						plusOptional(r.Own.MiB(), r.Own.OptionalMiB(), "Mi"), plusOptional(r.Own.MilliCPU(), r.Own.OptionalCPU.MilliValue(), "m"),
						plusOptional(r.Closure.MiB(), r.Closure.OptionalMiB(), "Mi"), plusOptional(r.Closure.MilliCPU(), r.Closure.OptionalCPU.MilliValue(), "m"),
						r.TargetMiB)
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

// plusOptional is n with its unit, followed by " (+opt)" when optional spawned pods add opt.
func plusOptional(n, opt int64, unit string) string {
	if opt == 0 {
		return fmt.Sprintf("%d%s", n, unit)
	}
	return fmt.Sprintf("%d%s (+%d%s)", n, unit, opt, unit)
}
