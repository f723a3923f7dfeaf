package check

import (
	"context"
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/mlops-series/mlops-series/internal/deploy"
	"github.com/mlops-series/mlops-series/internal/ready"
	"github.com/mlops-series/mlops-series/internal/series"
)

// Pods checks that every pod of the components (installed by chapter ch) is Ready, polling until
// ctx ends. Each component must have at least one pod.
func Pods(ctx context.Context, cs kubernetes.Interface, ch *series.Chapter, comps []series.Component) (string, error) {
	for {
		total, problems, err := podsOnce(ctx, cs, ch, comps)
		if err == nil && len(problems) == 0 {
			return fmt.Sprintf("%d pods Ready", total), nil
		}
		select {
		case <-ctx.Done():
			if err != nil {
				return "", err
			}
			var evidence strings.Builder
			for _, comp := range comps {
				evidence.WriteString(ready.Explain(ctx, cs, comp.Namespace, deploy.InstanceLabel+"="+comp.Name, ready.Options{Events: 3, LogLines: 5}))
			}
			return "", fmt.Errorf("%s\n%s", strings.Join(problems, "; "), strings.TrimRight(evidence.String(), "\n"))
		case <-time.After(time.Second):
		}
	}
}

func podsOnce(ctx context.Context, cs kubernetes.Interface, ch *series.Chapter, comps []series.Component) (int, []string, error) {
	total := 0
	var problems []string
	for _, comp := range comps {
		sel := deploy.InstanceLabel + "=" + comp.Name
		pods, err := cs.CoreV1().Pods(comp.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel})
		if err != nil {
			return 0, nil, fmt.Errorf("list pods of %s/%s: %w", comp.Namespace, comp.Name, err)
		}
		if len(pods.Items) == 0 {
			problems = append(problems, fmt.Sprintf("%s/%s has no pods (is %s installed?)", comp.Namespace, comp.Name, ch.ID()))
			continue
		}
		for i := range pods.Items {
			p := &pods.Items[i]
			if p.DeletionTimestamp != nil {
				continue
			}
			total++
			if !ready.PodReady(p) {
				problems = append(problems, fmt.Sprintf("pod %s/%s not Ready (%s)", p.Namespace, p.Name, p.Status.Phase))
			}
		}
	}
	return total, problems, nil
}

// PodsParamComponents narrows a pods check to some of the chapter's components (comma-separated
// names): for a chapter with a component that runs no pod of its own (chapter 2's flux-sync,
// which holds only Flux objects).
const PodsParamComponents = "components"

// podsComponents resolves a pods check's components param against the chapter.
func podsComponents(ch *series.Chapter, list string) ([]series.Component, error) {
	var out []series.Component
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		comp, ok := ch.Component(name)
		if !ok {
			return nil, fmt.Errorf("%q is not a component of %s", name, ch.ID())
		}
		out = append(out, comp)
	}
	return out, nil
}
