package gitops_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/mlops-series/mlops-series/internal/gitops"
	"github.com/mlops-series/mlops-series/internal/nativetest"
)

// These tests push to chapter 2's own Git server (git_server.py over git http-backend), run on
// loopback, and read the result back with the git CLI.

func gitCLI(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func TestPublishToEmptyThenUnchangedThenChanged(t *testing.T) {
	srv := nativetest.GitServer(t, "series")
	url := srv.URL + "/series.git"
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	head, err := gitops.Head(ctx, url)
	if err != nil || head != "" {
		t.Fatalf("Head of an empty repository = %q, %v; want \"\", nil", head, err)
	}
	files := map[string][]byte{
		"kustomization.yaml":  []byte("resources: [apps/configmap.yaml]\n"),
		"apps/configmap.yaml": []byte("kind: ConfigMap\n"),
	}
	first, err := gitops.Publish(ctx, url, files, "first")
	if err != nil {
		t.Fatal(err)
	}
	if !first.Changed || first.Previous != "" || first.Files != 2 || first.Revision != "main@sha1:"+first.Commit {
		t.Fatalf("first publish: %+v", first)
	}
	if head, _ := gitops.Head(ctx, url); head != first.Commit {
		t.Fatalf("Head = %s, want %s", head, first.Commit)
	}

	again, err := gitops.Publish(ctx, url, files, "again")
	if err != nil {
		t.Fatal(err)
	}
	if again.Changed || again.Commit != first.Commit {
		t.Fatalf("publishing the same files: %+v, want unchanged at %s", again, first.Commit)
	}

	// A file changed, one removed, one added: one commit on top of the first.
	files2 := map[string][]byte{
		"kustomization.yaml":   []byte("resources: [apps/deployment.yaml]\n"),
		"apps/deployment.yaml": []byte("kind: Deployment\n"),
	}
	second, err := gitops.Publish(ctx, url, files2, "second")
	if err != nil {
		t.Fatal(err)
	}
	if !second.Changed || second.Previous != first.Commit {
		t.Fatalf("second publish: %+v", second)
	}
	clone := filepath.Join(t.TempDir(), "clone")
	gitCLI(t, "", "clone", "-q", url, clone)
	if got := gitCLI(t, clone, "rev-parse", "HEAD"); got != second.Commit {
		t.Fatalf("clone HEAD %s, want %s", got, second.Commit)
	}
	if got := gitCLI(t, clone, "log", "--format=%s %an", "-n", "2"); got != "second mlops-series\nfirst mlops-series" {
		t.Fatalf("log:\n%s", got)
	}
	if got := gitCLI(t, clone, "ls-files"); got != "apps/deployment.yaml\nkustomization.yaml" {
		t.Fatalf("files: %q", got)
	}
	if b, _ := os.ReadFile(filepath.Join(clone, "apps", "deployment.yaml")); string(b) != "kind: Deployment\n" {
		t.Fatalf("deployment.yaml = %q", b)
	}
}

func TestPublishOnTopOfSomeoneElsesCommit(t *testing.T) {
	srv := nativetest.GitServer(t, "series")
	url := srv.URL + "/series.git"
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// A reader's commit made with the git CLI.
	work := filepath.Join(t.TempDir(), "work")
	gitCLI(t, "", "clone", "-q", url, work)
	if err := os.WriteFile(filepath.Join(work, "NOTES"), []byte("mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gitCLI(t, work, "add", "NOTES")
	gitCLI(t, work, "-c", "user.name=Reader", "-c", "user.email=r@example.invalid", "commit", "-qm", "reader")
	gitCLI(t, work, "push", "-q", "origin", "HEAD:main")
	theirs := gitCLI(t, work, "rev-parse", "HEAD")

	res, err := gitops.Publish(ctx, url, map[string][]byte{"kustomization.yaml": []byte("resources: []\n")}, "series")
	if err != nil {
		t.Fatal(err)
	}
	if !res.Changed || res.Previous != theirs {
		t.Fatalf("publish: %+v, want a commit on top of %s", res, theirs)
	}
	gitCLI(t, work, "pull", "-q", "--ff-only")
	if got := gitCLI(t, work, "ls-files"); got != "kustomization.yaml" {
		t.Fatalf("after publish the branch holds %q", got)
	}
}

func TestPublishErrors(t *testing.T) {
	srv := nativetest.GitServer(t, "series")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := gitops.Publish(ctx, srv.URL+"/other.git", map[string][]byte{"a": []byte("b")}, "x")
	if err == nil || !strings.Contains(err.Error(), "other.git") {
		t.Fatalf("unknown repository: %v", err)
	}
	_, err = gitops.Publish(ctx, srv.URL+"/series.git", map[string][]byte{"../escape": []byte("b")}, "x")
	if err == nil || !strings.Contains(err.Error(), "outside the repository") {
		t.Fatalf("path outside: %v", err)
	}
	if head, _ := gitops.Head(ctx, srv.URL+"/series.git"); head != "" {
		t.Fatalf("a refused publish pushed %s", head)
	}
}

func TestReadDir(t *testing.T) {
	fsys := fstest.MapFS{
		"ch/gitops/kustomization.yaml": {Data: []byte("k")},
		"ch/gitops/apps/cm.yaml":       {Data: []byte("c")},
		"ch/gitops/.hidden":            {Data: []byte("h")},
		"ch/gitops/.git/config":        {Data: []byte("g")},
		"ch/gitops/__pycache__/x.pyc":  {Data: []byte("p")},
		"ch/other.yaml":                {Data: []byte("o")},
	}
	got, err := gitops.ReadDir(fsys, "ch/gitops")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || string(got["kustomization.yaml"]) != "k" || string(got["apps/cm.yaml"]) != "c" {
		t.Fatalf("ReadDir = %v", got)
	}
	if _, err := gitops.ReadDir(fsys, "ch/none"); err == nil {
		t.Fatal("a missing folder: no error")
	}
	if _, err := gitops.ReadDir(fstest.MapFS{"d/.x": {Data: []byte("h")}}, "d"); err == nil || !strings.Contains(err.Error(), "no files") {
		t.Fatalf("an empty folder: %v", err)
	}
}
