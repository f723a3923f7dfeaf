package cli

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testSeriesWithBuild copies the repository's series into a temporary folder and adds an image of
// its own to chapter 6: a FROM scratch image (nothing to pull) whose Dockerfile copies one file of
// the chapter and a CA bundle when BUILD_CA names one.
func testSeriesWithBuild(t *testing.T, ref string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "series")
	if err := os.CopyFS(dir, os.DirFS("../../series")); err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(dir, "chapter-6-model-registry", "hello")
	if err := os.MkdirAll(img, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		filepath.Join(img, "Dockerfile"):   "FROM scratch\nARG BUILD_CA=hello/Dockerfile\nCOPY hello/greeting.txt /greeting.txt\nCOPY ${BUILD_CA} /ca.crt\n",
		filepath.Join(img, "greeting.txt"): "annyeong\n",
		filepath.Join(img, "unused.txt"):   "not in the image\n",
	}
	for p, c := range files {
		if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.OpenFile(filepath.Join(dir, "images.yaml"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = fmt.Fprintf(f, "  - {ref: %q, archs: [amd64, arm64], chapter: chapter-6, build: {context: chapter-6-model-registry, dockerfile: hello/Dockerfile, paths: [hello/greeting.txt]}}\n", ref)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestImagesBuild(t *testing.T) {
	needDocker(t)
	ref := fmt.Sprintf("mlops-series.local/cli-build-test:%d", time.Now().UnixNano())
	t.Cleanup(func() { _ = exec.Command("docker", "image", "rm", "-f", ref).Run() })
	dir := testSeriesWithBuild(t, ref)
	ca := writeFile(t, "ca.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
	build := func(args ...string) (string, int) {
		t.Helper()
		out, errw, code := run(t, append([]string{"images", "build", "--series", dir, "--no-load", "--lang", "en"}, args...)...)
		return out + errw, code
	}

	// Bad input: an error before anything is built.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"chapter-6", "--build-arg", "BASE"}, `--build-arg "BASE": want KEY=VALUE`},
		{[]string{"chapter-6", "--ca-file", filepath.Join(t.TempDir(), "none.pem")}, "--ca-file: open"},
		{[]string{"chapter-6", "--ca-file", writeFile(t, "notpem", "hello")}, "no PEM certificate in it"},
		{[]string{"chapter-99"}, "chapter-99"},
	} {
		out, code := build(tc.args...)
		if code != 1 || !strings.Contains(out, tc.want) {
			t.Errorf("%v: exit %d, want 1 and %q:\n%s", tc.args, code, tc.want, out)
		}
	}
	if exec.Command("docker", "image", "inspect", ref).Run() == nil {
		t.Fatal("bad input built the image")
	}

	out, code := build("chapter-6")
	if code != 0 || !strings.Contains(out, "built "+ref) {
		t.Fatalf("build: exit %d:\n%s", code, out)
	}
	out, code = build("chapter-6")
	if code != 0 || !strings.Contains(out, ref+" is up to date") {
		t.Fatalf("second build: exit %d, want up to date:\n%s", code, out)
	}
	// A file the Dockerfile does not copy changes nothing; the CA bundle is a new input.
	if err := os.WriteFile(filepath.Join(dir, "chapter-6-model-registry", "hello", "unused.txt"), []byte("changed"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, _ = build("chapter-6"); !strings.Contains(out, "is up to date") {
		t.Fatalf("after a change outside the image's paths: %s", out)
	}
	out, code = build("chapter-6", "--ca-file", ca)
	if code != 0 || !strings.Contains(out, "built "+ref) {
		t.Fatalf("build with --ca-file: exit %d:\n%s", code, out)
	}
	// The closure of chapter 5 has no image of its own.
	if out, code = build("chapter-5"); code != 0 || !strings.Contains(out, "chapter-5 builds no images of its own") {
		t.Fatalf("chapter 5: exit %d:\n%s", code, out)
	}
}
