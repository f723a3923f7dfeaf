package check

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/mlops-series/mlops-series/internal/series"
)

// The whole path (`mlops-series check path`): the series' story told by the running tools, one hop
// per chapter. Chapter 8's feature server serves the iris measurements; chapter 5's Airflow DAG
// fetches them and trains chapter 6's model in a pod, which registers a new version in MLflow and
// makes it the champion; chapter 7's app picks the new champion up and answers with it; chapter
// 10's Prometheus counts the predictions that version made.

// PathHop is one hop of the path: the chapter and component it runs against, and the post section
// that explains it.
type PathHop struct {
	// Name is the hop's name in the output ("features").
	Name string
	// Chapter is the chapter that installs Component; Check, when set, is the chapter's check whose
	// component, port and params the hop reuses (its credentials, its sample).
	Chapter, Component, Check string
	Port                      int
	Section                   string
	About                     series.Localized
}

// PathHops are the hops, in the order they run.
var PathHops = []PathHop{
	{Name: "features", Chapter: "chapter-8", Component: "feast", Port: 6566, Section: "#online-features",
		About: series.Localized{
			Ko: "Feast 피처 서버가 붓꽃 150개의 측정값과 품종을 온라인 피처로 제공",
			En: "Feast's feature server serves the measurements and species of the 150 irises as online features"}},
	{Name: "pipeline", Chapter: "chapter-5", Component: "airflow", Check: "airflow-dag-run", Port: 8080, Section: "#running-the-pipeline",
		About: series.Localized{
			Ko: "Airflow DAG iris_training 이 Feast 에서 피처를 받아 파드에서 모델을 학습·등록",
			En: "the Airflow DAG iris_training fetches the features from Feast and trains and registers the model in a pod"}},
	{Name: "registry", Chapter: "chapter-6", Component: "mlflow", Port: 5000, Section: "#registry",
		About: series.Localized{
			Ko: "그 DAG 실행이 등록한 새 버전이 MLflow 에서 champion 이 됨",
			En: "the new version that DAG run registered is MLflow's champion"}},
	{Name: "serving", Chapter: "chapter-7", Component: "serving", Check: "predict", Port: 8000, Section: "#fastapi",
		About: series.Localized{
			Ko: "FastAPI 앱이 재배포 없이 새 champion 버전으로 예측",
			En: "the FastAPI app answers with the new champion version, without a redeploy"}},
	{Name: "monitoring", Chapter: "chapter-10", Component: "prometheus", Port: 9090, Section: "#promql",
		About: series.Localized{
			Ko: "Prometheus 가 새 버전의 예측 수를 수집",
			En: "Prometheus has scraped the new version's prediction count"}},
}

// The path's defaults.
const (
	PathDAG         = "iris_training"
	PathFeatureView = "iris_measurements"
	PathJoinKey     = "iris_id"
	PathRows        = 150
	// PathPredictions is how many predictions the serving hop asks the new version for; the
	// monitoring hop wants Prometheus to count at least that many.
	PathPredictions = 20
	// The tag the DAG's training pod puts on the model version it registers.
	pathRunTag = "airflow_run_id"
)

// PathFeatures are the features the DAG trains on.
var PathFeatures = []string{"sepal_length_cm", "sepal_width_cm", "petal_length_cm", "petal_width_cm", "species"}

// Path runs the hops against the tools' base URLs (by hop name) and reports each hop as it ends.
type Path struct {
	// URLs maps a hop's Name to its tool's base URL.
	URLs map[string]string
	// AirflowUser and AirflowPassword log in to Airflow.
	AirflowUser, AirflowPassword string
	// DAG is the DAG that trains (default PathDAG).
	DAG string
	// Predict is the serving hop's request (its Registry is set from the registry hop's URL).
	Predict Predict
	// Predictions is how many predictions the serving hop makes (default PathPredictions).
	Predictions int
	// Timeout bounds each hop by name (defaults below).
	Timeout map[string]time.Duration
	// Every is the pause between polls (0: 2 s; the PromQL poll waits 5 s).
	Every time.Duration
}

// PathResult is the outcome of one hop.
type PathResult struct {
	Hop      PathHop
	Ran      bool // false: an earlier hop failed
	Err      error
	Message  string
	Duration time.Duration
}

// pathTimeouts are the hops' default bounds: the DAG run starts a pod and trains, the app looks
// for a new champion every 30 s, Prometheus scrapes every 30 s.
var pathTimeouts = map[string]time.Duration{
	"features": time.Minute, "pipeline": 10 * time.Minute, "registry": time.Minute,
	"serving": 3 * time.Minute, "monitoring": 3 * time.Minute,
}

// pathState is what a hop hands to the next.
type pathState struct {
	previous string // the champion's version before the run ("" none)
	runID    string // the DAG run
	version  string // the version the run registered
	served   int    // predictions the new version made
}

// Run runs the hops in order, calling report after each; it stops at the first failure (the
// remaining hops are reported as not run) and returns the number of hops that passed.
func (p Path) Run(ctx context.Context, hc *http.Client, report func(PathResult)) int {
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	st := &pathState{}
	steps := map[string]func(context.Context, *http.Client, *pathState) (string, error){
		"features": p.features, "pipeline": p.pipeline, "registry": p.registry,
		"serving": p.serving, "monitoring": p.monitoring,
	}
	passed := 0
	failed := false
	for _, hop := range PathHops {
		if failed {
			report(PathResult{Hop: hop})
			continue
		}
		timeout := p.Timeout[hop.Name]
		if timeout <= 0 {
			timeout = pathTimeouts[hop.Name]
		}
		hctx, cancel := context.WithTimeout(ctx, timeout)
		start := time.Now()
		msg, err := steps[hop.Name](hctx, hc, st)
		if err != nil && hctx.Err() != nil && ctx.Err() == nil {
			err = fmt.Errorf("timed out after %s: %w", timeout, err)
		}
		cancel()
		report(PathResult{Hop: hop, Ran: true, Err: err, Message: msg, Duration: time.Since(start).Round(time.Millisecond)})
		if err != nil {
			failed = true
			continue
		}
		passed++
	}
	return passed
}

func (p Path) url(hop string) (string, error) {
	u := p.URLs[hop]
	if u == "" {
		return "", fmt.Errorf("path: no URL for the %s hop", hop)
	}
	return u, nil
}

func (p Path) every() time.Duration {
	if p.Every > 0 {
		return p.Every
	}
	return 2 * time.Second
}

// features asks the feature server for every iris row and requires all of them, PRESENT, with a
// valid species: the data the DAG is about to train on.
func (p Path) features(ctx context.Context, hc *http.Client, _ *pathState) (string, error) {
	base, err := p.url("features")
	if err != nil {
		return "", err
	}
	c, _, _, err := newAPIClient(feastServer, hc, base)
	if err != nil {
		return "", err
	}
	resp, column, err := irisFeatures(ctx, c)
	if err != nil {
		return "", err
	}
	species := map[string]int{}
	for _, f := range PathFeatures {
		i, ok := column[PathFeatureView+"__"+f]
		if !ok || i >= len(resp.Results) {
			return "", fmt.Errorf("path: features: %s:%s is not in the answer (columns: %s)", PathFeatureView, f, strings.Join(resp.Metadata.FeatureNames, ", "))
		}
		res := resp.Results[i]
		if len(res.Values) != PathRows || len(res.Statuses) != PathRows {
			return "", fmt.Errorf("path: features: %s:%s has %d values for %d irises", PathFeatureView, f, len(res.Values), PathRows)
		}
		for row := range PathRows {
			if res.Statuses[row] != feastStatusPresent || res.Values[row] == nil {
				return "", fmt.Errorf("path: features: %s:%s of %s=%d is %s (%v): has chapter 8's Job materialized the iris rows?",
					PathFeatureView, f, PathJoinKey, row, res.Statuses[row], res.Values[row])
			}
			if f == "species" {
				species[fmt.Sprint(res.Values[row])]++
			}
		}
	}
	return fmt.Sprintf("Feast at %s: %d irises × %d features PRESENT (species 0/1/2: %d/%d/%d)",
		c.redacted, PathRows, len(PathFeatures), species["0"], species["1"], species["2"]), nil
}

// irisFeatures asks the feature server for every feature of every iris (full feature names) and
// returns the answer with the index of each column by name (Feast does not keep the asked order).
func irisFeatures(ctx context.Context, c *apiClient) (feastResponse, map[string]int, error) {
	ids := make([]int, PathRows)
	for i := range ids {
		ids[i] = i
	}
	refs := make([]string, len(PathFeatures))
	for i, f := range PathFeatures {
		refs[i] = PathFeatureView + ":" + f
	}
	var resp feastResponse
	if err := c.do(ctx, "get online features", http.MethodPost, feastOnlinePath, "", map[string]any{
		"features": refs, "entities": map[string][]int{PathJoinKey: ids}, "full_feature_names": true,
	}, &resp); err != nil {
		if apiStatus(err) == http.StatusNotFound {
			err = fmt.Errorf("%w (is the feature view %s in chapter 8's feature repository? `mlops-series up chapter-8` applies it)", err, PathFeatureView)
		}
		return resp, nil, err
	}
	column := map[string]int{}
	for i, n := range resp.Metadata.FeatureNames {
		column[n] = i
	}
	return resp, column, nil
}

// pipeline notes the champion before the run, then triggers the DAG and waits for its success.
func (p Path) pipeline(ctx context.Context, hc *http.Client, st *pathState) (string, error) {
	reg, err := p.registryClient(hc)
	if err != nil {
		return "", err
	}
	before, err := p.champion(ctx, reg)
	if err != nil && !mlflowNotFound(err) {
		return "", err
	}
	st.previous = before.Version
	base, err := p.url("pipeline")
	if err != nil {
		return "", err
	}
	dag := p.DAG
	if dag == "" {
		dag = PathDAG
	}
	summary, runID, err := AirflowDAGRun{DAG: dag, Username: p.AirflowUser, Password: p.AirflowPassword, Poll: p.every()}.
		RunWithID(ctx, hc, base)
	st.runID = runID
	return summary, err
}

func (p Path) registryClient(hc *http.Client) (*mlflowClient, error) {
	base, err := p.url("registry")
	if err != nil {
		return nil, err
	}
	api, _, _, err := newAPIClient(mlflowServer, hc, base)
	if err != nil {
		return nil, err
	}
	return &mlflowClient{api}, nil
}

func (p Path) modelAlias() (string, string) {
	model, alias := p.Predict.Model, p.Predict.Alias
	if model == "" {
		model = "iris-classifier"
	}
	if alias == "" {
		alias = "champion"
	}
	return model, alias
}

// champion is the version the alias points at.
func (p Path) champion(ctx context.Context, reg *mlflowClient) (mlflowVersion, error) {
	model, alias := p.modelAlias()
	return reg.aliasVersion(ctx, model, alias)
}

// registry requires the champion to be the version the DAG run registered: tagged with its run id,
// and not the champion of before.
func (p Path) registry(ctx context.Context, hc *http.Client, st *pathState) (string, error) {
	reg, err := p.registryClient(hc)
	if err != nil {
		return "", err
	}
	model, alias := p.modelAlias()
	v, err := p.champion(ctx, reg)
	if err != nil {
		return "", err
	}
	if got := v.tag(pathRunTag); got != st.runID {
		return "", fmt.Errorf("path: registry: %s@%s is version %s, tagged %s=%q, not the DAG run %s: did the DAG's train_register task move the alias?",
			model, alias, v.Version, pathRunTag, got, st.runID)
	}
	if v.Version == st.previous {
		return "", fmt.Errorf("path: registry: %s@%s is still version %s, the champion before the run", model, alias, v.Version)
	}
	st.version = v.Version
	var run struct {
		Run struct {
			Data struct {
				Metrics []struct {
					Key   string  `json:"key"`
					Value float64 `json:"value"`
				} `json:"metrics"`
				Tags []struct {
					Key   string `json:"key"`
					Value string `json:"value"`
				} `json:"tags"`
			} `json:"data"`
		} `json:"run"`
	}
	if err := reg.get(ctx, "run of version "+v.Version, "/runs/get", url.Values{"run_id": {v.RunID}}, &run); err != nil {
		return "", err
	}
	acc, dataset := "?", "?"
	for _, m := range run.Run.Data.Metrics {
		if m.Key == "accuracy" {
			acc = fmt.Sprintf("%.3f", m.Value)
		}
	}
	for _, t := range run.Run.Data.Tags {
		if t.Key == "dataset" {
			dataset = t.Value
		}
	}
	was := "none"
	if st.previous != "" {
		was = "version " + st.previous
	}
	return fmt.Sprintf("%s@%s → version %s (was %s), run %s: accuracy %s on %s",
		model, alias, v.Version, was, v.RunID, acc, dataset), nil
}

// serving waits until the app answers with the new version (it looks for a new champion on its
// refresh interval), then asks it for more predictions.
func (p Path) serving(ctx context.Context, hc *http.Client, st *pathState) (string, error) {
	base, err := p.url("serving")
	if err != nil {
		return "", err
	}
	pr := p.Predict
	if pr.Registry, err = p.url("registry"); err != nil {
		return "", err
	}
	pr.Model, pr.Alias = p.modelAlias()
	pr.Every = p.every()
	start := time.Now()
	msg, err := pr.Run(ctx, hc, base)
	if err != nil {
		return "", err
	}
	swapped := time.Since(start).Round(100 * time.Millisecond)
	app, _, _, err := newAPIClient(servingApp, hc, base)
	if err != nil {
		return "", err
	}
	n := p.Predictions
	if n <= 0 {
		n = PathPredictions
	}
	path := pr.Path
	if path == "" {
		path = "/predict"
	}
	st.served = 1
	for st.served < n {
		var ans servingAnswer
		if err := app.do(ctx, "predict", http.MethodPost, path, "", json.RawMessage(pr.Sample), &ans); err != nil {
			return "", err
		}
		if ans.ModelVersion != st.version {
			return "", fmt.Errorf("path: serving: POST %s answered from version %s after version %s had answered", path, ans.ModelVersion, st.version)
		}
		st.served++
	}
	return fmt.Sprintf("%s (after %s); %d predictions from version %s", msg, swapped, st.served, st.version), nil
}

// monitoring waits until Prometheus has scraped the app's count of the new version's predictions.
func (p Path) monitoring(ctx context.Context, hc *http.Client, st *pathState) (string, error) {
	base, err := p.url("monitoring")
	if err != nil {
		return "", err
	}
	if st.version == "" || st.served == 0 {
		return "", errors.New("path: monitoring: no predictions to look for")
	}
	q := fmt.Sprintf(`sum(serving_predictions_total{model_version=%q}) >= bool %d`, st.version, st.served)
	if _, err := (PromQL{Query: q, MinSeries: 1}).Run(ctx, hc, base); err != nil {
		return "", err
	}
	return fmt.Sprintf("Prometheus at %s: %s is 1 (the %d predictions of version %s are counted)", base, q, st.served, st.version), nil
}

// PathNotUp lists the hops whose chapter is not up (its component's Service is missing), as
// "chapter-N (no Service NS/NAME)"; hops given by an endpoint are not looked at.
func (r *Runner) PathNotUp(ctx context.Context) ([]string, error) {
	var missing []string
	for _, hop := range PathHops {
		if _, ok := r.Endpoints[hop.Component]; ok || r.CS == nil {
			continue
		}
		ch, c, err := r.pathCheck(hop)
		if err != nil {
			return nil, err
		}
		_, comp, err := r.component(ch, c.Component)
		if err != nil {
			return nil, err
		}
		_, err = r.CS.CoreV1().Services(comp.Namespace).Get(ctx, c.ServiceName(), metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			missing = append(missing, fmt.Sprintf("%s (no Service %s/%s)", hop.Chapter, comp.Namespace, c.ServiceName()))
		case err != nil:
			return nil, fmt.Errorf("read Service %s/%s: %w", comp.Namespace, c.ServiceName(), err)
		}
	}
	return missing, nil
}

// pathCheck is the chapter of a hop and the check it reaches its tool as: the chapter's check the
// hop names, or one made of the hop's component and port.
func (r *Runner) pathCheck(hop PathHop) (*series.Chapter, series.Check, error) {
	if r.Lib == nil {
		return nil, series.Check{}, errors.New("path: no series to find the chapters in")
	}
	ch, err := r.Lib.Chapter(hop.Chapter)
	if err != nil {
		return nil, series.Check{}, err
	}
	if hop.Check == "" {
		return ch, series.Check{Name: hop.Name, Component: hop.Component, Port: hop.Port}, nil
	}
	for _, c := range ch.Checks {
		if c.Name == hop.Check {
			return ch, c, nil
		}
	}
	return nil, series.Check{}, fmt.Errorf("path: %s has no check %s (the %s hop uses it)", ch.ID(), hop.Check, hop.Name)
}

// Path reaches every hop's tool (its --endpoint or a port-forward) and reads what the hops need
// from the chapters' specs and the cluster: Airflow's login, the serving check's sample. The
// returned function closes the port-forwards.
func (r *Runner) Path(ctx context.Context) (Path, func(), error) {
	p := Path{URLs: map[string]string{}}
	var stops []func()
	stop := func() {
		for _, s := range stops {
			s()
		}
	}
	for _, hop := range PathHops {
		ch, c, err := r.pathCheck(hop)
		if err != nil {
			stop()
			return p, nil, err
		}
		base, _, closeFw, err := r.endpoint(ctx, ch, c)
		if err != nil {
			stop()
			return p, nil, fmt.Errorf("%s (%s): %w", hop.Name, ch.ID(), err)
		}
		stops = append(stops, closeFw)
		p.URLs[hop.Name] = base
		switch hop.Name {
		case "pipeline":
			if p.AirflowUser, p.AirflowPassword, err = r.credentials(ctx, ch, c, "admin"); err != nil {
				stop()
				return p, nil, fmt.Errorf("%s (%s): %w", hop.Name, ch.ID(), err)
			}
		case "serving":
			sample, err := r.sample(Input{Chapter: ch, Check: c})
			if err != nil {
				stop()
				return p, nil, fmt.Errorf("%s (%s check %s): %w", hop.Name, ch.ID(), c.Name, err)
			}
			p.Predict = Predict{Path: c.Path, Sample: sample, Classes: splitList(c.Params[ServingParamClasses]),
				Expect: c.Params[ServingParamExpect], Ready: c.Params[ServingParamReady]}
			p.Predict.Model, p.Predict.Alias, _ = strings.Cut(c.Params[ServingParamModel], "@")
		}
	}
	return p, stop, nil
}
