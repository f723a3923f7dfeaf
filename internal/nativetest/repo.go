package nativetest

import (
	"os"
	"path/filepath"
	"testing"
)

// RepoFile returns the path of a file of this repository, given relative to its root (the folder
// with go.mod), found upwards from the test's working folder (go test runs a test in its package's
// folder). It does not depend on the paths compiled into the test binary, which -trimpath (GOFLAGS
// in the Makefile, so that clones at different paths share the Go build cache) turns into import
// paths.
func RepoFile(t testing.TB, rel ...string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(append([]string{dir}, rel...)...)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("no go.mod above the working folder: cannot find %s", filepath.Join(rel...))
		}
		dir = parent
	}
}
