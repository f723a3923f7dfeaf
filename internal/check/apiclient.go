package check

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// apiRespMax bounds what is read of a tool's answer.
const apiRespMax = 4 << 20

// APIError is a tool's non-2xx answer to a functional check's request.
type APIError struct {
	// Status is the HTTP status line ("404 Not Found"), Code its number.
	Status string
	Code   int
	// ErrorCode is the tool's own error code, when its body carries one (MLflow's error_code).
	ErrorCode string
	// Message is the tool's error message dug out of the body, or the trimmed body.
	Message string
}

func (e *APIError) Error() string {
	if e.Message == "" {
		return e.Status
	}
	return e.Status + ": " + e.Message
}

// apiStatus is the HTTP status of a tool's answer that err carries (0: none).
func apiStatus(err error) int {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Code
	}
	return 0
}

// pollMisses is how many transient failures in a row a polling loop lets pass before it gives up:
// on a loaded laptop (or CI machine) a tool's server can stall past the client's timeout for one
// answer while the run it is asked about goes on fine.
const pollMisses = 3

// transient says whether err is a failure that a later poll may not meet: the server did not
// answer in time, the connection was refused or reset, or it answered 502, 503 or 504 (a proxy or
// a server still starting). A 4xx or 500 answer, or JSON that does not decode, is not.
func transient(err error) bool {
	if err == nil {
		return false
	}
	switch apiStatus(err) {
	case 0:
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	default:
		return false
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// pollTolerance counts a polling loop's transient failures in a row.
type pollTolerance struct{ misses int }

// retry says whether the loop should poll again after err (not nil): while ctx is alive, a
// transient err is let pass up to pollMisses times in a row. ok resets the count.
func (t *pollTolerance) retry(ctx context.Context, err error) bool {
	if ctx.Err() != nil || !transient(err) || t.misses >= pollMisses {
		return false
	}
	t.misses++
	return true
}

func (t *pollTolerance) ok() { t.misses = 0 }

// apiTool describes the tool behind an apiClient, for its messages and its error bodies.
type apiTool struct {
	// Check names the check in every error ("mlflow-roundtrip").
	Check string
	// Name is the tool in URL errors ("MLflow"), Server the server in unreachable ones ("MLflow server").
	Name, Server string
	// Credentials: the base URL's userinfo is the check's login, taken out of the URL (Airflow);
	// otherwise it stays in the URL (the client sends it as basic auth) and only messages hide it.
	Credentials bool
	// NotJSONHint follows a JSON decoding error: "is URL <NotJSONHint>?" (empty: no hint).
	NotJSONHint string
	// ErrorBody digs the tool's error code and message out of a non-2xx body (nil: the trimmed body).
	ErrorBody func(code int, body []byte) (errorCode, message string)
}

// apiClient is the HTTP client of the checks that talk to a tool's REST API (MLflow, Airflow,
// Feast): it sends JSON (or raw bytes) and turns every failure into an error naming the check, the
// step, the method and the path: the server unreachable, a non-2xx answer (*APIError), an answer
// that is not the expected JSON, or ctx's end.
type apiClient struct {
	tool     apiTool
	hc       *http.Client
	base     string // scheme://host[:port][/prefix], no trailing slash
	redacted string // the same without a password, for messages
	// Token is sent as a Bearer token once set (after a login).
	Token string
}

// newAPIClient parses baseURL for tool; a nil hc means a client with a 30 s timeout. With
// tool.Credentials, the URL's user and password are returned and left out of the client's URL.
func newAPIClient(tool apiTool, hc *http.Client, baseURL string) (c *apiClient, user, pass string, err error) {
	u, err := url.Parse(strings.TrimSpace(baseURL))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		want := "http(s)://host:port"
		if tool.Credentials {
			want = "http(s)://[user:password@]host:port"
		}
		return nil, "", "", fmt.Errorf("%s: invalid %s URL %q: want %s", tool.Check, tool.Name, redactURL(baseURL), want)
	}
	if tool.Credentials && u.User != nil {
		user = u.User.Username()
		pass, _ = u.User.Password()
		u.User = nil
	}
	u.RawQuery, u.Fragment = "", ""
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	return &apiClient{tool: tool, hc: hc, base: strings.TrimRight(u.String(), "/"), redacted: strings.TrimRight(u.Redacted(), "/")}, user, pass, nil
}

// redactURL hides the password of a URL that may not parse.
func redactURL(s string) string {
	if u, err := url.Parse(s); err == nil {
		return u.Redacted()
	}
	if at := strings.LastIndex(s, "@"); at >= 0 {
		if i := strings.Index(s, "://"); i >= 0 && i < at {
			return s[:i+3] + "xxxxx" + s[at:]
		}
	}
	return s
}

// call sends one request for step. path is the unescaped path used in messages; rawPath (if not
// empty) is its escaped form. in (if not nil) is sent as JSON, or as is when it is a []byte. A 2xx
// answer is returned raw and, when out is not nil, decoded into it as JSON.
func (c *apiClient) call(ctx context.Context, step, method, path, rawPath string, query url.Values, in, out any) ([]byte, error) {
	fail := func(format string, a ...any) error {
		return fmt.Errorf("%s: %s: %s %s: "+format, append([]any{c.tool.Check, step, method, path}, a...)...)
	}
	if rawPath == "" {
		rawPath = path
	}
	target := c.base + rawPath
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	var body io.Reader
	contentType := ""
	switch v := in.(type) {
	case nil:
	case []byte:
		body, contentType = bytes.NewReader(v), "application/octet-stream"
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fail("encode request: %w", err)
		}
		body, contentType = bytes.NewReader(b), "application/json"
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return nil, fail("%w", err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if out != nil {
		req.Header.Set("Accept", "application/json")
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fail("%w", context.Cause(ctx))
		}
		// *url.Error repeats the full URL; the underlying error is enough next to ours.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return nil, fail("%s unreachable at %s (check the endpoint and that the port-forward is running): %w", c.tool.Server, c.redacted, err)
	}
	defer func() { _ = resp.Body.Close() }()
	data, rerr := io.ReadAll(io.LimitReader(resp.Body, apiRespMax))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, fail("%w", c.apiError(resp, data))
	}
	if rerr != nil {
		if ctx.Err() != nil {
			rerr = context.Cause(ctx)
		}
		return nil, fail("read answer: %w", rerr)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			hint := ""
			if c.tool.NotJSONHint != "" {
				hint = fmt.Sprintf("; is %s %s?", c.redacted, c.tool.NotJSONHint)
			}
			return nil, fail("%s: not the expected JSON (%v%s): %s", resp.Status, err, hint, trimBody(data))
		}
	}
	return data, nil
}

func (c *apiClient) apiError(resp *http.Response, data []byte) *APIError {
	e := &APIError{Status: resp.Status, Code: resp.StatusCode, Message: trimBody(data)}
	if e.Status == "" {
		e.Status = strconv.Itoa(resp.StatusCode) + " " + http.StatusText(resp.StatusCode)
	}
	if c.tool.ErrorBody != nil {
		code, msg := c.tool.ErrorBody(resp.StatusCode, data)
		e.ErrorCode = code
		if msg != "" {
			e.Message = msg
		}
	}
	return e
}

// do is call without a query, for the answer decoded into out only.
func (c *apiClient) do(ctx context.Context, step, method, path, rawPath string, in, out any) error {
	_, err := c.call(ctx, step, method, path, rawPath, nil, in, out)
	return err
}
