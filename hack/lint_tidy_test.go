package hack

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// hack/lint-tidy.sh fails on a module whose go.mod is not what `go mod tidy` makes of it, and
// passes on a tidy one (throwaway modules without dependencies: no download).
func TestLintTidy(t *testing.T) {
	script, err := filepath.Abs("lint-tidy.sh")
	if err != nil {
		t.Fatal(err)
	}
	const main = "package main\n\nfunc main() {}\n"
	for _, tc := range []struct {
		name, gomod string
		want        string // empty: the script passes
	}{
		{"tidy", "module example.com/m\n\ngo 1.22\n", ""},
		{"a requirement nothing imports", "module example.com/m\n\ngo 1.22\n\nrequire example.com/unused v1.0.0 // indirect\n", "not tidy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, data := range map[string]string{"go.mod": tc.gomod, "main.go": main} {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			cmd := exec.Command("bash", script, dir)
			cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOTOOLCHAIN=local")
			out, err := cmd.CombinedOutput()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("lint-tidy failed on a tidy module: %v\n%s", err, out)
			case tc.want != "" && (err == nil || !strings.Contains(string(out), tc.want)):
				t.Fatalf("lint-tidy = %v, want a failure saying %q:\n%s", err, tc.want, out)
			}
			if b, _ := os.ReadFile(filepath.Join(dir, "go.mod")); string(b) != tc.gomod {
				t.Errorf("lint-tidy changed go.mod:\n%s", b)
			}
		})
	}
}
