package cli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	mlopsseries "github.com/mlops-series/mlops-series"
	"github.com/mlops-series/mlops-series/internal/check"
	"github.com/mlops-series/mlops-series/internal/series"
)

func newValidateCmd(g *Globals) *cobra.Command {
	return &cobra.Command{
		Use:   "validate [DIR]",
		Short: "Validate a series folder (default: the embedded series): every problem, with file and line",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := g.SeriesDir
			if len(args) == 1 {
				dir = args[0]
			}
			fsys, origin := mlopsseries.Series(), "embedded series"
			if dir != "" {
				if st, err := os.Stat(dir); err != nil || !st.IsDir() {
					return fmt.Errorf("validate %s: not a folder", dir)
				}
				fsys, origin = os.DirFS(dir), dir
			}
			lib, err := series.Load(fsys, origin, check.Validation())
			if err != nil {
				return fmt.Errorf("%s is invalid:\n%w", origin, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s is valid: %d chapters listed, %d available (%v)\n", origin, len(lib.TOC.Chapters), len(lib.Chapters), lib.IDs())
			return nil
		},
	}
}
