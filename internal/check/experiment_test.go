package check

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mlops-series/mlops-series/internal/nativetest"
)

// chapter3Dir is chapter 3's folder: its kernel code and its TensorBoard example run natively.
const (
	chapter3Dir     = "../../series/chapter-3-experiment-environment"
	hubConfigPython = "../../charts/jupyterhub/files/jupyterhub_config.py"
)

func chapter3File(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(chapter3Dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestJupyterHubKernelNative runs the jupyterhub-kernel check against a real JupyterHub 6 started
// with the chart's own jupyterhub_config.py (spawner "local" instead of KubeSpawner: no cluster
// here; the real-container layer runs KubeSpawner), its configurable-http-proxy from npm, real
// single-user servers and ipykernels, and a real MLflow: the compute code, then the code that logs
// a run to MLflow, which the check reads back. Each time the user is gone afterwards. A wrong
// token, code that raises, and code that prints no result fail it, and clean up all the same.
func TestJupyterHubKernelNative(t *testing.T) {
	mlflow := nativetest.MLflow(t)
	hub := nativetest.JupyterHub(t, hubConfigPython, map[string]string{"MLFLOW_TRACKING_URI": mlflow.URL})
	hc := &http.Client{Timeout: 30 * time.Second}
	run := func(j JupyterHubKernel) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		j.Poll = 200 * time.Millisecond
		return j.Run(ctx, hc, hub.URL)
	}
	userGone := func(name string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, hub.URL+"/hub/api/users/"+name, nil)
		req.Header.Set("Authorization", "token "+hub.Token)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("user %s after the check: %s, want 404 (deleted)", name, resp.Status)
		}
	}

	msg, err := run(JupyterHubKernel{Token: hub.Token, User: "series-check", Code: chapter3File(t, "checks/kernel_compute.py"), CodeName: "checks/kernel_compute.py"})
	if err != nil {
		t.Fatalf("compute: %v\n%s", err, hub.Tail(40))
	}
	t.Log(msg)
	for _, want := range []string{"JupyterHub 6.1.1: server of series-check ready in", "kernel ran checks/kernel_compute.py: computed {", `"accuracy":`, "server stopped and user deleted"} {
		if !strings.Contains(msg, want) {
			t.Errorf("compute summary %q lacks %q", msg, want)
		}
	}
	userGone("series-check")

	msg, err = run(JupyterHubKernel{Token: hub.Token, User: "series-check", Code: chapter3File(t, "checks/kernel_mlflow.py"),
		CodeName: "checks/kernel_mlflow.py", Registry: mlflow.URL})
	if err != nil {
		t.Fatalf("mlflow: %v\n%s", err, hub.Tail(40))
	}
	t.Log(msg)
	for _, want := range []string{"logged MLflow run ", "in experiment chapter-3-notebook-check (accuracy=", "read back through MLflow's API"} {
		if !strings.Contains(msg, want) {
			t.Errorf("mlflow summary %q lacks %q", msg, want)
		}
	}
	userGone("series-check")

	for _, tc := range []struct {
		name string
		j    JupyterHubKernel
		want string
	}{
		{"wrong token", JupyterHubKernel{Token: "not-the-token", Code: []byte("print(1)")}, "jupyterhub-kernel: create the check's user: POST /hub/api/users/mlops-series-check: 403 Forbidden: Missing or invalid credentials"},
		{"code raises", JupyterHubKernel{Token: hub.Token, User: "series-raise", Code: []byte("raise ValueError('boom')"), CodeName: "raise.py"}, "raise.py raised ValueError: boom"},
		{"no result", JupyterHubKernel{Token: hub.Token, User: "series-quiet", Code: []byte("print('hello')"), CodeName: "quiet.py"}, `quiet.py: printed no "MLOPS_SERIES_RESULT" line; it printed "hello\n"`},
	} {
		_, err := run(tc.j)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
		if tc.j.User != "" {
			userGone(tc.j.User)
		}
	}
}

// TestTensorBoardScalarsNative runs chapter 3's example into a folder and the tensorboard-scalars
// check against a real TensorBoard over it; a run that is not there fails it when time is up.
func TestTensorBoardScalarsNative(t *testing.T) {
	logdir := t.TempDir()
	tb := nativetest.TensorBoard(t, logdir)
	hc := &http.Client{Timeout: 30 * time.Second}
	// TensorBoard started before the run exists, as in the cluster (the Job writes while it runs).
	nativetest.TensorBoardExample(t, chapter3Dir, logdir, 12)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// The check passes once the run has points; TensorBoard reads a run's events in more than
	// one reload on a loaded machine (warm run 12 saw 11 of 12), so the test asks again until
	// every epoch is there.
	all := func(msg string) bool {
		return strings.HasPrefix(msg, "run iris-sgd: train/loss 12 points (step 12: ") && strings.Contains(msg, "train/accuracy 12 points")
	}
	var msg string
	for {
		var err error
		msg, err = TensorBoardScalars{RunName: "iris-sgd", Tags: []string{"train/loss", "train/accuracy"}, Poll: 500 * time.Millisecond}.Run(ctx, hc, tb.URL)
		if err != nil {
			t.Fatalf("scalars: %v (last summary %q)\n%s", err, msg, tb.Tail(20))
		}
		if all(msg) {
			break
		}
		if dl, _ := ctx.Deadline(); time.Until(dl) < 2*time.Second {
			t.Fatalf("summary %q, want 12 points of each tag", msg)
		}
		time.Sleep(time.Second)
	}
	t.Log(msg)

	// The check polls until the deadline: long enough for TensorBoard's first answer on a loaded
	// machine (8 s was not, in stop 17's warm run 7).
	short, cancel2 := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel2()
	_, err := TensorBoardScalars{RunName: "no-such-run", Tags: []string{"train/loss"}, Poll: 500 * time.Millisecond}.Run(short, hc, tb.URL)
	if err == nil || !strings.Contains(err.Error(), `run "no-such-run" lacks tags train/loss (runs: iris-sgd;`) {
		t.Errorf("missing run: err = %v", err)
	}
}
