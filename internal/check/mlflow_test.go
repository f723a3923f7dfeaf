package check

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"github.com/mlops-series/mlops-series/internal/nativetest"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// mlflowTestServer is a native `mlflow server` started by startMLflow.
type mlflowTestServer struct {
	URL          string // http://127.0.0.1:<port>
	ArtifactsDir string // --artifacts-destination
}

// startMLflow starts the venv's `mlflow server` (nativetest.MLflow: SQLite store, proxied artifacts
// in a temp dir, no job runner), stopped in t.Cleanup. Start takes 6-20 s, so call it once and share
// the server between subtests. Without a venv it skips the test, or fails it when CI=true.
func startMLflow(t testing.TB) *mlflowTestServer {
	t.Helper()
	s := nativetest.MLflow(t)
	return &mlflowTestServer{URL: s.URL, ArtifactsDir: filepath.Join(s.Dir, "artifacts")}
}

// mlflowTestCall calls the real server directly, for the tests' own checks.
func mlflowTestCall(t *testing.T, method, u string, in, out any) {
	t.Helper()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %s: %s", method, u, resp.Status, data)
	}
	if err := json.Unmarshal(data, out); err != nil {
		t.Fatalf("%s %s: %v: %s", method, u, err, data)
	}
}

type mlflowTestExperiment struct {
	ID   string `json:"experiment_id"`
	Name string `json:"name"`
}

// mlflowTestExperiments lists the experiments named like the round trip's in one view_type
// (ACTIVE_ONLY, DELETED_ONLY, ALL).
func mlflowTestExperiments(t *testing.T, base, viewType string) []mlflowTestExperiment {
	t.Helper()
	var out struct {
		Experiments []mlflowTestExperiment `json:"experiments"`
	}
	mlflowTestCall(t, http.MethodPost, base+"/api/2.0/mlflow/experiments/search", map[string]any{
		"filter": "name LIKE '" + mlflowCheckPrefix + "%'", "max_results": 1000, "view_type": viewType,
	}, &out)
	return out.Experiments
}

// mlflowAssertNoLeftovers fails if an active experiment or any registered model of a round trip
// remains.
func mlflowAssertNoLeftovers(t *testing.T, base string) {
	t.Helper()
	if exps := mlflowTestExperiments(t, base, "ACTIVE_ONLY"); len(exps) > 0 {
		t.Errorf("active experiments left behind: %+v", exps)
	}
	var models struct {
		RegisteredModels []struct {
			Name string `json:"name"`
		} `json:"registered_models"`
	}
	q := url.Values{"filter": {"name LIKE '" + mlflowCheckPrefix + "%'"}, "max_results": {"1000"}}
	mlflowTestCall(t, http.MethodGet, base+"/api/2.0/mlflow/registered-models/search?"+q.Encode(), nil, &models)
	if len(models.RegisteredModels) > 0 {
		t.Errorf("registered models left behind: %+v", models.RegisteredModels)
	}
}

// mlflowFaultProxy forwards to the real server and lets a test intercept one API path.
func mlflowFaultProxy(t *testing.T, target string, intercept func(w http.ResponseWriter, r *http.Request) bool) string {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ErrorHandler = func(w http.ResponseWriter, _ *http.Request, _ error) {
		w.WriteHeader(http.StatusBadGateway) // quiet: the cancel test makes the client hang up
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if intercept(w, r) {
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestMLflowRoundTrip runs against a real MLflow server, started once for all subtests.
func TestMLflowRoundTrip(t *testing.T) {
	srv := startMLflow(t)
	hc := &http.Client{Timeout: 30 * time.Second}

	t.Run("passes and leaves nothing behind", func(t *testing.T) {
		before := map[string]bool{}
		for _, e := range mlflowTestExperiments(t, srv.URL, "ALL") {
			before[e.ID] = true
		}
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
		defer cancel()
		start := time.Now()
		summary, err := MLflowRoundTrip(ctx, hc, srv.URL)
		if err != nil {
			t.Fatalf("MLflowRoundTrip: %v", err)
		}
		t.Logf("round trip in %s: %s", time.Since(start).Round(time.Millisecond), summary)
		if !regexp.MustCompile(`^MLflow \d+\.\d+\.\d+ at `).MatchString(summary) {
			t.Errorf("summary does not start with the server version: %q", summary)
		}
		if !strings.Contains(summary, " from mlflow-artifacts:/") {
			t.Errorf("summary does not name the mlflow-artifacts source: %q", summary)
		}

		mlflowAssertNoLeftovers(t, srv.URL)
		// The experiment exists only soft-deleted (the REST API cannot purge), and so do its runs.
		var created []mlflowTestExperiment
		for _, e := range mlflowTestExperiments(t, srv.URL, "DELETED_ONLY") {
			if !before[e.ID] {
				created = append(created, e)
			}
		}
		if len(created) != 1 {
			t.Fatalf("want exactly one new deleted experiment, got %+v", created)
		}
		for view, want := range map[string]int{"ACTIVE_ONLY": 0, "ALL": 1} {
			var runs struct {
				Runs []json.RawMessage `json:"runs"`
			}
			mlflowTestCall(t, http.MethodPost, srv.URL+"/api/2.0/mlflow/runs/search", map[string]any{
				"experiment_ids": []string{created[0].ID}, "run_view_type": view,
			}, &runs)
			if len(runs.Runs) != want {
				t.Errorf("runs in experiment %s with view %s: got %d, want %d", created[0].ID, view, len(runs.Runs), want)
			}
		}
		// The uploaded artifact is gone from the artifact store.
		var files []string
		_ = filepath.WalkDir(filepath.Join(srv.ArtifactsDir, created[0].ID), func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				files = append(files, p)
			}
			return nil
		})
		if len(files) > 0 {
			t.Errorf("artifact files left behind: %v", files)
		}
	})

	t.Run("failed step names it and still cleans up", func(t *testing.T) {
		const path = "/api/2.0/mlflow/model-versions/create"
		proxy := mlflowFaultProxy(t, srv.URL, func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path != path {
				return false
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = io.WriteString(w, `{"error_code": "INTERNAL_ERROR", "message": "injected by the test"}`)
			return true
		})
		_, err := MLflowRoundTrip(t.Context(), hc, proxy)
		if err == nil {
			t.Fatal("want an error")
		}
		t.Logf("error: %v", err)
		want := "mlflow-roundtrip: create model version: POST " + path + ": 500 Internal Server Error: INTERNAL_ERROR: injected by the test"
		if err.Error() != want {
			t.Errorf("error:\n got %q\nwant %q", err, want)
		}
		mlflowAssertNoLeftovers(t, srv.URL)
	})

	t.Run("cancelled context still cleans up", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		proxy := mlflowFaultProxy(t, srv.URL, func(w http.ResponseWriter, r *http.Request) bool {
			if r.URL.Path == "/api/2.0/mlflow/runs/log-metric" {
				cancel() // the caller gives up in the middle of the round trip
			}
			return false
		})
		_, err := MLflowRoundTrip(ctx, hc, proxy)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("want context.Canceled, got %v", err)
		}
		t.Logf("error: %v", err)
		if !strings.Contains(err.Error(), "log metric: POST /api/2.0/mlflow/runs/log-metric") {
			t.Errorf("error does not name the interrupted step: %v", err)
		}
		mlflowAssertNoLeftovers(t, srv.URL)
	})
}

func TestMLflowRoundTripUnreachable(t *testing.T) {
	base := "http://127.0.0.1:" + strconv.Itoa(nativetest.FreePort(t)) // closed again: nothing listens
	_, err := MLflowRoundTrip(t.Context(), nil, base)
	if err == nil {
		t.Fatal("want an error")
	}
	t.Logf("error: %v", err)
	for _, want := range []string{
		"mlflow-roundtrip: health: GET /health: MLflow server unreachable at " + base,
		"port-forward",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

// TestMLflowRoundTripReportsFailingStep uses fake servers on purpose: they test how errors are
// reported (step, method, path, status, trimmed body), which a healthy real MLflow cannot produce.
func TestMLflowRoundTripReportsFailingStep(t *testing.T) {
	long := strings.Repeat("x", 5000)
	cases := []struct {
		name    string
		handler http.HandlerFunc
		want    []string
	}{{
		name:    "not MLflow at all: 404",
		handler: func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) },
		want:    []string{"mlflow-roundtrip: health: GET /health: 404 Not Found: 404 page not found"},
	}, {
		name: "health OK, 500 elsewhere",
		handler: func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/health" {
				_, _ = io.WriteString(w, "OK")
				return
			}
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = io.WriteString(w, `{"error_code": "INTERNAL_ERROR", "message": "boom"}`)
		},
		want: []string{"mlflow-roundtrip: version: GET /version: 500 Internal Server Error: INTERNAL_ERROR: boom"},
	}, {
		name: "health and version OK, 500 elsewhere with a long body",
		handler: func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case "/health":
				_, _ = io.WriteString(w, "OK")
			case "/version":
				_, _ = io.WriteString(w, "3.17.2")
			default:
				http.Error(w, long, http.StatusInternalServerError)
			}
		},
		want: []string{"mlflow-roundtrip: create experiment: POST /api/2.0/mlflow/experiments/create: 500 Internal Server Error: xxx"},
	}, {
		name: "Host header refused",
		handler: func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case "/health":
				_, _ = io.WriteString(w, "OK")
			case "/version":
				_, _ = io.WriteString(w, "3.17.2")
			default:
				http.Error(w, "Invalid Host header - possible DNS rebinding attack detected", http.StatusForbidden)
			}
		},
		want: []string{
			"mlflow-roundtrip: create experiment: POST /api/2.0/mlflow/experiments/create: 403 Forbidden: Invalid Host header",
			"MLFLOW_SERVER_ALLOWED_HOSTS",
		},
	}, {
		name:    "health not OK",
		handler: func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "<html>dashboard</html>") },
		want:    []string{`mlflow-roundtrip: health: GET /health: answered "<html>dashboard</html>", want "OK"`},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			_, err := MLflowRoundTrip(t.Context(), srv.Client(), srv.URL)
			if err == nil {
				t.Fatal("want an error")
			}
			t.Logf("error: %v", err)
			for _, want := range tc.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
			if len(err.Error()) > 700 {
				t.Errorf("error not trimmed (%d bytes): %q", len(err.Error()), err)
			}
		})
	}
}

func TestMLflowRoundTripHonoursContext(t *testing.T) {
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		<-r.Context().Done() // hang until the client gives up
	}))
	defer srv.Close()

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := MLflowRoundTrip(ctx, nil, srv.URL); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: want context.Canceled, got %v", err)
	}
	if n := requests.Load(); n != 0 {
		t.Errorf("cancelled context: %d requests sent, want none", n)
	}

	ctx, cancel = context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := MLflowRoundTrip(ctx, nil, srv.URL)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "health: GET /health") {
		t.Errorf("deadline: want context.DeadlineExceeded at the health step, got %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("returned after %s, long after the 300ms deadline", d)
	}
}

func TestMLflowRoundTripBadURL(t *testing.T) {
	for _, u := range []string{"localhost:5000", "", "ftp://x"} {
		if _, err := MLflowRoundTrip(t.Context(), nil, u); err == nil || !strings.Contains(err.Error(), "invalid MLflow URL") {
			t.Errorf("%q: want an invalid URL error, got %v", u, err)
		}
	}
}

func TestMLflowProxiedPath(t *testing.T) {
	for in, want := range map[string]string{
		"mlflow-artifacts:/1/abc/artifacts":                                   "1/abc/artifacts",
		"mlflow-artifacts://host:5000/1/abc/artifacts":                        "1/abc/artifacts",
		"http://h:5000/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts":    "1/abc/artifacts",
		"https://h/prefix/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts": "1/abc/artifacts",
		"file:///tmp/mlruns/1/abc/artifacts":                                  "",
		"s3://bucket/1/abc/artifacts":                                         "",
		"mlflow-artifacts:/../etc":                                            "",
	} {
		got, err := mlflowProxiedPath(in)
		if got != want || (want == "") != (err != nil) {
			t.Errorf("mlflowProxiedPath(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}
