package check

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/mlops-series/mlops-series/internal/deploy"
	"github.com/mlops-series/mlops-series/internal/ready"
)

// RayClusterParamWorkers is the least number of Ready worker pods a ray-cluster check wants
// (default: the number the RayCluster asks for).
const RayClusterParamWorkers = "workers"

// rayClusterGVR is KubeRay's RayCluster (ray.io/v1).
var rayClusterGVR = schema.GroupVersionResource{Group: "ray.io", Version: "v1", Resource: "rayclusters"}

// rayClusterStatus is the part of a RayCluster's status the check reads (KubeRay v1.x).
type rayClusterStatus struct {
	State                   string `json:"state"`
	Reason                  string `json:"reason"`
	DesiredWorkerReplicas   int    `json:"desiredWorkerReplicas"`
	ReadyWorkerReplicas     int    `json:"readyWorkerReplicas"`
	AvailableWorkerReplicas int    `json:"availableWorkerReplicas"`
	ObservedGeneration      int64  `json:"observedGeneration"`
	Head                    struct {
		PodName   string `json:"podName"`
		PodIP     string `json:"podIP"`
		ServiceIP string `json:"serviceIP"`
	} `json:"head"`
	Conditions []metav1.Condition `json:"conditions"`
}

// RayClusterReady waits (polling until ctx ends) for the RayCluster name in namespace to be ready as
// its operator sees it: state "ready", its status written for the current spec (observedGeneration),
// and at least minWorkers Ready worker pods (0: as many as it asks for, at least 1). When ctx ends
// first, the error gives the state, the reason and the conditions KubeRay wrote, and what the
// cluster's pods are waiting for.
func RayClusterReady(ctx context.Context, dyn dynamic.Interface, cs kubernetes.Interface, namespace, name string, minWorkers int) (string, error) {
	var last string
	for {
		msg, done, err := rayClusterOnce(ctx, dyn, namespace, name, minWorkers)
		if err != nil && ctx.Err() == nil {
			return "", err
		}
		if done {
			return msg, nil
		}
		if msg != "" {
			last = msg
		}
		select {
		case <-ctx.Done():
			if last == "" {
				last = fmt.Sprintf("RayCluster %s/%s: %v", namespace, name, err)
			}
			evidence := ""
			if cs != nil {
				evidence = "\n" + strings.TrimRight(ready.Explain(context.WithoutCancel(ctx), cs, namespace, "ray.io/cluster="+name,
					ready.Options{Events: 3, LogLines: 5}), "\n")
			}
			return "", fmt.Errorf("%s when the check gave up (%v)%s", last, context.Cause(ctx), evidence)
		case <-time.After(time.Second):
		}
	}
}

// rayClusterOnce reads the RayCluster once: done when it is ready, otherwise msg says why not.
func rayClusterOnce(ctx context.Context, dyn dynamic.Interface, namespace, name string, minWorkers int) (msg string, done bool, err error) {
	u, err := dyn.Resource(rayClusterGVR).Namespace(namespace).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err) && strings.Contains(err.Error(), "the server could not find the requested resource"):
		// The API server knows no rayclusters.ray.io at all.
		return "", false, fmt.Errorf("RayCluster %s/%s: the cluster has no RayCluster kind (ray.io/v1): is the KubeRay operator's chart installed? (%w)", namespace, name, err)
	case apierrors.IsNotFound(err):
		return fmt.Sprintf("RayCluster %s/%s does not exist (is the chapter installed, and is the raycluster release's name %s?)", namespace, name, name), false, nil
	case err != nil:
		return "", false, fmt.Errorf("get RayCluster %s/%s: %w", namespace, name, err)
	}
	return rayClusterVerdict(u, minWorkers)
}

// rayClusterVerdict judges a RayCluster object (see RayClusterReady).
func rayClusterVerdict(u *unstructured.Unstructured, minWorkers int) (msg string, done bool, err error) {
	var st rayClusterStatus
	if raw, ok := u.Object["status"].(map[string]any); ok {
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(raw, &st); err != nil {
			return "", false, fmt.Errorf("RayCluster %s/%s: status: %w", u.GetNamespace(), u.GetName(), err)
		}
	}
	want := minWorkers
	if want <= 0 {
		want = max(st.DesiredWorkerReplicas, rayClusterSpecWorkers(u), 1)
	}
	id := u.GetNamespace() + "/" + u.GetName()
	state := st.State
	if state == "" {
		state = "not reported yet"
	}
	summary := fmt.Sprintf("state %s, %d of %d workers Ready", state, st.ReadyWorkerReplicas, want)
	switch {
	case st.ObservedGeneration < u.GetGeneration() && st.ObservedGeneration != 0:
		return fmt.Sprintf("RayCluster %s: the operator has not yet handled its latest change (generation %d, status for %d); %s",
			id, u.GetGeneration(), st.ObservedGeneration, summary), false, nil
	case st.State != "ready" || st.ReadyWorkerReplicas < want:
		detail := ""
		if st.Reason != "" {
			detail += "; reason: " + st.Reason
		}
		if conds := rayConditions(st.Conditions); conds != "" {
			detail += "; conditions: " + conds
		}
		if st.State == "" && len(st.Conditions) == 0 {
			detail += " (no status at all: is the KubeRay operator running?)"
		}
		return fmt.Sprintf("RayCluster %s not ready: %s%s", id, summary, detail), false, nil
	}
	head := st.Head.PodName
	if head == "" {
		head = "head"
	}
	if st.Head.PodIP != "" {
		head += " at " + st.Head.PodIP
	}
	return fmt.Sprintf("RayCluster %s ready: %d of %d workers Ready, %s", id, st.ReadyWorkerReplicas, want, head), true, nil
}

// rayClusterSpecWorkers is the number of worker pods the RayCluster asks for: what the footprint
// counts, every pod template but the head's (deploy.PodSpecs: replicas × numOfHosts per group).
func rayClusterSpecWorkers(u *unstructured.Unstructured) int {
	n := int64(0)
	for _, ps := range deploy.PodSpecs(u) {
		if ps.Name != "head" {
			n += ps.Replicas
		}
	}
	return int(n)
}

// rayConditions lists conditions as Type=Status (Reason), sorted by type.
func rayConditions(cs []metav1.Condition) string {
	out := make([]string, 0, len(cs))
	for _, c := range cs {
		s := c.Type + "=" + string(c.Status)
		if c.Reason != "" {
			s += " (" + c.Reason + ")"
		}
		out = append(out, s)
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}
