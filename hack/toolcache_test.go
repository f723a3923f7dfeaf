package hack

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// hack/toolcache.sh points the tool builds at a Go build cache of their own and removes it only
// once every binary sharing it is built: while one is missing (the node's kubelet after `make
// deps`, say) it stays, so the Kubernetes packages are still compiled once for both.
func TestToolGoCacheDroppedOnlyWhenEveryToolIsBuilt(t *testing.T) {
	dir := t.TempDir()
	cache := filepath.Join(dir, "mlops-series")
	built := filepath.Join(dir, "kube-apiserver")
	if err := os.WriteFile(built, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "kubelet")
	script := `set -euo pipefail
source ./toolcache.sh
echo "GOCACHE=$GOCACHE"
mkdir -p "$GOCACHE/00"; echo entry > "$GOCACHE/00/a"
drop_tool_gocache "$BUILT" "$MISSING"
[ -d "$GOCACHE" ] && echo "kept while one is missing"
touch "$MISSING"; chmod +x "$MISSING"
drop_tool_gocache "$BUILT" "$MISSING"
[ -d "$GOCACHE" ] || echo "dropped once all are built"
drop_tool_gocache "$BUILT" "$MISSING"
echo "second drop is a no-op"`
	cmd := exec.Command("bash", "-c", script)
	cmd.Env = append(os.Environ(), "MLOPS_CACHE="+cache, "MLOPS_TOOL_GOCACHE=", "BUILT="+built, "MISSING="+missing)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("toolcache.sh: %v\n%s", err, out)
	}
	for _, want := range []string{
		"GOCACHE=" + filepath.Join(cache, "go-build-tools") + "\n",
		"kept while one is missing",
		"removing the tools' Go build cache",
		"dropped once all are built",
		"second drop is a no-op",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
