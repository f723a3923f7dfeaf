package check

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"time"
)

const (
	// jenkinsRespMax bounds what is read of a Jenkins answer (a console log can be long).
	jenkinsRespMax = 4 << 20
	// jenkinsDefaultPoll is the wait between two looks at a queued or running build.
	jenkinsDefaultPoll = 5 * time.Second
	// jenkinsLogLines is how much of a failed build's console the error shows.
	jenkinsLogLines = 15
)

// JenkinsJob checks a Jenkins controller and one of its jobs through Jenkins' remote access API (the
// JSON flavour, /api/json on any object):
//
//  1. GET /api/json: Jenkins answers (its version is the X-Jenkins header) and the credentials work.
//  2. GET /job/<Job>/api/json: the job exists (JCasC created it), with its last build, if any.
//  3. When the job has never built and no build is queued, it starts one: GET /crumbIssuer/api/json
//     for a CSRF crumb (tied to the session cookie), then POST /job/<Job>/build with it.
//  4. GET /job/<Job>/lastBuild/api/json until the build is no longer building (every Poll, until
//     ctx ends); its result must be SUCCESS. Otherwise the error carries the result and the tail of
//     GET /job/<Job>/<n>/consoleText.
//
// A job whose last build has finished is not built again: the check reports that build, as the
// job's page does. Credentials come from User and Password or, when those are empty, from
// baseURL's userinfo. A nil hc means a client with a 30 s timeout.
type JenkinsJob struct {
	// Job is the job's name (a job in a folder: "folder/job/name").
	Job string
	// User and Password log in with HTTP basic auth (a password or an API token).
	User, Password string
	// Poll is the wait between two looks at a queued or running build (default 5 s).
	Poll time.Duration
}

// jenkinsClient sends the check's requests: basic auth, a cookie jar for the session the crumb
// belongs to, bounded bodies.
type jenkinsClient struct {
	hc         *http.Client
	base       string
	user, pass string
}

type jenkinsAnswer struct {
	status int
	header http.Header
	body   []byte
}

func (c *jenkinsClient) do(ctx context.Context, method, path string, header http.Header) (jenkinsAnswer, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, nil)
	if err != nil {
		return jenkinsAnswer{}, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if c.user != "" {
		req.SetBasicAuth(c.user, c.pass)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return jenkinsAnswer{}, context.Cause(ctx)
		}
		return jenkinsAnswer{}, fmt.Errorf("unreachable: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, jenkinsRespMax))
	if err != nil {
		return jenkinsAnswer{}, fmt.Errorf("read answer: %w", err)
	}
	return jenkinsAnswer{status: resp.StatusCode, header: resp.Header, body: body}, nil
}

// getJSON GETs path and decodes a 200 answer into v; other answers are errors that say what the
// status means for Jenkins.
func (c *jenkinsClient) getJSON(ctx context.Context, path string, v any) error {
	a, err := c.do(ctx, http.MethodGet, path, http.Header{"Accept": {"application/json"}})
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	if a.status != http.StatusOK {
		return fmt.Errorf("GET %s: %w", path, jenkinsStatusError(a, c.user))
	}
	if err := json.Unmarshal(a.body, v); err != nil {
		return fmt.Errorf("GET %s: %d, not JSON: %s", path, a.status, trim(a.body))
	}
	return nil
}

// errJenkinsNotFound marks a 404.
var errJenkinsNotFound = errors.New("not found")

func jenkinsStatusError(a jenkinsAnswer, user string) error {
	switch a.status {
	case http.StatusUnauthorized:
		if user == "" {
			return fmt.Errorf("401: no credentials were given: set the user and password (the admin Secret) or put them in the URL")
		}
		return fmt.Errorf("401: Jenkins refused user %q's password (is it the one in the admin Secret?)", user)
	case http.StatusForbidden:
		return fmt.Errorf("403: user %q may not do this (%s)", user, trimBody(a.body))
	case http.StatusNotFound:
		return errJenkinsNotFound
	case http.StatusServiceUnavailable:
		return fmt.Errorf("503: Jenkins is still starting (loading plugins or applying its configuration): %s", trimBody(a.body))
	default:
		return fmt.Errorf("%d: %s", a.status, trimBody(a.body))
	}
}

// jenkinsRun is the part of a build's JSON (WorkflowRun, FreeStyleBuild, ...) the check reads.
type jenkinsRun struct {
	Number   int     `json:"number"`
	Building bool    `json:"building"`
	Result   *string `json:"result"`
	Duration int64   `json:"duration"` // milliseconds
	URL      string  `json:"url"`
}

// jenkinsJobJSON is the part of a job's JSON the check reads.
type jenkinsJobJSON struct {
	Class     string `json:"_class"`
	Name      string `json:"name"`
	Buildable bool   `json:"buildable"`
	InQueue   bool   `json:"inQueue"`
	LastBuild *struct {
		Number int `json:"number"`
	} `json:"lastBuild"`
}

// Run checks the Jenkins at baseURL (http(s)://[user:password@]host:port[/prefix]) and returns a
// one-line summary.
func (j JenkinsJob) Run(ctx context.Context, hc *http.Client, baseURL string) (string, error) {
	job := strings.Trim(strings.TrimSpace(j.Job), "/")
	if job == "" {
		return "", errors.New("jenkins-job: no job given (params.job in the chapter spec)")
	}
	u, err := url.Parse(strings.TrimSpace(baseURL))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("jenkins-job: invalid Jenkins URL %q: want http(s)://host:port", baseURL)
	}
	user, pass := j.User, j.Password
	if user == "" && pass == "" && u.User != nil {
		user = u.User.Username()
		pass, _ = u.User.Password()
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	// The crumb Jenkins issues belongs to the session (JSESSIONID cookie) it was issued in: the
	// check keeps its cookies in a jar of its own, on a copy of the caller's client.
	jar, _ := cookiejar.New(nil)
	own := *hc
	own.Jar = jar
	c := &jenkinsClient{hc: &own, base: strings.TrimRight(u.String(), "/"), user: user, pass: pass}
	poll := j.Poll
	if poll <= 0 {
		poll = jenkinsDefaultPoll
	}

	// 1. Jenkins itself, and the login.
	var root struct {
		Class string `json:"_class"`
		Jobs  []struct {
			Name string `json:"name"`
		} `json:"jobs"`
	}
	a, err := c.do(ctx, http.MethodGet, "/api/json", http.Header{"Accept": {"application/json"}})
	if err != nil {
		return "", fmt.Errorf("jenkins-job: GET /api/json: %w", err)
	}
	version := a.header.Get("X-Jenkins")
	if a.status == http.StatusOK {
		if jerr := json.Unmarshal(a.body, &root); jerr != nil || version == "" {
			return "", fmt.Errorf("jenkins-job: GET /api/json: %d without an X-Jenkins header or JSON (is %s Jenkins?): %s",
				a.status, c.base, trim(a.body))
		}
	} else {
		serr := jenkinsStatusError(a, user)
		switch a.status {
		case http.StatusUnauthorized, http.StatusForbidden, http.StatusServiceUnavailable:
			return "", fmt.Errorf("jenkins-job: GET /api/json: %w", serr)
		}
		if errors.Is(serr, errJenkinsNotFound) || version == "" {
			return "", fmt.Errorf("jenkins-job: GET /api/json: %d, not Jenkins' answer (is %s Jenkins?): %s", a.status, c.base, trim(a.body))
		}
		return "", fmt.Errorf("jenkins-job: GET /api/json: %w", serr)
	}

	// 2. The job.
	jobPath := "/job/" + strings.Join(escapeSegments(strings.Split(job, "/job/")), "/job/")
	var jj jenkinsJobJSON
	if err := c.getJSON(ctx, jobPath+"/api/json", &jj); err != nil {
		if errors.Is(err, errJenkinsNotFound) {
			var names []string
			for _, x := range root.Jobs {
				names = append(names, x.Name)
			}
			return "", fmt.Errorf("jenkins-job: Jenkins %s has no job %q (jobs: %s); JCasC creates it at start: see the controller's log for job-dsl errors",
				version, job, orNone(names))
		}
		return "", fmt.Errorf("jenkins-job: %w", err)
	}

	// 3. A first build, when there is none.
	triggered := false
	if jj.LastBuild == nil && !jj.InQueue {
		if !jj.Buildable {
			return "", fmt.Errorf("jenkins-job: job %s has never built and is not buildable (disabled?)", job)
		}
		if err := c.build(ctx, jobPath); err != nil {
			return "", fmt.Errorf("jenkins-job: start a build of %s: %w", job, err)
		}
		triggered = true
	}

	// 4. Wait for the last build to end.
	var run jenkinsRun
	timedOut := func() error {
		if jj.LastBuild == nil {
			return fmt.Errorf("jenkins-job: job %s: no build started before the check's timeout (queued: %t); "+
				"is an agent pod Pending? (kubectl get pods -n <namespace>)", job, jj.InQueue)
		}
		return fmt.Errorf("jenkins-job: job %s: build #%d still running at the check's timeout (%v)", job, jj.LastBuild.Number, context.Cause(ctx))
	}
	for {
		if jj.LastBuild != nil {
			err := c.getJSON(ctx, jobPath+"/lastBuild/api/json", &run)
			if err != nil && ctx.Err() != nil {
				return "", timedOut()
			}
			if err != nil && !errors.Is(err, errJenkinsNotFound) {
				return "", fmt.Errorf("jenkins-job: %w", err)
			}
			if err == nil && !run.Building && run.Result != nil {
				break
			}
		}
		select {
		case <-ctx.Done():
			return "", timedOut()
		case <-time.After(poll):
		}
		if err := c.getJSON(ctx, jobPath+"/api/json", &jj); err != nil {
			if ctx.Err() != nil {
				return "", timedOut()
			}
			return "", fmt.Errorf("jenkins-job: %w", err)
		}
	}

	what := "last build"
	if triggered {
		what = "build"
	}
	took := (time.Duration(run.Duration) * time.Millisecond).Round(time.Second)
	if *run.Result == "SUCCESS" {
		return fmt.Sprintf("Jenkins %s: job %s %s #%d SUCCESS in %s", version, job, what, run.Number, took), nil
	}
	// The evidence: the end of the build's console.
	tail := ""
	cons, cerr := c.do(ctx, http.MethodGet, fmt.Sprintf("%s/%d/consoleText", jobPath, run.Number), nil)
	if cerr == nil && cons.status == http.StatusOK {
		tail = "\n" + lastLines(string(cons.body), jenkinsLogLines)
	}
	return "", fmt.Errorf("jenkins-job: job %s %s #%d is %s after %s, want SUCCESS (%s%d/console)%s",
		job, what, run.Number, *run.Result, took, strings.TrimSuffix(c.base, "/")+jobPath+"/", run.Number, tail)
}

// build starts a build of the job at jobPath: a crumb first (CSRF protection is on in every Jenkins
// since 2.222), then POST .../build, which Jenkins answers 201 with the queue item's Location.
func (c *jenkinsClient) build(ctx context.Context, jobPath string) error {
	var crumb struct {
		Crumb string `json:"crumb"`
		Field string `json:"crumbRequestField"`
	}
	h := http.Header{}
	if err := c.getJSON(ctx, "/crumbIssuer/api/json", &crumb); err == nil && crumb.Field != "" {
		h.Set(crumb.Field, crumb.Crumb)
	} else if err != nil && !errors.Is(err, errJenkinsNotFound) { // 404: CSRF protection off
		return err
	}
	a, err := c.do(ctx, http.MethodPost, jobPath+"/build", h)
	if err != nil {
		return fmt.Errorf("POST %s/build: %w", jobPath, err)
	}
	if a.status != http.StatusCreated && a.status != http.StatusOK {
		return fmt.Errorf("POST %s/build: %w", jobPath, jenkinsStatusError(a, c.user))
	}
	return nil
}

// escapeSegments path-escapes each part of a job's name.
func escapeSegments(parts []string) []string {
	out := make([]string, len(parts))
	for i, p := range parts {
		out[i] = url.PathEscape(p)
	}
	return out
}

// lastLines is the last n lines of a build's console, without the Pipeline plugin's own step lines
// ("[Pipeline] stage", "[Pipeline] }"), which would otherwise fill the tail of every failed build.
func lastLines(s string, n int) string {
	var lines []string
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		if !strings.HasPrefix(l, "[Pipeline] ") {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func orNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}
