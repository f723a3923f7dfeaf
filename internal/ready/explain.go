// Package ready explains why workloads are not ready: the unready pods of a release, their
// conditions, the events that concern them and the last lines of their logs.
package ready

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"
)

// Options bound what Explain collects.
type Options struct {
	// Events is the number of most recent events per pod (default 5).
	Events int
	// LogLines is the number of log lines per container (default 10).
	LogLines int64
}

// PodReady reports whether a pod is Ready (or has Succeeded, for Job pods).
func PodReady(p *corev1.Pod) bool {
	if p.Status.Phase == corev1.PodSucceeded {
		return true
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// Explain describes the pods in namespace matching selector that are not ready: phase, reasons,
// the latest events and the last log lines of their containers. It returns "" when all are ready.
// Errors while collecting evidence are folded into the text: evidence is best effort.
func Explain(ctx context.Context, cs kubernetes.Interface, namespace, selector string, o Options) string {
	if o.Events == 0 {
		o.Events = 5
	}
	if o.LogLines == 0 {
		o.LogLines = 10
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	pods, err := cs.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return fmt.Sprintf("  (could not list pods in %s: %v)\n", namespace, err)
	}
	var b strings.Builder
	if len(pods.Items) == 0 {
		fmt.Fprintf(&b, "  no pods match %s in namespace %s\n", selector, namespace)
		return b.String()
	}
	sort.Slice(pods.Items, func(i, j int) bool { return pods.Items[i].Name < pods.Items[j].Name })
	for i := range pods.Items {
		p := &pods.Items[i]
		if PodReady(p) {
			continue
		}
		fmt.Fprintf(&b, "  pod %s/%s: %s\n", p.Namespace, p.Name, podSummary(p))
		for _, line := range podEvents(ctx, cs, p, o.Events) {
			fmt.Fprintf(&b, "    event: %s\n", line)
		}
		for _, c := range p.Spec.Containers {
			tail := logTail(ctx, cs, p, c.Name, o.LogLines)
			if tail == "" {
				continue
			}
			fmt.Fprintf(&b, "    last log lines of %s:\n", c.Name)
			for _, l := range strings.Split(strings.TrimRight(tail, "\n"), "\n") {
				fmt.Fprintf(&b, "      %s\n", l)
			}
		}
	}
	return b.String()
}

func podSummary(p *corev1.Pod) string {
	parts := []string{string(p.Status.Phase)}
	for _, c := range p.Status.Conditions {
		if c.Status != corev1.ConditionTrue && c.Reason != "" {
			msg := c.Reason
			if c.Message != "" {
				msg += ": " + c.Message
			}
			parts = append(parts, fmt.Sprintf("%s=%s", c.Type, msg))
		}
	}
	statuses := append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...)
	for _, cs := range statuses {
		switch {
		case cs.State.Waiting != nil && cs.State.Waiting.Reason != "":
			parts = append(parts, fmt.Sprintf("%s waiting (%s)", cs.Name, cs.State.Waiting.Reason))
		case cs.State.Terminated != nil && cs.State.Terminated.ExitCode != 0:
			parts = append(parts, fmt.Sprintf("%s exited %d (%s)", cs.Name, cs.State.Terminated.ExitCode, cs.State.Terminated.Reason))
		}
		if cs.RestartCount > 0 {
			parts = append(parts, fmt.Sprintf("%s restarted %d times", cs.Name, cs.RestartCount))
		}
	}
	return strings.Join(parts, ", ")
}

func podEvents(ctx context.Context, cs kubernetes.Interface, p *corev1.Pod, n int) []string {
	sel := fields.AndSelectors(
		fields.OneTermEqualSelector("involvedObject.name", p.Name),
		fields.OneTermEqualSelector("involvedObject.namespace", p.Namespace),
	).String()
	evs, err := cs.CoreV1().Events(p.Namespace).List(ctx, metav1.ListOptions{FieldSelector: sel})
	if err != nil {
		return []string{fmt.Sprintf("(could not list events: %v)", err)}
	}
	items := evs.Items
	sort.Slice(items, func(i, j int) bool { return EventTime(items[i]).Before(EventTime(items[j])) })
	if len(items) > n {
		items = items[len(items)-n:]
	}
	out := make([]string, 0, len(items))
	for _, e := range items {
		out = append(out, fmt.Sprintf("%s %s: %s", e.Type, e.Reason, strings.TrimSpace(e.Message)))
	}
	return out
}

// EventTime is when an event last happened (LastTimestamp, else EventTime, else its creation).
func EventTime(e corev1.Event) time.Time {
	if !e.LastTimestamp.IsZero() {
		return e.LastTimestamp.Time
	}
	if !e.EventTime.IsZero() {
		return e.EventTime.Time
	}
	return e.CreationTimestamp.Time
}

func logTail(ctx context.Context, cs kubernetes.Interface, p *corev1.Pod, container string, lines int64) string {
	req := cs.CoreV1().Pods(p.Namespace).GetLogs(p.Name, &corev1.PodLogOptions{Container: container, TailLines: &lines})
	rc, err := req.Stream(ctx)
	if err != nil {
		return ""
	}
	defer func() { _ = rc.Close() }()
	var buf bytes.Buffer
	_, _ = io.Copy(&buf, io.LimitReader(rc, 16<<10))
	return buf.String()
}
