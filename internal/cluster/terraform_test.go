package cluster

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/hashicorp/terraform-exec/tfexec"
	tfjson "github.com/hashicorp/terraform-json"
	"go.yaml.in/yaml/v3"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/mlops-series/mlops-series/internal/testenv"
)

// These tests run a REAL terraform or OpenTofu binary: every one on PATH (terraform, tofu) and the
// OpenTofu that hack/build-tofu.sh builds into $MLOPS_CACHE/tools/tofu-<version>, each as a
// subtest. Without any, they skip, except under CI=true, where they fail.

const kindProviderVersion = "0.11.0" // infra/terraform/kind/versions.tf; hack/build-tf-mirror.sh

type tfBin struct{ name, path string }

func tfBinaries(t *testing.T) []tfBin {
	t.Helper()
	var bins []tfBin
	seen := map[string]bool{}
	add := func(p string) {
		if r, err := filepath.EvalSymlinks(p); err == nil && !seen[r] {
			seen[r] = true
			bins = append(bins, tfBin{name: binName(t, p), path: p})
		}
	}
	for _, n := range []string{"terraform", "tofu"} {
		if p, err := exec.LookPath(n); err == nil {
			add(p)
		}
	}
	if dir, err := toolsDir(); err == nil {
		built, _ := filepath.Glob(filepath.Join(dir, "tofu-v*"))
		for _, p := range built {
			if isExecutable(p) && !strings.Contains(filepath.Base(p), ".tmp.") {
				add(p)
			}
		}
	}
	if len(bins) == 0 {
		msg := "no terraform or tofu on PATH and no OpenTofu built into $MLOPS_CACHE/tools: run `bash hack/build-tofu.sh` (or `make deps`)"
		if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
			t.Fatalf("%s; CI=true, so this is a failure, not a skip", msg)
		}
		t.Skip(msg)
	}
	return bins
}

// binName is "terraform-1.11.4" or "tofu-1.12.6", from `version -json`.
func binName(t *testing.T, p string) string {
	tf, err := tfexec.NewTerraform(t.TempDir(), p)
	if err != nil {
		return filepath.Base(p)
	}
	v, _, err := tf.Version(context.Background(), true)
	if err != nil {
		return filepath.Base(p)
	}
	if isTofu(p) {
		return "tofu-" + v.String()
	}
	return "terraform-" + v.String()
}

func isTofu(p string) bool { return strings.HasPrefix(filepath.Base(p), "tofu") }

// eachBinary runs f as a subtest per binary, isolated from the user's CLI config (an empty one)
// and from HashiCorp's version check.
func eachBinary(t *testing.T, f func(t *testing.T, bin tfBin)) {
	bins := tfBinaries(t)
	cfg := filepath.Join(t.TempDir(), "terraformrc")
	if err := os.WriteFile(cfg, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TF_CLI_CONFIG_FILE", cfg)
	t.Setenv("CHECKPOINT_DISABLE", "1")
	for _, b := range bins {
		t.Run(b.name, func(t *testing.T) { f(t, b) })
	}
}

// copyDir copies a folder of the repo into a temp dir: terraform writes .terraform/, a lock file
// and state into the folder it runs in, which must never be the repo.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	if err := copyFS(os.DirFS(src), dst); err != nil {
		t.Fatal(err)
	}
	return dst
}

func timed(t *testing.T, what string, f func() error) error {
	t.Helper()
	start := time.Now()
	err := f()
	t.Logf("%s: %s", what, time.Since(start).Round(time.Millisecond))
	return err
}

// The module runner on the fixture: plan summary counts, outputs read back, a second run is a
// no-op, a replacing plan is refused unless allowed, and destroy leaves an empty state.
func TestRunModuleFixture(t *testing.T) {
	eachBinary(t, func(t *testing.T, bin tfBin) {
		ctx := t.Context()
		dir := copyDir(t, "testdata/terraform/fixture")
		kindConfig, err := os.ReadFile("../../kind-config.yaml")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "kind-config.yaml"), kindConfig, 0o600); err != nil {
			t.Fatal(err)
		}
		kc := filepath.Join(dir, "fixture.kubeconfig")
		vars := map[string]string{"cluster_name": "fixture", "kind_config_path": filepath.Join(dir, "kind-config.yaml"), "kubeconfig_path": kc}
		var progress []string
		opts := moduleOptions{Progress: func(s string) { progress = append(progress, s) }}

		var out map[string]string
		var plan PlanSummary
		err = timed(t, "first run (init, plan, apply, output)", func() (err error) {
			out, plan, err = runModule(ctx, bin.path, dir, vars, opts)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if plan.String() != "Plan: 1 to add, 0 to change, 0 to destroy." || !plan.Creates("terraform_data") {
			t.Errorf("first plan: %s %v", plan, plan.Changes)
		}
		if !slices.Contains(progress, "terraform Plan: 1 to add, 0 to change, 0 to destroy.") {
			t.Errorf("progress lacks the plan summary: %q", progress)
		}
		want := map[string]string{"cluster_name": "fixture", "context": "kind-fixture", "kubeconfig_path": kc, "endpoint": "https://127.0.0.1:6443", "nodes": "1"}
		for k, v := range want {
			if out[k] != v {
				t.Errorf("output %s = %q, want %q", k, out[k], v)
			}
		}
		if _, err := os.Stat(filepath.Join(dir, "mlops-series.tfplan")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("plan file left behind: %v", err)
		}

		err = timed(t, "second run", func() (err error) {
			out, plan, err = runModule(ctx, bin.path, dir, vars, opts)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if plan.String() != "No changes." || plan.Creates("terraform_data") || out["context"] != "kind-fixture" {
			t.Errorf("second run: %s, outputs %v", plan, out)
		}

		read, err := moduleOutputs(ctx, bin.path, dir, opts)
		if err != nil || read["kubeconfig_path"] != kc || read["context"] != "kind-fixture" {
			t.Errorf("outputs read back: %v, %v", read, err)
		}

		// Renaming replaces "the cluster": refused without AllowDestroy, the state untouched.
		renamed := map[string]string{"cluster_name": "renamed", "kind_config_path": vars["kind_config_path"], "kubeconfig_path": kc}
		_, plan, err = runModule(ctx, bin.path, dir, renamed, opts)
		if err == nil || !strings.Contains(err.Error(), "would destroy or replace: terraform_data.cluster: replace") ||
			!strings.Contains(err.Error(), "--recreate") {
			t.Fatalf("replacing plan: want a refusal, got %v", err)
		}
		if plan.Add != 1 || plan.Destroy != 1 {
			t.Errorf("replacing plan summary: %s", plan)
		}
		if read, _ := moduleOutputs(ctx, bin.path, dir, opts); read["context"] != "kind-fixture" {
			t.Errorf("refused plan changed the state: %v", read)
		}
		out, plan, err = runModule(ctx, bin.path, dir, renamed, moduleOptions{AllowDestroy: true})
		if err != nil || plan.String() != "Plan: 1 to add, 0 to change, 1 to destroy." || out["context"] != "kind-renamed" {
			t.Fatalf("allowed replace: %s, %v, %v", plan, out, err)
		}

		err = timed(t, "destroy", func() error { return destroyModule(ctx, bin.path, dir, renamed, opts) })
		if err != nil {
			t.Fatal(err)
		}
		tf, err := tfexec.NewTerraform(dir, bin.path)
		if err != nil {
			t.Fatal(err)
		}
		st, err := tf.Show(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.Values != nil && st.Values.RootModule != nil && len(st.Values.RootModule.Resources) > 0 {
			t.Errorf("state after destroy still has %d resources", len(st.Values.RootModule.Resources))
		}
		if read, err := moduleOutputs(ctx, bin.path, dir, opts); err != nil || len(read) != 0 {
			t.Errorf("outputs after destroy: %v, %v", read, err)
		}
	})
}

// A failing terraform command gives an error that names the operation and carries its stderr.
func TestRunModuleErrorCarriesStderr(t *testing.T) {
	eachBinary(t, func(t *testing.T, bin tfBin) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte("output \"x\" {\n  value = var.missing\n}\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, _, err := runModule(t.Context(), bin.path, dir, nil, moduleOptions{})
		if err == nil {
			t.Fatal("want an error")
		}
		for _, w := range []string{"terraform plan in " + dir, "Reference to undeclared input variable", "missing"} {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error lacks %q:\n%v", w, err)
			}
		}
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, _, err = runModule(ctx, bin.path, dir, nil, moduleOptions{})
		if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "terraform init in "+dir+": interrupted") {
			t.Errorf("interrupted run: %v", err)
		}
	})
}

// infra/terraform is formatted (what `terraform fmt -check -recursive` says), and the check
// does fail on a mis-formatted copy.
func TestTerraformFmt(t *testing.T) {
	eachBinary(t, func(t *testing.T, bin tfBin) {
		ctx := t.Context()
		for _, dir := range []string{"../../infra/terraform", "testdata/terraform"} {
			tf, err := tfexec.NewTerraform(dir, bin.path)
			if err != nil {
				t.Fatal(err)
			}
			ok, files, err := tf.FormatCheck(ctx, tfexec.Recursive(true))
			if err != nil || !ok {
				t.Errorf("%s is not formatted (run `terraform fmt -recursive %s`): %v %v", dir, dir, files, err)
			}
		}
		bad := copyDir(t, "../../infra/terraform")
		main := filepath.Join(bad, "kind", "main.tf")
		b, err := os.ReadFile(main)
		if err != nil {
			t.Fatal(err)
		}
		b = []byte(strings.Replace(string(b), "name            = var.cluster_name", "name = var.cluster_name", 1))
		if err := os.WriteFile(main, b, 0o600); err != nil {
			t.Fatal(err)
		}
		tf, err := tfexec.NewTerraform(bad, bin.path)
		if err != nil {
			t.Fatal(err)
		}
		ok, files, err := tf.FormatCheck(ctx, tfexec.Recursive(true))
		if err != nil || ok || len(files) != 1 || !strings.HasSuffix(files[0], "main.tf") {
			t.Errorf("fmt -check on a mis-formatted copy: ok=%v files=%v err=%v", ok, files, err)
		}
	})
}

// pluginMirror returns the local provider mirror holding tehcyx/kind for bin (registry host by
// flavour), or "".
func pluginMirror(bin tfBin) string {
	dir := os.Getenv(PluginDirEnv)
	if dir == "" {
		tools, err := toolsDir()
		if err != nil {
			return ""
		}
		dir = filepath.Join(tools, "terraform-plugins")
	}
	host := "registry.terraform.io"
	if isTofu(bin.path) {
		host = "registry.opentofu.org"
	}
	p := filepath.Join(dir, host, "tehcyx", "kind", kindProviderVersion, runtime.GOOS+"_"+runtime.GOARCH, "terraform-provider-kind_v"+kindProviderVersion)
	if isExecutable(p) {
		return dir
	}
	return ""
}

// `validate` of infra/terraform/kind needs the kind provider, which only a local mirror
// (hack/build-tf-mirror.sh) gives here: registry.terraform.io is unreachable. With the mirror,
// the module is validated and planned (planning a create needs no container engine), and the
// plan's kind_config is checked against kind-config.yaml; without it, only the fixture is.
func TestTerraformValidate(t *testing.T) {
	versions, err := os.ReadFile("../../infra/terraform/kind/versions.tf")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(versions), `version = "`+kindProviderVersion+`"`) {
		t.Fatalf("versions.tf does not pin tehcyx/kind %s (update kindProviderVersion and hack/build-tf-mirror.sh with it)", kindProviderVersion)
	}
	eachBinary(t, func(t *testing.T, bin tfBin) {
		ctx := t.Context()
		mirror := pluginMirror(bin)
		if mirror == "" {
			t.Logf("no tehcyx/kind %s in a local provider mirror ($%s or $MLOPS_CACHE/tools/terraform-plugins; hack/build-tf-mirror.sh builds it): validating the providers-free fixture, not infra/terraform/kind", kindProviderVersion, PluginDirEnv)
			dir := copyDir(t, "testdata/terraform/fixture")
			tf, err := tfexec.NewTerraform(dir, bin.path)
			if err != nil {
				t.Fatal(err)
			}
			if err := tf.Init(ctx); err != nil {
				t.Fatal(err)
			}
			assertValid(t, tf)
			return
		}
		t.Logf("validating infra/terraform/kind with tehcyx/kind %s from the local mirror %s", kindProviderVersion, mirror)
		dir := copyDir(t, "../../infra/terraform/kind")
		tf, err := tfexec.NewTerraform(dir, bin.path)
		if err != nil {
			t.Fatal(err)
		}
		if err := timed(t, "init -plugin-dir", func() error { return initModule(ctx, tf, moduleOptions{PluginDir: mirror}) }); err != nil {
			t.Fatal(err)
		}
		assertValid(t, tf)

		// Plan with the repository's kind-config.yaml, and with one using every mapped field:
		// each field of the YAML must reach the planned kind_cluster.
		kc := filepath.Join(dir, "kc")
		for _, cfg := range []string{"../../kind-config.yaml", "testdata/terraform/kind-config-full.yaml"} {
			planFile := filepath.Join(dir, "plan")
			if _, err := tf.Plan(ctx, tfexec.Out(planFile), tfexec.Var("kind_config_path="+absPath(t, cfg)), tfexec.Var("kubeconfig_path="+kc)); err != nil {
				t.Fatal(err)
			}
			plan, err := tf.ShowPlanFile(ctx, planFile)
			if err != nil {
				t.Fatal(err)
			}
			if s := summarize(plan); s.String() != "Plan: 1 to add, 0 to change, 0 to destroy." || !s.Creates("kind_cluster") {
				t.Errorf("%s: plan %s %v", cfg, s, s.Changes)
			}
			after := plan.ResourceChanges[0].Change.After.(map[string]any)
			if after["name"] != "mlops-series" || after["kubeconfig_path"] != kc || after["wait_for_ready"] != true {
				t.Errorf("%s: planned kind_cluster %v", cfg, after)
			}
			b, err := os.ReadFile(cfg)
			if err != nil {
				t.Fatal(err)
			}
			var doc map[string]any
			if err := yaml.Unmarshal(b, &doc); err != nil {
				t.Fatal(err)
			}
			delete(doc, "name") // the cluster name is the variable cluster_name
			n := checkMapped(t, cfg, doc, after["kind_config"])
			t.Logf("%s: %d values of the kind config found in the planned kind_cluster", cfg, n)
		}

		// A kind config field the module does not map is refused, not silently dropped.
		odd := filepath.Join(dir, "odd.yaml")
		if err := os.WriteFile(odd, []byte("kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nkubeadmConfigPatchesJSON6902: []\nnodes:\n  - role: control-plane\n    extraPortMappings: []\n    unknownField: 1\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err = tf.Plan(ctx, tfexec.Var("kind_config_path="+odd))
		if err == nil || !strings.Contains(strings.Join(strings.Fields(err.Error()), " "), "uses fields this module does not map: kubeadmConfigPatchesJSON6902, unknownField") {
			t.Errorf("plan with unmapped kind config fields: want the precondition's error, got %v", err)
		}
	})
}

// yamlToHCL names the module's HCL names of kind config fields that are not plain snake_case.
var yamlToHCL = map[string]string{"nodes": "node", "disableDefaultCNI": "disable_default_cni"}

// verbatim are the kind config maps whose keys are data, not field names.
var verbatim = map[string]bool{"labels": true, "featureGates": true, "runtimeConfig": true}

func snake(s string) string {
	if h, ok := yamlToHCL[s]; ok {
		return h
	}
	var b strings.Builder
	for i, r := range s {
		if r >= 'A' && r <= 'Z' {
			if i > 0 {
				b.WriteByte('_')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// checkMapped checks that every value of the kind config (YAML) is in the planned kind_config
// (JSON of the provider's schema: snake_case names, blocks as lists), and counts them. The keys
// of labels, featureGates and runtimeConfig are data, compared as they are.
func checkMapped(t *testing.T, path string, y, p any) int {
	t.Helper()
	return checkValue(t, path, y, p, false)
}

func checkValue(t *testing.T, path string, y, p any, dataKeys bool) int {
	t.Helper()
	if l, ok := p.([]any); ok && len(l) == 1 {
		if _, isMap := y.(map[string]any); isMap {
			p = l[0] // a block (kind_config, networking) is a list of one
		}
	}
	switch yv := y.(type) {
	case map[string]any:
		pm, ok := p.(map[string]any)
		if !ok {
			t.Errorf("%s: planned %v (%T), want an object", path, p, p)
			return 0
		}
		n := 0
		for k, v := range yv {
			key := k
			if !dataKeys {
				key = snake(k)
			}
			pv, ok := pm[key]
			if !ok {
				t.Errorf("%s.%s: no %q in the planned kind_config", path, k, key)
				continue
			}
			n += checkValue(t, path+"."+k, v, pv, verbatim[k])
		}
		return n
	case []any:
		pl, ok := p.([]any)
		if !ok || len(pl) != len(yv) {
			t.Errorf("%s: planned %v, want %d items", path, p, len(yv))
			return 0
		}
		n := 0
		for i := range yv {
			n += checkValue(t, fmt.Sprintf("%s[%d]", path, i), yv[i], pl[i], false)
		}
		return n
	default:
		if fmt.Sprint(y) != fmt.Sprint(p) {
			t.Errorf("%s: planned %v, kind config has %v", path, p, y)
		}
		return 1
	}
}

func absPath(t *testing.T, p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func assertValid(t *testing.T, tf *tfexec.Terraform) {
	t.Helper()
	v, err := tf.Validate(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !v.Valid || v.ErrorCount != 0 {
		var msgs []string
		for _, d := range v.Diagnostics {
			msgs = append(msgs, d.Summary+": "+d.Detail)
		}
		t.Errorf("validate: %d errors: %s", v.ErrorCount, strings.Join(msgs, "; "))
	}
}

// The CLI passes the kind module exactly the variables it declares and reads the outputs it
// defines; the fixture has the same shape, so the provisioner test below runs the real code path.
func TestTerraformModuleShape(t *testing.T) {
	tp := &Terraform{StateDir: t.TempDir()}
	vars, err := tp.vars("/w")
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{"../../infra/terraform/kind", "testdata/terraform/fixture"} {
		var src strings.Builder
		files, _ := filepath.Glob(filepath.Join(dir, "*.tf"))
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			src.Write(b)
		}
		for v := range vars {
			if !strings.Contains(src.String(), `variable "`+v+`"`) {
				t.Errorf("%s: no variable %q (the CLI passes it)", dir, v)
			}
		}
		for _, o := range []string{"cluster_name", "kubeconfig_path", "context", "endpoint"} {
			if !strings.Contains(src.String(), `output "`+o+`"`) {
				t.Errorf("%s: no output %q (the CLI reads it)", dir, o)
			}
		}
	}
}

// The provisioner end to end on the fixture module against a real control plane
// (internal/testenv) standing in for the kind cluster: Ensure applies and connects, marks the
// cluster it created, a second Ensure changes nothing, Connect only reads the state, Delete
// destroys, and afterwards there is nothing to connect to or delete.
func TestTerraformProvisioner(t *testing.T) {
	fixture := fstest.MapFS{}
	if err := fs.WalkDir(os.DirFS("testdata/terraform/fixture"), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(filepath.Join("testdata/terraform/fixture", p))
		fixture[TerraformModule+"/"+p] = &fstest.MapFile{Data: b, Mode: 0o644}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	kindConfig, err := os.ReadFile("../../kind-config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	env := testenv.Require(t, testenv.Options{})
	cs, err := kubernetes.NewForConfig(env.RESTConfig)
	if err != nil {
		t.Fatal(err)
	}
	eachBinary(t, func(t *testing.T, bin tfBin) {
		ctx := t.Context()
		stateDir := t.TempDir()
		var progress []string
		var stderr strings.Builder
		tp := &Terraform{ClusterName: "lab", KindConfig: kindConfig, Infra: fixture, StateDir: stateDir, Binary: bin.path,
			Progress: func(s string) { progress = append(progress, s) }, Stderr: &stderr}
		// "Creating" the fixture cluster makes no kubeconfig: put the control plane's where the
		// kind module would make the provider write it, under kind's context name.
		writeKubeconfigAs(t, env.Kubeconfig, env.Context, filepath.Join(stateDir, "kind-lab.kubeconfig"), "kind-lab")

		if _, err := tp.Connect(ctx); !errors.Is(err, ErrNotExist) || !strings.Contains(err.Error(), "has no cluster") {
			t.Fatalf("Connect before Ensure: %v", err)
		}
		var c *Cluster
		if err := timed(t, "Ensure (create)", func() (err error) { c, err = tp.Ensure(ctx); return err }); err != nil {
			t.Fatalf("%v\nterraform stderr:\n%s", err, stderr.String())
		}
		if c.Provider != "terraform" || c.Name != "lab" || c.Context != "kind-lab" || !c.Created || c.Version == "" {
			t.Errorf("cluster: provider=%s name=%s context=%s created=%v version=%s", c.Provider, c.Name, c.Context, c.Created, c.Version)
		}
		if !slices.Contains(progress, "terraform Plan: 1 to add, 0 to change, 0 to destroy.") {
			t.Errorf("progress: %q", progress)
		}
		if m, err := cs.CoreV1().ConfigMaps(MarkerNamespace).Get(ctx, MarkerName, metav1.GetOptions{}); err != nil {
			t.Errorf("marker: %v", err)
		} else if m.Data["provisioner"] != "terraform" {
			t.Errorf("marker says provisioner %q, want terraform (so down --all with kind refuses)", m.Data["provisioner"])
		}
		workdir := filepath.Join(stateDir, "terraform", "kind")
		for _, f := range []string{"main.tf", "kind-config.yaml", "terraform.tfstate"} {
			if _, err := os.Stat(filepath.Join(workdir, f)); err != nil {
				t.Errorf("working copy: %v", err)
			}
		}

		progress = nil
		if err := timed(t, "Ensure (no changes)", func() (err error) { c, err = tp.Ensure(ctx); return err }); err != nil {
			t.Fatal(err)
		}
		if c.Created || !slices.Contains(progress, "terraform No changes.") {
			t.Errorf("second Ensure: created=%v progress=%q", c.Created, progress)
		}
		if c, err := tp.Connect(ctx); err != nil || c.Context != "kind-lab" {
			t.Fatalf("Connect: %v", err)
		}

		if err := timed(t, "Delete", func() error { return tp.Delete(ctx) }); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(stateDir, "kind-lab.kubeconfig")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("kubeconfig left after Delete: %v", err)
		}
		if _, err := tp.Connect(ctx); err == nil || !strings.Contains(err.Error(), "has no cluster") {
			t.Errorf("Connect after Delete: %v", err)
		}
		if err := tp.Delete(ctx); !errors.Is(err, ErrNotCreated) || !strings.Contains(err.Error(), "not deleting kind cluster lab") {
			t.Errorf("second Delete: %v", err)
		}
		// The next subtest creates "the cluster" again.
		err := cs.CoreV1().ConfigMaps(MarkerNamespace).Delete(ctx, MarkerName, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Fatal(err)
		}
	})
}

func writeKubeconfigAs(t *testing.T, src, srcContext, dst, context string) {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(src)
	if err != nil {
		t.Fatal(err)
	}
	ctx, ok := cfg.Contexts[srcContext]
	if !ok {
		t.Fatalf("no context %s in %s", srcContext, src)
	}
	delete(cfg.Contexts, srcContext)
	cfg.Contexts[context] = ctx
	cfg.CurrentContext = context
	if err := clientcmd.WriteToFile(*cfg, dst); err != nil {
		t.Fatal(err)
	}
}

// With no binary on PATH and a download that fails, the error says both and how to install one.
func TestTerraformNoBinary(t *testing.T) {
	t.Setenv("MLOPS_CACHE", t.TempDir())
	installDir := ""
	tp := &Terraform{StateDir: t.TempDir(), Infra: fstest.MapFS{}, KindConfig: []byte("kind: Cluster"),
		LookPath: func(string) (string, error) { return "", exec.ErrNotFound },
		Install: func(_ context.Context, dir string) (string, error) {
			installDir = dir
			return "", errors.New(`Get "https://releases.hashicorp.com/terraform/index.json": dial tcp: lookup releases.hashicorp.com: no such host`)
		}}
	for name, op := range map[string]func(context.Context) error{
		"Ensure":  func(ctx context.Context) error { _, err := tp.Ensure(ctx); return err },
		"Connect": func(ctx context.Context) error { _, err := tp.Connect(ctx); return err },
		"Delete":  tp.Delete,
	} {
		err := op(t.Context())
		var be *BinaryError
		if !errors.As(err, &be) {
			t.Fatalf("%s: want a BinaryError, got %v", name, err)
		}
		for _, w := range []string{"terraform: not on PATH", "tofu: not on PATH", "installing Terraform " + TerraformVersion + " from releases.hashicorp.com failed",
			"no such host", "https://developer.hashicorp.com/terraform/install", "https://opentofu.org/docs/intro/install/"} {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error lacks %q:\n%v", name, w, err)
			}
		}
	}
	if want := filepath.Join(os.Getenv("MLOPS_CACHE"), "tools", "terraform-"+TerraformVersion); installDir != want {
		t.Errorf("install dir %q, want %q", installDir, want)
	}
	tp.Binary = filepath.Join(t.TempDir(), "terraform")
	if _, err := tp.Ensure(t.Context()); err == nil || !strings.Contains(err.Error(), "terraform binary "+tp.Binary) {
		t.Errorf("explicit missing binary: %v", err)
	}
}

// An earlier install in the cache dir is used without downloading again.
func TestTerraformCachedInstall(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("MLOPS_CACHE", cache)
	p := filepath.Join(cache, "tools", "terraform-"+TerraformVersion, "terraform")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	tp := &Terraform{LookPath: func(string) (string, error) { return "", exec.ErrNotFound },
		Install: func(context.Context, string) (string, error) { t.Fatal("downloaded again"); return "", nil }}
	if got, err := tp.binary(t.Context()); err != nil || got != p {
		t.Errorf("binary: %q, %v", got, err)
	}
}

func TestPlanSummary(t *testing.T) {
	rc := func(addr, typ string, mode tfjson.ResourceMode, a ...tfjson.Action) *tfjson.ResourceChange {
		return &tfjson.ResourceChange{Address: addr, Type: typ, Mode: mode, Change: &tfjson.Change{Actions: a}}
	}
	p := &tfjson.Plan{ResourceChanges: []*tfjson.ResourceChange{
		rc("a.new", "a", tfjson.ManagedResourceMode, tfjson.ActionCreate),
		rc("b.same", "b", tfjson.ManagedResourceMode, tfjson.ActionNoop),
		rc("c.edit", "c", tfjson.ManagedResourceMode, tfjson.ActionUpdate),
		rc("d.gone", "d", tfjson.ManagedResourceMode, tfjson.ActionDelete),
		rc("e.swap", "e", tfjson.ManagedResourceMode, tfjson.ActionDelete, tfjson.ActionCreate),
		rc("f.cbd", "f", tfjson.ManagedResourceMode, tfjson.ActionCreate, tfjson.ActionDelete),
		rc("data.g.read", "g", tfjson.DataResourceMode, tfjson.ActionRead),
	}}
	s := summarize(p)
	if s.String() != "Plan: 3 to add, 1 to change, 3 to destroy." {
		t.Errorf("summary %s", s)
	}
	if want := "a.new: create, c.edit: update, d.gone: destroy, e.swap: replace, f.cbd: replace"; strings.Join(s.Changes, ", ") != want {
		t.Errorf("changes %v", s.Changes)
	}
	if !s.Creates("e") || s.Creates("d") || s.Creates("g") {
		t.Errorf("creates: %v", s.created)
	}
	if (PlanSummary{}).String() != "No changes." {
		t.Error("empty summary")
	}
}
