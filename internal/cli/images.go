package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"sigs.k8s.io/kind/pkg/cluster/nodes"

	"github.com/mlops-series/mlops-series/internal/action"
	"github.com/mlops-series/mlops-series/internal/cluster"
	"github.com/mlops-series/mlops-series/internal/images"
)

func newImagesCmd(g *Globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "images",
		Short: "The container images of a chapter and what it requires: list, pull, save to one archive, load into the engine and the kind node",
		Long: `images works on the container images a chapter's closure runs (what render shows; every available
chapter when CHAPTER is omitted), in the local container engine (docker, podman or nerdctl) and in
the node of the kind cluster mlops-series.

  images list [CHAPTER]        each image: architectures, in the local engine?, on the kind node?
  images pull [CHAPTER]        pull the images the local engine lacks (--refresh: all of them)
  images build [CHAPTER]       build the series' own images (chapter 7's serving app, ...) and load them
  images save FILE [CHAPTER]   write them into one docker-save archive
  images load FILE             load an archive into the local engine, then into the kind node
  images load [CHAPTER]        load them from the local engine into the kind node (what it lacks)

up loads the images the local engine holds into the node by itself. For a workshop without network:
run ` + "`images pull` and `images save FILE`" + ` where a registry answers, then ` + "`images load FILE`" + ` on each machine.`,
	}
	cmd.AddCommand(newImagesListCmd(g), newImagesPullCmd(g), newImagesBuildCmd(g), newImagesSaveCmd(g), newImagesLoadCmd(g))
	return cmd
}

// imagesEnv is what every images verb works with.
type imagesEnv struct {
	env *action.Env
	// kind reaches the local engine and, without --context, the kind cluster's nodes.
	kind       *cluster.Kind
	useCluster bool
}

func (g *Globals) imagesEnv() (*imagesEnv, error) {
	e, err := g.env()
	if err != nil {
		return nil, err
	}
	u := e.UI
	k := &cluster.Kind{Progress: func(s string) { u.Printf("   %s\n", s) }, Share: cluster.DefaultShare()}
	return &imagesEnv{env: e, kind: k, useCluster: g.Context == "" && g.Kubeconfig == ""}, nil
}

// closure returns the images of the chapter's closure (every available chapter for ""), from
// the rendered charts.
func (ie *imagesEnv) closure(ctx context.Context, chapter string) ([]string, error) {
	ids := ie.env.Lib.IDs()
	if chapter != "" {
		ids = []string{chapter}
	}
	var refs []string
	for _, id := range ids {
		_, total, err := ie.env.Render(ctx, id, nil)
		if err != nil {
			return nil, err
		}
		for _, r := range total.Images {
			if !slices.Contains(refs, r) {
				refs = append(refs, r)
			}
		}
	}
	slices.Sort(refs)
	return refs, nil
}

// nodes returns the kind cluster's nodes, or nil when there is no cluster (or --context).
func (ie *imagesEnv) nodes(ctx context.Context) ([]nodes.Node, error) {
	if !ie.useCluster {
		return nil, nil
	}
	ns, _, err := ie.kind.Nodes(ctx)
	return ns, err
}

// listedNodes is nodes for `images list`, which answers without the node column when the
// cluster is missing or its nodes are stopped: then note says why (and ns is nil).
func (ie *imagesEnv) listedNodes(ctx context.Context) (ns []nodes.Node, note string, err error) {
	ns, err = ie.nodes(ctx)
	var stopped *cluster.NodeStoppedError
	switch {
	case errors.As(err, &stopped):
		return nil, stopped.Error(), nil
	case err != nil:
		return nil, "", err
	case ns == nil && ie.useCluster:
		return nil, "the kind cluster " + ie.kind.Cluster() + " does not exist", nil
	}
	return ns, "", nil
}

func optArg(args []string, i int) string {
	if len(args) > i {
		return args[i]
	}
	return ""
}

func newImagesListCmd(g *Globals) *cobra.Command {
	return &cobra.Command{
		Use:   "list [CHAPTER]",
		Short: "List the images of a chapter's closure: architectures, in the local engine, on the kind node",
		Example: `  mlops-series images list chapter-6
  mlops-series images list -o json`,
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: completeChapters(g),
		RunE: func(cmd *cobra.Command, args []string) error {
			ie, err := g.imagesEnv()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			refs, err := ie.closure(ctx, optArg(args, 0))
			if err != nil {
				return err
			}
			eng, err := ie.kind.ImageEngine(ctx)
			if err != nil {
				return err
			}
			ns, nodeNote, err := ie.listedNodes(ctx)
			if err != nil {
				return err
			}
			st, err := images.List(ctx, eng, refs, ie.env.Lib.Archs(), ns)
			if err != nil && ns != nil {
				// The node may have stopped or gone since it was listed: then say so, as above.
				if ns, nodeNote, _ = ie.listedNodes(ctx); ns == nil && nodeNote != "" {
					st, err = images.List(ctx, eng, refs, ie.env.Lib.Archs(), nil)
				}
			}
			if err != nil {
				return err
			}
			if g.Output != "text" {
				if st == nil {
					st = []images.Status{}
				}
				return g.printData(cmd, st)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "IMAGE\tARCHS\tLOCAL\tNODE")
			for _, s := range st {
				node := "-"
				if s.Node != nil {
					node = yesNo(*s.Node)
				}
				archs := strings.Join(s.Archs, ",")
				if archs == "" {
					archs = "?"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Ref, archs, yesNo(s.Local), node)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if nodeNote != "" {
				ie.env.UI.Printf("NODE: - (%s)\n", nodeNote)
			}
			return nil
		},
	}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func newImagesPullCmd(g *Globals) *cobra.Command {
	var refresh bool
	cmd := &cobra.Command{
		Use:               "pull [CHAPTER]",
		Short:             "Pull the images of a chapter's closure that the local engine lacks",
		Example:           `  mlops-series images pull chapter-6`,
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: completeChapters(g),
		RunE: func(cmd *cobra.Command, args []string) error {
			ie, err := g.imagesEnv()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			chapter := optArg(args, 0)
			refs, err := ie.closure(ctx, chapter)
			if err != nil {
				return err
			}
			eng, err := ie.kind.ImageEngine(ctx)
			if err != nil {
				return err
			}
			var engineOut io.Writer = io.Discard
			if g.Verbose {
				engineOut = cmd.ErrOrStderr()
			}
			res, err := images.PullMissing(ctx, eng, refs, refresh, func(ref string, pull func() error) error {
				st := ie.env.UI.Start("pull " + ref)
				if err := pull(); err != nil {
					st.Fail("pull "+ref+" failed", "")
					return err
				}
				st.OK("pulled " + ref)
				return nil
			}, engineOut)
			ie.env.UI.Printf("%s\n", res)
			if err != nil {
				return withChapterAdvice(err, chapter)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&refresh, "refresh", false, "pull every image again, also those the engine holds")
	return cmd
}

// withChapterAdvice completes a pull error with how to do without a registry.
func withChapterAdvice(err error, chapter string) error {
	arg := ""
	if chapter != "" {
		arg = " " + chapter
	}
	return fmt.Errorf("%w\nwithout a registry: run `mlops-series images save FILE%s` on a machine where the pull works, then `mlops-series images load FILE` here", err, arg)
}

func newImagesSaveCmd(g *Globals) *cobra.Command {
	return &cobra.Command{
		Use:   "save FILE [CHAPTER]",
		Short: "Write the images of a chapter's closure into one docker-save archive",
		Example: `  mlops-series images save mlops-images.tar chapter-6
  mlops-series images save all.tar`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ie, err := g.imagesEnv()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			file, chapter := args[0], optArg(args, 1)
			refs, err := ie.closure(ctx, chapter)
			if err != nil {
				return err
			}
			if len(refs) == 0 {
				return fmt.Errorf("images save %s: %s runs no images", file, orAll(chapter))
			}
			eng, err := ie.kind.ImageEngine(ctx)
			if err != nil {
				return err
			}
			local, err := eng.Images(ctx)
			if err != nil {
				return err
			}
			if err := images.Missing(local, refs, chapter); err != nil {
				return fmt.Errorf("images save %s: %w", file, err)
			}
			st := ie.env.UI.Start(fmt.Sprintf("save %d images to %s", len(refs), file))
			if err := eng.Save(ctx, file, refs); err != nil {
				st.Fail("save to "+file+" failed", "")
				return err
			}
			size := ""
			if fi, err := os.Stat(file); err == nil {
				size = fmt.Sprintf(", %.1f MiB", float64(fi.Size())/(1<<20))
			}
			st.OK(fmt.Sprintf("saved %d images to %s%s: %s", len(refs), file, size, strings.Join(refs, ", ")))
			return nil
		},
	}
}

func orAll(chapter string) string {
	if chapter == "" {
		return "the series"
	}
	return chapter
}

func newImagesLoadCmd(g *Globals) *cobra.Command {
	return &cobra.Command{
		Use:   "load [FILE | CHAPTER]",
		Short: "Load an archive into the local engine and the kind node, or a chapter's images from the engine into the node",
		Example: `  mlops-series images load mlops-images.tar
  mlops-series images load chapter-6`,
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: completeChapters(g),
		RunE: func(cmd *cobra.Command, args []string) error {
			ie, err := g.imagesEnv()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			arg := optArg(args, 0)
			file, isArchive := archiveArg(ie, arg)
			if !isArchive && !ie.useCluster {
				return errors.New("images load CHAPTER loads into the node of the local kind cluster; with --context/--kubeconfig the cluster pulls images from registries (images load FILE still loads an archive into the local engine)")
			}
			eng, err := ie.kind.ImageEngine(ctx)
			if err != nil {
				return err
			}
			if isArchive {
				return ie.loadArchive(ctx, eng, file)
			}
			return ie.loadChapter(ctx, eng, arg)
		},
	}
}

// archiveArg tells whether the argument of `images load` names an archive: a chapter wins,
// else an existing file, or anything that looks like a path.
func archiveArg(ie *imagesEnv, arg string) (string, bool) {
	if arg == "" {
		return "", false
	}
	if _, err := ie.env.Lib.Chapter(arg); err == nil {
		return "", false
	}
	if fi, err := os.Stat(arg); err == nil && !fi.IsDir() {
		return arg, true
	}
	if strings.ContainsAny(arg, `/\`) || strings.Contains(arg, ".tar") {
		return arg, true
	}
	return "", false
}

func (ie *imagesEnv) loadArchive(ctx context.Context, eng *images.Engine, file string) error {
	u := ie.env.UI
	st := u.Start("load " + file + " into the local engine")
	refs, err := eng.Load(ctx, file)
	if err != nil {
		st.Fail("load "+file+" failed", "")
		return err
	}
	st.OK(fmt.Sprintf("loaded %d images into the local engine (%s): %s", len(refs), eng.Name, strings.Join(refs, ", ")))
	if !ie.useCluster {
		return nil
	}
	ns, err := ie.nodes(ctx)
	if err != nil {
		return err
	}
	if ns == nil {
		u.Printf("   the kind cluster mlops-series does not exist: `mlops-series up CHAPTER` loads the images into its node\n")
		return nil
	}
	return ie.toNodes(ctx, eng, ns, refs, "")
}

func (ie *imagesEnv) loadChapter(ctx context.Context, eng *images.Engine, chapter string) error {
	refs, err := ie.closure(ctx, chapter)
	if err != nil {
		return err
	}
	ns, err := ie.nodes(ctx)
	if err != nil {
		return err
	}
	if ns == nil {
		arg := chapter
		if arg == "" {
			arg = "CHAPTER"
		}
		return fmt.Errorf("images load: the kind cluster mlops-series does not exist; `mlops-series up %s` creates it and loads the images the local engine holds", arg)
	}
	return ie.toNodes(ctx, eng, ns, refs, chapter)
}

// toNodes loads refs into the nodes; references neither the node nor the engine holds are an
// error that names them and says how to get them.
func (ie *imagesEnv) toNodes(ctx context.Context, eng *images.Engine, ns []nodes.Node, refs []string, chapter string) error {
	st := ie.env.UI.Start(fmt.Sprintf("load %d images into the kind node", len(refs)))
	res, err := images.LoadToNodes(ctx, eng, ns, refs, ie.kind.Share)
	if err != nil {
		st.Fail("load into the kind node failed", "")
		return err
	}
	if missing := append(slices.Clone(res.Missing), res.Pinned...); len(missing) > 0 {
		st.Fail(res.String(), "")
		return &images.ErrNotInEngine{Refs: missing, Chapter: chapter}
	}
	st.OK(res.String())
	return nil
}
