package check

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/mlops-series/mlops-series/internal/series"
)

// Every real chapter spec validates against the table of check types this binary runs.
func TestRealSeriesValidatesAgainstBuiltin(t *testing.T) {
	if _, err := series.Load(os.DirFS("../../series"), "series", Validation()); err != nil {
		t.Fatal(err)
	}
}

const typesChapter = `apiVersion: mlops-series/v1alpha1
kind: Chapter
number: 6
slug: model-registry
title: {ko: 모델 레지스트리, en: Model registry}
post: {section: "#overview"}
components:
  - {name: web, chart: web, namespace: web, section: "#web"}
checks:
`

// A check type is declared once, in the table: adding an entry is all it takes for specs to
// validate against its params and endpoint need, and for the Runner to run it.
func TestTypeTableDrivesValidationAndRun(t *testing.T) {
	types := Builtin()
	types["echo"] = Type{
		CheckType: series.CheckType{Endpoint: true, Required: []string{"word"}},
		Run: func(ctx context.Context, _ *Runner, in Input) (string, error) {
			return HTTP(ctx, in.HTTP, in.Base, "/"+in.Check.Params["word"], 200, in.Check.Params["word"])
		},
	}
	opt := series.WithCheckTypes(types.Spec())
	for _, tc := range []struct{ check, want string }{
		{`{name: e, type: echo, component: web, port: 80, section: "#e", params: {word: hi}}`, ""},
		{`{name: e, type: echo, component: web, port: 80, section: "#e"}`, "checks[0].params: a echo check needs params.word"},
		{`{name: e, type: echo, component: web, port: 80, section: "#e", params: {word: hi, colour: red}}`, "checks[0].params.colour: unknown param for a echo check (known: word)"},
		{`{name: e, type: echo, section: "#e", params: {word: hi}}`, "checks[0].component: is required for a echo check"},
	} {
		_, err := series.DecodeChapter("c.yaml", []byte(typesChapter+"  - "+tc.check+"\n"), opt)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: err = %v, want %q", tc.check, err, tc.want)
		}
	}
	// The builtin table does not know it.
	if _, err := series.DecodeChapter("c.yaml", []byte(typesChapter+"  - {name: e, type: echo, component: web, port: 80, section: \"#e\", params: {word: hi}}\n"), Validation()); err == nil || !strings.Contains(err.Error(), `unknown check type "echo"`) {
		t.Errorf("builtin validation of an echo check: %v", err)
	}

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(r.URL.Path)) }))
	defer srv.Close()
	ch, err := series.DecodeChapter("c.yaml", []byte(typesChapter+"  - {name: e, type: echo, component: web, port: 80, section: \"#e\", params: {word: hi}}\n"), opt)
	if err != nil {
		t.Fatal(err)
	}
	res := (&Runner{Types: types, Endpoints: map[string]string{"web": srv.URL}}).Run(context.Background(), ch)
	if len(res) != 1 || !res[0].Passed {
		t.Fatalf("echo check: %+v", res)
	}
	// The Runner's default table is the builtin one.
	res = (&Runner{Endpoints: map[string]string{"web": srv.URL}}).Run(context.Background(), ch)
	if len(res) != 1 || res[0].Passed || !strings.Contains(res[0].Message, `check type "echo" is not implemented`) {
		t.Fatalf("echo check with the builtin table: %+v", res)
	}
}

// The builtin types' own rules, as spec validation reports them.
func TestBuiltinTypeRules(t *testing.T) {
	for _, tc := range []struct{ check, want string }{
		{`{name: h, type: http, component: web, port: 80, path: health, section: "#h"}`, `checks[0].path: must start with /, got "health"`},
		{`{name: h, type: http, component: web, port: 80, path: /, section: "#h", params: {x: y}}`, "checks[0].params: a http check takes no params"},
		{`{name: h, type: http, component: web, path: /, section: "#h"}`, "checks[0].port: must be the Service port"},
		{`{name: f, type: feast-online-features, component: web, port: 80, section: "#f", params: {features: v:a, entities: id=1, expected: e.json, colour: red}}`, "checks[0].params.colour: unknown param for a feast-online-features check (known: features, entities, expected)"},
		{`{name: d, type: airflow-dag-run, component: web, port: 80, section: "#d", params: {passwordSecret: nokey}}`, "needs params.dag"},
		{`{name: k, type: kubernetes-version, section: "#k"}`, "needs params.version"},
		{`{name: s, type: smoke, section: "#s"}`, `unknown check type "smoke" (known: airflow-dag-run, coredns, feast-online-features, flux-drift, flux-sync, github-workflow, grafana-datasource, http, jenkins-job, jupyterhub-kernel, kubernetes-version, load, mlflow-roundtrip, nodes, pods, predict, promql, ray-cluster, ray-job, storage-binds, tensorboard-scalars)`},
		{`{name: p, type: predict, component: web, port: 80, section: "#p"}`, "a predict check needs params.sample"},
		{`{name: p, type: predict, component: web, port: 80, path: predict, section: "#p", params: {sample: s.json}}`, `checks[0].path: must start with /, got "predict"`},
		{`{name: p, type: predict, component: web, port: 80, section: "#p", params: {sample: s.json, model: iris}}`, `checks[0].params.model: "iris": want NAME@ALIAS`},
		{`{name: p, type: predict, component: web, port: 80, section: "#p", params: {sample: s.json, registry: mlflow}}`, "registry and registryPort go together"},
		{`{name: p, type: predict, component: web, port: 80, section: "#p", params: {sample: s.json, registry: mlflow, registryPort: http}}`, `checks[0].params.registryPort: "http": want a port number`},
		{`{name: p, type: predict, component: web, port: 80, section: "#p", params: {sample: s.json, classes: "a, b", expect: c}}`, `checks[0].params.expect: "c" is not one of classes`},
		{`{name: p, type: predict, component: web, port: 80, section: "#p", params: {sample: s.json, ready: readyz}}`, `checks[0].params.ready: must start with /`},
		{`{name: l, type: load, component: web, port: 80, path: /predict, section: "#l", params: {sample: s.json, requests: many}}`, `params.requests "many": want a number`},
		{`{name: l, type: load, component: web, port: 80, path: /predict, section: "#l", params: {sample: s.json, concurrency: "0"}}`, "concurrency must be 1..64, got 0"},
		{`{name: l, type: load, component: web, port: 80, section: "#l", params: {sample: s.json}}`, `checks[0].path: path must start with /, got ""`},
		{`{name: j, type: jupyterhub-kernel, component: web, port: 80, section: "#j", params: {code: c.py}}`, "a jupyterhub-kernel check needs params.tokenSecret"},
		{`{name: j, type: jupyterhub-kernel, component: web, port: 80, section: "#j", params: {code: c.py, tokenSecret: login}}`, `checks[0].params.tokenSecret: want secret/key, got "login"`},
		{`{name: j, type: jupyterhub-kernel, component: web, port: 80, section: "#j", params: {code: c.py, tokenSecret: l/t, registry: mlflow, registryCode: m.py, registryPort: "5000"}}`, `checks[0].params.registry: want chapter-N/component, got "mlflow"`},
		{`{name: j, type: jupyterhub-kernel, component: web, port: 80, section: "#j", params: {code: c.py, tokenSecret: l/t, registry: chapter-6/mlflow, registryPort: "5000"}}`, "checks[0].params.registryCode: a registry needs the code that logs to it"},
		{`{name: j, type: jupyterhub-kernel, component: web, port: 80, section: "#j", params: {code: c.py, tokenSecret: l/t, registry: chapter-6/mlflow, registryCode: m.py}}`, `checks[0].params.registryPort: want the registry's Service port, got ""`},
		{`{name: t, type: tensorboard-scalars, component: web, port: 80, section: "#t", params: {run: r}}`, "a tensorboard-scalars check needs params.tags"},
		{`{name: r, type: ray-job, component: web, port: 80, section: "#r", params: {workers: "2"}}`, "a ray-job check needs params.entrypoint"},
		{`{name: r, type: ray-job, component: web, port: 80, section: "#r", params: {entrypoint: python t.py, workers: "0"}}`, `checks[0].params.workers: params.workers "0": want a number of workers, at least 1`},
	} {
		_, err := series.DecodeChapter("c.yaml", []byte(typesChapter+"  - "+tc.check+"\n"), Validation())
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.check, err, tc.want)
		}
	}
	noComponents := strings.Replace(typesChapter, "components:\n  - {name: web, chart: web, namespace: web, section: \"#web\"}\n", "", 1)
	if _, err := series.DecodeChapter("c.yaml", []byte(noComponents+"  - {name: p, type: pods, section: \"#p\"}\n"), Validation()); err == nil || !strings.Contains(err.Error(), "checks[0].component: a pods check without a component") {
		t.Errorf("pods check in a chapter without components: %v", err)
	}
	for name, typ := range Builtin() {
		if typ.Run == nil {
			t.Errorf("check type %s has no Run", name)
		}
	}
}
