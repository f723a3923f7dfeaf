package images

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

func TestBuildInputs(t *testing.T) {
	base := fstest.MapFS{
		"Dockerfile": {Data: []byte("FROM scratch\nCOPY app.txt /\n")},
		"app.txt":    {Data: []byte("v1")},
	}
	in := func(fsys fstest.MapFS, args map[string]string) string {
		t.Helper()
		s, err := Build{Ref: "x:1", Context: fsys, Args: args}.Inputs()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a := in(base, nil)
	if a != in(base, nil) {
		t.Fatal("inputs of the same context differ")
	}
	changed := fstest.MapFS{"Dockerfile": base["Dockerfile"], "app.txt": {Data: []byte("v2")}}
	if in(changed, nil) == a {
		t.Error("a changed file keeps the inputs")
	}
	renamed := fstest.MapFS{"Dockerfile": base["Dockerfile"], "app2.txt": base["app.txt"]}
	if in(renamed, nil) == a {
		t.Error("a renamed file keeps the inputs")
	}
	exec := fstest.MapFS{"Dockerfile": base["Dockerfile"], "app.txt": {Data: []byte("v1"), Mode: 0o755}}
	if in(exec, nil) == a {
		t.Error("an executable bit keeps the inputs")
	}
	if in(base, map[string]string{"BASE": "python:3.11"}) == a {
		t.Error("a build argument keeps the inputs")
	}
	if in(base, map[string]string{"A": "1", "B": "2"}) != in(base, map[string]string{"B": "2", "A": "1"}) {
		t.Error("build arguments' order changes the inputs")
	}

	// With Include, only the Dockerfile and the included paths count; Files count too.
	wide := fstest.MapFS{"Dockerfile": base["Dockerfile"], "app/main.py": {Data: []byte("1")}, "other/x": {Data: []byte("1")}}
	inc := func(fsys fstest.MapFS, files map[string][]byte) string {
		t.Helper()
		s, err := Build{Ref: "x:1", Context: fsys, Include: []string{"app"}, Files: files}.Inputs()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	w := inc(wide, nil)
	wide["other/x"] = &fstest.MapFile{Data: []byte("2")}
	if inc(wide, nil) != w {
		t.Error("a file outside Include changes the inputs")
	}
	wide["app/main.py"] = &fstest.MapFile{Data: []byte("2")}
	if inc(wide, nil) == w {
		t.Error("a file inside Include keeps the inputs")
	}
	if inc(wide, map[string][]byte{"ca.crt": []byte("a")}) == inc(wide, map[string][]byte{"ca.crt": []byte("b")}) {
		t.Error("an added file's content keeps the inputs")
	}
	if _, err := (Build{Ref: "x:1", Context: wide, Include: []string{"nothing"}}).Inputs(); err == nil {
		t.Error("an Include path that does not exist is no error")
	}
}

func TestBuildRejectsADockerfileOutsideTheContext(t *testing.T) {
	e := NewEngine("docker")
	ctx := fstest.MapFS{"Dockerfile": {Data: []byte("FROM scratch\n")}}
	for _, df := range []string{"../Dockerfile", "/etc/passwd", "missing/Dockerfile"} {
		err := e.Build(context.Background(), Build{Ref: "x:1", Context: ctx, Dockerfile: df}, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), "build x:1") {
			t.Errorf("dockerfile %q: error %v", df, err)
		}
	}
}

// TestBuildWithTheEngine builds a two-file image (FROM scratch: nothing is pulled) with the real
// engine, sees it up to date by its label, changes it, and sees a failing build keep the image.
func TestBuildWithTheEngine(t *testing.T) {
	e := needDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ref := fmt.Sprintf("mlops-series.local/build-test:%d", time.Now().UnixNano())
	t.Cleanup(func() { _ = exec.Command("docker", "image", "rm", "-f", ref).Run() })
	// The Dockerfile sits in a sub-folder, COPY reads from the context root; unrelated.txt is
	// not included (a change to it rebuilds nothing); ca.crt is added to the context.
	b := Build{Ref: ref, Context: fstest.MapFS{
		"img/Dockerfile": {Data: []byte("FROM scratch\nARG GREETING\nLABEL greeting=$GREETING\nCOPY app.txt /app.txt\nCOPY ca.crt /ca.crt\n")},
		"app.txt":        {Data: []byte("v1")},
		"unrelated.txt":  {Data: []byte("v1")},
	}, Dockerfile: "img/Dockerfile", Include: []string{"app.txt"}, Args: map[string]string{"GREETING": "annyeong"},
		Files: map[string][]byte{"ca.crt": []byte("a CA bundle")}}

	if ok, err := e.UpToDate(ctx, b); err != nil || ok {
		t.Fatalf("before the build: up to date %v, %v", ok, err)
	}
	var out bytes.Buffer
	if err := e.Build(ctx, b, &out); err != nil {
		t.Fatalf("build: %v\n%s", err, out.String())
	}
	if ok, err := e.UpToDate(ctx, b); err != nil || !ok {
		t.Fatalf("after the build: up to date %v, %v", ok, err)
	}
	if got := e.Label(ctx, ref, "greeting"); got != "annyeong" {
		t.Fatalf("build argument not passed: label greeting = %q", got)
	}
	id := imageID(t, ref)

	b.Context.(fstest.MapFS)["unrelated.txt"] = &fstest.MapFile{Data: []byte("v2")}
	if ok, _ := e.UpToDate(ctx, b); !ok {
		t.Fatal("a change outside Include made the image out of date")
	}
	b.Context.(fstest.MapFS)["app.txt"] = &fstest.MapFile{Data: []byte("v2")}
	if ok, _ := e.UpToDate(ctx, b); ok {
		t.Fatal("a changed context is still up to date")
	}

	bad := b
	bad.Dockerfile, bad.Include, bad.Files = "", nil, nil
	bad.Context = fstest.MapFS{"Dockerfile": {Data: []byte("FROM scratch\nCOPY missing.txt /\n")}}
	err := e.Build(ctx, bad, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "build "+ref) || !strings.Contains(err.Error(), "missing.txt") {
		t.Fatalf("failing build: error %v, want one naming the image and the engine's reason", err)
	}
	if got := imageID(t, ref); got != id {
		t.Fatalf("a failed build changed the image: %s, was %s", got, id)
	}
}

func imageID(t *testing.T, ref string) string {
	t.Helper()
	out, err := exec.Command("docker", "image", "inspect", "--format", "{{.Id}}", ref).Output()
	if err != nil {
		t.Fatalf("inspect %s: %v", ref, err)
	}
	return strings.TrimSpace(string(out))
}
