package check

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// grafanaRespMax bounds what is read of a Grafana answer.
const grafanaRespMax = 1 << 20

// GrafanaDatasource checks a Grafana server and one of its data sources through Grafana's HTTP API:
// GET /api/health must report database "ok", and GET /api/datasources/uid/<UID>/health (Grafana
// asks the data source itself, e.g. runs 1+1 against Prometheus) must report status "OK".
type GrafanaDatasource struct {
	// UID is the data source's uid, e.g. "prometheus" (fixed by the chart's provisioning file).
	UID string
	// User and Password authenticate the health request (basic auth). Without them, the user and
	// password in baseURL's userinfo are used; a password without a user means "admin".
	User, Password string
}

// grafanaError is Grafana's error body: {"message": "...", "messageId": "...", ...}.
type grafanaError struct {
	Message   string `json:"message"`
	MessageID string `json:"messageId"`
}

// Run checks the Grafana at baseURL (http(s)://[user:password@]host:port[/prefix]) through hc (nil
// means a client with a 30 s timeout).
func (g GrafanaDatasource) Run(ctx context.Context, hc *http.Client, baseURL string) (string, error) {
	uid := strings.TrimSpace(g.UID)
	if uid == "" {
		return "", fmt.Errorf("grafana-datasource: no data source uid to check")
	}
	u, err := url.Parse(strings.TrimSpace(baseURL))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("grafana-datasource: invalid Grafana URL %q: want http(s)://host:port", baseURL)
	}
	user, password := g.User, g.Password
	if user == "" && password == "" && u.User != nil {
		user = u.User.Username()
		password, _ = u.User.Password()
	}
	if user == "" && password != "" {
		user = "admin"
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	base := strings.TrimRight(u.String(), "/")
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}

	// 1. Grafana itself: up, and its database migrated and reachable. No login needed.
	var health struct {
		Database string `json:"database"`
		Version  string `json:"version"`
	}
	status, body, err := grafanaGet(ctx, hc, base+"/api/health", "", "")
	if err != nil {
		return "", fmt.Errorf("grafana-datasource: GET /api/health: %w", err)
	}
	if jerr := json.Unmarshal(body, &health); jerr != nil || health.Database == "" {
		return "", fmt.Errorf("grafana-datasource: GET /api/health: %d, not Grafana's health answer (is %s Grafana?): %s",
			status, base, trim(body))
	}
	if status != http.StatusOK || health.Database != "ok" {
		return "", fmt.Errorf("grafana-datasource: GET /api/health: %d, database is %q, want \"ok\" "+
			"(Grafana cannot use its database; see the pod's log)", status, health.Database)
	}

	// 2. The data source, as Grafana's server sees it.
	path := "/api/datasources/uid/" + url.PathEscape(uid) + "/health"
	status, body, err = grafanaGet(ctx, hc, base+path, user, password)
	if err != nil {
		return "", fmt.Errorf("grafana-datasource: GET %s: %w", path, err)
	}
	var ds struct {
		Status  string `json:"status"`
		Message string `json:"message"`
	}
	_ = json.Unmarshal(body, &ds)
	var gerr grafanaError
	_ = json.Unmarshal(body, &gerr)
	switch {
	case status == http.StatusOK && ds.Status == "OK":
		msg := ""
		if ds.Message != "" {
			msg = ": " + ds.Message
		}
		return fmt.Sprintf("Grafana %s, database ok; data source %s OK%s", health.Version, uid, msg), nil
	case ds.Status != "":
		// 400 with {"status": "ERROR", "message": ...}: Grafana reached the plugin, and the plugin's
		// health check failed (for Prometheus: it could not run 1+1 against the configured URL).
		return "", fmt.Errorf("grafana-datasource: data source %s is unhealthy (status %s): %s",
			uid, ds.Status, strings.TrimSpace(ds.Message))
	case status == http.StatusUnauthorized:
		hint := "wrong user or password"
		if user == "" {
			hint = "no credentials were given: set the user and password (the admin Secret) or put them in the URL"
		}
		return "", fmt.Errorf("grafana-datasource: GET %s: %d %s (%s)", path, status, grafanaMessage(gerr, body), hint)
	case status == http.StatusForbidden:
		return "", fmt.Errorf("grafana-datasource: GET %s: %d %s (user %q may not read data source %s)",
			path, status, grafanaMessage(gerr, body), user, uid)
	case status == http.StatusNotFound:
		// "Plugin not found" (the data source's plugin is not installed) or "Not found" (the plugin
		// has no health check, or a Grafana older than 9 without this endpoint).
		return "", fmt.Errorf("grafana-datasource: GET %s: %d %s (no health check for data source %s: is its plugin installed?)",
			path, status, grafanaMessage(gerr, body), uid)
	case status == http.StatusInternalServerError && strings.Contains(gerr.Message, "Unable to load datasource"):
		// How Grafana answers a uid it has no data source for (it does not say 404 here).
		return "", fmt.Errorf("grafana-datasource: GET %s: Grafana has no data source with uid %q (%s); "+
			"is the provisioning file mounted, and does its uid match?", path, uid, gerr.Message)
	default:
		return "", fmt.Errorf("grafana-datasource: GET %s: %d %s", path, status, grafanaMessage(gerr, body))
	}
}

// grafanaMessage is Grafana's error message, or the trimmed body when it is not JSON.
func grafanaMessage(e grafanaError, body []byte) string {
	if e.Message != "" {
		return e.Message
	}
	return trim(body)
}

// grafanaGet sends one GET (with basic auth when user is set) and returns the status and body.
func grafanaGet(ctx context.Context, hc *http.Client, target, user, password string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Accept", "application/json")
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	resp, err := hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, nil, context.Cause(ctx)
		}
		return 0, nil, fmt.Errorf("unreachable: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, grafanaRespMax))
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("read answer: %w", err)
	}
	return resp.StatusCode, body, nil
}
