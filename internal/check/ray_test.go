package check

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mlops-series/mlops-series/internal/nativetest"
	"github.com/mlops-series/mlops-series/internal/series"
)

// A job log as Ray's job server returns it: the driver's own lines as printed, the workers' lines
// prefixed (and coloured) by the process they come from.
const rayLogSample = "training on 2 Ray Train workers x 0.5 CPU, no MLflow\n" +
	"\x1b[36m(RayTrainWorker pid=2927)\x1b[0m {\"workers\": [{\"rank\": 9}]}\n" +
	"(TrainController pid=2800) Attempting to start training worker group of size 2\n" +
	`{"accuracy": 0.9556, "example": "chapter-9-ray-train", "num_workers": 2, "workers": [` +
	`{"hostname": "vm", "node_id": "15db176d8bfda5999473eb4917cfac7efb116b295cc9b55f5d8bf341", "pid": 2927, "rank": 0, "train_rows": 53}, ` +
	`{"hostname": "vm", "node_id": "15db176d8bfda5999473eb4917cfac7efb116b295cc9b55f5d8bf341", "pid": 3212, "rank": 1, "train_rows": 52}]}` + "\n"

func TestParseRayResult(t *testing.T) {
	r, ok := ParseRayResult(rayLogSample)
	if !ok {
		t.Fatal("no result found")
	}
	if len(r.Workers) != 2 || r.Workers[1].PID != 3212 || r.Accuracy == nil || *r.Accuracy != 0.9556 {
		t.Fatalf("result = %+v", r)
	}
	if got := r.describe(); got != "2 workers on 1 node(s): rank 0 on vm (node 15db176d, pid 2927), rank 1 on vm (node 15db176d, pid 3212)" {
		t.Errorf("describe = %q", got)
	}
	for name, logs := range map[string]string{
		"empty":               "",
		"worker lines only":   "(RayTrainWorker pid=1) {\"workers\": []}\n",
		"workers not a list":  `{"workers": 2}`,
		"not JSON":            "{workers}",
		"no workers key":      `{"accuracy": 1}`,
		"result split in two": "{\"workers\": [\n]}",
	} {
		if r, ok := ParseRayResult(logs); ok {
			t.Errorf("%s: found %+v", name, r)
		}
	}
	// The last result line wins; the same worker named twice counts once.
	r, ok = ParseRayResult(`{"workers": [{"rank": 0, "node_id": "a", "pid": 1}]}` + "\n" +
		`{"workers": [{"rank": 1, "node_id": "a", "pid": 2}, {"rank": 1, "node_id": "a", "pid": 2}]}`)
	if !ok || len(r.Distinct()) != 1 || r.Distinct()[0].PID != 2 {
		t.Errorf("last line / distinct: %+v", r)
	}
}

func TestRayTail(t *testing.T) {
	var b strings.Builder
	for i := range 30 {
		b.WriteString("\x1b[36m(raylet)\x1b[0m line " + string(rune('a'+i%26)) + "\n\n")
	}
	tail := rayTail(b.String(), nil)
	if n := strings.Count(tail, "\n") + 1; n != rayLogLines {
		t.Errorf("tail has %d lines, want %d:\n%s", n, rayLogLines, tail)
	}
	if strings.Contains(tail, "\x1b") || !strings.HasSuffix(tail, "(raylet) line d") {
		t.Errorf("tail = %q", tail)
	}
	if got := rayTail("", nil); got != "  (empty log)" {
		t.Errorf("empty: %q", got)
	}
	if got := rayTail("x", errors.New("boom")); !strings.Contains(got, "log unavailable: boom") {
		t.Errorf("error: %q", got)
	}
}

// fakeRay answers like Ray's dashboard job server (GET /api/version, POST /api/jobs/, GET
// /api/jobs/<id>, GET /api/jobs/<id>/logs, POST /api/jobs/<id>/stop), after the Jobs REST API's
// documentation and the answers of a real Ray 2.60.0 (the native test below runs against one).
type fakeRay struct {
	mu       sync.Mutex
	statuses []string // the statuses GET /api/jobs/<id> answers, in turn (the last one repeats); "503": that answer

	logs      string
	exitCode  *int
	message   string
	submitted map[string]any
	stopped   bool
	gets      int

	versionDown int    // how many GET /api/version answer 503 first (a dashboard still starting)
	agentLate   int    // how many submissions answer 500 "No available agent" first
	submitErr   string // when set, every submission answers 500 with this text
	submits     int
	// lostAnswer: the first submission registers the job under its submission_id, but its answer
	// is lost (504 from a proxy); later ones answer 400 with Ray's "already exists" traceback.
	lostAnswer bool
	jobID      string // the job's id once submitted under the check's own id (lostAnswer)
}

func (f *fakeRay) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := "mlops-series-check-x"
	if f.jobID != "" {
		id = f.jobID
	}
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/api/version":
		if f.versionDown > 0 {
			f.versionDown--
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte(`{"version": "4", "ray_version": "2.60.0", "ray_commit": "abc"}`))
	case r.Method == http.MethodPost && r.URL.Path == "/api/jobs/":
		f.submits++
		if f.agentLate > 0 || f.submitErr != "" {
			// Ray's job head answers these in plain text.
			msg := f.submitErr
			if f.agentLate > 0 {
				f.agentLate--
				msg = "No available agent to submit job, please try again later."
			}
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(msg))
			return
		}
		if f.lostAnswer {
			w.Header().Set("Content-Type", "text/plain")
			if f.jobID == "" {
				_ = json.NewDecoder(r.Body).Decode(&f.submitted)
				f.jobID, _ = f.submitted["submission_id"].(string)
				w.WriteHeader(http.StatusGatewayTimeout)
				return
			}
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte("Traceback (most recent call last):\n  File \"job_head.py\", line 420, in submit_job\n" +
				"ValueError: Job with submission_id " + f.jobID + " already exists. Please use a different submission_id.\n"))
			return
		}
		_ = json.NewDecoder(r.Body).Decode(&f.submitted)
		_, _ = w.Write([]byte(`{"job_id": "` + id + `", "submission_id": "` + id + `"}`))
	case r.Method == http.MethodGet && r.URL.Path == "/api/jobs/"+id:
		st := f.statuses[min(f.gets, len(f.statuses)-1)]
		if f.stopped {
			st = "STOPPED"
		}
		f.gets++
		if st == "503" { // the dashboard behind a proxy that lost it for a moment
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"error": "upstream unavailable"}`))
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"submission_id": id, "status": st, "message": f.message, "driver_exit_code": f.exitCode})
	case r.Method == http.MethodGet && r.URL.Path == "/api/jobs/"+id+"/logs":
		_ = json.NewEncoder(w).Encode(map[string]string{"logs": f.logs})
	case r.Method == http.MethodPost && r.URL.Path == "/api/jobs/"+id+"/stop":
		f.stopped = true
		_, _ = w.Write([]byte(`{"stopped": true}`))
	case strings.HasPrefix(r.URL.Path, "/api/jobs/"):
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte("Job " + strings.TrimPrefix(r.URL.Path, "/api/jobs/") + " does not exist"))
	default:
		http.NotFound(w, r)
	}
}

func TestRayJobAgainstFakeDashboard(t *testing.T) {
	three := 3
	for _, tc := range []struct {
		name    string
		fake    *fakeRay
		job     RayJob
		timeout time.Duration
		want    []string // in the message (success) or the error
		wantErr bool
		stopped bool
	}{
		{"succeeded", &fakeRay{statuses: []string{"PENDING", "RUNNING", "SUCCEEDED"}, logs: rayLogSample},
			RayJob{Entrypoint: "python train_ray.py", Workers: 2, EnvVars: map[string]string{"NUM_WORKERS": "2"}}, 0,
			[]string{"Ray 2.60.0 at http://", "job mlops-series-check-x SUCCEEDED in", "2 workers on 1 node(s): rank 0 on vm", "accuracy 0.9556"}, false, false},
		{"logged to MLflow", &fakeRay{statuses: []string{"SUCCEEDED"}, logs: strings.Replace(rayLogSample, `{"accuracy": 0.9556,`, `{"accuracy": 0.9556, "mlflow_run_id": "0f3c9a1d2b4e4c6f8a0b1c2d3e4f5a6b",`, 1)},
			RayJob{Entrypoint: "python train_ray.py", Workers: 2}, 0,
			[]string{"accuracy 0.9556; logged MLflow run 0f3c9a1d2b4e4c6f8a0b1c2d3e4f5a6b"}, false, false},
		{"too few workers", &fakeRay{statuses: []string{"SUCCEEDED"}, logs: rayLogSample},
			RayJob{Entrypoint: "python train_ray.py", Workers: 3}, 0,
			[]string{"its result names 2 workers on 1 node(s)", "want at least 3 workers", `result: {"accuracy"`}, true, false},
		{"no result line", &fakeRay{statuses: []string{"SUCCEEDED"}, logs: "hello\n"},
			RayJob{Entrypoint: "echo hello"}, 0,
			[]string{"printed no result line", "  hello"}, true, false},
		{"failed", &fakeRay{statuses: []string{"RUNNING", "FAILED"}, exitCode: &three, logs: "Traceback (most recent call last):\nValueError: boom\n",
			message: "Job entrypoint command failed with exit code 3, last available logs:\nValueError: boom"},
			RayJob{Entrypoint: "python bad.py"}, 0,
			[]string{"job mlops-series-check-x FAILED after", "Job entrypoint command failed with exit code 3, last available logs: (… 1 more lines)", "driver exit code 3", "  ValueError: boom"}, true, false},
		{"gave up and stopped the job", &fakeRay{statuses: []string{"RUNNING"}, logs: "still training\n"},
			RayJob{Entrypoint: "sleep 600"}, 300 * time.Millisecond,
			[]string{"job mlops-series-check-x still RUNNING when the check gave up (context deadline exceeded)", "the check stopped it", "  still training"}, true, true},
		{"a few polls unanswered", &fakeRay{statuses: []string{"RUNNING", "503", "503", "503", "RUNNING", "503", "SUCCEEDED"}, logs: rayLogSample},
			RayJob{Entrypoint: "python train_ray.py", Workers: 2}, 0,
			[]string{"job mlops-series-check-x SUCCEEDED in"}, false, false},
		{"dashboard gone for good", &fakeRay{statuses: []string{"RUNNING", "503"}, logs: rayLogSample},
			RayJob{Entrypoint: "python train_ray.py", Workers: 2}, 0,
			[]string{"ray-job: wait for job: GET /api/jobs/mlops-series-check-x: 503 Service Unavailable"}, true, false},
		// A head that reports Ready before its dashboard answers and its job agent registers (seen
		// under load in stop 17's warm CI run 6).
		{"dashboard still starting", &fakeRay{statuses: []string{"SUCCEEDED"}, logs: rayLogSample, versionDown: 2},
			RayJob{Entrypoint: "python train_ray.py", Workers: 2}, 0,
			[]string{"job mlops-series-check-x SUCCEEDED in"}, false, false},
		{"job agent not registered yet", &fakeRay{statuses: []string{"SUCCEEDED"}, logs: rayLogSample, agentLate: 3},
			RayJob{Entrypoint: "python train_ray.py", Workers: 2}, 0,
			[]string{"job mlops-series-check-x SUCCEEDED in"}, false, false},
		{"a submission the dashboard refuses", &fakeRay{statuses: []string{"SUCCEEDED"}, submitErr: "Job with submission_id mlops-series-check-x already exists."},
			RayJob{Entrypoint: "python train_ray.py"}, 0,
			[]string{"ray-job: submit job: POST /api/jobs/: 500 Internal Server Error: Job with submission_id mlops-series-check-x already exists."}, true, false},
		// A submission that reached the job agent while its answer was lost: the retry's "already
		// exists" is the check's own job, which it then follows.
		{"a submission whose answer was lost", &fakeRay{statuses: []string{"RUNNING", "SUCCEEDED"}, logs: rayLogSample, lostAnswer: true},
			RayJob{Entrypoint: "python train_ray.py", Workers: 2}, 0,
			[]string{"SUCCEEDED in", "2 workers on 1 node(s)"}, false, false},
		// The dashboard answers a refused submission with a Python traceback: its last line says why.
		{"a refusal as a traceback", &fakeRay{statuses: []string{"SUCCEEDED"},
			submitErr: "Traceback (most recent call last):\n" + strings.Repeat("  File \"x.py\", line 1, in f\n    g()\n", 20) + "TypeError: entrypoint must be a string\n"},
			RayJob{Entrypoint: "python train_ray.py"}, 0,
			[]string{"ray-job: submit job: POST /api/jobs/: 500 Internal Server Error: TypeError: entrypoint must be a string"}, true, false},
		{"no entrypoint", &fakeRay{statuses: []string{"SUCCEEDED"}}, RayJob{}, 0,
			[]string{"no entrypoint given"}, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.fake)
			defer srv.Close()
			ctx := context.Background()
			if tc.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.timeout)
				defer cancel()
			}
			tc.job.Poll = 10 * time.Millisecond
			msg, err := tc.job.Run(ctx, srv.Client(), srv.URL)
			got := msg
			if tc.wantErr {
				if err == nil {
					t.Fatalf("no error; message %q", msg)
				}
				got = err.Error()
			} else if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("want %q in:\n%s", w, got)
				}
			}
			if tc.fake.stopped != tc.stopped {
				t.Errorf("job stopped = %v, want %v", tc.fake.stopped, tc.stopped)
			}
			if tc.job.Entrypoint != "" && tc.fake.submitErr == "" && tc.fake.submitted["entrypoint"] != tc.job.Entrypoint {
				t.Errorf("submitted %v", tc.fake.submitted)
			}
			// A refusal that is not about a starting dashboard is not sent again.
			if tc.fake.submitErr != "" && tc.fake.submits != 1 {
				t.Errorf("the refused submission was sent %d times, want 1", tc.fake.submits)
			}
			if tc.fake.lostAnswer && tc.fake.submits != 2 {
				t.Errorf("the submission whose answer was lost was sent %d times, want 2", tc.fake.submits)
			}
		})
	}
	// The env vars go into the runtime_env, and the submission id is the check's own.
	f := &fakeRay{statuses: []string{"SUCCEEDED"}, logs: rayLogSample}
	srv := httptest.NewServer(f)
	defer srv.Close()
	if _, err := (RayJob{Entrypoint: "python x.py", EnvVars: map[string]string{"A": "b"}}).Run(context.Background(), nil, srv.URL); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(f.submitted)
	if !strings.Contains(string(b), `"runtime_env":{"env_vars":{"A":"b"}}`) || !strings.Contains(string(b), `"submission_id":"mlops-series-check-`) {
		t.Errorf("submitted %s", b)
	}
}

func TestRayJobNotRay(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`<html>hello</html>`))
	}))
	defer srv.Close()
	_, err := RayJob{Entrypoint: "true"}.Run(context.Background(), nil, srv.URL)
	if err == nil || !strings.Contains(err.Error(), "ray-job: version: GET /api/version") || !strings.Contains(err.Error(), "a Ray dashboard") {
		t.Fatalf("err = %v", err)
	}
}

// The check runs from a chapter spec through the Runner: params.entrypoint and params.workers.
func TestRayJobFromSpec(t *testing.T) {
	srv := httptest.NewServer(&fakeRay{statuses: []string{"SUCCEEDED"}, logs: rayLogSample})
	defer srv.Close()
	spec := typesChapter + `  - {name: train, type: ray-job, component: web, port: 8265, section: "#r", timeout: 1m, params: {entrypoint: "python /app/train_ray.py", workers: "2"}}` + "\n"
	ch, err := series.DecodeChapter("c.yaml", []byte(spec), Validation())
	if err != nil {
		t.Fatal(err)
	}
	res := (&Runner{Endpoints: map[string]string{"web": srv.URL}}).Run(context.Background(), ch)
	if len(res) != 1 || !res[0].Passed || !strings.Contains(res[0].Message, "2 workers") {
		t.Fatalf("result: %+v", res)
	}
}

// rayJobIDPattern finds the submission id in a message of the check.
var rayJobIDPattern = regexp.MustCompile(`job (mlops-series-check-[0-9T]+-[0-9a-f]+)`)

// TestRayJobOnRealRay runs the check against a real Ray head (2.60.0, from the venv "ray") on
// 127.0.0.1, started once for its subtests: a job that fails shows its log's tail; a result line
// naming too few workers fails; a job still running when the check's time is up is stopped. (The
// chapter's example itself runs through this check, with the spec's entrypoint and a port-forward,
// in internal/action's TestChapter9OnControlPlane.)
func TestRayJobOnRealRay(t *testing.T) {
	head := nativetest.Ray(t)
	run := func(t *testing.T, job RayJob, timeout time.Duration) (string, error) {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), timeout)
		defer cancel()
		job.Poll = 500 * time.Millisecond
		start := time.Now()
		msg, err := job.Run(ctx, nil, head.URL)
		if err != nil {
			t.Logf("%s: error: %v", time.Since(start).Round(time.Millisecond), err)
		} else {
			t.Logf("%s: %s", time.Since(start).Round(time.Millisecond), msg)
		}
		return msg, err
	}

	t.Run("failing job", func(t *testing.T) {
		_, err := run(t, RayJob{Entrypoint: `python -c "import sys; print('about to fail', flush=True); sys.exit(3)"`}, 3*time.Minute)
		if err == nil {
			t.Fatal("a job that exits 3 passed")
		}
		for _, w := range []string{"FAILED after", "exit code 3", "  about to fail"} {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("want %q in:\n%v", w, err)
			}
		}
	})

	t.Run("too few workers", func(t *testing.T) {
		line := `{\"workers\": [{\"rank\": 0, \"node_id\": \"n\", \"hostname\": \"h\", \"pid\": 1}]}`
		_, err := run(t, RayJob{Entrypoint: `python -c "print('` + line + `')"`, Workers: 2}, 3*time.Minute)
		if err == nil || !strings.Contains(err.Error(), "its result names 1 workers on 1 node(s)") || !strings.Contains(err.Error(), "want at least 2 workers") {
			t.Fatalf("err = %v", err)
		}
	})

	t.Run("timeout stops the job", func(t *testing.T) {
		_, err := run(t, RayJob{Entrypoint: `python -c "import time; print('sleeping', flush=True); time.sleep(600)"`}, 10*time.Second)
		if err == nil || !strings.Contains(err.Error(), "when the check gave up") || !strings.Contains(err.Error(), "the check stopped it") {
			t.Fatalf("err = %v", err)
		}
		m := rayJobIDPattern.FindStringSubmatch(err.Error())
		if m == nil {
			t.Fatalf("no job id in %v", err)
		}
		// Ray's own record of the job says STOPPED soon after.
		c, _, _, _ := newAPIClient(rayDashboard, nil, head.URL)
		deadline := time.Now().Add(time.Minute)
		for {
			var info rayJobInfo
			if err := c.do(t.Context(), "get", http.MethodGet, "/api/jobs/"+m[1], "", nil, &info); err != nil {
				t.Fatal(err)
			}
			if info.Status == "STOPPED" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("job %s is %s a minute after the check stopped it", m[1], info.Status)
			}
			time.Sleep(500 * time.Millisecond)
		}
	})
}
