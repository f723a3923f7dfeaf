package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kindcluster "sigs.k8s.io/kind/pkg/cluster"
	"sigs.k8s.io/kind/pkg/cluster/nodes"
	"sigs.k8s.io/kind/pkg/cluster/nodeutils"

	"github.com/mlops-series/mlops-series/internal/images"
)

// Marker is the ConfigMap (in kube-system) that says this tool created the cluster.
const (
	MarkerNamespace = "kube-system"
	MarkerName      = "mlops-series-cluster"
)

// Kind provisions the local kind cluster through the kind Go library.
type Kind struct {
	// ClusterName defaults to "mlops-series".
	ClusterName string
	// Config is the kind cluster config (the embedded kind-config.yaml).
	Config []byte
	// StateDir holds the cluster's kubeconfig (default: the user config dir/mlops-series).
	StateDir string
	// Progress receives short status lines (optional).
	Progress func(string)
	// LookPath is the engine probe's seam (default exec.LookPath).
	LookPath func(string) (string, error)
	// CgroupVersion asks the engine which cgroup version its containers get ("1", "2"; podman
	// says "v1", "v2"); default: the engine's `info`. Probed only when a cluster is created.
	CgroupVersion func(ctx context.Context) (string, error)
	// Share is the host folder that the nodes of a cluster created here also see (an extraMount,
	// read-only): images are loaded through it instead of being streamed into the node (see
	// images.Share). Nil: no mount, images are streamed.
	Share *images.Share
	// engine is the engine that answered, once one has (doctor, Exists and Ensure all need it).
	engine string
}

// ShareNodeDir is where the nodes of the clusters `up` creates see the host's share folder.
const ShareNodeDir = "/mlops-series/share"

// DefaultShare is the host folder images go through into the kind nodes: the user's cache
// folder's mlops-series/kind-share ($XDG_CACHE_HOME on Linux, ~/Library/Caches on macOS, a
// folder Docker Desktop shares with its VM by default). Nil when there is no cache folder.
func DefaultShare() *images.Share {
	dir, err := os.UserCacheDir()
	if err != nil {
		return nil
	}
	return &images.Share{HostDir: filepath.Join(dir, "mlops-series", "kind-share"), NodeDir: ShareNodeDir}
}

// Name implements Provisioner.
func (k *Kind) Name() string { return "kind" }

// Cluster is the kind cluster's name (ClusterName or its default).
func (k *Kind) Cluster() string { return k.clusterName() }

func (k *Kind) clusterName() string {
	if k.ClusterName == "" {
		return "mlops-series"
	}
	return k.ClusterName
}

// EngineError says that no container engine answered; kind needs one.
type EngineError struct{ Tried []string }

func (e *EngineError) Error() string {
	return "no container engine answered (tried: " + strings.Join(e.Tried, "; ") + "). " +
		"kind runs the cluster in containers: start Docker (Docker Desktop, or `sudo systemctl start docker`) " +
		"or Podman (`podman machine start`), or deploy onto an existing cluster with --context NAME"
}

// Engine finds a container engine that answers: docker, then podman, then nerdctl. The first
// answer is remembered for the rest of the run.
func (k *Kind) Engine(ctx context.Context) (string, error) {
	if k.engine != "" {
		return k.engine, nil
	}
	look := k.LookPath
	if look == nil {
		look = exec.LookPath
	}
	var tried []string
	for _, name := range []string{"docker", "podman", "nerdctl"} {
		bin, err := look(name)
		if err != nil {
			tried = append(tried, name+": not installed")
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		var stderr bytes.Buffer
		cmd := exec.CommandContext(cctx, bin, "info", "--format", "{{.ServerVersion}}")
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		cancel()
		if err == nil && strings.TrimSpace(string(out)) != "" {
			k.engine = name
			return name, nil
		}
		msg := strings.TrimSpace(stderr.String())
		if msg == "" && err != nil {
			msg = err.Error()
		}
		if i := strings.IndexByte(msg, '\n'); i > 0 {
			msg = msg[:i]
		}
		tried = append(tried, fmt.Sprintf("%s: %s", name, msg))
	}
	return "", &EngineError{Tried: tried}
}

func (k *Kind) provider(ctx context.Context) (*kindcluster.Provider, error) {
	engine, err := k.Engine(ctx)
	if err != nil {
		return nil, err
	}
	var opt kindcluster.ProviderOption
	switch engine {
	case "podman":
		opt = kindcluster.ProviderWithPodman()
	case "nerdctl":
		opt = kindcluster.ProviderWithNerdctl("")
	default:
		opt = kindcluster.ProviderWithDocker()
	}
	return kindcluster.NewProvider(opt), nil
}

func (k *Kind) kubeconfigPath() (string, error) {
	dir := k.StateDir
	if dir == "" {
		base, err := os.UserConfigDir()
		if err != nil {
			return "", fmt.Errorf("find config dir: %w", err)
		}
		dir = filepath.Join(base, "mlops-series")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("create %s: %w", dir, err)
	}
	return filepath.Join(dir, "kind-"+k.clusterName()+".kubeconfig"), nil
}

func (k *Kind) say(s string) {
	if k.Progress != nil {
		k.Progress(s)
	}
}

// Ensure reuses the kind cluster if it exists, otherwise creates it from the config; never recreates.
func (k *Kind) Ensure(ctx context.Context) (*Cluster, error) {
	p, err := k.provider(ctx)
	if err != nil {
		return nil, err
	}
	exists, err := k.exists(p)
	if err != nil {
		return nil, err
	}
	created := false
	if !exists {
		cfg, err := k.createConfig(ctx)
		if err != nil {
			return nil, err
		}
		k.say("creating kind cluster " + k.clusterName() + " (pulls the node image on first use)")
		done := make(chan error, 1)
		go func() {
			done <- p.Create(k.clusterName(),
				kindcluster.CreateWithRawConfig(cfg),
				kindcluster.CreateWithWaitForReady(5*time.Minute),
				kindcluster.CreateWithDisplayUsage(false),
				kindcluster.CreateWithDisplaySalutation(false))
		}()
		select {
		case err := <-done:
			if err != nil {
				return nil, fmt.Errorf("create kind cluster %s: %w", k.clusterName(), err)
			}
		case <-ctx.Done():
			return nil, fmt.Errorf("create kind cluster %s: interrupted; `mlops-series down --all` removes what was made: %w", k.clusterName(), ctx.Err())
		}
		created = true
	}
	c, err := k.connect(ctx, p)
	if err != nil {
		return nil, err
	}
	c.Created = created
	if created {
		if err := mark(ctx, c, ProviderKind); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// createConfig is the config a new cluster is created from: Config, plus what the engine's probes
// show it needs and the config does not say already (the kubelet patch for cgroup v1).
func (k *Kind) createConfig(ctx context.Context) ([]byte, error) {
	probe := k.CgroupVersion
	if probe == nil {
		probe = k.engineCgroupVersion
	}
	cfg := k.Config
	if version, err := probe(ctx); err != nil {
		k.say("could not read the engine's cgroup version (" + err.Error() + "); creating the cluster without the cgroup v1 patch")
	} else {
		var added bool
		if cfg, added, err = withCgroupV1Patch(cfg, version); err != nil {
			return nil, fmt.Errorf("kind config of cluster %s: %w", k.clusterName(), err)
		}
		if added {
			k.say("the engine runs containers on cgroup v1: adding the kubelet setting failCgroupV1: false " +
				"(kubelet 1.35+ refuses cgroup v1 otherwise; moving the host to cgroup v2 is the lasting fix)")
		}
	}
	if k.Share != nil {
		// The folder must exist before the engine mounts it (docker would create it, as root).
		if err := os.MkdirAll(k.Share.HostDir, 0o755); err != nil {
			k.say("images will be streamed into the node: cannot create " + k.Share.HostDir + ": " + err.Error())
			return cfg, nil
		}
		var err error
		if cfg, err = withShareMount(cfg, *k.Share); err != nil {
			return nil, fmt.Errorf("kind config of cluster %s: %w", k.clusterName(), err)
		}
	}
	return cfg, nil
}

// engineCgroupVersion asks the engine that answered for its cgroup version.
func (k *Kind) engineCgroupVersion(ctx context.Context) (string, error) {
	engine, err := k.Engine(ctx)
	if err != nil {
		return "", err
	}
	format := "{{.CgroupVersion}}"
	if engine == "podman" {
		format = "{{.Host.CgroupsVersion}}"
	}
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	out, err := exec.CommandContext(cctx, engine, "info", "--format", format).Output()
	if err != nil {
		return "", fmt.Errorf("%s info: %w", engine, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// Connect returns the kind cluster if it exists.
func (k *Kind) Connect(ctx context.Context) (*Cluster, error) {
	p, err := k.provider(ctx)
	if err != nil {
		return nil, err
	}
	exists, err := k.exists(p)
	if err != nil {
		return nil, err
	}
	if !exists {
		return nil, withKind(ErrNotExist, fmt.Errorf("kind cluster %s does not exist: `mlops-series up CHAPTER` creates it", k.clusterName()))
	}
	return k.connect(ctx, p)
}

// Exists reports whether the kind cluster exists (the container engine must answer).
func (k *Kind) Exists(ctx context.Context) (bool, error) {
	p, err := k.provider(ctx)
	if err != nil {
		return false, err
	}
	return k.exists(p)
}

func (k *Kind) exists(p *kindcluster.Provider) (bool, error) {
	names, err := p.List()
	if err != nil {
		return false, fmt.Errorf("list kind clusters: %w", err)
	}
	return slices.Contains(names, k.clusterName()), nil
}

func (k *Kind) connect(ctx context.Context, p *kindcluster.Provider) (*Cluster, error) {
	all, err := k.listNodes(p)
	if err != nil {
		return nil, err
	}
	if err := k.requireRunning(ctx, all); err != nil {
		return nil, err
	}
	kc, err := p.KubeConfig(k.clusterName(), false)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig of kind cluster %s: %w", k.clusterName(), err)
	}
	path, err := k.kubeconfigPath()
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, []byte(kc), 0o600); err != nil {
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	c, err := connect(ctx, ProviderKind, path, "kind-"+k.clusterName())
	if err != nil {
		return nil, err
	}
	c.Name = k.clusterName()
	return c, nil
}

// mark records in the cluster that mlops-series created it, and with which provisioner (so that
// `down --all` deletes it the same way).
func mark(ctx context.Context, c *Cluster, provisioner Provider) error {
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: MarkerName, Namespace: MarkerNamespace,
			Labels: map[string]string{"app.kubernetes.io/managed-by": "mlops-series"}},
		Data: map[string]string{"createdBy": "mlops-series", "provisioner": string(provisioner),
			"createdAt": time.Now().UTC().Format(time.RFC3339)},
	}
	_, err := c.CS.CoreV1().ConfigMaps(MarkerNamespace).Create(ctx, cm, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("mark cluster %s as created by mlops-series: %w", c.Name, err)
	}
	return nil
}

// Marker is what the marker ConfigMap says.
type Marker struct {
	// Provisioner is the one that created the cluster.
	Provisioner Provider
	CreatedAt   string
}

// ReadMarker reads the marker of c; without one, the error matches ErrNotCreated.
func ReadMarker(ctx context.Context, c *Cluster) (*Marker, error) {
	cm, err := c.CS.CoreV1().ConfigMaps(MarkerNamespace).Get(ctx, MarkerName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, withKind(ErrNotCreated, fmt.Errorf("cluster %s has no %s/%s marker: %w", c.Name, MarkerNamespace, MarkerName, err))
	}
	if err != nil {
		return nil, fmt.Errorf("read marker of cluster %s: %w", c.Name, err)
	}
	return &Marker{Provisioner: Provider(cm.Data["provisioner"]), CreatedAt: cm.Data["createdAt"]}, nil
}

// Disposable is a provisioner whose Delete removes everything on the cluster with it, so that
// `down --all` need not uninstall the chapters first.
type Disposable interface {
	// Disposable says whether Delete would delete c (and all it holds).
	Disposable(ctx context.Context, c *Cluster) (bool, error)
}

// Disposable: the kind node is deleted with its volumes (the releases' data lives in the node's
// local-path volumes), when the marker says the kind library of this tool created the cluster.
func (k *Kind) Disposable(ctx context.Context, c *Cluster) (bool, error) {
	marker, err := ReadMarker(ctx, c)
	if errors.Is(err, ErrNotCreated) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return marker.Provisioner != ProviderTerraform, nil
}

// Delete deletes the kind cluster, but only when the marker says this tool created it.
func (k *Kind) Delete(ctx context.Context) error {
	c, err := k.Connect(ctx)
	if err != nil {
		return err
	}
	marker, err := ReadMarker(ctx, c)
	if errors.Is(err, ErrNotCreated) {
		return withKind(ErrNotCreated, fmt.Errorf("not deleting kind cluster %s: it was not created by mlops-series (no %s/%s marker); delete it yourself with `kind delete cluster --name %s`",
			k.clusterName(), MarkerNamespace, MarkerName, k.clusterName()))
	}
	if err != nil {
		return err
	}
	if marker.Provisioner == ProviderTerraform {
		return fmt.Errorf("not deleting kind cluster %s with the kind library: Terraform created it, and its state would go stale; run `mlops-series down --all --provisioner terraform`", k.clusterName())
	}
	p, err := k.provider(ctx)
	if err != nil {
		return err
	}
	path, _ := k.kubeconfigPath()
	if err := p.Delete(k.clusterName(), ""); err != nil {
		return fmt.Errorf("delete kind cluster %s: %w", k.clusterName(), err)
	}
	if path != "" {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove %s: %w", path, err)
		}
	}
	return nil
}

// ImageLoader is a provisioner whose cluster runs on the local container engine, so that images
// the engine holds can be loaded into its nodes instead of pulled.
type ImageLoader interface {
	LoadImages(ctx context.Context, refs []string) error
}

// ImageEngine returns the local container engine's image commands (the engine that answered).
func (k *Kind) ImageEngine(ctx context.Context) (*images.Engine, error) {
	engine, err := k.Engine(ctx)
	if err != nil {
		return nil, err
	}
	return images.NewEngine(engine), nil
}

// Nodes returns the nodes of the kind cluster; exists is false when there is no cluster.
func (k *Kind) Nodes(ctx context.Context) (ns []nodes.Node, exists bool, err error) {
	p, err := k.provider(ctx)
	if err != nil {
		return nil, false, err
	}
	if exists, err = k.exists(p); err != nil || !exists {
		return nil, exists, err
	}
	all, err := k.listNodes(p)
	if err != nil {
		return nil, true, err
	}
	if err := k.requireRunning(ctx, all); err != nil {
		return nil, true, err
	}
	if ns, err = nodeutils.InternalNodes(all); err != nil {
		return nil, true, fmt.Errorf("list nodes of kind cluster %s: %w", k.clusterName(), err)
	}
	return ns, true, nil
}

// listNodes lists every container of the cluster (its nodes and, for several control planes, the
// load balancer in front of them).
func (k *Kind) listNodes(p *kindcluster.Provider) ([]nodes.Node, error) {
	all, err := p.ListNodes(k.clusterName())
	if err != nil {
		return nil, fmt.Errorf("list nodes of kind cluster %s: %w", k.clusterName(), err)
	}
	return all, nil
}

// NodeStoppedError says that the kind cluster exists but some of its node containers are not
// running (the machine or the engine was restarted, or someone stopped them): nothing inside the
// cluster can be reached until they are started again.
type NodeStoppedError struct {
	Cluster string
	// Engine is the container engine's command (docker, podman, nerdctl).
	Engine string
	Nodes  []string
}

func (e *NodeStoppedError) Error() string {
	what := "its node container " + e.Nodes[0] + " is"
	if len(e.Nodes) > 1 {
		what = "its node containers " + strings.Join(e.Nodes, ", ") + " are"
	}
	return fmt.Sprintf("kind cluster %s exists but %s not running (the machine or %s was restarted, or it was stopped): "+
		"start it with `%s start %s` and run the command again, or remove the cluster with `%s rm -f %s`",
		e.Cluster, what, e.Engine, e.Engine, strings.Join(e.Nodes, " "), e.Engine, strings.Join(e.Nodes, " "))
}

// requireRunning returns a *NodeStoppedError when one of the cluster's containers ns is not
// running. The engine is asked by the containers' names (kind names a node after its container).
func (k *Kind) requireRunning(ctx context.Context, ns []nodes.Node) error {
	if len(ns) == 0 {
		return nil
	}
	names := make([]string, len(ns))
	for i, n := range ns {
		names[i] = n.String()
	}
	eng, err := k.ImageEngine(ctx)
	if err != nil {
		return err
	}
	running, err := eng.Running(ctx, names...)
	if err != nil {
		return fmt.Errorf("kind cluster %s: %w", k.clusterName(), err)
	}
	var stopped []string
	for _, n := range names {
		if !running[n] {
			stopped = append(stopped, n)
		}
	}
	if len(stopped) > 0 {
		return &NodeStoppedError{Cluster: k.clusterName(), Engine: eng.Name, Nodes: stopped}
	}
	return nil
}

// LoadImages loads into the cluster's nodes the images of refs that the local engine holds and
// the nodes lack (compared by image ID), and says what it did in one progress line ("images:
// loaded 3 of 5 from the local engine, 2 already on the node"). up calls it once the cluster
// exists, before installing: with the images in the engine (`images pull`, `images load FILE`),
// nothing is pulled from the network. A load that fails is said, not returned: the kubelet may
// still pull; only an interruption is an error.
func (k *Kind) LoadImages(ctx context.Context, refs []string) error {
	if len(refs) == 0 {
		return nil
	}
	res, err := k.loadImages(ctx, refs)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("load images into kind cluster %s: %w", k.clusterName(), ctx.Err())
		}
		k.say("images: not loaded from the local engine (" + err.Error() + "); the kubelet pulls them")
		return nil
	}
	k.say(res.String())
	return nil
}

func (k *Kind) loadImages(ctx context.Context, refs []string) (images.LoadResult, error) {
	eng, err := k.ImageEngine(ctx)
	if err != nil {
		return images.LoadResult{}, err
	}
	ns, exists, err := k.Nodes(ctx)
	if err != nil {
		return images.LoadResult{}, err
	}
	if !exists {
		return images.LoadResult{}, fmt.Errorf("kind cluster %s does not exist", k.clusterName())
	}
	return images.LoadToNodes(ctx, eng, ns, refs, k.Share)
}
