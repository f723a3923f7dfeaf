package check

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"

	mlopsseries "github.com/mlops-series/mlops-series"
	"github.com/mlops-series/mlops-series/internal/nativetest"
)

// No real Grafana can run where these tests run: Grafana is AGPL-licensed and not packaged for
// Debian, and there is no container engine. The grafana-datasource check is therefore tested
// against an httptest server that replays answers recorded from Grafana's documented HTTP API
// (testdata/grafana: GET /api/health and GET /api/datasources/uid/:uid/health, as Grafana 13.1
// sends them; its README names the pages and the handler they reproduce). What a real Grafana adds
// (provisioning the data source from the chart's file, reaching Prometheus) is exercised by the
// kind end-to-end workflow.

// fakeGrafana replays recordings the way Grafana routes them (nativetest.GrafanaReplay): /api/health
// without login; the data source health route only with the right basic-auth credentials
// (admin / s3cret), for the uid "prometheus".
type fakeGrafana struct {
	health, datasource string // recording names
}

const (
	fakeGrafanaUser     = "admin"
	fakeGrafanaPassword = "s3cret"
)

func (f fakeGrafana) start(t *testing.T) *httptest.Server {
	t.Helper()
	return nativetest.GrafanaReplay(t, f.health, f.datasource, fakeGrafanaUser, fakeGrafanaPassword)
}

func TestGrafanaDatasourceAgainstRecordedAPI(t *testing.T) {
	ok := fakeGrafana{health: "health-ok", datasource: "datasource-health-ok"}
	withCreds := func(base string) string {
		return strings.Replace(base, "http://", "http://"+fakeGrafanaUser+":"+fakeGrafanaPassword+"@", 1)
	}
	cases := []struct {
		name    string
		grafana fakeGrafana
		check   GrafanaDatasource
		url     func(base string) string
		want    string
		fail    bool
		wantNot string
	}{
		{name: "healthy", grafana: ok,
			check: GrafanaDatasource{UID: "prometheus", User: fakeGrafanaUser, Password: fakeGrafanaPassword},
			want:  "Grafana 13.1.3, database ok; data source prometheus OK: Successfully queried the Prometheus API."},
		{name: "credentials from the URL's userinfo", grafana: ok, check: GrafanaDatasource{UID: "prometheus"}, url: withCreds,
			want: "data source prometheus OK"},
		{name: "a password alone means the admin user", grafana: ok, check: GrafanaDatasource{UID: "prometheus", Password: fakeGrafanaPassword},
			want: "data source prometheus OK"},
		{name: "data source unhealthy", grafana: fakeGrafana{health: "health-ok", datasource: "datasource-health-error"},
			check: GrafanaDatasource{UID: "prometheus", User: fakeGrafanaUser, Password: fakeGrafanaPassword}, fail: true,
			want: `grafana-datasource: data source prometheus is unhealthy (status ERROR): Post "http://prometheus.monitoring:9090/api/v1/query": dial tcp: lookup prometheus.monitoring on 10.96.0.10:53: no such host - There was an error returned querying the Prometheus API.`},
		{name: "401 wrong password", grafana: ok,
			check: GrafanaDatasource{UID: "prometheus", User: fakeGrafanaUser, Password: "wrong-password"}, fail: true,
			want:    "grafana-datasource: GET /api/datasources/uid/prometheus/health: 401 Invalid username or password (wrong user or password)",
			wantNot: "wrong-password"},
		{name: "401 wrong password in the URL stays out of the message", grafana: ok, check: GrafanaDatasource{UID: "prometheus"},
			url:  func(base string) string { return strings.Replace(base, "http://", "http://admin:wrong-password@", 1) },
			fail: true, want: "401 Invalid username or password", wantNot: "wrong-password"},
		{name: "401 without credentials", grafana: ok, check: GrafanaDatasource{UID: "prometheus"}, fail: true,
			want: "401 Unauthorized (no credentials were given"},
		{name: "unknown uid", grafana: ok,
			check: GrafanaDatasource{UID: "no-such-uid", User: fakeGrafanaUser, Password: fakeGrafanaPassword}, fail: true,
			want: `grafana-datasource: GET /api/datasources/uid/no-such-uid/health: Grafana has no data source with uid "no-such-uid" (Unable to load datasource metadata)`},
		{name: "404 plugin not found", grafana: fakeGrafana{health: "health-ok", datasource: "datasource-plugin-not-found"},
			check: GrafanaDatasource{UID: "prometheus", User: fakeGrafanaUser, Password: fakeGrafanaPassword}, fail: true,
			want: "grafana-datasource: GET /api/datasources/uid/prometheus/health: 404 Plugin not found (no health check for data source prometheus: is its plugin installed?)"},
		{name: "database failing", grafana: fakeGrafana{health: "health-database-failing", datasource: "datasource-health-ok"},
			check: GrafanaDatasource{UID: "prometheus", User: fakeGrafanaUser, Password: fakeGrafanaPassword}, fail: true,
			want: `grafana-datasource: GET /api/health: 503, database is "failing", want "ok"`},
		{name: "no uid", grafana: ok, check: GrafanaDatasource{}, fail: true,
			want: "grafana-datasource: no data source uid to check"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := c.grafana.start(t)
			base := srv.URL
			if c.url != nil {
				base = c.url(base)
			}
			got, err := c.check.Run(t.Context(), srv.Client(), base)
			requireOutcome(t, got, err, c.fail, c.want, c.wantNot)
		})
	}
}

// Answers that do not come from Grafana at all.
func TestGrafanaDatasourceNotGrafana(t *testing.T) {
	html := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		_, _ = fmt.Fprint(w, "<html>404 page not found</html>")
	}))
	t.Cleanup(html.Close)
	closed := fmt.Sprintf("http://127.0.0.1:%d", nativetest.FreePort(t))
	for _, c := range []struct{ name, url, want string }{
		{"some other server", html.URL, "grafana-datasource: GET /api/health: 404, not Grafana's health answer (is " + html.URL + " Grafana?): <html>404 page not found</html>"},
		{"unreachable", closed, "grafana-datasource: GET /api/health: unreachable: "},
		{"invalid URL", "grafana:3000", `grafana-datasource: invalid Grafana URL "grafana:3000"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			_, err := GrafanaDatasource{UID: "prometheus"}.Run(ctx, nil, c.url)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want it to contain %q", err, c.want)
			}
		})
	}
}

// The grafana chart as chapter 10 installs it.
func TestGrafanaChartAsChapter10InstallsIt(t *testing.T) {
	_, docs := chapter10Docs(t, "grafana")

	sec := renderedObj(t, docs, "Secret", "grafana-admin")
	if yamlField(sec, "data", "user") == nil || yamlField(sec, "data", "password") == nil {
		t.Errorf("Secret grafana-admin keys = %v, want user and password", yamlField(sec, "data"))
	}
	svc := renderedObj(t, docs, "Service", "grafana")
	if yamlField(svc, "spec", "type") != "ClusterIP" || yamlField(svc, "spec", "ports", 0, "port") != float64(3000) {
		t.Errorf("Service grafana: %v", yamlField(svc, "spec"))
	}

	cm := renderedObj(t, docs, "ConfigMap", "grafana-config")
	ini, _ := yamlField(cm, "data", "grafana.ini").(string)
	for _, want := range []string{
		"[auth.anonymous]\nenabled = false",
		"[plugins]\nplugin_admin_enabled = false\npreinstall_disabled = true",
		"[analytics]\ncheck_for_plugin_updates = false\ncheck_for_updates = false",
		"default_home_dashboard_path = /etc/grafana/dashboards/cluster-overview.json",
		"[metrics]\nenabled = true",
	} {
		if !strings.Contains(ini, want) {
			t.Errorf("grafana.ini lacks %q:\n%s", want, ini)
		}
	}
	dsFile, _ := yamlField(cm, "data", "datasources.yaml").(string)
	for _, want := range []string{`uid: "prometheus"`, `url: "http://prometheus.monitoring:9090"`, "type: prometheus", "isDefault: true", "editable: false"} {
		if !strings.Contains(dsFile, want) {
			t.Errorf("datasources.yaml lacks %q:\n%s", want, dsFile)
		}
	}

	dash := renderedObj(t, docs, "ConfigMap", "grafana-dashboards")
	var files []string
	for k := range yamlField(dash, "data").(map[string]any) {
		files = append(files, k)
	}
	sort.Strings(files)
	if got := strings.Join(files, ","); got != "airflow.json,cluster-overview.json,feast.json,mlflow.json,mlops-series-cli.json" {
		t.Errorf("dashboards ConfigMap holds %s", got)
	}

	pod := yamlField(renderedObj(t, docs, "Deployment", "grafana"), "spec", "template")
	spec := yamlField(pod, "spec")
	if yamlField(spec, "securityContext", "runAsUser") != float64(472) || yamlField(spec, "securityContext", "fsGroup") != float64(472) {
		t.Errorf("pod security context = %v", yamlField(spec, "securityContext"))
	}
	for _, probe := range []string{"startupProbe", "readinessProbe", "livenessProbe"} {
		if got := yamlField(spec, "containers", 0, probe, "httpGet", "path"); got != "/api/health" {
			t.Errorf("%s path = %v", probe, got)
		}
	}
	if img := yamlField(spec, "containers", 0, "image"); img != "docker.io/grafana/grafana:13.1.3" {
		t.Errorf("image = %v", img)
	}
	ann := yamlField(pod, "metadata", "annotations")
	if yamlField(ann, "prometheus.io/scrape") != "true" || yamlField(ann, "prometheus.io/port") != "3000" {
		t.Errorf("pod annotations = %v", ann)
	}
	var env []string
	for _, e := range yamlField(spec, "containers", 0, "env").([]any) {
		env = append(env, fmt.Sprintf("%v=%v/%v", yamlField(e, "name"), yamlField(e, "valueFrom", "secretKeyRef", "name"), yamlField(e, "valueFrom", "secretKeyRef", "key")))
	}
	if got := strings.Join(env, " "); !strings.Contains(got, "GF_SECURITY_ADMIN_PASSWORD=grafana-admin/password") {
		t.Errorf("env = %s", got)
	}
}

// dashboardVariables replaces the dashboards' variables with values Prometheus can parse.
var dashboardVariables = strings.NewReplacer(
	"$__rate_interval", "2m", "${__rate_interval}", "2m",
	"$__interval", "1m", "$__range", "1h",
	"$namespace", ".*", "$chapter", ".*",
)

// The dashboards the grafana chart provisions: the expected set, sane JSON, one data source
// variable driving every panel, and PromQL that a real Prometheus parses (Debian's 2.42; the
// expressions use nothing newer).
func TestGrafanaDashboards(t *testing.T) {
	charts := mlopsseries.Charts()
	names, err := fs.Glob(charts, "grafana/dashboards/*.json")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"airflow.json", "cluster-overview.json", "feast.json", "mlflow.json", "mlops-series-cli.json"}
	var got []string
	for _, n := range names {
		got = append(got, path.Base(n))
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("dashboards = %v, want %v", got, want)
	}

	type target struct {
		Expr       string `json:"expr"`
		Datasource struct {
			UID string `json:"uid"`
		} `json:"datasource"`
	}
	type panel struct {
		ID         int    `json:"id"`
		Type       string `json:"type"`
		Title      string `json:"title"`
		Datasource struct {
			Type string `json:"type"`
			UID  string `json:"uid"`
		} `json:"datasource"`
		Targets []target `json:"targets"`
	}
	type dashboard struct {
		UID        string  `json:"uid"`
		Title      string  `json:"title"`
		Panels     []panel `json:"panels"`
		Templating struct {
			List []struct {
				Name  string `json:"name"`
				Type  string `json:"type"`
				Query any    `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	allowed := map[string]bool{"timeseries": true, "stat": true, "table": true, "bargauge": true, "row": true}
	uids := map[string]string{}
	exprs := map[string]string{} // expr -> where
	var cli []string
	for _, n := range names {
		b, err := fs.ReadFile(charts, n)
		if err != nil {
			t.Fatal(err)
		}
		var d dashboard
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		if d.UID == "" || len(d.UID) > 40 || d.Title == "" {
			t.Errorf("%s: uid %q (at most 40 characters) and title %q are required", n, d.UID, d.Title)
		}
		if other, dup := uids[d.UID]; dup {
			t.Errorf("%s and %s share uid %s", n, other, d.UID)
		}
		uids[d.UID] = n
		hasDS := false
		for _, v := range d.Templating.List {
			if v.Name == "datasource" && v.Type == "datasource" && v.Query == "prometheus" {
				hasDS = true
			}
			if q, ok := v.Query.(string); ok && strings.HasPrefix(q, "label_values(") {
				// label_values(<series selector>, <label>): the selector must be PromQL.
				sel := strings.TrimSuffix(strings.TrimPrefix(q, "label_values("), ")")
				sel = sel[:strings.LastIndex(sel, ",")]
				exprs[sel] = n + " variable " + v.Name
			}
		}
		if !hasDS {
			t.Errorf("%s: no \"datasource\" variable of type datasource (query prometheus)", n)
		}
		ids := map[int]bool{}
		for _, p := range d.Panels {
			where := fmt.Sprintf("%s panel %q", n, p.Title)
			if !allowed[p.Type] {
				t.Errorf("%s: type %q needs a plugin or is not one the series uses", where, p.Type)
			}
			if ids[p.ID] {
				t.Errorf("%s: id %d used twice", where, p.ID)
			}
			ids[p.ID] = true
			if p.Type == "row" {
				continue
			}
			if p.Datasource.UID != "${datasource}" || len(p.Targets) == 0 {
				t.Errorf("%s: data source %+v with %d queries, want ${datasource}", where, p.Datasource, len(p.Targets))
			}
			for _, tg := range p.Targets {
				if tg.Datasource.UID != "${datasource}" || strings.TrimSpace(tg.Expr) == "" {
					t.Errorf("%s: query %q on data source %q", where, tg.Expr, tg.Datasource.UID)
				}
				exprs[tg.Expr] = where
				if path.Base(n) == "mlops-series-cli.json" {
					cli = append(cli, tg.Expr)
				}
			}
		}
	}
	// The CLI dashboard shows the three series the CLI pushes.
	for _, metric := range []string{"mlops_series_step_duration_seconds", "mlops_series_check_result", "mlops_series_run_timestamp_seconds"} {
		if !strings.Contains(strings.Join(cli, "\n"), metric) {
			t.Errorf("mlops-series-cli.json does not use %s", metric)
		}
	}
	unknownVar := regexp.MustCompile(`\$\{?[A-Za-z_]+`)

	prom := nativetest.Prometheus(t, "")
	client, err := api.NewClient(api.Config{Address: prom.URL})
	if err != nil {
		t.Fatal(err)
	}
	papi := promv1.NewAPI(client)
	keys := make([]string, 0, len(exprs))
	for e := range exprs {
		keys = append(keys, e)
	}
	sort.Strings(keys)
	for _, e := range keys {
		q := dashboardVariables.Replace(e)
		if v := unknownVar.FindString(q); v != "" {
			t.Errorf("%s: query %q uses %s, which this test does not know", exprs[e], e, v)
			continue
		}
		if _, _, _, err := papi.Query(t.Context(), q, time.Now()); err != nil {
			t.Errorf("%s: Prometheus does not accept %q: %v", exprs[e], q, err)
		}
	}
	t.Logf("%d dashboards, %d distinct queries parsed by Prometheus", len(names), len(keys))
}

// The grafana chart's values interface beyond chapter 10's settings.
func TestGrafanaChartValues(t *testing.T) {
	// Defaults: the data source points at the Service "prometheus" of the release's namespace.
	docs := renderWith(t, "grafana", "dash", "obs", "")
	if got, want := renderedKinds(docs), "ConfigMap/dash-config ConfigMap/dash-dashboards Deployment/dash Secret/dash-admin Service/dash"; got != want {
		t.Errorf("objects:\n%s\nwant:\n%s", got, want)
	}
	cm := renderedObj(t, docs, "ConfigMap", "dash-config")
	if ds, _ := yamlField(cm, "data", "datasources.yaml").(string); !strings.Contains(ds, `url: "http://prometheus.obs:9090"`) {
		t.Errorf("datasources.yaml:\n%s", ds)
	}
	if v := yamlField(renderedObj(t, docs, "Deployment", "dash"), "spec", "template", "spec", "volumes", 2); yamlField(v, "name") != "data" || yamlField(v, "emptyDir") == nil {
		t.Errorf("data volume = %v, want an emptyDir", v)
	}

	// A Secret of one's own, a volume, extra grafana.ini settings, no dashboards, no scraping.
	docs = renderWith(t, "grafana", "grafana", "monitoring", `
admin: {existingSecret: my-grafana}
persistence: {enabled: true}
extraConfig:
  auth.anonymous: {enabled: true, org_role: Viewer}
  server: {root_url: "https://grafana.example.org/"}
dashboards: {enabled: false}
metrics: {enabled: false}
`)
	if got, want := renderedKinds(docs), "ConfigMap/grafana-config Deployment/grafana PersistentVolumeClaim/grafana-data Service/grafana"; got != want {
		t.Errorf("objects:\n%s\nwant:\n%s", got, want)
	}
	if sc := yamlField(renderedObj(t, docs, "PersistentVolumeClaim", "grafana-data"), "spec", "storageClassName"); sc != nil {
		t.Errorf("PVC bakes storageClassName %v", sc)
	}
	ini, _ := yamlField(renderedObj(t, docs, "ConfigMap", "grafana-config"), "data", "grafana.ini").(string)
	for _, want := range []string{"[auth.anonymous]\nenabled = true\norg_role = Viewer", "[server]\nhttp_port = 3000\nroot_url = https://grafana.example.org/", "[metrics]\nenabled = false"} {
		if !strings.Contains(ini, want) {
			t.Errorf("grafana.ini lacks %q:\n%s", want, ini)
		}
	}
	if strings.Contains(ini, "default_home_dashboard_path") {
		t.Errorf("grafana.ini names a home dashboard although dashboards are off")
	}
	pod := yamlField(renderedObj(t, docs, "Deployment", "grafana"), "spec", "template")
	if ann := yamlField(pod, "metadata", "annotations", "prometheus.io/scrape"); ann != nil {
		t.Errorf("scrape annotation %v with metrics off", ann)
	}
	env, _ := json.Marshal(yamlField(pod, "spec", "containers", 0, "env"))
	if !strings.Contains(string(env), `"name":"my-grafana"`) {
		t.Errorf("env does not read the existing Secret: %s", env)
	}
}
