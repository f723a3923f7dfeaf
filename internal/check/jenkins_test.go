package check

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	yaml "go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/api/resource"

	mlopsseries "github.com/mlops-series/mlops-series"
	"github.com/mlops-series/mlops-series/internal/nativetest"
	"github.com/mlops-series/mlops-series/internal/series"
)

// No real Jenkins can run where these tests run (the war and its plugins are served by no registry
// reachable here, and there is no container engine). The jenkins-job check is therefore tested
// against nativetest.JenkinsReplay: an httptest server that replays answers RECORDED FROM JENKINS'
// DOCUMENTED REMOTE ACCESS API (testdata/jenkins, whose README names the pages and classes), with
// Jenkins' routing, basic auth, CSRF crumb and session rules. It is not a live Jenkins: what a real
// one adds (JCasC creating the job, the plugins, the agent pod running the Jenkinsfile) is left to
// the kind workflow that runs the upstream images.

const (
	fakeJenkinsUser     = "admin"
	fakeJenkinsPassword = "j3nkins-pw"
)

func TestJenkinsJobAgainstRecordedAPI(t *testing.T) {
	withCreds := func(base string) string {
		return strings.Replace(base, "http://", "http://"+fakeJenkinsUser+":"+fakeJenkinsPassword+"@", 1)
	}
	creds := JenkinsJob{Job: nativetest.JenkinsJobName, User: fakeJenkinsUser, Password: fakeJenkinsPassword, Poll: time.Millisecond}
	cases := []struct {
		name       string
		scenario   nativetest.JenkinsScenario
		check      JenkinsJob
		url        func(string) string
		want       string
		fail       bool
		wantNot    string
		wantBuilds int
	}{
		{name: "last build succeeded: reported, not built again",
			scenario: nativetest.JenkinsScenario{Job: "job-built", Runs: []string{"run-success"}},
			check:    creds,
			want:     "Jenkins 2.580.2: job serving-app last build #1 SUCCESS in 4m23s"},
		{name: "never built: the check starts a build (crumb + session) and waits for it",
			scenario: nativetest.JenkinsScenario{Job: "job-never-built", AfterBuild: []string{"job-queued", "job-queued", "job-building"},
				Runs: []string{"run-building", "run-building", "run-success"}},
			check: creds, wantBuilds: 1,
			want: "job serving-app build #1 SUCCESS in 4m23s"},
		{name: "credentials from the URL's userinfo",
			scenario: nativetest.JenkinsScenario{Job: "job-built", Runs: []string{"run-success"}},
			check:    JenkinsJob{Job: "serving-app", Poll: time.Millisecond}, url: withCreds,
			want: "SUCCESS"},
		{name: "a failed build fails the check with its console's tail",
			scenario: nativetest.JenkinsScenario{Job: "job-never-built", AfterBuild: []string{"job-building"}, Runs: []string{"run-building", "run-failure"}},
			check:    creds, fail: true, wantBuilds: 1,
			want: "jenkins-job: job serving-app build #1 is FAILURE after 1m35s, want SUCCESS (http://"},
		{name: "the console tail names the failing test",
			scenario: nativetest.JenkinsScenario{Job: "job-built", Runs: []string{"run-failure"}},
			check:    creds, fail: true,
			want: "FAILED serving/tests/test_app.py::test_predict_champion - AssertionError: assert 500 == 200\n1 failed, 40 passed in 61.02s (0:01:01)"},
		{name: "an aborted build is not a success",
			scenario: nativetest.JenkinsScenario{Job: "job-built", Runs: []string{"run-aborted"}},
			check:    creds, fail: true,
			want: "job serving-app last build #1 is ABORTED after 30m0s, want SUCCESS"},
		{name: "wrong password",
			scenario: nativetest.JenkinsScenario{Job: "job-built", Runs: []string{"run-success"}},
			check:    JenkinsJob{Job: "serving-app", User: fakeJenkinsUser, Password: "wrong-password"}, fail: true,
			want: `jenkins-job: GET /api/json: 401: Jenkins refused user "admin"'s password`, wantNot: "wrong-password"},
		{name: "no credentials",
			scenario: nativetest.JenkinsScenario{Job: "job-built", Runs: []string{"run-success"}},
			check:    JenkinsJob{Job: "serving-app"}, fail: true,
			want: `jenkins-job: GET /api/json: 403: user "" may not do this (`},
		{name: "no such job",
			scenario: nativetest.JenkinsScenario{Job: "job-built"},
			check:    JenkinsJob{Job: "other-job", User: fakeJenkinsUser, Password: fakeJenkinsPassword}, fail: true,
			want: `jenkins-job: Jenkins 2.580.2 has no job "other-job" (jobs: serving-app); JCasC creates it at start`},
		{name: "a build that never ends before the timeout",
			scenario: nativetest.JenkinsScenario{Job: "job-building", Runs: []string{"run-building"}},
			check:    creds, fail: true,
			want: "jenkins-job: job serving-app: build #1 still running at the check's timeout"},
		{name: "a queued build that never starts before the timeout",
			scenario: nativetest.JenkinsScenario{Job: "job-queued"},
			check:    creds, fail: true,
			want: "no build started before the check's timeout (queued: true); is an agent pod Pending?"},
		{name: "no job name", scenario: nativetest.JenkinsScenario{Job: "job-built"}, check: JenkinsJob{}, fail: true,
			want: "jenkins-job: no job given (params.job in the chapter spec)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.scenario.User, c.scenario.Password = fakeJenkinsUser, fakeJenkinsPassword
			srv := nativetest.StartJenkinsReplay(t, c.scenario)
			base := srv.URL
			if c.url != nil {
				base = c.url(base)
			}
			// Room for the replay's first answers on a loaded CI machine; the two cases that run
			// into the timeout take all of it.
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			got, err := c.check.Run(ctx, srv.Client(), base)
			if srv.Builds() != c.wantBuilds {
				t.Errorf("builds started: %d, want %d", srv.Builds(), c.wantBuilds)
			}
			requireOutcome(t, got, err, c.fail, c.want, c.wantNot)
		})
	}
}

// Without the session cookie the crumb belongs to, Jenkins refuses the build (403 "No valid crumb"):
// a client without a cookie jar could never start one. The check keeps its own jar, also when the
// caller's client has none; this test proves the replay enforces the rule the check relies on.
func TestJenkinsReplayRefusesABuildWithoutTheSession(t *testing.T) {
	srv := nativetest.StartJenkinsReplay(t, nativetest.JenkinsScenario{User: fakeJenkinsUser, Password: fakeJenkinsPassword, Job: "job-never-built"})
	hc := &http.Client{} // no jar
	c := &jenkinsClient{hc: hc, base: srv.URL, user: fakeJenkinsUser, pass: fakeJenkinsPassword}
	err := c.build(t.Context(), "/job/serving-app")
	if err == nil || !strings.Contains(err.Error(), "403") || !strings.Contains(err.Error(), "No valid crumb was included in the request") {
		t.Fatalf("build without the session's cookie: %v, want the 403 for a missing crumb", err)
	}
	if srv.Builds() != 0 {
		t.Fatalf("a build was started")
	}
}

// Answers that do not come from a Jenkins ready to answer.
func TestJenkinsJobNotJenkins(t *testing.T) {
	html := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK)
		_, _ = fmt.Fprint(w, "<html>some other server</html>")
	}))
	t.Cleanup(html.Close)
	starting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		rec := nativetest.LoadJenkinsRecording(t, "starting")
		for k, v := range rec.Headers {
			w.Header().Set(k, v)
		}
		w.WriteHeader(rec.Status)
		_, _ = fmt.Fprint(w, rec.Text)
	}))
	t.Cleanup(starting.Close)
	closed := fmt.Sprintf("http://127.0.0.1:%d", nativetest.FreePort(t))
	for _, c := range []struct{ name, url, want string }{
		{"some other server", html.URL, "jenkins-job: GET /api/json: 200 without an X-Jenkins header or JSON (is " + html.URL + " Jenkins?)"},
		{"still starting", starting.URL, "jenkins-job: GET /api/json: 503: Jenkins is still starting"},
		{"unreachable", closed, "jenkins-job: GET /api/json: unreachable: "},
		{"invalid URL", "jenkins:8080", `jenkins-job: invalid Jenkins URL "jenkins:8080"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			_, err := JenkinsJob{Job: "serving-app", User: "admin", Password: "x"}.Run(ctx, nil, c.url)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want it to contain %q", err, c.want)
			}
		})
	}
}

// chapter4Docs renders chapter 4's jenkins component as `up` installs it.
func chapter4Docs(t *testing.T) []map[string]any {
	t.Helper()
	const dir = "chapter-4-ci-cd"
	b, err := fs.ReadFile(mlopsseries.Series(), dir+"/chapter.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		Components []series.Component `yaml:"components"`
	}
	if err := yaml.Unmarshal(b, &spec); err != nil {
		t.Fatalf("chapter.yaml: %v", err)
	}
	ch := &series.Chapter{Number: 4, Slug: "ci-cd", Dir: dir}
	return renderComponent(t, mlopsseries.Series(), ch, spec.Components[0])
}

// The jenkins chart as chapter 4 installs it: configured as code, no wizard, the admin from the
// Secret, builds in agent pods, the job reading the chapter's own Jenkinsfile.
func TestJenkinsChartAsChapter4InstallsIt(t *testing.T) {
	docs := chapter4Docs(t)

	sec := renderedObj(t, docs, "Secret", "jenkins-admin")
	if yamlField(sec, "data", "user") == nil || yamlField(sec, "data", "password") == nil {
		t.Errorf("Secret jenkins-admin keys = %v, want user and password", yamlField(sec, "data"))
	}
	svc := renderedObj(t, docs, "Service", "jenkins")
	if yamlField(svc, "spec", "type") != "ClusterIP" || yamlField(svc, "spec", "ports", 0, "port") != float64(8080) {
		t.Errorf("Service jenkins: %v", yamlField(svc, "spec"))
	}

	// The JCasC file.
	cm := renderedObj(t, docs, "ConfigMap", "jenkins-casc")
	var casc map[string]any
	if err := yaml.Unmarshal([]byte(yamlField(cm, "data", "config.yaml").(string)), &casc); err != nil {
		t.Fatalf("config.yaml: %v", err)
	}
	for _, c := range []struct {
		path []any
		want any
	}{
		{[]any{"jenkins", "securityRealm", "local", "users", 0, "id"}, "${JENKINS_ADMIN_USER}"},
		{[]any{"jenkins", "securityRealm", "local", "users", 0, "password"}, "${JENKINS_ADMIN_PASSWORD}"},
		{[]any{"jenkins", "securityRealm", "local", "allowsSignup"}, false},
		{[]any{"jenkins", "authorizationStrategy", "loggedInUsersCanDoAnything", "allowAnonymousRead"}, false},
		{[]any{"jenkins", "numExecutors"}, 0},
		{[]any{"jenkins", "clouds", 0, "kubernetes", "namespace"}, "jenkins"},
		{[]any{"jenkins", "clouds", 0, "kubernetes", "webSocket"}, true},
		{[]any{"jenkins", "clouds", 0, "kubernetes", "jenkinsUrl"}, "http://jenkins.jenkins:8080/"},
		{[]any{"unclassified", "location", "url"}, "http://jenkins.jenkins:8080/"},
	} {
		if got := yamlField(casc, c.path...); got != c.want {
			t.Errorf("config.yaml %v = %#v, want %#v", c.path, got, c.want)
		}
	}
	script, _ := yamlField(casc, "jobs", 0, "script").(string)
	for _, want := range []string{`pipelineJob("serving-app")`, `scriptPath("series/chapter-4-ci-cd/examples/Jenkinsfile")`, `branch("main")`} {
		if !strings.Contains(script, want) {
			t.Errorf("job script lacks %s:\n%s", want, script)
		}
	}
	// JCasC expands ${...} in the whole file, job scripts included.
	if strings.Contains(script, "${") {
		t.Errorf("job script contains ${, which JCasC would expand:\n%s", script)
	}
	// The job reads the chapter's own Jenkinsfile from the repository.
	if _, err := fs.Stat(mlopsseries.Series(), "chapter-4-ci-cd/examples/Jenkinsfile"); err != nil {
		t.Errorf("the job's scriptPath names no file of the series: %v", err)
	}
	plugins := strings.Fields(yamlField(cm, "data", "plugins.txt").(string))
	for _, want := range []string{"configuration-as-code", "job-dsl", "workflow-aggregator", "git", "kubernetes"} {
		if !slices.Contains(plugins, want) {
			t.Errorf("plugins.txt %v lacks %s", plugins, want)
		}
	}

	dep := renderedObj(t, docs, "Deployment", "jenkins")
	spec := yamlField(dep, "spec", "template", "spec")
	if img := yamlField(spec, "containers", 0, "image"); img != "docker.io/jenkins/jenkins:2.580.2-jdk21" {
		t.Errorf("image = %v", img)
	}
	if yamlField(spec, "securityContext", "runAsUser") != float64(1000) || yamlField(spec, "securityContext", "fsGroup") != float64(1000) {
		t.Errorf("pod security context = %v", yamlField(spec, "securityContext"))
	}
	if cmd := fmt.Sprint(yamlField(spec, "initContainers", 0, "command")); !strings.HasPrefix(cmd, "[jenkins-plugin-cli --plugin-file /var/jenkins_config/plugins.txt") {
		t.Errorf("init container command = %s", cmd)
	}
	env := map[string]string{}
	for _, e := range yamlField(spec, "containers", 0, "env").([]any) {
		v, _ := yamlField(e, "value").(string)
		if ref := yamlField(e, "valueFrom", "secretKeyRef", "name"); ref != nil {
			v = fmt.Sprintf("%v/%v", ref, yamlField(e, "valueFrom", "secretKeyRef", "key"))
		}
		env[yamlField(e, "name").(string)] = v
	}
	for k, want := range map[string]string{
		"JENKINS_ADMIN_USER": "jenkins-admin/user", "JENKINS_ADMIN_PASSWORD": "jenkins-admin/password",
		"CASC_JENKINS_CONFIG": "/var/jenkins_config/casc",
	} {
		if env[k] != want {
			t.Errorf("env %s = %q, want %q", k, env[k], want)
		}
	}
	if !strings.Contains(env["JAVA_OPTS"], "-Djenkins.install.runSetupWizard=false") {
		t.Errorf("JAVA_OPTS %q does not skip the setup wizard", env["JAVA_OPTS"])
	}
	for _, probe := range []string{"startupProbe", "readinessProbe", "livenessProbe"} {
		if got := yamlField(spec, "containers", 0, probe, "httpGet", "path"); got != "/login" {
			t.Errorf("%s path = %v", probe, got)
		}
	}
	if yamlField(spec, "automountServiceAccountToken") != true || yamlField(spec, "serviceAccountName") != "jenkins-controller" {
		t.Errorf("the controller needs its ServiceAccount's token to start agent pods: %v %v",
			yamlField(spec, "serviceAccountName"), yamlField(spec, "automountServiceAccountToken"))
	}
	role := renderedObj(t, docs, "Role", "jenkins-agents")
	if got := fmt.Sprint(yamlField(role, "rules", 0)); !strings.Contains(got, "pods") || !strings.Contains(got, "create") {
		t.Errorf("Role jenkins-agents rule 0 = %s", got)
	}
	renderedObj(t, docs, "PersistentVolumeClaim", "jenkins-home")
}

// The footprint annotation (values agents.spawns) matches the agent pod the Jenkinsfile asks for:
// the sum of its containers' requests and memory limits.
func TestJenkinsfileAgentMatchesSpawns(t *testing.T) {
	b, err := fs.ReadFile(mlopsseries.Series(), "chapter-4-ci-cd/examples/Jenkinsfile")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "yaml '''")
	podYAML, _, ok2 := strings.Cut(rest, "'''")
	if !ok || !ok2 {
		t.Fatal("the Jenkinsfile has no yaml '''...''' agent pod")
	}
	var pod struct {
		Spec struct {
			Containers []struct {
				Name      string `yaml:"name"`
				Image     string `yaml:"image"`
				Resources struct {
					Requests map[string]string `yaml:"requests"`
					Limits   map[string]string `yaml:"limits"`
				} `yaml:"resources"`
			} `yaml:"containers"`
		} `yaml:"spec"`
	}
	if err := yaml.Unmarshal([]byte(podYAML), &pod); err != nil {
		t.Fatalf("agent pod YAML: %v", err)
	}
	var cpu, mem, limit resource.Quantity
	images := map[string]string{}
	for _, c := range pod.Spec.Containers {
		images[c.Name] = c.Image
		for _, q := range []struct {
			sum *resource.Quantity
			v   string
		}{{&cpu, c.Resources.Requests["cpu"]}, {&mem, c.Resources.Requests["memory"]}, {&limit, c.Resources.Limits["memory"]}} {
			if q.v == "" {
				t.Errorf("container %s lacks a cpu/memory request or a memory limit", c.Name)
				continue
			}
			q.sum.Add(resource.MustParse(q.v))
		}
	}
	dep := renderedObj(t, chapter4Docs(t), "Deployment", "jenkins")
	var spawns struct {
		Image, CPU, Memory, MemoryLimit string
		Optional                        bool
	}
	ann, _ := yamlField(dep, "metadata", "annotations", "mlops-series.io/spawns").(string)
	if err := json.Unmarshal([]byte(ann), &spawns); err != nil {
		t.Fatalf("spawns annotation %q: %v", ann, err)
	}
	if spawns.Image != images["python"] {
		t.Errorf("spawns image %s, the Jenkinsfile's python container runs %s", spawns.Image, images["python"])
	}
	for _, c := range []struct {
		name string
		sum  resource.Quantity
		want string
	}{{"cpu", cpu, spawns.CPU}, {"memory", mem, spawns.Memory}, {"memoryLimit", limit, spawns.MemoryLimit}} {
		if c.sum.Cmp(resource.MustParse(c.want)) != 0 {
			t.Errorf("agent pod %s adds up to %s, agents.spawns says %s", c.name, c.sum.String(), c.want)
		}
	}
}
