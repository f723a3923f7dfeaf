package series

import (
	"os"
	"strings"
	"testing"
)

// A component's publish names a folder of the chapter, a repository and the Git server's port;
// each problem is reported with the field.
func TestPublishValidation(t *testing.T) {
	with := func(pub string) string {
		return strings.Replace(validChapter, "    section: \"#server\"\nchecks", "    section: \"#server\"\n    publish: "+pub+"\nchecks", 1)
	}
	tests := []struct {
		name, pub string
		want      []string // empty: valid
	}{
		{"valid", "{dir: gitops, repository: series, port: 80}", nil},
		{"valid with service", "{dir: deploy/gitops, repository: series, service: git, port: 8080}", nil},
		{"no dir", "{repository: series, port: 80}", []string{"components[1].publish.dir: must be a folder inside the chapter's"}},
		{"dir outside", "{dir: ../x, repository: series, port: 80}", []string{"components[1].publish.dir", `"../x"`}},
		{"absolute dir", "{dir: /srv, repository: series, port: 80}", []string{"components[1].publish.dir"}},
		{"the chapter folder itself", "{dir: ., repository: series, port: 80}", []string{"components[1].publish.dir"}},
		{"bad repository", "{dir: gitops, repository: Series.git, port: 80}", []string{"components[1].publish.repository: must name the repository as a DNS label", `"Series.git"`}},
		{"bad service", "{dir: gitops, repository: series, service: Git_Server, port: 80}", []string{"components[1].publish.service"}},
		{"no port", "{dir: gitops, repository: series}", []string{"components[1].publish.port: must be the Git server's Service port (1-65535), got 0"}},
		{"unknown field", "{dir: gitops, repository: series, port: 80, branch: dev}", []string{"field branch not found"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch, err := DecodeChapter("c.yaml", []byte(with(tt.pub)), WithCheckTypes(testTypes))
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				comp, _ := ch.Component("mlflow")
				if comp.Publish == nil || comp.Publish.Repository != "series" || comp.Publish.ServiceName("mlflow") == "" {
					t.Fatalf("publish not decoded: %+v", comp.Publish)
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
	if got := (Publish{}).ServiceName("git-server"); got != "git-server" {
		t.Errorf("default service = %q", got)
	}
	if got := (Publish{Service: "git"}).ServiceName("git-server"); got != "git" {
		t.Errorf("service = %q", got)
	}
}

// Loading checks that the published folder exists in the chapter's folder.
func TestPublishFolderMustExist(t *testing.T) {
	fsys := seriesFS(t, "../../series")
	for p := range fsys {
		if strings.HasPrefix(p, "chapter-2-gitops/gitops/") {
			delete(fsys, p)
		}
	}
	_, err := Load(fsys, "series")
	if err == nil || !strings.Contains(err.Error(), "components[0].publish.dir: gitops: no such folder in chapter-2-gitops") {
		t.Fatalf("Load without chapter 2's gitops/: %v", err)
	}
	lib, err := Load(os.DirFS("../../series"), "series")
	if err != nil {
		t.Fatal(err)
	}
	comp, _ := lib.Chapters["chapter-2"].Component("git-server")
	if comp.Publish == nil || *comp.Publish != (Publish{Dir: "gitops", Repository: "series", Port: 80}) {
		t.Errorf("chapter 2's git-server publishes %+v", comp.Publish)
	}
}
