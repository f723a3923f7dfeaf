package doctor

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/mlops-series/mlops-series/internal/i18n"
)

// find returns the findings of one check.
func find(r Report, name string) []Finding {
	var out []Finding
	for _, f := range r.Findings {
		if f.Name == name {
			out = append(out, f)
		}
	}
	return out
}

// one returns the single finding of a check, failing the test when there is not exactly one.
func one(t *testing.T, r Report, name string) Finding {
	t.Helper()
	fs := find(r, name)
	if len(fs) != 1 {
		t.Fatalf("want one %q finding, got %+v", name, r.Findings)
	}
	return fs[0]
}

func wantFinding(t *testing.T, f Finding, status Status, contains ...string) {
	t.Helper()
	if f.Status != status {
		t.Errorf("%s: status %s, want %s (%s)", f.Name, f.Status, status, f.Message)
	}
	text := f.Message.String() + "\n" + f.Fix.String()
	for _, c := range contains {
		if !strings.Contains(text, c) {
			t.Errorf("%s: %q lacks %q", f.Name, text, c)
		}
	}
}

// engine is an EngineProbe answering e; checks that need one run, the others are given nothing.
func engine(e Engine) func(context.Context) (Engine, error) {
	return func(context.Context) (Engine, error) { return e, nil }
}

var laptop = Engine{Name: "docker", Version: "28.3.2", Arch: "amd64", MemoryBytes: 16 * gib, CPUs: 4}

// A port held by a real listener fails, named; a free port is ok; a port held on all addresses
// conflicts with kind's default listen address (0.0.0.0) read from a kind config.
func TestPorts(t *testing.T) {
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	heldPort := held.Addr().(*net.TCPAddr).Port

	heldAll, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer heldAll.Close()
	heldAllPort := heldAll.Addr().(*net.TCPAddr).Port

	// A port that was free a moment ago: bound, then let go.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	freePort := l.Addr().(*net.TCPAddr).Port
	l.Close()

	tests := []struct {
		name   string
		in     Input
		status Status
		want   []string
	}{
		{"held", Input{HostPorts: []HostPort{{ListenAddress: "127.0.0.1", Port: heldPort}}}, Fail,
			[]string{"127.0.0.1:" + strconv.Itoa(heldPort) + "/tcp in use", "free port " + strconv.Itoa(heldPort), "kind-config.yaml"}},
		{"free", Input{HostPorts: []HostPort{{ListenAddress: "127.0.0.1", Port: freePort}}}, OK,
			[]string{"127.0.0.1:" + strconv.Itoa(freePort)}},
		{"kind config default address", Input{KindConfig: []byte(`kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
nodes:
  - role: control-plane
    extraPortMappings:
      - containerPort: 80
        hostPort: ` + strconv.Itoa(heldAllPort) + `
`)}, Fail, []string{"0.0.0.0:" + strconv.Itoa(heldAllPort) + "/tcp in use"}},
		{"one of two held", Input{HostPorts: []HostPort{{ListenAddress: "127.0.0.1", Port: freePort}, {ListenAddress: "127.0.0.1", Port: heldPort}}}, Fail,
			[]string{strconv.Itoa(heldPort)}},
		{"bad kind config", Input{KindConfig: []byte("nodes: {")}, Fail, []string{"read kind config"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantFinding(t, one(t, Run(context.Background(), tt.in), "ports"), tt.status, tt.want...)
		})
	}

	t.Run("cluster exists", func(t *testing.T) {
		r := Run(context.Background(), Input{ClusterExists: true, HostPorts: []HostPort{{ListenAddress: "127.0.0.1", Port: heldPort}}})
		if fs := find(r, "ports"); len(fs) != 0 {
			t.Errorf("ports probed although the cluster holds them: %+v", fs)
		}
	})
}

// The repository's kind-config.yaml parses, and whatever host ports it maps (none today) are
// fixed ports on 127.0.0.1 only.
func TestParseKindConfigOfRepo(t *testing.T) {
	b, err := os.ReadFile("../../kind-config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ports, err := ParseKindConfig(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ports {
		if p.ListenAddress != "127.0.0.1" || p.Port == 0 {
			t.Errorf("host port %+v: want a fixed port on 127.0.0.1", p)
		}
	}
}

func TestPortFixAirPlay(t *testing.T) {
	if fix := portFix("darwin", 5000); !strings.Contains(fix.String(), "AirPlay Receiver") {
		t.Errorf("darwin 5000: %s", fix)
	}
	if fix := portFix("linux", 5000); strings.Contains(fix.String(), "AirPlay") {
		t.Errorf("linux 5000: %s", fix)
	}
}

func TestInotify(t *testing.T) {
	write := func(t *testing.T, root string, files map[string]string) {
		for name, v := range files {
			p := filepath.Join(root, name)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(v+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	tests := []struct {
		name   string
		files  map[string]string
		status Status
		want   []string
	}{
		{"low watches", map[string]string{"sys/fs/inotify/max_user_watches": "8192", "sys/fs/inotify/max_user_instances": "512", "sys/fs/file-max": "9223372036854775807"}, Warn,
			[]string{"max_user_watches 8192", "too many open files", "sudo sysctl fs.inotify.max_user_watches=524288", "/etc/sysctl.d/"}},
		{"low instances", map[string]string{"sys/fs/inotify/max_user_watches": "1048576", "sys/fs/inotify/max_user_instances": "128"}, Warn,
			[]string{"sudo sysctl fs.inotify.max_user_instances=512"}},
		{"good", map[string]string{"sys/fs/inotify/max_user_watches": "524288", "sys/fs/inotify/max_user_instances": "8192", "sys/fs/file-max": "9223372036854775807"}, OK,
			[]string{"max_user_watches 524288, max_user_instances 8192"}},
		{"low file-max", map[string]string{"sys/fs/inotify/max_user_watches": "524288", "sys/fs/inotify/max_user_instances": "512", "sys/fs/file-max": "8192"}, Warn,
			[]string{"file-max 8192", "fs.file-max=65536"}},
		{"not linux", nil, OK, []string{"not Linux: Docker Desktop's VM manages it"}},
		{"unreadable", map[string]string{"sys/fs/inotify/max_user_watches": "many"}, Warn, []string{"cannot read the inotify limits"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			write(t, root, tt.files)
			r := Run(context.Background(), Input{EngineProbe: engine(laptop), ProcRoot: root, DiskPath: root, MinFreeDisk: 1})
			wantFinding(t, one(t, r, "inotify"), tt.status, tt.want...)
		})
	}
}

// This machine's own /proc reads without error (a Linux host; elsewhere it says not Linux).
func TestInotifyHost(t *testing.T) {
	f := inotifyFinding(Input{})
	if strings.HasPrefix(f.Message.String(), "cannot read") {
		t.Errorf("host inotify: %+v", f)
	}
	t.Logf("%s: %s", f.Status, f.Message)
}

func TestArch(t *testing.T) {
	archs := map[string][]string{
		"ghcr.io/kubeflow/kfp-api-server": {"amd64"},
		"ghcr.io/mlflow/mlflow:v3.1.1":    {"linux/amd64", "linux/arm64/v8"},
		"postgres":                        {"amd64", "arm64", "ppc64le"},
		"localhost:5000/serving":          {"amd64"},
	}
	tests := []struct {
		name   string
		images []string
		arch   string
		status []Status
		want   []string
	}{
		{"amd64-only on arm64", []string{"ghcr.io/kubeflow/kfp-api-server:2.5.0"}, "arm64", []Status{Fail},
			[]string{"amd64-only image on arm64: ghcr.io/kubeflow/kfp-api-server:2.5.0 runs under emulation or not at all", "Rosetta"}},
		{"multi-arch on arm64", []string{"ghcr.io/mlflow/mlflow:v3.1.1", "docker.io/library/postgres:17.5@sha256:0123"}, "arm64", []Status{OK},
			[]string{"all 2 images are built for arm64"}},
		{"unknown on arm64", []string{"quay.io/example/unknown:1"}, "aarch64", []Status{Warn},
			[]string{"quay.io/example/unknown:1", "docker manifest inspect"}},
		{"unknown on amd64", []string{"quay.io/example/unknown:1"}, "amd64", []Status{OK}, nil},
		{"registry with port", []string{"localhost:5000/serving:0.1"}, "arm64", []Status{Fail}, []string{"localhost:5000/serving:0.1"}},
		{"two missing and unknown", []string{"ghcr.io/kubeflow/kfp-api-server:2.5.0", "localhost:5000/serving:0.1", "quay.io/example/unknown:1"}, "arm64", []Status{Fail, Warn},
			[]string{"images not built for arm64", "kfp-api-server:2.5.0 (amd64-only)", "serving:0.1 (amd64-only)", "quay.io/example/unknown:1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Run(context.Background(), Input{Images: tt.images, ImageArchs: archs, Arch: tt.arch})
			fs := find(r, "arch")
			if len(fs) != len(tt.status) {
				t.Fatalf("findings %+v, want statuses %v", fs, tt.status)
			}
			var text strings.Builder
			for i, f := range fs {
				if f.Status != tt.status[i] {
					t.Errorf("finding %d: %s, want %s (%s)", i, f.Status, tt.status[i], f.Message)
				}
				text.WriteString(f.Message.String() + "\n" + f.Fix.String() + "\n")
			}
			for _, w := range tt.want {
				if !strings.Contains(text.String(), w) {
					t.Errorf("%q lacks %q", text.String(), w)
				}
			}
		})
	}

	// With no Arch given, the engine's architecture is the target.
	r := Run(context.Background(), Input{
		EngineProbe: engine(Engine{Name: "docker", Arch: "arm64", MemoryBytes: 16 * gib, CPUs: 8}),
		Images:      []string{"ghcr.io/kubeflow/kfp-api-server:2.5.0"}, ImageArchs: archs,
		ProcRoot: t.TempDir(), DiskPath: t.TempDir(), MinFreeDisk: 1,
	})
	wantFinding(t, one(t, r, "arch"), Fail, "on arm64")
}

func TestMemoryAndCPU(t *testing.T) {
	tests := []struct {
		name     string
		eng      Engine
		mem, cpu string
		memory   Status
		cpus     Status
		want     []string
	}{
		{"2 GiB for 3 GiB", Engine{MemoryBytes: 2 * gib, CPUs: 4}, "3Gi", "500m", Fail, OK,
			[]string{"pods will not fit", "Docker Desktop → Settings → Resources → Memory", "podman machine set --memory 6144"}},
		{"16 GiB for 3 GiB", Engine{MemoryBytes: 16 * gib, CPUs: 4}, "3Gi", "500m", OK, OK, []string{"16.0 GiB"}},
		{"5 GiB for 3 GiB", Engine{MemoryBytes: 5 * gib, CPUs: 4}, "3Gi", "500m", Warn, OK, []string{"tight, 5.5 GiB recommended"}},
		{"memory unknown", Engine{CPUs: 4}, "1Gi", "500m", Warn, OK, []string{"did not report its memory"}},
		{"1 CPU, small request", Engine{MemoryBytes: 16 * gib, CPUs: 1}, "1Gi", "0", OK, Warn, nil},
		{"2 CPUs, 1.5 CPU requested", Engine{MemoryBytes: 16 * gib, CPUs: 2}, "1Gi", "1500m", OK, Fail, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.eng.Name = "docker"
			r := Run(context.Background(), Input{
				EngineProbe:     engine(tt.eng),
				RequestedMemory: resource.MustParse(tt.mem), RequestedCPU: resource.MustParse(tt.cpu),
				ProcRoot: t.TempDir(), DiskPath: t.TempDir(), MinFreeDisk: 1,
			})
			wantFinding(t, one(t, r, "memory"), tt.memory, tt.want...)
			wantFinding(t, one(t, r, "cpus"), tt.cpus)
		})
	}
	// 1 CPU with a 0.5 CPU request: less than kind's own pods plus the chapter.
	f := cpuFinding(Engine{CPUs: 1}, Input{RequestedCPU: resource.MustParse("500m")})
	wantFinding(t, f, Fail, "Insufficient cpu", "Settings → Resources → CPUs")
}

// writeScript puts an executable shell script named name into dir.
func writeScript(t *testing.T, dir, name, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+body), 0o755); err != nil {
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

// The engine CLIs are real processes: scripts that print what `docker info --format '{{json .}}'`
// and `podman info --format json` print (testdata, written after real output), or fail like a
// client whose daemon is down.
func TestDockerProbe(t *testing.T) {
	abs := func(p string) string {
		a, err := filepath.Abs(p)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	tests := []struct {
		name    string
		engine  string
		script  string
		want    Engine
		wantErr string
	}{
		{"docker desktop on apple silicon", "docker", "[ \"$1 $2 $3\" = 'info --format {{json .}}' ] || exit 2\ncat '" + abs("testdata/docker-info.json") + "'\n",
			Engine{Name: "docker", Version: "28.3.2 (Docker Desktop)", Arch: "arm64", MemoryBytes: 8218484736, CPUs: 8, CgroupVersion: "2"}, ""},
		{"podman machine", "podman", "[ \"$1 $2 $3\" = 'info --format json' ] || exit 2\ncat '" + abs("testdata/podman-info.json") + "'\n",
			Engine{Name: "podman", Version: "5.4.2", Arch: "amd64", MemoryBytes: 4104802304, CPUs: 4, CgroupVersion: "2"}, ""},
		{"docker daemon down", "docker", "echo 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?' >&2\nexit 1\n",
			Engine{}, "docker daemon does not answer: Cannot connect to the Docker daemon at unix:///var/run/docker.sock"},
		{"server errors in json", "docker", "echo '{\"ServerVersion\":\"\",\"ServerErrors\":[\"Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\"]}'\n",
			Engine{}, "docker daemon does not answer: Cannot connect to the Docker daemon"},
		{"not installed", "nerdctl", "", Engine{}, "nerdctl is not installed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.script != "" {
				writeScript(t, dir, tt.engine, tt.script)
			}
			probe := DockerProbe(tt.engine, lookIn(dir))
			got, err := probe(context.Background())
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				// Through Run: the engine fails with the fix, and memory and cpus are not guessed.
				r := Run(context.Background(), Input{EngineProbe: probe, ProcRoot: dir, DiskPath: dir, MinFreeDisk: 1})
				wantFinding(t, one(t, r, "engine"), Fail, tt.wantErr, "start Docker Desktop", "sudo systemctl start docker", "podman machine start", "--context")
				if len(find(r, "memory"))+len(find(r, "cpus")) != 0 {
					t.Errorf("memory/cpus reported without an engine: %+v", r.Findings)
				}
				if !r.Failed() {
					t.Error("Failed() = false")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// The real docker CLI, pointed at a socket nobody serves, fails with the daemon's own words.
func TestDockerProbeRealClient(t *testing.T) {
	if _, err := exec.LookPath("docker"); err != nil {
		if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
			t.Fatal("no docker CLI on this machine; CI=true, so this is a failure, not a skip")
		}
		t.Skip("no docker CLI on this machine")
	}
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "docker.sock"))
	t.Setenv("DOCKER_CONTEXT", "default")
	_, err := DockerProbe("docker", nil)(context.Background())
	if err == nil || !strings.Contains(err.Error(), "docker daemon does not answer: Cannot connect to the Docker daemon") {
		t.Fatalf("err = %v", err)
	}
}

func TestDisk(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name   string
		path   string
		min    uint64
		status Status
		want   []string
	}{
		{"tiny threshold", dir, 1, OK, []string{"GiB free at " + dir}},
		{"huge threshold", dir, 1 << 62, Fail, []string{"images will not fit", "docker system prune"}},
		{"missing dir measures its parent", filepath.Join(dir, "not", "yet"), 1, OK, []string{"free at " + dir}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Run(context.Background(), Input{EngineProbe: engine(laptop), ProcRoot: dir, DiskPath: tt.path, MinFreeDisk: tt.min})
			wantFinding(t, one(t, r, "disk"), tt.status, tt.want...)
		})
	}
	// Between a fifth of the threshold and the threshold: warn.
	free, err := freeBytes(dir)
	if err != nil {
		t.Fatal(err)
	}
	wantFinding(t, diskFinding(Input{DiskPath: dir, MinFreeDisk: free * 2}), Warn, "recommended")
}

func TestCluster(t *testing.T) {
	ok := func(context.Context) (string, error) { return "v1.37.2", nil }
	down := func(context.Context) (string, error) {
		return "", errors.New(`Get "https://10.0.0.1:6443/version": dial tcp 10.0.0.1:6443: connect: connection refused`)
	}
	r := Run(context.Background(), Input{Cluster: ok, Context: "lab"})
	wantFinding(t, one(t, r, "cluster"), OK, "lab reachable, Kubernetes v1.37.2")
	if len(r.Findings) != 1 {
		t.Errorf("--context ran local checks: %+v", r.Findings)
	}
	r = Run(context.Background(), Input{Cluster: down, Context: "lab"})
	wantFinding(t, one(t, r, "cluster"), Fail, "connection refused", "kubectl --context lab get nodes")
}

func TestPrint(t *testing.T) {
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	port := strconv.Itoa(held.Addr().(*net.TCPAddr).Port)
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "sys/fs/inotify"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]string{"max_user_watches": "8192", "max_user_instances": "128"} {
		if err := os.WriteFile(filepath.Join(root, "sys/fs/inotify", name), []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r := Run(context.Background(), Input{
		EngineProbe:     engine(laptop),
		RequestedMemory: resource.MustParse("1Gi"), RequestedCPU: resource.MustParse("500m"),
		HostPorts: []HostPort{{ListenAddress: "127.0.0.1", Port: held.Addr().(*net.TCPAddr).Port}},
		ProcRoot:  root, DiskPath: root, MinFreeDisk: 1,
		Read: "https://example.org/mlops/chapter-6#preflight",
	})
	if !r.Failed() {
		t.Fatal("Failed() = false with a held port")
	}
	var b bytes.Buffer
	r.Print(&b, false, i18n.En)
	out := b.String()
	for _, w := range []string{
		"✓ engine: docker 28.3.2 answers: 4 CPUs, 16.0 GiB memory, amd64\n",
		"✓ memory: ",
		"! inotify: max_user_watches 8192, max_user_instances 128: too low",
		"   fix: sudo sysctl fs.inotify.max_user_watches=524288 fs.inotify.max_user_instances=512\n" +
			"        to keep it after a reboot: printf '%s\\n' fs.inotify.max_user_watches=524288 fs.inotify.max_user_instances=512 | sudo tee /etc/sysctl.d/99-kind.conf\n",
		"✗ ports: host port 127.0.0.1:" + port + "/tcp in use",
		"   fix: free port " + port,
		"   read: https://example.org/mlops/chapter-6#preflight\n",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	if strings.Contains(out, "\x1b[") {
		t.Errorf("color without asking:\n%s", out)
	}
	// ok findings carry no fix or read lines.
	if n := strings.Count(out, "   read: "); n != 2 {
		t.Errorf("%d read lines, want 2 (inotify, ports):\n%s", n, out)
	}
	b.Reset()
	r.Print(&b, true, i18n.En)
	for _, w := range []string{green + "✓" + reset + " engine", yellow + "!" + reset + " inotify", red + "✗" + reset + " ports"} {
		if !strings.Contains(b.String(), w) {
			t.Errorf("colored output lacks %q:\n%s", w, b.String())
		}
	}
}
