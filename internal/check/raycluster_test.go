package check

import (
	"context"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynfake "k8s.io/client-go/dynamic/fake"
	"sigs.k8s.io/yaml"
)

// rayClusterObj is a RayCluster as KubeRay v1.5.0 leaves it (status fields from its API types),
// with one worker group of two replicas.
func rayClusterObj(t *testing.T, status string) *unstructured.Unstructured {
	t.Helper()
	doc := `
apiVersion: ray.io/v1
kind: RayCluster
metadata: {name: ray, namespace: ray, generation: 2}
spec:
  workerGroupSpecs:
    - {groupName: workers, replicas: 2, numOfHosts: 1}
status:
` + status
	// Through JSON, as a client decodes it (numbers as int64).
	js, err := yaml.YAMLToJSON([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(js); err != nil {
		t.Fatal(err)
	}
	return u
}

func TestRayClusterVerdict(t *testing.T) {
	for _, tc := range []struct {
		name, status string
		minWorkers   int
		done         bool
		want         []string
	}{
		{"ready", `
  state: ready
  desiredWorkerReplicas: 2
  readyWorkerReplicas: 2
  observedGeneration: 2
  head: {podName: ray-head-x, podIP: 10.244.0.7}`, 0, true,
			[]string{"RayCluster ray/ray ready: 2 of 2 workers Ready, ray-head-x at 10.244.0.7"}},
		{"ready with fewer workers than it asks for, enough for the check", `
  state: ready
  desiredWorkerReplicas: 2
  readyWorkerReplicas: 1
  observedGeneration: 2`, 1, true,
			[]string{"1 of 1 workers Ready"}},
		{"workers still starting", `
  state: ready
  desiredWorkerReplicas: 2
  readyWorkerReplicas: 1
  observedGeneration: 2
  conditions:
    - {type: RayClusterProvisioned, status: "False", reason: RayClusterPodsProvisioning, lastTransitionTime: "2026-12-02T00:00:00Z", message: ""}
    - {type: HeadPodReady, status: "True", reason: HeadPodRunningAndReady, lastTransitionTime: "2026-12-02T00:00:00Z", message: ""}`, 0, false,
			[]string{"RayCluster ray/ray not ready: state ready, 1 of 2 workers Ready",
				"conditions: HeadPodReady=True (HeadPodRunningAndReady), RayClusterProvisioned=False (RayClusterPodsProvisioning)"}},
		{"no status: no operator", ``, 0, false,
			[]string{"state not reported yet, 0 of 2 workers Ready", "is the KubeRay operator running?"}},
		{"status of an older spec", `
  state: ready
  readyWorkerReplicas: 2
  observedGeneration: 1`, 0, false,
			[]string{"has not yet handled its latest change (generation 2, status for 1)"}},
		{"failed", `
  state: failed
  reason: "Pod \"ray-head\" is invalid"
  observedGeneration: 2`, 0, false,
			[]string{"state failed, 0 of 2 workers Ready; reason: Pod \"ray-head\" is invalid"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg, done, err := rayClusterVerdict(rayClusterObj(t, tc.status), tc.minWorkers)
			if err != nil {
				t.Fatal(err)
			}
			if done != tc.done {
				t.Errorf("done = %v, want %v (%s)", done, tc.done, msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("want %q in %q", w, msg)
				}
			}
		})
	}
}

// RayClusterReady waits while the RayCluster is missing or not ready, and says what it last saw
// when it gives up; a cluster without the kind says so at once.
func TestRayClusterReadyWaits(t *testing.T) {
	gvr := schema.GroupVersionResource{Group: "ray.io", Version: "v1", Resource: "rayclusters"}
	dyn := dynfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{gvr: "RayClusterList"})
	ctx, cancel := context.WithTimeout(t.Context(), 1500*time.Millisecond)
	defer cancel()
	_, err := RayClusterReady(ctx, dyn, nil, "ray", "ray", 1)
	if err == nil || !strings.Contains(err.Error(), "RayCluster ray/ray does not exist") || !strings.Contains(err.Error(), "when the check gave up") {
		t.Fatalf("err = %v", err)
	}

	obj := rayClusterObj(t, "\n  state: ready\n  readyWorkerReplicas: 2\n  observedGeneration: 2")
	dyn = dynfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{gvr: "RayClusterList"}, obj)
	msg, err := RayClusterReady(t.Context(), dyn, nil, "ray", "ray", 0)
	if err != nil || !strings.Contains(msg, "2 of 2 workers Ready") {
		t.Fatalf("msg %q, err %v", msg, err)
	}
}
