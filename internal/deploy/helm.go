package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/kube"
	"helm.sh/helm/v4/pkg/release/common"
	release "helm.sh/helm/v4/pkg/release/v1"
	"helm.sh/helm/v4/pkg/storage/driver"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/resource"
	"k8s.io/client-go/kubernetes"

	"github.com/mlops-series/mlops-series/internal/ready"
)

// Helm installs, upgrades and removes releases on one cluster.
type Helm struct {
	kubeconfig, context string
	CS                  kubernetes.Interface
	// Log receives Helm's debug log (default: discarded).
	Log io.Writer
}

// NewHelm returns a Helm client for the kubeconfig file and context (empty: the defaults).
func NewHelm(kubeconfig, kubeContext string, cs kubernetes.Interface) *Helm {
	return &Helm{kubeconfig: kubeconfig, context: kubeContext, CS: cs}
}

func (h *Helm) config(namespace string) (*action.Configuration, error) {
	w := h.Log
	if w == nil {
		w = io.Discard
	}
	cfg := action.NewConfiguration()
	cfg.SetLogger(slog.New(slog.NewTextHandler(w, nil)).Handler())
	flags := genericclioptions.NewConfigFlags(false)
	if h.kubeconfig != "" {
		flags.KubeConfig = &h.kubeconfig
	}
	if h.context != "" {
		flags.Context = &h.context
	}
	flags.Namespace = &namespace
	if err := cfg.Init(flags, namespace, "secret"); err != nil {
		return nil, fmt.Errorf("helm client for namespace %s: %w", namespace, err)
	}
	return cfg, nil
}

// Outcome says what Apply did.
type Outcome struct {
	// Action is "installed", "upgraded" or "unchanged".
	Action   string
	Revision int
	// Note explains a recovery (e.g. a release left pending by an interrupted run).
	Note string
}

// Current returns the latest revision of a release, or nil when there is none.
func (h *Helm) Current(namespace, name string) (*release.Release, error) {
	cfg, err := h.config(namespace)
	if err != nil {
		return nil, err
	}
	return last(cfg, name)
}

func last(cfg *action.Configuration, name string) (*release.Release, error) {
	rl, err := cfg.Releases.Last(name)
	if errors.Is(err, driver.ErrReleaseNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	r, ok := rl.(*release.Release)
	if !ok {
		return nil, fmt.Errorf("unexpected release type %T", rl)
	}
	return r, nil
}

// EnsureNamespace creates the namespace if it does not exist and reports whether it did.
func (h *Helm) EnsureNamespace(ctx context.Context, name, chapter string) (bool, error) {
	_, err := h.CS.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
	if err == nil {
		return false, nil
	}
	if !apierrors.IsNotFound(err) {
		return false, fmt.Errorf("get namespace %s: %w", name, err)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name:   name,
		Labels: map[string]string{LabelManaged: "mlops-series", LabelChapter: chapter},
	}}
	if _, err := h.CS.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return false, fmt.Errorf("create namespace %s: %w", name, err)
	}
	return true, nil
}

// Apply converges one release: observe the current revision, skip when it is deployed with the
// same digest, otherwise install or upgrade and wait (kstatus, Jobs included) up to timeout.
// A release left pending-install/-upgrade/-rollback by an interrupted run is recovered first.
func (h *Helm) Apply(ctx context.Context, r *Release, timeout time.Duration) (Outcome, error) {
	cfg, err := h.config(r.Namespace())
	if err != nil {
		return Outcome{}, err
	}
	cur, err := last(cfg, r.Name())
	if err != nil {
		return Outcome{}, fmt.Errorf("get release %s: %w", r.Key(), err)
	}
	var note string
	if cur != nil && cur.Info.Status.IsPending() {
		note = fmt.Sprintf("release %s was left %s by an interrupted run (revision %d); marked failed and converged",
			r.Key(), cur.Info.Status, cur.Version)
		cur.SetStatus(common.StatusFailed, "interrupted; superseded by mlops-series up")
		if err := cfg.Releases.Update(cur); err != nil {
			return Outcome{}, fmt.Errorf("recover release %s from %s: %w", r.Key(), cur.Info.Status, err)
		}
	}
	if cur != nil && cur.Info.Status == common.StatusDeployed && cur.Labels[LabelDigest] == r.Digest {
		// Unchanged: no new revision. Still make sure it is ready (cheap when it is).
		if err := h.waitReady(ctx, cfg, cur, timeout); err != nil {
			return Outcome{}, h.explain(ctx, r, "wait for", err)
		}
		return Outcome{Action: "unchanged", Revision: cur.Version, Note: note}, nil
	}
	labels := map[string]string{LabelDigest: r.Digest, LabelChapter: r.Chapter.ID()}
	if cur == nil || !everDeployed(cfg, r.Name()) {
		if cur != nil {
			// A first install that never succeeded: remove its remains, then install afresh.
			if err := uninstall(ctx, cfg, cur, timeout); err != nil {
				return Outcome{}, fmt.Errorf("remove failed install of %s: %w", r.Key(), err)
			}
			if note == "" {
				note = fmt.Sprintf("release %s had a failed first install; removed and installed again", r.Key())
			}
		}
		in := action.NewInstall(cfg)
		in.ReleaseName = r.Name()
		in.Namespace = r.Namespace()
		in.WaitStrategy = kube.StatusWatcherStrategy
		in.WaitForJobs = true
		in.WaitOptions = waitOptions(ctx, cfg)
		in.Timeout = timeout
		in.Labels = labels
		in.Description = "mlops-series up " + r.Chapter.ID()
		rel, err := in.RunWithContext(ctx, r.Chart, r.Values)
		if err != nil {
			return Outcome{}, h.explain(ctx, r, "install", err)
		}
		return Outcome{Action: "installed", Revision: revision(rel), Note: note}, nil
	}
	up := action.NewUpgrade(cfg)
	up.Namespace = r.Namespace()
	up.WaitStrategy = kube.StatusWatcherStrategy
	up.WaitForJobs = true
	up.WaitOptions = waitOptions(ctx, cfg)
	up.Timeout = timeout
	up.Labels = labels
	up.MaxHistory = 5
	up.Description = "mlops-series up " + r.Chapter.ID()
	rel, err := up.RunWithContext(ctx, r.Name(), r.Chart, r.Values)
	if err != nil {
		return Outcome{}, h.explain(ctx, r, "upgrade", err)
	}
	return Outcome{Action: "upgraded", Revision: revision(rel), Note: note}, nil
}

func everDeployed(cfg *action.Configuration, name string) bool {
	hist, err := cfg.Releases.History(name)
	if err != nil {
		return false
	}
	for _, rl := range hist {
		if r, ok := rl.(*release.Release); ok && (r.Info.Status == common.StatusDeployed || r.Info.Status == common.StatusSuperseded) {
			return true
		}
	}
	return false
}

func revision(rl any) int {
	if r, ok := rl.(*release.Release); ok {
		return r.Version
	}
	return 0
}

func (h *Helm) waitReady(ctx context.Context, cfg *action.Configuration, rel *release.Release, timeout time.Duration) error {
	resources, err := cfg.KubeClient.Build(strings.NewReader(rel.Manifest), false)
	if err != nil {
		return fmt.Errorf("read manifest of %s/%s: %w", rel.Namespace, rel.Name, err)
	}
	kc, ok := cfg.KubeClient.(*kube.Client)
	if !ok {
		return fmt.Errorf("unexpected kube client %T", cfg.KubeClient)
	}
	w, err := kc.GetWaiterWithOptions(kube.StatusWatcherStrategy, waitOptions(ctx, cfg)...)
	if err != nil {
		return err
	}
	return w.WaitWithJobs(resources, timeout)
}

// waitOptions are the options of every wait for a release's readiness: ctx ends it, and the status
// readers of statusReaders judge the kinds kstatus's generic rule cannot (a RayCluster). Without
// a REST mapper (the cluster does not answer) Helm's own readers are used alone: the install then
// fails on the same unreachable cluster with Helm's error.
func waitOptions(ctx context.Context, cfg *action.Configuration) []kube.WaitOption {
	opts := []kube.WaitOption{kube.WithWaitContext(ctx)}
	if mapper, err := cfg.RESTClientGetter.ToRESTMapper(); err == nil {
		opts = append(opts, kube.WithKStatusReaders(statusReaders(mapper)...))
	}
	return opts
}

// explain wraps an install/upgrade/wait error with the evidence of what is not ready.
func (h *Helm) explain(ctx context.Context, r *Release, op string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%s %s: interrupted (%w); run `mlops-series up %s` again to converge", op, r.Key(), ctx.Err(), r.Chapter.ID())
	}
	msg := fmt.Sprintf("%s %s: %v", op, r.Key(), err)
	if h.CS != nil {
		if ev := ready.Explain(ctx, h.CS, r.Namespace(), InstanceLabel+"="+r.Name(), ready.Options{}); ev != "" {
			msg += "\n" + strings.TrimRight(ev, "\n")
		}
	}
	return errors.New(msg)
}

// Uninstall removes a release and waits for its objects to go; a missing release is not an error.
func (h *Helm) Uninstall(ctx context.Context, namespace, name string, timeout time.Duration) (bool, error) {
	cfg, err := h.config(namespace)
	if err != nil {
		return false, err
	}
	cur, err := last(cfg, name)
	if err != nil {
		return false, fmt.Errorf("get release %s/%s: %w", namespace, name, err)
	}
	if cur == nil {
		return false, nil
	}
	if err := uninstall(ctx, cfg, cur, timeout); err != nil {
		return true, fmt.Errorf("uninstall %s/%s: %w", namespace, name, err)
	}
	return true, nil
}

// uninstall removes release rel and waits, up to timeout, until the objects it deleted are gone.
//
// The wait is ours, not Helm's: Helm 4.3's kstatus wait for deletion counts an object it has not
// observed yet as already gone, so when another object's deletion is seen first it can end while
// an object with a finalizer is still being deleted, and fail with "still exists ... Terminating"
// (Flux's Kustomization, whose finalizer prunes what it applied, on a loaded machine). Helm still
// runs and waits for the release's delete hooks.
func uninstall(ctx context.Context, cfg *action.Configuration, rel *release.Release, timeout time.Duration) error {
	// What Helm deletes: the release's manifest, without the objects it keeps by policy.
	objs, err := cfg.KubeClient.Build(strings.NewReader(rel.Manifest), false)
	if err != nil {
		return fmt.Errorf("read the objects of release %s: %w", rel.Name, err)
	}
	deleted := objs.Filter(func(info *resource.Info) bool {
		a, err := meta.Accessor(info.Object)
		return err != nil || a.GetAnnotations()[kube.ResourcePolicyAnno] != kube.KeepPolicy
	})
	un := action.NewUninstall(cfg)
	un.WaitStrategy = kube.HookOnlyStrategy
	un.WaitOptions = []kube.WaitOption{kube.WithWaitContext(ctx)}
	un.Timeout = timeout
	un.IgnoreNotFound = true
	if _, err := un.Run(rel.Name); err != nil {
		return err
	}
	return waitDeleted(ctx, deleted, timeout)
}

// deletePoll is how often waitDeleted looks again.
const deletePoll = time.Second

// waitDeleted waits until every object of objs is gone (NotFound), up to timeout (0: 5 minutes).
// On timeout it names each object still there, with its finalizers.
func waitDeleted(ctx context.Context, objs kube.ResourceList, timeout time.Duration) error {
	if timeout <= 0 {
		timeout = 5 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		var left []string
		for _, info := range objs {
			what := fmt.Sprintf("%s %s/%s", info.Mapping.GroupVersionKind.Kind, info.Namespace, info.Name)
			helper := resource.NewHelper(info.Client, info.Mapping)
			obj, err := helper.Get(info.Namespace, info.Name)
			switch {
			case apierrors.IsNotFound(err):
				continue
			case err != nil:
				left = append(left, fmt.Sprintf("%s (%v)", what, err))
			default:
				if a, err := meta.Accessor(obj); err == nil && len(a.GetFinalizers()) > 0 {
					what += fmt.Sprintf(" (finalizers %s)", strings.Join(a.GetFinalizers(), ", "))
				}
				left = append(left, what)
			}
		}
		if len(left) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d object(s) still there after %s: %s", len(left), timeout, strings.Join(left, "; "))
		case <-time.After(deletePoll):
		}
	}
}

// PVCs names the PersistentVolumeClaims of a release.
func (h *Helm) PVCs(ctx context.Context, namespace, name string) ([]string, error) {
	list, err := h.CS.CoreV1().PersistentVolumeClaims(namespace).List(ctx, metav1.ListOptions{LabelSelector: InstanceLabel + "=" + name})
	if err != nil {
		return nil, fmt.Errorf("list PVCs of %s/%s: %w", namespace, name, err)
	}
	names := make([]string, 0, len(list.Items))
	for _, p := range list.Items {
		names = append(names, p.Name)
	}
	return names, nil
}

// DeletePVCs deletes the PersistentVolumeClaims of a release (StatefulSet claims outlive Helm,
// unless their retention policy has the StatefulSet controller delete them). It returns how many
// claims are gone or going: those it deleted and those of before (names from PVCs before the
// uninstall) that the controller deleted first, so the count does not depend on who was quicker.
func (h *Helm) DeletePVCs(ctx context.Context, namespace, name string, before []string) (int, error) {
	pvcs := h.CS.CoreV1().PersistentVolumeClaims(namespace)
	now, err := h.PVCs(ctx, namespace, name)
	if err != nil {
		return 0, err
	}
	gone := map[string]bool{}
	for _, n := range before {
		gone[n] = true
	}
	for _, n := range now {
		if err := pvcs.Delete(ctx, n, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return len(gone), fmt.Errorf("delete PVC %s/%s: %w", namespace, n, err)
		}
		gone[n] = true
	}
	return len(gone), nil
}

// DeleteNamespace deletes a namespace and waits until it is gone, up to timeout.
func (h *Helm) DeleteNamespace(ctx context.Context, name string, timeout time.Duration) error {
	nss := h.CS.CoreV1().Namespaces()
	if err := nss.Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("delete namespace %s: %w", name, err)
	}
	deadline := time.Now().Add(timeout)
	for {
		ns, err := nss.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("wait for namespace %s to go: %w", name, err)
		}
		if time.Now().After(deadline) {
			var conds []string
			for _, c := range ns.Status.Conditions {
				if c.Status == corev1.ConditionTrue {
					conds = append(conds, fmt.Sprintf("%s: %s", c.Type, c.Message))
				}
			}
			return fmt.Errorf("namespace %s still %s after %s: %s", name, ns.Status.Phase, timeout, strings.Join(conds, "; "))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(300 * time.Millisecond):
		}
	}
}
