package check

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mlops-series/mlops-series/internal/nativetest"
)

// TestPathHopsNative runs four of the path's five hops against the real tools, natively: chapter
// 8's Feast (its feature repository and data script), MLflow, chapter 7's FastAPI app (alias
// refresh every 2 s) and a Prometheus scraping it. The pipeline hop's Airflow run cannot happen
// here (its training task is a KubernetesPodOperator, which needs a kubelet: the real-container
// layer runs it); in its place the test does what that pod does, running chapter 7's
// iris_serving.train_features with the features Feast served, as the DAG hands them over.
func TestPathHopsNative(t *testing.T) {
	nativetest.SkipShort(t)
	const servingDir = "../../series/chapter-7-model-serving/serving"
	var feast, mlflow, serving *nativetest.Server
	nativetest.Together(t,
		func(t testing.TB) {
			feast = nativetest.Feast(t, "../../series/chapter-8-feature-store/examples/feature_repo")
		},
		func(t testing.TB) {
			mlflow = nativetest.MLflow(t)
			nativetest.ServingRegister(t, servingDir, mlflow.URL)
			serving = nativetest.Serving(t, servingDir, mlflow.URL, 2*time.Second)
		},
	)
	prom := nativetest.Prometheus(t, fmt.Sprintf("- job_name: serving\n  static_configs:\n    - targets: [%q]\n",
		strings.TrimPrefix(serving.URL, "http://")))
	sample, err := os.ReadFile("../../series/chapter-7-model-serving/checks/setosa.json")
	if err != nil {
		t.Fatal(err)
	}
	p := Path{
		URLs:        map[string]string{"features": feast.URL, "registry": mlflow.URL, "serving": serving.URL, "monitoring": prom.URL},
		Predict:     Predict{Sample: sample, Classes: []string{"setosa", "versicolor", "virginica"}, Expect: "setosa"},
		Predictions: 5,
		Every:       500 * time.Millisecond,
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	hc := &http.Client{Timeout: 30 * time.Second}
	st := &pathState{}

	msg, err := p.features(ctx, hc, st)
	if err != nil {
		t.Fatalf("features: %v", err)
	}
	t.Logf("features: %s", msg)
	if !strings.Contains(msg, "150 irises × 5 features PRESENT (species 0/1/2: 50/50/50)") {
		t.Errorf("features: %s", msg)
	}

	// The champion before (the registration Job's), as the pipeline hop notes it.
	reg, err := p.registryClient(hc)
	if err != nil {
		t.Fatal(err)
	}
	before, err := p.champion(ctx, reg)
	if err != nil {
		t.Fatal(err)
	}
	st.previous = before.Version

	// What the DAG does: fetch_features' payload, then the training pod's command.
	features := irisFeaturesPayload(t, ctx, hc, feast.URL)
	st.runID = "manual__native-path-" + time.Now().UTC().Format("20060102T150405")
	out := trainFeatures(t, servingDir, mlflow.URL, features, st.runID)
	t.Logf("train_features:\n%s", out)

	// Before the registry hop: a wrong run id is refused.
	wrong := *st
	wrong.runID = "someone-else"
	if _, err := p.registry(ctx, hc, &wrong); err == nil || !strings.Contains(err.Error(), "not the DAG run someone-else") {
		t.Errorf("registry with another run id: %v", err)
	}
	for _, hop := range []struct {
		name string
		run  func(context.Context, *http.Client, *pathState) (string, error)
	}{{"registry", p.registry}, {"serving", p.serving}, {"monitoring", p.monitoring}} {
		msg, err := hop.run(ctx, hc, st)
		if err != nil {
			t.Fatalf("%s: %v", hop.name, err)
		}
		t.Logf("%s: %s", hop.name, msg)
	}
	if st.version == before.Version || st.served != 5 {
		t.Errorf("after the hops: version %s (before %s), %d predictions", st.version, before.Version, st.served)
	}
}

// irisFeaturesPayload is what the DAG's fetch_features hands to the training pod: the iris rows
// from the feature server, as {"columns", "rows", "target", "source"}.
func irisFeaturesPayload(t *testing.T, ctx context.Context, hc *http.Client, base string) []byte {
	t.Helper()
	c, _, _, err := newAPIClient(feastServer, hc, base)
	if err != nil {
		t.Fatal(err)
	}
	resp, col, err := irisFeatures(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	measurements := PathFeatures[:4]
	rows := make([][]any, PathRows)
	target := make([]any, PathRows)
	for r := range PathRows {
		for _, f := range measurements {
			rows[r] = append(rows[r], resp.Results[col[PathFeatureView+"__"+f]].Values[r])
		}
		target[r] = resp.Results[col[PathFeatureView+"__species"]].Values[r]
	}
	b, err := json.Marshal(map[string]any{"columns": measurements, "rows": rows, "target": target, "source": "feast:" + PathFeatureView})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// trainFeatures runs the training pod's command natively (the venv "serving").
func trainFeatures(t *testing.T, appDir, trackingURI string, features []byte, runID string) string {
	t.Helper()
	py := nativetest.Tool(t, "serving", "python")
	dir, err := filepath.Abs(appDir)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, "-m", "iris_serving.train_features")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "MLFLOW_TRACKING_URI="+trackingURI, "PYTHONPATH="+dir,
		"FEATURES="+string(features), "AIRFLOW_DAG_ID="+PathDAG, "AIRFLOW_RUN_ID="+runID,
		"MLFLOW_DISABLE_TELEMETRY=true", "DO_NOT_TRACK=true")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("iris_serving.train_features: %v\n%s", err, out)
	}
	return string(out)
}
