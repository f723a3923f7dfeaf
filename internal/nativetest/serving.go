package nativetest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ServingRegister runs chapter 7's registration Job (`python -m iris_serving.register`, the venv
// "serving") against the MLflow at trackingURI: it trains and registers chapter 6's model when the
// registry has no champion. appDir is the app's folder (series/chapter-7-model-serving/serving).
// It returns the Job's key=value output.
func ServingRegister(t testing.TB, appDir, trackingURI string) map[string]string {
	t.Helper()
	py := Tool(t, "serving", "python")
	dir, err := filepath.Abs(appDir)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, "-m", "iris_serving.register")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "MLFLOW_TRACKING_URI="+trackingURI, "PYTHONPATH="+dir,
		"MLFLOW_DISABLE_TELEMETRY=true", "DO_NOT_TRACK=true")
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("iris_serving.register: %v\n%s", err, out)
	}
	kv := map[string]string{}
	for _, l := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(l), "="); ok && k != "" && !strings.ContainsAny(k, " \t") {
			kv[k] = v
		}
	}
	t.Logf("iris_serving.register in %s: %v", time.Since(start).Round(time.Millisecond), kv)
	return kv
}

// Serving starts chapter 7's FastAPI app as its image does (uvicorn, the app factory) on a
// loopback port of the venv "serving", serving models:/iris-classifier@champion from the MLflow
// at trackingURI and resolving the alias again every refresh. It is ready when /health answers 200
// (a model is loaded).
func Serving(t testing.TB, appDir, trackingURI string, refresh time.Duration) *Server {
	t.Helper()
	py := Tool(t, "serving", "python")
	dir, err := filepath.Abs(appDir)
	if err != nil {
		t.Fatal(err)
	}
	port := FreePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	work := t.TempDir()
	s := Start(t, "serving", work, base+"/health",
		[]string{"MLFLOW_TRACKING_URI=" + trackingURI, "PYTHONPATH=" + dir,
			"MODEL_REFRESH_SECONDS=" + strconv.FormatFloat(refresh.Seconds(), 'f', -1, 64),
			"MLFLOW_DISABLE_TELEMETRY=true", "DO_NOT_TRACK=true"},
		py, "-m", "uvicorn", "--factory", "iris_serving.app:create_app",
		"--host", "127.0.0.1", "--port", strconv.Itoa(port), "--app-dir", dir)
	s.URL, s.Port = base, port
	return s
}

// Bento starts chapter 7's BentoML service (`bentoml serve service:IrisClassifier`, the venv
// "serving") on a loopback port, serving the same champion as Serving; bentoDir is its folder
// (series/chapter-7-model-serving/bento), appDir the FastAPI app's, whose model code it imports.
// It is ready when /readyz answers 200 (a model is loaded).
func Bento(t testing.TB, bentoDir, appDir, trackingURI string, refresh time.Duration) *Server {
	t.Helper()
	py := Tool(t, "serving", "python")
	bento, err := filepath.Abs(bentoDir)
	if err != nil {
		t.Fatal(err)
	}
	app, err := filepath.Abs(appDir)
	if err != nil {
		t.Fatal(err)
	}
	port := FreePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	work := t.TempDir()
	s := Start(t, "bentoml", work, base+"/readyz",
		[]string{"MLFLOW_TRACKING_URI=" + trackingURI, "PYTHONPATH=" + app + string(os.PathListSeparator) + bento,
			"MODEL_REFRESH_SECONDS=" + strconv.FormatFloat(refresh.Seconds(), 'f', -1, 64),
			"BENTOML_HOME=" + filepath.Join(work, "bentoml"), "BENTOML_DO_NOT_TRACK=true",
			"MLFLOW_DISABLE_TELEMETRY=true", "DO_NOT_TRACK=true"},
		py, "-m", "bentoml", "serve", "service:IrisClassifier", "--working-dir", bento, "--host", "127.0.0.1", "--port", strconv.Itoa(port))
	s.URL, s.Port = base, port
	return s
}
