package deploy

import (
	"fmt"
	"sort"
	"strings"

	"github.com/fluxcd/cli-utils/pkg/kstatus/polling/engine"
	"github.com/fluxcd/cli-utils/pkg/kstatus/polling/statusreaders"
	"github.com/fluxcd/cli-utils/pkg/kstatus/status"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// rayClusterStatus is the part of a RayCluster's status that is read here (KubeRay v1.x).
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

func readRayClusterStatus(u *unstructured.Unstructured) (rayClusterStatus, error) {
	var st rayClusterStatus
	if raw, ok := u.Object["status"].(map[string]any); ok {
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(raw, &st); err != nil {
			return st, fmt.Errorf("RayCluster %s/%s: status: %w", u.GetNamespace(), u.GetName(), err)
		}
	}
	return st, nil
}

// RayClusterWorkersAsked is the number of worker pods a RayCluster asks for: what its operator
// reports (desiredWorkerReplicas) or, before it does, what its spec asks (PodSpecs: replicas ×
// numOfHosts per worker group).
func RayClusterWorkersAsked(u *unstructured.Unstructured) int {
	st, _ := readRayClusterStatus(u)
	n := int64(0)
	for _, ps := range PodSpecs(u) {
		if ps.Name != "head" {
			n += ps.Replicas
		}
	}
	return max(st.DesiredWorkerReplicas, int(n))
}

// RayClusterVerdict judges a RayCluster as its KubeRay operator reports it: done when its state is
// "ready", its status was written for its current spec (observedGeneration) and at least want
// worker pods are Ready. Otherwise msg says what it waits for: the state, the reason and the
// conditions KubeRay wrote, or that there is no status at all (no operator).
func RayClusterVerdict(u *unstructured.Unstructured, want int) (msg string, done bool, err error) {
	st, err := readRayClusterStatus(u)
	if err != nil {
		return "", false, err
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

// rayClusterKind is KubeRay's RayCluster.
var rayClusterKind = schema.GroupKind{Group: "ray.io", Kind: "RayCluster"}

// rayClusterReader tells Helm's kstatus wait when a RayCluster is ready. kstatus's generic rule
// knows no KubeRay status (no Ready condition), so it takes a RayCluster as current as soon as it
// exists: `up` then went on before the operator had made a single pod (0.8 s to "installed" in a
// cold CI run, the worker Ready two minutes later). With it, a RayCluster is current once
// RayClusterVerdict says so for every worker it asks for.
type rayClusterReader struct{ engine.StatusReader }

func (rayClusterReader) Supports(gk schema.GroupKind) bool { return gk == rayClusterKind }

// statusReaders are the readers Helm's wait uses beside its own (before them: the first that
// supports a kind reads it).
func statusReaders(mapper meta.RESTMapper) []engine.StatusReader {
	return []engine.StatusReader{rayClusterReader{statusreaders.NewGenericStatusReader(mapper, rayClusterKStatus)}}
}

func rayClusterKStatus(u *unstructured.Unstructured) (*status.Result, error) {
	msg, done, err := RayClusterVerdict(u, RayClusterWorkersAsked(u))
	if err != nil {
		return nil, err
	}
	if done {
		return &status.Result{Status: status.CurrentStatus, Message: msg}, nil
	}
	return &status.Result{Status: status.InProgressStatus, Message: msg}, nil
}
