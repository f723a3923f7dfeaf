package check

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	yaml "go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/api/resource"
	sigsyaml "sigs.k8s.io/yaml"

	mlopsseries "github.com/mlops-series/mlops-series"
	"github.com/mlops-series/mlops-series/internal/deploy"
	"github.com/mlops-series/mlops-series/internal/nativetest"
	"github.com/mlops-series/mlops-series/internal/series"
)

// A real Prometheus (Debian's 2.42: its /api/v1 API is the one of the 3.x the chart runs) scrapes a
// real Pushgateway into which the test pushes metrics, as the mlops-series CLI does; the PromQL
// check runs against it. Without the Debian packages the test is skipped (failed under CI=true):
// bash hack/install-debian.sh installs them.
func TestPromQLAgainstRealPrometheus(t *testing.T) {
	pg := nativetest.Pushgateway(t)
	prom := nativetest.Prometheus(t, fmt.Sprintf(`- job_name: pushgateway
  honor_labels: true
  static_configs:
    - targets: ["127.0.0.1:%d"]
`, pg.Port))

	push := `# TYPE mlops_series_check_result gauge
mlops_series_check_result{chapter="chapter-10",check="promql"} 1
mlops_series_check_result{chapter="chapter-10",check="grafana-datasource"} 0
# TYPE mlops_series_run_timestamp_seconds gauge
mlops_series_run_timestamp_seconds{chapter="chapter-10",command="check"} ` + fmt.Sprint(time.Now().Unix()) + "\n"
	resp, err := http.Post(pg.URL+"/metrics/job/mlops-series", "text/plain; version=0.0.4", strings.NewReader(push))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("push to the Pushgateway: %s", resp.Status)
	}
	// Both are scraped every second; wait for the pushed series to arrive.
	waitPromQL(t, prom.URL, PromQL{Query: `mlops_series_run_timestamp_seconds{job="mlops-series"} > bool 0`})

	ctx := t.Context()
	cases := []struct {
		name    string
		url     string
		check   PromQL
		want    string // in the summary, or in the error when fail
		fail    bool
		wantNot string // must not be in the error
	}{
		{name: "the Pushgateway is up", check: PromQL{Query: `up{job="pushgateway"}`},
			want: `up{job="pushgateway"}: 1 series is 1`},
		{name: "the pushed metric, with its pushed job label (honor_labels)",
			check: PromQL{Query: `mlops_series_check_result{job="mlops-series", check="promql"}`, MinSeries: 1},
			want:  "1 series is 1"},
		{name: "a series at 0 fails and is named", check: PromQL{Query: `mlops_series_check_result`}, fail: true,
			want:    `mlops_series_check_result: 1 of 2 series are not 1: mlops_series_check_result{chapter="chapter-10", check="grafana-datasource", job="mlops-series"} = 0`,
			wantNot: `check="promql"`},
		{name: "fewer series than MinSeries", check: PromQL{Query: `up{job="pushgateway"}`, MinSeries: 5}, fail: true,
			want: `up{job="pushgateway"} returned 1 series, want at least 5 (all of them are 1)`},
		{name: "no series at all", check: PromQL{Query: `up{job="no-such-job"}`}, fail: true,
			want: `up{job="no-such-job"} returned no series, want at least 1: nothing matches yet (is the target scraped? see ` + prom.URL + `/targets`},
		{name: "a scalar counts as one series", check: PromQL{Query: `1`}, want: "1: 1 series is 1"},
		{name: "a range vector is refused", check: PromQL{Query: `up[1m]`}, fail: true,
			want: "up[1m]: the result is a range vector"},
		{name: "invalid PromQL", check: PromQL{Query: `up{`}, fail: true,
			want: "promql: " + prom.URL + ": Prometheus rejected the query up{: "},
		{name: "no query", check: PromQL{}, fail: true, want: "promql: no query to run"},
		{name: "not Prometheus (the Pushgateway has no query API)", url: pg.URL, check: PromQL{Query: "up"}, fail: true,
			want: "promql: " + pg.URL + ": query up: client error: 404 (is this Prometheus' address?)"},
		{name: "unreachable", url: fmt.Sprintf("http://127.0.0.1:%d", nativetest.FreePort(t)), check: PromQL{Query: "up"}, fail: true,
			want: ": unreachable: "},
		{name: "invalid URL", url: "localhost:9090", check: PromQL{Query: "up"}, fail: true,
			want: `promql: invalid Prometheus URL "localhost:9090": want http(s)://host:port`},
		{name: "credentials in the URL stay out of messages", url: "http://user:s3cret@127.0.0.1:1", check: PromQL{Query: "up"}, fail: true,
			want: "unreachable", wantNot: "s3cret"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			base := c.url
			if base == "" {
				base = prom.URL
			}
			// Shorter than the check's 5 s between attempts: one attempt each. The pushed series
			// are already scraped (waitPromQL above); retrying has its own test
			// (TestPromQLWaitsForTheFirstScrape).
			cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			defer cancel()
			got, err := c.check.Run(cctx, nil, base)
			requireOutcome(t, got, err, c.fail, c.want, c.wantNot)
		})
	}
}

// requireOutcome holds a check's result to a table case: with fail, an error containing want (and
// not wantNot, when set); otherwise a summary containing want.
func requireOutcome(t *testing.T, got string, err error, fail bool, want, wantNot string) {
	t.Helper()
	if fail {
		if err == nil {
			t.Fatalf("passed (%q), want an error containing %q", got, want)
		}
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("error %q\ndoes not contain %q", err, want)
		}
		if wantNot != "" && strings.Contains(err.Error(), wantNot) {
			t.Fatalf("error %q contains %q", err, wantNot)
		}
		return
	}
	if err != nil {
		t.Fatalf("failed: %v", err)
	}
	if !strings.Contains(got, want) {
		t.Fatalf("summary %q does not contain %q", got, want)
	}
}

// waitPromQL runs p until it passes (a fresh target needs a scrape or two), failing t after 30 s.
func waitPromQL(t *testing.T, base string, p PromQL) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := p.Run(t.Context(), nil, base)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not pass within 30s: %v", p.Query, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// chapter10Docs renders one component of chapter 10 (its chart with the chapter's values, through
// the Helm SDK as `up` does) and returns the manifest and its documents. The components are read
// from chapter.yaml (leniently: this tests the charts, the spec has its own tests).
func chapter10Docs(t *testing.T, component string) (string, []map[string]any) {
	t.Helper()
	const dir = "chapter-10-monitoring"
	b, err := fs.ReadFile(mlopsseries.Series(), dir+"/chapter.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		Components []series.Component `yaml:"components"`
	}
	if err := yaml.Unmarshal(b, &spec); err != nil {
		t.Fatalf("chapter.yaml: %v", err)
	}
	ch := &series.Chapter{Number: 10, Slug: "monitoring", Dir: dir}
	for _, comp := range spec.Components {
		if comp.Name != component {
			continue
		}
		r, err := deploy.Prepare(mlopsseries.Charts(), mlopsseries.Series(), ch, comp)
		if err != nil {
			t.Fatal(err)
		}
		m, err := deploy.Render(t.Context(), r)
		if err != nil {
			t.Fatal(err)
		}
		var docs []map[string]any
		for _, d := range strings.Split(m, "\n---") {
			var o map[string]any
			if err := sigsyaml.Unmarshal([]byte(d), &o); err != nil {
				t.Fatalf("rendered YAML does not parse: %v\n%s", err, d)
			}
			if o != nil {
				docs = append(docs, o)
			}
		}
		return m, docs
	}
	t.Fatalf("chapter-10 has no component %q", component)
	return "", nil
}

// renderedObj returns the rendered object of that kind and name.
func renderedObj(t *testing.T, docs []map[string]any, kind, name string) map[string]any {
	t.Helper()
	for _, d := range docs {
		if d["kind"] == kind && yamlField(d, "metadata", "name") == name {
			return d
		}
	}
	t.Fatalf("no %s %q rendered", kind, name)
	return nil
}

// field walks maps (string keys) and lists (int indexes) of decoded YAML; nil when absent.
func yamlField(o any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := o.(map[string]any)
			if !ok {
				return nil
			}
			o = m[k]
		case int:
			l, ok := o.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			o = l[k]
		}
	}
	return o
}

// The prometheus chart as chapter 10 installs it: the Services the rest of the series relies on,
// the RBAC its Kubernetes service discovery needs, and a prometheus.yml that Prometheus' own
// promtool accepts.
func TestPrometheusChartAsChapter10InstallsIt(t *testing.T) {
	_, docs := chapter10Docs(t, "prometheus")

	for name, port := range map[string]float64{"prometheus": 9090, "pushgateway": 9091} {
		svc := renderedObj(t, docs, "Service", name)
		if yamlField(svc, "spec", "type") != "ClusterIP" || yamlField(svc, "spec", "ports", 0, "port") != port {
			t.Errorf("Service %s: type %v port %v, want ClusterIP :%v", name, yamlField(svc, "spec", "type"), yamlField(svc, "spec", "ports", 0, "port"), port)
		}
	}
	// The server's Service must not select the Pushgateway's pod (and the reverse).
	if a, b := yamlField(renderedObj(t, docs, "Service", "prometheus"), "spec", "selector", "app.kubernetes.io/name"),
		yamlField(renderedObj(t, docs, "Service", "pushgateway"), "spec", "selector", "app.kubernetes.io/name"); a == b {
		t.Errorf("both Services select app.kubernetes.io/name=%v", a)
	}

	role := renderedObj(t, docs, "ClusterRole", "monitoring-prometheus")
	granted := map[string]bool{}
	for _, r := range yamlField(role, "rules").([]any) {
		for _, res := range stringList(yamlField(r, "resources")) {
			for _, v := range stringList(yamlField(r, "verbs")) {
				granted[res+":"+v] = true
			}
		}
		for _, u := range stringList(yamlField(r, "nonResourceURLs")) {
			for _, v := range stringList(yamlField(r, "verbs")) {
				granted[u+":"+v] = true
			}
		}
	}
	for _, res := range []string{"nodes", "nodes/metrics", "services", "endpoints", "endpointslices", "pods", "ingresses"} {
		for _, v := range []string{"get", "list", "watch"} {
			if !granted[res+":"+v] {
				t.Errorf("ClusterRole does not grant %s on %s", v, res)
			}
		}
	}
	if !granted["/metrics:get"] {
		t.Error("ClusterRole does not grant get on the /metrics URL")
	}
	for k := range granted {
		if v := k[strings.LastIndex(k, ":")+1:]; v != "get" && v != "list" && v != "watch" {
			t.Errorf("ClusterRole grants %s: Prometheus only reads", k)
		}
	}
	binding := renderedObj(t, docs, "ClusterRoleBinding", "monitoring-prometheus")
	if yamlField(binding, "subjects", 0, "name") != "prometheus" || yamlField(binding, "subjects", 0, "namespace") != "monitoring" {
		t.Errorf("ClusterRoleBinding subjects = %v", yamlField(binding, "subjects"))
	}

	dep := renderedObj(t, docs, "Deployment", "prometheus")
	pod := yamlField(dep, "spec", "template", "spec")
	if yamlField(pod, "serviceAccountName") != "prometheus" || yamlField(pod, "securityContext", "runAsUser") != float64(65534) || yamlField(pod, "securityContext", "fsGroup") != float64(65534) {
		t.Errorf("pod runs as %v (fsGroup %v) with ServiceAccount %v", yamlField(pod, "securityContext", "runAsUser"), yamlField(pod, "securityContext", "fsGroup"), yamlField(pod, "serviceAccountName"))
	}
	args := strings.Join(stringList(yamlField(pod, "containers", 0, "args")), " ")
	for _, want := range []string{"--storage.tsdb.retention.time=2d", "--storage.tsdb.retention.size=512MB", "--storage.tsdb.path=/prometheus"} {
		if !strings.Contains(args, want) {
			t.Errorf("prometheus args %q lack %s", args, want)
		}
	}
	for probe, path := range map[string]string{"startupProbe": "/-/ready", "readinessProbe": "/-/ready", "livenessProbe": "/-/healthy"} {
		if got := yamlField(pod, "containers", 0, probe, "httpGet", "path"); got != path {
			t.Errorf("prometheus %s path = %v, want %s", probe, got, path)
		}
	}
	if yamlField(pod, "volumes", 1, "persistentVolumeClaim", "claimName") != "prometheus-data" {
		t.Errorf("data volume = %v, want the PVC prometheus-data", yamlField(pod, "volumes", 1))
	}
	renderedObj(t, docs, "PersistentVolumeClaim", "prometheus-data")
	if img := yamlField(pod, "containers", 0, "image"); img != "docker.io/prom/prometheus:v3.13.2" {
		t.Errorf("image = %v", img)
	}
	if img := yamlField(renderedObj(t, docs, "Deployment", "pushgateway"), "spec", "template", "spec", "containers", 0, "image"); img != "docker.io/prom/pushgateway:v1.11.2" {
		t.Errorf("pushgateway image = %v", img)
	}

	cfg := chapter10PrometheusConfig(t, docs)
	var parsed struct {
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			HonorLabels   bool   `yaml:"honor_labels"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
			KubernetesSD []struct {
				Role string `yaml:"role"`
			} `yaml:"kubernetes_sd_configs"`
		} `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal([]byte(cfg), &parsed); err != nil {
		t.Fatalf("prometheus.yml: %v\n%s", err, cfg)
	}
	var jobs []string
	for _, j := range parsed.ScrapeConfigs {
		jobs = append(jobs, j.JobName)
		var roles []string
		for _, sd := range j.KubernetesSD {
			roles = append(roles, sd.Role)
		}
		want := map[string]string{"kubernetes-pods": "pod", "kubelet": "node", "kubernetes-cadvisor": "node"}[j.JobName]
		if got := strings.Join(roles, ","); got != want {
			t.Errorf("job %s discovers Kubernetes roles %q, want %q", j.JobName, got, want)
		}
		if j.JobName == "pushgateway" {
			if !j.HonorLabels || len(j.StaticConfigs) != 1 || strings.Join(j.StaticConfigs[0].Targets, ",") != "pushgateway.monitoring.svc:9091" {
				t.Errorf("pushgateway job = %+v", j)
			}
		}
	}
	if got := strings.Join(jobs, ","); got != "prometheus,pushgateway,kubernetes-pods,kubelet,kubernetes-cadvisor" {
		t.Errorf("scrape jobs = %s", got)
	}

	// promtool (Debian's, from the prometheus package) checks the file as Prometheus would load it.
	// Debian builds Prometheus without the Kubernetes service discovery, so the kubernetes_sd_configs
	// blocks (checked above) are swapped for file_sd_configs first; --syntax-only because the
	// ServiceAccount files the kubelet jobs name exist only inside the pod.
	promtool := nativetest.DebianTool(t, "promtool")
	dir := t.TempDir()
	file := filepath.Join(dir, "prometheus.yml")
	swapped := withFileSD(t, cfg, filepath.Join(dir, "targets.json"), "")
	if err := os.WriteFile(file, []byte(swapped), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(t.Context(), promtool, "check", "config", "--syntax-only", file).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check config: %v\n%s\n--- prometheus.yml ---\n%s", err, out, swapped)
	}
	t.Logf("promtool: %s", strings.TrimSpace(string(out)))
}

// chapter10PrometheusConfig is the prometheus.yml of the rendered ConfigMap of the release
// "prometheus".
func chapter10PrometheusConfig(t *testing.T, docs []map[string]any) string {
	t.Helper()
	return prometheusConfig(t, docs, "prometheus")
}

// prometheusConfig is the prometheus.yml of a rendered release of the prometheus chart.
func prometheusConfig(t *testing.T, docs []map[string]any, release string) string {
	t.Helper()
	cfg, _ := yamlField(renderedObj(t, docs, "ConfigMap", release+"-config"), "data", "prometheus.yml").(string)
	if cfg == "" {
		t.Fatalf("ConfigMap %s-config has no prometheus.yml", release)
	}
	return cfg
}

// withFileSD returns the config with each job's kubernetes_sd_configs replaced by a file_sd_config
// reading targetsFile. With only set, it keeps that job alone and returns it as a YAML list of one
// scrape config (what nativetest.Prometheus takes).
func withFileSD(t *testing.T, cfg, targetsFile, only string) string {
	t.Helper()
	var doc map[string]any
	if err := yaml.Unmarshal([]byte(cfg), &doc); err != nil {
		t.Fatal(err)
	}
	jobs, _ := doc["scrape_configs"].([]any)
	var kept []any
	for _, j := range jobs {
		job := j.(map[string]any)
		if _, ok := job["kubernetes_sd_configs"]; ok {
			delete(job, "kubernetes_sd_configs")
			job["file_sd_configs"] = []any{map[string]any{"files": []any{targetsFile}, "refresh_interval": "1s"}}
		}
		if job["job_name"] == only {
			kept = append(kept, job)
		}
	}
	var out []byte
	var err error
	if only != "" {
		if len(kept) != 1 {
			t.Fatalf("no job %q in prometheus.yml", only)
		}
		out, err = yaml.Marshal(kept)
	} else {
		doc["scrape_configs"] = jobs
		out, err = yaml.Marshal(doc)
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// The chart's "kubernetes-pods" job, relabeling included, run by a real Prometheus. Debian's
// Prometheus has no Kubernetes service discovery, so a file_sd file stands in for it, carrying the
// same __meta_kubernetes_* labels the Kubernetes discovery sets for each container port of a pod.
// The "pod" is a real Pushgateway on 127.0.0.1: its scrape must succeed and be labelled like a pod.
func TestPrometheusChartScrapesAnnotatedPods(t *testing.T) {
	_, docs := chapter10Docs(t, "prometheus")
	cfg := chapter10PrometheusConfig(t, docs)
	pg := nativetest.Pushgateway(t)

	pod := func(name, ip, phase, init, port string, annotations map[string]string) map[string]string {
		l := map[string]string{
			"__meta_kubernetes_namespace":                             "mlflow",
			"__meta_kubernetes_pod_name":                              name,
			"__meta_kubernetes_pod_ip":                                ip,
			"__meta_kubernetes_pod_phase":                             phase,
			"__meta_kubernetes_pod_node_name":                         "kind-control-plane",
			"__meta_kubernetes_pod_container_init":                    init,
			"__meta_kubernetes_pod_container_port_number":             port,
			"__meta_kubernetes_pod_label_app_kubernetes_io_name":      "mlflow",
			"__meta_kubernetes_pod_label_app_kubernetes_io_instance":  "mlflow",
			"__meta_kubernetes_pod_label_app_kubernetes_io_component": "tracking-server",
		}
		for k, v := range annotations {
			l["__meta_kubernetes_pod_annotation_prometheus_io_"+k] = v
			l["__meta_kubernetes_pod_annotationpresent_prometheus_io_"+k] = "true"
		}
		return l
	}
	pgPort := fmt.Sprint(pg.Port)
	scrape := map[string]string{"scrape": "true", "port": pgPort}
	groups := []map[string]any{
		// The pod to scrape, seen once per container port: one target after relabeling.
		{"targets": []string{"127.0.0.1:5000"}, "labels": pod("mlflow-6d9c7", "127.0.0.1", "Running", "false", "5000", scrape)},
		{"targets": []string{"127.0.0.1:5001"}, "labels": pod("mlflow-6d9c7", "127.0.0.1", "Running", "false", "5001", scrape)},
		// Not scraped: no annotation; not running yet; an init container.
		{"targets": []string{"127.0.0.2:5000"}, "labels": pod("quiet-1", "127.0.0.2", "Running", "false", "5000", nil)},
		{"targets": []string{"127.0.0.3:5000"}, "labels": pod("pending-1", "127.0.0.3", "Pending", "false", "5000", scrape)},
		{"targets": []string{"127.0.0.4:5000"}, "labels": pod("init-1", "127.0.0.4", "Running", "true", "5000", scrape)},
		// An IPv6 pod with its own path: address in brackets.
		{"targets": []string{"[::1]:5000"}, "labels": pod("v6-1", "::1", "Running", "false", "5000",
			map[string]string{"scrape": "true", "port": "9999", "path": "/custom/metrics"})},
	}
	dir := t.TempDir()
	targets := filepath.Join(dir, "pods.json")
	b, err := json.Marshal(groups)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(targets, b, 0o644); err != nil {
		t.Fatal(err)
	}
	prom := nativetest.Prometheus(t, withFileSD(t, cfg, targets, "kubernetes-pods"))

	// The scrape works, and the series carry the pod's coordinates.
	waitPromQL(t, prom.URL, PromQL{Query: `up{job="kubernetes-pods", namespace="mlflow", pod="mlflow-6d9c7", app="mlflow", release="mlflow", component="tracking-server", node="kind-control-plane"}`})
	waitPromQL(t, prom.URL, PromQL{Query: `pushgateway_build_info{job="kubernetes-pods", release="mlflow"}`})

	client, err := api.NewClient(api.Config{Address: prom.URL})
	if err != nil {
		t.Fatal(err)
	}
	res, err := promv1.NewAPI(client).Targets(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var active []string
	for _, a := range res.Active {
		if a.Labels["job"] == "kubernetes-pods" {
			active = append(active, fmt.Sprintf("%s %s", a.Labels["pod"], a.ScrapeURL))
		}
	}
	sort.Strings(active)
	want := []string{
		"mlflow-6d9c7 http://127.0.0.1:" + pgPort + "/metrics",
		"v6-1 http://[::1]:9999/custom/metrics",
	}
	if strings.Join(active, "\n") != strings.Join(want, "\n") {
		t.Errorf("active targets:\n%s\nwant:\n%s", strings.Join(active, "\n"), strings.Join(want, "\n"))
	}
	if len(res.Dropped) != 3 {
		t.Errorf("%d dropped targets, want 3 (not annotated, Pending, init container)", len(res.Dropped))
	}
}

// The whole chapter (Prometheus, Pushgateway, Grafana) requests at most 512Mi of memory.
func TestChapter10MemoryBudget(t *testing.T) {
	var total deploy.Footprint
	for _, comp := range []string{"prometheus", "grafana"} {
		m, _ := chapter10Docs(t, comp)
		f, err := deploy.Measure(m)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %dMi, %dm CPU requested, %d workloads", comp, f.MiB(), f.MilliCPU(), f.Workloads)
		total.Add(f)
	}
	if limit := resource.MustParse("512Mi"); total.Memory.Cmp(limit) > 0 {
		t.Fatalf("chapter 10 requests %dMi of memory, more than 512Mi", total.MiB())
	}
	t.Logf("chapter 10: %dMi, %dm CPU requested", total.MiB(), total.MilliCPU())
}

func stringList(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, e := range l {
		out = append(out, fmt.Sprint(e))
	}
	return out
}

// renderWith renders one of the project's charts as release name in namespace ns with the given
// values (YAML), through the Helm SDK as `up` does, and returns its documents.
func renderWith(t *testing.T, chart, name, ns, values string) []map[string]any {
	t.Helper()
	fsys := fstest.MapFS{"chapter-99-test/values.yaml": {Data: []byte(values)}}
	ch := &series.Chapter{Number: 99, Slug: "test", Dir: "chapter-99-test"}
	return renderComponent(t, fsys, ch, series.Component{Name: name, Chart: chart, Namespace: ns, Values: []string{"values.yaml"}})
}

// renderComponent renders a chapter's component from the project's charts and the chapter's
// values in seriesFS, through the Helm SDK as `up` does, and returns its documents.
func renderComponent(t *testing.T, seriesFS fs.FS, ch *series.Chapter, c series.Component) []map[string]any {
	t.Helper()
	r, err := deploy.Prepare(mlopsseries.Charts(), seriesFS, ch, c)
	if err != nil {
		t.Fatal(err)
	}
	m, err := deploy.Render(t.Context(), r)
	if err != nil {
		t.Fatal(err)
	}
	var docs []map[string]any
	for _, d := range strings.Split(m, "\n---") {
		var o map[string]any
		if err := sigsyaml.Unmarshal([]byte(d), &o); err != nil {
			t.Fatalf("rendered YAML does not parse: %v\n%s", err, d)
		}
		if o != nil {
			docs = append(docs, o)
		}
	}
	return docs
}

func renderedKinds(docs []map[string]any) string {
	var out []string
	for _, d := range docs {
		out = append(out, fmt.Sprintf("%v/%v", d["kind"], yamlField(d, "metadata", "name")))
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

// The prometheus chart's values interface beyond chapter 10's settings.
func TestPrometheusChartValues(t *testing.T) {
	// Defaults: objects named after the release, the Pushgateway as <release>-pushgateway.
	docs := renderWith(t, "prometheus", "metrics", "obs", "")
	if got, want := renderedKinds(docs), "ClusterRole/obs-metrics ClusterRoleBinding/obs-metrics ConfigMap/metrics-config Deployment/metrics Deployment/metrics-pushgateway PersistentVolumeClaim/metrics-data Service/metrics Service/metrics-pushgateway ServiceAccount/metrics"; got != want {
		t.Errorf("objects:\n%s\nwant:\n%s", got, want)
	}
	if cfg := prometheusConfig(t, docs, "metrics"); !strings.Contains(cfg, `targets: ["metrics-pushgateway.obs.svc:9091"]`) {
		t.Errorf("pushgateway target not metrics-pushgateway.obs.svc:9091:\n%s", cfg)
	}

	// No Pushgateway, no kubelets, pods of two namespaces only, an emptyDir, one extra job.
	docs = renderWith(t, "prometheus", "prometheus", "monitoring", `
pushgateway: {enabled: false}
scrape:
  kubelet: {enabled: false}
  pods: {namespaces: [mlflow, airflow]}
  extraScrapeConfigs:
    - job_name: node
      static_configs: [{targets: ["node-exporter:9100"]}]
persistence: {enabled: false}
`)
	if got, want := renderedKinds(docs), "ClusterRole/monitoring-prometheus ClusterRoleBinding/monitoring-prometheus ConfigMap/prometheus-config Deployment/prometheus Service/prometheus ServiceAccount/prometheus"; got != want {
		t.Errorf("objects:\n%s\nwant:\n%s", got, want)
	}
	if v := yamlField(renderedObj(t, docs, "Deployment", "prometheus"), "spec", "template", "spec", "volumes", 1); yamlField(v, "emptyDir") == nil {
		t.Errorf("data volume = %v, want an emptyDir", v)
	}
	cfg := chapter10PrometheusConfig(t, docs)
	var parsed struct {
		ScrapeConfigs []struct {
			JobName string `yaml:"job_name"`
			SD      []struct {
				Namespaces struct {
					Names []string `yaml:"names"`
				} `yaml:"namespaces"`
			} `yaml:"kubernetes_sd_configs"`
		} `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal([]byte(cfg), &parsed); err != nil {
		t.Fatal(err)
	}
	var jobs []string
	for _, j := range parsed.ScrapeConfigs {
		jobs = append(jobs, j.JobName)
		if j.JobName == "kubernetes-pods" && (len(j.SD) != 1 || strings.Join(j.SD[0].Namespaces.Names, ",") != "mlflow,airflow") {
			t.Errorf("kubernetes-pods namespaces = %+v", j.SD)
		}
	}
	if got := strings.Join(jobs, ","); got != "prometheus,kubernetes-pods,node" {
		t.Errorf("jobs = %s", got)
	}
	promtool := nativetest.DebianTool(t, "promtool")
	file := filepath.Join(t.TempDir(), "prometheus.yml")
	if err := os.WriteFile(file, []byte(withFileSD(t, cfg, filepath.Join(t.TempDir(), "targets.json"), "")), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.CommandContext(t.Context(), promtool, "check", "config", "--syntax-only", file).CombinedOutput(); err != nil {
		t.Fatalf("promtool check config: %v\n%s", err, out)
	}
}

// TestPromQLWaitsForTheFirstScrape: on a Prometheus that has just started (real pods: the check ran
// at 20 s, the first scrape came at 21 s), the check repeats the query until its deadline instead
// of failing on the first empty answer. The series appears only after the check has started.
func TestPromQLWaitsForTheFirstScrape(t *testing.T) {
	pg := nativetest.Pushgateway(t)
	prom := nativetest.Prometheus(t, fmt.Sprintf(`- job_name: pushgateway
  honor_labels: true
  static_configs:
    - targets: ["127.0.0.1:%d"]
`, pg.Port))
	check := PromQL{Query: `mlops_series_late_metric{job="late"}`, Interval: 300 * time.Millisecond}

	// Without a deadline there is one attempt: nothing is there yet, so it fails at once.
	if _, err := check.Run(t.Context(), nil, prom.URL); err == nil || !strings.Contains(err.Error(), "returned no series") {
		t.Fatalf("first attempt: want no series, got %v", err)
	}
	go func() {
		time.Sleep(2 * time.Second)
		resp, err := http.Post(pg.URL+"/metrics/job/late", "text/plain; version=0.0.4",
			strings.NewReader("# TYPE mlops_series_late_metric gauge\nmlops_series_late_metric 1\n"))
		if err == nil {
			_ = resp.Body.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	start := time.Now()
	msg, err := check.Run(ctx, nil, prom.URL)
	if err != nil {
		t.Fatalf("with a deadline the check must wait for the series: %v", err)
	}
	if time.Since(start) < time.Second {
		t.Fatalf("passed after %s, before the metric was pushed: %s", time.Since(start), msg)
	}

	// A series that never comes: the last error, with the number of attempts, at the deadline.
	short, cancel2 := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel2()
	_, err = PromQL{Query: `absent_forever_metric`, Interval: 300 * time.Millisecond}.Run(short, nil, prom.URL)
	if err == nil || !strings.Contains(err.Error(), "attempts)") {
		t.Fatalf("want the last error with its attempts, got %v", err)
	}
}

// TestPromQLCountsOnlyTargetsScrapedLately: a Prometheus killed with its node writes no staleness
// marker, so the last up sample of a pod that went away with it (0, scraped as it went down)
// answers a plain up selector for 5 minutes. The kind layer met it after restarting the node:
// chapter 10's check saw the Airflow statsd pod's old address, valued 0, for its whole minute. A
// scraped series with a timestamp 150 s old stands in for that sample here (real Prometheus; the
// exporter is the test's). The queries built from ScrapedNamespaces must ignore it, and still fail
// on a target that is down now.
func TestPromQLCountsOnlyTargetsScrapedLately(t *testing.T) {
	old := time.Now().Add(-150 * time.Second).UnixMilli()
	exporter := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprintf(w, "# TYPE up gauge\nup{namespace=\"airflow\",instance=\"gone-pod:9102\",pod=\"airflow-statsd-old\"} 0 %d\n", old)
	}))
	t.Cleanup(exporter.Close)
	closed := nativetest.FreePort(t)
	prom := nativetest.Prometheus(t, fmt.Sprintf(`- job_name: pods
  honor_labels: true
  static_configs:
    - targets: [%q]
      labels: {namespace: airflow}
    - targets: ["127.0.0.1:%d"]
      labels: {namespace: serving}
`, strings.TrimPrefix(exporter.URL, "http://"), closed))

	// Both of airflow's series are there: the live target (1) and the old sample (0).
	waitPromQL(t, prom.URL, PromQL{Query: `count(up{namespace="airflow"}) == bool 2`})
	waitPromQL(t, prom.URL, PromQL{Query: `up{job="prometheus"}`})
	ctx := t.Context()
	once := func(ctx context.Context) context.Context {
		c, cancel := context.WithTimeout(ctx, 3*time.Second)
		t.Cleanup(cancel)
		return c
	}
	_, err := PromQL{Query: `up{namespace="airflow"}`, MinSeries: 1}.Run(once(ctx), nil, prom.URL)
	requireOutcome(t, "", err, true, `1 of 2 series are not 1: up{instance="gone-pod:9102"`, "")

	r := &Runner{ScrapedNamespaces: []string{"airflow"}}
	qs, err := r.promQL(series.Check{Params: map[string]string{"query": `up{job="prometheus"}`}})
	if err != nil {
		t.Fatal(err)
	}
	if len(qs) != 3 {
		t.Fatalf("want 3 queries (the check's, every target up, every namespace scraped), got %+v", qs)
	}
	for _, q := range qs {
		got, err := q.Run(once(ctx), nil, prom.URL)
		requireOutcome(t, got, err, false, "1 series is 1", "")
	}

	// A target that is down now still fails the check, by name.
	r.ScrapedNamespaces = []string{"airflow", "serving"}
	qs, err = r.promQL(series.Check{})
	if err != nil {
		t.Fatal(err)
	}
	waitPromQL(t, prom.URL, PromQL{Query: `up{namespace="serving"} == bool 0`})
	_, err = qs[1].Run(once(ctx), nil, prom.URL)
	requireOutcome(t, "", err, true, fmt.Sprintf(`1 of 2 series are not 1: up{instance="127.0.0.1:%d", job="pods", namespace="serving"} = 0`, closed), "gone-pod")
}
