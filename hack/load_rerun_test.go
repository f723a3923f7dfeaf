package hack

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// hack/load-rerun.sh on a throwaway module (no dependencies: no download): a test that fails once
// is recorded and passes its second run, named load-sensitive; a test that fails twice fails the
// second run; a panic, or more failed tests than MAX_RERUNS, fail the first run at once.
func TestLoadRerun(t *testing.T) {
	script, err := filepath.Abs("load-rerun.sh")
	if err != nil {
		t.Fatal(err)
	}
	// TestOnce fails when its marker is missing (and writes it): it passes its second run.
	const once = `package once

import (
	"os"
	"testing"
)

func TestOnce(t *testing.T) {
	m := os.Getenv("ONCE_MARKER")
	if _, err := os.Stat(m); err != nil {
		_ = os.WriteFile(m, nil, 0o644)
		t.Fatal("first run")
	}
}

func TestFine(t *testing.T) {}
`
	const always = "package always\n\nimport \"testing\"\n\nfunc TestAlways(t *testing.T) { t.Fatal(\"always\") }\n"
	const panics = "package panics\n\nimport \"testing\"\n\nfunc TestPanics(t *testing.T) { panic(\"boom\") }\n\nfunc TestAfter(t *testing.T) {}\n"
	for _, tc := range []struct {
		name     string
		pkgs     map[string]string
		max      string
		runFails string // empty: run exits 0 (it recorded the failures)
		reruns   string
		again    string // what the second run prints
		againOK  bool
	}{
		{name: "fails once", pkgs: map[string]string{"once": once},
			reruns: "example.com/m/once TestOnce\n", again: "LOAD-SENSITIVE: TestOnce of example.com/m/once", againOK: true},
		{name: "fails twice", pkgs: map[string]string{"once": once, "always": always},
			reruns: "example.com/m/always TestAlways\nexample.com/m/once TestOnce\n", again: "TestAlways of example.com/m/always failed again"},
		{name: "a panic", pkgs: map[string]string{"once": once, "panics": panics},
			runFails: "not run again: example.com/m/panics"},
		{name: "too many", pkgs: map[string]string{"once": once}, max: "0",
			runFails: "1 tests failed (more than 0)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mod := t.TempDir()
			files := map[string]string{"go.mod": "module example.com/m\n\ngo 1.22\n"}
			for pkg, src := range tc.pkgs {
				files[filepath.Join(pkg, pkg+"_test.go")] = src
			}
			for name, data := range files {
				if err := os.MkdirAll(filepath.Dir(filepath.Join(mod, name)), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(mod, name), []byte(data), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			dir := filepath.Join(t.TempDir(), "rerun")
			env := append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOTOOLCHAIN=local",
				"ONCE_MARKER="+filepath.Join(t.TempDir(), "marker"))
			if tc.max != "" {
				env = append(env, "MAX_RERUNS="+tc.max)
			}
			run := func(args ...string) (string, error) {
				cmd := exec.Command("bash", append([]string{script}, args...)...)
				cmd.Dir, cmd.Env = mod, env
				out, err := cmd.CombinedOutput()
				return string(out), err
			}
			out, err := run("run", dir, "--", "go", "test", "-count=1", "./...")
			if tc.runFails != "" {
				if err == nil || !strings.Contains(out, tc.runFails) {
					t.Fatalf("run = %v, want a failure saying %q:\n%s", err, tc.runFails, out)
				}
				if _, err := os.Stat(filepath.Join(dir, "reruns")); err == nil {
					t.Error("a failed run left tests to run again")
				}
				return
			}
			if err != nil {
				t.Fatalf("run: %v\n%s", err, out)
			}
			if b, _ := os.ReadFile(filepath.Join(dir, "reruns")); sortLines(string(b)) != tc.reruns {
				t.Errorf("reruns = %q, want %q", b, tc.reruns)
			}
			out, err = run("again", dir)
			if (err == nil) != tc.againOK || !strings.Contains(out, tc.again) {
				t.Fatalf("again = %v (want success %v), want it to say %q:\n%s", err, tc.againOK, tc.again, out)
			}
		})
	}
}

func sortLines(s string) string {
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	slices.Sort(lines)
	return strings.Join(lines, "\n") + "\n"
}
