package nativetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Airflow start-up limits, generous for a loaded 2-core machine (a quiet one needs about 4 s for
// the migration and 20 s until all four components report healthy).
const (
	airflowMigrateTimeout = 5 * time.Minute
	airflowHealthyTimeout = 4 * time.Minute
)

// AirflowUser is the simple auth manager user that Airflow starts with (as in the chart: one admin).
const AirflowUser = "admin"

// AirflowServer is a native Airflow: the API server (the embedded *Server, whose URL carries no
// credentials) plus the scheduler, the DAG processor and the triggerer, all from the venv "airflow".
type AirflowServer struct {
	*Server
	// Username and Password log in to the simple auth manager (POST /auth/token).
	Username, Password string
	// Home is AIRFLOW_HOME (config, SQLite database, passwords file, task logs).
	Home string
	// DagsFolder is the folder the DAG processor parses.
	DagsFolder string
	// Components are the other three processes, in start order.
	Components []*Server
}

// URLWithCredentials is URL with the admin's credentials as userinfo (http://admin:pw@127.0.0.1:port),
// the form `--endpoint airflow=...` takes.
func (a *AirflowServer) URLWithCredentials() string {
	u, err := url.Parse(a.URL)
	if err != nil {
		return a.URL
	}
	u.User = url.UserPassword(a.Username, a.Password)
	return u.String()
}

// Tails returns the last n log lines of every component, for failure messages.
func (a *AirflowServer) Tails(n int) string {
	var b strings.Builder
	for _, s := range append([]*Server{a.Server}, a.Components...) {
		fmt.Fprintf(&b, "--- %s (%s):\n%s\n", s.Name, s.Log, s.Tail(n))
	}
	return b.String()
}

// Airflow starts Apache Airflow 3 the way charts/airflow runs it, as four local processes:
// `airflow db migrate` first, then the API server, the scheduler (LocalExecutor, with its task-log
// server and health endpoint), the DAG processor and the triggerer (without a log server), all
// sharing one JWT secret and one API secret key, with the execution API URL pointing at the API
// server so that tasks authenticate, and the simple auth manager with user "admin" whose password
// is random and kept in a JSON passwords file. The database is SQLite in a temp AIRFLOW_HOME
// (Airflow 3's LocalExecutor works with SQLite; `airflow standalone` uses the same); dagsDir is the
// DAGs folder, re-scanned every 5 s. Every port is a free one on 127.0.0.1.
//
// It returns once GET /api/v2/monitor/health reports the metadatabase, scheduler, DAG processor
// and triggerer healthy. Everything is stopped in t.Cleanup. Without the venv it skips the test,
// or fails it when CI=true.
func Airflow(t testing.TB, dagsDir string) *AirflowServer {
	t.Helper()
	return AirflowWithPassword(t, dagsDir, "")
}

// AirflowWithPassword is Airflow with a given admin password (empty: a random one), e.g. the one a
// test put into the chart's auth.password, so that a check reading the Secret logs in here too.
func AirflowWithPassword(t testing.TB, dagsDir, password string) *AirflowServer {
	t.Helper()
	bin := Tool(t, "airflow", "airflow")
	dags, err := filepath.Abs(dagsDir)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(dags); err != nil || !st.IsDir() {
		t.Fatalf("airflow: DAGs folder %s: not a folder (%v)", dags, err)
	}
	home := t.TempDir()
	if password == "" {
		password = randomHex(t, 12)
	}
	passwords := filepath.Join(home, "passwords.json")
	pw, _ := json.Marshal(map[string]string{AirflowUser: password})
	if err := os.WriteFile(passwords, append(pw, '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	apiPort, logPort, healthPort := FreePort(t), FreePort(t), FreePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", apiPort)

	env := []string{
		"AIRFLOW_HOME=" + home,
		// Keep the test's Airflow away from any airflow.cfg or AIRFLOW__* of the machine.
		"AIRFLOW_CONFIG=" + filepath.Join(home, "airflow.cfg"),
		"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=sqlite:///" + filepath.Join(home, "airflow.db"),
		"AIRFLOW__CORE__EXECUTOR=LocalExecutor",
		"AIRFLOW__CORE__PARALLELISM=2",
		"AIRFLOW__CORE__LOAD_EXAMPLES=False",
		"AIRFLOW__CORE__DAGS_FOLDER=" + dags,
		"AIRFLOW__CORE__AUTH_MANAGER=airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
		"AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS=" + AirflowUser + ":admin",
		"AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=" + passwords,
		// Tasks call back into the API server's execution API with a JWT that it must verify.
		"AIRFLOW__CORE__EXECUTION_API_SERVER_URL=" + base + "/execution/",
		// A task's supervisor calls the API server before the task logs anything; with the default
		// 5 s, a loaded machine (the suites beside the kind layer) timed that call out
		// (httpx.ReadTimeout in the scheduler's log) and prepare_data failed with an empty log.
		"AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT=60",
		"AIRFLOW__API_AUTH__JWT_SECRET=" + randomHex(t, 32),
		// Signs the API server's requests for task logs to the scheduler's log server.
		"AIRFLOW__API__SECRET_KEY=" + randomHex(t, 32),
		"AIRFLOW__API__HOST=127.0.0.1",
		"AIRFLOW__API__PORT=" + strconv.Itoa(apiPort),
		"AIRFLOW__API__WORKERS=1",
		"AIRFLOW__API__BASE_URL=" + base,
		"AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=" + strconv.Itoa(logPort),
		"AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK=True",
		"AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_HOST=127.0.0.1",
		"AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT=" + strconv.Itoa(healthPort),
		// New and changed DAG files are picked up within seconds (the default is 5 minutes).
		"AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL=5",
		// A file is parsed again only when it changed (Airflow re-queues a file whose mtime is newer
		// than its last parse whatever this interval, file_parsing_sort_mode modified_time): parsing
		// the unchanged chapter-5 DAG every 5 s cost the DAG processor 0.09 CPU while idle.
		"AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL=600",
		"AIRFLOW__METRICS__STATSD_ON=False",
		"HOME=" + home,
		"NO_COLOR=1",
		"DO_NOT_TRACK=true",
		"SCARF_ANALYTICS=false",
	}
	env = append(cleanAirflowEnv(), env...)

	start := time.Now()
	migrate(t, bin, home, env)
	migrated := time.Since(start)

	api := Start(t, "airflow-api-server", home, base+"/api/v2/monitor/health", env,
		bin, "api-server", "--host", "127.0.0.1", "--port", strconv.Itoa(apiPort))
	api.URL, api.Port = base, apiPort
	a := &AirflowServer{Server: api, Username: AirflowUser, Password: password, Home: home, DagsFolder: dags}
	a.Components = []*Server{
		background(t, "airflow-scheduler", home, env, bin, "scheduler"),
		background(t, "airflow-dag-processor", home, env, bin, "dag-processor"),
		// As in the chart: the example DAGs defer nothing, so the triggerer needs no log server.
		background(t, "airflow-triggerer", home, env, bin, "triggerer", "--skip-serve-logs"),
	}
	a.waitHealthy(t)
	// A failed test shows what Airflow's processes said (the scheduler's lines include the task
	// supervisor's, which a task that fails before logging leaves nowhere else): run before the
	// processes are stopped, while the logs are still there.
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the test failed; Airflow's logs, last lines:\n%s", a.Tails(60))
		}
	})
	t.Logf("airflow ready in %s (db migrate %s) at %s, DAGs from %s",
		time.Since(start).Round(time.Millisecond), migrated.Round(time.Millisecond), base, dags)
	return a
}

// cleanAirflowEnv is the test process's environment without Airflow settings of its own.
func cleanAirflowEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "AIRFLOW") {
			continue
		}
		out = append(out, kv)
	}
	return out
}

func migrate(t testing.TB, bin, home string, env []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), airflowMigrateTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "db", "migrate")
	cmd.Dir, cmd.Env = home, env
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("airflow db migrate: %v:\n%s", err, tailLines(string(out), 30))
	}
}

// background starts a long-running process like Start does (own process group, log file, stopped
// in t.Cleanup) without waiting for a health URL.
func background(t testing.TB, name, dir string, env []string, argv ...string) *Server {
	t.Helper()
	logPath := filepath.Join(dir, name+".log")
	lf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = lf.Close() }()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir, cmd.Env = dir, env
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	s := &Server{Name: name, cmd: cmd, Log: logPath, Dir: dir, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(s.done) }()
	t.Cleanup(s.Stop)
	return s
}

// waitHealthy polls GET /api/v2/monitor/health until every component is healthy.
func (a *AirflowServer) waitHealthy(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), airflowHealthyTimeout)
	defer cancel()
	last := "no answer"
	for {
		for _, c := range a.Components {
			select {
			case <-c.done:
				t.Fatalf("%s exited before Airflow was healthy:\n%s", c.Name, a.Tails(30))
			default:
			}
		}
		if ok, state := airflowHealth(ctx, a.URL); ok {
			return
		} else if state != "" {
			last = state
		}
		select {
		case <-ctx.Done():
			t.Fatalf("airflow not healthy after %s (last health: %s):\n%s", airflowHealthyTimeout, last, a.Tails(30))
		case <-time.After(time.Second):
		}
	}
}

// airflowHealth reads the health endpoint: true when all four components are healthy, and the
// component states seen.
func airflowHealth(ctx context.Context, base string) (bool, string) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v2/monitor/health", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false, ""
	}
	defer func() { _ = resp.Body.Close() }()
	var h map[string]struct {
		Status *string `json:"status"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&h) != nil {
		return false, resp.Status
	}
	ok := true
	var parts []string
	for _, c := range []string{"metadatabase", "scheduler", "dag_processor", "triggerer"} {
		st := "missing"
		if v, found := h[c]; found && v.Status != nil {
			st = *v.Status
		}
		ok = ok && st == "healthy"
		parts = append(parts, c+"="+st)
	}
	return ok, strings.Join(parts, " ")
}

func randomHex(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
