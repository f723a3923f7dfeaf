package cli

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/mlops-series/mlops-series/internal/cluster"
	"github.com/mlops-series/mlops-series/internal/images"
)

// needDocker skips without a docker engine that answers, except under CI=true, where it fails.
func needDocker(t *testing.T) {
	t.Helper()
	if err := exec.Command("docker", "version", "--format", "{{.Server.Version}}").Run(); err != nil {
		if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
			t.Fatalf("docker does not answer (%v); CI=true, so this is a failure, not a skip (hack/kind/docker-up.sh starts it)", err)
		}
		t.Skip("docker does not answer (hack/kind/docker-up.sh starts it)")
	}
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// A bad --kind-config stops every command before anything happens, with the file, the line and
// the field; with --context it makes no sense and says so.
func TestKindConfigFlagErrors(t *testing.T) {
	bad := writeFile(t, "bad.yaml", "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes:\n  - role: control-plane\n    imag: x\n")
	badRole := writeFile(t, "role.yaml", "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes:\n  - role: master\n")
	notKind := writeFile(t, "pod.yaml", "kind: Pod\napiVersion: v1\n")
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"unknown field", []string{"up", "chapter-6", "--kind-config", bad}, []string{"--kind-config " + bad + ":5: field imag not found in type v1alpha4.Node", "a node has: role, image"}},
		{"invalid merge", []string{"up", "chapter-6", "--kind-config", badRole}, []string{role(badRole), "nothing was changed"}},
		{"not a kind config", []string{"doctor", "chapter-6", "--kind-config", notKind}, []string{"want kind: Cluster and apiVersion: kind.x-k8s.io/v1alpha4"}},
		{"missing file", []string{"up", "chapter-6", "--kind-config", filepath.Join(t.TempDir(), "nope.yaml")}, []string{"--kind-config: read", "nope.yaml"}},
		{"with --context", []string{"up", "chapter-6", "--context", "lab", "--kind-config", bad}, []string{"not with --context/--kubeconfig"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errw, code := run(t, tt.args...)
			if code != 1 {
				t.Errorf("exit %d, want 1:\n%s", code, errw)
			}
			for _, w := range tt.want {
				if !strings.Contains(errw, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errw)
				}
			}
			for _, never := range []string{"preflight", "cluster:", "doctor:"} {
				if strings.Contains(errw, never) {
					t.Errorf("something ran before the flag was checked (%q):\n%s", never, errw)
				}
			}
		})
	}
}

func role(file string) string {
	return file + `:4: nodes[0].role: "master", want control-plane or worker`
}

// Errors of the images verbs that need no engine.
func TestImagesErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown chapter", []string{"images", "list", "chapter-42"}, `unknown chapter "chapter-42"`},
		{"save without a file", []string{"images", "save"}, "accepts between 1 and 2 arg(s)"},
		{"save a chapter without images", []string{"images", "save", filepath.Join(t.TempDir(), "x.tar"), "chapter-1"}, "chapter-1 runs no images"},
		{"load a chapter with --context", []string{"images", "load", "chapter-6", "--context", "lab"}, "with --context/--kubeconfig the cluster pulls images from registries"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errw, code := run(t, tt.args...)
			if code != 1 || !strings.Contains(errw, tt.want) {
				t.Errorf("exit %d, want 1 and %q:\n%s", code, tt.want, errw)
			}
		})
	}
}

// With the real engine: list shows the closure's images (from the rendered charts) with their
// architectures on stdout; a file that is no archive is refused with the engine's words.
func TestImagesWithEngine(t *testing.T) {
	needDocker(t)
	out, errw, code := run(t, "images", "list", "chapter-6", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, errw)
	}
	var st []images.Status
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("stdout is not the JSON list: %v\n%s", err, out)
	}
	if len(st) != 2 || st[0].Ref != "docker.io/library/postgres:17.11-alpine3.24" || st[1].Ref != "ghcr.io/mlflow/mlflow:v3.17.2-full" ||
		strings.Join(st[1].Archs, ",") != "amd64,arm64" {
		t.Errorf("images list chapter-6 = %+v", st)
	}
	out, errw, code = run(t, "images", "list", "chapter-6")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 3 || strings.Join(strings.Fields(lines[0]), " ") != "IMAGE ARCHS LOCAL NODE" ||
		!strings.HasPrefix(strings.Join(strings.Fields(lines[2]), " "), "ghcr.io/mlflow/mlflow:v3.17.2-full amd64,arm64 ") {
		t.Errorf("exit %d, text list:\n%s%s", code, out, errw)
	}
	junk := writeFile(t, "junk.tar", "not an archive")
	_, errw, code = run(t, "images", "load", junk)
	if code != 1 || !strings.Contains(errw, "load images from "+junk+": docker load:") {
		t.Errorf("exit %d, load of a junk file:\n%s", code, errw)
	}
}

// `images list` with the kind cluster's node stopped answers without the node column and says
// why, instead of failing on the node (a CI run listed while the kind layer deleted its node).
func TestImagesListStoppedNode(t *testing.T) {
	needDocker(t)
	name := "mlops-list-stopped-" + strconv.Itoa(os.Getpid())
	node := name + "-control-plane"
	if out, err := exec.Command("docker", "create", "--name", node,
		"--label", "io.x-k8s.kind.cluster="+name, "--label", "io.x-k8s.kind.role=control-plane",
		"mlops-series/probe:busybox", "true").CombinedOutput(); err != nil {
		t.Fatalf("docker create: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("docker", "rm", "-f", node).Run() })
	ie := &imagesEnv{kind: &cluster.Kind{ClusterName: name}, useCluster: true}
	ns, note, err := ie.listedNodes(context.Background())
	if err != nil || ns != nil || !strings.Contains(note, node+" is not running") || !strings.Contains(note, "docker start "+node) {
		t.Errorf("listedNodes = %v, %q, %v; want no nodes and a note that %s is not running", ns, note, err, node)
	}
	ie.kind = &cluster.Kind{ClusterName: name + "-none"}
	if ns, note, err = ie.listedNodes(context.Background()); err != nil || ns != nil || !strings.Contains(note, "does not exist") {
		t.Errorf("no cluster: listedNodes = %v, %q, %v", ns, note, err)
	}
}
