package nativetest

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// RedisServerBin is Debian's redis-server (package redis-server), the online store of the native
// Feast. The cluster runs Redis 8 from the official image; Feast uses only plain hash commands,
// which Debian bookworm's Redis 7.0 serves the same way.
const RedisServerBin = "/usr/bin/redis-server"

// Feast prepares and serves a copy of the feature repository repoDir as chapter 8's Job and feature
// server do in the cluster: it starts a password-protected redis-server (the online store) on a free
// port, copies repoDir to a temp folder, runs ../make_dataset.py (the dataset script next to the
// repository) into it, then `feast apply`, `feast materialize-incremental <now>` and
// `feast serve -h 127.0.0.1 -p <free> --workers 1` from venv "feast", and waits until GET /health
// answers 200. REDIS_CONNECTION_STRING, which feature_store.yaml reads, points at that Redis.
// Everything is stopped in t.Cleanup. Takes 20-40 s. Without the venv or redis-server it skips the
// test, or fails it when CI=true.
func Feast(t testing.TB, repoDir string) *Server { return feastServe(t, repoDir, false) }

// FeastWithMetrics is Feast with `--metrics`, as the chart runs it: Prometheus metrics on port 8000,
// a port Feast does not let one choose (so only one such server can run at a time).
func FeastWithMetrics(t testing.TB, repoDir string) *Server { return feastServe(t, repoDir, true) }

func feastServe(t testing.TB, repoDir string, metrics bool) *Server {
	t.Helper()
	feast := Tool(t, "feast", "feast")
	python := Tool(t, "feast", "python")
	redisBin := redisServer(t)
	script, err := filepath.Abs(filepath.Join(filepath.Dir(filepath.Clean(repoDir)), "make_dataset.py"))
	if err == nil {
		_, err = os.Stat(script)
	}
	if err != nil {
		t.Fatalf("dataset script: %v", err)
	}

	dir := t.TempDir()
	repo := filepath.Join(dir, "feature_repo")
	if err := copyFeatureRepo(repoDir, repo); err != nil {
		t.Fatalf("copy feature repository: %v", err)
	}
	redis := Redis(t, redisBin, dir)
	env := []string{
		"REDIS_CONNECTION_STRING=" + redis.ConnectionString(),
		"HOME=" + dir,
		"PYTHONDONTWRITEBYTECODE=1",
	}

	run := func(name string, argv ...string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), startWait)
		defer cancel()
		start := time.Now()
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, feastLogTail(string(out), 30))
		}
		t.Logf("%s in %s", name, time.Since(start).Round(time.Millisecond))
	}
	run("make_dataset.py", python, script, "--repo", repo)
	run("feast apply", feast, "apply")
	run("feast materialize-incremental", feast, "materialize-incremental", time.Now().UTC().Format("2006-01-02T15:04:05"))

	port := FreePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	argv := []string{feast, "serve", "-h", "127.0.0.1", "-p", strconv.Itoa(port), "--workers", "1"}
	if metrics {
		argv = append(argv, "--metrics")
	}
	s := Start(t, "feast", repo, base+"/health", env, argv...)
	s.URL, s.Port = base, port
	return s
}

// RedisServer is a running redis-server.
type RedisServer struct {
	*Server
	Password string
}

// ConnectionString is the address in Feast's redis online store format: host:port,password=...
func (r *RedisServer) ConnectionString() string {
	return fmt.Sprintf("127.0.0.1:%d,password=%s", r.Port, r.Password)
}

// Redis starts redis-server (bin) on 127.0.0.1 and a free port with a random password, no
// persistence and its files in dir, as the redis chart configures it (config on stdin, so the
// password is on no command line). It waits until AUTH + PING answer; stopped in t.Cleanup.
func Redis(t testing.TB, bin, dir string) *RedisServer {
	t.Helper()
	SkipShort(t)
	pw := make([]byte, 12)
	_, _ = rand.Read(pw)
	password := hex.EncodeToString(pw)
	port := FreePort(t)
	conf := strings.Join([]string{
		"port " + strconv.Itoa(port),
		"bind 127.0.0.1",
		"dir " + dir,
		`save ""`,
		"appendonly no",
		"requirepass " + password,
	}, "\n") + "\n"

	logPath := filepath.Join(dir, "redis.log")
	lf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = lf.Close() }()
	cmd := exec.Command(bin, "-")
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(conf)
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	s := &Server{Name: "redis", Port: port, Log: logPath, Dir: dir, URL: fmt.Sprintf("redis://127.0.0.1:%d", port),
		cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(s.done) }()
	t.Cleanup(s.Stop)

	deadline := time.Now().Add(30 * time.Second)
	for {
		err := redisPing(port, password)
		if err == nil {
			return &RedisServer{Server: s, Password: password}
		}
		select {
		case <-s.done:
			t.Fatalf("redis-server exited before it was ready:\n%s", s.Tail(20))
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server not ready after 30s: %v\n%s", err, s.Tail(20))
		}
	}
}

// redisPing authenticates and pings over RESP.
func redisPing(port int, password string) error {
	conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	req := fmt.Sprintf("*2\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n*1\r\n$4\r\nPING\r\n", len(password), password)
	if _, err := conn.Write([]byte(req)); err != nil {
		return err
	}
	r := bufio.NewReader(conn)
	for _, want := range []string{"+OK", "+PONG"} {
		line, err := r.ReadString('\n')
		if err != nil {
			return err
		}
		if got := strings.TrimSpace(line); got != want {
			return fmt.Errorf("redis answered %q, want %q", got, want)
		}
	}
	return nil
}

// redisServer finds redis-server, skipping (or under CI=true failing) t without it.
func redisServer(t testing.TB) string {
	t.Helper()
	SkipShort(t)
	for _, p := range []string{RedisServerBin, "redis-server"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	msg := "redis-server not found: install Debian's redis-server package (apt-get install redis-server; hack/install-debian.sh should list it)"
	if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
		t.Fatalf("%s; CI=true, so this is a failure, not a skip", msg)
	}
	t.Skip(msg)
	return ""
}

// copyFeatureRepo copies the regular files under src to dst, leaving out Python caches and data/ (which
// the dataset script and feast apply write).
func copyFeatureRepo(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == "__pycache__" || (rel == "data") {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
}

func feastLogTail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
