package series

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestImagesBuild(t *testing.T) {
	const head = "apiVersion: mlops-series/v1alpha1\nkind: Images\nimages:\n"
	app := fstest.MapFS{
		"chapter-7-x/serving/Dockerfile":     {Data: []byte("FROM scratch\n")},
		"chapter-7-x/bento/bento.Dockerfile": {Data: []byte("FROM scratch\n")},
		"chapter-7-x/readme.md":              {Data: []byte("x")},
	}
	tests := []struct {
		name, entries string
		want          string // substring of the error; "": valid
	}{
		{"pulled image", `  - {ref: "docker.io/library/redis:8", archs: [amd64], chapter: chapter-8}`, ""},
		{"built, default Dockerfile", `  - {ref: "mlops-series.local/serving:0.1.0", archs: [amd64, arm64], chapter: chapter-7, build: {context: chapter-7-x/serving}}`, ""},
		{"built, named Dockerfile", `  - {ref: "mlops-series.local/bento:0.1.0", archs: [amd64], chapter: chapter-7, build: {context: chapter-7-x/bento, dockerfile: bento.Dockerfile}}`, ""},
		{"context missing", `  - {ref: "a:1", archs: [amd64], build: {context: chapter-7-x/nothing}}`, "images[0].build.context: chapter-7-x/nothing is not a folder of the series"},
		{"context is a file", `  - {ref: "a:1", archs: [amd64], build: {context: chapter-7-x/readme.md}}`, "is not a folder of the series"},
		{"context leaves the series", `  - {ref: "a:1", archs: [amd64], build: {context: ../elsewhere}}`, `images[0].build.context: "../elsewhere": want a folder of the series`},
		{"context empty", `  - {ref: "a:1", archs: [amd64], build: {context: ""}}`, "want a folder of the series"},
		{"the whole series with paths", `  - {ref: "a:1", archs: [amd64], build: {context: ., dockerfile: chapter-7-x/serving/Dockerfile, paths: [chapter-7-x/readme.md]}}`, ""},
		{"the whole series without paths", `  - {ref: "a:1", archs: [amd64], build: {context: ., dockerfile: chapter-7-x/serving/Dockerfile}}`, "images[0].build.paths: a build whose context is the whole series (.) lists the paths"},
		{"no Dockerfile", `  - {ref: "a:1", archs: [amd64], build: {context: chapter-7-x/bento}}`, "images[0].build.dockerfile: chapter-7-x/bento has no Dockerfile"},
		{"Dockerfile outside", `  - {ref: "a:1", archs: [amd64], build: {context: chapter-7-x/bento, dockerfile: ../x}}`, `"../x": want a path inside the context`},
		{"paths", `  - {ref: "a:1", archs: [amd64], build: {context: chapter-7-x, dockerfile: serving/Dockerfile, paths: [serving, readme.md]}}`, ""},
		{"a path missing", `  - {ref: "a:1", archs: [amd64], build: {context: chapter-7-x, dockerfile: serving/Dockerfile, paths: [serving, train.py]}}`, "images[0].build.paths[1]: chapter-7-x has no train.py"},
		{"a path outside", `  - {ref: "a:1", archs: [amd64], build: {context: chapter-7-x, dockerfile: serving/Dockerfile, paths: [../x]}}`, `images[0].build.paths[0]: "../x": want a path inside the context`},
		{"unknown field", `  - {ref: "a:1", archs: [amd64], build: {context: chapter-7-x/serving, tag: x}}`, "tag"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{ImagesFile: {Data: []byte(head + tc.entries + "\n")}}
			for k, v := range app {
				fsys[k] = v
			}
			_, err := loadImages(fsys)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestLibraryBuilds(t *testing.T) {
	l := &Library{Images: &Images{Images: []Image{
		{Ref: "redis:8", Chapter: "chapter-8"},
		{Ref: "serving:1", Chapter: "chapter-7", Build: &ImageBuild{Context: "c7/serving"}},
		{Ref: "notebook:1", Chapter: "chapter-3", Build: &ImageBuild{Context: "c3/notebook"}},
	}}}
	refs := func(imgs []Image) string {
		var out []string
		for _, i := range imgs {
			out = append(out, i.Ref)
		}
		return strings.Join(out, ",")
	}
	if got := refs(l.Builds("")); got != "serving:1,notebook:1" {
		t.Errorf("Builds(\"\") = %s", got)
	}
	if got := refs(l.Builds("chapter-7")); got != "serving:1" {
		t.Errorf("Builds(chapter-7) = %s", got)
	}
	if got := refs((&Library{}).Builds("")); got != "" {
		t.Errorf("a series without images.yaml builds %s", got)
	}
}
