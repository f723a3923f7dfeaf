package action

import (
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/mlops-series/mlops-series/internal/nativetest"
	"github.com/mlops-series/mlops-series/internal/testenv"
)

// TestChapter4OnControlPlane brings chapter 4 up on the test control plane and runs its checks
// through a client-go port-forward to the Jenkins pod. No real Jenkins can run here (its war and
// plugins are served by no registry reachable here): KWOK sends the pod's port 8080 to a server
// replaying answers RECORDED FROM JENKINS' DOCUMENTED API (nativetest.StartJenkinsReplay,
// internal/check/testdata/jenkins), which accepts only the password the chart's Secret holds. So
// this proves the chart installs and becomes ready, the Secret reaches `creds` and the check, and
// the check's requests (login, crumb and session, build, wait) go through the CLI's port-forward;
// not that Jenkins applies the JCasC file.
func TestChapter4OnControlPlane(t *testing.T) {
	const password = "kwok-jenkins-pw"
	// The job has never built: the first check starts build #1 and finds it SUCCESS; the next look
	// at the last build finds it FAILURE (a later build, as after a reader's "Build Now").
	jenkins := nativetest.StartJenkinsReplay(t, nativetest.JenkinsScenario{
		User: "admin", Password: password,
		Job: "job-never-built", AfterBuild: []string{"job-built"},
		Runs: []string{"run-success", "run-failure"},
	})
	tenv := testenv.Require(t, testenv.Options{PortForwards: []testenv.PortForward{{
		Namespace: "jenkins", Selector: map[string]string{"app.kubernetes.io/instance": "jenkins", "app.kubernetes.io/component": "controller"},
		Ports: []int32{8080}, TargetPort: int32(portOf(t, jenkins.URL)),
	}}})
	e := newCPEnv(t, tenv)
	e.Lib = seriesWithOverrides(t, map[string]string{"chapter-4/jenkins": "admin: {password: " + password + "}\n"})
	ctx := t.Context()

	start := time.Now()
	if err := e.Up(ctx, "chapter-4", UpOptions{Timeout: 2 * time.Minute}); err != nil {
		t.Fatalf("up chapter-4: %v\n%s", err, e.out)
	}
	t.Logf("up chapter-4 with its checks in %s", time.Since(start).Round(time.Millisecond))
	for _, want := range []string{"installed (namespace jenkins, revision 1)", "checks 4/4 passed", "✓ jenkins-job", "✓ workflow",
		"Jenkins 2.580.2: job serving-app build #1 SUCCESS"} {
		if !strings.Contains(e.out.String(), want) {
			t.Errorf("up output lacks %q:\n%s", want, e.out)
		}
	}
	if jenkins.Builds() != 1 {
		t.Errorf("builds started by the check: %d, want 1", jenkins.Builds())
	}

	// creds reads the login the chart generated (here: set by the values) from the Secret.
	rep, err := e.Creds(ctx, "jenkins")
	if err != nil {
		t.Fatalf("creds jenkins: %v", err)
	}
	if len(rep.Logins) != 1 || rep.Logins[0].Username != "admin" || rep.Logins[0].Password != password ||
		rep.Logins[0].Secret != "jenkins-admin" || rep.Logins[0].Open != "jenkins" {
		t.Errorf("creds jenkins = %+v", rep.Logins)
	}

	// The job's last build failed: check exits 2, names the build and shows its console's end; it
	// starts no other build.
	e.out.Reset()
	err = e.Check(ctx, "chapter-4", CheckOptions{ClusterRequested: true})
	if Code(err) != ExitCheckFailed {
		t.Fatalf("check with a failed last build: exit %d (%v), want 2\n%s", Code(err), err, e.out)
	}
	for _, want := range []string{"✗ jenkins-job", "job serving-app last build #1 is FAILURE", "FAILED serving/tests/test_app.py::test_predict_champion",
		"✓ jenkins-login", "read: docs/ko/chapter-4.md#pipeline"} {
		if !strings.Contains(e.out.String(), want) {
			t.Errorf("failed check output lacks %q:\n%s", want, e.out)
		}
	}
	if jenkins.Builds() != 1 {
		t.Errorf("builds started: %d, want still 1", jenkins.Builds())
	}

	e.out.Reset()
	if err := e.Down(ctx, "chapter-4", DownOptions{Timeout: 2 * time.Minute}); err != nil {
		t.Fatalf("down chapter-4: %v\n%s", err, e.out)
	}
	assertGone(t, tenv)
	if _, err := tenv.Client().CoreV1().Namespaces().Get(ctx, "jenkins", getOpts); !apierrors.IsNotFound(err) {
		t.Errorf("namespace jenkins left behind (err %v)", err)
	}
}
