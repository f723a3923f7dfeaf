package check

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// The functional checks share one API client: a tool's error answer comes back as *APIError
// (status, the tool's own code and message) from every one of them, named by check, step,
// method and path.
func TestAPIErrorsFromEveryCheck(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/api/v2"), r.URL.Path == "/auth/token":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(`{"detail": "database is down"}`))
		case r.URL.Path == "/health":
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`"{\"class\": \"FeastError\", \"message\": \"no registry\"}"`))
		default:
			http.Error(w, "nope", http.StatusTeapot)
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		run  func() (string, error)
		code int
		want string
	}{
		{"airflow", func() (string, error) {
			return AirflowDAGRun{DAG: "d", Username: "admin", Password: "pw"}.Run(ctx, nil, srv.URL)
		}, 500, "airflow-dag-run: health: GET /api/v2/monitor/health: 500 Internal Server Error: database is down"},
		{"mlflow", func() (string, error) { return MLflowRoundTrip(ctx, nil, srv.URL) },
			503, `mlflow-roundtrip: health: GET /health: 503 Service Unavailable: "{\"class\": \"FeastError\", \"message\": \"no registry\"}"`},
		{"feast", func() (string, error) {
			return FeastOnlineFeatures{Features: []string{"v:a"}, Entities: map[string][]any{"id": {1}}, Expected: map[string][]any{"v:a": {1.0}}}.Run(ctx, nil, srv.URL)
		}, 503, "feast-online-features: health: GET /health: 503 Service Unavailable: FeastError: no registry (the feature server has not loaded its registry yet"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.run()
			var ae *APIError
			if !errors.As(err, &ae) || ae.Code != tc.code {
				t.Fatalf("err = %v, want an *APIError with code %d", err, tc.code)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v\nwant it to contain %q", err, tc.want)
			}
		})
	}
}

// The client's own behaviour: credentials out of the URL (for the checks that log in), the
// Bearer token once set, a JSON answer decoded, and one that is not said so.
func TestAPIClient(t *testing.T) {
	var auth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth = r.Header.Get("Authorization")
		if r.URL.Path == "/json" {
			_, _ = w.Write([]byte(`{"a": 1}`))
			return
		}
		_, _ = w.Write([]byte("<html>"))
	}))
	defer srv.Close()
	tool := apiTool{Check: "c", Name: "Tool", Server: "Tool server", Credentials: true, NotJSONHint: "a tool"}
	c, user, pass, err := newAPIClient(tool, nil, strings.Replace(srv.URL, "http://", "http://u:s3cret@", 1))
	if err != nil || user != "u" || pass != "s3cret" || strings.Contains(c.base, "s3cret") {
		t.Fatalf("newAPIClient = %+v, %q, %q, %v", c, user, pass, err)
	}
	c.Token = "tok"
	var out struct{ A int }
	if err := c.do(context.Background(), "read", http.MethodGet, "/json", "", nil, &out); err != nil || out.A != 1 || auth != "Bearer tok" {
		t.Fatalf("do = %v, out %+v, Authorization %q", err, out, auth)
	}
	err = c.do(context.Background(), "read", http.MethodGet, "/html", "", nil, &out)
	if err == nil || !strings.Contains(err.Error(), "c: read: GET /html: 200 OK: not the expected JSON") || !strings.Contains(err.Error(), "is "+srv.URL+" a tool?") {
		t.Fatalf("not JSON: %v", err)
	}
	if _, _, _, err := newAPIClient(tool, nil, "ftp://u:s3cret@host"); err == nil || err.Error() != `c: invalid Tool URL "ftp://u:xxxxx@host": want http(s)://[user:password@]host:port` {
		t.Fatalf("invalid URL: %v", err)
	}
}

// transient sorts the failures a polling loop may let pass (the server slow, gone for a moment, or
// behind a proxy that lost it) from those it must report at once.
func TestTransient(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/slow":
			time.Sleep(200 * time.Millisecond)
		case "/unavailable":
			w.WriteHeader(http.StatusServiceUnavailable)
		case "/missing":
			w.WriteHeader(http.StatusNotFound)
		case "/broken":
			w.WriteHeader(http.StatusInternalServerError)
		case "/notjson":
			_, _ = w.Write([]byte("<html>"))
		}
		_, _ = w.Write([]byte("{}"))
	}))
	defer srv.Close()
	c, _, _, err := newAPIClient(apiTool{Check: "t", Name: "T", Server: "T server"}, &http.Client{Timeout: 50 * time.Millisecond}, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for path, want := range map[string]bool{"/slow": true, "/unavailable": true, "/missing": false, "/broken": false, "/notjson": false} {
		var out map[string]any
		err := c.do(ctx, "get", http.MethodGet, path, "", nil, &out)
		if err == nil {
			t.Fatalf("%s: no error", path)
		}
		if got := transient(err); got != want {
			t.Errorf("%s: transient(%v) = %v, want %v", path, err, got, want)
		}
	}
	srv.Close()
	var out map[string]any
	if err := c.do(ctx, "get", http.MethodGet, "/", "", nil, &out); !transient(err) {
		t.Errorf("refused connection: transient(%v) = false", err)
	}

	var tol pollTolerance
	e := c.do(ctx, "get", http.MethodGet, "/", "", nil, &out)
	for i := range pollMisses {
		if !tol.retry(ctx, e) {
			t.Fatalf("miss %d not retried", i+1)
		}
	}
	if tol.retry(ctx, e) {
		t.Errorf("miss %d retried, want at most %d in a row", pollMisses+1, pollMisses)
	}
	tol.ok()
	if !tol.retry(ctx, e) {
		t.Error("not retried after an answer reset the count")
	}
	done, cancel := context.WithCancel(ctx)
	cancel()
	if tol.retry(done, e) {
		t.Error("retried after the context ended")
	}
}
