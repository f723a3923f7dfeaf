package check

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

const (
	airflowAPI = "/api/v2"

	// airflowRunPrefix starts the dag_run_id of every run AirflowDAGRun triggers, so that the check's
	// runs stand out in the UI's run list.
	airflowRunPrefix = "mlops-series-check-"

	airflowDefaultPoll    = 2 * time.Second
	airflowDefaultDAGWait = 2 * time.Minute
	airflowCleanupLimit   = 20 * time.Second
	// airflowLogLines is how much of a failed task's log the error shows.
	airflowLogLines = 15
)

// AirflowDAGRun triggers one run of a DAG through Airflow 3's REST API (v2) and waits for its end.
//
// It reads GET /api/v2/monitor/health (and fails at once when the scheduler or the DAG processor is
// unhealthy: the run could never start), logs in to the auth manager (POST /auth/token, the simple
// auth manager's and any other's JSON login) for a Bearer token, reads the Airflow version and the
// DAG (waiting up to WaitForDAG for a DAG the DAG processor has not parsed yet, and reporting the
// import errors if it never appears), unpauses the DAG if it is paused (DAGs start paused) and
// triggers a run with its own run id, then polls the run until it is success or failed. A failed run
// is reported with the state of every task instance and the log tail of each failed task.
// Afterwards a DAG that was paused is paused again (also after a failure or a cancelled ctx).
//
// Credentials come from Username and Password, or, when those are empty, from the userinfo of
// baseURL (http://admin:pw@127.0.0.1:8080). A nil hc means a client with a 30 s timeout.
type AirflowDAGRun struct {
	// DAG is the dag_id to run.
	DAG string
	// Username and Password log in to Airflow's auth manager.
	Username, Password string
	// Poll is the interval between two reads of the run's state (default 2 s).
	Poll time.Duration
	// WaitForDAG bounds the wait for a DAG that the API does not know yet (default 2 minutes; the DAG
	// processor picks up new files every [dag_processor] refresh_interval).
	WaitForDAG time.Duration
}

// Run runs the check against the API server at baseURL and returns a one-line summary.
func (a AirflowDAGRun) Run(ctx context.Context, hc *http.Client, baseURL string) (string, error) {
	summary, _, err := a.RunWithID(ctx, hc, baseURL)
	return summary, err
}

// RunWithID is Run that also returns the dag_run_id of the run it triggered ("" when it triggered
// none), which other tools record (`check path` finds the model version the run registered by it).
func (a AirflowDAGRun) RunWithID(ctx context.Context, hc *http.Client, baseURL string) (summary, runID string, err error) {
	if a.DAG == "" {
		return "", "", errors.New("airflow-dag-run: no DAG given (params.dag in the chapter spec)")
	}
	c, user, pass, err := newAPIClient(airflowAPIServer, hc, baseURL)
	if err != nil {
		return "", "", err
	}
	if a.Username != "" || a.Password != "" {
		user, pass = a.Username, a.Password
	}
	if user == "" || pass == "" {
		return "", "", fmt.Errorf("airflow-dag-run: no credentials for %s: give a username and a password (or http://USER:PASSWORD@host:port as the endpoint)", c.redacted)
	}
	r := &airflowRun{c: c, dag: a.DAG, poll: a.Poll, dagWait: a.WaitForDAG}
	if r.poll <= 0 {
		r.poll = airflowDefaultPoll
	}
	if r.dagWait <= 0 {
		r.dagWait = airflowDefaultDAGWait
	}
	defer func() {
		if cerr := r.cleanup(ctx); cerr != nil {
			err = errors.Join(err, cerr)
			if summary != "" {
				summary += " (re-pausing the DAG failed)"
			}
		}
	}()
	summary, err = r.run(ctx, user, pass)
	return summary, r.runID, err
}

// airflowAPIServer is Airflow's API server, as the API client names it and reads its errors.
var airflowAPIServer = apiTool{
	Check: "airflow-dag-run", Name: "Airflow", Server: "Airflow API server", Credentials: true,
	NotJSONHint: "an Airflow 3 API server",
	ErrorBody: func(_ int, body []byte) (string, string) {
		// FastAPI's {"detail": "..."} (or a structured detail).
		var fe struct {
			Detail json.RawMessage `json:"detail"`
		}
		if json.Unmarshal(body, &fe) != nil || len(fe.Detail) == 0 {
			return "", ""
		}
		var s string
		if json.Unmarshal(fe.Detail, &s) == nil {
			return "", trimBody([]byte(s))
		}
		return "", trimBody(fe.Detail)
	},
}

// airflowRun is one execution of the check.
type airflowRun struct {
	c       *apiClient
	dag     string
	poll    time.Duration
	dagWait time.Duration

	unpaused bool   // the check unpaused the DAG: pause it again afterwards
	runID    string // the run it triggered
}

func (r *airflowRun) dagPath() (string, string) {
	return airflowAPI + "/dags/" + r.dag, airflowAPI + "/dags/" + url.PathEscape(r.dag)
}

func (r *airflowRun) run(ctx context.Context, user, pass string) (string, error) {
	c := r.c

	// 1. Health, without credentials: tells an unreachable or foreign server from a login problem.
	var health map[string]struct {
		Status *string `json:"status"`
	}
	if err := c.do(ctx, "health", http.MethodGet, airflowAPI+"/monitor/health", "", nil, &health); err != nil {
		return "", err
	}
	if _, ok := health["metadatabase"]; !ok {
		return "", fmt.Errorf("airflow-dag-run: health: GET %s/monitor/health: no metadatabase status in the answer (is %s an Airflow 3 API server?)",
			airflowAPI, c.redacted)
	}
	for _, comp := range []string{"metadatabase", "scheduler", "dag_processor"} {
		st := "unknown"
		if h, ok := health[comp]; ok && h.Status != nil {
			st = *h.Status
		}
		if st != "healthy" {
			return "", fmt.Errorf("airflow-dag-run: health: GET %s/monitor/health: %s is %s, so no DAG run could start "+
				"(check that pod's events and logs)", airflowAPI, strings.ReplaceAll(comp, "_", "-"), st)
		}
	}

	// 2. Log in.
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := c.do(ctx, "log in", http.MethodPost, "/auth/token", "",
		map[string]string{"username": user, "password": pass}, &tok); err != nil {
		if code := apiStatus(err); code == http.StatusUnauthorized || code == http.StatusForbidden {
			return "", fmt.Errorf("%w (wrong username or password for user %q)", err, user)
		}
		return "", err
	}
	if tok.AccessToken == "" {
		return "", fmt.Errorf("airflow-dag-run: log in: POST /auth/token: no access_token in the answer")
	}
	c.Token = tok.AccessToken

	var ver struct {
		Version string `json:"version"`
	}
	if err := c.do(ctx, "version", http.MethodGet, airflowAPI+"/version", "", nil, &ver); err != nil {
		return "", err
	}

	// 3. The DAG, once the DAG processor has parsed it.
	paused, err := r.getDAG(ctx)
	if err != nil {
		return "", err
	}

	// 4. Unpause (a paused DAG's runs stay queued forever).
	if paused {
		p, raw := r.dagPath()
		var d struct {
			IsPaused bool `json:"is_paused"`
		}
		err := c.do(ctx, "unpause DAG", http.MethodPatch, p+"?update_mask=is_paused", raw+"?update_mask=is_paused",
			map[string]bool{"is_paused": false}, &d)
		if err != nil {
			return "", err
		}
		r.unpaused = true
		if d.IsPaused {
			return "", fmt.Errorf("airflow-dag-run: unpause DAG: PATCH %s: the DAG is still paused", p)
		}
	}

	// 5. Trigger. logical_date must be present (null: a run "now", not tied to a data interval).
	runID := airflowRunID()
	p, raw := r.dagPath()
	var created airflowDAGRun
	if err := c.do(ctx, "trigger run", http.MethodPost, p+"/dagRuns", raw+"/dagRuns", map[string]any{
		"dag_run_id":   runID,
		"logical_date": nil,
		"conf":         map[string]any{},
		"note":         "smoke check by mlops-series",
	}, &created); err != nil {
		return "", err
	}
	if created.DAGRunID != "" {
		runID = created.DAGRunID
	}
	r.runID = runID
	start := time.Now()

	// 6. Wait for the end of the run.
	run, err := r.wait(ctx, runID)
	if err != nil {
		return "", err
	}
	took := time.Since(start).Round(100 * time.Millisecond)
	tis, tiErr := r.taskInstances(ctx, runID)
	if run.State != "success" {
		return "", r.failure(ctx, runID, run.State, took, tis, tiErr)
	}
	if tiErr != nil {
		return "", tiErr
	}
	var names []string
	for _, ti := range tis {
		if ti.stateValue != "success" && ti.stateValue != "skipped" {
			return "", fmt.Errorf("airflow-dag-run: run %s of DAG %s is success but task %s is %s", runID, r.dag, ti.TaskID, ti.stateOrNone())
		}
		names = append(names, ti.TaskID)
	}
	return fmt.Sprintf("Airflow %s at %s: DAG %s run %s success in %s (%d tasks: %s)",
		ver.Version, c.redacted, r.dag, runID, took, len(tis), strings.Join(names, " → ")), nil
}

// getDAG reads the DAG, waiting (up to dagWait) while the API does not know it yet.
func (r *airflowRun) getDAG(ctx context.Context) (paused bool, err error) {
	p, raw := r.dagPath()
	deadline := time.Now().Add(r.dagWait)
	var tol pollTolerance
	for {
		var d struct {
			DAGID    string `json:"dag_id"`
			IsPaused bool   `json:"is_paused"`
			IsStale  bool   `json:"is_stale"`
		}
		err := r.c.do(ctx, "get DAG", http.MethodGet, p, raw, nil, &d)
		if err == nil {
			if d.IsStale {
				return false, fmt.Errorf("airflow-dag-run: get DAG: GET %s: DAG %s is stale: its file is gone from the DAGs folder", p, r.dag)
			}
			return d.IsPaused, nil
		}
		if apiStatus(err) == http.StatusNotFound {
			tol.ok()
		} else if !tol.retry(ctx, err) {
			return false, err
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false, fmt.Errorf("%w; waited %s for the DAG processor to parse it%s", err,
				r.dagWait.Round(time.Second), r.importErrors(ctx))
		}
		select {
		case <-ctx.Done():
		case <-time.After(r.poll):
		}
	}
}

// importErrors lists the DAG files that failed to import, as part of an error message.
func (r *airflowRun) importErrors(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), airflowCleanupLimit)
	defer cancel()
	var ie struct {
		ImportErrors []struct {
			Filename   string `json:"filename"`
			StackTrace string `json:"stack_trace"`
		} `json:"import_errors"`
		TotalEntries int `json:"total_entries"`
	}
	if err := r.c.do(ctx, "import errors", http.MethodGet, airflowAPI+"/importErrors?limit=5", "", nil, &ie); err != nil {
		return "; import errors unknown: " + err.Error()
	}
	if ie.TotalEntries == 0 {
		return " (no DAG file has import errors: is the DAG id right, and is its file in the DAGs folder?)"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "; %d DAG file(s) fail to import:", ie.TotalEntries)
	for _, e := range ie.ImportErrors {
		trace := strings.Split(strings.TrimSpace(e.StackTrace), "\n")
		fmt.Fprintf(&b, "\n  %s: %s", e.Filename, trimBody([]byte(trace[len(trace)-1])))
	}
	return b.String()
}

type airflowDAGRun struct {
	DAGRunID string `json:"dag_run_id"`
	State    string `json:"state"`
}

// wait polls the run until it is success or failed.
func (r *airflowRun) wait(ctx context.Context, runID string) (airflowDAGRun, error) {
	p, raw := r.dagPath()
	p, raw = p+"/dagRuns/"+runID, raw+"/dagRuns/"+url.PathEscape(runID)
	var run airflowDAGRun
	var tol pollTolerance
	for {
		err := r.c.do(ctx, "wait for run", http.MethodGet, p, raw, nil, &run)
		switch {
		case err == nil:
			tol.ok()
		case tol.retry(ctx, err):
			select {
			case <-ctx.Done():
			case <-time.After(r.poll):
			}
			continue
		case ctx.Err() == nil:
			return run, err
		}
		if err == nil && (run.State == "success" || run.State == "failed") {
			return run, nil
		}
		if ctx.Err() != nil {
			state := run.State
			if state == "" {
				state = "unknown"
			}
			tis, tiErr := r.taskInstances(ctx, runID)
			hint := ""
			if state == "queued" {
				hint = " (a queued run waits for the scheduler: is it running, and is the DAG unpaused?)"
			}
			return run, fmt.Errorf("airflow-dag-run: wait for run: run %s of DAG %s still %s when the check gave up (%v)%s; tasks: %s",
				runID, r.dag, state, context.Cause(ctx), hint, airflowTaskStates(tis, tiErr))
		}
		select {
		case <-ctx.Done():
		case <-time.After(r.poll):
		}
	}
}

type airflowTI struct {
	TaskID     string     `json:"task_id"`
	State      *string    `json:"state"`
	TryNumber  int        `json:"try_number"`
	StartDate  *time.Time `json:"start_date"`
	MapIndex   int        `json:"map_index"`
	stateValue string
}

func (t airflowTI) stateOrNone() string {
	if t.stateValue == "" {
		return "none"
	}
	return t.stateValue
}

// taskInstances lists the run's task instances in the order they started (not started ones last).
// It works on a context of its own so that it still answers after the check's ctx ran out.
func (r *airflowRun) taskInstances(ctx context.Context, runID string) ([]airflowTI, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), airflowCleanupLimit)
	defer cancel()
	p, raw := r.dagPath()
	p, raw = p+"/dagRuns/"+runID+"/taskInstances", raw+"/dagRuns/"+url.PathEscape(runID)+"/taskInstances"
	var out struct {
		TaskInstances []airflowTI `json:"task_instances"`
	}
	if err := r.c.do(ctx, "list task instances", http.MethodGet, p, raw, nil, &out); err != nil {
		return nil, err
	}
	tis := out.TaskInstances
	for i := range tis {
		if tis[i].State != nil {
			tis[i].stateValue = *tis[i].State
		}
	}
	sort.SliceStable(tis, func(i, j int) bool {
		a, b := tis[i].StartDate, tis[j].StartDate
		switch {
		case a != nil && b != nil && !a.Equal(*b):
			return a.Before(*b)
		case (a == nil) != (b == nil):
			return a != nil
		}
		return tis[i].TaskID < tis[j].TaskID
	})
	return tis, nil
}

func airflowTaskStates(tis []airflowTI, err error) string {
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	if len(tis) == 0 {
		return "none started"
	}
	parts := make([]string, len(tis))
	for i, ti := range tis {
		parts[i] = ti.TaskID + " " + ti.stateOrNone()
	}
	return strings.Join(parts, ", ")
}

// failure explains a failed run: every task's state, and the log tail of each failed task.
func (r *airflowRun) failure(ctx context.Context, runID, state string, took time.Duration, tis []airflowTI, tiErr error) error {
	var failed []airflowTI
	for _, ti := range tis {
		if ti.stateValue == "failed" {
			failed = append(failed, ti)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "airflow-dag-run: run %s of DAG %s %s after %s", runID, r.dag, state, took)
	switch len(failed) {
	case 0:
		b.WriteString(": no task failed (a run fails too when it times out or is marked failed)")
	case 1:
		fmt.Fprintf(&b, ": task %s failed (try %d)", failed[0].TaskID, failed[0].TryNumber)
	default:
		names := make([]string, len(failed))
		for i, ti := range failed {
			names[i] = ti.TaskID
		}
		fmt.Fprintf(&b, ": tasks %s failed", strings.Join(names, ", "))
	}
	fmt.Fprintf(&b, "; tasks: %s", airflowTaskStates(tis, tiErr))
	for _, ti := range failed {
		fmt.Fprintf(&b, "\nlog of %s (try %d), last lines:\n%s", ti.TaskID, ti.TryNumber, r.logTail(ctx, runID, ti))
	}
	return errors.New(b.String())
}

// logTail reads the end of a task instance's log through the API (which reads the log file, or
// asks the worker's log server for it).
func (r *airflowRun) logTail(ctx context.Context, runID string, ti airflowTI) string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), airflowCleanupLimit)
	defer cancel()
	try := ti.TryNumber
	if try < 1 {
		try = 1
	}
	p, raw := r.dagPath()
	suffix := fmt.Sprintf("/taskInstances/%s/logs/%d?full_content=true", ti.TaskID, try)
	rawSuffix := fmt.Sprintf("/taskInstances/%s/logs/%d?full_content=true", url.PathEscape(ti.TaskID), try)
	if ti.MapIndex >= 0 {
		suffix += "&map_index=" + strconv.Itoa(ti.MapIndex)
		rawSuffix += "&map_index=" + strconv.Itoa(ti.MapIndex)
	}
	var out struct {
		Content json.RawMessage `json:"content"`
	}
	if err := r.c.do(ctx, "read task log", http.MethodGet, p+"/dagRuns/"+runID+suffix,
		raw+"/dagRuns/"+url.PathEscape(runID)+rawSuffix, nil, &out); err != nil {
		return "  (log unavailable: " + err.Error() + ")"
	}
	lines := airflowLogLinesOf(out.Content)
	if len(lines) == 0 {
		return "  (empty log)"
	}
	if len(lines) > airflowLogLines {
		lines = lines[len(lines)-airflowLogLines:]
	}
	return "  " + strings.Join(lines, "\n  ")
}

// airflowLogLinesOf turns the log endpoint's content into text lines. Airflow 3 answers with
// structured records ({"event", "level", "error_detail", ...}); older servers with strings.
func airflowLogLinesOf(content json.RawMessage) []string {
	var records []json.RawMessage
	if json.Unmarshal(content, &records) != nil {
		var s string
		if json.Unmarshal(content, &s) == nil {
			return strings.Split(strings.TrimRight(s, "\n"), "\n")
		}
		return nil
	}
	var lines []string
	inSource := false // the "Log message source details" group lists where the log was read from
	for _, raw := range records {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			lines = append(lines, strings.Split(strings.TrimRight(s, "\n"), "\n")...)
			continue
		}
		var rec struct {
			Event       string `json:"event"`
			Level       string `json:"level"`
			ErrorDetail []struct {
				ExcType  string `json:"exc_type"`
				ExcValue string `json:"exc_value"`
			} `json:"error_detail"`
		}
		if json.Unmarshal(raw, &rec) != nil {
			continue
		}
		if strings.HasPrefix(rec.Event, "::") { // the UI's grouping markers
			inSource = rec.Event == "::group::Log message source details"
			continue
		}
		if inSource {
			continue
		}
		line := rec.Event
		if rec.Level != "" {
			line = "[" + rec.Level + "] " + line
		}
		lines = append(lines, line)
		for _, e := range rec.ErrorDetail {
			lines = append(lines, "    "+e.ExcType+": "+airflowFirstLine(e.ExcValue))
		}
	}
	return lines
}

// cleanup pauses the DAG again if the check unpaused it, with a context that outlives ctx.
func (r *airflowRun) cleanup(ctx context.Context) error {
	if !r.unpaused {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), airflowCleanupLimit)
	defer cancel()
	p, raw := r.dagPath()
	err := r.c.do(ctx, "pause DAG again", http.MethodPatch, p+"?update_mask=is_paused", raw+"?update_mask=is_paused",
		map[string]bool{"is_paused": true}, nil)
	if err != nil {
		return fmt.Errorf("%w (the check unpaused DAG %s; pause it in the UI)", err, r.dag)
	}
	return nil
}

func airflowRunID() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b) // never fails (crypto/rand panics instead)
	return airflowRunPrefix + time.Now().UTC().Format("20060102T150405") + "-" + hex.EncodeToString(b)
}

// airflowFirstLine is an exception's message cut to its first line: some carry a whole object after
// it (the KubernetesPodOperator's failure prints the pod, hundreds of lines), which would bury the
// log lines the tail is for.
func airflowFirstLine(msg string) string {
	first, rest, ok := strings.Cut(strings.TrimSpace(msg), "\n")
	if !ok {
		return first
	}
	return fmt.Sprintf("%s (… %d more lines)", first, strings.Count(rest, "\n")+1)
}
