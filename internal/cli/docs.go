package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/mlops-series/mlops-series/internal/action"
	"github.com/mlops-series/mlops-series/internal/docs"
)

// componentInfo renders every available chapter's closure: what docs and footprint report.
func componentInfo(ctx context.Context, e *action.Env) (map[string][]docs.ComponentInfo, error) {
	info := map[string][]docs.ComponentInfo{}
	for _, id := range e.Lib.IDs() {
		per, _, err := e.Render(ctx, id, nil)
		if err != nil {
			return nil, err
		}
		info[id] = []docs.ComponentInfo{} // a chapter with only checks (chapter 1) has none
		for _, p := range per {
			comp, _ := e.Lib.Chapters[p.Chapter].Component(p.Component)
			info[id] = append(info[id], docs.ComponentInfo{Chapter: p.Chapter, Name: p.Component, Namespace: p.Namespace,
				Version: p.Version, Footprint: p.Footprint, Chart: comp.Chart})
		}
	}
	return info, nil
}

func newDocsCmd(g *Globals) *cobra.Command {
	var dir string
	var check bool
	cmd := &cobra.Command{
		Use:   "docs",
		Short: "Generate docs/ko and docs/en from the chapter specs; --check fails when docs/ is stale",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			e, err := g.env()
			if err != nil {
				return err
			}
			info, err := componentInfo(cmd.Context(), e)
			if err != nil {
				return err
			}
			files, err := docs.Generate(e.Lib, info)
			if err != nil {
				return err
			}
			if check {
				if err := docs.Check(dir, files); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s is up to date (%d files)\n", dir, len(files))
				return nil
			}
			if err := docs.Write(dir, files); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %d files to %s\n", len(files), dir)
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "docs", "the docs folder")
	cmd.Flags().BoolVar(&check, "check", false, "do not write: fail when the folder differs from what the specs generate")
	return cmd
}
