package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/go-version"
	"github.com/hashicorp/hc-install/product"
	"github.com/hashicorp/hc-install/releases"
	"github.com/hashicorp/terraform-exec/tfexec"
	tfjson "github.com/hashicorp/terraform-json"
)

// TerraformVersion is the Terraform release installed (with hashicorp/hc-install, from
// releases.hashicorp.com, signature-checked) when neither `terraform` nor `tofu` is on PATH.
const TerraformVersion = "1.13.3"

// TerraformModule is the folder, inside the embedded infra/ folder, of the module that makes the
// kind cluster (chapter 1).
const TerraformModule = "terraform/kind"

// PluginDirEnv names a local provider mirror (the layout `terraform providers mirror` writes:
// HOST/NAMESPACE/TYPE/VERSION/OS_ARCH/); when set, `init` installs providers only from it
// (-plugin-dir), without the network. hack/build-tf-mirror.sh builds one.
const PluginDirEnv = "MLOPS_TF_PLUGIN_DIR"

// Terraform provisions the kind cluster with Terraform (or OpenTofu) over the module
// infra/terraform/kind, driven by hashicorp/terraform-exec: chapter 1's infrastructure as code.
// The module runs from a working copy in StateDir/terraform/kind, which also holds its state:
// nothing is written into the repository.
type Terraform struct {
	// ClusterName defaults to "mlops-series".
	ClusterName string
	// KindConfig is the kind cluster config (the embedded kind-config.yaml); the module reads it.
	KindConfig []byte
	// Infra is the embedded infra/ folder; the module is its terraform/kind.
	Infra fs.FS
	// StateDir holds the working copy, its state and the kubeconfig (default: the user config
	// dir/mlops-series).
	StateDir string
	// Binary is an explicit terraform or tofu path; empty: `terraform`, then `tofu` on PATH, then
	// Terraform TerraformVersion installed into the cache dir.
	Binary string
	// PluginDir is a local provider mirror; empty: $MLOPS_TF_PLUGIN_DIR (may be empty too).
	PluginDir string
	// Recreate allows applying a plan that destroys or replaces the cluster; without it Ensure
	// refuses such a plan and says what would be destroyed.
	Recreate bool
	// Progress receives short status lines (optional).
	Progress func(string)
	// Stdout and Stderr receive terraform's own output (optional; its stderr is also in errors).
	Stdout, Stderr io.Writer
	// LookPath and Install are seams for tests (default exec.LookPath and InstallTerraform).
	LookPath func(string) (string, error)
	Install  func(ctx context.Context, dir string) (string, error)
}

// Name implements Provisioner.
func (t *Terraform) Name() string { return "terraform" }

func (t *Terraform) clusterName() string {
	if t.ClusterName == "" {
		return "mlops-series"
	}
	return t.ClusterName
}

func (t *Terraform) say(s string) {
	if t.Progress != nil {
		t.Progress(s)
	}
}

func (t *Terraform) stateDir() (string, error) {
	if t.StateDir != "" {
		return t.StateDir, nil
	}
	base, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("find config dir: %w", err)
	}
	return filepath.Join(base, "mlops-series"), nil
}

// Workdir is the module's working copy, where its state (terraform.tfstate) lives.
func (t *Terraform) Workdir() (string, error) {
	dir, err := t.stateDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "terraform", "kind"), nil
}

func (t *Terraform) kubeconfigPath() (string, error) {
	dir, err := t.stateDir()
	if err != nil {
		return "", err
	}
	// The same file the kind provisioner writes.
	return filepath.Join(dir, "kind-"+t.clusterName()+".kubeconfig"), nil
}

func (t *Terraform) pluginDir() string {
	if t.PluginDir != "" {
		return t.PluginDir
	}
	return os.Getenv(PluginDirEnv)
}

func (t *Terraform) runOptions() moduleOptions {
	return moduleOptions{PluginDir: t.pluginDir(), AllowDestroy: t.Recreate, Progress: t.Progress, Stdout: t.Stdout, Stderr: t.Stderr}
}

// vars are the module's input variables (infra/terraform/kind/variables.tf).
func (t *Terraform) vars(workdir string) (map[string]string, error) {
	kc, err := t.kubeconfigPath()
	if err != nil {
		return nil, err
	}
	return map[string]string{
		"cluster_name":     t.clusterName(),
		"kind_config_path": filepath.Join(workdir, "kind-config.yaml"),
		"kubeconfig_path":  kc,
	}, nil
}

// Ensure applies the module: init, plan (its summary goes to Progress), apply when the plan has
// changes, then connects to the cluster the outputs name. A cluster this run created is marked
// like the kind provisioner marks it.
func (t *Terraform) Ensure(ctx context.Context) (*Cluster, error) {
	bin, err := t.binary(ctx)
	if err != nil {
		return nil, err
	}
	workdir, err := t.prepare()
	if err != nil {
		return nil, err
	}
	vars, err := t.vars(workdir)
	if err != nil {
		return nil, err
	}
	t.say("terraform: cluster " + t.clusterName() + " from infra/" + TerraformModule + " (state in " + workdir + ")")
	out, plan, err := runModule(ctx, bin, workdir, vars, t.runOptions())
	if err != nil {
		if strings.Contains(err.Error(), "already exist for a cluster with the name") {
			return nil, fmt.Errorf("terraform cluster %s: a kind cluster of that name exists but is not in the terraform state (made by the kind provisioner or by hand): use it without terraform, or delete it first (`kind delete cluster --name %s`): %w",
				t.clusterName(), t.clusterName(), err)
		}
		return nil, fmt.Errorf("terraform cluster %s: %w", t.clusterName(), err)
	}
	c, err := t.connectOutputs(ctx, workdir, out)
	if err != nil {
		return nil, err
	}
	// The module's one resource is the cluster: a plan that adds a resource creates it.
	c.Created = plan.Add > 0
	if c.Created {
		if err := mark(ctx, c, ProviderTerraform); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Connect reads the module's outputs from its state (no plan, no apply) and connects.
func (t *Terraform) Connect(ctx context.Context) (*Cluster, error) {
	bin, err := t.binary(ctx)
	if err != nil {
		return nil, err
	}
	workdir, err := t.Workdir()
	if err != nil {
		return nil, err
	}
	out, err := moduleOutputs(ctx, bin, workdir, t.runOptions())
	if err != nil {
		return nil, err
	}
	return t.connectOutputs(ctx, workdir, out)
}

func (t *Terraform) connectOutputs(ctx context.Context, workdir string, out map[string]string) (*Cluster, error) {
	kubeconfig, kubeContext := out["kubeconfig_path"], out["context"]
	if kubeconfig == "" || kubeContext == "" {
		return nil, withKind(ErrNotExist, fmt.Errorf("terraform state in %s has no cluster (outputs kubeconfig_path and context are empty): `mlops-series up CHAPTER` creates it", workdir))
	}
	c, err := connect(ctx, ProviderTerraform, kubeconfig, kubeContext)
	if err != nil {
		return nil, err
	}
	c.Name = t.clusterName()
	if n := out["cluster_name"]; n != "" {
		c.Name = n
	}
	return c, nil
}

// Delete destroys what the module's state holds, which is only ever what terraform created.
func (t *Terraform) Delete(ctx context.Context) error {
	bin, err := t.binary(ctx)
	if err != nil {
		return err
	}
	workdir, err := t.Workdir()
	if err != nil {
		return err
	}
	out, err := moduleOutputs(ctx, bin, workdir, t.runOptions())
	if err != nil {
		return err
	}
	if out["context"] == "" {
		return withKind(ErrNotCreated, fmt.Errorf("not deleting kind cluster %s: the terraform state in %s has no cluster, so mlops-series did not create one with terraform", t.clusterName(), workdir))
	}
	// Refresh the working copy: destroy runs the module (its provider, its variables) too.
	if _, err := t.prepare(); err != nil {
		return err
	}
	vars, err := t.vars(workdir)
	if err != nil {
		return err
	}
	t.say("destroying kind cluster " + t.clusterName() + " with terraform (state in " + workdir + ")")
	if err := destroyModule(ctx, bin, workdir, vars, t.runOptions()); err != nil {
		return fmt.Errorf("terraform cluster %s: %w", t.clusterName(), err)
	}
	if kc := out["kubeconfig_path"]; kc != "" {
		if err := os.Remove(kc); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove %s: %w", kc, err)
		}
	}
	return nil
}

// prepare copies the module into the working copy (replacing the .tf files, keeping the state,
// the lock file and .terraform/) and writes the kind config next to it.
func (t *Terraform) prepare() (string, error) {
	workdir, err := t.Workdir()
	if err != nil {
		return "", err
	}
	if t.Infra == nil {
		return "", errors.New("terraform provisioner: no infra folder (the embedded infra/) to take the module from")
	}
	if len(t.KindConfig) == 0 {
		return "", errors.New("terraform provisioner: no kind config (the embedded kind-config.yaml)")
	}
	mod, err := fs.Sub(t.Infra, TerraformModule)
	if err != nil {
		return "", fmt.Errorf("module infra/%s: %w", TerraformModule, err)
	}
	if err := os.MkdirAll(workdir, 0o700); err != nil {
		return "", fmt.Errorf("create %s: %w", workdir, err)
	}
	// A .tf file dropped from the module must not linger in the copy.
	old, _ := filepath.Glob(filepath.Join(workdir, "*.tf"))
	for _, f := range old {
		if err := os.Remove(f); err != nil {
			return "", fmt.Errorf("refresh module copy: %w", err)
		}
	}
	if err := copyFS(mod, workdir); err != nil {
		return "", fmt.Errorf("copy module infra/%s to %s: %w", TerraformModule, workdir, err)
	}
	if err := os.WriteFile(filepath.Join(workdir, "kind-config.yaml"), t.KindConfig, 0o600); err != nil {
		return "", fmt.Errorf("write kind config: %w", err)
	}
	return workdir, nil
}

func copyFS(src fs.FS, dst string) error {
	return fs.WalkDir(src, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		target := filepath.Join(dst, filepath.FromSlash(p))
		if d.IsDir() {
			return os.MkdirAll(target, 0o700)
		}
		b, err := fs.ReadFile(src, p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o600)
	})
}

// BinaryError says that no terraform binary could be found or installed.
type BinaryError struct {
	// Tried lists what was looked for, InstallErr why the download failed.
	Tried      []string
	InstallErr error
}

func (e *BinaryError) Error() string {
	return "no terraform binary: " + strings.Join(e.Tried, "; ") +
		fmt.Sprintf("; installing Terraform %s from releases.hashicorp.com failed: %v. ", TerraformVersion, e.InstallErr) +
		"Install Terraform (https://developer.hashicorp.com/terraform/install) or OpenTofu " +
		"(https://opentofu.org/docs/intro/install/, e.g. `brew install opentofu`, `snap install --classic opentofu`) " +
		"so that `terraform` or `tofu` is on PATH, or create the cluster without terraform (the default kind provisioner)"
}

func (e *BinaryError) Unwrap() error { return e.InstallErr }

// binary finds terraform: the explicit Binary, `terraform` or `tofu` on PATH, a Terraform
// installed earlier into the cache dir, else it installs TerraformVersion there.
func (t *Terraform) binary(ctx context.Context) (string, error) {
	if t.Binary != "" {
		if _, err := os.Stat(t.Binary); err != nil {
			return "", fmt.Errorf("terraform binary %s: %w", t.Binary, err)
		}
		return t.Binary, nil
	}
	look := t.LookPath
	if look == nil {
		look = exec.LookPath
	}
	var tried []string
	for _, name := range []string{"terraform", "tofu"} {
		if p, err := look(name); err == nil {
			return p, nil
		}
		tried = append(tried, name+": not on PATH")
	}
	dir, err := toolsDir()
	if err != nil {
		return "", &BinaryError{Tried: tried, InstallErr: err}
	}
	dir = filepath.Join(dir, "terraform-"+TerraformVersion)
	if p := filepath.Join(dir, "terraform"); isExecutable(p) {
		return p, nil
	}
	install := t.Install
	if install == nil {
		install = InstallTerraform
	}
	t.say("no terraform or tofu on PATH: installing Terraform " + TerraformVersion + " into " + dir)
	p, err := install(ctx, dir)
	if err != nil {
		return "", &BinaryError{Tried: tried, InstallErr: err}
	}
	return p, nil
}

// InstallTerraform downloads Terraform TerraformVersion into dir with hc-install, which checks
// the release's checksums and their signature by HashiCorp's key.
func InstallTerraform(ctx context.Context, dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	ev := &releases.ExactVersion{
		Product:    product.Terraform,
		Version:    version.Must(version.NewVersion(TerraformVersion)),
		InstallDir: dir,
		Timeout:    3 * time.Minute,
	}
	return ev.Install(ctx)
}

func toolsDir() (string, error) {
	cache := os.Getenv("MLOPS_CACHE")
	if cache == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return "", fmt.Errorf("find cache dir: %w", err)
		}
		cache = filepath.Join(base, "mlops-series")
	}
	return filepath.Join(cache, "tools"), nil
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// --- running a module ----------------------------------------------------------------------------

// moduleOptions tune runModule and destroyModule.
type moduleOptions struct {
	// PluginDir: install providers only from this local mirror (init -plugin-dir).
	PluginDir string
	// AllowDestroy: apply plans that destroy or replace resources.
	AllowDestroy bool
	Progress     func(string)
	Stdout       io.Writer
	Stderr       io.Writer
}

func (o moduleOptions) say(s string) {
	if o.Progress != nil {
		o.Progress(s)
	}
}

// PlanSummary counts a plan's resource changes the way terraform's own summary line does (a
// replacement is one to add and one to destroy).
type PlanSummary struct {
	Add, Change, Destroy int
	// Changes lists the resources that change, as "ADDRESS: ACTION".
	Changes []string
	created []string // resource types created
}

// String is terraform's summary line.
func (s PlanSummary) String() string {
	if s.Add == 0 && s.Change == 0 && s.Destroy == 0 {
		return "No changes."
	}
	return fmt.Sprintf("Plan: %d to add, %d to change, %d to destroy.", s.Add, s.Change, s.Destroy)
}

// Creates says whether the plan creates (or re-creates) a resource of the given type.
func (s PlanSummary) Creates(resourceType string) bool {
	for _, c := range s.created {
		if c == resourceType {
			return true
		}
	}
	return false
}

func summarize(p *tfjson.Plan) PlanSummary {
	var s PlanSummary
	for _, rc := range p.ResourceChanges {
		if rc == nil || rc.Change == nil || rc.Mode == tfjson.DataResourceMode {
			continue
		}
		a := rc.Change.Actions
		switch {
		case a.Replace():
			s.Add++
			s.Destroy++
			s.Changes = append(s.Changes, rc.Address+": replace")
			s.created = append(s.created, rc.Type)
		case a.Create():
			s.Add++
			s.Changes = append(s.Changes, rc.Address+": create")
			s.created = append(s.created, rc.Type)
		case a.Update():
			s.Change++
			s.Changes = append(s.Changes, rc.Address+": update")
		case a.Delete():
			s.Destroy++
			s.Changes = append(s.Changes, rc.Address+": destroy")
		}
	}
	return s
}

func newTF(bin, workdir string, o moduleOptions) (*tfexec.Terraform, error) {
	tf, err := tfexec.NewTerraform(workdir, bin)
	if err != nil {
		return nil, fmt.Errorf("terraform %s in %s: %w", bin, workdir, err)
	}
	if o.Stdout != nil {
		tf.SetStdout(o.Stdout)
	}
	if o.Stderr != nil {
		tf.SetStderr(o.Stderr)
	}
	return tf, nil
}

// varOptions are -var NAME=VALUE options, in name order.
func varOptions(vars map[string]string) []*tfexec.VarOption {
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]*tfexec.VarOption, 0, len(keys))
	for _, k := range keys {
		out = append(out, tfexec.Var(k+"="+vars[k]))
	}
	return out
}

func initModule(ctx context.Context, tf *tfexec.Terraform, o moduleOptions) error {
	opts := []tfexec.InitOption{tfexec.Upgrade(false)}
	if o.PluginDir != "" {
		opts = append(opts, tfexec.PluginDir(o.PluginDir))
	}
	if err := tf.Init(ctx, opts...); err != nil {
		hint := ""
		if o.PluginDir != "" {
			hint = fmt.Sprintf(" (providers only from the local mirror %s, $%s)", o.PluginDir, PluginDirEnv)
		}
		return tfErr(ctx, "init", tf.WorkingDir()+hint, err)
	}
	return nil
}

// runModule runs the root module in workdir: init, plan into a plan file, the plan's summary to
// Progress, apply of exactly that plan when it has changes, then the outputs (strings as such,
// anything else as JSON). A plan that destroys or replaces a resource is not applied unless
// o.AllowDestroy.
func runModule(ctx context.Context, bin, workdir string, vars map[string]string, o moduleOptions) (map[string]string, PlanSummary, error) {
	tf, err := newTF(bin, workdir, o)
	if err != nil {
		return nil, PlanSummary{}, err
	}
	if err := initModule(ctx, tf, o); err != nil {
		return nil, PlanSummary{}, err
	}
	planFile := filepath.Join(workdir, "mlops-series.tfplan")
	defer func() { _ = os.Remove(planFile) }()
	popts := []tfexec.PlanOption{tfexec.Out(planFile)}
	for _, v := range varOptions(vars) {
		popts = append(popts, v)
	}
	changed, err := tf.Plan(ctx, popts...)
	if err != nil {
		return nil, PlanSummary{}, tfErr(ctx, "plan", workdir, err)
	}
	plan, err := tf.ShowPlanFile(ctx, planFile)
	if err != nil {
		return nil, PlanSummary{}, tfErr(ctx, "show (plan)", workdir, err)
	}
	summary := summarize(plan)
	o.say("terraform " + summary.String())
	if summary.Destroy > 0 && !o.AllowDestroy {
		return nil, summary, fmt.Errorf("terraform plan in %s would destroy or replace: %s; not applied (pass --recreate to allow it)",
			workdir, strings.Join(summary.Changes, ", "))
	}
	if changed {
		if err := tf.Apply(ctx, tfexec.DirOrPlan(planFile)); err != nil {
			return nil, summary, tfErr(ctx, "apply", workdir, err)
		}
	}
	out, err := readOutputs(ctx, tf)
	if err != nil {
		return nil, summary, err
	}
	return out, summary, nil
}

// moduleOutputs reads the outputs of the state in workdir; no state gives no outputs.
func moduleOutputs(ctx context.Context, bin, workdir string, o moduleOptions) (map[string]string, error) {
	if _, err := os.Stat(filepath.Join(workdir, "terraform.tfstate")); errors.Is(err, os.ErrNotExist) {
		return map[string]string{}, nil
	}
	tf, err := newTF(bin, workdir, o)
	if err != nil {
		return nil, err
	}
	return readOutputs(ctx, tf)
}

func readOutputs(ctx context.Context, tf *tfexec.Terraform) (map[string]string, error) {
	raw, err := tf.Output(ctx)
	if err != nil {
		return nil, tfErr(ctx, "output", tf.WorkingDir(), err)
	}
	out := make(map[string]string, len(raw))
	for k, m := range raw {
		var s string
		if err := json.Unmarshal(m.Value, &s); err == nil {
			out[k] = s
			continue
		}
		out[k] = string(m.Value)
	}
	return out, nil
}

// tfErr names the terraform command and its folder; the error of a failed command carries
// terraform's stderr (terraform-exec puts it there). An interrupted command (Ctrl-C: terraform-exec
// sends it SIGINT, so it stops cleanly and saves what it made in the state) says so and how to go on.
func tfErr(ctx context.Context, op, dir string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("terraform %s in %s: interrupted; run the same command again to resume, or `mlops-series down` to remove what was made: %w", op, dir, ctx.Err())
	}
	return fmt.Errorf("terraform %s in %s: %w", op, dir, err)
}

// destroyModule destroys everything the state in workdir holds.
func destroyModule(ctx context.Context, bin, workdir string, vars map[string]string, o moduleOptions) error {
	tf, err := newTF(bin, workdir, o)
	if err != nil {
		return err
	}
	if err := initModule(ctx, tf, o); err != nil {
		return err
	}
	var dopts []tfexec.DestroyOption
	for _, v := range varOptions(vars) {
		dopts = append(dopts, v)
	}
	if err := tf.Destroy(ctx, dopts...); err != nil {
		return tfErr(ctx, "destroy", workdir, err)
	}
	return nil
}

// LoadImages loads the local engine's images into the nodes of the kind cluster Terraform made,
// like the kind provisioner does (see Kind.LoadImages).
func (t *Terraform) LoadImages(ctx context.Context, refs []string) error {
	return (&Kind{ClusterName: t.clusterName(), Progress: t.Progress}).LoadImages(ctx, refs)
}
