package cli

import (
	"context"
	"fmt"
	"path/filepath"

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
	var dir, jekyll string
	var check, force bool
	cmd := &cobra.Command{
		Use:   "docs",
		Short: "Generate docs/ko and docs/en from the chapter specs; --check fails when docs/ is stale; --jekyll DIR writes the Korean post drafts",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if force && jekyll == "" {
				return fmt.Errorf("docs: --force replaces edited post drafts, so it needs --jekyll DIR")
			}
			e, err := g.env()
			if err != nil {
				return err
			}
			info, err := componentInfo(cmd.Context(), e)
			if err != nil {
				return err
			}
			if jekyll != "" {
				return writeJekyll(cmd, e, info, jekyll, force)
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
	cmd.Flags().StringVar(&jekyll, "jekyll", "", "write each available chapter's Korean post draft (YYYY-MM-DD-slug.md, date from post.date) into `DIR`, e.g. the blog's _posts")
	cmd.Flags().BoolVar(&force, "force", false, "with --jekyll: also replace drafts edited since they were generated")
	cmd.MarkFlagsMutuallyExclusive("jekyll", "check")
	cmd.MarkFlagsMutuallyExclusive("jekyll", "dir")
	return cmd
}

// writeJekyll writes the post drafts into dir and lists each on stdout with what happened to it;
// chapters without a post date are named on stderr.
func writeJekyll(cmd *cobra.Command, e *action.Env, info map[string][]docs.ComponentInfo, dir string, force bool) error {
	// No spec names the repository yet: links into its docs are kept as text.
	files, skipped, err := docs.Jekyll(e.Lib, info, docs.JekyllOptions{})
	if err != nil {
		return err
	}
	for _, id := range skipped {
		fmt.Fprintf(cmd.ErrOrStderr(), "skipped %s: series/%s/chapter.yaml sets no post.date\n", id, e.Lib.Chapters[id].Dir)
	}
	res, err := docs.WriteJekyll(dir, files, force)
	out := cmd.OutOrStdout()
	for _, name := range res.Written {
		fmt.Fprintf(out, "wrote     %s\n", filepath.Join(dir, name))
	}
	for _, name := range res.Unchanged {
		fmt.Fprintf(out, "unchanged %s\n", filepath.Join(dir, name))
	}
	return err
}
