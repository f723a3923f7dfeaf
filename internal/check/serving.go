package check

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mlops-series/mlops-series/internal/series"
)

// Predict proves a model-serving app (chapter 7's FastAPI app or BentoML service) answers with the
// registry's champion: it waits for the app's readiness path, asks the MLflow registry which
// version the alias points at, then POSTs a known sample to the predict path and requires a valid
// class from exactly that version. The app picks up an alias change on its own refresh interval, so a version
// that differs is asked again until ctx ends.
type Predict struct {
	// Path is the predict API ("" is /predict); Sample is its request body (JSON).
	Path   string
	Sample []byte
	// Classes are the valid class names; Expect, if set, the one the sample's first instance must get.
	Classes []string
	Expect  string
	// Registry is the MLflow server's base URL ("": the version is not compared with the registry).
	Registry string
	// Model and Alias name the registered model the app serves; when empty, they are read from
	// the app's readiness answer (the FastAPI app's /health names them; BentoML's /readyz does not).
	Model, Alias string
	// Ready is the readiness path ("" is /health): 503, or a JSON status other than "ok", means
	// the model is still loading.
	Ready string
	// Every is the pause between attempts (0: 2 s).
	Every time.Duration
}

// servingApp is the serving app as the API client names it.
var servingApp = apiTool{Check: "predict", Name: "serving app", Server: "serving app", NotJSONHint: "the serving app"}

// servingHealth is the app's GET /health.
type servingHealth struct {
	Status       string  `json:"status"`
	ModelName    string  `json:"model_name"`
	ModelAlias   string  `json:"model_alias"`
	ModelVersion *string `json:"model_version"`
}

// servingAnswer is the app's predict answer.
type servingAnswer struct {
	ModelName    string `json:"model_name"`
	ModelVersion string `json:"model_version"`
	Predictions  []struct {
		ClassID   *int   `json:"class_id"`
		ClassName string `json:"class_name"`
	} `json:"predictions"`
}

// errServingNotYet marks a state the app leaves on its own (loading, an older version): retried.
var errServingNotYet = errors.New("not yet")

// Run polls until the app answers with the champion's version, or ctx ends with the last reason.
func (p Predict) Run(ctx context.Context, hc *http.Client, base string) (string, error) {
	if len(p.Sample) == 0 || !json.Valid(p.Sample) {
		return "", fmt.Errorf("predict: the sample is not JSON")
	}
	app, _, _, err := newAPIClient(servingApp, hc, base)
	if err != nil {
		return "", err
	}
	var reg *mlflowClient
	if p.Registry != "" {
		api, _, _, err := newAPIClient(mlflowServer, hc, p.Registry)
		if err != nil {
			return "", err
		}
		reg = &mlflowClient{api}
	}
	every := p.Every
	if every <= 0 {
		every = 2 * time.Second
	}
	for {
		msg, err := p.once(ctx, app, reg)
		if err == nil || !errors.Is(err, errServingNotYet) {
			return msg, err
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("%w (gave up: %v)", err, context.Cause(ctx))
		case <-time.After(every):
		}
	}
}

func (p Predict) once(ctx context.Context, app *apiClient, reg *mlflowClient) (string, error) {
	ready := p.Ready
	if ready == "" {
		ready = "/health"
	}
	body, err := app.call(ctx, "readiness", http.MethodGet, ready, "", nil, nil, nil)
	if err != nil {
		if apiStatus(err) == http.StatusServiceUnavailable {
			return "", fmt.Errorf("%w: %w", errServingNotYet, err)
		}
		return "", err
	}
	model, alias := p.Model, p.Alias
	var h servingHealth
	if json.Unmarshal(body, &h) == nil {
		if h.Status != "" && h.Status != "ok" {
			return "", fmt.Errorf("predict: %w: GET %s: status %q, the model is not loaded yet", errServingNotYet, ready, h.Status)
		}
		if model == "" {
			model, alias = h.ModelName, h.ModelAlias
		} else if h.ModelName != "" && (h.ModelName != model || h.ModelAlias != alias) {
			return "", fmt.Errorf("predict: GET %s: the app serves %s@%s, want %s@%s", ready, h.ModelName, h.ModelAlias, model, alias)
		}
	}
	want := ""
	if reg != nil {
		if model == "" || alias == "" {
			return "", fmt.Errorf("predict: GET %s names no model and alias: set the check's model (NAME@ALIAS) to compare with the registry", ready)
		}
		v, err := reg.aliasVersion(ctx, model, alias)
		if err != nil {
			return "", fmt.Errorf("predict: %s@%s in the registry: %w", model, alias, err)
		}
		want = v.Version
	}
	path := p.Path
	if path == "" {
		path = "/predict"
	}
	var ans servingAnswer
	if err := app.do(ctx, "predict", http.MethodPost, path, "", json.RawMessage(p.Sample), &ans); err != nil {
		return "", err
	}
	if ans.ModelVersion == "" || (model != "" && ans.ModelName != model) {
		return "", fmt.Errorf("predict: POST %s answered for model %q version %q, want model %q with its version", path, ans.ModelName, ans.ModelVersion, model)
	}
	if want != "" && ans.ModelVersion != want {
		return "", fmt.Errorf("predict: %w: POST %s answered from version %s, %s@%s is version %s in the registry (the app reloads on its refresh interval)",
			errServingNotYet, path, ans.ModelVersion, model, alias, want)
	}
	if len(ans.Predictions) == 0 {
		return "", fmt.Errorf("predict: POST %s answered no predictions", path)
	}
	for i, pr := range ans.Predictions {
		if pr.ClassID == nil || (len(p.Classes) > 0 && !slices.Contains(p.Classes, pr.ClassName)) {
			return "", fmt.Errorf("predict: POST %s: prediction %d is class %q (id %v), want one of %s", path, i, pr.ClassName, pr.ClassID, strings.Join(p.Classes, ", "))
		}
	}
	got := ans.Predictions[0].ClassName
	if p.Expect != "" && got != p.Expect {
		return "", fmt.Errorf("predict: POST %s: the sample is %q, want %q (version %s)", path, got, p.Expect, ans.ModelVersion)
	}
	from := fmt.Sprintf("version %s", ans.ModelVersion)
	if want != "" {
		from = fmt.Sprintf("version %s = %s@%s in MLflow", ans.ModelVersion, model, alias)
	}
	return fmt.Sprintf("POST %s → %s from %s", path, got, from), nil
}

// The params of the predict and load checks.
const (
	ServingParamSample       = "sample"       // file in the chapter folder: the request body (JSON)
	ServingParamExpect       = "expect"       // predict: the class the sample's first instance must get
	ServingParamClasses      = "classes"      // predict: the valid classes, comma-separated
	ServingParamModel        = "model"        // predict: NAME@ALIAS the app serves
	ServingParamReady        = "ready"        // predict: the readiness path (default /health)
	ServingParamRegistry     = "registry"     // predict: the MLflow component whose registry holds the alias
	ServingParamRegistryPort = "registryPort" // predict: its Service port
	ServingParamRequests     = "requests"     // load: how many requests (default 500)
	ServingParamConcurrency  = "concurrency"  // load: how many at a time (default 8)
)

// validatePredict checks a predict check's params as far as they can be without running it.
func validatePredict(_ *series.Chapter, ck series.Check) []series.FieldProblem {
	var out []series.FieldProblem
	add := func(field, format string, a ...any) {
		out = append(out, series.FieldProblem{Field: field, Message: fmt.Sprintf(format, a...)})
	}
	if ck.Path != "" && !strings.HasPrefix(ck.Path, "/") {
		add("path", "must start with /, got %q", ck.Path)
	}
	if m := ck.Params[ServingParamModel]; m != "" {
		if name, alias, ok := strings.Cut(m, "@"); !ok || name == "" || alias == "" {
			add("params."+ServingParamModel, "%q: want NAME@ALIAS", m)
		}
	}
	if r := ck.Params[ServingParamReady]; r != "" && !strings.HasPrefix(r, "/") {
		add("params."+ServingParamReady, "must start with /, got %q", r)
	}
	reg, port := ck.Params[ServingParamRegistry], ck.Params[ServingParamRegistryPort]
	if (reg == "") != (port == "") {
		add("params."+ServingParamRegistry, "registry and registryPort go together (the MLflow component and its Service port)")
	} else if port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			add("params."+ServingParamRegistryPort, "%q: want a port number", port)
		}
	}
	if e, cs := ck.Params[ServingParamExpect], ck.Params[ServingParamClasses]; e != "" && cs != "" && !slices.Contains(splitList(cs), e) {
		add("params."+ServingParamExpect, "%q is not one of classes (%s)", e, cs)
	}
	return out
}

// validateLoad checks a load check's params.
func validateLoad(_ *series.Chapter, ck series.Check) []series.FieldProblem {
	l, err := loadSettings(ck)
	if err == nil {
		err = l.validateCounts()
	}
	if err != nil {
		return []series.FieldProblem{{Field: "params", Message: err.Error()}}
	}
	if err := l.validatePath(); err != nil {
		return []series.FieldProblem{{Field: "path", Message: err.Error()}}
	}
	return nil
}

// loadSettings reads a load check's path, requests and concurrency (not its sample).
func loadSettings(ck series.Check) (Load, error) {
	l := Load{Path: ck.Path, Requests: LoadDefaultRequests, Concurrency: LoadDefaultConcurrency}
	for key, dst := range map[string]*int{ServingParamRequests: &l.Requests, ServingParamConcurrency: &l.Concurrency} {
		if v := ck.Params[key]; v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return Load{}, fmt.Errorf("params.%s %q: want a number", key, v)
			}
			*dst = n
		}
	}
	return l, nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// sample reads a check's sample file from its chapter folder; it must be JSON.
func (r *Runner) sample(in Input) ([]byte, error) {
	p := in.Check.Params[ServingParamSample]
	b, err := r.chapterFile(in.Chapter, p)
	if err != nil {
		return nil, fmt.Errorf("params.sample: %w", err)
	}
	if !json.Valid(b) {
		return nil, fmt.Errorf("params.sample: %s is not JSON", p)
	}
	return b, nil
}

// runPredict runs a predict check: the registry is reached like any component (its --endpoint or
// a port-forward to its Service).
func (r *Runner) runPredict(ctx context.Context, in Input) (string, error) {
	b, err := r.sample(in)
	if err != nil {
		return "", err
	}
	ck := in.Check
	p := Predict{Path: ck.Path, Sample: b, Classes: splitList(ck.Params[ServingParamClasses]),
		Expect: ck.Params[ServingParamExpect], Ready: ck.Params[ServingParamReady]}
	p.Model, p.Alias, _ = strings.Cut(ck.Params[ServingParamModel], "@")
	if reg := ck.Params[ServingParamRegistry]; reg != "" {
		port, _ := strconv.Atoi(ck.Params[ServingParamRegistryPort])
		base, _, stop, err := r.endpoint(ctx, in.Chapter, series.Check{Component: reg, Port: port})
		if err != nil {
			return "", fmt.Errorf("predict: the registry %s: %w", reg, err)
		}
		defer stop()
		p.Registry = base
	}
	return p.Run(ctx, in.HTTP, in.Base)
}

// runLoad runs a load check.
func (r *Runner) runLoad(ctx context.Context, in Input) (string, error) {
	l, err := loadSettings(in.Check)
	if err != nil {
		return "", err
	}
	if l.Body, err = r.sample(in); err != nil {
		return "", err
	}
	return l.Run(ctx, in.HTTP, in.Base)
}
