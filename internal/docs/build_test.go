package docs

import (
	"os"
	"strings"
	"testing"
)

// A chapter with images of its own (series/images.yaml build entries) lists `images build` before
// up, in both languages; a chapter without any does not. Read from the generated pages in docs/,
// which `docs --check` (make docs-check) keeps equal to what Generate writes.
func TestCommandsListImagesBuild(t *testing.T) {
	read := func(name string) string {
		b, err := os.ReadFile("../../docs/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for name, want := range map[string]string{
		"en/chapter-7.md": "mlops-series images build chapter-7  # build the chapter's own images with the local engine and load them into kind (before up)\nmlops-series up chapter-7",
		"ko/chapter-3.md": "mlops-series images build chapter-3  # 이 장의 이미지를 로컬 엔진으로 빌드해 kind 노드에 올리기 (up 보다 먼저)\nmlops-series up chapter-3",
	} {
		if !strings.Contains(read(name), want) {
			t.Errorf("%s lacks %q", name, want)
		}
	}
	if strings.Contains(read("en/chapter-6.md"), "images build") {
		t.Errorf("en/chapter-6.md lists images build, and chapter 6 has no image of its own")
	}
}
