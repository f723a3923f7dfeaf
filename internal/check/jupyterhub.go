package check

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/coder/websocket"
)

// The params of a jupyterhub-kernel check.
const (
	// JupyterHubParamTokenSecret names the check service's API token: "secret/key" in the
	// component's namespace.
	JupyterHubParamTokenSecret = "tokenSecret"
	// JupyterHubParamUser is the hub user the check starts a server for (created, then deleted).
	JupyterHubParamUser = "user"
	// JupyterHubParamCode is the file of the chapter folder run in the kernel when the registry is
	// not installed; JupyterHubParamRegistryCode the one run when it is (it logs a run there).
	JupyterHubParamCode         = "code"
	JupyterHubParamRegistryCode = "registryCode"
	// JupyterHubParamRegistry names the MLflow component ("chapter-6/mlflow": a chapter that need
	// not be required) and JupyterHubParamRegistryPort its Service port.
	JupyterHubParamRegistry     = "registry"
	JupyterHubParamRegistryPort = "registryPort"
)

// ResultMarker starts the line a check's kernel code prints its result on, as JSON.
const ResultMarker = "MLOPS_SERIES_RESULT "

// jupyterHubAPI is the hub's REST API (/hub/api).
var jupyterHubAPI = apiTool{
	Check: "jupyterhub-kernel", Name: "JupyterHub", Server: "JupyterHub proxy",
	NotJSONHint: "JupyterHub's public proxy (port 8000)",
	ErrorBody: func(_ int, body []byte) (string, string) {
		var e struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(body, &e) == nil && e.Message != "" {
			return "", e.Message
		}
		return "", ""
	},
}

// JupyterHubKernel checks a JupyterHub the way a user's day starts, through the hub's REST API with
// a service token: it creates a user, starts the user's server (on Kubernetes, KubeSpawner makes
// a pod), opens a kernel on it through the hub's proxy, runs Code there over the Jupyter kernel
// protocol (a websocket), and stops the server and deletes the user again, whatever happened.
// Code prints one line "MLOPS_SERIES_RESULT {json}". When Registry is set, Code logged an MLflow
// run (its JSON names run_id) and the run is read back through MLflow's API at Registry.
type JupyterHubKernel struct {
	Token string
	User  string
	// Code is Python run as one cell; CodeName names it in messages.
	Code     []byte
	CodeName string
	// Registry is the base URL of the MLflow Code logs to ("": Code only computes).
	Registry string
	// Poll is the interval of the waits for the server (default 1 s).
	Poll time.Duration
}

// hubUser is the part of GET /hub/api/users/{name} the check reads.
type hubUser struct {
	Name    string `json:"name"`
	Servers map[string]struct {
		Ready   bool   `json:"ready"`
		Pending string `json:"pending"`
		URL     string `json:"url"`
	} `json:"servers"`
}

// Run runs the check against the hub's public proxy at baseURL.
func (j JupyterHubKernel) Run(ctx context.Context, hc *http.Client, baseURL string) (string, error) {
	if j.Token == "" {
		return "", errors.New("jupyterhub-kernel: no API token (params.tokenSecret)")
	}
	if j.User == "" {
		j.User = "mlops-series-check"
	}
	if j.Poll <= 0 {
		j.Poll = time.Second
	}
	c, _, _, err := newAPIClient(jupyterHubAPI, hc, baseURL)
	if err != nil {
		return "", err
	}
	c.Token = j.Token

	var info struct {
		Version string `json:"version"`
	}
	if err := c.do(ctx, "the hub's version", http.MethodGet, "/hub/api/", "", nil, &info); err != nil {
		return "", err
	}
	userPath := "/hub/api/users/" + url.PathEscape(j.User)
	if err := c.do(ctx, "create the check's user", http.MethodPost, userPath, "", nil, nil); err != nil && apiStatus(err) != http.StatusConflict {
		return "", err
	}
	// Whatever happens next: stop the server and delete the user (with its volume), on a context
	// of its own so that a check that ran out of time still cleans up.
	cleaned := false
	defer func() {
		if !cleaned {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
			defer cancel()
			_, _ = j.cleanup(cctx, c, userPath)
		}
	}()

	start := time.Now()
	if err := c.do(ctx, "start the user's server", http.MethodPost, userPath+"/server", "", nil, nil); err != nil &&
		(apiStatus(err) != http.StatusBadRequest || !strings.Contains(err.Error(), "already")) {
		return "", err
	}
	serverURL, err := j.waitReady(ctx, c, userPath)
	if err != nil {
		return "", err
	}
	started := time.Since(start)

	out, err := j.execute(ctx, c, baseURL, serverURL)
	if err != nil {
		return "", err
	}
	res, err := parseKernelResult(out)
	if err != nil {
		return "", fmt.Errorf("jupyterhub-kernel: %s: %w", j.CodeName, err)
	}
	what, err := j.describe(ctx, hc, res)
	if err != nil {
		return "", err
	}
	// Clean up now, to report (and fail on) it; the deferred clean-up is for the failures above.
	cleaned = true
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	stopped, err := j.cleanup(cctx, c, userPath)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("JupyterHub %s: server of %s ready in %s; kernel ran %s: %s; server stopped and user deleted in %s",
		info.Version, j.User, started.Round(100*time.Millisecond), j.CodeName, what, stopped.Round(100*time.Millisecond)), nil
}

// waitReady polls the user's model until the default server is ready; it returns the server's
// URL path (/user/NAME/). A spawn that fails leaves no pending server: the hub's log says why.
func (j JupyterHubKernel) waitReady(ctx context.Context, c *apiClient, userPath string) (string, error) {
	for {
		var u hubUser
		if err := c.do(ctx, "wait for the user's server", http.MethodGet, userPath, "", nil, &u); err != nil {
			return "", err
		}
		s, ok := u.Servers[""]
		switch {
		case ok && s.Ready:
			if s.URL == "" {
				s.URL = "/user/" + url.PathEscape(j.User) + "/"
			}
			return s.URL, nil
		case !ok || s.Pending == "":
			return "", fmt.Errorf("jupyterhub-kernel: the server of %s stopped while starting (see the hub's log: `kubectl logs` of the hub pod, and the user's pod events)", j.User)
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("jupyterhub-kernel: the server of %s is still %q: %w", j.User, s.Pending, context.Cause(ctx))
		case <-time.After(j.Poll):
		}
	}
}

// cleanup stops the user's server, waits until it is gone, and deletes the user.
func (j JupyterHubKernel) cleanup(ctx context.Context, c *apiClient, userPath string) (time.Duration, error) {
	start := time.Now()
	if err := c.do(ctx, "stop the user's server", http.MethodDelete, userPath+"/server", "", nil, nil); err != nil &&
		apiStatus(err) != http.StatusNotFound && apiStatus(err) != http.StatusBadRequest {
		return 0, err
	}
	for {
		var u hubUser
		err := c.do(ctx, "wait for the server to stop", http.MethodGet, userPath, "", nil, &u)
		if apiStatus(err) == http.StatusNotFound {
			return time.Since(start), nil
		}
		if err != nil {
			return 0, err
		}
		if _, running := u.Servers[""]; !running {
			break
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("jupyterhub-kernel: the server of %s did not stop: %w", j.User, context.Cause(ctx))
		case <-time.After(j.Poll):
		}
	}
	if err := c.do(ctx, "delete the check's user", http.MethodDelete, userPath, "", nil, nil); err != nil && apiStatus(err) != http.StatusNotFound {
		return 0, err
	}
	return time.Since(start), nil
}

// kernelMsg is one message of the Jupyter kernel protocol as jupyter_server's websocket carries it
// (JSON text frames, one per message).
type kernelMsg struct {
	Header       map[string]any `json:"header"`
	ParentHeader map[string]any `json:"parent_header"`
	Metadata     map[string]any `json:"metadata"`
	Content      map[string]any `json:"content"`
	Channel      string         `json:"channel"`
	Buffers      []any          `json:"buffers"`
}

// execute starts a python3 kernel on the user's server (behind the hub's proxy at baseURL + the
// server's path), runs j.Code as one cell and returns what it printed, then shuts the kernel down.
func (j JupyterHubKernel) execute(ctx context.Context, c *apiClient, baseURL, serverPath string) (string, error) {
	server := strings.TrimRight(serverPath, "/")
	var kernel struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	if err := c.do(ctx, "start a kernel", http.MethodPost, server+"/api/kernels", "", map[string]string{"name": "python3"}, &kernel); err != nil {
		return "", err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		_ = c.do(cctx, "shut the kernel down", http.MethodDelete, server+"/api/kernels/"+url.PathEscape(kernel.ID), "", nil, nil)
	}()

	u, err := url.Parse(strings.TrimRight(baseURL, "/") + server + "/api/kernels/" + url.PathEscape(kernel.ID) + "/channels")
	if err != nil {
		return "", err
	}
	u.Scheme = map[string]string{"http": "ws", "https": "wss"}[u.Scheme]
	session := randomID()
	u.RawQuery = url.Values{"session_id": {session}}.Encode()
	// The websocket library wants its deadline from ctx, not from the client's Timeout.
	wsClient := *c.hc
	wsClient.Timeout = 0
	// No subprotocol offered: jupyter_server then speaks the JSON form of the protocol.
	conn, resp, err := websocket.Dial(ctx, u.String(), &websocket.DialOptions{
		HTTPClient: &wsClient,
		HTTPHeader: http.Header{"Authorization": {"token " + j.Token}},
	})
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		return "", fmt.Errorf("jupyterhub-kernel: open the kernel's channels at %s: %w", server+"/api/kernels/"+kernel.ID+"/channels", err)
	}
	defer func() { _ = conn.CloseNow() }()
	conn.SetReadLimit(apiRespMax)

	msgID := randomID()
	req := kernelMsg{
		Header: map[string]any{"msg_id": msgID, "msg_type": "execute_request", "session": session,
			"username": j.User, "version": "5.3", "date": time.Now().UTC().Format(time.RFC3339Nano)},
		ParentHeader: map[string]any{}, Metadata: map[string]any{}, Channel: "shell", Buffers: []any{},
		Content: map[string]any{"code": string(j.Code), "silent": false, "store_history": false,
			"user_expressions": map[string]any{}, "allow_stdin": false, "stop_on_error": true},
	}
	b, err := json.Marshal(req)
	if err != nil {
		return "", err
	}
	if err := conn.Write(ctx, websocket.MessageText, b); err != nil {
		return "", fmt.Errorf("jupyterhub-kernel: send the code to the kernel: %w", err)
	}

	var stdout, stderr strings.Builder
	var failure string
	replied, idle := false, false
	for !replied || !idle {
		_, data, err := conn.Read(ctx)
		if err != nil {
			return "", fmt.Errorf("jupyterhub-kernel: read the kernel's answer (printed so far: %q): %w", tail(stdout.String(), 300), err)
		}
		var m kernelMsg
		if json.Unmarshal(data, &m) != nil || m.ParentHeader["msg_id"] != msgID {
			continue
		}
		switch m.Header["msg_type"] {
		case "stream":
			text, _ := m.Content["text"].(string)
			if m.Content["name"] == "stderr" {
				stderr.WriteString(text)
			} else {
				stdout.WriteString(text)
			}
		case "error":
			failure = fmt.Sprintf("%v: %v", m.Content["ename"], m.Content["evalue"])
		case "execute_reply":
			replied = true
			if st, _ := m.Content["status"].(string); st != "ok" && failure == "" {
				failure = fmt.Sprintf("%v: %v", m.Content["ename"], m.Content["evalue"])
			}
		case "status":
			idle = m.Content["execution_state"] == "idle"
		}
	}
	_ = conn.Close(websocket.StatusNormalClosure, "")
	if failure != "" {
		return "", fmt.Errorf("jupyterhub-kernel: %s raised %s (stderr: %q)", j.CodeName, failure, tail(stderr.String(), 500))
	}
	return stdout.String(), nil
}

// parseKernelResult finds the result line in what the kernel printed.
func parseKernelResult(out string) (map[string]any, error) {
	for _, line := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), ResultMarker); ok {
			var res map[string]any
			if err := json.Unmarshal([]byte(rest), &res); err != nil {
				return nil, fmt.Errorf("the result line is not JSON: %v: %s", err, rest)
			}
			return res, nil
		}
	}
	return nil, fmt.Errorf("printed no %q line; it printed %q", strings.TrimSpace(ResultMarker), tail(out, 300))
}

// describe says what the kernel did; with a registry, it reads the run back through MLflow's API.
func (j JupyterHubKernel) describe(ctx context.Context, hc *http.Client, res map[string]any) (string, error) {
	if j.Registry == "" {
		return fmt.Sprintf("computed %s", formatResult(res)), nil
	}
	runID, _ := res["run_id"].(string)
	if runID == "" {
		return "", fmt.Errorf("jupyterhub-kernel: %s printed no run_id: %s", j.CodeName, formatResult(res))
	}
	mc, _, _, err := newAPIClient(apiTool{Check: "jupyterhub-kernel", Name: "MLflow", Server: "MLflow server",
		ErrorBody: mlflowServer.ErrorBody}, hc, j.Registry)
	if err != nil {
		return "", err
	}
	var got struct {
		Run struct {
			Info struct {
				Status       string `json:"status"`
				ExperimentID string `json:"experiment_id"`
			} `json:"info"`
			Data struct {
				Metrics []struct {
					Key   string  `json:"key"`
					Value float64 `json:"value"`
				} `json:"metrics"`
			} `json:"data"`
		} `json:"run"`
	}
	if _, err := mc.call(ctx, "read the notebook's run back", http.MethodGet, "/api/2.0/mlflow/runs/get", "",
		url.Values{"run_id": {runID}}, nil, &got); err != nil {
		return "", err
	}
	if got.Run.Info.Status != "FINISHED" {
		return "", fmt.Errorf("jupyterhub-kernel: MLflow has run %s as %q, want FINISHED", runID, got.Run.Info.Status)
	}
	var metrics []string
	for _, m := range got.Run.Data.Metrics {
		metrics = append(metrics, fmt.Sprintf("%s=%.3g", m.Key, m.Value))
	}
	return fmt.Sprintf("logged MLflow run %s in experiment %v (%s), read back through MLflow's API",
		runID, res["experiment"], strings.Join(metrics, ", ")), nil
}

// formatResult prints a result's keys in order.
func formatResult(res map[string]any) string {
	b, _ := json.Marshal(res) // map keys are sorted
	return string(b)
}

// tail is the end of s, at most n bytes.
func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

func randomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
