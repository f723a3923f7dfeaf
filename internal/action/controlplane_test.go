package action

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/release/common"
	release "helm.sh/helm/v4/pkg/release/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	mlopsseries "github.com/mlops-series/mlops-series"
	"github.com/mlops-series/mlops-series/internal/check"
	"github.com/mlops-series/mlops-series/internal/cluster"
	"github.com/mlops-series/mlops-series/internal/deploy"
	"github.com/mlops-series/mlops-series/internal/metrics"
	"github.com/mlops-series/mlops-series/internal/nativetest"
	"github.com/mlops-series/mlops-series/internal/series"
	"github.com/mlops-series/mlops-series/internal/testenv"
	"github.com/mlops-series/mlops-series/internal/ui"
)

// cpEnv is an action.Env on the test control plane, with its progress captured.
type cpEnv struct {
	*Env
	out  *syncBuffer
	tenv *testenv.Env
}

// syncBuffer is a bytes.Buffer safe for the UI's concurrent writers and the test's reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (s *syncBuffer) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.Reset()
}

func newCPEnv(t *testing.T, tenv *testenv.Env) *cpEnv {
	t.Helper()
	lib, err := series.Load(os.DirFS("../../series"), "series", check.Validation())
	if err != nil {
		t.Fatal(err)
	}
	buf := &syncBuffer{}
	u := &ui.UI{Out: buf, Err: buf, Level: ui.Normal}
	return &cpEnv{
		Env: &Env{Lib: lib, Charts: mlopsseries.Charts(), UI: u,
			Provisioner: &cluster.Existing{Kubeconfig: tenv.Kubeconfig, Context: tenv.Context}},
		out:  buf,
		tenv: tenv,
	}
}

// history returns the Helm revisions of a release on the control plane.
func history(t *testing.T, tenv *testenv.Env, ns, name string) []*release.Release {
	t.Helper()
	cfg := helmConfig(t, tenv, ns)
	hist, err := cfg.Releases.History(name)
	if err != nil {
		t.Fatalf("history of %s/%s: %v", ns, name, err)
	}
	var out []*release.Release
	for _, h := range hist {
		out = append(out, h.(*release.Release))
	}
	return out
}

func helmConfig(t *testing.T, tenv *testenv.Env, ns string) *action.Configuration {
	t.Helper()
	f := genericclioptions.NewConfigFlags(false)
	f.KubeConfig, f.Context, f.Namespace = &tenv.Kubeconfig, &tenv.Context, &ns
	cfg := action.NewConfiguration()
	if err := cfg.Init(f, ns, "secret"); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestChapter6OnControlPlane runs the reader's whole path on a real control plane: up (deploy,
// wait, Kubernetes checks and the functional checks through client-go port-forward, which KWOK
// sends to a real MLflow server), a no-op re-up, status, check with MLflow stopped (exit 2), down.
func TestChapter6OnControlPlane(t *testing.T) {
	mlflow := nativetest.MLflow(t)
	tenv := testenv.Require(t, testenv.Options{})
	ctx := t.Context()
	if err := tenv.AddPortForward(ctx, testenv.PortForward{
		Namespace: "mlflow", Selector: map[string]string{"app.kubernetes.io/instance": "mlflow"},
		Ports: []int32{5000}, TargetPort: int32(mlflow.Port),
	}); err != nil {
		t.Fatal(err)
	}
	e := newCPEnv(t, tenv)

	start := time.Now()
	if err := e.Up(ctx, "chapter-6", UpOptions{Timeout: 2 * time.Minute}); err != nil {
		t.Fatalf("up: %v\n%s", err, e.out)
	}
	t.Logf("first up in %s:\n%s", time.Since(start).Round(time.Millisecond), e.out)
	for _, want := range []string{"postgresql 17", "installed (namespace mlflow, revision 1)", "checks 3/3 passed", "mlflow-roundtrip"} {
		if !strings.Contains(e.out.String(), want) {
			t.Errorf("up output lacks %q", want)
		}
	}

	// Re-up: unchanged components write no Helm revision.
	e.out.Reset()
	start = time.Now()
	if err := e.Up(ctx, "chapter-6", UpOptions{Timeout: time.Minute, SkipChecks: true}); err != nil {
		t.Fatalf("re-up: %v\n%s", err, e.out)
	}
	t.Logf("no-op re-up in %s", time.Since(start).Round(time.Millisecond))
	for _, name := range []string{"postgresql", "mlflow"} {
		if h := history(t, tenv, "mlflow", name); len(h) != 1 {
			t.Errorf("%s has %d revisions after a no-op up, want 1", name, len(h))
		}
	}
	if !strings.Contains(e.out.String(), "unchanged") {
		t.Errorf("re-up output does not say unchanged:\n%s", e.out)
	}

	rep, err := e.Status(ctx, "chapter-6")
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Chapters) != 1 || !rep.Chapters[0].Complete || len(rep.Chapters[0].Components) != 2 {
		t.Fatalf("status = %+v", rep)
	}
	for _, c := range rep.Chapters[0].Components {
		if c.Release != "deployed" || c.Pods == 0 || c.PodsReady != c.Pods {
			t.Errorf("status of %s = %+v", c.Name, c)
		}
	}

	// check passes; with MLflow stopped it exits 2 and names what failed.
	if err := e.Check(ctx, "chapter-6", CheckOptions{ClusterRequested: true}); err != nil {
		t.Fatalf("check: %v\n%s", err, e.out)
	}
	// open: a port-forward to the UI that answers until cancelled.
	octx, ocancel := context.WithCancel(ctx)
	var body string
	err = e.Open(octx, "mlflow", OpenOptions{Ready: func(url string) {
		defer ocancel()
		resp, err := http.Get(url + "health")
		if err != nil {
			body = err.Error()
			return
		}
		defer func() { _ = resp.Body.Close() }()
		b, _ := io.ReadAll(resp.Body)
		body = string(b)
	}})
	if err != nil || strings.TrimSpace(body) != "OK" {
		t.Fatalf("open mlflow: %v, /health through it: %q", err, body)
	}

	mlflow.Stop()
	e.out.Reset()
	err = e.Check(ctx, "chapter-6", CheckOptions{ClusterRequested: true})
	if Code(err) != ExitCheckFailed {
		t.Fatalf("check with MLflow stopped: exit %d (%v), want 2", Code(err), err)
	}
	for _, want := range []string{"✗ mlflow-health", "✗ mlflow-roundtrip", "✓ pods", "read: docs/ko/chapter-6.md#tracking-server"} {
		if !strings.Contains(e.out.String(), want) {
			t.Errorf("failed check output lacks %q:\n%s", want, e.out)
		}
	}

	// down leaves no release, PVC, namespace or ledger entry.
	e.out.Reset()
	if err := e.Down(ctx, "chapter-6", DownOptions{Timeout: 2 * time.Minute}); err != nil {
		t.Fatalf("down: %v\n%s", err, e.out)
	}
	assertGone(t, tenv)
}

func assertGone(t *testing.T, tenv *testenv.Env) {
	t.Helper()
	ctx := t.Context()
	cs := tenv.Client()
	if _, err := cs.CoreV1().Namespaces().Get(ctx, "mlflow", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("namespace mlflow still there (err %v)", err)
	}
	pvcs, err := cs.CoreV1().PersistentVolumeClaims("").List(ctx, metav1.ListOptions{})
	if err != nil || len(pvcs.Items) != 0 {
		t.Errorf("PVCs left: %d (err %v)", len(pvcs.Items), err)
	}
	secrets, err := cs.CoreV1().Secrets("").List(ctx, metav1.ListOptions{LabelSelector: "owner=helm"})
	if err != nil || len(secrets.Items) != 0 {
		t.Errorf("Helm releases left: %d (err %v)", len(secrets.Items), err)
	}
	entries, err := deploy.Ledger{CS: cs}.Read(ctx)
	if err != nil || len(entries) != 0 {
		t.Errorf("ledger entries left: %v (err %v)", entries, err)
	}
}

// TestInterruptedUpConverges cancels an up midway, then checks that the next up converges, also
// from a release left pending-upgrade, and that down then removes everything.
func TestInterruptedUpConverges(t *testing.T) {
	tenv := testenv.Require(t, testenv.Options{})
	e := newCPEnv(t, tenv)
	ctx := t.Context()

	// Interrupt while the first wave (postgresql) is waiting.
	ictx, cancel := context.WithCancel(ctx)
	go func() {
		for !strings.Contains(e.outString(), "postgresql") {
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(150 * time.Millisecond)
		cancel()
	}()
	err := e.Up(ictx, "chapter-6", UpOptions{Timeout: time.Minute, SkipChecks: true})
	cancel()
	t.Logf("interrupted up returned: %v", err)
	if err != nil && !errors.Is(err, context.Canceled) && !strings.Contains(err.Error(), "interrupted") {
		t.Logf("(an interrupted up may also end in another error: %v)", err)
	}

	e.out.Reset()
	if err := e.Up(ctx, "chapter-6", UpOptions{Timeout: time.Minute, SkipChecks: true}); err != nil {
		t.Fatalf("up after interrupt: %v\n%s", err, e.out)
	}

	// Leave mlflow pending-upgrade, as a killed `up` would, then up again.
	cfg := helmConfig(t, tenv, "mlflow")
	rl, err := cfg.Releases.Last("mlflow")
	if err != nil {
		t.Fatal(err)
	}
	rel := rl.(*release.Release)
	rel.SetStatus(common.StatusPendingUpgrade, "simulated crash")
	if err := cfg.Releases.Update(rel); err != nil {
		t.Fatal(err)
	}
	e.out.Reset()
	if err := e.Up(ctx, "chapter-6", UpOptions{Timeout: time.Minute, SkipChecks: true}); err != nil {
		t.Fatalf("up after pending-upgrade: %v\n%s", err, e.out)
	}
	if !strings.Contains(e.out.String(), "left pending-upgrade by an interrupted run") {
		t.Errorf("up did not say it recovered:\n%s", e.out)
	}
	h := history(t, tenv, "mlflow", "mlflow")
	if last := h[len(h)-1]; last.Info.Status != common.StatusDeployed {
		t.Errorf("mlflow after recovery: %s", last.Info.Status)
	}

	// While an installed chapter requires chapter-6, down chapter-6 is refused and changes nothing.
	e.Lib = withChapter7(t)
	ledger := deploy.Ledger{CS: tenv.Client()}
	if err := ledger.Put(ctx, deploy.Entry{Chapter: "chapter-7", Complete: true}); err != nil {
		t.Fatal(err)
	}
	err = e.Down(ctx, "chapter-6", DownOptions{Timeout: time.Minute})
	if err == nil || !strings.Contains(err.Error(), "refused: installed chapter-7 requires it") {
		t.Fatalf("down chapter-6 while chapter-7 is installed: %v", err)
	}
	if h := history(t, tenv, "mlflow", "postgresql"); len(h) == 0 {
		t.Fatal("a refused down removed postgresql")
	}

	// down --all on a cluster mlops-series did not create: every chapter goes, the cluster stays.
	e.out.Reset()
	if err := e.Down(ctx, "", DownOptions{All: true, Timeout: 2 * time.Minute}); err != nil {
		t.Fatalf("down --all: %v\n%s", err, e.out)
	}
	if !strings.Contains(e.out.String(), "(existing) left as it is: not deleting cluster of context") {
		t.Errorf("down --all output:\n%s", e.out)
	}
	assertGone(t, tenv)
}

// withChapter7 returns the real series with chapter 7's spec replaced by a one-component chapter
// that requires chapter 6 (the real one runs the series' own images); its values files go too.
func withChapter7(t *testing.T) *series.Library {
	t.Helper()
	fsys := seriesCopy(t)
	for p := range fsys {
		if strings.HasPrefix(p, "chapter-7-model-serving/values/") {
			delete(fsys, p)
		}
	}
	fsys["chapter-7-model-serving/chapter.yaml"] = &fstest.MapFile{Data: []byte(`apiVersion: mlops-series/v1alpha1
kind: Chapter
number: 7
slug: model-serving
title: {ko: 모델 서빙, en: Model serving}
requires: [chapter-6]
components:
  - {name: api, chart: mlflow, namespace: serving, section: "#api"}
checks:
  - {name: pods, type: pods, section: "#api"}
`)}
	lib, err := series.Load(fsys, "test", check.Validation())
	if err != nil {
		t.Fatal(err)
	}
	return lib
}

func (c *cpEnv) outString() string { return c.out.String() }

// A component that cannot become ready fails `up` with the evidence (pod state and events), the
// post section to read, and says the chapter is partly installed and how to resume or remove it.
func TestFailedUpExplains(t *testing.T) {
	tenv := testenv.Require(t, testenv.Options{})
	e := newCPEnv(t, tenv)
	lib := withChapter7(t)
	ch := lib.Chapters["chapter-7"]
	ch.Components[0].Chart = "postgresql"
	ch.Components[0].Values = []string{"values/unschedulable.yaml"}
	lib.FS.(fstest.MapFS)["chapter-7-model-serving/values/unschedulable.yaml"] = &fstest.MapFile{
		Data: []byte("nodeSelector: {mlops-series.dev/no-such-node: \"true\"}\n")}
	e.Lib = lib
	err := e.Up(t.Context(), "chapter-7", UpOptions{Timeout: 4 * time.Second, SkipChecks: true})
	if err == nil {
		t.Fatal("up of an unschedulable component succeeded")
	}
	msg := err.Error() + "\n" + e.out.String()
	for _, want := range []string{
		"install serving/api", "pod serving/api-0: Pending", "Unschedulable", "FailedScheduling",
		"read: docs/ko/chapter-7.md#api",
		"chapter-7 is partly installed (failed: api)", "mlops-series down chapter-7",
		"✓ mlflow 3.17.2 installed", // chapter 6 came up first
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("failure output lacks %q:\n%s", want, msg)
		}
	}
	entries, rerr := deploy.Ledger{CS: tenv.Client()}.Read(t.Context())
	if rerr != nil || entries["chapter-7"].Complete || !entries["chapter-6"].Complete {
		t.Errorf("ledger after a failed up: %+v (%v)", entries, rerr)
	}
}

var getOpts = metav1.GetOptions{}

func newRecorder(command, chapter string) *metrics.Recorder { return metrics.New(command, chapter) }

func portOf(t *testing.T, rawURL string) int {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	p, err := strconv.Atoi(u.Port())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestChapter1OnControlPlane: chapter 1 installs nothing; on an existing cluster (--context) its
// checks prove the cluster usable: nodes, CoreDNS (a stand-in: the control plane has no DNS add-on),
// a default StorageClass that binds a claim, the pinned Kubernetes version. Down has nothing to
// remove but its ledger entry.
func TestChapter1OnControlPlane(t *testing.T) {
	tenv := testenv.Require(t, testenv.Options{})
	if err := tenv.AddStandInCoreDNS(t.Context()); err != nil {
		t.Fatal(err)
	}
	e := newCPEnv(t, tenv)
	if err := e.Up(t.Context(), "chapter-1", UpOptions{Timeout: time.Minute}); err != nil {
		t.Fatalf("up chapter-1: %v\n%s", err, e.out)
	}
	for _, want := range []string{"preflight: 0 components", "checks 4/4 passed", "✓ kubernetes-version", "✓ storage-binds"} {
		if !strings.Contains(e.out.String(), want) {
			t.Errorf("up chapter-1 output lacks %q:\n%s", want, e.out)
		}
	}
	if err := e.Down(t.Context(), "chapter-1", DownOptions{}); err != nil {
		t.Fatalf("down chapter-1: %v\n%s", err, e.out)
	}
	// storage-binds deletes its temporary namespace when it ends; the namespace controller then
	// takes a few seconds to remove what was in it.
	deadline := time.Now().Add(time.Minute)
	for {
		pvcs, err := tenv.Client().CoreV1().PersistentVolumeClaims("").List(t.Context(), metav1.ListOptions{})
		if err == nil && len(pvcs.Items) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the storage check's claim is still there after a minute")
		}
		time.Sleep(200 * time.Millisecond)
	}
	assertGone(t, tenv)
}

// seriesCopy is the embedded series as an in-memory folder that a test may add files to.
func seriesCopy(t *testing.T) fstest.MapFS {
	t.Helper()
	fsys := fstest.MapFS{}
	err := fs.WalkDir(mlopsseries.Series(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(mlopsseries.Series(), p)
		fsys[p] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return fsys
}
