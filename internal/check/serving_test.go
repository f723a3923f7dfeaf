package check

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/mlops-series/mlops-series/internal/nativetest"
	"github.com/mlops-series/mlops-series/internal/series"
)

// servingAppDir is chapter 7's FastAPI app, run natively from the venv "serving".
const (
	servingAppDir   = "../../series/chapter-7-model-serving/serving"
	servingBentoDir = "../../series/chapter-7-model-serving/bento"
)

// irisSetosa is iris sample 0 of the dataset (a setosa any trained model of chapter 6 gets right).
const irisSetosa = `{"instances": [{"sepal_length_cm": 5.1, "sepal_width_cm": 3.5, "petal_length_cm": 1.4, "petal_width_cm": 0.2}]}`

var irisClasses = []string{"setosa", "versicolor", "virginica"}

// TestPredictFollowsTheChampion runs the predict check against the real app and a real MLflow:
// chapter 7's registration Job trains and registers the champion, the check passes naming its
// version; the BentoML service passes too; the alias moves to a new version and the check waits until the app (refreshing every
// second) answers from it; a wrong expectation, an invalid sample and an unreachable registry fail
// it. Last, the serving check's bounded load runs on the same app with 0 errors.
func TestPredictFollowsTheChampion(t *testing.T) {
	mlflow := nativetest.MLflow(t)
	reg := nativetest.ServingRegister(t, servingAppDir, mlflow.URL)
	if reg["model_version"] != "1" || reg["trained"] != "true" {
		t.Fatalf("registration: %v, want version 1 trained", reg)
	}
	if again := nativetest.ServingRegister(t, servingAppDir, mlflow.URL); again["trained"] != "false" || again["model_version"] != "1" {
		t.Fatalf("second registration: %v, want the existing champion kept", again)
	}
	app := nativetest.Serving(t, servingAppDir, mlflow.URL, time.Second)
	hc := &http.Client{Timeout: 30 * time.Second}
	run := func(p Predict, limit time.Duration) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), limit)
		defer cancel()
		return p.Run(ctx, hc, app.URL)
	}
	p := Predict{Sample: []byte(irisSetosa), Classes: irisClasses, Expect: "setosa", Registry: mlflow.URL, Every: 200 * time.Millisecond}

	msg, err := run(p, time.Minute)
	if err != nil {
		t.Fatalf("predict: %v\n%s", err, app.Tail(20))
	}
	if want := "POST /predict → setosa from version 1 = iris-classifier@champion in MLflow"; msg != want {
		t.Fatalf("summary %q, want %q", msg, want)
	}

	// A second version of the same model (its source is version 1's artifacts), made champion.
	var v1 struct {
		ModelVersion struct {
			Source  string `json:"source"`
			RunID   string `json:"run_id"`
			ModelID string `json:"model_id"`
		} `json:"model_version"`
	}
	mlflowTestCall(t, http.MethodGet, mlflow.URL+mlflowAPI+"/model-versions/get?name=iris-classifier&version=1", nil, &v1)
	if v1.ModelVersion.ModelID == "" {
		// MLflow 3 registers a logged model by its URI, models:/<model id>.
		v1.ModelVersion.ModelID = strings.TrimPrefix(v1.ModelVersion.Source, "models:/")
	}
	var v2 struct {
		ModelVersion struct {
			Version string `json:"version"`
		} `json:"model_version"`
	}
	mlflowTestCall(t, http.MethodPost, mlflow.URL+mlflowAPI+"/model-versions/create",
		map[string]string{"name": "iris-classifier", "source": v1.ModelVersion.Source, "run_id": v1.ModelVersion.RunID, "model_id": v1.ModelVersion.ModelID}, &v2)
	if v2.ModelVersion.Version != "2" {
		t.Fatalf("new version %q, want 2", v2.ModelVersion.Version)
	}
	mlflowTestCall(t, http.MethodPost, mlflow.URL+mlflowAPI+"/registered-models/alias",
		map[string]string{"name": "iris-classifier", "alias": "champion", "version": "2"}, &map[string]any{})
	msg, err = run(p, time.Minute)
	if err != nil {
		t.Fatalf("predict after the alias moved: %v\n%s", err, app.Tail(20))
	}
	if !strings.Contains(msg, "from version 2 = iris-classifier@champion") {
		t.Fatalf("after the alias moved to version 2: %q", msg)
	}

	// The BentoML service, on the same champion: no model in its /readyz, so the check names it.
	bento := nativetest.Bento(t, servingBentoDir, servingAppDir, mlflow.URL, time.Second)
	pb := p
	pb.Ready, pb.Model, pb.Alias = "/readyz", "iris-classifier", "champion"
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	msg, err = pb.Run(ctx, hc, bento.URL)
	cancel()
	if err != nil || msg != "POST /predict → setosa from version 2 = iris-classifier@champion in MLflow" {
		t.Fatalf("predict on the BentoML service: %q, %v\n%s", msg, err, bento.Tail(20))
	}
	pb.Alias = ""
	if _, err := pb.Run(context.Background(), hc, bento.URL); err == nil || !strings.Contains(err.Error(), "set the check's model") {
		t.Fatalf("BentoML without a model to compare: error %v", err)
	}

	wrong := p
	wrong.Expect = "virginica"
	if _, err := run(wrong, 10*time.Second); err == nil || !strings.Contains(err.Error(), `the sample is "setosa", want "virginica" (version 2)`) {
		t.Fatalf("wrong expectation: error %v", err)
	}
	gone := p
	gone.Registry = fmt.Sprintf("http://127.0.0.1:%d", nativetest.FreePort(t))
	if _, err := run(gone, 10*time.Second); err == nil || !strings.Contains(err.Error(), "iris-classifier@champion in the registry") || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("registry unreachable: error %v", err)
	}
	bad := p
	bad.Sample = []byte(`{"instances": [{"sepal_length_cm": "long"}]}`)
	if _, err := run(bad, 10*time.Second); err == nil || !strings.Contains(err.Error(), "422") {
		t.Fatalf("invalid sample: error %v, want the app's 422", err)
	}

	// The serving check's bounded load, on the same app (starting one takes a minute here).
	l := Load{Path: "/predict", Body: []byte(irisSetosa), Requests: 300, Concurrency: 8}
	lctx, lcancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer lcancel()
	res, err := l.Measure(lctx, hc, app.URL)
	if err != nil {
		t.Fatal(err)
	}
	if res.Errors != 0 {
		t.Fatalf("load: %s; first error: %v\n%s", res, res.FirstError, app.Tail(20))
	}
	t.Logf("load on the native serving app: %s", res)

	// The same two checks as a chapter spec declares them, run by the Runner with --endpoint
	// URLs for the app and the registry, the sample read from the chapter folder.
	ch, err := series.DecodeChapter("chapter.yaml", []byte(servingChapter), Validation())
	if err != nil {
		t.Fatal(err)
	}
	ch.Dir = "chapter-7-model-serving"
	r := &Runner{HTTP: hc, Endpoints: map[string]string{"serving": app.URL, "mlflow": mlflow.URL},
		SeriesFS: fstest.MapFS{"chapter-7-model-serving/checks/setosa.json": {Data: []byte(irisSetosa)}}}
	for _, res := range r.Run(context.Background(), ch) {
		if !res.Passed {
			t.Errorf("%s: %s", res.Name, res.Message)
		}
		t.Logf("%s: %s", res.Name, res.Message)
	}
}

const servingChapter = `apiVersion: mlops-series/v1alpha1
kind: Chapter
number: 7
slug: model-serving
title: {ko: 모델 서빙, en: Model serving}
post: {section: "#overview"}
components:
  - {name: mlflow, chart: mlflow, namespace: mlflow, section: "#s"}
  - {name: serving, chart: serving, namespace: serving, section: "#s"}
checks:
  - {name: predict, type: predict, component: serving, port: 8000, section: "#s",
     params: {sample: checks/setosa.json, expect: setosa, classes: "setosa, versicolor, virginica", registry: mlflow, registryPort: "5000"}}
  - {name: load, type: load, component: serving, port: 8000, path: /predict, section: "#s",
     params: {sample: checks/setosa.json, requests: "100", concurrency: "4"}}
`
