package cluster

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/kubernetes/fake"
)

// fakeEngine writes an executable named name into dir that behaves like a container engine CLI
// whose daemon is down: `info` prints the error the real docker client prints and exits 1.
func fakeEngine(t *testing.T, dir, name, stderr string, code int) {
	t.Helper()
	script := "#!/bin/sh\necho '" + stderr + "' >&2\nexit " + string(rune('0'+code)) + "\n"
	if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
}

func lookIn(dir string) func(string) (string, error) {
	return func(name string) (string, error) {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err != nil {
			return "", exec.ErrNotFound
		}
		return p, nil
	}
}

// No engine answering gives an EngineError that names what was tried and how to fix it. The
// engines are real processes (scripts standing in for a docker/podman CLI whose daemon is down):
// no Docker daemon exists on the machines these tests run on.
func TestEngineErrors(t *testing.T) {
	tests := []struct {
		name  string
		setup func(dir string)
		want  []string
	}{
		{"nothing installed", func(string) {}, []string{"docker: not installed", "podman: not installed", "start Docker", "--context"}},
		{"docker daemon down", func(dir string) {
			fakeEngine(t, dir, "docker", "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?", 1)
		}, []string{"docker: Cannot connect to the Docker daemon", "podman: not installed"}},
		{"podman machine stopped", func(dir string) {
			fakeEngine(t, dir, "podman", "Error: unable to connect to Podman socket", 1)
		}, []string{"podman: Error: unable to connect to Podman socket", "podman machine start"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tt.setup(dir)
			k := &Kind{LookPath: lookIn(dir)}
			_, err := k.Engine(context.Background())
			var ee *EngineError
			if !errors.As(err, &ee) {
				t.Fatalf("want EngineError, got %v", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			// Ensure and Connect stop at the same error, before touching anything.
			if _, err := k.Ensure(context.Background()); !errors.As(err, &ee) {
				t.Errorf("Ensure: want EngineError, got %v", err)
			}
			if err := k.Delete(context.Background()); !errors.As(err, &ee) {
				t.Errorf("Delete: want EngineError, got %v", err)
			}
		})
	}
}

func TestEngineFound(t *testing.T) {
	dir := t.TempDir()
	script := "#!/bin/sh\necho 28.2.2\n"
	if err := os.WriteFile(filepath.Join(dir, "docker"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	k := &Kind{LookPath: lookIn(dir)}
	if name, err := k.Engine(context.Background()); err != nil || name != "docker" {
		t.Fatalf("Engine = %q, %v", name, err)
	}
}

func TestExistingNeverDeletes(t *testing.T) {
	e := &Existing{Context: "prod"}
	if err := e.Delete(context.Background()); !errors.Is(err, ErrNotCreated) || !strings.Contains(err.Error(), "only the kind cluster it created") {
		t.Fatalf("Delete = %v", err)
	}
	if _, err := e.Connect(context.Background()); err == nil {
		t.Fatal("Connect to a missing context succeeded")
	}
}

// up's image hook: a load that cannot happen is said, and up goes on (the kubelet may pull); an
// interruption stops it. No refs: nothing is asked.
func TestLoadImagesHook(t *testing.T) {
	dir := t.TempDir()
	var said []string
	k := &Kind{LookPath: lookIn(dir), Progress: func(s string) { said = append(said, s) }}
	if err := k.LoadImages(context.Background(), nil); err != nil || len(said) != 0 {
		t.Fatalf("no refs: %v, said %q", err, said)
	}
	if err := k.LoadImages(context.Background(), []string{"postgres:17"}); err != nil {
		t.Fatalf("LoadImages without an engine = %v, want nil", err)
	}
	if len(said) != 1 || !strings.Contains(said[0], "images: not loaded from the local engine (no container engine answered") ||
		!strings.Contains(said[0], "the kubelet pulls them") {
		t.Errorf("said %q", said)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := (&Kind{LookPath: lookIn(dir)}).LoadImages(ctx, []string{"postgres:17"}); !errors.Is(err, context.Canceled) {
		t.Errorf("interrupted LoadImages = %v", err)
	}
	var _ ImageLoader = k
	var _ ImageLoader = &Terraform{}
}

// The marker says which provisioner created a cluster; no marker matches ErrNotCreated.
func TestReadMarker(t *testing.T) {
	ctx := context.Background()
	c := &Cluster{Name: "lab", CS: fake.NewClientset()}
	if _, err := ReadMarker(ctx, c); !errors.Is(err, ErrNotCreated) {
		t.Fatalf("ReadMarker without a marker: %v", err)
	}
	if err := mark(ctx, c, ProviderTerraform); err != nil {
		t.Fatal(err)
	}
	m, err := ReadMarker(ctx, c)
	if err != nil || m.Provisioner != ProviderTerraform || m.CreatedAt == "" {
		t.Fatalf("ReadMarker = %+v, %v", m, err)
	}
}

// down --all deletes a kind cluster without uninstalling first only when the kind library of this
// tool created it: no marker (someone else's cluster) or Terraform's marker (its state would go
// stale) says no. Client-go's fake clientset holds the marker: this reads one ConfigMap.
func TestKindDisposable(t *testing.T) {
	ctx := context.Background()
	k := &Kind{}
	var _ Disposable = k
	for _, p := range []Provider{"", ProviderTerraform, ProviderKind} {
		c := &Cluster{Name: "lab", CS: fake.NewClientset()}
		if p != "" {
			if err := mark(ctx, c, p); err != nil {
				t.Fatal(err)
			}
		}
		got, err := k.Disposable(ctx, c)
		if err != nil || got != (p == ProviderKind) {
			t.Errorf("marker %q: Disposable = %v, %v; want %v", p, got, err, p == ProviderKind)
		}
	}
}
