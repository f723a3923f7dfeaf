package action

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/mlops-series/mlops-series/internal/check"
	"github.com/mlops-series/mlops-series/internal/nativetest"
	"github.com/mlops-series/mlops-series/internal/series"
	"github.com/mlops-series/mlops-series/internal/testenv"
)

// seriesWithOverrides is the real series with extra values files appended to some components
// (e.g. a known password, so that the chart's Secret matches the native tool behind the pod).
func seriesWithOverrides(t *testing.T, overrides map[string]string) *series.Library {
	t.Helper()
	fsys := seriesCopy(t)
	lib, err := series.Load(fsys, "test", check.Validation())
	if err != nil {
		t.Fatal(err)
	}
	for key, yaml := range overrides { // key: chapter-N/component
		id, comp, _ := strings.Cut(key, "/")
		ch := lib.Chapters[id]
		file := "values/test-" + comp + ".yaml"
		fsys[ch.Dir+"/"+file] = &fstest.MapFile{Data: []byte(yaml)}
		for i := range ch.Components {
			if ch.Components[i].Name == comp {
				ch.Components[i].Values = append(ch.Components[i].Values, file)
			}
		}
	}
	return lib
}

// TestCoreChaptersOnControlPlane brings up the core chapters (5, 8, 10, 6), chapter 7 and chapter 3 one after the other on
// one control plane, each with its functional checks running through client-go port-forwards that
// KWOK sends to the real tools running natively (Airflow, Feast with Redis, MLflow, Prometheus and
// its Pushgateway, the statsd exporter, chapter 7's FastAPI app and BentoML service, chapter 3's
// JupyterHub and TensorBoard), except Grafana, which cannot run here and is replaced by a
// server replaying responses recorded from Grafana's documented API. Then, with all four up: re-up
// writes no revision, the promql check sees a target up in every installed chapter's namespace, a
// pushed CLI run is visible through PromQL, a broken tool fails its check with exit 2, and down of
// each chapter leaves nothing behind.
func TestCoreChaptersOnControlPlane(t *testing.T) {
	const airflowPassword, grafanaPassword = "kwok-airflow-pw", "kwok-grafana-pw"
	// The tools start at once (nativetest.Together): chapter 7's FastAPI app and BentoML service
	// serve the champion that its registration Job (run here once, natively) trains and registers
	// in the same MLflow; chapter 3's JupyterHub (the chart's own configuration, local spawner: its
	// users' servers are processes here) logs to that MLflow, and TensorBoard serves the example's
	// run.
	const servingDir, bentoDir = "../../series/chapter-7-model-serving/serving", "../../series/chapter-7-model-serving/bento"
	var (
		mlflow, feast, serving, bento, tensorboard, statsd, pushgateway *nativetest.Server
		airflow                                                         *nativetest.AirflowServer
		grafana                                                         *httptest.Server
	)
	runs := t.TempDir()
	nativetest.Together(t,
		func(t testing.TB) {
			mlflow = nativetest.MLflow(t)
			nativetest.ServingRegister(t, servingDir, mlflow.URL)
			serving = nativetest.Serving(t, servingDir, mlflow.URL, 30*time.Second)
			bento = nativetest.Bento(t, bentoDir, servingDir, mlflow.URL, 30*time.Second)
		},
		func(t testing.TB) {
			airflow = nativetest.AirflowWithPassword(t, "../../series/chapter-5-pipelines/examples/dags", airflowPassword)
		},
		func(t testing.TB) {
			feast = nativetest.FeastWithMetrics(t, "../../series/chapter-8-feature-store/examples/feature_repo")
			nativetest.TensorBoardExample(t, "../../series/chapter-3-experiment-environment", runs, 5)
			tensorboard = nativetest.TensorBoard(t, runs)
			statsd = nativetest.StatsdExporter(t)
			pushgateway = nativetest.Pushgateway(t)
			grafana = nativetest.GrafanaReplay(t, "health-ok", "datasource-health-ok", "admin", grafanaPassword)
		},
	)
	hub := nativetest.JupyterHub(t, "../../charts/jupyterhub/files/jupyterhub_config.py", map[string]string{"MLFLOW_TRACKING_URI": mlflow.URL})
	// The native Prometheus scrapes the native tools, labelled with the namespace each one's pod
	// lives in, as the chart's kubernetes_sd pod job labels them in a cluster.
	target := func(job, ns, url, path string) string {
		return fmt.Sprintf("- job_name: %s\n  metrics_path: %s\n  static_configs:\n    - targets: [%q]\n      labels: {namespace: %s}\n",
			job, path, strings.TrimPrefix(url, "http://"), ns)
	}
	prom := nativetest.Prometheus(t, target("mlflow", "mlflow", mlflow.URL, "/metrics")+
		target("airflow-statsd", "airflow", statsd.URL, "/metrics")+
		target("feast", "feast", "http://127.0.0.1:8000", "/metrics")+
		target("grafana-stand-in", "monitoring", pushgateway.URL, "/metrics")+
		target("serving", "serving", serving.URL, "/metrics")+
		"- job_name: pushgateway\n  honor_labels: true\n  static_configs:\n    - targets: ["+fmt.Sprintf("%q", strings.TrimPrefix(pushgateway.URL, "http://"))+"]\n")

	fwd := func(ns string, sel map[string]string, port int32, to int) testenv.PortForward {
		return testenv.PortForward{Namespace: ns, Selector: sel, Ports: []int32{port}, TargetPort: int32(to)}
	}
	grafanaPort := portOf(t, grafana.URL)
	tenv := testenv.Require(t, testenv.Options{PortForwards: []testenv.PortForward{
		fwd("mlflow", map[string]string{"app.kubernetes.io/instance": "mlflow"}, 5000, mlflow.Port),
		fwd("airflow", map[string]string{"app.kubernetes.io/instance": "airflow", "app.kubernetes.io/component": "api-server"}, 8080, airflow.Port),
		fwd("feast", map[string]string{"app.kubernetes.io/instance": "feast"}, 6566, feast.Port),
		fwd("monitoring", map[string]string{"app.kubernetes.io/name": "prometheus"}, 9090, prom.Port),
		fwd("monitoring", map[string]string{"app.kubernetes.io/name": "pushgateway"}, 9091, pushgateway.Port),
		fwd("monitoring", map[string]string{"app.kubernetes.io/instance": "grafana"}, 3000, grafanaPort),
		fwd("serving", map[string]string{"app.kubernetes.io/instance": "serving", "app.kubernetes.io/component": "model-server"}, 8000, serving.Port),
		fwd("serving", map[string]string{"app.kubernetes.io/instance": "bentoml", "app.kubernetes.io/component": "bento-server"}, 3000, bento.Port),
		fwd("jupyterhub", map[string]string{"app.kubernetes.io/instance": "jupyterhub", "app.kubernetes.io/component": "hub"}, 8000, hub.Port),
		fwd("tensorboard", map[string]string{"app.kubernetes.io/instance": "tensorboard", "app.kubernetes.io/component": "server"}, 6006, tensorboard.Port),
	}})
	e := newCPEnv(t, tenv)
	e.Lib = seriesWithOverrides(t, map[string]string{
		"chapter-5/airflow":  "auth: {password: " + airflowPassword + "}\n",
		"chapter-10/grafana": "admin: {password: " + grafanaPassword + "}\n",
		// The native hub's login and token, so that the chart's Secret holds what it accepts.
		"chapter-3/jupyterhub": "login: {password: " + hub.Password + "}\ncheckService: {token: " + hub.Token + "}\n",
	})
	ctx := t.Context()

	// Chapter 3 after chapter 6: its kernel check then logs a run to MLflow and reads it back.
	order := []string{"chapter-5", "chapter-8", "chapter-10", "chapter-6", "chapter-7", "chapter-3"}
	for _, id := range order {
		e.out.Reset()
		start := time.Now()
		if err := e.Up(ctx, id, UpOptions{Timeout: 2 * time.Minute}); err != nil {
			t.Fatalf("up %s: %v\n%s", id, err, e.out)
		}
		n := len(e.Lib.Chapters[id].Checks)
		if want := fmt.Sprintf("checks %d/%d passed", n, n); !strings.Contains(e.out.String(), want) {
			t.Errorf("up %s: output lacks %q:\n%s", id, want, e.out)
		}
		t.Logf("up %s with its checks in %s", id, time.Since(start).Round(time.Millisecond))
	}

	// All four together: re-up writes no revision; footprint as measured by render.
	for _, id := range order {
		e.out.Reset()
		start := time.Now()
		if err := e.Up(ctx, id, UpOptions{Timeout: time.Minute, SkipChecks: true}); err != nil {
			t.Fatalf("re-up %s: %v\n%s", id, err, e.out)
		}
		if strings.Contains(e.out.String(), "installed (") || strings.Contains(e.out.String(), "upgraded (") {
			t.Errorf("re-up %s changed something:\n%s", id, e.out)
		}
		t.Logf("no-op re-up %s in %s", id, time.Since(start).Round(time.Millisecond))
	}
	for _, rel := range [][2]string{{"airflow", "airflow"}, {"feast", "feast"}, {"monitoring", "prometheus"}, {"mlflow", "mlflow"}, {"serving", "serving"}, {"serving", "bentoml"}, {"jupyterhub", "jupyterhub"}, {"tensorboard", "tensorboard"}} {
		if h := history(t, tenv, rel[0], rel[1]); len(h) != 1 {
			t.Errorf("%s/%s has %d revisions, want 1", rel[0], rel[1], len(h))
		}
	}

	// With every core chapter installed, promql wants a target up in each of their namespaces.
	e.out.Reset()
	e.Metrics = nil
	if err := e.Check(ctx, "chapter-10", CheckOptions{ClusterRequested: true}); err != nil {
		t.Fatalf("check chapter-10 with all four installed: %v\n%s", err, e.out)
	}
	if !strings.Contains(e.out.String(), `namespace=~"airflow|feast|mlflow|monitoring|serving"`) {
		t.Errorf("promql did not cover every installed chapter:\n%s", e.out)
	}

	// A CLI run's metrics, pushed to the monitoring chapter's Pushgateway, reach PromQL.
	rec := newRecorder("check", "chapter-6")
	rec.Check("chapter-6", "mlflow-roundtrip", true)
	e.Metrics = rec
	if err := e.EmitMetrics(ctx, MetricsOptions{Push: "auto"}); err != nil {
		t.Fatalf("push metrics: %v", err)
	}
	e.Metrics = nil
	waitPromQL(t, prom.URL, check.PromQL{Query: `mlops_series_check_result{chapter="chapter-6",check="mlflow-roundtrip"}`})

	// A broken tool: its chapter's check exits 2 and says what failed.
	airflow.Stop()
	e.out.Reset()
	start := time.Now()
	err := e.Check(ctx, "chapter-5", CheckOptions{ClusterRequested: true})
	t.Logf("check chapter-5 with Airflow stopped in %s", time.Since(start).Round(time.Millisecond))
	if Code(err) != ExitCheckFailed || !strings.Contains(e.out.String(), "✗ airflow-dag-run") {
		t.Errorf("check chapter-5 with Airflow stopped: exit %d (%v)\n%s", Code(err), err, e.out)
	}

	// down: chapter by chapter (chapter 7 before the chapter 6 it requires), nothing left.
	start = time.Now()
	for _, id := range []string{"chapter-3", "chapter-7", "chapter-5", "chapter-8", "chapter-10", "chapter-6"} {
		e.out.Reset()
		if err := e.Down(ctx, id, DownOptions{Timeout: 2 * time.Minute}); err != nil {
			t.Fatalf("down %s: %v\n%s", id, err, e.out)
		}
	}
	t.Logf("down of the six chapters in %s", time.Since(start).Round(time.Millisecond))
	assertGone(t, tenv)
	for _, ns := range []string{"airflow", "feast", "monitoring", "serving", "jupyterhub", "tensorboard"} {
		if _, err := tenv.Client().CoreV1().Namespaces().Get(ctx, ns, getOpts); err == nil {
			t.Errorf("namespace %s left behind", ns)
		}
	}
}

func waitPromQL(t *testing.T, base string, q check.PromQL) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		msg, err := q.Run(t.Context(), http.DefaultClient, base)
		if err == nil {
			t.Logf("promql: %s", msg)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("promql %s: %v", q.Query, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
