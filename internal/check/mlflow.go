package check

import (
	"bytes"
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
)

// mlflowCheckPrefix starts the name of every experiment and registered model MLflowRoundTrip
// creates, so that leftovers (if a cleanup ever fails) are easy to find and remove.
const mlflowCheckPrefix = "mlops-series-check-"

const (
	mlflowAPI = "/api/2.0/mlflow"
	// mlflowArtifactsAPI is the tracking server's artifact proxy (on unless the server runs with
	// --no-serve-artifacts). A run's artifact_uri "mlflow-artifacts:/<exp>/<run>/artifacts" maps
	// to PUT/GET/DELETE <mlflowArtifactsAPI>/<exp>/<run>/artifacts/<file>.
	mlflowArtifactsAPI = "/api/2.0/mlflow-artifacts/artifacts"

	mlflowCleanupLimit = 30 * time.Second

	mlflowParamKey  = "check.param"
	mlflowMetricKey = "check.metric"
	mlflowMetricVal = 0.875 // exact in binary, so it must come back unchanged
	mlflowStep      = 1
	mlflowArtifact  = "check.txt"
)

// MLflowRoundTrip exercises a real MLflow tracking server through its REST API and cleans up after itself.
//
// It checks GET /health and GET /version, creates an experiment and a run, logs a parameter and a
// metric, uploads an artifact through the server's artifact proxy and downloads it again, finishes
// the run, registers a model version whose source is the run's artifact URI, and reads the model
// version, the metric history and the run back. Afterwards it deletes the run's artifacts and the
// registered model (with its versions), and deletes the run and the experiment; MLflow's REST API
// only soft-deletes those two (they move to the "deleted" lifecycle stage; `mlflow gc` purges them).
// Cleanup always runs, also after a failed step or a cancelled ctx, and a cleanup failure is
// reported as an error too. A nil hc means a client with a 30 s timeout.
func MLflowRoundTrip(ctx context.Context, hc *http.Client, baseURL string) (summary string, err error) {
	api, _, _, err := newAPIClient(mlflowServer, hc, baseURL)
	if err != nil {
		return "", err
	}
	c := &mlflowClient{api}
	rt := &mlflowRoundTrip{c: c, name: mlflowUniqueName()}
	defer func() {
		if cerr := rt.cleanup(ctx); cerr != nil {
			err = errors.Join(err, cerr)
			if summary != "" {
				summary += " (cleanup failed)"
			}
		}
	}()
	return rt.run(ctx)
}

// mlflowServer is the MLflow tracking server, as the API client names it and reads its errors.
var mlflowServer = apiTool{
	Check: "mlflow-roundtrip", Name: "MLflow", Server: "MLflow server",
	ErrorBody: func(code int, body []byte) (string, string) {
		var me struct {
			ErrorCode string `json:"error_code"`
			Message   string `json:"message"`
		}
		errorCode, msg := "", trimBody(body)
		if json.Unmarshal(body, &me) == nil && me.ErrorCode != "" {
			errorCode, msg = me.ErrorCode, trimBody([]byte(me.ErrorCode+": "+me.Message))
		}
		if code == http.StatusForbidden && strings.Contains(msg, "Invalid Host header") {
			msg += " (the server's Host check refused the host name used: add it, with its :port form, " +
				"to MLFLOW_SERVER_ALLOWED_HOSTS on the server)"
		}
		return errorCode, msg
	},
}

// mlflowNotFound says whether err is MLflow's answer that the object does not exist.
func mlflowNotFound(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && (ae.Code == http.StatusNotFound || ae.ErrorCode == "RESOURCE_DOES_NOT_EXIST")
}

// mlflowClient is the API client with MLflow's REST API paths.
type mlflowClient struct{ *apiClient }

func (c *mlflowClient) post(ctx context.Context, step, endpoint string, in, out any) error {
	_, err := c.call(ctx, step, http.MethodPost, mlflowAPI+endpoint, "", nil, in, out)
	return err
}

func (c *mlflowClient) get(ctx context.Context, step, endpoint string, q url.Values, out any) error {
	_, err := c.call(ctx, step, http.MethodGet, mlflowAPI+endpoint, "", q, nil, out)
	return err
}

// mlflowVersion is a model version as MLflow's REST API returns it.
type mlflowVersion struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	RunID   string `json:"run_id"`
	Tags    []struct {
		Key   string `json:"key"`
		Value string `json:"value"`
	} `json:"tags"`
}

func (v mlflowVersion) tag(k string) string {
	for _, t := range v.Tags {
		if t.Key == k {
			return t.Value
		}
	}
	return ""
}

// aliasVersion is the version a registered model's alias points at.
func (c *mlflowClient) aliasVersion(ctx context.Context, model, alias string) (mlflowVersion, error) {
	var out struct {
		ModelVersion mlflowVersion `json:"model_version"`
	}
	err := c.get(ctx, "alias "+model+"@"+alias, "/registered-models/alias", url.Values{"name": {model}, "alias": {alias}}, &out)
	return out.ModelVersion, err
}

// mlflowRoundTrip holds what one round trip created, for the cleanup.
type mlflowRoundTrip struct {
	c    *mlflowClient
	name string // experiment and registered model name

	// Set when a create request went out and the server either confirmed it or the answer was
	// lost (transport error, cancellation): then the thing may exist and cleanup must try.
	experimentMaybe bool
	experimentID    string
	runID           string
	artifactRoot    string // proxied path of the run's artifact root
	modelMaybe      bool
}

// mlflowMayExist reports whether a create request that returned err may have taken effect:
// it succeeded, or no HTTP error answer says it did not.
func mlflowMayExist(err error) bool {
	var ae *APIError
	return err == nil || !errors.As(err, &ae)
}

func (rt *mlflowRoundTrip) run(ctx context.Context) (string, error) {
	c := rt.c

	// Health and version are plain-text endpoints outside /api.
	data, err := c.call(ctx, "health", http.MethodGet, "/health", "", nil, nil, nil)
	if err != nil {
		return "", err
	}
	if got := strings.TrimSpace(string(data)); got != "OK" {
		return "", fmt.Errorf("mlflow-roundtrip: health: GET /health: answered %q, want \"OK\" (is %s an MLflow server?)",
			trimBody(data), c.redacted)
	}
	data, err = c.call(ctx, "version", http.MethodGet, "/version", "", nil, nil, nil)
	if err != nil {
		return "", err
	}
	version := strings.TrimSpace(string(data))
	if version == "" || len(version) > 64 || strings.ContainsAny(version, " \n<{") {
		return "", fmt.Errorf("mlflow-roundtrip: version: GET /version: not a version: %s", trimBody(data))
	}

	var exp struct {
		ExperimentID string `json:"experiment_id"`
	}
	err = c.post(ctx, "create experiment", "/experiments/create", map[string]any{"name": rt.name}, &exp)
	rt.experimentMaybe = mlflowMayExist(err)
	if err != nil {
		return "", err
	}
	if exp.ExperimentID == "" {
		return "", fmt.Errorf("mlflow-roundtrip: create experiment: POST %s/experiments/create: no experiment_id in the answer", mlflowAPI)
	}
	rt.experimentID = exp.ExperimentID

	var created struct {
		Run mlflowRun `json:"run"`
	}
	if err := c.post(ctx, "create run", "/runs/create", map[string]any{
		"experiment_id": rt.experimentID,
		"start_time":    time.Now().UnixMilli(),
		"run_name":      "check",
	}, &created); err != nil {
		return "", err
	}
	rt.runID = created.Run.Info.RunID
	artifactURI := created.Run.Info.ArtifactURI
	if rt.runID == "" {
		return "", fmt.Errorf("mlflow-roundtrip: create run: POST %s/runs/create: no run_id in the answer", mlflowAPI)
	}

	paramValue := strings.TrimPrefix(rt.name, mlflowCheckPrefix)
	if err := c.post(ctx, "log parameter", "/runs/log-parameter", map[string]any{
		"run_id": rt.runID, "key": mlflowParamKey, "value": paramValue,
	}, nil); err != nil {
		return "", err
	}
	if err := c.post(ctx, "log metric", "/runs/log-metric", map[string]any{
		"run_id": rt.runID, "key": mlflowMetricKey, "value": mlflowMetricVal,
		"timestamp": time.Now().UnixMilli(), "step": mlflowStep,
	}, nil); err != nil {
		return "", err
	}

	// Artifacts go through the tracking server's proxy, as the MLflow client does for
	// mlflow-artifacts: URIs; the path under the proxy is the URI's path.
	root, err := mlflowProxiedPath(artifactURI)
	if err != nil {
		return "", fmt.Errorf("mlflow-roundtrip: upload artifact: %w", err)
	}
	artifactPath := root + "/" + mlflowArtifact
	content := []byte("mlops-series MLflow round trip " + rt.name + "\n")
	_, err = c.call(ctx, "upload artifact", http.MethodPut, mlflowArtifactsAPI+"/"+artifactPath,
		mlflowArtifactsAPI+"/"+mlflowEscapePath(artifactPath), nil, content, nil)
	if mlflowMayExist(err) {
		rt.artifactRoot = root
	}
	if err != nil {
		return "", err
	}
	got, err := c.call(ctx, "download artifact", http.MethodGet, mlflowArtifactsAPI+"/"+artifactPath,
		mlflowArtifactsAPI+"/"+mlflowEscapePath(artifactPath), nil, nil, nil)
	if err != nil {
		return "", err
	}
	if !bytes.Equal(got, content) {
		return "", fmt.Errorf("mlflow-roundtrip: download artifact: GET %s/%s: got %d bytes %q, want %d bytes %q",
			mlflowArtifactsAPI, artifactPath, len(got), trimBody(got), len(content), content)
	}

	if err := c.post(ctx, "finish run", "/runs/update", map[string]any{
		"run_id": rt.runID, "status": "FINISHED", "end_time": time.Now().UnixMilli(),
	}, nil); err != nil {
		return "", err
	}

	err = c.post(ctx, "create registered model", "/registered-models/create", map[string]any{"name": rt.name}, nil)
	rt.modelMaybe = mlflowMayExist(err)
	if err != nil {
		return "", err
	}
	// The source must lie inside the run's artifact root and run_id must name that run; local
	// file:// paths are refused by the server. runs:/<run_id>/<path> is accepted as well.
	source := artifactURI
	var mvc struct {
		ModelVersion mlflowModelVersion `json:"model_version"`
	}
	if err := c.post(ctx, "create model version", "/model-versions/create", map[string]any{
		"name": rt.name, "source": source, "run_id": rt.runID,
	}, &mvc); err != nil {
		return "", err
	}
	mvVersion := mvc.ModelVersion.Version
	if mvVersion == "" {
		return "", fmt.Errorf("mlflow-roundtrip: create model version: POST %s/model-versions/create: no version in the answer", mlflowAPI)
	}

	var mv struct {
		ModelVersion mlflowModelVersion `json:"model_version"`
	}
	if err := c.get(ctx, "get model version", "/model-versions/get",
		url.Values{"name": {rt.name}, "version": {mvVersion}}, &mv); err != nil {
		return "", err
	}
	if mv.ModelVersion.Source != source || mv.ModelVersion.RunID != rt.runID || mv.ModelVersion.Status == "FAILED_REGISTRATION" {
		return "", fmt.Errorf("mlflow-roundtrip: get model version: GET %s/model-versions/get: got source %q run_id %q status %s, want source %q run_id %q",
			mlflowAPI, mv.ModelVersion.Source, mv.ModelVersion.RunID, mv.ModelVersion.Status, source, rt.runID)
	}

	var hist struct {
		Metrics []struct {
			Key   string  `json:"key"`
			Value float64 `json:"value"`
			Step  int64   `json:"step"`
		} `json:"metrics"`
	}
	// max_results is sent: servers before MLflow 3.14 answer an empty page without it.
	if err := c.get(ctx, "get metric history", "/metrics/get-history",
		url.Values{"run_id": {rt.runID}, "metric_key": {mlflowMetricKey}, "max_results": {"100"}}, &hist); err != nil {
		return "", err
	}
	if len(hist.Metrics) != 1 || hist.Metrics[0].Value != mlflowMetricVal || hist.Metrics[0].Step != mlflowStep {
		return "", fmt.Errorf("mlflow-roundtrip: get metric history: GET %s/metrics/get-history: got %+v, want one %s=%v at step %d",
			mlflowAPI, hist.Metrics, mlflowMetricKey, mlflowMetricVal, mlflowStep)
	}

	var rg struct {
		Run mlflowRun `json:"run"`
	}
	if err := c.get(ctx, "get run", "/runs/get", url.Values{"run_id": {rt.runID}}, &rg); err != nil {
		return "", err
	}
	var param string
	for _, p := range rg.Run.Data.Params {
		if p.Key == mlflowParamKey {
			param = p.Value
		}
	}
	if param != paramValue || rg.Run.Info.Status != "FINISHED" {
		return "", fmt.Errorf("mlflow-roundtrip: get run: GET %s/runs/get: got param %s=%q status %s, want %q and FINISHED",
			mlflowAPI, mlflowParamKey, param, rg.Run.Info.Status, paramValue)
	}

	return fmt.Sprintf("MLflow %s at %s: experiment %s (id %s), run %s FINISHED with param and metric, "+
		"artifact %s (%d bytes) via %s, model version %s/%s %s from %s; cleaned up",
		version, c.redacted, rt.name, rt.experimentID, rt.runID, mlflowArtifact, len(content),
		mlflowArtifactsAPI, rt.name, mvVersion, mv.ModelVersion.Status, source), nil
}

// cleanup removes what run created, in reverse order, with a context that outlives ctx's
// cancellation. Every step is attempted; failures are joined.
func (rt *mlflowRoundTrip) cleanup(ctx context.Context) error {
	if !rt.experimentMaybe {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), mlflowCleanupLimit)
	defer cancel()
	c := rt.c
	var errs []error
	// tolerate404 is for things that may or may not exist (the request went out, the answer
	// did not come back).
	add := func(err error, tolerate404 bool) {
		if err == nil || (tolerate404 && mlflowNotFound(err)) {
			return
		}
		errs = append(errs, fmt.Errorf("cleanup: %w", err))
	}

	if rt.artifactRoot != "" {
		_, err := c.call(ctx, "delete artifacts", http.MethodDelete, mlflowArtifactsAPI+"/"+rt.artifactRoot,
			mlflowArtifactsAPI+"/"+mlflowEscapePath(rt.artifactRoot), nil, nil, nil)
		add(err, true)
	}
	if rt.modelMaybe {
		_, err := c.call(ctx, "delete registered model", http.MethodDelete, mlflowAPI+"/registered-models/delete",
			"", nil, map[string]any{"name": rt.name}, nil)
		add(err, true)
	}
	if rt.runID != "" {
		add(c.post(ctx, "delete run", "/runs/delete", map[string]any{"run_id": rt.runID}, nil), false)
	}
	if rt.experimentID == "" {
		// The create request went out but its answer was lost: look the experiment up by name.
		var byName struct {
			Experiment struct {
				ExperimentID string `json:"experiment_id"`
			} `json:"experiment"`
		}
		err := c.get(ctx, "find experiment", "/experiments/get-by-name", url.Values{"experiment_name": {rt.name}}, &byName)
		add(err, true)
		rt.experimentID = byName.Experiment.ExperimentID
	}
	if rt.experimentID != "" {
		add(c.post(ctx, "delete experiment", "/experiments/delete", map[string]any{"experiment_id": rt.experimentID}, nil), false)
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("mlflow-roundtrip: cleanup left %q behind on %s (delete it by hand): %w",
		rt.name, c.redacted, errors.Join(errs...))
}

type mlflowRun struct {
	Info struct {
		RunID       string `json:"run_id"`
		Status      string `json:"status"`
		ArtifactURI string `json:"artifact_uri"`
	} `json:"info"`
	Data struct {
		Params []struct {
			Key   string `json:"key"`
			Value string `json:"value"`
		} `json:"params"`
	} `json:"data"`
}

type mlflowModelVersion struct {
	Version string `json:"version"`
	Source  string `json:"source"`
	RunID   string `json:"run_id"`
	Status  string `json:"status"`
}

// mlflowProxiedPath maps a run's artifact URI to the path under the server's artifact proxy:
// "mlflow-artifacts:/1/<run>/artifacts" (or "mlflow-artifacts://host/1/<run>/artifacts", or an
// http(s) URL of the proxy itself) gives "1/<run>/artifacts".
func mlflowProxiedPath(artifactURI string) (string, error) {
	u, err := url.Parse(artifactURI)
	if err == nil {
		var p string
		switch u.Scheme {
		case "mlflow-artifacts":
			p = u.Path
			if u.Opaque != "" {
				p = u.Opaque
			}
		case "http", "https":
			if _, after, ok := strings.Cut(u.Path, mlflowArtifactsAPI+"/"); ok {
				p = after
			}
		}
		p = strings.Trim(p, "/")
		if p != "" && !strings.Contains("/"+p+"/", "/../") {
			return p, nil
		}
	}
	return "", fmt.Errorf("run artifact_uri %q is not served by the tracking server's artifact proxy "+
		"(want mlflow-artifacts:/...; start the server with --artifacts-destination and without --no-serve-artifacts)", artifactURI)
}

func mlflowEscapePath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

func mlflowUniqueName() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b) // never fails (crypto/rand panics instead)
	return mlflowCheckPrefix + time.Now().UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b)
}
