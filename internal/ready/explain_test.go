package ready

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mlops-series/mlops-series/internal/testenv"
)

// Explain on a real control plane: an unschedulable pod shows its phase, reason and the
// scheduler's events; a running pod that turned unready shows the last lines of its log, served
// by KWOK's ClusterLogs from a file (no container runtime exists here).
func TestExplain(t *testing.T) {
	env := testenv.Require(t, testenv.Options{})
	ctx := t.Context()
	cs := env.Client()
	ns := "explain"
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod := func(name string, sel map[string]string) *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app.kubernetes.io/instance": name}},
			Spec:       corev1.PodSpec{NodeSelector: sel, Containers: []corev1.Container{{Name: "main", Image: "example.org/x:1"}}},
		}
	}
	if _, err := cs.CoreV1().Pods(ns).Create(ctx, pod("stuck", map[string]string{"no-such": "node"}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	logs := filepath.Join(t.TempDir(), "app.log")
	if err := testenv.AppendCRILog(logs, "starting server", "error: cannot connect to database postgresql:5432"); err != nil {
		t.Fatal(err)
	}
	if err := env.AddPodLogs(ctx, testenv.PodLogs{Namespace: ns, Selector: map[string]string{"app.kubernetes.io/instance": "flaky"}, LogsFile: logs}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Pods(ns).Create(ctx, pod("flaky", nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		p, err := cs.CoreV1().Pods(ns).Get(ctx, "flaky", metav1.GetOptions{})
		return err == nil && PodReady(p)
	})
	if got := Explain(ctx, cs, ns, "app.kubernetes.io/instance=flaky", Options{}); got != "" {
		t.Fatalf("a ready pod is explained: %q", got)
	}
	// The stuck pod: Pending, Unschedulable, with the scheduler's event.
	var got string
	waitFor(t, func() bool {
		got = Explain(ctx, cs, ns, "app.kubernetes.io/instance=stuck", Options{})
		return strings.Contains(got, "FailedScheduling")
	})
	for _, want := range []string{"pod explain/stuck: Pending", "PodScheduled=Unschedulable", "event: Warning FailedScheduling"} {
		if !strings.Contains(got, want) {
			t.Errorf("explain of the stuck pod lacks %q:\n%s", want, got)
		}
	}
	// The flaky pod turns unready (as a failing readiness probe would make it): its log tail shows.
	p, err := cs.CoreV1().Pods(ns).Get(ctx, "flaky", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			p.Status.Conditions[i].Status = corev1.ConditionFalse
			p.Status.Conditions[i].Reason = "ContainersNotReady"
		}
	}
	if _, err := cs.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	// KWOK serves the log once it has read the ClusterLogs rule, which takes longer on a loaded
	// machine: wait for the tail to show.
	waitFor(t, func() bool {
		got = Explain(ctx, cs, ns, "app.kubernetes.io/instance=flaky", Options{})
		return strings.Contains(got, "last log lines of main:")
	})
	for _, want := range []string{"pod explain/flaky: Running", "Ready=ContainersNotReady", "last log lines of main:", "error: cannot connect to database postgresql:5432"} {
		if !strings.Contains(got, want) {
			t.Errorf("explain of the unready pod lacks %q:\n%s", want, got)
		}
	}
	if got := Explain(ctx, cs, ns, "app.kubernetes.io/instance=none", Options{}); !strings.Contains(got, "no pods match") {
		t.Errorf("explain of nothing: %q", got)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatal("timed out")
		case <-time.After(100 * time.Millisecond):
		}
	}
}
