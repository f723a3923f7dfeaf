package deploy_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/common"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/kube"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/mlops-series/mlops-series/internal/deploy"
	"github.com/mlops-series/mlops-series/internal/testenv"
)

const slowFinalizer = "mlops-series.test/slow-delete"

// slowChart has a ConfigMap whose deletion waits on a finalizer (as Flux's Kustomization waits on
// its controller's pruning), beside objects that go at once.
func slowChart() *chart.Chart {
	tpl := `apiVersion: v1
kind: ConfigMap
metadata:
  name: slow
  finalizers: [` + slowFinalizer + `]
data: {a: "1"}
`
	var quick strings.Builder
	for i := range 5 {
		fmt.Fprintf(&quick, "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: quick-%d\nstringData: {a: \"1\"}\n", i)
	}
	return &chart.Chart{
		Metadata: &chart.Metadata{APIVersion: chart.APIVersionV2, Name: "slow-delete", Version: "0.1.0"},
		Templates: []*common.File{
			{Name: "templates/slow.yaml", Data: []byte(tpl)},
			{Name: "templates/quick.yaml", Data: []byte(quick.String())},
		},
	}
}

// installSlow installs slowChart as release name in namespace, with Helm's own action.
func installSlow(t *testing.T, tenv *testenv.Env, namespace, name string) {
	t.Helper()
	if _, err := tenv.Client().CoreV1().Namespaces().Create(t.Context(),
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	flags := genericclioptions.NewConfigFlags(false)
	flags.KubeConfig, flags.Namespace = &tenv.Kubeconfig, &namespace
	cfg := action.NewConfiguration()
	if err := cfg.Init(flags, namespace, "secret"); err != nil {
		t.Fatal(err)
	}
	in := action.NewInstall(cfg)
	in.ReleaseName, in.Namespace = name, namespace
	in.WaitStrategy = kube.HookOnlyStrategy
	if _, err := in.RunWithContext(t.Context(), slowChart(), nil); err != nil {
		t.Fatalf("install %s: %v", name, err)
	}
}

// dropFinalizer lets the API server delete the slow ConfigMap.
func dropFinalizer(ctx context.Context, tenv *testenv.Env, namespace string) error {
	_, err := tenv.Client().CoreV1().ConfigMaps(namespace).Patch(ctx, "slow", types.JSONPatchType,
		[]byte(`[{"op": "remove", "path": "/metadata/finalizers"}]`), metav1.PatchOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// Uninstall waits for an object that a finalizer keeps while the others are gone at once, and
// names it when it outlasts the timeout. Helm 4.3's own wait could end early there (stop 18's warm
// run 8: `down chapter-2` failed with "Kustomization/flux-system/series still exists ...
// Terminating" 0.4 s after it began); which object Helm's watch sees first is not under the
// test's control, so the old code failed here only sometimes, the new one never.
func TestUninstallWaitsForFinalizers(t *testing.T) {
	tenv := testenv.Require(t, testenv.Options{})
	h := deploy.NewHelm(tenv.Kubeconfig, "", tenv.Client())
	cms := func(ns string) error {
		_, err := tenv.Client().CoreV1().ConfigMaps(ns).Get(t.Context(), "slow", metav1.GetOptions{})
		return err
	}

	t.Run("finalizer done in time", func(t *testing.T) {
		installSlow(t, tenv, "slow-a", "slow-a")
		const hold = 3 * time.Second
		go func() {
			time.Sleep(hold)
			if err := dropFinalizer(context.Background(), tenv, "slow-a"); err != nil {
				t.Errorf("drop finalizer: %v", err)
			}
		}()
		start := time.Now()
		had, err := h.Uninstall(t.Context(), "slow-a", "slow-a", time.Minute)
		took := time.Since(start)
		if err != nil || !had {
			t.Fatalf("uninstall: had=%v err=%v", had, err)
		}
		if err := cms("slow-a"); !apierrors.IsNotFound(err) {
			t.Errorf("uninstall returned after %s with the ConfigMap still there (get: %v)", took, err)
		}
		if took < hold {
			t.Errorf("uninstall returned after %s, before the finalizer was dropped (%s)", took, hold)
		}
	})

	t.Run("finalizer outlasts the timeout", func(t *testing.T) {
		installSlow(t, tenv, "slow-b", "slow-b")
		t.Cleanup(func() { _ = dropFinalizer(context.Background(), tenv, "slow-b") })
		_, err := h.Uninstall(t.Context(), "slow-b", "slow-b", 3*time.Second)
		want := "1 object(s) still there after 3s: ConfigMap slow-b/slow (finalizers " + slowFinalizer + ")"
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("err = %v, want it to contain %q", err, want)
		}
		// The quick objects went; the release record too, as with Helm's own wait.
		if _, err := tenv.Client().CoreV1().Secrets("slow-b").Get(t.Context(), "quick-0", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("Secret quick-0: %v, want NotFound", err)
		}
		if had, err := h.Uninstall(t.Context(), "slow-b", "slow-b", time.Second); had || err != nil {
			t.Errorf("second uninstall: had=%v err=%v, want no release left", had, err)
		}
	})
}
