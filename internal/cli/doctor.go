package cli

import (
	"github.com/spf13/cobra"

	"github.com/mlops-series/mlops-series/internal/action"
	"github.com/mlops-series/mlops-series/internal/i18n"
)

func newDoctorCmd(g *Globals) *cobra.Command {
	var o action.DoctorOptions
	cmd := &cobra.Command{
		Use:   "doctor [CHAPTER]",
		Short: "Check that this machine (or the --context cluster) is fit for a chapter; exit 3 when not",
		Long: `doctor checks the container engine, the memory and CPUs it gives containers against what the
chapter and what it requires request (the numbers render shows), its cgroup version (on cgroup v1 up
adds failCgroupV1: false for the kubelet), free disk, inotify limits, the host ports of
kind-config.yaml, the architectures of the chapter's images, and, with --context, that the cluster
answers. For the kind cluster, before it exists, it starts two probe containers from an image the
engine holds (none: not checked): --privileged, as kind's node runs, and one lowering oom_score_adj,
as the kubelet does for pods. It finds the chapter's images, and the kind node image, in the engine
or on the node, and asks the registries of those it lacks whether they answer. Each problem comes with its fix and the post section to read. Without CHAPTER:
every available chapter together. up runs it first unless --skip-doctor.`,
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: completeChapters(g),
		RunE: func(cmd *cobra.Command, args []string) error {
			e, err := g.env()
			if err != nil {
				return err
			}
			name := ""
			if len(args) == 1 {
				name = args[0]
			}
			rep, err := e.Doctor(cmd.Context(), name, o)
			if err != nil {
				return err
			}
			if g.Output != "text" {
				if err := g.printData(cmd, rep); err != nil {
					return err
				}
			} else {
				rep.Print(cmd.OutOrStdout(), e.UI.Color, e.UI.Lang)
			}
			if rep.Failed() {
				return &action.ExitError{Code: action.ExitUnfit, Err: i18n.Errorf(i18n.DoctorUnfit)}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&o.ProcRoot, "proc-root", "", "read kernel limits from this folder instead of /proc")
	_ = cmd.Flags().MarkHidden("proc-root")
	return cmd
}
