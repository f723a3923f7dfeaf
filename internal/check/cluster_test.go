package check

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"github.com/mlops-series/mlops-series/internal/testenv"
)

// Chapter 1's cluster checks on a real control plane (kube-apiserver, controller manager and
// scheduler v1.37.2, KWOK nodes, the default StorageClass "standard" over a pool of static PVs).
// The subtests share the control plane and run in order; each puts back what it changed.
func TestClusterChecks(t *testing.T) {
	env := testenv.Require(t, testenv.Options{})
	cs := env.Client()
	ctx := t.Context()

	// The test control plane has no DNS add-on (kubeadm, and so kind, installs CoreDNS; here
	// nothing does): stand in for it with kubeadm's Deployment kube-system/coredns and Service
	// kube-system/kube-dns, whose pods KWOK makes Ready and whose EndpointSlices the controller
	// manager fills, so CoreDNS sees what it would on kind. Nothing answers DNS queries.
	if err := env.AddStandInCoreDNS(ctx); err != nil {
		t.Fatal(err)
	}

	t.Run("fresh cluster passes every check", func(t *testing.T) {
		for _, c := range []struct {
			name string
			run  func(context.Context) (string, error)
			want []string
		}{
			{"nodes", func(ctx context.Context) (string, error) { return Nodes(ctx, cs) },
				[]string{"1 node Ready: kwok-node-0"}},
			{"coredns", func(ctx context.Context) (string, error) { return CoreDNS(ctx, cs) },
				[]string{"coredns 2/2 ready; Service kube-dns (10.96.", ") has 2 ready endpoints on port 53 (53/UDP, 53/TCP)"}},
			{"storage-binds", func(ctx context.Context) (string, error) { return StorageBinds(ctx, cs) },
				[]string{"a 1Mi claim bound in ", " to testenv-pv-", "(default StorageClass standard (kubernetes.io/no-provisioner, Immediate))"}},
			{"kubernetes-version", func(ctx context.Context) (string, error) { return KubernetesVersion(ctx, cs, "v1.37") },
				[]string{"Kubernetes v1.37.2 (wanted v1.37)"}},
		} {
			before := checkNamespaces(t, cs)
			cctx, cancel := context.WithTimeout(ctx, time.Minute)
			start := time.Now()
			msg, err := c.run(cctx)
			cancel()
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			for _, want := range c.want {
				if !strings.Contains(msg, want) {
					t.Errorf("%s: summary %q, want it to contain %q", c.name, msg, want)
				}
			}
			t.Logf("%s passed in %s: %s", c.name, time.Since(start).Round(time.Millisecond), msg)
			waitNamespacesGone(t, cs, before)
		}
	})

	t.Run("kubernetes-version", func(t *testing.T) {
		for _, want := range []string{"v1.37", "1.37", "v1.37.2"} {
			if msg, err := KubernetesVersion(ctx, cs, want); err != nil {
				t.Errorf("KubernetesVersion(%q): %v", want, err)
			} else {
				t.Logf("KubernetesVersion(%q): %s", want, msg)
			}
		}
		for want, errWant := range map[string]string{
			"v1.36":   "the cluster runs Kubernetes v1.37.2, the chapter is written for v1.36: recreate the cluster with the series' node image",
			"v1.37.1": "the cluster runs Kubernetes v1.37.2, the chapter is written for v1.37.1",
			"latest":  `params.version "latest": want a Kubernetes version as vMAJOR.MINOR, like v1.37`,
			"v1":      `params.version "v1": want a Kubernetes version as vMAJOR.MINOR`,
		} {
			_, err := KubernetesVersion(ctx, cs, want)
			if err == nil || !strings.Contains(err.Error(), errWant) {
				t.Errorf("KubernetesVersion(%q) = %v, want an error containing %q", want, err, errWant)
			}
		}
	})

	t.Run("a NotReady node is named with its reason", func(t *testing.T) {
		// Two nodes without KWOK's annotation: nobody manages them, so they keep the status
		// written here (one NotReady with a kubelet's reason, one that never reported at all).
		broken := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "broken-node"}}
		ghost := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "ghost-node"}}
		for _, n := range []*corev1.Node{broken, ghost} {
			if _, err := cs.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = cs.CoreV1().Nodes().Delete(context.Background(), n.Name, metav1.DeleteOptions{}) })
		}
		// The node controller writes to new nodes too (taints): retry on a conflict.
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			got, err := cs.CoreV1().Nodes().Get(ctx, broken.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			now := metav1.Now()
			got.Status.Conditions = []corev1.NodeCondition{{
				Type: corev1.NodeReady, Status: corev1.ConditionFalse, Reason: "KubeletNotReady",
				Message:           "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady",
				LastHeartbeatTime: now, LastTransitionTime: now,
			}}
			_, err = cs.CoreV1().Nodes().UpdateStatus(ctx, got, metav1.UpdateOptions{})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}

		// Long enough for an answer on a loaded machine (the check fails at the deadline either way).
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		_, err = Nodes(cctx, cs)
		if err == nil {
			t.Fatal("Nodes passed with a NotReady node")
		}
		for _, want := range []string{
			"2 of 3 nodes not Ready",
			"node broken-node is NotReady (Ready=False, KubeletNotReady: container runtime network not ready",
			"node ghost-node has no Ready condition (its kubelet has never reported)",
		} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not contain %q", err, want)
			}
		}
		if strings.Contains(err.Error(), "kwok-node-0") {
			t.Errorf("error names the Ready node: %q", err)
		}
		t.Logf("Nodes: %v", err)
	})

	t.Run("coredns scaled to zero fails", func(t *testing.T) {
		scaleCoreDNS(t, cs, 0)
		defer scaleCoreDNS(t, cs, 2)
		// Wait for the pods to go, so that the check sees the end state rather than polling
		// through it (it would pass before the controller removes the pods).
		waitFor(t, 30*time.Second, func() bool {
			pods, err := cs.CoreV1().Pods(metav1.NamespaceSystem).List(ctx, metav1.ListOptions{LabelSelector: coreDNSLabel})
			return err == nil && len(pods.Items) == 0
		})
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		_, err := CoreDNS(cctx, cs)
		if err == nil {
			t.Fatal("CoreDNS passed with no replicas")
		}
		for _, want := range []string{
			"Deployment kube-system/coredns is scaled to 0 replicas",
			"Service kube-system/kube-dns has no ready endpoints on port 53",
		} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not contain %q", err, want)
			}
		}
		t.Logf("CoreDNS: %v", err)
	})

	t.Run("no default StorageClass fails and creates nothing", func(t *testing.T) {
		setDefaultClass(t, cs, "standard", false)
		defer setDefaultClass(t, cs, "standard", true)
		before := checkNamespaces(t, cs)
		_, err := StorageBinds(ctx, cs)
		if err == nil {
			t.Fatal("StorageBinds passed without a default StorageClass")
		}
		for _, want := range []string{
			"no default StorageClass (StorageClasses: standard)",
			"kubectl annotate storageclass NAME storageclass.kubernetes.io/is-default-class=true",
		} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not contain %q", err, want)
			}
		}
		if after := checkNamespaces(t, cs); len(after) != len(before) {
			t.Errorf("namespaces %v left behind", after)
		}
		t.Logf("StorageBinds: %v", err)
	})

	t.Run("two default StorageClasses fail", func(t *testing.T) {
		createClass(t, cs, "second", "example.com/second", storagev1.VolumeBindingImmediate, true)
		_, err := StorageBinds(ctx, cs)
		want := "2 default StorageClasses (second, standard): a claim that names no class gets the newest of them"
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("StorageBinds = %v, want an error containing %q", err, want)
		}
	})

	t.Run("a WaitForFirstConsumer class binds through the pod", func(t *testing.T) {
		// A default class that binds only once a pod that uses the claim is scheduled: with the
		// claim alone, it would stay Pending forever.
		setDefaultClass(t, cs, "standard", false)
		defer setDefaultClass(t, cs, "standard", true)
		createClass(t, cs, "local", "kubernetes.io/no-provisioner", storagev1.VolumeBindingWaitForFirstConsumer, true)
		createPV(t, cs, "local-pv", "local")
		before := checkNamespaces(t, cs)
		cctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		msg, err := StorageBinds(cctx, cs)
		if err != nil {
			t.Fatal(err)
		}
		if want := "to local-pv (default StorageClass local (kubernetes.io/no-provisioner, WaitForFirstConsumer))"; !strings.Contains(msg, want) {
			t.Errorf("summary %q, want it to contain %q", msg, want)
		}
		t.Logf("StorageBinds: %s", msg)
		waitNamespacesGone(t, cs, before)
	})

	t.Run("a claim that never binds times out, explained, and is cleaned up", func(t *testing.T) {
		setDefaultClass(t, cs, "standard", false)
		defer setDefaultClass(t, cs, "standard", true)
		// No provisioner named example.com/nowhere runs: the claim stays Pending.
		createClass(t, cs, "nowhere", "example.com/nowhere", storagev1.VolumeBindingImmediate, true)
		before := checkNamespaces(t, cs)
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_, err := StorageBinds(cctx, cs)
		if err == nil {
			t.Fatal("StorageBinds passed with a claim nobody provisions")
		}
		for _, want := range []string{
			"is Pending after",
			"(StorageClass nowhere (example.com/nowhere, Immediate))",
			"claim event Normal ExternalProvisioning: Waiting for a volume to be created either by the external provisioner 'example.com/nowhere'",
			"/storage-check-pod: Pending",
		} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error does not contain %q:\n%v", want, err)
			}
		}
		t.Logf("StorageBinds:\n%v", err)
		// The check's context had ended; its namespace was deleted all the same.
		waitNamespacesGone(t, cs, before)
	})
}

func scaleCoreDNS(t *testing.T, cs kubernetes.Interface, n int32) {
	t.Helper()
	patch := fmt.Appendf(nil, `{"spec":{"replicas":%d}}`, n)
	if _, err := cs.AppsV1().Deployments(metav1.NamespaceSystem).Patch(context.Background(), "coredns", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
}

// setDefaultClass sets or removes a StorageClass's default-class annotation.
func setDefaultClass(t *testing.T, cs kubernetes.Interface, name string, isDefault bool) {
	t.Helper()
	value := `"true"`
	if !isDefault {
		value = "null"
	}
	patch := []byte(`{"metadata":{"annotations":{"storageclass.kubernetes.io/is-default-class":` + value + `}}}`)
	if _, err := cs.StorageV1().StorageClasses().Patch(context.Background(), name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
}

// createClass creates a StorageClass for the rest of the subtest.
func createClass(t *testing.T, cs kubernetes.Interface, name, provisioner string, mode storagev1.VolumeBindingMode, isDefault bool) {
	t.Helper()
	sc := &storagev1.StorageClass{
		ObjectMeta:        metav1.ObjectMeta{Name: name},
		Provisioner:       provisioner,
		VolumeBindingMode: &mode,
	}
	if isDefault {
		sc.Annotations = map[string]string{defaultClassAnnotation: "true"}
	}
	if _, err := cs.StorageV1().StorageClasses().Create(t.Context(), sc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.StorageV1().StorageClasses().Delete(context.Background(), name, metav1.DeleteOptions{}) })
}

// createPV creates a static 1Gi volume of a class for the rest of the subtest.
func createPV(t *testing.T, cs kubernetes.Interface, name, class string) {
	t.Helper()
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
			AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			StorageClassName:              class,
			PersistentVolumeSource:        corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/tmp/" + name}},
		},
	}
	if _, err := cs.CoreV1().PersistentVolumes().Create(t.Context(), pv, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.CoreV1().PersistentVolumes().Delete(context.Background(), name, metav1.DeleteOptions{}) })
}

// checkNamespaces lists the namespaces StorageBinds makes, terminating ones included.
func checkNamespaces(t *testing.T, cs kubernetes.Interface) map[string]bool {
	t.Helper()
	list, err := cs.CoreV1().Namespaces().List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, ns := range list.Items {
		if strings.HasPrefix(ns.Name, StorageCheckNamespacePrefix) {
			out[ns.Name] = true
		}
	}
	return out
}

// waitNamespacesGone waits until every check namespace that was not in before has been deleted
// (the namespace controller removes its pod and claim first, which takes a few seconds).
func waitNamespacesGone(t *testing.T, cs kubernetes.Interface, before map[string]bool) {
	t.Helper()
	var left []string
	for name := range checkNamespaces(t, cs) {
		if before[name] {
			continue
		}
		ns, err := cs.CoreV1().Namespaces().Get(context.Background(), name, metav1.GetOptions{})
		if err == nil && ns.DeletionTimestamp == nil {
			t.Fatalf("namespace %s is left behind, not being deleted", name)
		}
		left = append(left, name)
	}
	start := time.Now()
	waitFor(t, time.Minute, func() bool {
		for _, name := range left {
			if _, err := cs.CoreV1().Namespaces().Get(context.Background(), name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				return false
			}
		}
		return true
	})
	if len(left) > 0 {
		t.Logf("namespace %s deleted %s later", strings.Join(left, ", "), time.Since(start).Round(100*time.Millisecond))
	}
}

func waitFor(t *testing.T, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met after %s", timeout)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// The chapter's examples/storage-check.yaml is the storage-binds check done by hand: its claim and
// pod must stay what StorageBinds creates (names and namespace aside).
func TestStorageCheckExampleMatchesTheCheck(t *testing.T) {
	f, err := os.Open("../../series/chapter-1-infrastructure-as-code/examples/storage-check.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	var pvc corev1.PersistentVolumeClaim
	var pod corev1.Pod
	dec := utilyaml.NewYAMLOrJSONDecoder(f, 4096)
	for {
		var doc map[string]any
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		var into any
		switch doc["kind"] {
		case "PersistentVolumeClaim":
			into = &pvc
		case "Pod":
			into = &pod
		default:
			continue
		}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(doc, into, true); err != nil {
			t.Fatalf("%s: %v", doc["kind"], err)
		}
	}
	wantPVC := storageCheckClaim(pvc.Namespace, pvc.Name)
	if !apiequality.Semantic.DeepEqual(pvc.Spec, wantPVC.Spec) {
		t.Errorf("the example's claim differs from the check's:\n got %+v\nwant %+v", pvc.Spec, wantPVC.Spec)
	}
	wantPod := storageCheckPod(pod.Namespace, pvc.Name)
	if pod.Name != wantPod.Name {
		t.Errorf("the example's pod is %s, the check would call it %s", pod.Name, wantPod.Name)
	}
	if !apiequality.Semantic.DeepEqual(pod.Spec, wantPod.Spec) {
		t.Errorf("the example's pod differs from the check's:\n got %+v\nwant %+v", pod.Spec, wantPod.Spec)
	}
}
