package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mlops-series/mlops-series/internal/i18n"
)

func newCredsCmd(g *Globals) *cobra.Command {
	return &cobra.Command{
		Use:   "creds COMPONENT|CHAPTER",
		Short: "Show the login of a tool's web UI (e.g. grafana), or every login of a chapter, from the Secret its chart generated",
		Long: `creds reads the user and password of a tool's web UI from the Kubernetes Secret its chart generated
on the first up (the component's credentials in chapter.yaml) and prints them with the command that
opens the UI. Given a chapter, it prints the login of each of its components that has one. It only
reads: nothing is written to the cluster.`,
		Example: `  mlops-series creds grafana
  mlops-series creds chapter-5
  mlops-series creds airflow -o json`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeCreds(g),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.env()
			if err != nil {
				return err
			}
			rep, err := e.Creds(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if g.Output != "text" {
				return g.printData(cmd, rep)
			}
			w, l := cmd.OutOrStdout(), g.lang()
			if len(rep.Logins) == 0 {
				known := strings.Join(rep.Known, ", ")
				if known == "" {
					known = "none"
				}
				_, err := fmt.Fprint(w, i18n.T(i18n.CredsNone, rep.Chapter, known).In(l))
				return err
			}
			var b strings.Builder
			for i, lg := range rep.Logins {
				if i > 0 {
					b.WriteString("\n")
				}
				b.WriteString(i18n.T(i18n.CredsLogin, lg.Component, lg.Chapter, lg.Namespace, lg.Secret).In(l))
				b.WriteString(i18n.T(i18n.CredsUser, lg.Username).In(l))
				b.WriteString(i18n.T(i18n.CredsPassword, lg.Password).In(l))
				if lg.Open != "" {
					b.WriteString(i18n.T(i18n.CredsOpen, lg.Open).In(l))
				}
			}
			_, err = fmt.Fprint(w, b.String())
			return err
		},
	}
}

// completeCreds offers the components that have a login, then the available chapters.
func completeCreds(g *Globals) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	chapters := completeChapters(g)
	return func(cmd *cobra.Command, args []string, s string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		e, err := g.env()
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		var out []string
		for _, id := range e.Lib.IDs() {
			for _, c := range e.Lib.Chapters[id].Components {
				if c.Credentials != nil {
					out = append(out, c.Name+"\t"+id)
				}
			}
		}
		more, dir := chapters(cmd, args, s)
		return append(out, more...), dir
	}
}
