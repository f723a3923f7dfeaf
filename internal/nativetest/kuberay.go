package nativetest

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
)

// testenvBin is the folder of the test control plane's binaries (internal/testenv, built by
// hack/build-testenv.sh): $MLOPS_TESTENV_BIN, else $MLOPS_CACHE/testenv.
func testenvBin() string {
	if d := os.Getenv("MLOPS_TESTENV_BIN"); d != "" {
		return d
	}
	return filepath.Join(cacheDir(), "testenv")
}

// KubeRayOperator starts KubeRay's operator (ray-operator, built from its Go module by
// hack/build-testenv.sh at charts/kuberay-operator's appVersion) against the cluster of kubeconfig,
// with the arguments charts/kuberay-operator gives it: no leader election, console logs, only the
// namespace watch (when not empty); metrics and health on free loopback ports. With
// serviceAccount ("namespace/name") it acts as that ServiceAccount (the kubeconfig's user
// impersonates it), so that it has exactly the permissions the chart's ClusterRole grants. It
// returns once /readyz answers, and is stopped in t.Cleanup. Without the binary it skips t, or
// fails it when CI=true.
func KubeRayOperator(t testing.TB, kubeconfig, watch, serviceAccount string) *Server {
	t.Helper()
	SkipShort(t)
	bin := filepath.Join(testenvBin(), "ray-operator")
	if _, err := os.Stat(bin); err != nil {
		missing(t, fmt.Sprintf("ray-operator not found in %s: run `bash hack/build-testenv.sh` (or `make deps`)", filepath.Dir(bin)))
	}
	dir := t.TempDir()
	if serviceAccount != "" {
		_, kubeconfig = impersonate(t, kubeconfig, serviceAccount, dir)
	}
	metrics, health := FreePort(t), FreePort(t)
	argv := []string{bin, "-kubeconfig", kubeconfig, "-enable-leader-election=false", "-log-stdout-encoder", "console",
		"-metrics-addr", "127.0.0.1:" + strconv.Itoa(metrics), "-health-probe-bind-address", "127.0.0.1:" + strconv.Itoa(health)}
	if watch != "" {
		argv = append(argv, "-watch-namespace", watch)
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", health)
	s := Start(t, "kuberay-operator", dir, base+"/readyz", nil, argv...)
	s.URL, s.Port = base, health
	return s
}

// impersonate writes into dir a copy of kubeconfig whose user acts as the ServiceAccount
// serviceAccount ("namespace/name"), so that a controller run natively has exactly the
// permissions its chart grants. It returns the ServiceAccount's namespace and the copy's path.
func impersonate(t testing.TB, kubeconfig, serviceAccount, dir string) (namespace, path string) {
	t.Helper()
	ns, _, ok := strings.Cut(serviceAccount, "/")
	if !ok {
		t.Fatalf("service account %q: want namespace/name", serviceAccount)
	}
	cfg, err := clientcmd.LoadFromFile(kubeconfig)
	if err != nil {
		t.Fatalf("read %s: %v", kubeconfig, err)
	}
	ctx, ok := cfg.Contexts[cfg.CurrentContext]
	if !ok || cfg.AuthInfos[ctx.AuthInfo] == nil {
		t.Fatalf("%s has no user for its current context %q", kubeconfig, cfg.CurrentContext)
	}
	cfg.AuthInfos[ctx.AuthInfo].Impersonate = "system:serviceaccount:" + strings.Replace(serviceAccount, "/", ":", 1)
	cfg.AuthInfos[ctx.AuthInfo].ImpersonateGroups = []string{"system:serviceaccounts", "system:authenticated"}
	path = filepath.Join(dir, "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return ns, path
}
