package check

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/mlops-series/mlops-series/internal/gitops"
	"github.com/mlops-series/mlops-series/internal/series"
)

// Params of the flux-sync and flux-drift checks.
const (
	// FluxParamRepository is the Git server's repository the cluster syncs from (/<name>.git).
	FluxParamRepository = "repository"
	// FluxParamKustomization is the Kustomization, as namespace/name.
	FluxParamKustomization = "kustomization"
	// FluxParamConfigMap is a ConfigMap the Kustomization applies, as namespace/name: flux-drift
	// changes it in the cluster and waits for Flux to put it back.
	FluxParamConfigMap = "configmap"
)

// The Flux kinds the checks read (Flux 2.x, API v1).
var (
	GitRepositoryGVR = schema.GroupVersionResource{Group: "source.toolkit.fluxcd.io", Version: "v1", Resource: "gitrepositories"}
	KustomizationGVR = schema.GroupVersionResource{Group: "kustomize.toolkit.fluxcd.io", Version: "v1", Resource: "kustomizations"}
)

// ReconcileAnnotation asks a Flux controller to reconcile an object now (what `flux reconcile` sets);
// the controller writes the value it handled to status.lastHandledReconcileAt.
const ReconcileAnnotation = "reconcile.fluxcd.io/requestedAt"

// FluxObject is the part of a Flux object the checks read.
type FluxObject struct {
	Generation int64 `json:"-"`
	Spec       struct {
		SourceRef struct {
			Kind      string `json:"kind"`
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
		} `json:"sourceRef"`
		URL string `json:"url"`
	} `json:"spec"`
	Status struct {
		ObservedGeneration int64              `json:"observedGeneration"`
		Conditions         []metav1.Condition `json:"conditions"`
		Artifact           *struct {
			Revision string `json:"revision"`
		} `json:"artifact"`
		LastAppliedRevision    string `json:"lastAppliedRevision"`
		LastAttemptedRevision  string `json:"lastAttemptedRevision"`
		LastHandledReconcileAt string `json:"lastHandledReconcileAt"`
		Inventory              *struct {
			Entries []struct {
				ID string `json:"id"`
			} `json:"entries"`
		} `json:"inventory"`
	} `json:"status"`
}

// ReadFluxObject reads a GitRepository or Kustomization.
func ReadFluxObject(ctx context.Context, dyn dynamic.Interface, gvr schema.GroupVersionResource, namespace, name string) (*FluxObject, error) {
	u, err := dyn.Resource(gvr).Namespace(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	var o FluxObject
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &o); err != nil {
		return nil, fmt.Errorf("%s %s/%s: %w", gvr.Resource, namespace, name, err)
	}
	o.Generation = u.GetGeneration()
	return &o, nil
}

// Ready says whether the object's Ready condition is True for its current spec, and if not why.
func (o *FluxObject) Ready() (bool, string) {
	if o.Status.ObservedGeneration != o.Generation {
		return false, fmt.Sprintf("generation %d not yet observed (status is for %d)", o.Generation, o.Status.ObservedGeneration)
	}
	for _, c := range o.Status.Conditions {
		if c.Type == "Ready" {
			if c.Status == metav1.ConditionTrue {
				return true, c.Message
			}
			return false, fmt.Sprintf("Ready=%s (%s): %s", c.Status, c.Reason, c.Message)
		}
	}
	return false, "no Ready condition yet (is the controller running?)"
}

// Revision is the revision the object holds: a source's artifact, or what a Kustomization applied.
func (o *FluxObject) Revision() string {
	if o.Status.Artifact != nil {
		return o.Status.Artifact.Revision
	}
	return o.Status.LastAppliedRevision
}

// Inventory lists what a Kustomization applied, as "Kind namespace/name" (or "Kind name").
func (o *FluxObject) Inventory() []string {
	if o.Status.Inventory == nil {
		return nil
	}
	var out []string
	for _, e := range o.Status.Inventory.Entries {
		// <namespace>_<name>_<group>_<kind>
		p := strings.Split(e.ID, "_")
		if len(p) != 4 {
			out = append(out, e.ID)
			continue
		}
		if p[0] == "" {
			out = append(out, p[3]+" "+p[1])
		} else {
			out = append(out, p[3]+" "+p[0]+"/"+p[1])
		}
	}
	sort.Strings(out)
	return out
}

// RequestReconcile sets ReconcileAnnotation on a Flux object and returns the value it set.
func RequestReconcile(ctx context.Context, dyn dynamic.Interface, gvr schema.GroupVersionResource, namespace, name string) (string, error) {
	token := time.Now().UTC().Format(time.RFC3339Nano)
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{ReconcileAnnotation: token}}})
	_, err := dyn.Resource(gvr).Namespace(namespace).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: "mlops-series"})
	if err != nil {
		return "", fmt.Errorf("request a reconcile of %s %s/%s: %w", gvr.Resource, namespace, name, err)
	}
	return token, nil
}

// SplitRef splits "namespace/name".
func SplitRef(ref string) (namespace, name string, err error) {
	ns, n, ok := strings.Cut(ref, "/")
	if !ok || !dnsLabelRe.MatchString(ns) || n == "" || strings.Contains(n, "/") {
		return "", "", fmt.Errorf("want namespace/name, got %q", ref)
	}
	return ns, n, nil
}

// FluxSync is the flux-sync check: the repository's main branch, the GitRepository that clones it
// and the Kustomization that applies it agree. Both objects are Ready for their current spec, the
// GitRepository's artifact is the branch's head and the Kustomization applied that revision.
type FluxSync struct {
	// GitURL is the repository (through the port-forward to the Git server).
	GitURL string
	// Namespace and Name are the Kustomization's; its sourceRef names the GitRepository.
	Namespace, Name string
}

// Run polls until the three agree or ctx ends. When the objects are behind the branch it asks
// both controllers for a reconcile once, as `flux reconcile kustomization --with-source` does,
// instead of waiting for their intervals.
func (f FluxSync) Run(ctx context.Context, dyn dynamic.Interface) (string, error) {
	requested := false
	var last string
	for {
		msg, done, behind, err := f.once(ctx, dyn)
		if err != nil && ctx.Err() == nil {
			return "", err
		}
		if done {
			return msg, nil
		}
		if msg != "" {
			last = msg
		}
		if behind && !requested {
			requested = true
			src, _ := ReadFluxObject(ctx, dyn, KustomizationGVR, f.Namespace, f.Name)
			if src != nil {
				if _, err := RequestReconcile(ctx, dyn, GitRepositoryGVR, f.sourceNamespace(src), src.Spec.SourceRef.Name); err != nil {
					return "", err
				}
			}
			if _, err := RequestReconcile(ctx, dyn, KustomizationGVR, f.Namespace, f.Name); err != nil {
				return "", err
			}
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("%s when the check gave up (%v)", last, context.Cause(ctx))
		case <-time.After(time.Second):
		}
	}
}

func (f FluxSync) sourceNamespace(ks *FluxObject) string {
	if ks.Spec.SourceRef.Namespace != "" {
		return ks.Spec.SourceRef.Namespace
	}
	return f.Namespace
}

func (f FluxSync) once(ctx context.Context, dyn dynamic.Interface) (msg string, done, behind bool, err error) {
	head, err := gitops.Head(ctx, f.GitURL)
	if err != nil {
		return "", false, false, err
	}
	if head == "" {
		return "", false, false, fmt.Errorf("%s has no %s branch: nothing was pushed to it (up publishes the chapter's folder; or run `mlops-series gitops push`)", f.GitURL, gitops.Branch)
	}
	want := gitops.Revision(head)
	ks, err := ReadFluxObject(ctx, dyn, KustomizationGVR, f.Namespace, f.Name)
	if err != nil {
		return "", false, false, fmt.Errorf("read the Kustomization %s/%s: %w", f.Namespace, f.Name, err)
	}
	if ks.Spec.SourceRef.Kind != "GitRepository" {
		return "", false, false, fmt.Errorf("the Kustomization %s/%s applies a %s, not a GitRepository", f.Namespace, f.Name, ks.Spec.SourceRef.Kind)
	}
	srcNS, srcName := f.sourceNamespace(ks), ks.Spec.SourceRef.Name
	src, err := ReadFluxObject(ctx, dyn, GitRepositoryGVR, srcNS, srcName)
	if err != nil {
		return "", false, false, fmt.Errorf("read the GitRepository %s/%s: %w", srcNS, srcName, err)
	}
	if ok, why := src.Ready(); !ok {
		return fmt.Sprintf("GitRepository %s/%s is not ready: %s", srcNS, srcName, why), false, false, nil
	}
	if got := src.Revision(); got != want {
		return fmt.Sprintf("GitRepository %s/%s holds %s, the branch is at %s", srcNS, srcName, got, want), false, true, nil
	}
	if ok, why := ks.Ready(); !ok {
		return fmt.Sprintf("Kustomization %s/%s is not ready: %s", f.Namespace, f.Name, why), false, false, nil
	}
	if got := ks.Status.LastAppliedRevision; got != want {
		return fmt.Sprintf("Kustomization %s/%s applied %s, the branch is at %s", f.Namespace, f.Name, got, want), false, true, nil
	}
	inv := ks.Inventory()
	return fmt.Sprintf("%s at %s: fetched by GitRepository %s/%s and applied by Kustomization %s/%s, %d object(s): %s",
		f.GitURL, want, srcNS, srcName, f.Namespace, f.Name, len(inv), strings.Join(inv, ", ")), true, false, nil
}

// DriftValue is what flux-drift writes into the ConfigMap.
const DriftValue = "changed-in-the-cluster-by-mlops-series-check"

// FluxDrift is the flux-drift check: a ConfigMap the Kustomization applied is changed in the
// cluster (one key, as a person with kubectl edit would), a reconcile is requested, and Flux must
// put Git's value back. If it does not before the check gives up, the check restores the value
// itself, so a failed check leaves the cluster as it found it.
type FluxDrift struct {
	// Namespace and Name are the Kustomization's.
	Namespace, Name string
	// CMNamespace and CMName are the ConfigMap's.
	CMNamespace, CMName string
}

// Run changes, requests and waits; see FluxDrift.
func (f FluxDrift) Run(ctx context.Context, dyn dynamic.Interface, cs kubernetes.Interface) (string, error) {
	ks, err := ReadFluxObject(ctx, dyn, KustomizationGVR, f.Namespace, f.Name)
	if err != nil {
		return "", fmt.Errorf("read the Kustomization %s/%s: %w", f.Namespace, f.Name, err)
	}
	want := "ConfigMap " + f.CMNamespace + "/" + f.CMName
	managed := false
	for _, o := range ks.Inventory() {
		managed = managed || o == want
	}
	if !managed {
		return "", fmt.Errorf("%s is not among what Kustomization %s/%s applied (%s)", want, f.Namespace, f.Name, strings.Join(ks.Inventory(), ", "))
	}
	cms := cs.CoreV1().ConfigMaps(f.CMNamespace)
	cm, err := cms.Get(ctx, f.CMName, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	if len(cm.Data) == 0 {
		return "", fmt.Errorf("%s has no data to change", want)
	}
	keys := make([]string, 0, len(cm.Data))
	for k := range cm.Data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	key := keys[0]
	orig := cm.Data[key]
	if orig == DriftValue {
		return "", fmt.Errorf("%s already holds %s=%q: an earlier run's change was never reverted", want, key, DriftValue)
	}
	cm.Data[key] = DriftValue
	if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{FieldManager: "mlops-series-check"}); err != nil {
		return "", fmt.Errorf("change %s: %w", want, err)
	}
	start := time.Now()
	if _, err := RequestReconcile(ctx, dyn, KustomizationGVR, f.Namespace, f.Name); err != nil {
		return "", errRestore(f.restore(ctx, cs, key, orig), err)
	}
	for {
		cur, err := cms.Get(ctx, f.CMName, metav1.GetOptions{})
		if err == nil && cur.Data[key] == orig {
			return fmt.Sprintf("%s: %s set to %q in the cluster; Kustomization %s/%s put Git's value %q back %.1fs after the reconcile was requested",
				want, key, DriftValue, f.Namespace, f.Name, orig, time.Since(start).Seconds()), nil
		}
		select {
		case <-ctx.Done():
			return "", errRestore(f.restore(ctx, cs, key, orig),
				fmt.Errorf("%s still holds %s=%q %s after the reconcile was requested (%v)", want, key, DriftValue, time.Since(start).Round(time.Second), context.Cause(ctx)))
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func (f FluxDrift) restore(ctx context.Context, cs kubernetes.Interface, key, value string) error {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	cms := cs.CoreV1().ConfigMaps(f.CMNamespace)
	cm, err := cms.Get(rctx, f.CMName, metav1.GetOptions{})
	if err != nil {
		return err
	}
	if cm.Data == nil {
		cm.Data = map[string]string{}
	}
	cm.Data[key] = value
	_, err = cms.Update(rctx, cm, metav1.UpdateOptions{FieldManager: "mlops-series-check"})
	return err
}

func errRestore(restoreErr, err error) error {
	if restoreErr != nil {
		return fmt.Errorf("%w; restoring the value failed too: %v", err, restoreErr)
	}
	return fmt.Errorf("%w (the check restored Git's value itself)", err)
}

// fluxRefProblems validates a namespace/name param.
func fluxRefProblems(ck series.Check, param string) []series.FieldProblem {
	v := ck.Params[param]
	if v == "" {
		return nil // reported as a missing param
	}
	if _, _, err := SplitRef(v); err != nil {
		return []series.FieldProblem{{Field: "params." + param, Message: err.Error()}}
	}
	return nil
}

// dnsLabelRe is a namespace name.
var dnsLabelRe = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
