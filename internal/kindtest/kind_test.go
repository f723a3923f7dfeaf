//go:build kind

// Package kindtest is the real-container layer (DESIGN.md, Testing, layer 4): the CLI itself, with
// its own kind provisioner, brings the series' chapters up on a kind cluster of real containers in
// the local Docker Engine, from the node image and stand-in images `make kind-images` builds here.
// Run by `make kind-test` (part of `make test`); it needs the build tag `kind`.
package kindtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

const node = "mlops-series-control-plane"

type env struct {
	t       *testing.T
	bin     string
	overlay string
	base    []string
}

func setup(t *testing.T) *env {
	t.Helper()
	if out, err := exec.Command("docker", "info", "-f", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		fatalf(t, "no Docker Engine answers (run `bash hack/kind/docker-up.sh` or `make kind-images`): %v\n%s", err, out)
	}
	cache := os.Getenv("MLOPS_CACHE")
	if cache == "" {
		fatal(t, "MLOPS_CACHE is not set: run through `make kind-test`")
	}
	overlay := filepath.Join(cache, "kind", "kind-config.yaml")
	if _, err := os.Stat(overlay); err != nil {
		fatalf(t, "kind config overlay missing (run `make kind-images`): %v", err)
	}
	bin, err := filepath.Abs(envOr("MLOPS_BIN", "../../bin/mlops-series"))
	if err != nil {
		fatal(t, err)
	}
	if _, err := os.Stat(bin); err != nil {
		fatalf(t, "CLI binary missing (run `make build`): %v", err)
	}
	// The CLI keeps the cluster's kubeconfig and its state under the user config folder: a
	// temporary one, so the test touches nothing of the user's.
	cfg := t.TempDir()
	// English output whatever the developer's locale: the test reads the CLI's lines.
	base := append(os.Environ(), "XDG_CONFIG_HOME="+cfg, "NO_COLOR=1", "LANG=C", "LC_ALL=C", "LC_MESSAGES=C")
	e := &env{t: t, bin: bin, overlay: overlay, base: base}
	if exists(t) {
		// In CI a cluster left by an interrupted run is removed the way a reader would (down --all
		// deletes only a cluster mlops-series created); on a workstation it may be the user's own.
		if os.Getenv("CI") != "true" {
			fatalf(t, "a kind node %s already exists: this test creates and deletes its own cluster; remove it with `mlops-series down --all`", node)
		}
		e.run(5*time.Minute, "down", "--all")
		if exists(t) {
			fatalf(t, "a kind node %s exists that mlops-series did not create: remove it by hand", node)
		}
	}
	return e
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// run runs the CLI and returns its combined output and exit code.
func (e *env) run(timeout time.Duration, args ...string) (string, int) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.bin, args...)
	cmd.Env = e.base
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	code := 0
	if err != nil {
		code = -1
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
	}
	e.t.Logf("$ mlops-series %s  (exit %d, %s)\n%s", strings.Join(args, " "), code, time.Since(start).Round(100*time.Millisecond), out.String())
	return out.String(), code
}

// must runs the CLI and fails the test unless it exits 0; it returns the output.
func (e *env) must(timeout time.Duration, args ...string) string {
	e.t.Helper()
	out, code := e.run(timeout, args...)
	if code != 0 {
		e.dump()
		fatalf(e.t, "mlops-series %s: exit %d", strings.Join(args, " "), code)
	}
	return out
}

func (e *env) up(id string) string {
	e.t.Helper()
	return e.must(15*time.Minute, "up", id, "--kind-config", e.overlay)
}

// kubectl runs kubectl inside the kind node (its admin kubeconfig): no kubectl on the host needed.
func kubectl(t *testing.T, args ...string) (string, error) {
	t.Helper()
	full := append([]string{"exec", node, "kubectl", "--kubeconfig", "/etc/kubernetes/admin.conf"}, args...)
	out, err := exec.Command("docker", full...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func mustKubectl(t *testing.T, args ...string) string {
	t.Helper()
	out, err := kubectl(t, args...)
	if err != nil {
		fatalf(t, "kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func exists(t *testing.T) bool {
	t.Helper()
	out, _ := exec.Command("docker", "ps", "-a", "-q", "--filter", "name=^"+node+"$").Output()
	return len(bytes.TrimSpace(out)) > 0
}

// dump logs what explains a failure: every pod, recent events.
func (e *env) dump() {
	if !exists(e.t) {
		return
	}
	for _, args := range [][]string{
		{"get", "pods", "-A", "-o", "wide"},
		{"get", "events", "-A", "--sort-by=.lastTimestamp"},
	} {
		out, _ := kubectl(e.t, args...)
		e.t.Logf("kubectl %s:\n%s", strings.Join(args, " "), tail(out, 60))
	}
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// psqlCount runs a count query in a chapter's PostgreSQL pod.
func psqlCount(t *testing.T, ns, db, query string) int {
	t.Helper()
	// Through the pod's Unix socket (local connections are trusted; TCP asks for the password).
	out := mustKubectl(t, "exec", "-n", ns, "postgresql-0", "--", "sh", "-c",
		fmt.Sprintf(`psql -U "$POSTGRES_USER" -d %s -tAc %q`, db, query))
	n, err := strconv.Atoi(strings.TrimSpace(lastLine(out)))
	if err != nil {
		fatalf(t, "%s: %q is not a count", query, out)
	}
	return n
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// revisions returns release -> Helm revision from `status -o json`.
func (e *env) revisions() map[string]int {
	e.t.Helper()
	out := e.must(2*time.Minute, "status", "-o", "json", "-q")
	// status prints progress on stderr: keep the JSON document (from the first '{' or '[').
	i := strings.IndexAny(out, "[{")
	if i < 0 {
		fatalf(e.t, "status -o json printed no JSON:\n%s", out)
	}
	var doc any
	if err := json.Unmarshal([]byte(out[i:]), &doc); err != nil {
		fatalf(e.t, "status -o json: %v\n%s", err, out)
	}
	revs := map[string]int{}
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if name, ok := x["name"].(string); ok {
				if r, ok := x["revision"].(float64); ok {
					ns, _ := x["namespace"].(string)
					revs[ns+"/"+name] = int(r)
				}
			}
			for _, c := range x {
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(doc)
	if len(revs) == 0 {
		fatalf(e.t, "status -o json lists no release:\n%s", out)
	}
	return revs
}

// waitReady waits until every pod of the cluster is Ready or Succeeded, and, when since is not
// zero, every running container started at or after since. After a restart of the node, the API
// server answers before the kubelet has reported anything: the pods still show the Ready
// statuses of before the restart (a warm run saw every pod "Ready" 33 s after `docker restart`,
// and chapter 6's port-forward then found no pod in the runtime). Only containers started after
// the restart tell that the kubelet has brought them back.
func waitReady(t *testing.T, within time.Duration, since time.Time) {
	t.Helper()
	deadline := time.Now().Add(within)
	var last string
	for time.Now().Before(deadline) {
		out, err := kubectl(t, "get", "pods", "-A", "--no-headers", "-o",
			"custom-columns=NS:.metadata.namespace,NAME:.metadata.name,PHASE:.status.phase,READY:.status.containerStatuses[*].ready,STARTED:.status.containerStatuses[*].state.running.startedAt")
		if err == nil {
			last = out
			bad := 0
			for _, l := range strings.Split(out, "\n") {
				f := strings.Fields(l)
				if len(f) < 4 || f[2] == "Succeeded" {
					continue
				}
				if f[2] != "Running" || strings.Contains(f[3], "false") || !startedSince(f[4:], since) {
					bad++
				}
			}
			if bad == 0 && out != "" {
				return
			}
		}
		time.Sleep(3 * time.Second)
	}
	fatalf(t, "pods not ready within %s (containers started since %s):\n%s", within, since.Format(time.RFC3339), last)
}

// startedSince says whether every start time in the column (comma-separated RFC 3339 times, as
// custom-columns prints them) is at or after since; a zero since accepts anything.
func startedSince(column []string, since time.Time) bool {
	if since.IsZero() {
		return true
	}
	if len(column) == 0 {
		return false
	}
	for _, v := range strings.Split(column[0], ",") {
		at, err := time.Parse(time.RFC3339, v)
		if err != nil || at.Before(since) {
			return false
		}
	}
	return true
}

// mlflowSeed writes, through MLflow's client inside the MLflow pod, an experiment with a run and an
// artifact, and a registered model with one version from that run's artifacts.
const mlflowSeed = `
import mlflow
from mlflow import MlflowClient
mlflow.set_tracking_uri("http://127.0.0.1:5000")
c = MlflowClient()
exp = c.create_experiment("kindtest-kept")
run = c.create_run(exp)
c.log_param(run.info.run_id, "kept", "yes")
c.log_metric(run.info.run_id, "score", 0.5)
c.log_text(run.info.run_id, "kept across restarts", "note.txt")
c.set_terminated(run.info.run_id)
c.create_registered_model("kindtest-kept")
v = c.create_model_version("kindtest-kept", run.info.artifact_uri, run_id=run.info.run_id)
print("seeded", exp, run.info.run_id, v.version)
`

// mlflowVerify reads the seeded data back through MLflow's API, artifact included.
const mlflowVerify = `
import mlflow
from mlflow import MlflowClient
mlflow.set_tracking_uri("http://127.0.0.1:5000")
c = MlflowClient()
exp = c.get_experiment_by_name("kindtest-kept")
assert exp is not None, "experiment kindtest-kept is gone"
runs = c.search_runs([exp.experiment_id])
assert len(runs) == 1 and runs[0].data.params.get("kept") == "yes", runs
text = mlflow.artifacts.load_text(runs[0].info.artifact_uri + "/note.txt")
assert text == "kept across restarts", text
versions = c.search_model_versions("name='kindtest-kept'")
assert len(versions) == 1, versions
print("kept", exp.experiment_id, runs[0].info.run_id, versions[0].version)
`

// podStatuses are the container statuses of a namespace's pods, as kubectl prints them.
type podStatuses struct {
	Items []struct {
		Metadata struct {
			Name string `json:"name"`
		} `json:"metadata"`
		Status struct {
			ContainerStatuses []struct {
				Name         string `json:"name"`
				RestartCount int    `json:"restartCount"`
				Ready        bool   `json:"ready"`
				LastState    struct {
					Terminated *struct {
						Reason   string `json:"reason"`
						Message  string `json:"message"`
						ExitCode int    `json:"exitCode"`
					} `json:"terminated"`
				} `json:"lastState"`
			} `json:"containerStatuses"`
		} `json:"status"`
	} `json:"items"`
}

func pods(t *testing.T, ns string) podStatuses {
	t.Helper()
	var p podStatuses
	if err := json.Unmarshal([]byte(mustKubectl(t, "get", "pods", "-n", ns, "-o", "json")), &p); err != nil {
		fatalf(t, "pods of %s: %v", ns, err)
	}
	return p
}

// restartCounts returns namespace/pod/container -> restarts, for requireNoRestarts' baseline.
func restartCounts(t *testing.T, namespaces ...string) map[string]int {
	t.Helper()
	counts := map[string]int{}
	for _, ns := range namespaces {
		for _, p := range pods(t, ns).Items {
			for _, c := range p.Status.ContainerStatuses {
				counts[ns+"/"+p.Metadata.Name+"/"+c.Name] = c.RestartCount
			}
		}
	}
	return counts
}

// requireNoRestarts fails when a container in these namespaces restarted or was OOM-killed more
// often than baseline (from restartCounts; nil: never).
func requireNoRestarts(t *testing.T, baseline map[string]int, namespaces ...string) {
	t.Helper()
	for _, ns := range namespaces {
		for _, p := range pods(t, ns).Items {
			for _, c := range p.Status.ContainerStatuses {
				if c.RestartCount <= baseline[ns+"/"+p.Metadata.Name+"/"+c.Name] {
					continue
				}
				last := c.LastState.Terminated
				if last == nil {
					errorf(t, "%s/%s: container %s restarted %d times", ns, p.Metadata.Name, c.Name, c.RestartCount)
					continue
				}
				// StartError: the container runtime could not start the process (runc or containerd
				// failing, e.g. timing out on a loaded machine); the app never ran. A start failure of
				// the app's own making repeats and leaves the container not ready, which fails the
				// checks. Logged, not failed, when the container is ready now.
				if last.Reason == "StartError" && c.Ready {
					t.Logf("%s/%s: container %s was started again after the runtime failed to start it (%d restarts, ready now): %s",
						ns, p.Metadata.Name, c.Name, c.RestartCount, last.Message)
					continue
				}
				errorf(t, "%s/%s: container %s restarted or was killed: %d restarts, last %s (exit %d): %s",
					ns, p.Metadata.Name, c.Name, c.RestartCount, last.Reason, last.ExitCode, last.Message)
			}
		}
	}
}

// up prints "checks 3/3 passed", check prints "chapter-6: 3 passed, 0 failed, 0 skipped".
var (
	upChecks    = regexp.MustCompile(`checks (\d+)/(\d+) passed`)
	checkCounts = regexp.MustCompile(`: (\d+) passed, (\d+) failed, (\d+) skipped`)
)

func requireChecks(t *testing.T, out string) {
	t.Helper()
	if m := upChecks.FindStringSubmatch(out); m != nil && m[1] == m[2] && m[1] != "0" {
		return
	}
	if m := checkCounts.FindStringSubmatch(out); m != nil && m[1] != "0" && m[2] == "0" && m[3] == "0" {
		return
	}
	fatalf(t, "want every check passed (none skipped), got:\n%s", out)
}

// TestChaptersOnKind: chapter 6 up on an older MLflow, then upgraded to the pinned one with its
// experiments and model versions kept (upgrade_test.go); a no-op re-up; chapter 9 (KubeRay and a
// RayCluster of the series' own image, its training job logging to chapter 6's MLflow), then down
// of that chapter; up of chapters 5 and 8 on the kind cluster the CLI created, each with its
// functional checks against the real pods; data kept across database pod deletions and a restart
// of the node container; up of chapters 10, 7 (the series' own images; predict and load checks)
// and 3 (a notebook pod spawned by KubeSpawner runs code that logs to MLflow), and the whole path
// across 8, 5, 6, 7 and 10; down --all deleting the cluster; and a second cluster: up of chapter 10
// again after down --all, served from the local engine's images (no registry is reachable here,
// so it pulls nothing from the network), and chapter 2 (a Git server and Flux) with a GitOps push.
//
// The order keeps few chapters running at once (the 2 CPUs of the CI machines run the other test
// layers beside this one, and every pod that is up costs CPU while it idles): chapter 9 needs most
// of the node's CPU requests and goes first, beside chapter 6 only; the node restart restarts only
// the chapters whose data it is about; the second cluster holds two small chapters.
func TestChaptersOnKind(t *testing.T) {
	e := setup(t)
	t.Cleanup(func() {
		if exists(t) {
			if t.Failed() {
				e.dump()
			}
			e.run(5*time.Minute, "down", "--all")
		}
	})

	// The images of the next chapters go into the node in the background while the foreground
	// upgrades chapter 6 and brings chapters up (importing is mostly the node's containerd writing
	// files; the ups mostly wait on pods), one chapter after another so that an up never loads what
	// the background is loading. Chapters 9, 7, 3 and 2 run images of the series' own, built as a
	// reader builds them (images build, which loads them too, except chapter 2's, which goes up on
	// the second cluster and is loaded by its up), on the Python base built here (no registry
	// serves python:3.11-slim-bookworm here) with the machine's CA bundle for pip; chapters 5, 8 and
	// 10 get `images load`. Neither verb takes the cluster lock.
	order := []string{"chapter-9", "chapter-5", "chapter-8", "chapter-10", "chapter-7", "chapter-3", "chapter-2"}
	built := map[string]chan int{}
	for _, id := range order {
		built[id] = make(chan int, 1)
	}
	buildsDone := make(chan struct{})
	started := false
	// A test that stops early waits for the background before its cleanup deletes the cluster (and
	// before it ends: a goroutine must not log after its test).
	t.Cleanup(func() {
		if started {
			<-buildsDone
		}
	})
	background := func() {
		defer close(buildsDone)
		for _, id := range order {
			start := time.Now()
			args := []string{"images", "load", id}
			if id == "chapter-7" || id == "chapter-3" || id == "chapter-9" || id == "chapter-2" {
				args = []string{"images", "build", id,
					"--build-arg", "BASE=mlops-series.local/rootfs:py-bookworm", "--ca-file", "/etc/ssl/certs/ca-certificates.crt"}
			}
			if id == "chapter-2" {
				// Chapter 2 goes up on the second cluster (below): built now, loaded by its up.
				args = append(args, "--no-load")
			}
			out, code := e.run(45*time.Minute, args...)
			t.Logf("TIMING %s %s %s (exit %d, in the background)\n%s", args[0], args[1]+" "+id, time.Since(start).Round(100*time.Millisecond), code, tail(out, 6))
			if code == 0 && args[1] == "load" && !strings.Contains(out, "(through ") {
				// The cluster up created mounts the share folder: the archive goes through it.
				errorf(t, "images load %s streamed the archive instead of writing it into the share folder:\n%s", id, tail(out, 6))
			}
			built[id] <- code
		}
	}
	loaded := map[string]bool{"chapter-5": true, "chapter-8": true, "chapter-10": true}
	waitBuilt := func(id string) {
		t.Helper()
		start := time.Now()
		if code := <-built[id]; code != 0 {
			fatalf(t, "mlops-series images load/build %s: exit %d", id, code)
		}
		t.Logf("TIMING waited %s for the images of %s", time.Since(start).Round(100*time.Millisecond), id)
	}

	// upBuilt brings up a chapter whose images the background built or loaded, requires its checks
	// (and, for a chapter the background gave `images load`, that up loaded none of its images
	// again), and logs its time and the lines of its output that
	// contain one of show.
	upBuilt := func(id string, show ...string) string {
		t.Helper()
		waitBuilt(id)
		start := time.Now()
		out := e.up(id)
		requireChecks(t, out)
		if loaded[id] && !strings.Contains(out, "images: loaded 0 of") {
			errorf(t, "up %s loaded images the background had loaded:\n%s", id, out)
		}
		t.Logf("TIMING up %s %s", id, time.Since(start).Round(100*time.Millisecond))
		for _, l := range strings.Split(out, "\n") {
			for _, s := range show {
				if strings.Contains(l, s) {
					t.Logf("%s: %s", id, strings.TrimSpace(l))
					break
				}
			}
		}
		return out
	}

	// The cluster is created with chapter 6 on an older MLflow, which the next up upgrades to the
	// pinned one on the same database (upgrade_test.go). The background starts once the cluster is
	// there.
	previousMLflow := e.mlflowUpgrade(func() {
		started = true
		go background()
	})

	before := e.revisions()
	start := time.Now()
	out := e.up("chapter-6")
	if !strings.Contains(out, "unchanged") {
		errorf(t, "re-up does not say unchanged:\n%s", out)
	}
	t.Logf("TIMING re-up chapter-6 %s", time.Since(start).Round(100*time.Millisecond))
	for rel, r := range e.revisions() {
		if before[rel] != r {
			errorf(t, "re-up changed %s from revision %d to %d", rel, before[rel], r)
		}
	}

	// Chapter 9 beside chapter 6 only: the KubeRay operator and a RayCluster of the series' own Ray
	// image; its training job runs on the workers and logs its run and model to chapter 6's MLflow
	// (a series copy gives the Ray pods the tracking URI, as the chapter's README shows readers).
	waitBuilt("chapter-9")
	dir := seriesWithValues(t, "chapter-9-*", "raycluster.yaml",
		"env:\n  - name: MLFLOW_TRACKING_URI\n    value: http://mlflow.mlflow.svc:5000\n")
	start = time.Now()
	out = e.must(20*time.Minute, "up", "chapter-9", "--series", dir, "--kind-config", e.overlay)
	requireChecks(t, out)
	t.Logf("TIMING up chapter-9 %s", time.Since(start).Round(100*time.Millisecond))
	m := regexp.MustCompile(`SUCCEEDED in .*logged MLflow run ([0-9a-f]{32})`).FindStringSubmatch(out)
	if m == nil {
		fatalf(t, "chapter-9's ray-job check names no MLflow run:\n%s", out)
	}
	t.Logf("chapter-9: %s", strings.TrimSpace(m[0]))
	// The run is in chapter 6's MLflow, with its metric and the model it logged.
	t.Log(mlflowPy(t, rayRunVerify, m[1]))
	requireNoRestarts(t, nil, "ray")

	// down of one chapter removes its namespace (and the RayCluster with it); chapter 6 stays.
	start = time.Now()
	e.must(10*time.Minute, "down", "chapter-9")
	t.Logf("TIMING down chapter-9 %s", time.Since(start).Round(100*time.Millisecond))
	if out, err := kubectl(t, "get", "namespace", "ray", "-o", "name"); err == nil && out != "" {
		errorf(t, "namespace ray still exists after down chapter-9: %s", out)
	}
	if out := mustKubectl(t, "get", "pods", "-n", "mlflow", "-o", "name"); !strings.Contains(out, "pod/mlflow-") {
		errorf(t, "down chapter-9 took chapter 6's MLflow with it: %q", out)
	}

	for _, id := range []string{"chapter-5", "chapter-8"} {
		upBuilt(id)
	}
	// No container of the series restarted or was OOM-killed through the ups and checks.
	requireNoRestarts(t, nil, "mlflow", "airflow", "feast")

	// Data is kept: data written through the tools' own APIs must survive database pod deletions
	// and a restart of the node container. The checks clean up after themselves, so the test
	// writes its own: an MLflow experiment with a run and a registered model version (MLflow's
	// client, inside the MLflow pod), the DAG runs the Airflow check left, Feast's registry.
	mustKubectl(t, "exec", "-n", "mlflow", "deploy/mlflow", "-c", "mlflow", "--", "python", "-c", mlflowSeed)
	experiments := psqlCount(t, "mlflow", "mlflow", "select count(*) from experiments where name = 'kindtest-kept'")
	versions := psqlCount(t, "mlflow", "mlflow", "select count(*) from model_versions where name = 'kindtest-kept'")
	dagRuns := psqlCount(t, "airflow", "airflow", "select count(*) from dag_run")
	registry := mustKubectl(t, "exec", "-n", "feast", "deploy/feast", "-c", "feast", "--", "sh", "-c",
		`find /feast -name 'registry*.db' -exec sha256sum {} + | sort`)
	t.Logf("before restarts: %d experiment, %d model version, %d DAG runs, feast registry %q", experiments, versions, dagRuns, registry)
	if experiments != 1 || versions != 1 || dagRuns < 1 || registry == "" {
		fatalf(t, "nothing to compare: %d experiments, %d versions, %d DAG runs, registry %q", experiments, versions, dagRuns, registry)
	}
	mustKubectl(t, "delete", "pod", "-n", "mlflow", "postgresql-0", "--wait=true")
	mustKubectl(t, "delete", "pod", "-n", "airflow", "postgresql-0", "--wait=true")
	waitReady(t, 5*time.Minute, time.Time{})
	start = time.Now()
	// Start times are whole seconds: containers started after the restart began are at or after
	// this.
	restarted := start.Truncate(time.Second)
	if out, err := exec.Command("docker", "restart", node).CombinedOutput(); err != nil {
		fatalf(t, "docker restart %s: %v\n%s", node, err, out)
	}
	// The API server comes back first; then every pod must be Ready again.
	deadline := time.Now().Add(3 * time.Minute)
	for {
		if _, err := kubectl(t, "get", "--raw", "/readyz"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			fatal(t, "the API server did not come back after the node restart")
		}
		time.Sleep(2 * time.Second)
	}
	waitReady(t, 10*time.Minute, restarted)
	t.Logf("TIMING node restart to all pods ready %s", time.Since(start).Round(time.Second))
	for _, id := range []string{"chapter-6", "chapter-5", "chapter-8"} {
		out, code := e.run(10*time.Minute, "check", id)
		if code != 0 {
			e.dump()
			fatalf(t, "check %s after restarts: exit %d", id, code)
		}
		requireChecks(t, out)
	}
	// Read back through MLflow's API, not only the database; also what the older MLflow wrote
	// before the upgrade.
	mustKubectl(t, "exec", "-n", "mlflow", "deploy/mlflow", "-c", "mlflow", "--", "python", "-c", mlflowVerify)
	t.Log(mlflowPy(t, upgradeVerify, previousMLflow))
	if n := psqlCount(t, "airflow", "airflow", "select count(*) from dag_run"); n < dagRuns {
		errorf(t, "DAG runs: %d after restarts, %d before", n, dagRuns)
	}
	if got := mustKubectl(t, "exec", "-n", "feast", "deploy/feast", "-c", "feast", "--", "sh", "-c",
		`find /feast -name 'registry*.db' -exec sha256sum {} + | sort`); got != registry {
		errorf(t, "feast registry changed across restarts:\nbefore %s\nafter  %s", registry, got)
	}
	// The restart restarted every container once; from here on none may restart again.
	afterRestart := restartCounts(t, "mlflow", "airflow", "feast")

	upBuilt("chapter-10")
	// Chapter 7: up with its predict and load checks on the real pods.
	upBuilt("chapter-7", "POST /predict")

	// The whole path across chapters 8, 5, 6, 7 and 10: the DAG trains in a pod of chapter 7's
	// image with Feast's features, the new version becomes the champion, the app answers with it
	// and Prometheus counts its predictions.
	start = time.Now()
	out = e.must(20*time.Minute, "check", "path")
	t.Logf("TIMING check path %s", time.Since(start).Round(100*time.Millisecond))
	if !strings.Contains(out, "all 5 hops passed") {
		errorf(t, "check path did not pass every hop:\n%s", out)
	}
	// The training pod is deleted when it ends.
	if left := mustKubectl(t, "get", "pods", "-n", "airflow", "-l", "kubernetes_pod_operator=True", "-o", "name"); strings.TrimSpace(left) != "" {
		errorf(t, "the DAG's training pod was left behind: %s", left)
	}

	// Chapter 3: up with its kernel check spawning a real notebook pod through KubeSpawner
	// (chapter 6 is up: the kernel logs a run to MLflow, read back through MLflow's API) and
	// TensorBoard's scalars API.
	out = upBuilt("chapter-3", "JupyterHub ", "run iris-sgd")
	if !strings.Contains(out, "logged MLflow run") {
		errorf(t, "chapter-3's kernel check did not log to chapter 6's MLflow:\n%s", out)
	}
	// The check's user and its server are gone: no notebook pod, no user volume left.
	if left := mustKubectl(t, "get", "pods,pvc", "-n", "jupyterhub", "-l", "component=singleuser-server", "-o", "name"); strings.TrimSpace(left) != "" {
		errorf(t, "the kernel check left a user's server behind: %s", left)
	}
	if left := mustKubectl(t, "get", "pvc", "-n", "jupyterhub", "-o", "name"); strings.Contains(left, "claim-") {
		errorf(t, "the kernel check left a user's volume behind: %s", left)
	}
	requireNoRestarts(t, afterRestart, "mlflow", "airflow", "feast", "monitoring", "serving", "jupyterhub", "tensorboard")

	start = time.Now()
	out = e.must(10*time.Minute, "down", "--all")
	t.Logf("TIMING down --all %s", time.Since(start).Round(100*time.Millisecond))
	if exists(t) {
		fatal(t, "down --all left the kind node container")
	}
	// The cluster the CLI created goes whole: no chapter is uninstalled one by one first.
	for _, id := range []string{"chapter-5", "chapter-6", "chapter-7", "chapter-8", "chapter-10", "chapter-3"} {
		if !strings.Contains(out, id+": removed with the cluster") {
			errorf(t, "down --all does not say %s goes with the cluster:\n%s", id, out)
		}
	}
	if strings.Contains(out, "• uninstall") {
		errorf(t, "down --all uninstalled releases of a cluster it then deleted:\n%s", out)
	}

	// A reader's second up after down --all: every image comes from the local engine.
	start = time.Now()
	out = e.up("chapter-10")
	requireChecks(t, out)
	t.Logf("TIMING up chapter-10 after down --all %s", time.Since(start).Round(100*time.Millisecond))
	if !strings.Contains(out, "(through ") {
		errorf(t, "up chapter-10 on the new cluster did not load its images through the share folder:\n%s", out)
	}

	// Chapter 2 on the same cluster: the Git server (the series' own image) gets gitops/ pushed
	// by up, Flux's controllers (stand-ins built from the same Go modules) sync it; then a change
	// pushed with `gitops push` reaches the cluster, and the Git server's pod is replaced without
	// losing the repository (its volume).
	waitBuilt("chapter-2")
	start = time.Now()
	out = e.up("chapter-2")
	requireChecks(t, out)
	t.Logf("TIMING up chapter-2 %s", time.Since(start).Round(100*time.Millisecond))
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "pushed to series.git") || strings.Contains(l, "applied by Kustomization") || strings.Contains(l, "put Git's value") {
			t.Logf("chapter-2: %s", strings.TrimSpace(l))
		}
	}
	dir = seriesWithFile(t, "chapter-2-*/gitops/settings.yaml", "MLFLOW_EXPERIMENT_PREFIX: team-a", "MLFLOW_EXPERIMENT_PREFIX: team-a-kind")
	start = time.Now()
	out = e.must(5*time.Minute, "gitops", "push", "--series", dir, "-m", "kind test: a new prefix")
	t.Logf("TIMING gitops push %s\n%s", time.Since(start).Round(100*time.Millisecond), tail(out, 3))
	if got := mustKubectl(t, "get", "configmap", "-n", "ml-team-a", "team-settings", "-o", "jsonpath={.data.MLFLOW_EXPERIMENT_PREFIX}"); strings.TrimSpace(got) != "team-a-kind" {
		errorf(t, "after gitops push, team-settings has MLFLOW_EXPERIMENT_PREFIX %q, want team-a-kind", got)
	}
	head := mustKubectl(t, "get", "gitrepository", "-n", "flux-system", "series", "-o", "jsonpath={.status.artifact.revision}")
	mustKubectl(t, "delete", "pod", "-n", "git", "-l", "app.kubernetes.io/instance=git-server", "--wait=true")
	waitReady(t, 3*time.Minute, time.Time{})
	out, code := e.run(5*time.Minute, "check", "chapter-2")
	if code != 0 {
		e.dump()
		fatalf(t, "check chapter-2 after the Git server's pod was replaced: exit %d\n%s", code, out)
	}
	requireChecks(t, out)
	if !strings.Contains(out, strings.TrimSpace(head)) {
		errorf(t, "after the Git server's pod was replaced the repository is not at %s:\n%s", head, out)
	}
	requireNoRestarts(t, nil, "git", "flux-system", "monitoring")
	e.must(10*time.Minute, "down", "--all")
	if exists(t) {
		fatal(t, "down --all left the kind node container")
	}
}
