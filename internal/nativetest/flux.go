package nativetest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// GitServerScript is chapter 2's Git server (series/chapter-2-gitops/git-server/git_server.py), the
// program its image runs.
func GitServerScript(t testing.TB) string {
	t.Helper()
	p := RepoFile(t, "series", "chapter-2-gitops", "git-server", "git_server.py")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("git server: %v", err)
	}
	return p
}

// GitServer runs chapter 2's Git server on a free loopback port with the system's python3 and git
// (it needs nothing else), serving the bare repositories repos (created empty) from a temp folder.
// URL is its base: URL + "/series.git" is a repository. Stopped in t.Cleanup. Without python3 or
// git it skips t, or fails it when CI=true.
func GitServer(t testing.TB, repos ...string) *Server {
	t.Helper()
	SkipShort(t)
	for _, tool := range []string{"python3", "git"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing(t, fmt.Sprintf("git server: %s not found on PATH (Debian: apt-get install python3 git)", tool))
		}
	}
	dir := t.TempDir()
	port := FreePort(t)
	argv := []string{"python3", GitServerScript(t), "--root", filepath.Join(dir, "repos"), "--host", "127.0.0.1", "--port", strconv.Itoa(port)}
	for _, r := range repos {
		argv = append(argv, "--repo", r)
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	s := Start(t, "git-server", dir, base+"/healthz", nil, argv...)
	s.URL, s.Port = base, port
	return s
}

// FluxVersion is the version of Flux's source-controller and kustomize-controller that
// hack/build-testenv.sh builds (charts/flux's appVersion).
const FluxVersion = "v1.9.6"

// SourceController starts Flux's source-controller (built from its Go module by
// hack/build-testenv.sh) against the cluster of kubeconfig, acting as the ServiceAccount
// serviceAccount ("namespace/name", impersonated) and watching only that namespace, as
// charts/flux runs it. Its artifact storage is a temp folder served on a free loopback port, which
// it advertises (Server.URL), so that a native kustomize-controller downloads from it. It returns
// once /readyz answers and is stopped in t.Cleanup.
func SourceController(t testing.TB, kubeconfig, serviceAccount string) *Server {
	t.Helper()
	bin := fluxBin(t, "source-controller")
	dir := t.TempDir()
	ns, kc := impersonate(t, kubeconfig, serviceAccount, dir)
	if err := os.Mkdir(filepath.Join(dir, "storage"), 0o755); err != nil {
		t.Fatal(err)
	}
	storage, metrics, health := FreePort(t), FreePort(t), FreePort(t)
	addr := "127.0.0.1:" + strconv.Itoa(storage)
	argv := []string{bin, "--watch-all-namespaces=false", "--enable-leader-election=false",
		"--log-encoding=console", "--storage-path", filepath.Join(dir, "storage"),
		"--storage-addr", addr, "--storage-adv-addr", addr,
		"--metrics-addr", "127.0.0.1:" + strconv.Itoa(metrics), "--health-addr", "127.0.0.1:" + strconv.Itoa(health)}
	s := Start(t, "source-controller", dir, fmt.Sprintf("http://127.0.0.1:%d/readyz", health), []string{"RUNTIME_NAMESPACE=" + ns, "KUBECONFIG=" + kc}, argv...)
	s.URL, s.Port = "http://"+addr, storage
	return s
}

// KustomizeController starts Flux's kustomize-controller like SourceController: the
// ServiceAccount's permissions, only its namespace watched. It returns once /readyz answers.
func KustomizeController(t testing.TB, kubeconfig, serviceAccount string) *Server {
	t.Helper()
	bin := fluxBin(t, "kustomize-controller")
	dir := t.TempDir()
	ns, kc := impersonate(t, kubeconfig, serviceAccount, dir)
	metrics, health := FreePort(t), FreePort(t)
	argv := []string{bin, "--watch-all-namespaces=false", "--enable-leader-election=false",
		"--log-encoding=console",
		"--metrics-addr", "127.0.0.1:" + strconv.Itoa(metrics), "--health-addr", "127.0.0.1:" + strconv.Itoa(health)}
	s := Start(t, "kustomize-controller", dir, fmt.Sprintf("http://127.0.0.1:%d/readyz", health), []string{"RUNTIME_NAMESPACE=" + ns, "KUBECONFIG=" + kc}, argv...)
	s.Port = health
	return s
}

func fluxBin(t testing.TB, name string) string {
	t.Helper()
	SkipShort(t)
	bin := filepath.Join(testenvBin(), name)
	if _, err := os.Stat(bin); err != nil {
		missing(t, fmt.Sprintf("%s not found in %s: run `bash hack/build-testenv.sh` (or `make deps`)", name, filepath.Dir(bin)))
	}
	return bin
}
