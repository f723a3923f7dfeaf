package action

import (
	"context"
	"fmt"
	"sort"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mlops-series/mlops-series/internal/deploy"
	"github.com/mlops-series/mlops-series/internal/i18n"
	"github.com/mlops-series/mlops-series/internal/ready"
)

// StatusReport is the state of the installed chapters.
type StatusReport struct {
	Cluster  string          `json:"cluster"`
	Provider string          `json:"provider"`
	Version  string          `json:"kubernetesVersion"`
	Chapters []ChapterStatus `json:"chapters"`
}

// ChapterStatus is one installed chapter.
type ChapterStatus struct {
	Chapter    string            `json:"chapter"`
	Title      string            `json:"title"`
	Complete   bool              `json:"complete"`
	Components []ComponentStatus `json:"components"`
}

// ComponentStatus is one release, as the ledger recorded it and as the cluster has it now.
type ComponentStatus struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	Version   string `json:"version"`
	Revision  int    `json:"revision"`
	// Release is the Helm status ("deployed", "failed", "missing", ...).
	Release   string `json:"release"`
	PodsReady int    `json:"podsReady"`
	Pods      int    `json:"pods"`
}

// Status reads the ledger and the live state; name limits it to one chapter.
func (e *Env) Status(ctx context.Context, name string) (*StatusReport, error) {
	filter := ""
	if name != "" {
		ch, err := e.chapter(name)
		if err != nil {
			return nil, err
		}
		filter = ch.ID()
	}
	cl, err := e.Provisioner.Connect(ctx)
	if err != nil {
		return nil, err
	}
	entries, err := deploy.Ledger{CS: cl.CS}.Read(ctx)
	if err != nil {
		return nil, err
	}
	helm := deploy.NewHelm(cl.Kubeconfig, cl.Context, cl.CS)
	helm.Log = e.UI.LogWriter("helm") // the Helm SDK's log, shown with -v
	rep := &StatusReport{Cluster: cl.Name, Provider: string(cl.Provider), Version: cl.Version, Chapters: []ChapterStatus{}}
	ids := deploy.Installed(entries)
	if e.Lib != nil {
		sort.Slice(ids, func(i, j int) bool { return chapterNum(ids[i]) < chapterNum(ids[j]) })
	}
	for _, id := range ids {
		if filter != "" && id != filter {
			continue
		}
		en := entries[id]
		cs := ChapterStatus{Chapter: id, Complete: en.Complete}
		if ch, ok := e.Lib.Chapters[id]; ok {
			cs.Title = ch.Title.En
		}
		for _, c := range en.Components {
			st := ComponentStatus{Name: c.Name, Namespace: c.Namespace, Version: c.Version, Revision: c.Revision, Release: "missing"}
			if rel, err := helm.Current(c.Namespace, c.Name); err != nil {
				st.Release = "unknown: " + err.Error()
			} else if rel != nil {
				st.Release = string(rel.Info.Status)
				st.Revision = rel.Version
			}
			pods, err := cl.CS.CoreV1().Pods(c.Namespace).List(ctx, metav1.ListOptions{LabelSelector: deploy.InstanceLabel + "=" + c.Name})
			if err == nil {
				for i := range pods.Items {
					st.Pods++
					if ready.PodReady(&pods.Items[i]) {
						st.PodsReady++
					}
				}
			}
			cs.Components = append(cs.Components, st)
		}
		rep.Chapters = append(rep.Chapters, cs)
	}
	if filter != "" && len(rep.Chapters) == 0 {
		return rep, i18n.Errorf(i18n.StatusNotInstalled, filter, cl.Name, filter)
	}
	return rep, nil
}

func chapterNum(id string) int {
	var n int
	_, _ = fmt.Sscanf(id, "chapter-%d", &n)
	return n
}
