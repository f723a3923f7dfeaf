package doctor

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"sigs.k8s.io/kind/pkg/cluster/nodes"
	kindexec "sigs.k8s.io/kind/pkg/exec"

	"github.com/mlops-series/mlops-series/internal/cluster"
	"github.com/mlops-series/mlops-series/internal/images"
)

// The kind provisioner is what up and doctor hand to Input.Kind.
var _ KindCluster = (*cluster.Kind)(nil)

// fakeKind is a kind cluster whose engine is bin and whose nodes (when exists) answer crictl
// with crictlJSON.
type fakeKind struct {
	bin        string
	exists     bool
	crictlJSON string
}

func (k fakeKind) ImageEngine(context.Context) (*images.Engine, error) {
	return &images.Engine{Name: "docker", Bin: k.bin}, nil
}

func (k fakeKind) Nodes(context.Context) ([]nodes.Node, bool, error) {
	if !k.exists {
		return nil, false, nil
	}
	return []nodes.Node{scriptNode{out: k.crictlJSON}}, true, nil
}

// scriptNode prints out for any command (only `crictl images -o json` is asked).
type scriptNode struct{ out string }

func (n scriptNode) Command(name string, args ...string) kindexec.Cmd {
	return n.CommandContext(context.Background(), name, args...)
}
func (n scriptNode) CommandContext(ctx context.Context, _ string, _ ...string) kindexec.Cmd {
	return kindexec.CommandContext(ctx, "printf", "%s", n.out)
}
func (n scriptNode) String() string              { return "mlops-series-control-plane" }
func (n scriptNode) Role() (string, error)       { return "control-plane", nil }
func (n scriptNode) IP() (string, string, error) { return "", "", nil }
func (n scriptNode) SerialLogs(io.Writer) error  { return nil }

// fakeDocker writes a docker CLI script: `image ls` prints one JSON line per ref of local, `run`
// prints runErr (the daemon's words) and fails, or, for a --privileged or --oom-score-adj run,
// privErr or oomErr.
func fakeDocker(t *testing.T, local []string, privErr, oomErr string) string {
	t.Helper()
	if privErr == "" {
		privErr = notFound
	}
	if oomErr == "" {
		oomErr = notFound
	}
	dir := t.TempDir()
	var ls strings.Builder
	for i, r := range local {
		repo, tag, _ := strings.Cut(r, ":")
		ls.WriteString(`{"Repository":"` + repo + `","Tag":"` + tag + `","Digest":"<none>","ID":"sha256:` + strconv.Itoa(i) + `"}` + "\n")
	}
	for name, content := range map[string]string{"ls": ls.String(), "priv": privErr + "\n", "oom": oomErr + "\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	body := `case "$1" in
image) cat '` + filepath.Join(dir, "ls") + `' ;;
run) case "$*" in
  *--privileged*) cat '` + filepath.Join(dir, "priv") + `' >&2 ;;
  *--oom-score-adj*) cat '` + filepath.Join(dir, "oom") + `' >&2 ;;
  esac
  exit 125 ;;
*) exit 2 ;;
esac
`
	writeScript(t, dir, "docker", body)
	return filepath.Join(dir, "docker")
}

const (
	notFound  = `docker: Error response from daemon: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: "/mlops-series-doctor-probe": stat /mlops-series-doctor-probe: no such file or directory: unknown.`
	capsErr   = "docker: Error response from daemon: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: unable to apply caps: operation not permitted: unknown."
	oomErr    = "docker: Error response from daemon: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: can't get final child's PID from pipe: EOF: unknown."
	withPatch = `kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
nodes: [{role: control-plane, image: mlops-series.local/kind-node:v1.37.2}]
containerdConfigPatches:
  - |-
    [plugins."io.containerd.cri.v1.runtime"]
      restrict_oom_score_adj = true
`
	nodeOnly = "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes: [{role: control-plane, image: mlops-series.local/kind-node:v1.37.2}]\n"
	mirrors  = nodeOnly + "containerdConfigPatches:\n  - |-\n    [plugins.\"io.containerd.cri.v1.images\".registry]\n      config_path = \"/etc/containerd/certs.d\"\n"
)

func TestCgroup(t *testing.T) {
	tests := []struct {
		version string
		status  Status
		want    []string
	}{
		{"1", Warn, []string{"cgroup v1", "up adds the kubelet setting failCgroupV1: false", "cgroup v2", "systemd.unified_cgroup_hierarchy=1"}},
		{"2", OK, []string{"cgroup v2"}},
	}
	for _, tt := range tests {
		e := laptop
		e.CgroupVersion = tt.version
		r := Run(context.Background(), Input{EngineProbe: engine(e), ProcRoot: t.TempDir(), DiskPath: t.TempDir(), MinFreeDisk: 1})
		wantFinding(t, one(t, r, "cgroup"), tt.status, tt.want...)
		if r.Failed() {
			t.Errorf("cgroup v%s makes the machine unfit: %+v", tt.version, r.Findings)
		}
	}
	r := Run(context.Background(), Input{EngineProbe: engine(laptop), ProcRoot: t.TempDir(), DiskPath: t.TempDir(), MinFreeDisk: 1})
	if len(find(r, "cgroup")) != 0 {
		t.Error("a cgroup finding without a reported version")
	}
}

// The probes' verdicts from what the engine says, and the images found in the engine, on the
// node, or in a registry that answers.
func TestContainerFindings(t *testing.T) {
	const pg, mlflow, node = "docker.io/library/postgres:17", "ghcr.io/mlflow/mlflow:v3", "mlops-series.local/kind-node:v1.37.2"
	crictl := `{"images":[{"id":"sha256:9","repoTags":["ghcr.io/mlflow/mlflow:v3"]}]}`
	type want struct {
		status Status
		text   []string
	}
	tests := []struct {
		name     string
		kind     func(t *testing.T) fakeKind
		config   string
		images   []string
		answers  bool
		findings map[string]want
		unfit    bool
	}{
		{"all fine", func(t *testing.T) fakeKind {
			return fakeKind{bin: fakeDocker(t, []string{"postgres:17", node}, "", "")}
		}, nodeOnly, []string{pg}, false,
			map[string]want{
				"privileged":    {OK, []string{"privileged containers start (probed with " + node}},
				"oom_score_adj": {OK, []string{"may lower"}},
				"images":        {OK, []string{"2 of 2 images in the local engine: nothing to pull"}},
			}, false},
		{"caps and oom, as on this VM without the wrapper", func(t *testing.T) fakeKind {
			return fakeKind{bin: fakeDocker(t, []string{"postgres:17", node}, capsErr, oomErr)}
		}, nodeOnly, []string{pg}, false,
			map[string]want{
				"privileged":    {Fail, []string{"unable to apply caps", "CapBnd", "CAP_SYS_RESOURCE", "hack/kind/docker-up.sh", "normal host"}},
				"oom_score_adj": {Fail, []string{"cannot lower oom_score_adj", "can't get final child's PID", "--kind-config FILE", "restrict_oom_score_adj = true"}},
			}, true},
		{"oom handled by the kind config", func(t *testing.T) fakeKind {
			return fakeKind{bin: fakeDocker(t, []string{"postgres:17", node}, "", oomErr)}
		}, withPatch, []string{pg}, false,
			map[string]want{"oom_score_adj": {OK, []string{"restrict_oom_score_adj = true", "pods start"}}}, false},
		{"nothing to probe with", func(t *testing.T) fakeKind { return fakeKind{bin: fakeDocker(t, nil, "", "")} }, "", nil, true,
			map[string]want{
				"privileged":    {Skip, []string{"not checked"}},
				"oom_score_adj": {Skip, []string{"not checked"}},
			}, false},
		{"other run failure", func(t *testing.T) fakeKind {
			return fakeKind{bin: fakeDocker(t, []string{"postgres:17"}, "Error: no space left on device", "")}
		}, "", nil, false,
			map[string]want{"privileged": {Warn, []string{"cannot tell", "no space left"}}}, false},
		{"missing, registry answers", func(t *testing.T) fakeKind {
			return fakeKind{bin: fakeDocker(t, []string{"postgres:17", node}, "", "")}
		}, nodeOnly, []string{pg, mlflow}, true,
			map[string]want{"images": {OK, []string{"2 of 3 images in the local engine; 1 to pull from registries that answer"}}}, false},
		{"missing, no registry", func(t *testing.T) fakeKind {
			return fakeKind{bin: fakeDocker(t, []string{"postgres:17", node}, "", "")}
		}, nodeOnly, []string{pg, mlflow}, false,
			map[string]want{"images": {Fail, []string{"missing, and no registry answers for them: " + mlflow, "mlops-series images load FILE", "images save FILE CHAPTER"}}}, true},
		{"node image missing, no registry", func(t *testing.T) fakeKind { return fakeKind{bin: fakeDocker(t, []string{"postgres:17"}, "", "")} }, nodeOnly, []string{pg}, false,
			map[string]want{"images": {Fail, []string{node, "--kind-config FILE naming a node image the engine holds"}}}, true},
		{"missing, the node may pull from a mirror", func(t *testing.T) fakeKind {
			return fakeKind{bin: fakeDocker(t, []string{"postgres:17", node}, "", "")}
		}, mirrors, []string{pg, mlflow}, false,
			map[string]want{"images": {Warn, []string{"registry mirrors"}}}, false},
		{"cluster exists: on the node, no probes", func(t *testing.T) fakeKind {
			return fakeKind{bin: fakeDocker(t, []string{"postgres:17"}, capsErr, oomErr), exists: true, crictlJSON: crictl}
		}, nodeOnly, []string{pg, mlflow}, false,
			map[string]want{"images": {OK, []string{"1 of 2 images in the local engine, 1 more on the kind node: nothing to pull"}}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := tt.kind(t)
			asked := 0
			in := Input{EngineProbe: engine(laptop), ProcRoot: t.TempDir(), DiskPath: t.TempDir(), MinFreeDisk: 1,
				Kind: k, ClusterExists: k.exists, KindConfig: []byte(tt.config), Images: tt.images,
				RegistryAnswers: func(_ context.Context, host string) bool { asked++; return tt.answers }}
			r := Run(context.Background(), in)
			for name, w := range tt.findings {
				wantFinding(t, one(t, r, name), w.status, w.text...)
			}
			if k.exists && len(find(r, "privileged"))+len(find(r, "oom_score_adj")) > 0 {
				t.Errorf("probes ran although the cluster exists: %+v", r.Findings)
			}
			if r.Failed() != tt.unfit {
				t.Errorf("Failed() = %v, want %v: %+v", r.Failed(), tt.unfit, r.Findings)
			}
			if f := find(r, "images"); len(f) == 1 && strings.Contains(f[0].Message.String(), "nothing to pull") && asked > 0 {
				t.Error("registries asked although nothing is missing")
			}
		})
	}
}

// capSysResource tells whether this machine's capability bounding set has CAP_SYS_RESOURCE (bit
// 24): without it no process may lower oom_score_adj and plain runc cannot start --privileged.
func capSysResource(t *testing.T) bool {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "CapBnd:"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n&(1<<24) != 0
		}
	}
	t.Fatal("no CapBnd in /proc/self/status")
	return false
}

// The probes against the real engine: with its default runtime privileged containers start
// (hack/kind/docker-up.sh installs the runc wrapper where they would not), and with plain runc
// they fail exactly when the bounding set lacks CAP_SYS_RESOURCE, as does lowering oom_score_adj.
func TestRuntimeProbesRealEngine(t *testing.T) {
	if _, err := exec.LookPath("docker"); err != nil {
		if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
			t.Fatal("no docker CLI on this machine; CI=true, so this is a failure, not a skip")
		}
		t.Skip("no docker CLI on this machine (hack/kind/docker-up.sh installs and starts Docker Engine)")
	}
	if err := exec.Command("docker", "image", "inspect", "mlops-series/probe:busybox").Run(); err != nil {
		if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
			t.Fatal("docker does not answer or lacks mlops-series/probe:busybox (hack/kind/docker-up.sh builds it); CI=true, so this is a failure, not a skip")
		}
		t.Skip("docker does not answer or lacks mlops-series/probe:busybox")
	}
	hasCap := capSysResource(t)
	dir := t.TempDir()
	// Plain runc: the runtime every Docker Engine registers as "runc", bypassing a default wrapper.
	writeScript(t, dir, "docker-runc", `if [ "$1" = run ]; then shift; exec docker run --runtime=runc "$@"; fi
exec docker "$@"
`)
	probe := func(bin string) Report {
		return Run(context.Background(), Input{EngineProbe: engine(laptop), ProcRoot: dir, DiskPath: dir, MinFreeDisk: 1,
			Kind: fakeKind{bin: bin}, RegistryAnswers: func(context.Context, string) bool { return false }})
	}
	r := probe("docker")
	wantFinding(t, one(t, r, "privileged"), OK, "privileged containers start")
	oom := OK
	if !hasCap {
		oom = Fail
	}
	wantFinding(t, one(t, r, "oom_score_adj"), oom)

	priv := OK
	if !hasCap {
		priv = Fail
	}
	r = probe(filepath.Join(dir, "docker-runc"))
	wantFinding(t, one(t, r, "privileged"), priv)
	if !hasCap {
		wantFinding(t, one(t, r, "privileged"), Fail, "unable to apply caps")
	}
	if out, err := exec.Command("docker", "ps", "-a", "--no-trunc", "--format", "{{.ID}} {{.Command}}").Output(); err == nil && strings.Contains(string(out), "mlops-series-doctor-probe") {
		t.Errorf("probe containers left behind:\n%s", out)
	}
}

// A registry answers /v2/ with 200 or 401; a proxy's 403 page or a closed port is no registry.
func TestRegistryAnswers(t *testing.T) {
	tests := []struct {
		code int
		want bool
	}{{200, true}, {401, true}, {403, false}, {404, false}, {502, false}}
	for _, tt := range tests {
		srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/v2/" {
				w.WriteHeader(http.StatusTeapot)
				return
			}
			w.WriteHeader(tt.code)
		}))
		if got := registryAPIAnswers(context.Background(), srv.Client(), srv.URL); got != tt.want {
			t.Errorf("HTTP %d: answers = %v, want %v", tt.code, got, tt.want)
		}
		srv.Close()
		if registryAPIAnswers(context.Background(), srv.Client(), srv.URL) {
			t.Error("a closed server answers")
		}
	}
	if RegistryAnswers(context.Background(), "mlops-series.invalid") {
		t.Error("an unresolvable host answers")
	}
}

func TestRuntimeReason(t *testing.T) {
	tests := []struct{ in, want string }{
		{"docker run: " + capsErr + " (exit status 125)", "unable to apply caps: operation not permitted"},
		{"docker run: " + oomErr + " (exit status 125)", "can't get final child's PID from pipe: EOF"},
		{"docker run: Error: no space left on device (exit status 125)", "docker run: Error: no space left on device (exit status 125)"},
	}
	for _, tt := range tests {
		if got := runtimeReason(tt.in); got != tt.want {
			t.Errorf("runtimeReason(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// The series' own images are never looked for in a registry: missing, they fail with the
// `images build` fix, even when the registries answer or the kind config sets mirrors.
func TestBuiltImagesFinding(t *testing.T) {
	const pg, mlflow, serving, node = "docker.io/library/postgres:17", "ghcr.io/mlflow/mlflow:v3", "mlops-series.local/serving:0.1.0", "mlops-series.local/kind-node:v1.37.2"
	for _, tt := range []struct {
		name     string
		engine   []string
		config   string
		answers  bool
		status   Status
		text     []string
		notText  []string
		askedFor int
	}{
		{"built and in the engine", []string{"postgres:17", node, serving}, nodeOnly, false, OK,
			[]string{"3 of 3 images in the local engine: nothing to pull"}, nil, 0},
		{"not built, registries answer", []string{"postgres:17", node}, nodeOnly, true, Fail,
			[]string{"the series' own images are not built yet: " + serving, "mlops-series images build CHAPTER"}, []string{"images load FILE"}, 0},
		{"not built, mirrors set", []string{"postgres:17", node}, mirrors, false, Fail,
			[]string{"not built yet: " + serving}, []string{"registry mirrors"}, 0},
		{"not built and a pulled image missing, no registry", []string{node}, nodeOnly, false, Fail,
			[]string{"no registry answers for them: " + pg + "; the series' own images are not built yet: " + serving, "images build CHAPTER", "images load FILE"}, nil, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			k := fakeKind{bin: fakeDocker(t, tt.engine, "", "")}
			var asked []string
			in := Input{EngineProbe: engine(laptop), ProcRoot: t.TempDir(), DiskPath: t.TempDir(), MinFreeDisk: 1,
				Kind: k, KindConfig: []byte(tt.config), Images: []string{pg, serving}, Built: []string{serving, mlflow},
				RegistryAnswers: func(_ context.Context, host string) bool { asked = append(asked, host); return tt.answers }}
			f := one(t, Run(context.Background(), in), "images")
			wantFinding(t, f, tt.status, tt.text...)
			for _, s := range tt.notText {
				if strings.Contains(f.Message.String()+f.Fix.String(), s) {
					t.Errorf("finding mentions %q: %s / %s", s, f.Message, f.Fix)
				}
			}
			if len(asked) != tt.askedFor || slices.Contains(asked, "mlops-series.local") {
				t.Errorf("registries asked: %v, want %d and never mlops-series.local", asked, tt.askedFor)
			}
		})
	}
}
