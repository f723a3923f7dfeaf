// Package nativetest starts the series' real tools as local processes for tests (layer 3 of the
// testing plan): MLflow from the venv made by hack/setup-venv.sh. A missing venv skips the test,
// except under CI=true, where it fails it: skipping there would hide an untested layer.
package nativetest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Venv returns the folder of the named venv (hack/venvs/NAME.txt): $MLOPS_VENVS/NAME, else
// $MLOPS_CACHE/venvs/NAME, else ~/.cache/mlops-series/venvs/NAME, where hack/setup-venv.sh makes it.
func Venv(name string) string {
	if v := os.Getenv("MLOPS_VENVS"); v != "" {
		return filepath.Join(v, name)
	}
	return filepath.Join(cacheDir(), "venvs", name)
}

// SkipShort skips t under -short (the fast loop, `make unit`): the real tools take seconds to
// start each, so the native layer runs in `make integration`. Every lookup of a tool calls it.
func SkipShort(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("native-tool test: skipped under -short (`make integration` runs it)")
	}
}

// Tool returns the path of executable name in the named venv, skipping (or, under CI=true,
// failing) t without it.
func Tool(t testing.TB, venv, name string) string {
	t.Helper()
	SkipShort(t)
	p := filepath.Join(Venv(venv), "bin", name)
	if st, err := os.Stat(p); err != nil || st.IsDir() {
		missing(t, fmt.Sprintf("%s not found in venv %s: run `bash hack/setup-venv.sh %s` (or `make deps`)", name, Venv(venv), venv))
	}
	return p
}

// CacheTool returns a binary the Makefile's deps target builds into $MLOPS_CACHE/tools (e.g. the
// statsd exporter), skipping t without it, or failing it under CI=true.
func CacheTool(t testing.TB, name string) string {
	t.Helper()
	SkipShort(t)
	p := filepath.Join(cacheDir(), "tools", name)
	if _, err := os.Stat(p); err != nil {
		missing(t, fmt.Sprintf("%s not found in %s: run `make deps`", name, filepath.Dir(p)))
	}
	return p
}

// cacheDir is $MLOPS_CACHE, else ~/.cache/mlops-series.
func cacheDir() string {
	if cache := os.Getenv("MLOPS_CACHE"); cache != "" {
		return cache
	}
	base, _ := os.UserCacheDir()
	return filepath.Join(base, "mlops-series")
}

// missing skips t for a tool that is not installed, or fails it under CI=true (where a skipped
// layer would pass for a tested one).
func missing(t testing.TB, msg string) {
	t.Helper()
	if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
		t.Fatalf("%s; CI=true, so this is a failure, not a skip", msg)
	}
	t.Skip(msg)
}

// StatsdExporter starts the Prometheus statsd exporter (chapter 5's metrics component, built from
// its Go module by `make deps`) with /metrics on a free port.
func StatsdExporter(t testing.TB) *Server {
	t.Helper()
	bin := CacheTool(t, "statsd_exporter")
	port, udp := FreePort(t), FreePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	s := Start(t, "statsd-exporter", t.TempDir(), base+"/metrics", nil, bin,
		"--web.listen-address=127.0.0.1:"+strconv.Itoa(port),
		"--statsd.listen-udp=127.0.0.1:"+strconv.Itoa(udp), "--statsd.listen-tcp=")
	s.URL, s.Port = base, port
	return s
}

// FreePort returns a free TCP port on 127.0.0.1.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}

// Server is a running native tool.
type Server struct {
	Name string
	URL  string
	Port int
	Log  string
	// Dir is the server's working folder (its data lives there).
	Dir  string
	cmd  *exec.Cmd
	done chan struct{}
}

// Stop ends the server's process group and waits for it; safe to call twice.
func (s *Server) Stop() {
	select {
	case <-s.done:
		return
	default:
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.done
	}
}

// Tail returns the last n lines of the server's log.
func (s *Server) Tail(n int) string {
	b, _ := os.ReadFile(s.Log)
	return lastLines(string(b), n)
}

// lastLines returns the last n lines of text.
func lastLines(text string, n int) string {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// startWait bounds the wait for a native tool to answer. It is a wait, not a speed target: on a
// 2-core CI machine the tools start beside the real-container layer, at a lower CPU weight, and
// their first start (Python imports, database migrations) can take minutes.
const startWait = 5 * time.Minute

// Start runs a command in its own process group, logging to dir/name.log, and waits until GET
// url+health answers 200 (up to startWait). It is stopped in t.Cleanup.
func Start(t testing.TB, name, dir, healthURL string, env []string, argv ...string) *Server {
	t.Helper()
	s := launch(t, name, dir, env, argv...)
	start := time.Now()
	if err := s.awaitOK(healthURL, startWait); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s ready in %s at %s", name, time.Since(start).Round(time.Millisecond), healthURL)
	return s
}

// launch starts argv in its own process group with its output in dir/name.log; the process is
// stopped in t.Cleanup.
func launch(t testing.TB, name, dir string, env []string, argv ...string) *Server {
	t.Helper()
	SkipShort(t)
	logPath := filepath.Join(dir, name+".log")
	lf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = lf.Close() }()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	s := &Server{Name: name, cmd: cmd, Log: logPath, Dir: dir, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(s.done) }()
	t.Cleanup(s.Stop)
	return s
}

// awaitOK polls url until it answers 200. It fails, with the end of the server's log, when the
// server exits first or wait runs out.
func (s *Server) awaitOK(url string, wait time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("%s answered %s", url, resp.Status)
		}
		select {
		case <-s.done:
			return fmt.Errorf("%s exited before %s answered:\n%s", s.Name, url, s.Tail(30))
		case <-ctx.Done():
			return fmt.Errorf("%s not ready after %s (%v):\n%s", s.Name, wait, errors.Join(err, ctx.Err()), s.Tail(30))
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// MLflow starts `mlflow server` (the venv's, the chart's version) on 127.0.0.1 with a SQLite
// backend and proxied artifacts in a temp folder, as the chart runs it (one worker, no job runner,
// /metrics exposed).
func MLflow(t testing.TB) *Server {
	t.Helper()
	bin := Tool(t, "mlflow", "mlflow")
	dir := t.TempDir()
	port := FreePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	s := Start(t, "mlflow", dir, base+"/health",
		[]string{"MLFLOW_DISABLE_TELEMETRY=true", "DO_NOT_TRACK=true", "MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false"},
		bin, "server", "--host", "127.0.0.1", "--port", strconv.Itoa(port), "--workers", "1",
		"--backend-store-uri", "sqlite:///"+filepath.Join(dir, "mlflow.db"),
		"--artifacts-destination", filepath.Join(dir, "artifacts"),
		"--expose-prometheus", filepath.Join(dir, "prometheus"))
	s.URL, s.Port = base, port
	return s
}
