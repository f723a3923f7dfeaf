package docs

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mlops-series/mlops-series/internal/series"
)

const jekyllGoldenDir = "testdata/jekyll"

// testRepository stands for the repository's files on GitHub in the tests that name one.
const testRepository = "https://github.com/example/mlops-series/blob/main"

func jekyllDrafts(t *testing.T, lib *series.Library, opts JekyllOptions) map[string][]byte {
	t.Helper()
	files, skipped, err := Jekyll(lib, fixtureInfo(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(skipped) > 0 {
		t.Fatalf("skipped %v: every fixture chapter has a date", skipped)
	}
	return files
}

// The drafts, without and with a repository to link, are the golden files under testdata/jekyll
// (go test ./internal/docs -update rewrites them).
func TestJekyllGolden(t *testing.T) {
	for _, tt := range []struct {
		dir  string
		opts JekyllOptions
	}{
		{"plain", JekyllOptions{}},
		{"repository", JekyllOptions{Repository: testRepository}},
	} {
		t.Run(tt.dir, func(t *testing.T) {
			files := jekyllDrafts(t, loadFixture(t), tt.opts)
			want := "2027-02-08-model-registry.md 2027-02-15-model-serving.md"
			if got := strings.Join(sortedKeys(files), " "); got != want {
				t.Fatalf("drafts %s, want %s", got, want)
			}
			dir := filepath.Join(jekyllGoldenDir, tt.dir)
			if *update {
				if _, err := WriteJekyll(dir, files, true); err != nil {
					t.Fatal(err)
				}
				return
			}
			for _, name := range sortedKeys(files) {
				golden, err := os.ReadFile(filepath.Join(dir, name))
				if err != nil {
					t.Errorf("%v (run go test ./internal/docs -update)", err)
					continue
				}
				if got := files[name]; string(got) != string(golden) {
					line := firstDiffLine(got, golden)
					t.Errorf("%s differs from its golden file at line %d:\n got: %q\nwant: %q\n(run go test ./internal/docs -update after checking the change)",
						name, line, lineAt(got, line), lineAt(golden, line))
				}
			}
		})
	}
}

var frontMatterRe = regexp.MustCompile(`(?s)\A---\n(.*?)\n---\n\n(.*?)\n\n<!--more-->\n\n`)

func TestJekyllShape(t *testing.T) {
	lib := loadFixture(t)
	plain := jekyllDrafts(t, lib, JekyllOptions{})
	repo := jekyllDrafts(t, lib, JekyllOptions{Repository: testRepository})

	ch6, ch7 := string(plain["2027-02-08-model-registry.md"]), string(plain["2027-02-15-model-serving.md"])
	m := frontMatterRe.FindStringSubmatch(ch7)
	if m == nil {
		t.Fatalf("chapter 7's draft does not start with front matter and an excerpt:\n%s", ch7)
	}
	wantFront := `layout: post
title: "[Zero부터 시작하는 MLOps 도구와 활용] 7장 · 모델 서빙 (FastAPI, BentoML)"
categories: ["MLOps"]
tags: ["FastAPI", "BentoML"]
toc: true
comments: true
excerpt_separator: <!--more-->`
	if m[1] != wantFront {
		t.Errorf("front matter:\n%s\nwant:\n%s", m[1], wantFront)
	}
	if want := strings.Join(strings.Fields(lib.Chapters["chapter-7"].Summary.Ko), " "); m[2] != want {
		t.Errorf("excerpt %q, want the chapter's Korean summary %q", m[2], want)
	}

	for name, content := range map[string]string{"chapter 6": ch6, "chapter 7": ch7} {
		if strings.Contains(content, "do not edit") || strings.Contains(content, "[English]") {
			t.Errorf("%s: the draft carries the docs page's header", name)
		}
		if strings.Count(content, "<!--more-->") != 2 { // the separator, and its name in the front matter
			t.Errorf("%s: <!--more--> must separate the excerpt exactly once", name)
		}
		if !untouchedDraft([]byte(content)) {
			t.Errorf("%s: the draft's last line does not carry the digest of the rest", name)
		}
		// Without a repository, every link is absolute or an anchor of the post itself, which it has once.
		anchors := markdownAnchors(content)
		for _, link := range markdownLinks(content) {
			switch {
			case strings.HasPrefix(link, "https://"):
			case strings.HasPrefix(link, "#"):
				if n := anchors[strings.TrimPrefix(link, "#")]; n != 1 {
					t.Errorf("%s: link %s: the post has %d such anchors", name, link, n)
				}
			default:
				t.Errorf("%s: link %s leads nowhere on the blog", name, link)
			}
		}
	}
	// Every section the CLI's read: lines point at (post URL + anchor) is an anchor of the post.
	for _, id := range []string{"chapter-6", "chapter-7"} {
		ch := lib.Chapters[id]
		content := string(plain[PostFile(ch)])
		anchors := []string{ch.Post.Section}
		for _, c := range ch.Components {
			anchors = append(anchors, c.Section)
		}
		for _, c := range ch.Checks {
			anchors = append(anchors, c.Section)
		}
		for _, a := range anchors {
			if n := markdownAnchors(content)[strings.TrimPrefix(a, "#")]; n != 1 {
				t.Errorf("%s: section %s: the draft has %d such anchors", id, a, n)
			}
		}
	}

	for _, tt := range []struct {
		files map[string][]byte
		name  string
		want  []string
		not   []string
	}{
		// Chapter 6 has no post yet: no repository, its links become text; its own sections stay anchors.
		{plain, "2027-02-15-model-serving.md", []string{
			"- 필요한 장: 6장 · 모델 레지스트리 (MLflow)\n",
			"| 6장 | postgresql | postgresql | 0.1.0 | mlflow |",
			"| 6장 #backend-store |",
			"| `model-api-health` | `http` | FastAPI 앱의 /health 가 200 을 응답 | [#fastapi](#fastapi) |",
			"### fastapi\n\n- model-api 설치 (네임스페이스 serving)",
			"`mlops-series up chapter-7` 한 번으로",
		}, []string{"chapter-6.md", "본문에서 읽기", "blog.example.org/mlops/07-model-serving.html#"}},
		// Chapter 7's post is published: chapter 6's draft links it.
		{plain, "2027-02-08-model-registry.md", []string{
			"- 다음 장: [7장 · 모델 서빙 (FastAPI, BentoML)](https://blog.example.org/mlops/07-model-serving.html)\n",
			"| [#registry](#registry) |",
			"tags: [\"MLflow\"]",
		}, []string{"chapter-7.md"}},
		// With a repository, the links into its docs lead there.
		{repo, "2027-02-15-model-serving.md", []string{
			"- 필요한 장: [6장 · 모델 레지스트리 (MLflow)](" + testRepository + "/docs/ko/chapter-6.md)\n",
			"| [6장](" + testRepository + "/docs/ko/chapter-6.md) | postgresql |",
			"[#backend-store](" + testRepository + "/docs/ko/chapter-6.md#backend-store)",
			"이 장의 스펙은 [`series/chapter-7-model-serving/chapter.yaml`](" + testRepository + "/series/chapter-7-model-serving/chapter.yaml)에 있습니다.",
		}, nil},
	} {
		content := string(tt.files[tt.name])
		for _, w := range tt.want {
			if !strings.Contains(content, w) {
				t.Errorf("%s: missing %q", tt.name, w)
			}
		}
		for _, n := range tt.not {
			if strings.Contains(content, n) {
				t.Errorf("%s: must not contain %q", tt.name, n)
			}
		}
	}
}

func TestJekyllSkipsAndRejects(t *testing.T) {
	lib := loadFixture(t)
	lib.Chapters["chapter-6"].Post.Date = ""
	files, skipped, err := Jekyll(lib, fixtureInfo(), JekyllOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(skipped, " ") != "chapter-6" || strings.Join(sortedKeys(files), " ") != "2027-02-15-model-serving.md" {
		t.Errorf("skipped %v, drafts %v: want chapter 6 skipped and chapter 7's draft", skipped, sortedKeys(files))
	}

	if _, _, err := Jekyll(lib, fixtureInfo(), JekyllOptions{Repository: "github.com/x/y"}); err == nil {
		t.Error("a repository that is not an https URL must be an error")
	}
	info := fixtureInfo()
	delete(info, "chapter-7")
	if _, _, err := Jekyll(lib, info, JekyllOptions{}); err == nil || !strings.Contains(err.Error(), "chapter-7: no component info") {
		t.Errorf("missing component info: %v", err)
	}
	if _, _, err := Jekyll(&series.Library{}, nil, JekyllOptions{}); err == nil {
		t.Error("a library without a table of contents must be an error")
	}
}

func TestWriteJekyll(t *testing.T) {
	files := jekyllDrafts(t, loadFixture(t), JekyllOptions{})
	root := t.TempDir()

	// A file where the folder should be is refused, and left as it is.
	file := filepath.Join(root, "posts")
	writeTree(t, root, map[string]string{"posts": "not a folder\n"})
	if _, err := WriteJekyll(file, files, false); err == nil || !strings.Contains(err.Error(), "not a folder") {
		t.Errorf("WriteJekyll into a file: %v", err)
	}
	if b, _ := os.ReadFile(file); string(b) != "not a folder\n" {
		t.Error("the file in the way was changed")
	}

	// A missing folder is created, with its parents; the author's own posts are left alone.
	dir := filepath.Join(root, "blog", "_posts")
	writeTree(t, dir, map[string]string{"2026-12-01-hello.md": "the author's post\n"})
	res, err := WriteJekyll(dir, files, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(res.Written, " "); got != "2027-02-08-model-registry.md 2027-02-15-model-serving.md" || len(res.Unchanged)+len(res.Kept) > 0 {
		t.Errorf("first write: %+v", res)
	}
	for name, content := range files {
		if b, err := os.ReadFile(filepath.Join(dir, name)); err != nil || string(b) != string(content) {
			t.Errorf("%s: not written as generated (%v)", name, err)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 3 {
		t.Errorf("the folder holds %d entries, want the author's post and two drafts (no temporary files)", len(entries))
	}

	// Again: nothing changes.
	before := snapshot(t, dir)
	if res, err = WriteJekyll(dir, files, false); err != nil || len(res.Unchanged) != 2 || len(res.Written) != 0 {
		t.Errorf("second write: %+v, %v", res, err)
	}
	if snapshot(t, dir) != before {
		t.Error("a second write changed the folder")
	}

	// The spec changed: an untouched draft is replaced; one the author edited is kept, and said so.
	lib := loadFixture(t)
	lib.Chapters["chapter-6"].Summary.Ko = "바뀐 요약입니다."
	lib.Chapters["chapter-7"].Summary.Ko = "바뀐 요약입니다."
	changed := jekyllDrafts(t, lib, JekyllOptions{})
	edited := filepath.Join(dir, "2027-02-15-model-serving.md")
	writeTree(t, dir, map[string]string{"2027-02-15-model-serving.md": string(files["2027-02-15-model-serving.md"]) + "작가가 덧붙인 문단.\n"})
	res, err = WriteJekyll(dir, changed, false)
	var ed *EditedDraftsError
	if !errors.As(err, &ed) || strings.Join(ed.Files, " ") != "2027-02-15-model-serving.md" || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("write over an edited draft: %v", err)
	}
	if strings.Join(res.Written, " ") != "2027-02-08-model-registry.md" || strings.Join(res.Kept, " ") != "2027-02-15-model-serving.md" {
		t.Errorf("write over an edited draft: %+v", res)
	}
	if b, _ := os.ReadFile(edited); !strings.HasSuffix(string(b), "작가가 덧붙인 문단.\n") {
		t.Error("the edited draft was overwritten")
	}
	// force replaces it.
	if res, err = WriteJekyll(dir, changed, true); err != nil || strings.Join(res.Written, " ") != "2027-02-15-model-serving.md" {
		t.Errorf("force: %+v, %v", res, err)
	}
	if b, _ := os.ReadFile(edited); string(b) != string(changed["2027-02-15-model-serving.md"]) {
		t.Error("force did not replace the edited draft")
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "2026-12-01-hello.md")); string(b) != "the author's post\n" {
		t.Error("the author's own post was touched")
	}

	for _, name := range []string{"../x.md", "a/b.md", ""} {
		if _, err := WriteJekyll(dir, map[string][]byte{name: []byte("x\n")}, false); err == nil {
			t.Errorf("WriteJekyll accepted the name %q", name)
		}
	}
}

// Every available chapter of the real series has a date, and so a draft.
func TestJekyllRealSeries(t *testing.T) {
	lib, err := series.Load(os.DirFS("../../series"), "series")
	if err != nil {
		t.Fatalf("the real series does not load: %v", err)
	}
	info := map[string][]ComponentInfo{}
	for _, id := range lib.IDs() {
		closure, err := lib.Closure(id)
		if err != nil {
			t.Fatal(err)
		}
		info[id] = []ComponentInfo{}
		for _, c := range closure {
			for _, comp := range c.Components {
				info[id] = append(info[id], ComponentInfo{Chapter: c.ID(), Name: comp.Name, Namespace: comp.Namespace,
					Chart: comp.Chart, Version: "0.0.0"})
			}
		}
	}
	files, skipped, err := Jekyll(lib, info, JekyllOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(skipped) > 0 {
		t.Errorf("chapters without post.date: %v", skipped)
	}
	nameRe := regexp.MustCompile(`^\d{4}-\d{2}-\d{2}-[a-z0-9-]+\.md$`)
	for _, id := range lib.IDs() {
		name := PostFile(lib.Chapters[id])
		content, ok := files[name]
		if !ok || !nameRe.MatchString(name) {
			t.Errorf("%s: no draft %s", id, name)
			continue
		}
		if !frontMatterRe.Match(content) {
			t.Errorf("%s: the draft does not start with front matter and an excerpt", name)
		}
		for _, link := range markdownLinks(string(content)) {
			if !strings.HasPrefix(link, "https://") && !strings.HasPrefix(link, "#") {
				t.Errorf("%s: link %s leads nowhere on the blog", name, link)
			}
		}
	}
}
