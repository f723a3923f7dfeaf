package check

import (
	"context"
	"os"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/mlops-series/mlops-series/internal/series"
)

// The series' own example workflow (chapter 4) passes, and the message says what was linted.
func TestGitHubWorkflowOfChapter4(t *testing.T) {
	b, err := os.ReadFile("../../series/chapter-4-ci-cd/examples/serving-ci.yml")
	if err != nil {
		t.Fatal(err)
	}
	msg, err := GitHubWorkflow("examples/serving-ci.yml", b)
	if err != nil {
		t.Fatal(err)
	}
	want := `examples/serving-ci.yml: workflow "serving-app" valid under actionlint`
	if !strings.HasPrefix(msg, want) || !strings.Contains(msg, "3 job(s) (image, smoke-on-kind, test)") {
		t.Errorf("message = %q, want it to start with %q and name the 3 jobs", msg, want)
	}
}

const goodWorkflow = `name: ok
on: push
jobs:
  build:
    runs-on: ubuntu-24.04
    steps:
      - uses: actions/checkout@v4
      - run: echo hi
`

// What actionlint finds is reported with the file, line, column and rule, every problem.
func TestGitHubWorkflowReportsEachProblem(t *testing.T) {
	for _, tc := range []struct {
		name, workflow string
		want           []string
	}{
		{"unknown needs", strings.Replace(goodWorkflow, "    runs-on:", "    needs: [tests]\n    runs-on:", 1),
			[]string{"found 1 problem(s) in w.yml", "w.yml:4:3: job \"build\" needs job \"tests\" which does not exist", "[job-needs]"}},
		{"expression of an unknown context", strings.Replace(goodWorkflow, "echo hi", "echo ${{ secret.TOKEN }}", 1),
			[]string{"w.yml:8:", `undefined variable "secret"`, "[expression]"}},
		{"wrong input of a known action", strings.Replace(goodWorkflow, "actions/checkout@v4", "actions/checkout@v4\n        with: {fetch-dept: 0}", 1),
			[]string{`input "fetch-dept" is not defined in action "actions/checkout@v4"`, "[action]"}},
		{"two problems", strings.Replace(strings.Replace(goodWorkflow, "on: push", "on: pushed", 1), "ubuntu-24.04", "ubuntu-99.04", 1),
			[]string{"found 2 problem(s)", `unknown Webhook event "pushed"`, `label "ubuntu-99.04" is unknown`}},
		{"not YAML", "jobs: [\n", []string{"w.yml:", "[syntax-check]"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := GitHubWorkflow("w.yml", []byte(tc.workflow))
			if err == nil {
				t.Fatal("passed")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

const workflowChapter = `apiVersion: mlops-series/v1alpha1
kind: Chapter
number: 4
slug: ci-cd
title: {ko: CI/CD, en: CI/CD}
post: {section: "#overview"}
checks:
`

// As a spec declares it: the file param is validated, and the Runner reads the file from the
// chapter's folder of the series.
func TestGitHubWorkflowCheckInASpec(t *testing.T) {
	for _, tc := range []struct{ params, want string }{
		{`{file: examples/ci.yml}`, ""},
		{`{}`, "needs params.file"},
		{`{file: ../ci.yml}`, `params.file: must be a path inside the chapter's folder, relative and without ..; got "../ci.yml"`},
		{`{file: /ci.yml}`, "must be a path inside the chapter's folder"},
		{`{file: examples/ci.json}`, `must name a workflow file (.yml or .yaml); got "examples/ci.json"`},
	} {
		_, err := series.DecodeChapter("c.yaml", []byte(workflowChapter+"  - {name: w, type: github-workflow, section: \"#gha\", params: "+tc.params+"}\n"), Validation())
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: err = %v, want %q", tc.params, err, tc.want)
		}
	}

	ch, err := series.DecodeChapter("c.yaml", []byte(workflowChapter+
		"  - {name: good, type: github-workflow, section: \"#gha\", params: {file: examples/ci.yml}}\n"+
		"  - {name: bad, type: github-workflow, section: \"#gha\", params: {file: examples/bad.yml}}\n"+
		"  - {name: missing, type: github-workflow, section: \"#gha\", params: {file: examples/none.yml}}\n"), Validation())
	if err != nil {
		t.Fatal(err)
	}
	ch.Dir = "chapter-4-ci-cd"
	r := &Runner{SeriesFS: fstest.MapFS{
		"chapter-4-ci-cd/examples/ci.yml":  {Data: []byte(goodWorkflow)},
		"chapter-4-ci-cd/examples/bad.yml": {Data: []byte(strings.Replace(goodWorkflow, "on: push", "on: pushed", 1))},
	}}
	got := map[string]Result{}
	for _, res := range r.Run(context.Background(), ch) {
		got[res.Name] = res
	}
	for name, want := range map[string]struct {
		passed bool
		msg    string
	}{
		"good":    {true, `examples/ci.yml: workflow "ok" valid under actionlint`},
		"bad":     {false, `examples/bad.yml:2:5: unknown Webhook event "pushed"`},
		"missing": {false, "github-workflow: read examples/none.yml of chapter-4:"},
	} {
		if res := got[name]; res.Passed != want.passed || !strings.Contains(res.Message, want.msg) {
			t.Errorf("%s: passed %v, message %q; want passed %v and %q", name, res.Passed, res.Message, want.passed, want.msg)
		}
	}
}
