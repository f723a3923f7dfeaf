package action

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mlops-series/mlops-series/internal/check"
	"github.com/mlops-series/mlops-series/internal/nativetest"
	"github.com/mlops-series/mlops-series/internal/series"
	"github.com/mlops-series/mlops-series/internal/testenv"
)

// TestChapter2OnControlPlane runs chapter 2's GitOps loop on the test control plane with REAL
// parts: Flux's source-controller and kustomize-controller (v1.9.6, built from their Go modules)
// run natively as the chart's ServiceAccounts (impersonated, so the chart's RBAC is what they may
// do), and chapter 2's own Git server (git_server.py over git http-backend) runs on loopback. KWOK
// sends the Git server pod's port 8080 to it, so `up` publishes the chapter's gitops/ folder through
// the CLI's port-forward, as on a real cluster. The GitRepository clones the same server by its
// loopback URL (a copy of the series sets it: a native controller cannot resolve the Service's
// cluster DNS name). Then: checks (sync, drift), a no-op re-up, `gitops push` of a change and of a
// removal (applied and pruned), down (Flux prunes what it applied). What it does not prove: that the
// images start in pods (the real-container layer does).
func TestChapter2OnControlPlane(t *testing.T) {
	git := nativetest.GitServer(t, "series")
	tenv := testenv.Require(t, testenv.Options{PortForwards: []testenv.PortForward{{
		Namespace: "git", Selector: map[string]string{"app.kubernetes.io/instance": "git-server"},
		Ports: []int32{8080}, TargetPort: int32(git.Port),
	}}})
	dir := copySeries(t)
	setFile(t, filepath.Join(dir, "chapter-2-gitops", "values", "flux-sync.yaml"),
		"http://git-server.git.svc.cluster.local/series.git", git.URL+"/series.git")
	e := newCPEnvFrom(t, tenv, dir)
	ctx := t.Context()

	// Up without checks first: the native controllers act as ServiceAccounts the chart creates.
	start := time.Now()
	if err := e.Up(ctx, "chapter-2", UpOptions{Timeout: 2 * time.Minute, SkipChecks: true}); err != nil {
		t.Fatalf("up chapter-2: %v\n%s", err, e.out)
	}
	t.Logf("up chapter-2 (no checks) in %s", time.Since(start).Round(time.Millisecond))
	if !strings.Contains(e.out.String(), "gitops/ pushed to series.git: main@sha1:") {
		t.Errorf("up did not say it pushed gitops/:\n%s", e.out)
	}
	var src, kus *nativetest.Server
	nativetest.Together(t,
		func(t testing.TB) {
			src = nativetest.SourceController(t, tenv.Kubeconfig, "flux-system/source-controller")
		},
		func(t testing.TB) {
			kus = nativetest.KustomizeController(t, tenv.Kubeconfig, "flux-system/kustomize-controller")
		})
	logs := func() string {
		return "source-controller:\n" + src.Tail(20) + "\nkustomize-controller:\n" + kus.Tail(20)
	}

	// The checks, within a re-up: nothing to install, nothing to push.
	e.out.Reset()
	start = time.Now()
	if err := e.Up(ctx, "chapter-2", UpOptions{Timeout: 2 * time.Minute}); err != nil {
		t.Fatalf("re-up chapter-2: %v\n%s\n%s", err, e.out, logs())
	}
	t.Logf("re-up with checks in %s:\n%s", time.Since(start).Round(time.Millisecond), e.out)
	for _, want := range []string{"gitops/ already in series.git", "unchanged (namespace flux-system, revision 1)", "checks 3/3 passed",
		"applied by Kustomization flux-system/series, 5 object(s): ConfigMap ml-team-a/team-settings, LimitRange ml-team-a/defaults, Namespace ml-team-a",
		"put Git's value"} {
		if !strings.Contains(e.out.String(), want) {
			t.Errorf("re-up output lacks %q", want)
		}
	}
	cs := tenv.Client()
	cm, err := cs.CoreV1().ConfigMaps("ml-team-a").Get(ctx, "team-settings", metav1.GetOptions{})
	if err != nil || cm.Data["FEAST_FEATURE_SERVER_URL"] != "http://feast.feast.svc:6566" || cm.Labels["kustomize.toolkit.fluxcd.io/name"] != "series" {
		t.Fatalf("team-settings after the drift check: %v, %v", cm, err)
	}

	// gitops push: a change in the folder reaches the cluster, and a file removed from it is pruned.
	gitopsDir := filepath.Join(dir, "chapter-2-gitops", "gitops")
	setFile(t, filepath.Join(gitopsDir, "settings.yaml"), "MLFLOW_EXPERIMENT_PREFIX: team-a", "MLFLOW_EXPERIMENT_PREFIX: team-a-v2")
	setFile(t, filepath.Join(gitopsDir, "kustomization.yaml"), "  - limits.yaml\n", "")
	if err := os.Remove(filepath.Join(gitopsDir, "limits.yaml")); err != nil {
		t.Fatal(err)
	}
	e.out.Reset()
	start = time.Now()
	if err := e.GitopsPush(ctx, "", GitopsPushOptions{Message: "team-a: v2 prefix, no default limits", Timeout: 2 * time.Minute}); err != nil {
		t.Fatalf("gitops push: %v\n%s\n%s", err, e.out, logs())
	}
	t.Logf("gitops push applied in %s:\n%s", time.Since(start).Round(time.Millisecond), e.out)
	if cm, err := cs.CoreV1().ConfigMaps("ml-team-a").Get(ctx, "team-settings", metav1.GetOptions{}); err != nil || cm.Data["MLFLOW_EXPERIMENT_PREFIX"] != "team-a-v2" {
		t.Errorf("after the push team-settings = %v, %v; want MLFLOW_EXPERIMENT_PREFIX=team-a-v2", cm, err)
	}
	if _, err := cs.CoreV1().LimitRanges("ml-team-a").Get(ctx, "defaults", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("LimitRange ml-team-a/defaults was not pruned after its file left Git (err %v)", err)
	}
	// The same folder again: nothing committed.
	e.out.Reset()
	if err := e.GitopsPush(ctx, "chapter-2", GitopsPushOptions{NoWait: true}); err != nil || !strings.Contains(e.out.String(), "already in series.git") {
		t.Errorf("pushing the same folder again: %v\n%s", err, e.out)
	}
	if err := e.GitopsPush(ctx, "chapter-6", GitopsPushOptions{}); err == nil || !strings.Contains(err.Error(), "chapter-6 publishes no GitOps folder (chapters that do: chapter-2)") {
		t.Errorf("gitops push chapter-6: %v", err)
	}

	// Down: flux-sync first, whose Kustomization's finalizer makes kustomize-controller delete what
	// it applied (prune), then the controllers and the Git server.
	e.out.Reset()
	if err := e.Down(ctx, "chapter-2", DownOptions{Timeout: 3 * time.Minute}); err != nil {
		t.Fatalf("down chapter-2: %v\n%s\n%s", err, e.out, logs())
	}
	for _, ns := range []string{"git", "flux-system", "ml-team-a"} {
		n, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if err == nil && n.DeletionTimestamp == nil {
			t.Errorf("namespace %s left behind after down", ns)
		}
	}
	if l, err := tenv.Dynamic().Resource(check.KustomizationGVR).List(ctx, metav1.ListOptions{}); err != nil || len(l.Items) != 0 {
		t.Errorf("Kustomizations left: %d (err %v)", len(l.Items), err)
	}
}

// copySeries copies the repository's series folder into a temp folder the test may change.
func copySeries(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "series")
	if err := os.CopyFS(dir, os.DirFS("../../series")); err != nil {
		t.Fatal(err)
	}
	return dir
}

// setFile replaces old with new in a file, which must contain old.
func setFile(t *testing.T, path, old, new string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		t.Fatalf("%s does not contain %q", path, old)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(b), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// newCPEnvFrom is newCPEnv on the series folder dir.
func newCPEnvFrom(t *testing.T, tenv *testenv.Env, dir string) *cpEnv {
	t.Helper()
	e := newCPEnv(t, tenv)
	lib, err := series.Load(os.DirFS(dir), dir, check.Validation())
	if err != nil {
		t.Fatal(err)
	}
	e.Lib = lib
	return e
}
