package action

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mlops-series/mlops-series/internal/testenv"
)

// TestCheckPathNeedsTheChapters: on a real control plane with no chapter up, `check path` names
// every chapter that is missing (with the Service it looked for), runs no hop and changes nothing.
// With chapter 6 up, it is no longer named.
func TestCheckPathNeedsTheChapters(t *testing.T) {
	tenv := testenv.Require(t, testenv.Options{})
	e := newCPEnv(t, tenv)
	ctx := t.Context()
	nsBefore, err := tenv.Client().CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}

	err = e.CheckPath(ctx, CheckOptions{ClusterRequested: true})
	if err == nil {
		t.Fatalf("check path passed with no chapter up:\n%s", e.out)
	}
	for _, want := range []string{
		"check path needs chapters 8, 5, 6, 7, 10 up",
		"chapter-8 (no Service feast/feast)", "chapter-5 (no Service airflow/airflow)",
		"chapter-6 (no Service mlflow/mlflow)", "chapter-7 (no Service serving/serving)",
		"chapter-10 (no Service monitoring/prometheus)", "nothing was changed",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if strings.Contains(e.out.String(), "✓") || strings.Contains(e.out.String(), "✗") {
		t.Errorf("a hop ran although chapters are missing:\n%s", e.out)
	}
	nsAfter, err := tenv.Client().CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(nsAfter.Items) != len(nsBefore.Items) {
		t.Errorf("check path changed the namespaces: %d before, %d after", len(nsBefore.Items), len(nsAfter.Items))
	}

	// An endpoint that is not a component of the path is refused before anything is contacted.
	err = e.CheckPath(ctx, CheckOptions{Endpoints: map[string]string{"grafana": "http://127.0.0.1:1"}})
	if err == nil || !strings.Contains(err.Error(), "--endpoint grafana: not a component of the path") {
		t.Errorf("check path --endpoint grafana=...: %v", err)
	}

	// Chapter 6 up (its checks skipped: no MLflow behind KWOK's pods here): no longer missing.
	if err := e.Up(ctx, "chapter-6", UpOptions{Timeout: 2 * time.Minute, SkipChecks: true}); err != nil {
		t.Fatalf("up chapter-6: %v\n%s", err, e.out)
	}
	err = e.CheckPath(ctx, CheckOptions{ClusterRequested: true})
	if err == nil || strings.Contains(err.Error(), "chapter-6 (") || !strings.Contains(err.Error(), "chapter-7 (no Service serving/serving)") {
		t.Errorf("check path with chapter 6 up: %v", err)
	}
	if err := e.Down(ctx, "chapter-6", DownOptions{Timeout: 2 * time.Minute}); err != nil {
		t.Fatalf("down chapter-6: %v\n%s", err, e.out)
	}
}
