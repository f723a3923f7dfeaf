//go:build kind

package kindtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The MLflow schema upgrade (issue 7, point 4): a reader who brought chapter 6 up with an older
// MLflow and runs `up chapter-6` again after the series pinned a newer one keeps the same database,
// at the older schema. The chart's db-upgrade init container (charts/mlflow,
// backendStore.postgres.upgradeSchema) runs `mlflow db upgrade` on it before the server starts.
// This phase brings chapter 6 up with the older MLflow stand-in (hack/kind/standins/mlflow-previous),
// writes experiments, runs and model versions with tags through MLflow's API, brings chapter 6 up
// with the pinned image and requires the init container to have migrated the schema, the server to
// find it current, the checks to pass and everything written before to read back through the newer
// server's API.
//
// Without the init container this particular upgrade would not fail: MLflow's server runs the
// migrations itself when one of its tables is missing, and every release before 3.17.0 lacks
// tables 3.17 added (it refuses to start, "Detected out-of-date database schema", only when a
// release changes columns or indexes and adds no table). So the test asserts the step did the
// migration (its log names the old revision; the server's log does not show it migrating) rather
// than a refusal this pair of versions cannot show.
//
// The older image reaches the CLI the way a reader would give it: --series with a copy of the
// series folder whose values/mlflow.yaml sets image.tag (the CLI has no --set or --values; the
// charts stay the embedded ones, as --series finds no charts folder beside the copy).

const repoRoot = "../.."

// imageRef splits "registry/repo:tag" into repository and tag.
func imageRef(t *testing.T, ref string) (repo, tag string) {
	t.Helper()
	i := strings.LastIndex(ref, ":")
	if i < 0 || strings.Contains(ref[i:], "/") {
		fatalf(t, "image %q has no tag", ref)
	}
	return ref[:i], ref[i+1:]
}

// mlflowVersionOf returns the MLflow version of a stand-in tag: "v3.10.1-full" -> "3.10.1".
func mlflowVersionOf(tag string) string {
	v, _, _ := strings.Cut(strings.TrimPrefix(tag, "v"), "-")
	return v
}

// previousMLflow is the older MLflow image the upgrade starts from (hack/kind/standins/mlflow-previous/ref).
func previousMLflow(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "hack", "kind", "standins", "mlflow-previous", "ref"))
	if err != nil {
		fatal(t, err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			return l
		}
	}
	fatal(t, "hack/kind/standins/mlflow-previous/ref names no image")
	return ""
}

// pinnedMLflow is the MLflow image series/images.yaml pins (what the embedded chapter 6 runs).
func pinnedMLflow(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "series", "images.yaml"))
	if err != nil {
		fatal(t, err)
	}
	m := regexp.MustCompile(`ref: "([^"]*/mlflow/mlflow:[^"]*)"`).FindSubmatch(b)
	if m == nil {
		fatal(t, "series/images.yaml pins no mlflow/mlflow image")
	}
	return string(m[1])
}

// seriesWithMLflow copies the repository's series folder and sets chapter 6's MLflow image in the
// copy's values/mlflow.yaml; it returns the copy, for --series.
func seriesWithMLflow(t *testing.T, ref string) string {
	t.Helper()
	repo, tag := imageRef(t, ref)
	return seriesWithValues(t, "chapter-6-*", "mlflow.yaml",
		"# The schema upgrade test (internal/kindtest): an older MLflow.\nimage:\n  repository: "+repo+"\n  tag: \""+tag+"\"\n")
}

// seriesWithValues copies the repository's series folder and appends yaml, top-level keys the
// file does not set yet, to values/FILE of the chapter whose folder matches chapterGlob in the
// copy; it returns the copy, for --series.
func seriesWithValues(t *testing.T, chapterGlob, file, yaml string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "series")
	if err := os.CopyFS(dir, os.DirFS(filepath.Join(repoRoot, "series"))); err != nil {
		fatal(t, err)
	}
	values, err := filepath.Glob(filepath.Join(dir, chapterGlob, "values", file))
	if err != nil || len(values) != 1 {
		fatalf(t, "%s/values/%s not found in the series copy: %v %v", chapterGlob, file, values, err)
	}
	b, err := os.ReadFile(values[0])
	if err != nil {
		fatal(t, err)
	}
	for _, key := range regexp.MustCompile(`(?m)^([A-Za-z][\w-]*):`).FindAllStringSubmatch(yaml, -1) {
		if regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(key[1]) + `:`).Match(b) {
			fatalf(t, "%s already sets %s: the test would need to merge its override", values[0], key[1])
		}
	}
	if err := os.WriteFile(values[0], append(b, "\n"+yaml...), 0o644); err != nil {
		fatal(t, err)
	}
	return dir
}

// seriesWithFile is a copy of the series in which the one file matching glob (relative to the
// series folder) has old replaced by new.
func seriesWithFile(t *testing.T, glob, old, new string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "series")
	if err := os.CopyFS(dir, os.DirFS(filepath.Join(repoRoot, "series"))); err != nil {
		fatal(t, err)
	}
	files, err := filepath.Glob(filepath.Join(dir, glob))
	if err != nil || len(files) != 1 {
		fatalf(t, "%s not found in the series copy: %v %v", glob, files, err)
	}
	b, err := os.ReadFile(files[0])
	if err != nil || !strings.Contains(string(b), old) {
		fatalf(t, "%s lacks %q (%v)", files[0], old, err)
	}
	if err := os.WriteFile(files[0], []byte(strings.Replace(string(b), old, new, 1)), 0o644); err != nil {
		fatal(t, err)
	}
	return dir
}

// psqlValue runs a one-value query in a chapter's PostgreSQL pod.
func psqlValue(t *testing.T, ns, db, query string) string {
	t.Helper()
	out := mustKubectl(t, "exec", "-n", ns, "postgresql-0", "--", "sh", "-c",
		`psql -U "$POSTGRES_USER" -d `+db+` -tAc "`+query+`"`)
	return strings.TrimSpace(lastLine(out))
}

// mlflowPy runs a Python script with MLflow's client in the MLflow server container.
func mlflowPy(t *testing.T, script string, args ...string) string {
	t.Helper()
	return mustKubectl(t, append([]string{"exec", "-n", "mlflow", "deploy/mlflow", "-c", "mlflow", "--", "python", "-c", script}, args...)...)
}

// upgradeSeed writes, with the older MLflow, an experiment with a tag, two runs (params, metric
// histories, an artifact each), and a registered model with a tag, a description, two versions with
// tags and an alias. Among the migrations up to 3.17.2: experiment foreign-key cascades, the
// experiment tag length, model version tag indexes.
const upgradeSeed = `
import mlflow
from mlflow import MlflowClient
mlflow.set_tracking_uri("http://127.0.0.1:5000")
c = MlflowClient()
exp = c.create_experiment("kindtest-upgrade", tags={"kept": "across the upgrade"})
runs = []
for i in range(2):
    r = c.create_run(exp, tags={"i": str(i)})
    rid = r.info.run_id
    c.log_param(rid, "alpha", str(i))
    for step in range(3):
        c.log_metric(rid, "loss", 1.0 / (step + 1 + i), step=step)
    c.log_text(rid, "model %d" % i, "model.txt")
    c.set_terminated(rid)
    runs.append(r)
c.create_registered_model("kindtest-upgrade", tags={"team": "kindtest"},
                          description="written by MLflow " + mlflow.__version__)
for i, r in enumerate(runs):
    c.create_model_version("kindtest-upgrade", r.info.artifact_uri, run_id=r.info.run_id,
                           tags={"alpha": str(i)})
c.set_registered_model_alias("kindtest-upgrade", "champion", "2")
print("seeded with MLflow", mlflow.__version__, "experiment", exp, "runs", [r.info.run_id for r in runs])
`

// upgradeVerify reads upgradeSeed's data back through the API of the server now running; its
// argument is the MLflow version that wrote it.
const upgradeVerify = `
import sys
import mlflow
from mlflow import MlflowClient
writer = sys.argv[1]
mlflow.set_tracking_uri("http://127.0.0.1:5000")
c = MlflowClient()
exp = c.get_experiment_by_name("kindtest-upgrade")
assert exp is not None, "experiment kindtest-upgrade is gone"
assert exp.tags.get("kept") == "across the upgrade", exp.tags
runs = sorted(c.search_runs([exp.experiment_id]), key=lambda r: r.data.params.get("alpha", ""))
assert [r.data.params.get("alpha") for r in runs] == ["0", "1"], runs
for i, r in enumerate(runs):
    assert r.info.status == "FINISHED", r.info
    assert r.data.tags.get("i") == str(i), r.data.tags
    loss = [m.value for m in sorted(c.get_metric_history(r.info.run_id, "loss"), key=lambda m: m.step)]
    assert loss == [1.0 / (s + 1 + i) for s in range(3)], loss
    text = mlflow.artifacts.load_text(r.info.artifact_uri + "/model.txt")
    assert text == "model %d" % i, text
m = c.get_registered_model("kindtest-upgrade")
assert m.tags.get("team") == "kindtest", m.tags
assert m.description == "written by MLflow " + writer, m.description
versions = sorted(c.search_model_versions("name='kindtest-upgrade'"), key=lambda v: int(v.version))
assert [v.version for v in versions] == ["1", "2"], versions
for i, v in enumerate(versions):
    assert v.tags.get("alpha") == str(i), v.tags
    assert v.run_id == runs[i].info.run_id, (v.run_id, runs[i].info.run_id)
assert c.get_model_version_by_alias("kindtest-upgrade", "champion").version == "2"
print("kept: read by MLflow", mlflow.__version__, "what MLflow", writer, "wrote: 1 experiment, 2 runs, 2 model versions")
`

// mlflowUpgrade is the first phase of TestChaptersOnKind: it creates the cluster with chapter 6 on
// the older MLflow and leaves chapter 6 up on the pinned one. It returns the older MLflow version.
func (e *env) mlflowUpgrade(clusterUp func()) string {
	t := e.t
	t.Helper()
	previous, pinned := previousMLflow(t), pinnedMLflow(t)
	_, prevTag := imageRef(t, previous)
	_, pinTag := imageRef(t, pinned)
	prevVersion, pinVersion := mlflowVersionOf(prevTag), mlflowVersionOf(pinTag)
	if out, err := exec.Command("docker", "image", "inspect", "-f", "{{.Id}}", previous).CombinedOutput(); err != nil {
		fatalf(t, "the older MLflow stand-in %s is not in the engine (run `make kind-images`): %v\n%s", previous, err, out)
	}

	// 1. chapter 6 on the older MLflow, from a series folder that pins it. Without its checks:
	// MLflow servers before 3.14.0 answer GET metrics/get-history without max_results with an
	// empty page (they read the unset field as 0), so the mlflow-roundtrip check, which sends none,
	// fails against 3.10.1; up still waits for every pod to be Ready, and the seed below uses the
	// server's API (MLflow's own client sends max_results).
	dir := seriesWithMLflow(t, previous)
	start := time.Now()
	e.must(15*time.Minute, "up", "chapter-6", "--series", dir, "--kind-config", e.overlay, "--skip-checks")
	t.Logf("TIMING up chapter-6 with MLflow %s (cluster created) %s", prevVersion, time.Since(start).Round(100*time.Millisecond))
	clusterUp()
	if v := mlflowPy(t, "import mlflow; print(mlflow.__version__)"); lastLine(v) != prevVersion {
		fatalf(t, "the server runs MLflow %q, want %s", v, prevVersion)
	}
	t.Log(mlflowPy(t, upgradeSeed))
	before := psqlValue(t, "mlflow", "mlflow", "select version_num from alembic_version")
	counts := func() string {
		return psqlValue(t, "mlflow", "mlflow", "select (select count(*) from experiments where name = 'kindtest-upgrade') || ' ' || "+
			"(select count(*) from runs r join experiments e using (experiment_id) where e.name = 'kindtest-upgrade') || ' ' || "+
			"(select count(*) from model_versions where name = 'kindtest-upgrade') || ' ' || "+
			"(select count(*) from model_version_tags where name = 'kindtest-upgrade')")
	}
	seeded := counts()
	if seeded != "1 2 2 2" {
		fatalf(t, "experiments, runs, model versions, version tags written: %q, want 1 2 2 2", seeded)
	}

	// 2. chapter 6 on the pinned MLflow: the same database, the db-upgrade init container first.
	start = time.Now()
	requireChecks(t, e.up("chapter-6"))
	t.Logf("TIMING up chapter-6 upgrading MLflow %s to %s %s", prevVersion, pinVersion, time.Since(start).Round(100*time.Millisecond))
	if v := mlflowPy(t, "import mlflow; print(mlflow.__version__)"); lastLine(v) != pinVersion {
		fatalf(t, "after the upgrade the server runs MLflow %q, want %s", v, pinVersion)
	}
	after := psqlValue(t, "mlflow", "mlflow", "select version_num from alembic_version")
	logs := mustKubectl(t, "logs", "-n", "mlflow", "deploy/mlflow", "-c", "db-upgrade")
	t.Logf("db-upgrade init container:\n%s", tail(logs, 30))
	if !strings.Contains(logs, "schema "+before+": mlflow db upgrade") {
		errorf(t, "the db-upgrade init container did not upgrade schema %s:\n%s", before, logs)
	}
	if after == before {
		fatalf(t, "the schema is still at %s after the upgrade", before)
	}
	// The server found the schema current: it did not create or migrate tables itself.
	server := mustKubectl(t, "logs", "-n", "mlflow", "deploy/mlflow", "-c", "mlflow")
	for _, self := range []string{"Creating initial MLflow database tables", "Updating database tables"} {
		if strings.Contains(server, self) {
			errorf(t, "the server migrated the schema itself (%q), not the db-upgrade init container:\n%s", self, tail(server, 30))
		}
	}
	t.Logf("schema %s (MLflow %s) -> %s (MLflow %s)", before, prevVersion, after, pinVersion)
	requireChecks(t, e.must(10*time.Minute, "check", "chapter-6"))
	if got := counts(); got != seeded {
		errorf(t, "experiments, runs, model versions, version tags: %q after the upgrade, %q before", got, seeded)
	}
	t.Log(mlflowPy(t, upgradeVerify, prevVersion))
	// The older image is used no more: off the node, so that the rest of the layer has the disk it
	// would have without this phase (the image and its unpacked layers take ~2 GiB there; the
	// kubelet would collect them only under disk pressure). Not an assertion.
	if out, err := exec.Command("docker", "exec", node, "crictl", "rmi", previous).CombinedOutput(); err != nil {
		t.Logf("crictl rmi %s: %v\n%s", previous, err, out)
	}
	return prevVersion
}
