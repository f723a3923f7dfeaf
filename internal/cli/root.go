// Package cli builds the command tree: one file per verb; flags bind onto options and each RunE
// calls one action.
package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	mlopsseries "github.com/mlops-series/mlops-series"
	"github.com/mlops-series/mlops-series/internal/action"
	"github.com/mlops-series/mlops-series/internal/check"
	"github.com/mlops-series/mlops-series/internal/cluster"
	"github.com/mlops-series/mlops-series/internal/i18n"
	"github.com/mlops-series/mlops-series/internal/series"
	"github.com/mlops-series/mlops-series/internal/ui"
)

// Globals are the flags every command takes.
type Globals struct {
	Kubeconfig string
	Context    string
	Verbose    bool
	Quiet      bool
	Output     string
	SeriesDir  string
	// Provisioner is kind or terraform (empty: the chapter's default, else kind).
	Provisioner string
	// Recreate lets the terraform provisioner replace an existing cluster.
	Recreate bool
	// KindConfig is a kind cluster config merged over the embedded kind-config.yaml.
	KindConfig string
	// Lang is --lang: ko or en (empty: the streams' language, from the locale environment).
	Lang string
	// kindCfg is the merge, once made.
	kindCfg []byte
	// Streams are the run's output streams (main's StdStreams; buffers in tests).
	Streams ui.Streams
	// u is the run's one UI, made once the flags are parsed.
	u *ui.UI
}

// NewRoot builds the root command on the streams s.
func NewRoot(s ui.Streams) *cobra.Command {
	root, _ := newRoot(s)
	return root
}

func newRoot(s ui.Streams) (*cobra.Command, *Globals) {
	g := &Globals{Streams: s}
	root := &cobra.Command{
		Use:   "mlops-series",
		Short: "The runnable companion of the series \"Zero부터 시작하는 MLOps 도구와 활용\"",
		Long: `mlops-series brings up, on a local kind cluster or any Kubernetes cluster (--context), exactly the
stack a chapter of the series explains, waits for it, and proves it works with smoke checks that use
each tool's real API. Every step names the post section that explains it.

Progress, check results, doctor's findings and errors are in Korean or English (--lang; default:
Korean when LC_ALL, LC_MESSAGES or LANG, the first one set, starts with "ko"). Machine output
(-o json|yaml, --junit, --metrics-file) is English whatever the language.

Exit codes: 0 ok, 1 error, 2 a check failed, 3 the environment is unfit (e.g. no container engine).`,
		SilenceUsage:      true,
		SilenceErrors:     true,
		PersistentPreRunE: g.checkLang,
	}
	root.SetOut(s.Out)
	root.SetErr(s.Err)
	f := root.PersistentFlags()
	f.StringVar(&g.Kubeconfig, "kubeconfig", "", "kubeconfig file of an existing cluster (default: the kind cluster mlops-series)")
	f.StringVar(&g.Context, "context", "", "kubeconfig context of an existing cluster to use instead of kind")
	f.BoolVarP(&g.Verbose, "verbose", "v", false, "print more detail")
	f.BoolVarP(&g.Quiet, "quiet", "q", false, "print only errors")
	f.StringVarP(&g.Output, "output", "o", "text", "output format where output is data: text, json or yaml (json and yaml are English whatever --lang)")
	f.StringVar(&g.Lang, "lang", "", "language of progress, results, findings and errors: ko or en (default: ko when LC_ALL, LC_MESSAGES or LANG starts with ko, else en)")
	f.StringVar(&g.Provisioner, "provisioner", "", "how the local cluster is made: kind (the kind Go library) or terraform (infra/terraform/kind through terraform-exec); default: the chapter's, else kind")
	f.StringVar(&g.KindConfig, "kind-config", "", "kind cluster config (kind.x-k8s.io/v1alpha4) merged over the embedded kind-config.yaml: node image, kubeadm and containerd patches, registry mirrors")
	f.StringVar(&g.SeriesDir, "series", "", "read the series from this folder instead of the embedded one (the author's workflow)")
	root.AddCommand(
		newListCmd(g), newUpCmd(g), newCheckCmd(g), newStatusCmd(g), newDownCmd(g),
		newRenderCmd(g), newDocsCmd(g), newValidateCmd(g), newVersionCmd(g), newOpenCmd(g), newGitopsCmd(g), newCredsCmd(g), newFootprintCmd(g), newDoctorCmd(g), newImagesCmd(g),
	)
	return root, g
}

// checkLang refuses a --lang other than ko or en before anything runs.
func (g *Globals) checkLang(*cobra.Command, []string) error {
	if _, err := i18n.Parse(g.Lang); g.Lang != "" && err != nil {
		return i18n.Errorf(i18n.BadLang, g.Lang)
	}
	return nil
}

// lang is the run's language: --lang, else the locale environment's, else English.
func (g *Globals) lang() i18n.Lang {
	if l, err := i18n.Parse(g.Lang); err == nil {
		return l
	}
	return g.Streams.Lang.Or(i18n.En)
}

// ui is the run's UI: one for the whole run, on the run's streams, at the level -q/-v ask for.
func (g *Globals) ui() *ui.UI {
	if g.u != nil {
		return g.u
	}
	level := ui.Normal
	switch {
	case g.Quiet:
		level = ui.Quiet
	case g.Verbose:
		level = ui.Verbose
	}
	g.u = ui.New(g.Streams, level, g.lang())
	return g.u
}

// env loads the series and picks the provisioner.
func (g *Globals) env() (*action.Env, error) {
	if g.Output != "text" && g.Output != "json" && g.Output != "yaml" {
		return nil, i18n.Errorf(i18n.BadOutput, g.Output)
	}
	seriesFS, origin, charts := mlopsseries.Series(), "embedded series", mlopsseries.Charts()
	if g.SeriesDir != "" {
		st, err := os.Stat(g.SeriesDir)
		if err != nil || !st.IsDir() {
			return nil, i18n.Errorf(i18n.SeriesNotFolder, g.SeriesDir)
		}
		seriesFS, origin = os.DirFS(g.SeriesDir), g.SeriesDir
		if d := filepath.Join(g.SeriesDir, "..", "charts"); isDir(d) {
			charts = os.DirFS(d)
		}
	}
	lib, err := series.Load(seriesFS, origin, check.Validation())
	if err != nil {
		return nil, i18n.Errorf(i18n.InvalidSeries, origin, err)
	}
	prov, err := g.provisioner(g.Provisioner)
	if err != nil {
		return nil, err
	}
	return &action.Env{Lib: lib, Charts: charts, UI: g.ui(), Provisioner: prov}, nil
}

// provisioner picks the cluster: --context/--kubeconfig name an existing one; otherwise kind or
// terraform make the local one.
func (g *Globals) provisioner(name string) (cluster.Provisioner, error) {
	if g.Context != "" || g.Kubeconfig != "" {
		if g.Provisioner != "" {
			return nil, i18n.Errorf(i18n.ProvisionerWithContext, g.Provisioner)
		}
		if g.KindConfig != "" {
			return nil, i18n.Errorf(i18n.KindConfigWithContext, g.KindConfig)
		}
		return &cluster.Existing{Kubeconfig: g.Kubeconfig, Context: g.Context}, nil
	}
	if name != "" && name != "kind" && name != "terraform" {
		return nil, i18n.Errorf(i18n.BadProvisioner, name)
	}
	u := g.ui()
	progress := func(s string) { u.Printf("   %s\n", s) }
	kindConfig, err := g.kindConfig(progress)
	if err != nil {
		return nil, err
	}
	if name == "terraform" {
		return &cluster.Terraform{KindConfig: kindConfig, Infra: mlopsseries.Infra(), Recreate: g.Recreate, Progress: progress,
			Stdout: u.LogWriter("terraform"), Stderr: u.LogWriter("terraform")}, nil
	}
	return &cluster.Kind{Config: kindConfig, Progress: progress, Share: cluster.DefaultShare()}, nil
}

// kindConfig is the embedded kind-config.yaml, with --kind-config merged over it.
func (g *Globals) kindConfig(progress func(string)) ([]byte, error) {
	if g.KindConfig == "" {
		return mlopsseries.KindConfig(), nil
	}
	if g.kindCfg != nil {
		return g.kindCfg, nil
	}
	cfg, notes, err := cluster.LoadKindConfig(mlopsseries.KindConfig(), g.KindConfig)
	if err != nil {
		return nil, err
	}
	for _, n := range notes {
		progress(n)
	}
	g.kindCfg = cfg
	return cfg, nil
}

// envFor is env with the chapter's default provisioner when --provisioner is not given.
func (g *Globals) envFor(chapter string) (*action.Env, error) {
	e, err := g.env()
	if err != nil || g.Provisioner != "" || g.Context != "" || g.Kubeconfig != "" {
		return e, err
	}
	if ch, cerr := e.Lib.Chapter(chapter); cerr == nil && ch.Provisioner != "" {
		if e.Provisioner, err = g.provisioner(ch.Provisioner); err != nil {
			return nil, err
		}
	}
	return e, nil
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// printData writes v as json or yaml on stdout; text is written by the caller.
func (g *Globals) printData(cmd *cobra.Command, v any) error {
	switch g.Output {
	case "json":
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s\n", b)
		return err
	case "yaml":
		b, err := yaml.Marshal(v)
		if err != nil {
			return err
		}
		_, err = cmd.OutOrStdout().Write(b)
		return err
	}
	return fmt.Errorf("unsupported output %q", g.Output)
}

// completeChapters offers the available chapters for shell completion.
func completeChapters(g *Globals) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		e, err := g.env()
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		var out []string
		for _, id := range e.Lib.IDs() {
			out = append(out, id+"\t"+e.Lib.Chapters[id].Title.Lang(string(g.lang())))
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// Execute runs the root command with ctx on the streams s and returns the process exit code.
func Execute(ctx context.Context, args []string, s ui.Streams) int {
	root, g := newRoot(s)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err != nil {
		fmt.Fprint(s.Err, i18n.T(i18n.ErrorLine, i18n.Err(err)).In(g.lang()))
	}
	return action.Code(err)
}
