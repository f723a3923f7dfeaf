package series

import (
	"fmt"
	"io/fs"
	"os"
	"strings"
	"testing"
	"testing/fstest"
)

const validChapter = `apiVersion: mlops-series/v1alpha1
kind: Chapter
number: 6
slug: model-registry
title: {ko: 모델 레지스트리, en: Model registry}
post: {section: "#overview"}
components:
  - name: db
    chart: postgresql
    namespace: mlflow
    section: "#db"
  - name: mlflow
    chart: mlflow
    namespace: mlflow
    dependsOn: [db]
    section: "#server"
checks:
  - {name: pods, type: pods, section: "#server"}
  - {name: health, type: http, component: mlflow, port: 5000, path: /health, section: "#server"}
`

// testTypes is a table of check types for these tests of validation; the real table is
// internal/check's (check.Builtin), whose rules are tested there.
var testTypes = CheckTypes{
	"pods": {Validate: func(ch *Chapter, ck Check) []FieldProblem {
		if ck.Component == "" && len(ch.Components) == 0 {
			return []FieldProblem{{Field: "component", Message: "a pods check without a component"}}
		}
		return nil
	}},
	"http":                  {Endpoint: true},
	"airflow-dag-run":       {Endpoint: true, Required: []string{"dag"}, Optional: []string{"username", "passwordSecret"}},
	"feast-online-features": {Endpoint: true, Required: []string{"features", "entities", "expected"}},
}

// Without a table of check types only the spec's own form is validated: any type name passes.
func TestDecodeChapterWithoutCheckTypes(t *testing.T) {
	spec := strings.Replace(validChapter, "type: http", "type: smoke", 1)
	if _, err := DecodeChapter("c.yaml", []byte(spec)); err != nil {
		t.Fatalf("without check types: %v", err)
	}
	if _, err := DecodeChapter("c.yaml", []byte(spec), WithCheckTypes(testTypes)); err == nil || !strings.Contains(err.Error(), `unknown check type "smoke" (known: airflow-dag-run, feast-online-features, http, pods)`) {
		t.Fatalf("with check types: %v", err)
	}
}

func TestDecodeChapterErrors(t *testing.T) {
	tests := []struct {
		name  string
		patch func(string) string
		want  []string // every substring must appear
	}{
		{"valid", func(s string) string { return s }, nil},
		{"unknown field has its line", func(s string) string { return strings.Replace(s, "slug:", "colour: red\nslug:", 1) },
			[]string{"c.yaml:", "line 4", "colour"}},
		{"all problems at once, each with a line", func(s string) string {
			s = strings.Replace(s, "kind: Chapter", "kind: Chaptr", 1)
			s = strings.Replace(s, "chart: mlflow", "chart: MLflow!", 1)
			s = strings.Replace(s, "type: http", "type: smoke", 1)
			return s
		}, []string{"c.yaml:2: kind: must be \"Chapter\"", "c.yaml:13: components[1].chart", "c.yaml:19: checks[1].type: unknown check type \"smoke\""}},
		{"dependsOn cycle", func(s string) string {
			return strings.Replace(s, "    namespace: mlflow\n    section: \"#db\"", "    namespace: mlflow\n    dependsOn: [mlflow]\n    section: \"#db\"", 1)
		}, []string{"cycle"}},
		{"unknown dependsOn", func(s string) string { return strings.Replace(s, "dependsOn: [db]", "dependsOn: [redis]", 1) },
			[]string{"components[1].dependsOn[0]: unknown component \"redis\""}},
		{"missing section", func(s string) string { return strings.Replace(s, "    section: \"#server\"\nchecks", "checks", 1) },
			[]string{"components[1].section: is required"}},
		{"http check needs port", func(s string) string { return strings.Replace(s, "port: 5000, ", "", 1) },
			[]string{"checks[1].port"}},
		{"self require", func(s string) string {
			return strings.Replace(s, "components:", "requires: [chapter-6]\ncomponents:", 1)
		},
			[]string{"requires[0]: a chapter cannot require itself"}},
		{"params of a type that takes none", func(s string) string {
			return strings.Replace(s, "path: /health,", "path: /health, params: {x: y},", 1)
		}, []string{"checks[1].params: a http check takes no params"}},
		{"params checked per type", func(s string) string {
			return s + "  - {name: dag, type: airflow-dag-run, component: mlflow, port: 8080, section: \"#d\", params: {passwordSecret: nokey, colour: red}}\n"
		}, []string{"needs params.dag", "params.colour: unknown param", "params.passwordSecret: must be \"secret-name/key\""}},
		{"malformed yaml", func(s string) string { return s + "  - : [\n" }, []string{"c.yaml:"}},
		{"wrong type", func(s string) string { return strings.Replace(s, "number: 6", "number: six", 1) },
			[]string{"line 3", "six"}},
		{"bad duration", func(s string) string { return strings.Replace(s, "port: 5000,", "port: 5000, timeout: soon,", 1) },
			[]string{"invalid duration \"soon\""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeChapter("c.yaml", []byte(tt.patch(validChapter)), WithCheckTypes(testTypes))
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("want error containing %q, got nil", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\n does not contain %q", err, w)
				}
			}
		})
	}
}

const toc = `apiVersion: mlops-series/v1alpha1
kind: Series
title: {ko: 시리즈, en: Series}
chapters:
  - {number: 1, slug: a, title: {ko: 가, en: A}}
  - {number: 2, slug: b, title: {ko: 나, en: B}}
  - {number: 3, slug: c, title: {ko: 다, en: C}}
`

func chapterYAML(n int, slug, requires string) string {
	return "apiVersion: mlops-series/v1alpha1\nkind: Chapter\nnumber: " + string(rune('0'+n)) + "\nslug: " + slug +
		"\ntitle: {ko: 가, en: A}\nrequires: [" + requires + "]\ncomponents:\n  - {name: x" + slug + ", chart: x, namespace: ns, section: \"#x\"}\n" +
		"checks:\n  - {name: pods, type: pods, section: \"#x\"}\n"
}

func TestLoadRequires(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string]string
		closure []string // of chapter-2
		wantErr string
	}{
		{"order", map[string]string{
			"chapter-1-a/chapter.yaml": chapterYAML(1, "a", ""),
			"chapter-2-b/chapter.yaml": chapterYAML(2, "b", "chapter-1"),
		}, []string{"chapter-1", "chapter-2"}, ""},
		{"cycle", map[string]string{
			"chapter-1-a/chapter.yaml": chapterYAML(1, "a", "chapter-2"),
			"chapter-2-b/chapter.yaml": chapterYAML(2, "b", "chapter-1"),
		}, nil, "cycle"},
		{"unknown", map[string]string{
			"chapter-2-b/chapter.yaml": chapterYAML(2, "b", "chapter-9"),
		}, nil, "chapter-2-b/chapter.yaml:6: requires[0]: unknown chapter \"chapter-9\""},
		{"coming", map[string]string{
			"chapter-2-b/chapter.yaml": chapterYAML(2, "b", "chapter-3"),
		}, nil, "chapter-2-b/chapter.yaml:6: requires[0]: chapter-3 has no spec yet"},
		{"folder name", map[string]string{
			"chapter-2-wrong/chapter.yaml": chapterYAML(2, "b", ""),
		}, nil, "folder name must be \"chapter-2-b\""},
		{"missing spec", map[string]string{
			"chapter-2-b/chapter.yaml": chapterYAML(2, "b", ""),
			"chapter-4-d/README.md":    "x",
		}, nil, "chapter-4-d: missing chapter.yaml (and series.yaml lists no chapter with this folder name)"},
		{"misnamed folder without spec", map[string]string{
			"chapter-2-b/chapter.yaml": chapterYAML(2, "b", ""),
			"chapter-3-x/README.md":    "x",
		}, nil, "chapter-3-x: missing chapter.yaml"},
		// A listed chapter's folder with examples but no spec yet: the chapter is still coming.
		{"spec not yet written", map[string]string{
			"chapter-1-a/chapter.yaml":      chapterYAML(1, "a", ""),
			"chapter-2-b/chapter.yaml":      chapterYAML(2, "b", "chapter-1"),
			"chapter-3-c/examples/train.py": "x",
		}, []string{"chapter-1", "chapter-2"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{"series.yaml": {Data: []byte(toc)}}
			for k, v := range tt.files {
				fsys[k] = &fstest.MapFile{Data: []byte(v)}
			}
			lib, err := Load(fsys, "test")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("want error %q, got %v", tt.wantErr, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			cl, err := lib.Closure("chapter-2")
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range cl {
				got = append(got, c.ID())
			}
			if strings.Join(got, ",") != strings.Join(tt.closure, ",") {
				t.Fatalf("closure = %v, want %v", got, tt.closure)
			}
			if deps := lib.RequiredBy("chapter-1", []string{"chapter-1", "chapter-2"}); len(deps) != 1 || deps[0] != "chapter-2" {
				t.Fatalf("RequiredBy = %v", deps)
			}
		})
	}
}

func TestChapterLookup(t *testing.T) {
	fsys := fstest.MapFS{
		"series.yaml":              {Data: []byte(toc)},
		"chapter-2-b/chapter.yaml": {Data: []byte(chapterYAML(2, "b", ""))},
	}
	lib, err := Load(fsys, "test")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"chapter-2", "2", "b", "chapter-2-b"} {
		if ch, err := lib.Chapter(name); err != nil || ch.Number != 2 {
			t.Errorf("Chapter(%q) = %v, %v", name, ch, err)
		}
	}
	if _, err := lib.Chapter("chapter-3"); err == nil || !strings.Contains(err.Error(), "is coming") {
		t.Errorf("coming chapter: %v", err)
	}
	if _, err := lib.Chapter("chapter-42"); err == nil || !strings.Contains(err.Error(), "unknown chapter") {
		t.Errorf("unknown chapter: %v", err)
	}
}

// Every real chapter spec of the repository loads and validates.
func TestRealSeriesValidates(t *testing.T) {
	lib, err := Load(os.DirFS("../../series"), "series")
	if err != nil {
		t.Fatal(err)
	}
	if len(lib.TOC.Chapters) != 10 {
		t.Fatalf("the series has 10 chapters, the TOC lists %d", len(lib.TOC.Chapters))
	}
	if _, ok := lib.Chapters["chapter-6"]; !ok {
		t.Fatal("chapter-6 is not available")
	}
}

// seriesFS copies a series folder into memory, so that a test can change one file of it.
func seriesFS(t *testing.T, dir string) fstest.MapFS {
	t.Helper()
	out := fstest.MapFS{}
	err := fs.WalkDir(os.DirFS(dir), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(os.DirFS(dir), p)
		out[p] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Cutting chapter 6's spec in half leaves valid YAML with one component and no checks: the
// series must not validate, and every problem is reported with its file and line.
func TestTruncatedChapterIsInvalid(t *testing.T) {
	fsys := seriesFS(t, "../../series")
	const file = "chapter-6-model-registry/chapter.yaml"
	spec := string(fsys[file].Data)
	cut := strings.Index(spec, "  - name: mlflow\n")
	if cut < 0 {
		t.Fatalf("%s has no mlflow component to cut at", file)
	}
	fsys[file] = &fstest.MapFile{Data: []byte(spec[:cut])}
	_, err := Load(fsys, "test")
	if err == nil {
		t.Fatal("the truncated chapter 6 validates")
	}
	apiLine := strings.Count(spec[:strings.Index(spec, "apiVersion:")], "\n") + 1
	// A problem of the components list is shown at its first item.
	compLine := strings.Count(spec[:strings.Index(spec, "components:")], "\n") + 2
	for _, want := range []string{
		fmt.Sprintf("%s:%d: checks: an available chapter must declare checks", file, apiLine),
		fmt.Sprintf("%s:%d: components: values/mlflow.yaml is in the chapter folder but no component lists it in values", file, compLine),
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not contain %q:\n%v", want, err)
		}
	}
}

func TestCrossFileRules(t *testing.T) {
	chapter := func(n int, slug, requires, rest string) string {
		return fmt.Sprintf("apiVersion: mlops-series/v1alpha1\nkind: Chapter\nnumber: %d\nslug: %s\ntitle: {ko: 가, en: A}\nrequires: [%s]\n%s", n, slug, requires, rest)
	}
	const dbA = "components:\n  - {name: db, chart: postgresql, namespace: a, section: \"#db\"}\n"
	const podsCheck = "checks:\n  - {name: pods, type: pods, section: \"#x\"}\n"
	tests := []struct {
		name  string
		files map[string]string
		want  []string // substrings of the error; none: valid
	}{
		{name: "check and open name a component of a required chapter", files: map[string]string{
			"chapter-1-a/chapter.yaml": chapter(1, "a", "", dbA+podsCheck),
			"chapter-2-b/chapter.yaml": chapter(2, "b", "chapter-1", "checks:\n  - {name: db-pods, type: pods, component: db, section: \"#x\"}\n"+
				"  - {name: db-http, type: http, component: db, port: 80, path: /, section: \"#x\"}\nopen:\n  - {name: db, component: db, port: 80}\n"),
		}},
		{name: "unknown components, each with its line", files: map[string]string{
			"chapter-1-a/chapter.yaml": chapter(1, "a", "", dbA+podsCheck),
			"chapter-2-b/chapter.yaml": chapter(2, "b", "chapter-1", "checks:\n  - {name: web, type: http, component: web, port: 80, path: /, section: \"#x\"}\n"+
				"open:\n  - {name: web, component: web, port: 80}\n"),
		}, want: []string{
			`chapter-2-b/chapter.yaml:8: checks[0].component: chapter-2 has no component "web" (components of chapter-2 and the chapters it requires: db)`,
			`chapter-2-b/chapter.yaml:10: open[0].component: chapter-2 has no component "web"`,
		}},
		{name: "a component of a chapter not required is unknown", files: map[string]string{
			"chapter-1-a/chapter.yaml": chapter(1, "a", "", dbA+podsCheck),
			"chapter-2-b/chapter.yaml": chapter(2, "b", "", "checks:\n  - {name: db, type: pods, component: db, section: \"#x\"}\n"),
		}, want: []string{`chapter-2-b/chapter.yaml:8: checks[0].component: chapter-2 has no component "db" (components of chapter-2 and the chapters it requires: none)`}},
		{name: "ambiguous component", files: map[string]string{
			"chapter-1-a/chapter.yaml": chapter(1, "a", "", dbA+podsCheck),
			"chapter-2-b/chapter.yaml": chapter(2, "b", "", strings.Replace(dbA, "namespace: a", "namespace: b", 1)+podsCheck),
			"chapter-3-c/chapter.yaml": chapter(3, "c", "chapter-1, chapter-2", "checks:\n  - {name: db, type: pods, component: db, section: \"#x\"}\n"),
		}, want: []string{`checks[0].component: component "db" is ambiguous: chapter-1 and chapter-2 each have one`}},
		{name: "the chapter's own component wins over a required one", files: map[string]string{
			"chapter-1-a/chapter.yaml": chapter(1, "a", "", dbA+podsCheck),
			"chapter-2-b/chapter.yaml": chapter(2, "b", "chapter-1", strings.Replace(dbA, "namespace: a", "namespace: b", 1)+
				"checks:\n  - {name: db, type: pods, component: db, section: \"#x\"}\n"),
		}},
		{name: "no checks", files: map[string]string{
			"chapter-1-a/chapter.yaml": chapter(1, "a", "", dbA),
		}, want: []string{"chapter-1-a/chapter.yaml:1: checks: an available chapter must declare checks"}},
		{name: "pods check without components to check", files: map[string]string{
			"chapter-1-a/chapter.yaml": chapter(1, "a", "", podsCheck),
		}, want: []string{"chapter-1-a/chapter.yaml:8: checks[0].component: a pods check without a component"}},
		{name: "values: missing and unused files", files: map[string]string{
			"chapter-1-a/chapter.yaml": chapter(1, "a", "", strings.Replace(dbA, "section:", "values: [values/db.yaml, values/gone.yaml], section:", 1)+
				"checks:\n  - {name: db, type: feast-online-features, component: db, port: 80, section: \"#x\", params: {features: f, entities: e=1, expected: values/expected.json}}\n"),
			"chapter-1-a/values/db.yaml":       "a: 1\n",
			"chapter-1-a/values/expected.json": "{}\n",
			"chapter-1-a/values/old.yaml":      "a: 1\n",
			"chapter-1-a/values/sub/old.yaml":  "a: 1\n",
		}, want: []string{
			"chapter-1-a/chapter.yaml:8: components[0].values[1]: values/gone.yaml: not found in chapter-1-a",
			"chapter-1-a/chapter.yaml:8: components: values/old.yaml is in the chapter folder but no component lists it",
			"chapter-1-a/chapter.yaml:8: components: values/sub/old.yaml is in the chapter folder",
		}},
		{name: "a chapter that does not decode is reported once", files: map[string]string{
			"chapter-1-a/chapter.yaml": "number: [\n",
			"chapter-2-b/chapter.yaml": chapter(2, "b", "chapter-1", strings.Replace(dbA, "namespace: a", "namespace: b", 1)+podsCheck),
		}, want: []string{"chapter-1-a/chapter.yaml: line 1: did not find expected node content"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{"series.yaml": {Data: []byte(toc)}}
			for k, v := range tt.files {
				fsys[k] = &fstest.MapFile{Data: []byte(v)}
			}
			_, err := Load(fsys, "test", WithCheckTypes(testTypes))
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("want errors %q, got none", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q:\n%v", w, err)
				}
			}
			if n := strings.Count(err.Error(), "\n") + 1; n != len(tt.want) {
				t.Errorf("want %d problems, got %d:\n%v", len(tt.want), n, err)
			}
		})
	}
}

func TestClosureComponent(t *testing.T) {
	fsys := fstest.MapFS{
		"series.yaml":              {Data: []byte(toc)},
		"chapter-1-a/chapter.yaml": {Data: []byte(chapterYAML(1, "a", ""))},
		"chapter-2-b/chapter.yaml": {Data: []byte(chapterYAML(2, "b", "chapter-1"))},
	}
	lib, err := Load(fsys, "test")
	if err != nil {
		t.Fatal(err)
	}
	owner, comp, err := lib.ClosureComponent("chapter-2", "xa")
	if err != nil || owner.ID() != "chapter-1" || comp.Namespace != "ns" {
		t.Fatalf("ClosureComponent(chapter-2, xa) = %v, %+v, %v", owner, comp, err)
	}
	if _, _, err := lib.ClosureComponent("chapter-1", "xb"); err == nil {
		t.Fatal("chapter-1 does not require chapter-2, yet its component xb was found")
	}
}

// A link is printed only to a page that exists: the post when the spec sets its URL, otherwise the
// chapter's generated page in this repository.
func TestRead(t *testing.T) {
	fsys := fstest.MapFS{
		"series.yaml":              {Data: []byte(toc)},
		"chapter-1-a/chapter.yaml": {Data: []byte(chapterYAML(1, "a", ""))},
		"chapter-2-b/chapter.yaml": {Data: []byte(strings.Replace(chapterYAML(2, "b", ""), "requires:", "post: {url: \"https://blog.example.org/2024/02/b.html\"}\nrequires:", 1))},
	}
	lib, err := Load(fsys, "test")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ id, anchor, want string }{
		{"chapter-1", "#x", "docs/ko/chapter-1.md#x"},
		{"chapter-1", "x", "docs/ko/chapter-1.md#x"},
		{"chapter-1", "", "docs/ko/chapter-1.md"},
		{"chapter-2", "#x", "https://blog.example.org/2024/02/b.html#x"},
		{"chapter-2", "", "https://blog.example.org/2024/02/b.html"},
	} {
		if got := lib.Chapters[tt.id].Read(tt.anchor); got != tt.want {
			t.Errorf("%s.Read(%q) = %q, want %q", tt.id, tt.anchor, got, tt.want)
		}
	}
	// The old, unpublished blog address is no longer accepted in series.yaml.
	old := strings.Replace(toc, "chapters:", "baseURL: https://mlops-series.github.io/posts\nchapters:", 1)
	if _, err := DecodeSeries("series.yaml", []byte(old)); err == nil || !strings.Contains(err.Error(), "field baseURL not found") {
		t.Errorf("series.yaml with baseURL: %v", err)
	}
}
