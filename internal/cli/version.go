package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Version and Commit are stamped at build time by `make build`:
// -ldflags "-X github.com/mlops-series/mlops-series/internal/cli.Version=v0.1.0 -X ....Commit=abc1234".
var (
	Version = "dev"
	Commit  = ""
)

func newVersionCmd(g *Globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of mlops-series and of the libraries it embeds",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			info := map[string]string{"mlops-series": Version, "go": runtime.Version(), "platform": runtime.GOOS + "/" + runtime.GOARCH}
			if Commit != "" {
				info["commit"] = Commit
			}
			if bi, ok := debug.ReadBuildInfo(); ok {
				for _, d := range bi.Deps {
					switch d.Path {
					case "helm.sh/helm/v4", "k8s.io/client-go", "sigs.k8s.io/kind":
						info[d.Path] = d.Version
					}
				}
			}
			if g.Output != "text" {
				return g.printData(cmd, info)
			}
			commit := ""
			if Commit != "" {
				commit = "commit " + Commit + ", "
			}
			fmt.Fprintf(cmd.OutOrStdout(), "mlops-series %s (%s%s, %s)\n", info["mlops-series"], commit, info["go"], info["platform"])
			for _, k := range []string{"helm.sh/helm/v4", "k8s.io/client-go", "sigs.k8s.io/kind"} {
				if v, ok := info[k]; ok {
					fmt.Fprintf(cmd.OutOrStdout(), "  %s %s\n", k, v)
				}
			}
			return nil
		},
	}
}
