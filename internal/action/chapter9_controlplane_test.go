package action

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/mlops-series/mlops-series/internal/nativetest"
	"github.com/mlops-series/mlops-series/internal/testenv"
)

// TestChapter9OnControlPlane brings chapter 9 up on the test control plane with the REAL KubeRay
// operator (v1.5.0, built from its Go module) reconciling the chart's RayCluster: it runs as the
// chart's ServiceAccount (impersonated), so the chart's ClusterRole is what it may do, and it creates
// the head and worker pods and the head's Service; KWOK runs the pods. The head pod's dashboard port
// (8265) is sent by KWOK to a REAL Ray 2.60.0 head on loopback (nativetest.Ray) whose jobs find
// chapter 9's example on PYTHONPATH, as in the chapter's image: so `up` proves the charts, the
// operator's permissions and status, the ray-cluster check against the status KubeRay wrote, and
// the ray-job check's Ray Train run (two training workers) through the CLI's port-forward. What it
// does not prove: that Ray starts in the pods (the real-container layer does).
func TestChapter9OnControlPlane(t *testing.T) {
	examples, err := filepath.Abs("../../series/chapter-9-distributed-training/examples")
	if err != nil {
		t.Fatal(err)
	}
	head := nativetest.Ray(t, "PYTHONPATH="+examples)
	tenv := testenv.Require(t, testenv.Options{PortForwards: []testenv.PortForward{{
		Namespace: "ray", Selector: map[string]string{"ray.io/node-type": "head"},
		Ports: []int32{8265}, TargetPort: int32(head.Port),
	}}})
	operator := nativetest.KubeRayOperator(t, tenv.Kubeconfig, "ray", "ray/kuberay-operator")
	e := newCPEnv(t, tenv)
	ctx := t.Context()

	start := time.Now()
	if err := e.Up(ctx, "chapter-9", UpOptions{Timeout: 10 * time.Minute}); err != nil {
		t.Fatalf("up chapter-9: %v\n%s\noperator log:\n%s", err, e.out, operator.Tail(30))
	}
	t.Logf("up chapter-9 with its checks in %s", time.Since(start).Round(time.Millisecond))
	for _, l := range strings.Split(e.out.String(), "\n") {
		if strings.Contains(l, "RayCluster") || strings.Contains(l, "SUCCEEDED") || strings.Contains(l, "installed") {
			t.Log(strings.TrimSpace(l))
		}
	}
	for _, want := range []string{"installed (namespace ray, revision 1)", "checks 3/3 passed", "✓ ray-cluster", "RayCluster ray/ray ready: 1 of 1 workers Ready",
		"✓ ray-job", "SUCCEEDED", "2 workers on 1 node(s)"} {
		if !strings.Contains(e.out.String(), want) {
			t.Errorf("up output lacks %q:\n%s", want, e.out)
		}
	}

	// The operator made the pods from the chart's templates: the head with the chart's probes and
	// resources, the worker with its group's.
	pods, err := tenv.Client().CoreV1().Pods("ray").List(ctx, metav1.ListOptions{LabelSelector: "ray.io/cluster=ray"})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	limits := map[string]string{"head": "2688Mi", "worker": "1280Mi"} // charts/raycluster/values.yaml
	for _, p := range pods.Items {
		kind := p.Labels["ray.io/node-type"]
		kinds[kind]++
		if p.Labels["app.kubernetes.io/instance"] != "ray" {
			t.Errorf("pod %s lacks the chart's instance label: %v", p.Name, p.Labels)
		}
		c := p.Spec.Containers[0]
		if c.Resources.Limits.Memory().String() != limits[kind] || c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet == nil {
			t.Errorf("pod %s: container %s limits %v, readiness %+v: want the chart's", p.Name, c.Name, c.Resources.Limits, c.ReadinessProbe)
		}
	}
	if kinds["head"] != 1 || kinds["worker"] != 1 {
		t.Errorf("pods by ray.io/node-type: %v, want 1 head and 1 worker", kinds)
	}

	// Down removes both releases; the RayCluster goes with its release and its pods with it.
	e.out.Reset()
	if err := e.Down(ctx, "chapter-9", DownOptions{Timeout: 3 * time.Minute}); err != nil {
		t.Fatalf("down chapter-9: %v\n%s", err, e.out)
	}
	if _, err := tenv.Client().CoreV1().Namespaces().Get(ctx, "ray", getOpts); !apierrors.IsNotFound(err) {
		t.Errorf("namespace ray left behind (err %v)", err)
	}
	rc := schema.GroupVersionResource{Group: "ray.io", Version: "v1", Resource: "rayclusters"}
	if l, err := tenv.Dynamic().Resource(rc).List(ctx, metav1.ListOptions{}); err != nil || len(l.Items) != 0 {
		t.Errorf("RayClusters left: %v (err %v)", l, err)
	}
}
