// Package testenv starts a real Kubernetes control plane for tests: etcd, kube-apiserver,
// kube-controller-manager and kube-scheduler, with KWOK faking the nodes, the pod lifecycle and
// the kubelet API (port-forward, logs). The binaries come from a cached folder that
// hack/build-testenv.sh fills once.
//
// What the control plane offers:
//   - Options.Nodes fake nodes (16 CPU, 64Gi, 110 pods, no taint), each annotated
//     kwok.x-k8s.io/node=fake. Pods scheduled there become Running and Ready at once; pods owned
//     by a Job then Succeed, so Jobs complete; deleted pods go away.
//   - A default StorageClass "standard" (kubernetes.io/no-provisioner, Immediate binding) and a
//     pool of Options.PersistentVolumes static PVs (Options.PersistentVolumeSize each, RWO, ROX
//     and RWX). A PVC binds to any free PV at least as large as it asks. The PVs have reclaim
//     policy Retain: when a PVC is deleted, a KWOK stage drops the Released PV's claimRef and
//     the PV controller makes it Available again, so the pool is reused rather than used up.
//     (Delete needs a deleter plugin and Recycle a recycler pod that never finishes here.)
//   - Port-forwards and container logs of pods, served by KWOK from the rules in
//     Options.PortForwards and Options.Logs, or added later with Env.AddPortForward and
//     Env.AddPodLogs.
//
// Everything listens on 127.0.0.1 on ports picked at start, so several environments can run at
// once.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Options configures Start. The zero value is usable.
type Options struct {
	// BinDir holds etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok.
	// Default: $MLOPS_TESTENV_BIN, else $MLOPS_CACHE/testenv, else ~/.cache/mlops-series/testenv
	// (where hack/build-testenv.sh builds them).
	BinDir string
	// PortForwards are the port-forward rules KWOK serves from the start.
	PortForwards []PortForward
	// Logs are the container-log rules KWOK serves from the start.
	Logs []PodLogs
	// Nodes is the number of fake nodes. Default 1.
	Nodes int
	// PersistentVolumes is the size of the PV pool. Default 20; negative for none.
	PersistentVolumes int
	// PersistentVolumeSize is the capacity of each pooled PV. Default "10Gi".
	PersistentVolumeSize string
	// Log, if set, also receives the output of every process, each line prefixed with the
	// process name. The output always goes to <name>.log files in Env.Dir too.
	Log io.Writer
	// StartTimeout bounds Start. Default 2 minutes.
	StartTimeout time.Duration
	// KeepPodGracePeriod leaves pods' terminationGracePeriodSeconds as written. By default a
	// MutatingAdmissionPolicy caps it at 1 s, which halves the time a namespace with pods takes
	// to delete (10 s to 5 s): the namespace controller waits for half the longest grace period
	// of the pods it deleted, though KWOK removes them at once.
	KeepPodGracePeriod bool
}

// PortForward is a KWOK ClusterPortForward rule: a port-forward to Ports of the selected pods
// reaches TargetAddress:TargetPort on this machine instead.
type PortForward struct {
	// Namespace of the pods; "" for all namespaces.
	Namespace string
	// Selector selects pods by label; empty for all pods of Namespace. (KWOK matches pods by
	// namespace and name only: testenv keeps the rule's list of pod names current while the Env
	// runs. With Namespace "", a pod of the same name in another namespace matches too.)
	Selector map[string]string
	// Ports are the pod ports the rule covers; empty for all.
	Ports []int32
	// TargetAddress defaults to 127.0.0.1.
	TargetAddress string
	TargetPort    int32
}

// PodLogs is a KWOK ClusterLogs rule: the selected pods' container logs are read from LogsFile.
type PodLogs struct {
	Namespace string            // "" for all namespaces
	Selector  map[string]string // pod labels; empty for all pods of Namespace
	// LogsFile is in the CRI container-log format (see AppendCRILog); made absolute.
	LogsFile string
	Follow   bool // keep following the file in `logs -f`
}

// Env is a running control plane. Stop it when done.
type Env struct {
	// Dir holds the kubeconfig, certificates, etcd data and the processes' logs.
	Dir string
	// Kubeconfig is the path of a kubeconfig file whose current context is Context.
	Kubeconfig string
	// Context is the kubeconfig context name, "testenv".
	Context string
	// Server is the apiserver URL, https://127.0.0.1:<port>.
	Server string
	// Token is the admin's bearer token (group system:masters).
	Token string
	// CACert is the PEM CA certificate of the apiserver's serving certificate.
	CACert []byte
	// RESTConfig authenticates as the admin.
	RESTConfig *rest.Config
	// NodeNames are the fake nodes.
	NodeNames []string
	// StartDuration is how long Start took.
	StartDuration time.Duration

	opts    Options
	bins    map[string]string
	pki     *pki
	logw    io.Writer // Options.Log behind a lock, or nil
	logFile *os.File  // testenv.log: what Env itself did
	spawner *spawner

	mu    sync.Mutex // guards procs
	procs []*process

	client kubernetes.Interface
	dyn    dynamic.Interface
	rules  *ruleSyncer

	cancel context.CancelFunc // ends background goroutines
	wg     sync.WaitGroup

	stopOnce sync.Once
	stopErr  error
}

// Context name in the kubeconfig.
const contextName = "testenv"

// StorageClass and PV pool.
const (
	storageClassName = "standard"
	defaultPVSize    = "10Gi"
)

// binaryNames are the programs Start needs in Options.BinDir.
func binaryNames() []string {
	return []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"}
}

// MissingBinariesError reports control-plane binaries absent from the binary folder.
type MissingBinariesError struct {
	Dir     string
	Missing []string
}

func (e *MissingBinariesError) Error() string {
	return fmt.Sprintf("testenv binaries missing in %s: %s (build them with hack/build-testenv.sh)",
		e.Dir, strings.Join(e.Missing, ", "))
}

func (o Options) withDefaults() (Options, error) {
	if o.BinDir == "" {
		o.BinDir = os.Getenv("MLOPS_TESTENV_BIN")
	}
	if o.BinDir == "" {
		// The same default as hack/build-testenv.sh: a cache outside the clone.
		cache := os.Getenv("MLOPS_CACHE")
		if cache == "" {
			base, err := os.UserCacheDir()
			if err != nil {
				return o, fmt.Errorf("find the testenv binaries: %w (set MLOPS_TESTENV_BIN)", err)
			}
			cache = filepath.Join(base, "mlops-series")
		}
		o.BinDir = filepath.Join(cache, "testenv")
	}
	if o.Nodes <= 0 {
		o.Nodes = 1
	}
	if o.PersistentVolumes < 0 {
		o.PersistentVolumes = 0
	} else if o.PersistentVolumes == 0 {
		o.PersistentVolumes = 20
	}
	if o.PersistentVolumeSize == "" {
		o.PersistentVolumeSize = defaultPVSize
	}
	if _, err := resource.ParseQuantity(o.PersistentVolumeSize); err != nil {
		return o, fmt.Errorf("persistent volume size %q: %w", o.PersistentVolumeSize, err)
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = 2 * time.Minute
	}
	return o, nil
}

func findBinaries(dir string) (map[string]string, error) {
	bins := map[string]string{}
	var missing []string
	for _, name := range binaryNames() {
		path := filepath.Join(dir, name)
		if fi, err := os.Stat(path); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			missing = append(missing, name)
			continue
		}
		bins[name] = path
	}
	if len(missing) > 0 {
		return nil, &MissingBinariesError{Dir: dir, Missing: missing}
	}
	return bins, nil
}

// Require starts an environment for t and stops it in t.Cleanup, logging the tail of every
// process's log first if t failed. Missing binaries skip t, except under CI=true, where they
// fail it: a CI run that skips the control-plane tests has not tested anything. Under -short (the
// fast loop, `make unit`) t is skipped: the control-plane layer runs in `make integration`.
func Require(t testing.TB, opts Options) *Env {
	t.Helper()
	if testing.Short() {
		t.Skip("control-plane test: skipped under -short (`make integration` runs it)")
	}
	e, err := Start(t.Context(), opts)
	if err != nil {
		var missing *MissingBinariesError
		if errors.As(err, &missing) {
			if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
				t.Fatalf("%v; CI=true, so this is a failure, not a skip", err)
			}
			t.Skipf("skipping: %v", err)
		}
		t.Fatalf("start test control plane: %v", err)
	}
	t.Logf("test control plane up in %s (kubeconfig %s)", e.StartDuration.Round(time.Millisecond), e.Kubeconfig)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("test control plane logs:\n%s", e.LogTails(40))
		}
		if err := e.Stop(); err != nil {
			t.Errorf("stop test control plane: %v", err)
		}
	})
	return e
}

// Start starts a control plane and returns once it can run workloads: the apiserver is
// ready, every fake node is Ready, the default namespace has its default ServiceAccount, and
// the StorageClass and PV pool exist. ctx bounds only the start: the processes run until Stop.
// On error, everything started is stopped again and the error carries the tail of the log of
// the process at fault.
func Start(ctx context.Context, opts Options) (_ *Env, err error) {
	began := time.Now()
	opts, err = opts.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("start testenv: %w", err)
	}
	bins, err := findBinaries(opts.BinDir)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "testenv-")
	if err != nil {
		return nil, fmt.Errorf("start testenv: create dir: %w", err)
	}
	e := &Env{
		Dir:        dir,
		Kubeconfig: filepath.Join(dir, "kubeconfig"),
		Context:    contextName,
		opts:       opts,
		bins:       bins,
		spawner:    newSpawner(),
	}
	if opts.Log != nil {
		e.logw = &lockedWriter{w: opts.Log}
	}
	e.logFile, err = os.Create(filepath.Join(dir, "testenv.log"))
	if err != nil {
		e.spawner.close()
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("start testenv: %w", err)
	}
	bg, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	defer func() {
		if err != nil {
			_ = e.Stop()
		}
	}()

	ctx, cancelStart := context.WithTimeout(ctx, opts.StartTimeout)
	defer cancelStart()
	if err := e.start(ctx, bg); err != nil {
		return nil, fmt.Errorf("start testenv: %w", err)
	}
	e.StartDuration = time.Since(began)
	e.logf("ready in %s", e.StartDuration)
	return e, nil
}

func (e *Env) start(ctx, bg context.Context) error {
	ports, err := freePorts(4)
	if err != nil {
		return err
	}
	etcdPort, peerPort, apiPort, kubeletPort := ports[0], ports[1], ports[2], ports[3]

	e.pki, err = writePKI(e.Dir)
	if err != nil {
		return err
	}
	e.logf("keys written")
	e.CACert = e.pki.caCertPEM
	e.Token, err = randomToken()
	if err != nil {
		return err
	}
	tokens := filepath.Join(e.Dir, "tokens.csv")
	if err := writeFile(tokens, []byte(e.Token+`,testenv-admin,testenv-admin,"system:masters"`+"\n")); err != nil {
		return err
	}
	e.Server = "https://127.0.0.1:" + strconv.Itoa(apiPort)
	if err := e.writeKubeconfig(); err != nil {
		return err
	}
	e.RESTConfig, err = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		&clientcmd.ClientConfigLoadingRules{ExplicitPath: e.Kubeconfig},
		&clientcmd.ConfigOverrides{CurrentContext: contextName}).ClientConfig()
	if err != nil {
		return fmt.Errorf("load kubeconfig: %w", err)
	}
	e.RESTConfig.QPS, e.RESTConfig.Burst = 100, 200
	if e.client, err = kubernetes.NewForConfig(e.RESTConfig); err != nil {
		return fmt.Errorf("create client: %w", err)
	}
	if e.dyn, err = dynamic.NewForConfig(e.RESTConfig); err != nil {
		return fmt.Errorf("create dynamic client: %w", err)
	}

	// etcd
	etcdURL := "http://127.0.0.1:" + strconv.Itoa(etcdPort)
	peerURL := "http://127.0.0.1:" + strconv.Itoa(peerPort)
	etcd, err := e.run("etcd",
		"--name=testenv",
		"--data-dir="+filepath.Join(e.Dir, "etcd"),
		"--listen-client-urls="+etcdURL,
		"--advertise-client-urls="+etcdURL,
		"--listen-peer-urls="+peerURL,
		"--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=testenv="+peerURL,
		"--initial-cluster-state=new",
		"--quota-backend-bytes="+strconv.Itoa(512<<20),
		"--unsafe-no-fsync=true",
		"--log-level=warn",
	)
	if err != nil {
		return err
	}
	healthClient := &http.Client{Timeout: time.Second}
	if err := e.waitFor(ctx, "etcd health", etcd, func(ctx context.Context) (bool, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, etcdURL+"/health", nil)
		if err != nil {
			return false, err
		}
		resp, err := healthClient.Do(req)
		if err != nil {
			return false, err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK && strings.Contains(string(body), `"true"`), nil
	}); err != nil {
		return err
	}
	e.logf("etcd healthy on %s", etcdURL)

	// kube-apiserver
	apiserver, err := e.run("kube-apiserver",
		"--etcd-servers="+etcdURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port="+strconv.Itoa(apiPort),
		"--endpoint-reconciler-type=none",
		"--cert-dir="+filepath.Join(e.Dir, "apiserver"),
		"--tls-cert-file="+e.pki.apiserverCert,
		"--tls-private-key-file="+e.pki.apiserverKey,
		"--client-ca-file="+e.pki.caCert,
		"--token-auth-file="+tokens,
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+e.pki.saPub,
		"--service-account-signing-key-file="+e.pki.saKey,
		"--service-cluster-ip-range=10.96.0.0/16",
		"--kubelet-preferred-address-types=InternalIP",
		"--allow-privileged=true",
		"--profiling=false",
	)
	if err != nil {
		return err
	}
	if err := e.waitFor(ctx, "kube-apiserver /readyz", apiserver, func(ctx context.Context) (bool, error) {
		_, err := e.client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		return err == nil, err
	}); err != nil {
		return err
	}
	e.logf("kube-apiserver ready on %s", e.Server)
	if !e.opts.KeepPodGracePeriod {
		if err := e.createPodGracePolicy(ctx); err != nil {
			return err
		}
	}

	kcm, err := e.run("kube-controller-manager",
		"--kubeconfig="+e.Kubeconfig,
		"--secure-port=0",
		"--leader-elect=false",
		"--root-ca-file="+e.pki.caCert,
		"--service-account-private-key-file="+e.pki.saKey,
		"--cluster-signing-cert-file="+e.pki.caCert,
		"--cluster-signing-key-file="+e.pki.caKey,
		"--kube-api-qps=100",
		"--kube-api-burst=200",
		// KWOK renews the fake node's lease; on a loaded machine (the suite's layers run side by
		// side) it can fall behind the 50 s default, and the node lifecycle controller would then
		// mark the node NotReady and every pod on it unready in the middle of a test.
		"--node-monitor-grace-period=10m",
	)
	if err != nil {
		return err
	}
	if _, err := e.run("kube-scheduler",
		"--kubeconfig="+e.Kubeconfig,
		"--secure-port=0",
		"--leader-elect=false",
	); err != nil {
		return err
	}

	if err := installKWOKCRDs(ctx, e.dyn); err != nil {
		return err
	}
	stages := filepath.Join(e.Dir, "kwok-stages.yaml")
	if err := writeFile(stages, kwokStages); err != nil {
		return err
	}
	kwokHome := filepath.Join(e.Dir, "kwok-home") // so no ~/.kwok/kwok.yaml is read
	if err := os.MkdirAll(kwokHome, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", kwokHome, err)
	}
	kport := strconv.Itoa(kubeletPort)
	kwok, err := e.runEnv("kwok", []string{"HOME=" + kwokHome},
		"--kubeconfig="+e.Kubeconfig,
		"--config="+stages,
		"--manage-nodes-with-annotation-selector="+fakeNodeAnnotation+"=fake",
		"--enable-crds="+kwokCRDKinds,
		"--node-ip=127.0.0.1",
		"--node-port="+kport,
		"--server-address=127.0.0.1:"+kport,
		"--tls-cert-file="+e.pki.kwokCert,
		"--tls-private-key-file="+e.pki.kwokKey,
		"--cidr=10.244.0.0/16",
	)
	if err != nil {
		return err
	}

	if err := e.createNodes(ctx); err != nil {
		return err
	}
	if err := e.createStorage(ctx); err != nil {
		return err
	}
	e.rules, err = startRuleSyncer(bg, e.client, e.dyn, &e.wg, e.logf)
	if err != nil {
		return err
	}
	for _, pf := range e.opts.PortForwards {
		if err := e.AddPortForward(ctx, pf); err != nil {
			return err
		}
	}
	for _, pl := range e.opts.Logs {
		if err := e.AddPodLogs(ctx, pl); err != nil {
			return err
		}
	}

	if err := e.waitFor(ctx, "fake nodes Ready", kwok, func(ctx context.Context) (bool, error) {
		for _, name := range e.NodeNames {
			node, err := e.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			if !nodeReady(node) {
				return false, nil
			}
		}
		return true, nil
	}); err != nil {
		return err
	}
	e.logf("nodes Ready: %s", strings.Join(e.NodeNames, ", "))
	if err := e.waitFor(ctx, "default ServiceAccount in namespace default", kcm, func(ctx context.Context) (bool, error) {
		_, err := e.client.CoreV1().ServiceAccounts(metav1.NamespaceDefault).Get(ctx, "default", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return err == nil, err
	}); err != nil {
		return err
	}
	e.logf("default ServiceAccount exists")
	if !e.opts.KeepPodGracePeriod {
		if err := e.waitFor(ctx, "pod grace period policy active", apiserver, func(ctx context.Context) (bool, error) {
			return e.podGracePolicyActive(ctx)
		}); err != nil {
			return err
		}
	}
	return nil
}

func nodeReady(node *corev1.Node) bool {
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// createNodes registers the fake nodes; kwok (which manages nodes annotated
// kwok.x-k8s.io/node=fake) makes them Ready and keeps their leases.
func (e *Env) createNodes(ctx context.Context) error {
	list := corev1.ResourceList{
		corev1.ResourceCPU:              resource.MustParse("16"),
		corev1.ResourceMemory:           resource.MustParse("64Gi"),
		corev1.ResourcePods:             resource.MustParse("110"),
		corev1.ResourceEphemeralStorage: resource.MustParse("100Gi"),
	}
	for i := range e.opts.Nodes {
		name := fmt.Sprintf("kwok-node-%d", i)
		node := &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{
				Name: name,
				Labels: map[string]string{
					"kubernetes.io/os":       "linux",
					"kubernetes.io/arch":     runtime.GOARCH,
					"kubernetes.io/hostname": name,
					"type":                   "kwok",
				},
				Annotations: map[string]string{fakeNodeAnnotation: "fake"},
			},
			Status: corev1.NodeStatus{
				Capacity:    list.DeepCopy(),
				Allocatable: list.DeepCopy(),
				Addresses: []corev1.NodeAddress{
					{Type: corev1.NodeInternalIP, Address: "127.0.0.1"},
					{Type: corev1.NodeHostName, Address: name},
				},
				NodeInfo: corev1.NodeSystemInfo{Architecture: runtime.GOARCH, OperatingSystem: "linux"},
			},
		}
		if _, err := e.client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create node %s: %w", name, err)
		}
		e.NodeNames = append(e.NodeNames, name)
	}
	return nil
}

// createStorage creates the default StorageClass and the PV pool.
func (e *Env) createStorage(ctx context.Context) error {
	bindImmediate := storagev1.VolumeBindingImmediate
	sc := &storagev1.StorageClass{
		ObjectMeta: metav1.ObjectMeta{
			Name:        storageClassName,
			Annotations: map[string]string{"storageclass.kubernetes.io/is-default-class": "true"},
			Labels:      map[string]string{managedByLabel: managedBy},
		},
		Provisioner:       "kubernetes.io/no-provisioner",
		VolumeBindingMode: &bindImmediate,
	}
	if _, err := e.client.StorageV1().StorageClasses().Create(ctx, sc, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create storageclass %s: %w", storageClassName, err)
	}
	size := resource.MustParse(e.opts.PersistentVolumeSize)
	for i := range e.opts.PersistentVolumes {
		name := fmt.Sprintf("testenv-pv-%03d", i)
		pv := &corev1.PersistentVolume{
			ObjectMeta: metav1.ObjectMeta{
				Name:   name,
				Labels: map[string]string{poolLabel: "true", managedByLabel: managedBy},
			},
			Spec: corev1.PersistentVolumeSpec{
				Capacity: corev1.ResourceList{corev1.ResourceStorage: size},
				AccessModes: []corev1.PersistentVolumeAccessMode{
					corev1.ReadWriteOnce, corev1.ReadOnlyMany, corev1.ReadWriteMany,
				},
				PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
				StorageClassName:              storageClassName,
				PersistentVolumeSource: corev1.PersistentVolumeSource{
					// Never mounted: there is no kubelet. The path only has to be valid.
					HostPath: &corev1.HostPathVolumeSource{Path: "/tmp/testenv-pv/" + name},
				},
			},
		}
		if _, err := e.client.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create persistentvolume %s: %w", name, err)
		}
	}
	return nil
}

// AddPortForward adds a port-forward rule to the running environment. KWOK picks it up from
// the apiserver within moments; the first connection made right after may still be refused.
func (e *Env) AddPortForward(ctx context.Context, pf PortForward) error {
	r, err := portForwardRule(pf)
	if err != nil {
		return fmt.Errorf("add port forward: %w", err)
	}
	if err := e.rules.add(ctx, r, "testenv-pf"); err != nil {
		return fmt.Errorf("add port forward: %w", err)
	}
	return nil
}

// AddPodLogs adds a container-log rule to the running environment.
func (e *Env) AddPodLogs(ctx context.Context, pl PodLogs) error {
	r, err := podLogsRule(pl)
	if err != nil {
		return fmt.Errorf("add pod logs: %w", err)
	}
	if err := e.rules.add(ctx, r, "testenv-logs"); err != nil {
		return fmt.Errorf("add pod logs: %w", err)
	}
	return nil
}

// Client returns a clientset authenticated as the admin.
func (e *Env) Client() kubernetes.Interface { return e.client }

// Dynamic returns a dynamic client authenticated as the admin.
func (e *Env) Dynamic() dynamic.Interface { return e.dyn }

// Stop stops every process (SIGTERM to its process group, SIGKILL after a grace period) and
// removes Dir, unless MLOPS_TESTENV_KEEP is true. It is safe to call more than once.
func (e *Env) Stop() error {
	e.stopOnce.Do(func() {
		if e.cancel != nil {
			e.cancel()
		}
		e.wg.Wait()
		stopping := time.Now()
		e.mu.Lock()
		procs := e.procs
		e.mu.Unlock()
		// Everything but etcd at once, then etcd: the apiserver shuts down faster with its
		// storage still there.
		errs := make([]error, len(procs))
		var wg sync.WaitGroup
		for i, p := range procs {
			if p.name != "etcd" {
				wg.Go(func() { errs[i] = p.stop(5 * time.Second) })
			}
		}
		wg.Wait()
		for i, p := range procs {
			if p.name == "etcd" {
				errs[i] = p.stop(5 * time.Second)
			}
		}
		e.spawner.close()
		e.logf("stopped in %s", time.Since(stopping))
		if e.logFile != nil {
			_ = e.logFile.Close()
		}
		if keep, _ := strconv.ParseBool(os.Getenv("MLOPS_TESTENV_KEEP")); !keep {
			if err := os.RemoveAll(e.Dir); err != nil {
				errs = append(errs, fmt.Errorf("remove %s: %w", e.Dir, err))
			}
		}
		if err := errors.Join(errs...); err != nil {
			e.stopErr = fmt.Errorf("stop testenv: %w", err)
		}
	})
	return e.stopErr
}

// LogTails returns the last n lines of every process's log, for a failure report.
func (e *Env) LogTails(n int) string {
	e.mu.Lock()
	procs := e.procs
	e.mu.Unlock()
	var b strings.Builder
	for _, p := range procs {
		fmt.Fprintf(&b, "--- %s (%s) ---\n%s\n", p.name, p.logPath, p.tail(n))
	}
	fmt.Fprintf(&b, "--- testenv ---\n%s\n", tailFile(filepath.Join(e.Dir, "testenv.log"), n))
	return b.String()
}

func (e *Env) run(name string, args ...string) (*process, error) {
	return e.runEnv(name, nil, args...)
}

// runEnv starts a binary from the binary folder with extra environment variables.
func (e *Env) runEnv(name string, extraEnv []string, args ...string) (*process, error) {
	env := append(os.Environ(), extraEnv...)
	var restartIf func(string) bool
	if name == "kwok" {
		restartIf = kwokKnownCrash
	}
	var p *process
	var err error
	e.spawner.do(func() {
		p, err = startProcess(name, e.bins[name], args, env, e.Dir, e.logw, restartIf)
	})
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	e.procs = append(e.procs, p)
	e.mu.Unlock()
	return p, nil
}

// waitFor polls cond until it holds. It fails early when any process exits, with that
// process's log tail, and on timeout with the tail of blame's log.
func (e *Env) waitFor(ctx context.Context, what string, blame *process, cond func(context.Context) (bool, error)) error {
	var last error
	err := poll(ctx, 100*time.Millisecond, func(ctx context.Context) (bool, error) {
		e.mu.Lock()
		procs := e.procs
		e.mu.Unlock()
		for _, p := range procs {
			if exited, err := p.exited(); exited {
				return false, withTail(err, p)
			}
		}
		ok, err := cond(ctx)
		if err != nil {
			last = err
		}
		return ok, nil
	})
	if err == nil {
		return nil
	}
	err = fmt.Errorf("wait for %s: %w", what, err)
	if last != nil && ctx.Err() != nil {
		err = fmt.Errorf("%w (last error: %v)", err, last)
	}
	if ctx.Err() != nil {
		err = withTail(err, blame)
	}
	return err
}

// poll calls cond every interval until it returns true or an error, or ctx ends.
func poll(ctx context.Context, interval time.Duration, cond func(context.Context) (bool, error)) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		ok, err := cond(ctx)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-t.C:
		}
	}
}

// logf records what Env does in testenv.log (and Options.Log).
func (e *Env) logf(format string, args ...any) {
	line := time.Now().Format("15:04:05.000 ") + fmt.Sprintf(format, args...) + "\n"
	if e.logFile != nil {
		_, _ = e.logFile.WriteString(line)
	}
	if e.logw != nil {
		_, _ = io.WriteString(e.logw, "[testenv] "+line)
	}
}

func (e *Env) writeKubeconfig() error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[contextName] = &clientcmdapi.Cluster{Server: e.Server, CertificateAuthorityData: e.CACert}
	cfg.AuthInfos[contextName+"-admin"] = &clientcmdapi.AuthInfo{Token: e.Token}
	cfg.Contexts[contextName] = &clientcmdapi.Context{Cluster: contextName, AuthInfo: contextName + "-admin"}
	cfg.CurrentContext = contextName
	if err := clientcmd.WriteToFile(*cfg, e.Kubeconfig); err != nil {
		return fmt.Errorf("write kubeconfig: %w", err)
	}
	return nil
}

// freePorts returns n distinct free TCP ports on 127.0.0.1.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("pick free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func randomToken() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate token: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// kwokKnownCrash recognises KWOK v0.8.0's known crash: its CEL environments are built through
// github.com/wzshiming/easycel v0.6.0 (the newest), whose type caches are package-level maps
// written without a lock, so two stages initialised at once can end the process with "fatal
// error: concurrent map writes" (seen at start, when the fake nodes' stages initialise together).
// KWOK keeps no state of its own (it re-reads nodes and pods from the API server), so the test
// control plane restarts it instead of failing the test.
func kwokKnownCrash(logTail string) bool {
	return strings.Contains(logTail, "fatal error: concurrent map") && strings.Contains(logTail, "easycel")
}
