package check

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"
)

// HTTP GETs base+path and expects the status (default 200) and, if set, a body containing want.
func HTTP(ctx context.Context, hc *http.Client, base, path string, status int, want string) (string, error) {
	if status == 0 {
		status = http.StatusOK
	}
	u := strings.TrimSuffix(base, "/") + path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", fmt.Errorf("GET %s: %w", u, err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("GET %s: unreachable: %w", u, err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != status {
		return "", fmt.Errorf("GET %s: got %s, want %d: %s", u, resp.Status, status, trim(body))
	}
	if want != "" && !strings.Contains(string(body), want) {
		return "", fmt.Errorf("GET %s: body %q does not contain %q", u, trim(body), want)
	}
	return fmt.Sprintf("GET %s → %d", path, resp.StatusCode), nil
}

// errBodyMax bounds how much of an error body the API checks quote.
const errBodyMax = 300

// trimBody collapses whitespace and keeps the first errBodyMax bytes (on a rune boundary): how the
// API checks (mlflow, airflow, feast) quote a server's answer in an error.
func trimBody(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) <= errBodyMax {
		return s
	}
	cut := errBodyMax
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func trim(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
