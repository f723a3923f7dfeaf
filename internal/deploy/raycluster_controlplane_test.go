package deploy_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v4/pkg/chart/common"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/mlops-series/mlops-series/internal/deploy"
	"github.com/mlops-series/mlops-series/internal/series"
	"github.com/mlops-series/mlops-series/internal/testenv"
)

var rayClusters = schema.GroupVersionResource{Group: "ray.io", Version: "v1", Resource: "rayclusters"}

// rayClusterRelease is a release of one RayCluster (one head, one worker group of two pods), with
// KubeRay's own CRD from the series' kuberay-operator chart in the chart's crds/.
func rayClusterRelease(t *testing.T, namespace string) *deploy.Release {
	t.Helper()
	crd, err := os.ReadFile("../../charts/kuberay-operator/crds/rayclusters.ray.io.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rc := `apiVersion: ray.io/v1
kind: RayCluster
metadata:
  name: ray
spec:
  headGroupSpec:
    rayStartParams: {}
    template:
      spec:
        containers: [{name: ray-head, image: mlops-series.local/ray:test}]
  workerGroupSpecs:
    - groupName: workers
      replicas: 2
      minReplicas: 2
      maxReplicas: 2
      rayStartParams: {}
      template:
        spec:
          containers: [{name: ray-worker, image: mlops-series.local/ray:test}]
`
	ch := &chart.Chart{
		Metadata:  &chart.Metadata{APIVersion: chart.APIVersionV2, Name: "raycluster-wait", Version: "0.1.0"},
		Files:     []*common.File{{Name: "crds/rayclusters.ray.io.yaml", Data: crd}},
		Templates: []*common.File{{Name: "templates/raycluster.yaml", Data: []byte(rc)}},
	}
	return &deploy.Release{
		Chapter:   &series.Chapter{Number: 9},
		Component: series.Component{Name: "ray", Namespace: namespace},
		Chart:     ch,
		Digest:    "test",
	}
}

// Apply waits for a RayCluster until KubeRay reports it ready with every worker it asks for, and
// says what it waits for when the time runs out. kstatus's generic rule took a RayCluster as ready
// the moment it existed (no Ready condition), so `up chapter-9` went on to its checks before the
// operator had made any pod. No operator runs here: the test writes the status KubeRay v1.5.0
// writes (state, worker counts, observedGeneration) through the API server's status subresource;
// TestChapter9OnControlPlane runs the real operator.
func TestApplyWaitsForRayCluster(t *testing.T) {
	tenv := testenv.Require(t, testenv.Options{})
	h := deploy.NewHelm(tenv.Kubeconfig, "", tenv.Client())
	ctx := t.Context()
	setStatus := func(ctx context.Context, namespace string, status map[string]any) error {
		rcs := tenv.Dynamic().Resource(rayClusters).Namespace(namespace)
		u, err := rcs.Get(ctx, "ray", metav1.GetOptions{})
		if err != nil {
			return err
		}
		status["observedGeneration"] = u.GetGeneration()
		u.Object["status"] = status
		_, err = rcs.UpdateStatus(ctx, u, metav1.UpdateOptions{})
		return err
	}

	t.Run("no operator: times out and says why", func(t *testing.T) {
		if _, err := h.EnsureNamespace(ctx, "rc-a", "chapter-9"); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_, err := h.Apply(ctx, rayClusterRelease(t, "rc-a"), 5*time.Second)
		want := "RayCluster rc-a/ray not ready: state not reported yet, 0 of 2 workers Ready (no status at all: is the KubeRay operator running?)"
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("apply returned after %s with err = %v, want it to contain %q", time.Since(start), err, want)
		}
	})

	t.Run("ready once every worker is", func(t *testing.T) {
		ns := "rc-b"
		if _, err := h.EnsureNamespace(ctx, ns, "chapter-9"); err != nil {
			t.Fatal(err)
		}
		// As KubeRay reports it: the head and one worker Ready, then the second worker.
		steps := []map[string]any{
			{"state": "ready", "desiredWorkerReplicas": int64(2), "readyWorkerReplicas": int64(1)},
			{"state": "ready", "desiredWorkerReplicas": int64(2), "readyWorkerReplicas": int64(2)},
		}
		const hold = 2 * time.Second
		var readyAt time.Time
		done := make(chan error, 1)
		go func() {
			for i := 0; ; i++ {
				if ctx.Err() != nil {
					done <- ctx.Err()
					return
				}
				if _, err := tenv.Dynamic().Resource(rayClusters).Namespace(ns).Get(ctx, "ray", metav1.GetOptions{}); err == nil {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			for _, st := range steps {
				time.Sleep(hold)
				readyAt = time.Now()
				if err := setStatus(ctx, ns, st); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
		out, err := h.Apply(ctx, rayClusterRelease(t, ns), time.Minute)
		returned := time.Now()
		if gerr := <-done; gerr != nil {
			t.Fatalf("write the status: %v", gerr)
		}
		if err != nil || out.Action != "installed" {
			t.Fatalf("apply: %+v, %v", out, err)
		}
		if returned.Before(readyAt) {
			t.Errorf("apply returned %s before the RayCluster had its 2 workers Ready", readyAt.Sub(returned))
		}
		// Unchanged on a second apply, which waits again (at once: it is ready).
		if out, err := h.Apply(ctx, rayClusterRelease(t, ns), 10*time.Second); err != nil || out.Action != "unchanged" {
			t.Errorf("second apply: %+v, %v", out, err)
		}
	})
}
