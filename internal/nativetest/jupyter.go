package nativetest

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// JupyterHubServer is a JupyterHub started by JupyterHub: its public proxy's URL, and the secrets
// it was started with.
type JupyterHubServer struct {
	*Server
	Password, Token string
	// APIPort is the hub's own API port (the proxy is on Port).
	APIPort int
}

// ChpPath is configurable-http-proxy as hack/setup-chp.sh installs it from npm into the cache,
// skipping t without it (failing it under CI=true).
func ChpPath(t testing.TB) string {
	t.Helper()
	SkipShort(t)
	p := filepath.Join(cacheDir(), "npm", "chp", "node_modules", ".bin", "configurable-http-proxy")
	if _, err := os.Stat(p); err != nil {
		missing(t, fmt.Sprintf("configurable-http-proxy not found at %s: run `bash hack/setup-chp.sh` (or `make deps`)", p))
	}
	return p
}

// JupyterHub starts JupyterHub (the venv "jupyter") with the chart's own configuration file
// (charts/jupyterhub/files/jupyterhub_config.py at configPath) and a settings.json like the one
// the chart renders, but on loopback ports and with spawner "local": the users' servers are
// jupyterhub-singleuser processes of this user, started from the same venv. The hub starts
// configurable-http-proxy (from npm) itself. env is the users' servers' environment.
func JupyterHub(t testing.TB, configPath string, env map[string]string) *JupyterHubServer {
	t.Helper()
	hub := Tool(t, "jupyter", "jupyterhub")
	single := Tool(t, "jupyter", "jupyterhub-singleuser")
	chp := ChpPath(t)
	cfg, err := filepath.Abs(configPath)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, d := range []string{"data", "run", "notebooks"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	port, apiPort := FreePort(t), FreePort(t)
	var args []string
	if os.Geteuid() == 0 {
		// jupyter_server refuses to run as root unless told (CI machines and containers run tests as root).
		args = append(args, "--allow-root")
	}
	settings := map[string]any{
		"bind": "127.0.0.1", "port": port, "apiPort": apiPort, "logLevel": "INFO",
		"dataDir": filepath.Join(dir, "data"), "runDir": filepath.Join(dir, "run"),
		"proxyCommand": []string{chp}, "users": []string{"reader"}, "checkService": "mlops-series-check",
		"spawner": map[string]any{
			"kind": "local", "defaultUrl": "/tree", "startTimeout": 90, "env": env,
			"notebookDir": filepath.Join(dir, "notebooks"), "cmd": []string{single}, "args": args,
		},
	}
	b, err := json.MarshalIndent(settings, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	settingsPath := filepath.Join(dir, "settings.json")
	if err := os.WriteFile(settingsPath, b, 0o600); err != nil {
		t.Fatal(err)
	}
	password, token := randomHex(t, 10), randomHex(t, 20)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	// The proxy's API port is the public port + 1 by default: give it one of its own.
	proxyAPI := FreePort(t)
	s := Start(t, "jupyterhub", dir, base+"/hub/health",
		[]string{"JUPYTERHUB_SETTINGS=" + settingsPath, "LOGIN_PASSWORD=" + password, "CHECK_TOKEN=" + token,
			"PATH=" + filepath.Dir(hub) + string(os.PathListSeparator) + os.Getenv("PATH"),
			"JUPYTER_RUNTIME_DIR=" + filepath.Join(dir, "run"), "JUPYTER_CONFIG_DIR=" + filepath.Join(dir, "jupyter-config"),
			"MLFLOW_DISABLE_TELEMETRY=true", "DO_NOT_TRACK=true"},
		hub, "-f", cfg, "--ConfigurableHTTPProxy.api_url=http://127.0.0.1:"+strconv.Itoa(proxyAPI))
	s.URL, s.Port = base, port
	return &JupyterHubServer{Server: s, Password: password, Token: token, APIPort: apiPort}
}

// TensorBoardExample runs chapter 3's example (examples/tensorboard_example.py under chapterDir)
// with the venv "jupyter", writing its run into logdir; it returns the example's last line.
func TensorBoardExample(t testing.TB, chapterDir, logdir string, epochs int) string {
	t.Helper()
	py := Tool(t, "jupyter", "python")
	script, err := filepath.Abs(filepath.Join(chapterDir, "examples", "tensorboard_example.py"))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	out, err := exec.Command(py, script, "--logdir="+logdir, "--epochs="+strconv.Itoa(epochs)).CombinedOutput()
	if err != nil {
		t.Fatalf("tensorboard_example.py: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	t.Logf("tensorboard_example.py in %s: %s", time.Since(start).Round(time.Millisecond), lines[len(lines)-1])
	return lines[len(lines)-1]
}

// TensorBoard starts TensorBoard (the venv "jupyter") on a loopback port over logdir, looking for
// new runs every second.
func TensorBoard(t testing.TB, logdir string) *Server {
	t.Helper()
	bin := Tool(t, "jupyter", "tensorboard")
	port := FreePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	s := Start(t, "tensorboard", t.TempDir(), base+"/data/environment", []string{"HOME=" + t.TempDir()},
		bin, "--logdir="+logdir, "--host=127.0.0.1", "--port="+strconv.Itoa(port), "--reload_interval=1")
	s.URL, s.Port = base, port
	return s
}
