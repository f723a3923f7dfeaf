package check

import (
	"context"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
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
	want := minWorkers
	if want <= 0 {
		want = max(deploy.RayClusterWorkersAsked(u), 1)
	}
	return deploy.RayClusterVerdict(u, want)
}
