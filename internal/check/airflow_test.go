package check

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mlops-series/mlops-series/internal/nativetest"
)

// chapter5DAG is the example DAG the chapter ships (and the chart's values carry).
const chapter5DAG = "../../series/chapter-5-pipelines/examples/dags/ml_pipeline.py"

// airflowFailingDAG fails in its second task, after a first task that succeeds.
const airflowFailingDAG = `from datetime import datetime

from airflow.sdk import dag, task


@dag(dag_id="always_fails", schedule=None, start_date=datetime(2025, 1, 1), catchup=False)
def always_fails():
    @task
    def step_ok():
        return 1

    @task(retries=0)
    def fail_here(x):
        raise RuntimeError("deliberate failure for the airflow-dag-run test")

    fail_here(step_ok())


always_fails()
`

// airflowBrokenDAG does not import: the API lists it under /api/v2/importErrors.
const airflowBrokenDAG = `from airflow.sdk import dag
raise ImportError("deliberately broken DAG file")
`

// airflowClient is an API client logged in with the server's admin credentials.
func airflowClient(t *testing.T, srv *nativetest.AirflowServer) *apiClient {
	t.Helper()
	c, _, _, err := newAPIClient(airflowAPIServer, nil, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := c.do(t.Context(), "log in", http.MethodPost, "/auth/token", "",
		map[string]string{"username": srv.Username, "password": srv.Password}, &tok); err != nil {
		t.Fatal(err)
	}
	c.Token = tok.AccessToken
	return c
}

// airflowGetDAG reads a DAG's is_paused through the API, with the server's admin credentials.
func airflowGetDAG(t *testing.T, srv *nativetest.AirflowServer, dag string) bool {
	t.Helper()
	var d struct {
		IsPaused bool `json:"is_paused"`
	}
	if err := airflowClient(t, srv).do(t.Context(), "get DAG", http.MethodGet, "/api/v2/dags/"+dag, "", nil, &d); err != nil {
		t.Fatal(err)
	}
	return d.IsPaused
}

// TestAirflowDAGRun runs the check against a real Airflow (api-server, scheduler, dag-processor,
// triggerer from the venv "airflow"), started once for all subtests, whose DAGs folder holds the
// chapter's ml_pipeline.py, a DAG that fails and a file that does not import.
func TestAirflowDAGRun(t *testing.T) {
	dags := t.TempDir()
	src, err := os.ReadFile(chapter5DAG)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		"ml_pipeline.py":  src,
		"always_fails.py": []byte(airflowFailingDAG),
		"broken_dag.py":   []byte(airflowBrokenDAG),
	} {
		if err := os.WriteFile(filepath.Join(dags, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	srv := nativetest.Airflow(t, dags)
	hc := &http.Client{Timeout: 30 * time.Second}
	dumpLogs := func(t *testing.T) {
		if t.Failed() {
			t.Logf("airflow logs:\n%s", srv.Tails(40))
		}
	}

	t.Run("the chapter's DAG succeeds", func(t *testing.T) {
		defer dumpLogs(t)
		ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
		defer cancel()
		start := time.Now()
		summary, err := AirflowDAGRun{DAG: "ml_pipeline", Username: srv.Username, Password: srv.Password, Poll: time.Second}.
			Run(ctx, hc, srv.URL)
		if err != nil {
			t.Fatalf("AirflowDAGRun: %v", err)
		}
		t.Logf("DAG run checked in %s: %s", time.Since(start).Round(time.Millisecond), summary)
		want := regexp.MustCompile(`^Airflow 3\.\d+\.\d+ at http://127\.0\.0\.1:\d+: DAG ml_pipeline run mlops-series-check-\S+ success in \S+ \(3 tasks: prepare_data → train → evaluate\)$`)
		if !want.MatchString(summary) {
			t.Errorf("summary = %q, want it to match %s", summary, want)
		}
		// DAGs start paused; the check unpaused it for the run and paused it again.
		if !airflowGetDAG(t, srv, "ml_pipeline") {
			t.Error("ml_pipeline is left unpaused")
		}
	})

	t.Run("a failing DAG names the failed task and shows its log", func(t *testing.T) {
		defer dumpLogs(t)
		ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
		defer cancel()
		// Credentials from the URL, as `--endpoint airflow=http://admin:pw@host:port` gives them.
		_, err := AirflowDAGRun{DAG: "always_fails", Poll: time.Second}.Run(ctx, hc, srv.URLWithCredentials())
		if err == nil {
			t.Fatal("AirflowDAGRun passed on a DAG that fails")
		}
		msg := err.Error()
		t.Logf("error:\n%s", msg)
		for _, want := range []string{
			"airflow-dag-run: run mlops-series-check-",
			"of DAG always_fails failed after",
			"task fail_here failed (try 1)",
			"tasks: step_ok success, fail_here failed",
			"log of fail_here (try 1), last lines:",
			"RuntimeError: deliberate failure for the airflow-dag-run test",
		} {
			if !strings.Contains(msg, want) {
				t.Errorf("error lacks %q", want)
			}
		}
		if strings.Contains(msg, srv.Password) {
			t.Error("error shows the password")
		}
	})

	// The DAG processor's and triggerer's probes (charts/airflow files/job_alive.py, the query of
	// `airflow jobs check --local` without importing Airflow), taken from the rendered chart and run
	// with the venv's python against this Airflow's database, whose jobs heartbeat.
	t.Run("the chart's job probes", func(t *testing.T) {
		docs := renderWith(t, "airflow", "airflow", "airflow", "")
		python := nativetest.Tool(t, "airflow", "python")
		probe := func(t *testing.T, deployment string, env []string, extra ...string) (string, error) {
			t.Helper()
			d := renderedObj(t, docs, "Deployment", "airflow-"+deployment)
			var argv []string
			for _, a := range yamlField(d, "spec", "template", "spec", "containers", 0, "livenessProbe", "exec", "command").([]any) {
				argv = append(argv, a.(string))
			}
			if len(argv) != 4 || argv[0] != "python" || argv[1] != "-c" {
				t.Fatalf("%s: liveness probe %q, want python -c SCRIPT JOB_TYPE", deployment, argv)
			}
			cmd := exec.Command(python, append(argv[1:], extra...)...)
			cmd.Env = append([]string{"PATH=" + filepath.Dir(python) + ":/usr/bin:/bin",
				"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=sqlite:///" + filepath.Join(srv.Home, "airflow.db")}, env...)
			start := time.Now()
			out, err := cmd.CombinedOutput()
			t.Logf("%s probe: %s, %s CPU (exit %v): %s", deployment, time.Since(start).Round(time.Millisecond),
				(cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Round(time.Millisecond), err, strings.TrimSpace(string(out)))
			return string(out), err
		}
		// Natively no hostname callable is set: Airflow's default, getfqdn.
		for _, d := range []string{"dag-processor", "triggerer"} {
			if out, err := probe(t, d, nil); err != nil || !strings.Contains(out, "alive, last heartbeat") {
				t.Errorf("%s: the probe fails on a heartbeating job: %v: %s", d, err, out)
			}
		}
		// The chart's callable gives the host's address, which is not these jobs' hostname.
		out, err := probe(t, "triggerer", []string{"AIRFLOW__CORE__HOSTNAME_CALLABLE=airflow.utils.net.get_host_ip_address"})
		if err == nil || !strings.Contains(out, "No running TriggererJob of host ") {
			t.Errorf("the probe passes for a job of another host: %v: %s", err, out)
		}
		// A heartbeat older than the threshold (here 1 ms) fails it.
		out, err = probe(t, "dag-processor", nil, "0.001")
		if err == nil || !strings.Contains(out, "(threshold 0 s)") {
			t.Errorf("the probe passes on a heartbeat older than its threshold: %v: %s", err, out)
		}
	})

	// nativetest.Airflow parses a DAG file again only when it changed (min_file_process_interval
	// 600 s): a file written after the first parse must still be parsed again within seconds.
	t.Run("a changed DAG file is parsed again", func(t *testing.T) {
		defer dumpLogs(t)
		if err := os.WriteFile(filepath.Join(dags, "always_fails.py"),
			[]byte(airflowFailingDAG+"\n\n@dag(dag_id=\"added_later\", schedule=None)\ndef added_later():\n    pass\n\n\nadded_later()\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		c := airflowClient(t, srv)
		start := time.Now()
		for {
			err := c.do(t.Context(), "get DAG", http.MethodGet, "/api/v2/dags/added_later", "", nil, nil)
			if err == nil {
				break
			}
			if time.Since(start) > time.Minute {
				t.Fatalf("the changed file was not parsed again within a minute: %v", err)
			}
			time.Sleep(500 * time.Millisecond)
		}
		t.Logf("added_later known %s after the file changed", time.Since(start).Round(time.Millisecond))
	})

	t.Run("wrong password", func(t *testing.T) {
		_, err := AirflowDAGRun{DAG: "ml_pipeline", Username: "admin", Password: "not-the-password"}.Run(t.Context(), hc, srv.URL)
		want := `airflow-dag-run: log in: POST /auth/token: 401 Unauthorized: Invalid credentials (wrong username or password for user "admin")`
		if err == nil || err.Error() != want {
			t.Fatalf("err = %v, want %s", err, want)
		}
	})

	t.Run("an unknown DAG lists the import errors", func(t *testing.T) {
		_, err := AirflowDAGRun{DAG: "no_such_dag", Username: srv.Username, Password: srv.Password,
			Poll: 200 * time.Millisecond, WaitForDAG: time.Second}.Run(t.Context(), hc, srv.URL)
		if err == nil {
			t.Fatal("AirflowDAGRun passed on a DAG that does not exist")
		}
		msg := err.Error()
		t.Logf("error:\n%s", msg)
		for _, want := range []string{
			"airflow-dag-run: get DAG: GET /api/v2/dags/no_such_dag: 404 Not Found",
			"waited 1s for the DAG processor to parse it",
			"broken_dag.py",
			"deliberately broken DAG file",
		} {
			if !strings.Contains(msg, want) {
				t.Errorf("error lacks %q", want)
			}
		}
	})
}

func TestAirflowDAGRunUnreachable(t *testing.T) {
	// A port nothing listens on: bind one, then close it.
	l := httptest.NewServer(http.NotFoundHandler())
	base := l.URL
	l.Close()
	_, err := AirflowDAGRun{DAG: "ml_pipeline", Username: "admin", Password: "pw"}.Run(t.Context(), nil, base)
	if err == nil {
		t.Fatal("no error for an unreachable server")
	}
	want := "airflow-dag-run: health: GET /api/v2/monitor/health: Airflow API server unreachable at " + base +
		" (check the endpoint and that the port-forward is running): "
	if !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("err = %v\nwant prefix %s… connection refused", err, want)
	}
}

func TestAirflowDAGRunInputs(t *testing.T) {
	for _, tc := range []struct {
		name, url string
		run       AirflowDAGRun
		want      string
	}{
		{"no DAG", "http://127.0.0.1:1", AirflowDAGRun{Username: "a", Password: "b"},
			"airflow-dag-run: no DAG given (params.dag in the chapter spec)"},
		{"no credentials", "http://127.0.0.1:1", AirflowDAGRun{DAG: "d"},
			"airflow-dag-run: no credentials for http://127.0.0.1:1: give a username and a password (or http://USER:PASSWORD@host:port as the endpoint)"},
		{"bad URL hides the password", "ftp://admin:secret@host", AirflowDAGRun{DAG: "d"},
			`airflow-dag-run: invalid Airflow URL "ftp://admin:xxxxx@host": want http(s)://[user:password@]host:port`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.run.Run(t.Context(), nil, tc.url)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("err = %v\nwant %s", err, tc.want)
			}
		})
	}
}

// airflowFake answers like an Airflow API server whose scheduler never starts the run.
func airflowFake(t *testing.T, health string, login *atomic.Value, patches *atomic.Int32) *httptest.Server {
	t.Helper()
	paused := true
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/api/v2/monitor/health":
			_, _ = w.Write([]byte(health))
		case r.URL.Path == "/auth/token":
			var in map[string]string
			_ = json.NewDecoder(r.Body).Decode(&in)
			login.Store(in["username"] + ":" + in["password"])
			w.WriteHeader(http.StatusCreated)
			_, _ = w.Write([]byte(`{"access_token":"tok"}`))
		case r.Header.Get("Authorization") != "Bearer tok":
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"detail":"Not authenticated"}`))
		case r.URL.Path == "/api/v2/version":
			_, _ = w.Write([]byte(`{"version":"3.3.2"}`))
		case r.URL.Path == "/api/v2/dags/d" && r.Method == http.MethodGet:
			_ = json.NewEncoder(w).Encode(map[string]any{"dag_id": "d", "is_paused": paused})
		case r.URL.Path == "/api/v2/dags/d" && r.Method == http.MethodPatch:
			patches.Add(1)
			var in map[string]bool
			_ = json.NewDecoder(r.Body).Decode(&in)
			paused = in["is_paused"]
			_ = json.NewEncoder(w).Encode(map[string]any{"dag_id": "d", "is_paused": paused})
		case r.URL.Path == "/api/v2/dags/d/dagRuns" && r.Method == http.MethodPost:
			var in map[string]any
			_ = json.NewDecoder(r.Body).Decode(&in)
			if _, ok := in["logical_date"]; !ok {
				w.WriteHeader(http.StatusUnprocessableEntity)
				return
			}
			_ = json.NewEncoder(w).Encode(map[string]any{"dag_run_id": in["dag_run_id"], "state": "queued"})
		case strings.HasSuffix(r.URL.Path, "/taskInstances"):
			_, _ = w.Write([]byte(`{"task_instances":[{"task_id":"t1","state":null,"try_number":0}],"total_entries":1}`))
		case strings.HasPrefix(r.URL.Path, "/api/v2/dags/d/dagRuns/"):
			_, _ = w.Write([]byte(`{"dag_run_id":"x","state":"queued"}`))
		default:
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"detail":"not found"}`))
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

const airflowHealthy = `{"metadatabase":{"status":"healthy"},"scheduler":{"status":"healthy"},"triggerer":{"status":"healthy"},"dag_processor":{"status":"healthy"}}`

// A run that never leaves "queued" times out with its state and the tasks' states, and the DAG
// the check unpaused is paused again.
func TestAirflowDAGRunStuckRun(t *testing.T) {
	var login atomic.Value
	var patches atomic.Int32
	srv := airflowFake(t, airflowHealthy, &login, &patches)
	u := strings.Replace(srv.URL, "http://", "http://admin:p%40ss@", 1)
	// Room for the fake's first answers (health, login, unpause, trigger, one look) on a loaded CI
	// machine before the check gives up.
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	_, err := AirflowDAGRun{DAG: "d", Poll: 50 * time.Millisecond}.Run(ctx, nil, u)
	if err == nil {
		t.Fatal("no error for a run that stays queued")
	}
	if got := login.Load(); got != "admin:p@ss" {
		t.Errorf("login with %v, want the URL's userinfo admin:p@ss", got)
	}
	for _, want := range []string{
		"airflow-dag-run: wait for run: run mlops-series-check-",
		"of DAG d still queued when the check gave up (context deadline exceeded)",
		"a queued run waits for the scheduler",
		"tasks: t1 none",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if n := patches.Load(); n != 2 {
		t.Errorf("PATCH requests = %d, want 2 (unpause, pause again)", n)
	}
}

// An unhealthy scheduler fails the check before it logs in.
func TestAirflowDAGRunUnhealthyScheduler(t *testing.T) {
	var login atomic.Value
	var patches atomic.Int32
	health := `{"metadatabase":{"status":"healthy"},"scheduler":{"status":"unhealthy","latest_scheduler_heartbeat":null},"triggerer":{"status":null},"dag_processor":{"status":"healthy"}}`
	srv := airflowFake(t, health, &login, &patches)
	_, err := AirflowDAGRun{DAG: "d", Username: "a", Password: "b"}.Run(t.Context(), nil, srv.URL)
	want := "airflow-dag-run: health: GET /api/v2/monitor/health: scheduler is unhealthy, so no DAG run could start (check that pod's events and logs)"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant %s", err, want)
	}
	if login.Load() != nil {
		t.Error("logged in despite the unhealthy scheduler")
	}
}

// A task's log from Airflow 3's API: structured records; an exception's message is cut to its
// first line (the KubernetesPodOperator's carries the whole pod after it).
func TestAirflowLogLinesOf(t *testing.T) {
	content := json.RawMessage(`[
		{"event": "::group::Log message source details"}, {"event": "read from /opt/airflow/logs"}, {"event": "::endgroup::"},
		{"event": "Pod phase: Pending", "level": "info"},
		{"event": "Task failed with exception", "level": "error", "error_detail": [
			{"exc_type": "AirflowException", "exc_value": "Pod iris-training-x returned a failure.\nremote_pod: {'api_version': None,\n 'kind': None}"},
			{"exc_type": "PodLaunchTimeoutException", "exc_value": "Pod took too long to be scheduled"}]}
	]`)
	got := strings.Join(airflowLogLinesOf(content), "\n")
	want := "[info] Pod phase: Pending\n[error] Task failed with exception\n" +
		"    AirflowException: Pod iris-training-x returned a failure. (… 2 more lines)\n" +
		"    PodLaunchTimeoutException: Pod took too long to be scheduled"
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	if got := airflowLogLinesOf(json.RawMessage(`"a\nb\n"`)); strings.Join(got, "|") != "a|b" {
		t.Errorf("string content: %q", got)
	}
}
