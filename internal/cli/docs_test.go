package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// docs --jekyll DIR creates DIR, writes one Korean post draft per available chapter of the
// embedded series and lists each file on stdout; a second run changes nothing and says so.
func TestDocsJekyll(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "blog", "_posts")
	out, errw, code := run(t, "docs", "--jekyll", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errw)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) == 0 || len(lines) != len(entries) {
		t.Fatalf("%d drafts in %s, stdout:\n%s", len(entries), dir, out)
	}
	for i, e := range entries {
		if want := "wrote     " + filepath.Join(dir, e.Name()); lines[i] != want {
			t.Errorf("stdout line %d = %q, want %q", i+1, lines[i], want)
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil || !strings.HasPrefix(string(b), "---\nlayout: post\n") {
			t.Errorf("%s: not a post draft (%v)", e.Name(), err)
		}
	}
	if !strings.Contains(out, "-model-registry.md\n") {
		t.Errorf("no draft of chapter 6:\n%s", out)
	}

	out, errw, code = run(t, "docs", "--jekyll", dir)
	if code != 0 || strings.Count(out, "unchanged ") != len(entries) || strings.Contains(out, "wrote") {
		t.Errorf("second run: exit %d, stdout:\n%s\nstderr:\n%s", code, out, errw)
	}
}

func TestDocsJekyllRefuses(t *testing.T) {
	file := filepath.Join(t.TempDir(), "posts")
	if err := os.WriteFile(file, []byte("a file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"docs", "--jekyll", file}, "not a folder"},
		{[]string{"docs", "--force"}, "needs --jekyll DIR"},
		{[]string{"docs", "--jekyll", file, "--check"}, "none of the others can be"},
	} {
		out, errw, code := run(t, tt.args...)
		if code != 1 || !strings.Contains(errw, tt.want) || out != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 1 and %q", tt.args, code, out, errw, tt.want)
		}
	}
	if b, _ := os.ReadFile(file); string(b) != "a file\n" {
		t.Error("the file in the way was changed")
	}
}
