package check

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The params of a ray-job check.
const (
	// RayParamEntrypoint is the job's shell command, run by Ray's job supervisor on the head
	// ("python /app/train_ray.py").
	RayParamEntrypoint = "entrypoint"
	// RayParamWorkers is how many distinct workers the job's result line must name (default 1).
	RayParamWorkers = "workers"
)

const (
	// rayJobPrefix starts the submission id of every job the check submits, so that its jobs stand
	// out in the dashboard's job list.
	rayJobPrefix = "mlops-series-check-"

	rayDefaultPoll = 2 * time.Second
	// rayCleanupLimit bounds the requests made after the check's context ended (stop, logs).
	rayCleanupLimit = 20 * time.Second
	// rayLogLines is how much of a job's log an error shows.
	rayLogLines = 20
)

// RayJob submits one job to a Ray cluster through the dashboard's Jobs REST API and waits for its
// end:
//
//  1. GET /api/version: the dashboard answers (Jobs API and Ray versions).
//  2. POST /api/jobs/ with the entrypoint and a submission id of the check's own.
//  3. GET /api/jobs/<id> every Poll until the status is SUCCEEDED, FAILED or STOPPED. When ctx
//     ends first, POST /api/jobs/<id>/stop stops the job (a check that gave up leaves no job
//     running), and the error says what state it was in.
//  4. GET /api/jobs/<id>/logs: the driver's output. The job must have SUCCEEDED and printed a
//     result line (ParseRayResult) naming at least Workers distinct workers; otherwise the error
//     carries the status, Ray's message and the tail of the log.
//
// A nil hc means a client with a 30 s timeout.
type RayJob struct {
	// Entrypoint is the job's shell command.
	Entrypoint string
	// Workers is the least number of distinct workers the result line must name (0 means 1).
	Workers int
	// EnvVars are set for the job (runtime_env.env_vars), on top of the cluster's environment.
	EnvVars map[string]string
	// Poll is the wait between two reads of the job's status (default 2 s).
	Poll time.Duration
}

// rayDashboard is Ray's dashboard (its Jobs API), as the API client names it and reads its errors:
// the dashboard answers errors as plain text ("Job x does not exist").
var rayDashboard = apiTool{Check: "ray-job", Name: "Ray dashboard", Server: "Ray dashboard",
	NotJSONHint: "a Ray dashboard (port 8265 of the head)", ErrorBody: rayErrorBody}

// rayErrorBody keeps the last line of a Python traceback, which the dashboard answers as plain text
// on a refused submission: that line is the exception and its message ("ValueError: Job with
// submission_id ... already exists. ..."), which the first 300 characters would not reach.
func rayErrorBody(_ int, body []byte) (string, string) {
	text := strings.TrimSpace(string(body))
	if !strings.HasPrefix(text, "Traceback (most recent call last):") {
		return "", ""
	}
	return "", trimBody([]byte(text[strings.LastIndexByte(text, '\n')+1:]))
}

// rayJobInfo is the part of GET /api/jobs/<id> the check reads.
type rayJobInfo struct {
	SubmissionID   string `json:"submission_id"`
	Status         string `json:"status"`
	Message        string `json:"message"`
	ErrorType      string `json:"error_type"`
	DriverExitCode *int   `json:"driver_exit_code"`
}

func rayTerminal(status string) bool {
	return status == "SUCCEEDED" || status == "FAILED" || status == "STOPPED"
}

// RayWorker is one training worker as a job's result line names it.
type RayWorker struct {
	Rank     int    `json:"rank"`
	NodeID   string `json:"node_id"`
	Hostname string `json:"hostname"`
	PID      int    `json:"pid"`
}

// key tells workers apart: a worker is a process on a node.
func (w RayWorker) key() string { return w.NodeID + "/" + w.Hostname + "/" + strconv.Itoa(w.PID) }

// RayResult is a job's result line: one JSON object on a line of its own with a "workers" array
// (what series/chapter-9-distributed-training/examples/train_ray.py prints).
type RayResult struct {
	Workers  []RayWorker `json:"workers"`
	Accuracy *float64    `json:"accuracy"`
	// MLflowRunID is the MLflow run the job logged to, when it was given a tracking URI.
	MLflowRunID string `json:"mlflow_run_id"`
	// Line is the line as printed.
	Line string `json:"-"`
}

// ParseRayResult finds the last result line in a job's log: a line that is a JSON object with a
// "workers" array. Lines that Ray prefixes with the process they come from ("(RayTrainWorker
// pid=12) ...") are output of the workers, not the driver's result, and never match.
func ParseRayResult(logs string) (RayResult, bool) {
	var found RayResult
	ok := false
	sc := bufio.NewScanner(strings.NewReader(logs))
	sc.Buffer(make([]byte, 64<<10), apiRespMax)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "{") || !strings.HasSuffix(line, "}") {
			continue
		}
		var probe struct {
			Workers json.RawMessage `json:"workers"`
		}
		if json.Unmarshal([]byte(line), &probe) != nil || len(probe.Workers) == 0 || probe.Workers[0] != '[' {
			continue
		}
		var r RayResult
		if json.Unmarshal([]byte(line), &r) != nil {
			continue
		}
		r.Line = line
		found, ok = r, true
	}
	return found, ok
}

// Distinct is the result's workers without repeats (by node, host and process), by rank.
func (r RayResult) Distinct() []RayWorker {
	seen := map[string]bool{}
	var out []RayWorker
	for _, w := range r.Workers {
		if seen[w.key()] {
			continue
		}
		seen[w.key()] = true
		out = append(out, w)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Rank < out[j].Rank })
	return out
}

// describe names the workers for a message: "rank 0 on host (node 1a2b3c4d, pid 12), ...", and how
// many nodes they ran on.
func (r RayResult) describe() string {
	ws := r.Distinct()
	nodes := map[string]bool{}
	parts := make([]string, len(ws))
	for i, w := range ws {
		nodes[w.NodeID] = true
		node := w.NodeID
		if len(node) > 8 {
			node = node[:8]
		}
		parts[i] = fmt.Sprintf("rank %d on %s (node %s, pid %d)", w.Rank, w.Hostname, node, w.PID)
	}
	return fmt.Sprintf("%d workers on %d node(s): %s", len(ws), len(nodes), strings.Join(parts, ", "))
}

// rayStartWait bounds how long the check waits for a dashboard that is still starting (refused
// connections, 502-504) or whose job agent has not registered yet.
const rayStartWait = 2 * time.Minute

// rayAgentNotReady says whether err is the dashboard's answer while no job agent has registered
// with it yet: 500 "No available agent to submit job, please try again later." A RayCluster's head
// reports Ready before its agent does; on a loaded machine the gap lasts seconds.
func rayAgentNotReady(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Code == http.StatusInternalServerError &&
		strings.Contains(ae.Message, "No available agent")
}

// rayAlreadySubmitted says whether err is the dashboard refusing submission id because a job with
// that id exists: Ray's job manager raises "Job with submission_id <id> already exists.", which the
// dashboard answers with 400, or 500 when it came through the job agent.
func rayAlreadySubmitted(err error, id string) bool {
	var ae *APIError
	return errors.As(err, &ae) && (ae.Code == http.StatusBadRequest || ae.Code == http.StatusInternalServerError) &&
		strings.Contains(ae.Message, "Job with submission_id "+id+" already exists")
}

// rayRetry calls once until it succeeds, fails with an error a later call would meet too, or
// rayStartWait (or ctx) ends; then it returns the last error.
func rayRetry(ctx context.Context, every time.Duration, once func() error) error {
	deadline := time.Now().Add(rayStartWait)
	for {
		err := once()
		if err == nil || ctx.Err() != nil || !(transient(err) || rayAgentNotReady(err)) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(every):
		}
	}
}

// Run runs the check against the dashboard at baseURL (http(s)://host:8265) and returns a one-line
// summary.
func (j RayJob) Run(ctx context.Context, hc *http.Client, baseURL string) (string, error) {
	entry := strings.TrimSpace(j.Entrypoint)
	if entry == "" {
		return "", errors.New("ray-job: no entrypoint given (params.entrypoint in the chapter spec)")
	}
	want := j.Workers
	if want <= 0 {
		want = 1
	}
	poll := j.Poll
	if poll <= 0 {
		poll = rayDefaultPoll
	}
	c, _, _, err := newAPIClient(rayDashboard, hc, baseURL)
	if err != nil {
		return "", err
	}

	// 1. The dashboard, and its versions.
	var ver struct {
		Version    string `json:"version"`
		RayVersion string `json:"ray_version"`
	}
	if err := rayRetry(ctx, poll, func() error {
		return c.do(ctx, "version", http.MethodGet, "/api/version", "", nil, &ver)
	}); err != nil {
		return "", err
	}
	if ver.RayVersion == "" {
		return "", fmt.Errorf("ray-job: version: GET /api/version: no ray_version in the answer (is %s a Ray dashboard?)", c.redacted)
	}

	// 2. Submit.
	body := map[string]any{
		"entrypoint":    entry,
		"submission_id": rayJobID(),
		"metadata":      map[string]string{"submitted-by": "mlops-series check"},
	}
	if len(j.EnvVars) > 0 {
		body["runtime_env"] = map[string]any{"env_vars": j.EnvVars}
	}
	var sub struct {
		SubmissionID string `json:"submission_id"`
		JobID        string `json:"job_id"`
	}
	submissionID := body["submission_id"].(string)
	sent := false
	if err := rayRetry(ctx, poll, func() error {
		err := c.do(ctx, "submit job", http.MethodPost, "/api/jobs/", "", body, &sub)
		if err != nil && sent && rayAlreadySubmitted(err, submissionID) {
			// An earlier attempt reached the job agent, but its answer did not come back (a
			// timeout, a proxy's 502-504): the job is the check's own. rayWait below reads it.
			sub.SubmissionID = submissionID
			return nil
		}
		sent = true
		return err
	}); err != nil {
		return "", err
	}
	id := sub.SubmissionID
	if id == "" {
		id = sub.JobID
	}
	if id == "" {
		return "", errors.New("ray-job: submit job: POST /api/jobs/: no submission_id in the answer")
	}
	start := time.Now()

	// 3. Wait for the end.
	info, err := rayWait(ctx, c, id, poll)
	took := time.Since(start).Round(100 * time.Millisecond)
	if err != nil {
		return "", err
	}

	// 4. The log, and the result line in it.
	logs, lerr := rayLogs(ctx, c, id)
	if info.Status != "SUCCEEDED" {
		return "", fmt.Errorf("ray-job: job %s %s after %s%s; log, last lines:\n%s", id, info.Status, took, rayWhy(info), rayTail(logs, lerr))
	}
	if lerr != nil {
		return "", fmt.Errorf("ray-job: job %s SUCCEEDED after %s, but its log is unreadable: %w", id, took, lerr)
	}
	res, ok := ParseRayResult(logs)
	if !ok {
		return "", fmt.Errorf("ray-job: job %s SUCCEEDED after %s but printed no result line (a JSON object with a \"workers\" array); log, last lines:\n%s",
			id, took, rayTail(logs, nil))
	}
	if n := len(res.Distinct()); n < want {
		return "", fmt.Errorf("ray-job: job %s SUCCEEDED after %s, but its result names %s; want at least %d workers\nresult: %s",
			id, took, res.describe(), want, res.Line)
	}
	acc := ""
	if res.Accuracy != nil {
		acc = fmt.Sprintf("; accuracy %.4f", *res.Accuracy)
	}
	if res.MLflowRunID != "" {
		acc += "; logged MLflow run " + res.MLflowRunID
	}
	return fmt.Sprintf("Ray %s at %s: job %s SUCCEEDED in %s, %s%s", ver.RayVersion, c.redacted, id, took, res.describe(), acc), nil
}

// rayWait polls the job until its status is terminal. When ctx ends first it stops the job and
// says what state it was in, with the log's tail.
func rayWait(ctx context.Context, c *apiClient, id string, poll time.Duration) (rayJobInfo, error) {
	p, raw := "/api/jobs/"+id, "/api/jobs/"+url.PathEscape(id)
	var info rayJobInfo
	var tol pollTolerance
	for {
		var cur rayJobInfo
		err := c.do(ctx, "wait for job", http.MethodGet, p, raw, nil, &cur)
		if err == nil {
			tol.ok()
			info = cur
			if rayTerminal(info.Status) {
				return info, nil
			}
		} else if !tol.retry(ctx, err) && ctx.Err() == nil {
			return info, err
		}
		if ctx.Err() != nil {
			state := info.Status
			if state == "" {
				state = "unknown"
			}
			stopped := rayStop(ctx, c, id)
			logs, lerr := rayLogs(ctx, c, id)
			hint := ""
			if state == "PENDING" {
				hint = " (a PENDING job waits for the job's driver to start: are the head's CPUs and memory free, and the runtime_env valid?)"
			}
			return info, fmt.Errorf("ray-job: wait for job: job %s still %s when the check gave up (%v)%s; %s; log, last lines:\n%s",
				id, state, context.Cause(ctx), hint, stopped, rayTail(logs, lerr))
		}
		select {
		case <-ctx.Done():
		case <-time.After(poll):
		}
	}
}

// rayStop stops the job on a context of its own (ctx has ended) and says how that went.
func rayStop(ctx context.Context, c *apiClient, id string) string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rayCleanupLimit)
	defer cancel()
	var out struct {
		Stopped bool `json:"stopped"`
	}
	if err := c.do(ctx, "stop job", http.MethodPost, "/api/jobs/"+id+"/stop", "/api/jobs/"+url.PathEscape(id)+"/stop", nil, &out); err != nil {
		return fmt.Sprintf("stopping it failed (stop it in the dashboard or with `ray job stop %s`): %v", id, err)
	}
	if !out.Stopped {
		return "it had ended by the time the check stopped it"
	}
	return "the check stopped it"
}

// rayLogs reads the job's log on a context of its own, so that it answers after ctx ran out.
func rayLogs(ctx context.Context, c *apiClient, id string) (string, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rayCleanupLimit)
	defer cancel()
	var out struct {
		Logs string `json:"logs"`
	}
	err := c.do(ctx, "read job log", http.MethodGet, "/api/jobs/"+id+"/logs", "/api/jobs/"+url.PathEscape(id)+"/logs", nil, &out)
	return out.Logs, err
}

// rayWhy is Ray's account of a job that did not succeed: its message, error type and exit code.
func rayWhy(info rayJobInfo) string {
	var parts []string
	if m := strings.TrimSpace(info.Message); m != "" {
		parts = append(parts, airflowFirstLine(m))
	}
	if info.ErrorType != "" {
		parts = append(parts, "error type "+info.ErrorType)
	}
	if info.DriverExitCode != nil {
		parts = append(parts, fmt.Sprintf("driver exit code %d", *info.DriverExitCode))
	}
	if len(parts) == 0 {
		return ""
	}
	return ": " + strings.Join(parts, "; ")
}

// rayANSI matches the terminal colour codes Ray puts around the names of the processes whose
// output it forwards into a job's log.
var rayANSI = regexp.MustCompile(`\x1b\[[0-9;]*[A-Za-z]`)

// rayTail is the last rayLogLines non-empty lines of a job's log, without colour codes, indented,
// for an error.
func rayTail(logs string, err error) string {
	if err != nil {
		return "  (log unavailable: " + err.Error() + ")"
	}
	var lines []string
	for _, l := range strings.Split(rayANSI.ReplaceAllString(logs, ""), "\n") {
		if strings.TrimSpace(l) != "" {
			lines = append(lines, strings.TrimRight(l, "\r"))
		}
	}
	if len(lines) == 0 {
		return "  (empty log)"
	}
	if len(lines) > rayLogLines {
		lines = lines[len(lines)-rayLogLines:]
	}
	return "  " + strings.Join(lines, "\n  ")
}

func rayJobID() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b) // never fails (crypto/rand panics instead)
	return rayJobPrefix + time.Now().UTC().Format("20060102T150405") + "-" + hex.EncodeToString(b)
}

// parseRayWorkers reads params.workers: a positive number, default 1.
func parseRayWorkers(v string) (int, error) {
	if strings.TrimSpace(v) == "" {
		return 1, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 1 {
		return 0, fmt.Errorf("params.%s %q: want a number of workers, at least 1", RayParamWorkers, v)
	}
	return n, nil
}
