package cli

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mlops-series/mlops-series/internal/images"
	"github.com/mlops-series/mlops-series/internal/series"
)

// buildCAName is where --ca-file lands in an image's build context; the build argument BUILD_CA
// names it, for the Dockerfiles that honour it (pip behind a TLS-intercepting proxy).
const buildCAName = ".mlops-series-build-ca.crt"

func newImagesBuildCmd(g *Globals) *cobra.Command {
	var (
		buildArgs []string
		caFile    string
		force     bool
		noLoad    bool
	)
	cmd := &cobra.Command{
		Use:   "build [CHAPTER]",
		Short: "Build the series' own images of a chapter's closure (e.g. chapter 7's serving app) with the local engine and load them into the kind node",
		Long: `build builds the images the series makes itself (series/images.yaml entries with a build: the
serving app and the Bento of chapter 7, the notebook image of chapter 3) from the chapter folders,
with the local engine, for this machine's architecture. Only the files an image's Dockerfile copies
are sent to the engine; an image already built from the same files and build arguments is kept
(--force builds it again). Then the images are loaded into the node of the kind cluster
mlops-series when it exists (up loads them otherwise).

Behind a TLS-intercepting proxy, pass its CA bundle with --ca-file: it is added to the build context
and named by the build argument BUILD_CA, which the series' Dockerfiles give to pip in their build
stage only (the image does not keep it).`,
		Example: `  mlops-series images build chapter-7
  mlops-series images build chapter-7 --build-arg BASE=python:3.11-slim-bookworm
  mlops-series images build --ca-file /etc/ssl/certs/ca-certificates.crt`,
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: completeChapters(g),
		RunE: func(cmd *cobra.Command, args []string) error {
			ie, err := g.imagesEnv()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			chapter := optArg(args, 0)
			builds, err := seriesBuilds(ie.env.Lib, chapter, buildArgs, caFile)
			if err != nil {
				return err
			}
			u := ie.env.UI
			if len(builds) == 0 {
				u.Printf("%s builds no images of its own: its images are pulled (`mlops-series images pull %s`)\n", orAll(chapter), chapter)
				return nil
			}
			eng, err := ie.kind.ImageEngine(ctx)
			if err != nil {
				return err
			}
			refs := make([]string, 0, len(builds))
			for _, b := range builds {
				refs = append(refs, b.Ref)
				if !force {
					ok, err := eng.UpToDate(ctx, b)
					if err != nil {
						return err
					}
					if ok {
						u.Start("build " + b.Ref).Skip(b.Ref + " is up to date (built from the same files and build arguments)")
						continue
					}
				}
				var out io.Writer = io.Discard
				if g.Verbose {
					out = cmd.ErrOrStderr()
				}
				st := u.Start("build " + b.Ref + " (a few minutes the first time)")
				if err := eng.Build(ctx, b, out); err != nil {
					st.Fail("build "+b.Ref+" failed", "")
					return err
				}
				st.OK("built " + b.Ref)
			}
			if noLoad || !ie.useCluster {
				return nil
			}
			ns, err := ie.nodes(ctx)
			if err != nil {
				return err
			}
			if ns == nil {
				u.Printf("   the kind cluster mlops-series does not exist: `mlops-series up %s` loads the images into its node\n", orChapterArg(chapter))
				return nil
			}
			return ie.toNodes(ctx, eng, ns, refs, chapter)
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&buildArgs, "build-arg", nil, "KEY=VALUE build argument for every image (e.g. BASE, the Python base image); repeatable")
	f.StringVar(&caFile, "ca-file", "", "CA bundle (PEM) for pip behind a TLS-intercepting proxy; used by the build stage only")
	f.BoolVar(&force, "force", false, "build even the images that are up to date")
	f.BoolVar(&noLoad, "no-load", false, "only build: do not load the images into the kind node")
	return cmd
}

func orChapterArg(chapter string) string {
	if chapter == "" {
		return "CHAPTER"
	}
	return chapter
}

// seriesBuilds turns the images.yaml builds of the chapter's closure (every chapter for "") into
// engine builds, with the build arguments and the CA bundle; bad input is an error before any
// build starts.
func seriesBuilds(lib *series.Library, chapter string, buildArgs []string, caFile string) ([]images.Build, error) {
	ids := []string{""}
	if chapter != "" {
		closure, err := lib.Closure(chapter)
		if err != nil {
			return nil, err
		}
		ids = ids[:0]
		for _, ch := range closure {
			ids = append(ids, ch.ID())
		}
	}
	args := map[string]string{}
	for _, a := range buildArgs {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" || strings.ContainsAny(k, " \t") {
			return nil, fmt.Errorf("--build-arg %q: want KEY=VALUE", a)
		}
		args[k] = v
	}
	var files map[string][]byte
	if caFile != "" {
		ca, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("--ca-file: %w", err)
		}
		if !bytes.Contains(ca, []byte("-----BEGIN CERTIFICATE-----")) {
			return nil, fmt.Errorf("--ca-file %s: no PEM certificate in it", caFile)
		}
		files = map[string][]byte{buildCAName: ca}
		args["BUILD_CA"] = buildCAName
	}
	var out []images.Build
	for _, id := range ids {
		for _, img := range lib.Builds(id) {
			if slices.ContainsFunc(out, func(b images.Build) bool { return b.Ref == img.Ref }) {
				continue
			}
			sub, err := fs.Sub(lib.FS, img.Build.Context)
			if err != nil {
				return nil, fmt.Errorf("%s: build context %s: %w", img.Ref, img.Build.Context, err)
			}
			out = append(out, images.Build{Ref: img.Ref, Context: sub, Dockerfile: img.Build.Dockerfile,
				Include: img.Build.Paths, Args: args, Files: files})
		}
	}
	return out, nil
}
