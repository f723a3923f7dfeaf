package nativetest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// No real Jenkins can run where these tests run: the Jenkins war and its plugins come from
// Jenkins' own download and update sites, which no registry reachable here serves, and there is no
// container engine for the upstream image. JenkinsReplay stands in for it: an HTTP server that
// replays answers written after Jenkins' documented remote access API (internal/check/testdata/
// jenkins, whose README names the pages and the classes whose JSON they show), routed, with basic
// auth, CSRF crumbs and sessions, as Jenkins routes them. It is not a live Jenkins, and tests that
// use it say so.

// JenkinsRecording is one recorded answer: a JSON body or a text one.
type JenkinsRecording struct {
	Request string            `json:"request"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	Body    json.RawMessage   `json:"body"`
	Text    string            `json:"text"`
}

// LoadJenkinsRecording reads internal/check/testdata/jenkins/NAME.json.
func LoadJenkinsRecording(t testing.TB, name string) JenkinsRecording {
	t.Helper()
	var r JenkinsRecording
	path := loadRecording(t, "jenkins", name, &r)
	if r.Status == 0 || r.Headers["X-Jenkins"] == "" {
		t.Fatalf("%s: no status or X-Jenkins header", path)
	}
	return r
}

// JenkinsJobName is the job the replayed Jenkins has (chapter 4's).
const JenkinsJobName = "serving-app"

// JenkinsScenario says which recordings the replayed Jenkins answers with.
type JenkinsScenario struct {
	// User and Password are the only login it accepts (HTTP basic auth).
	User, Password string
	// Job answers GET /job/serving-app/api/json until a build is started; AfterBuild answers it
	// after POST /job/serving-app/build, one recording per request (the last one repeats).
	Job        string
	AfterBuild []string
	// Runs answer GET /job/serving-app/lastBuild/api/json in turn (the last one repeats); none: 404.
	Runs []string
}

// JenkinsReplay is a running replay.
type JenkinsReplay struct {
	*httptest.Server
	mu     sync.Mutex
	builds int
}

// Builds is how many builds were started (accepted POST .../build requests).
func (j *JenkinsReplay) Builds() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.builds
}

// StartJenkinsReplay starts a replay of scenario s; it stops with the test.
func StartJenkinsReplay(t testing.TB, s JenkinsScenario) *JenkinsReplay {
	t.Helper()
	recs := map[string]JenkinsRecording{}
	for _, n := range append(append([]string{s.Job, "root", "anonymous", "unauthorized", "crumb", "build-queued",
		"build-no-crumb", "job-not-found", "console-failure", "login"}, s.AfterBuild...), s.Runs...) {
		recs[n] = LoadJenkinsRecording(t, n)
	}
	const session, cookie = "node0x1mlopsseries", "JSESSIONID.3f1c2a9d"
	crumb := struct {
		Crumb string `json:"crumb"`
		Field string `json:"crumbRequestField"`
	}{}
	if err := json.Unmarshal(recs["crumb"].Body, &crumb); err != nil {
		t.Fatal(err)
	}
	j := &JenkinsReplay{}
	var jobReads, runReads int
	next := func(names []string, i *int) string {
		n := names[min(*i, len(names)-1)]
		*i++
		return n
	}
	reply := func(w http.ResponseWriter, name string) {
		rec := recs[name]
		for k, v := range rec.Headers {
			w.Header().Set(k, v)
		}
		w.WriteHeader(rec.Status)
		if len(rec.Body) > 0 {
			_, _ = w.Write(rec.Body)
		} else {
			_, _ = w.Write([]byte(rec.Text))
		}
	}
	// Every route needs the login, as with anonymous access off.
	authed := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			u, p, ok := r.BasicAuth()
			switch {
			case !ok:
				reply(w, "anonymous")
			case u != s.User || p != s.Password:
				reply(w, "unauthorized")
			default:
				h(w, r)
			}
		}
	}
	job := "/job/" + JenkinsJobName
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, _ *http.Request) { reply(w, "login") })
	mux.HandleFunc("GET /api/json", authed(func(w http.ResponseWriter, _ *http.Request) { reply(w, "root") }))
	mux.HandleFunc("GET /crumbIssuer/api/json", authed(func(w http.ResponseWriter, _ *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: cookie, Value: session, Path: "/", HttpOnly: true})
		reply(w, "crumb")
	}))
	mux.HandleFunc("POST "+job+"/build", authed(func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(cookie)
		if err != nil || c.Value != session || r.Header.Get(crumb.Field) != crumb.Crumb {
			reply(w, "build-no-crumb")
			return
		}
		j.mu.Lock()
		j.builds++
		j.mu.Unlock()
		reply(w, "build-queued")
	}))
	mux.HandleFunc("GET /job/{name}/api/json", authed(func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("name") != JenkinsJobName {
			reply(w, "job-not-found")
			return
		}
		j.mu.Lock()
		built := j.builds > 0
		name := s.Job
		if built && len(s.AfterBuild) > 0 {
			name = next(s.AfterBuild, &jobReads)
		}
		j.mu.Unlock()
		reply(w, name)
	}))
	mux.HandleFunc("GET "+job+"/lastBuild/api/json", authed(func(w http.ResponseWriter, _ *http.Request) {
		if len(s.Runs) == 0 {
			reply(w, "job-not-found")
			return
		}
		j.mu.Lock()
		name := next(s.Runs, &runReads)
		j.mu.Unlock()
		reply(w, name)
	}))
	mux.HandleFunc("GET "+job+"/1/consoleText", authed(func(w http.ResponseWriter, _ *http.Request) { reply(w, "console-failure") }))
	j.Server = httptest.NewServer(mux)
	t.Cleanup(j.Close)
	return j
}
