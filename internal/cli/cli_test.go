package cli

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mlops-series/mlops-series/internal/nativetest"
	"github.com/mlops-series/mlops-series/internal/ui"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errw bytes.Buffer
	code := Execute(context.Background(), args, ui.Streams{Out: &out, Err: &errw})
	return out.String(), errw.String(), code
}

// comingSeries is a copy of the series in which chapter 2 is still coming: its folder has no
// chapter.yaml (every chapter of the real series is available).
func comingSeries(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "series")
	if err := os.CopyFS(dir, os.DirFS("../../series")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "chapter-2-gitops", "chapter.yaml")); err != nil {
		t.Fatal(err)
	}
	return dir
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/cli -update)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from %s (run go test ./internal/cli -update if intended):\n--- got\n%s\n--- want\n%s", name, path, got, want)
	}
}

func TestGoldenOutput(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"list", []string{"list"}},
		{"list-json", []string{"list", "-o", "json"}},
		{"render-summary", []string{"render", "chapter-6", "--summary"}},
		{"validate", []string{"validate"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errw, code := run(t, tt.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errw)
			}
			golden(t, tt.name, out)
		})
	}
}

func TestRenderPrintsEveryManifest(t *testing.T) {
	out, errw, code := run(t, "render", "chapter-6")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errw)
	}
	for _, want := range []string{"# chapter-6 · postgresql", "# chapter-6 · mlflow", "kind: StatefulSet", "kind: Deployment", "ghcr.io/mlflow/mlflow:v3.17.2-full"} {
		if !strings.Contains(out, want) {
			t.Errorf("render output lacks %q", want)
		}
	}
	if !strings.Contains(errw, "# total") {
		t.Errorf("render does not print the footprint on stderr: %s", errw)
	}
}

// Bad input gets a clear error and the right exit code, and changes nothing.
func TestErrors(t *testing.T) {
	bad := t.TempDir()
	if err := os.WriteFile(filepath.Join(bad, "series.yaml"), []byte("apiVersion: mlops-series/v1alpha1\nkind: Series\ntitle: {ko: 가, en: A}\nchapters: []\nextra: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"unknown chapter", []string{"up", "chapter-42"}, 1, []string{"unknown chapter \"chapter-42\"", "available: chapter-1, chapter-2, chapter-3, chapter-4, chapter-5, chapter-6, chapter-7, chapter-8, chapter-9, chapter-10"}},
		{"coming chapter", []string{"render", "chapter-2", "--series", comingSeries(t)}, 1, []string{"chapter-2", "is coming"}},
		{"malformed series", []string{"validate", bad}, 1, []string{"series.yaml: line 5: field extra not found"}},
		{"missing series folder", []string{"list", "--series", filepath.Join(bad, "nope")}, 1, []string{"not a folder"}},
		{"bad endpoint", []string{"check", "chapter-6", "--endpoint", "mlflow"}, 1, []string{"want NAME=URL"}},
		{"endpoint of unknown component", []string{"check", "chapter-6", "--endpoint", "airflow=http://127.0.0.1:1"}, 1, []string{"has no component \"airflow\""}},
		{"unreachable endpoint", []string{"check", "chapter-6", "--endpoint", "mlflow=http://127.0.0.1:1"}, 2, []string{"✗ mlflow-roundtrip", "unreachable", "↷ pods"}},
		{"unreachable cluster", []string{"status", "--kubeconfig", writeKubeconfig(t)}, 1, []string{"unreachable"}},
		{"bad output", []string{"list", "-o", "xml"}, 1, []string{"--output \"xml\""}},
		{"doctor: unreachable --context cluster is unfit", []string{"doctor", "chapter-6", "--kubeconfig", writeKubeconfig(t)}, 3, []string{"doctor: this environment is not fit"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errw, code := run(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d: %s", code, tt.code, errw)
			}
			for _, w := range tt.want {
				if !strings.Contains(errw, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errw)
				}
			}
			if strings.Count(errw, "error: ") > 1 {
				t.Errorf("error printed more than once:\n%s", errw)
			}
		})
	}
}

// writeKubeconfig writes a kubeconfig whose server is a closed local port.
func writeKubeconfig(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "kubeconfig")
	kc := `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: x}}]
contexts: [{name: gone, context: {cluster: c, user: u}}]
current-context: gone
`
	if err := os.WriteFile(p, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// `check chapter-6 --endpoint mlflow=URL` against a real MLflow server (the chart's version,
// from the venv) passes without any cluster; `up` without a container engine exits 3.
func TestCheckAgainstRealMLflow(t *testing.T) {
	s := nativetest.MLflow(t)
	dir := t.TempDir()
	out, errw, code := run(t, "check", "chapter-6", "--endpoint", "mlflow="+s.URL, "--junit", filepath.Join(dir, "r.xml"),
		"--metrics-file", filepath.Join(dir, "run.prom"))
	if code != 0 {
		t.Fatalf("exit %d:\n%s%s", code, out, errw)
	}
	prom, err := os.ReadFile(filepath.Join(dir, "run.prom"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`mlops_series_check_result{chapter="chapter-6",check="mlflow-roundtrip"} 1`,
		`mlops_series_run_timestamp_seconds{chapter="chapter-6",command="check"}`} {
		if !strings.Contains(string(prom), want) {
			t.Errorf("metrics file lacks %q:\n%s", want, prom)
		}
	}
	junit, err := os.ReadFile(filepath.Join(dir, "r.xml"))
	if err != nil || !strings.Contains(string(junit), `<testsuite name="chapter-6" tests="3" failures="0" skipped="1"`) {
		t.Errorf("junit report: %v\n%s", err, junit)
	}
	for _, want := range []string{"✓ mlflow-health", "✓ mlflow-roundtrip", "MLflow 3.17.2", "2 passed, 0 failed, 1 skipped"} {
		if !strings.Contains(errw, want) {
			t.Errorf("output lacks %q:\n%s", want, errw)
		}
	}
}

func TestDoctorReportsOnStdout(t *testing.T) {
	out, _, code := run(t, "doctor", "chapter-6", "--kubeconfig", writeKubeconfig(t))
	if code != 3 {
		t.Fatalf("exit %d, want 3", code)
	}
	for _, want := range []string{"✗ cluster", "kubectl --context gone get nodes", "✓ arch", "read: docs/ko/chapter-6.md#overview"} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor output lacks %q:\n%s", want, out)
		}
	}
}

func TestUpWithoutEngineIsUnfit(t *testing.T) {
	t.Setenv("PATH", t.TempDir()) // no docker, podman or nerdctl
	_, errw, code := run(t, "up", "chapter-6")
	if code != 3 {
		t.Fatalf("exit %d, want 3:\n%s", code, errw)
	}
	for _, want := range []string{"no container engine answered", "--context", "read: docs/ko/chapter-6.md#overview"} {
		if !strings.Contains(errw, want) {
			t.Errorf("output lacks %q:\n%s", want, errw)
		}
	}
}
