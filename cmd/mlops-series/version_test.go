package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// `make build` stamps the version and the commit into the binary: `version` says which build it
// is, not "dev". It links the whole CLI, so it is left out of the fast loop (-short).
func TestMakeBuildStampsVersion(t *testing.T) {
	if testing.Short() {
		t.Skip("links the CLI: skipped under -short")
	}
	for _, tool := range []string{"make", "git"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not found: %v", tool, err)
		}
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	commit, err := exec.Command("git", "-C", root, "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		t.Skipf("not a git checkout: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "mlops-series")
	if out, err := exec.Command("make", "-s", "-C", root, "build", "BIN="+bin).CombinedOutput(); err != nil {
		t.Fatalf("make build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatalf("version: %v", err)
	}
	first, _, _ := strings.Cut(string(out), "\n")
	if strings.HasPrefix(first, "mlops-series dev ") || !strings.Contains(first, "commit "+strings.TrimSpace(string(commit))) {
		t.Fatalf("version of a `make build` binary: %q, want a stamped version and commit %s", first, commit)
	}
}
