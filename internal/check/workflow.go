package check

import (
	"fmt"
	"io"
	"path"
	"runtime/debug"
	"sort"
	"strings"

	"github.com/rhysd/actionlint"
)

// WorkflowParamFile is the github-workflow check's param: the workflow file, relative to the
// chapter's folder.
const WorkflowParamFile = "file"

// actionlintModule is the Go module whose rules GitHubWorkflow applies.
const actionlintModule = "github.com/rhysd/actionlint"

// GitHubWorkflow lints a GitHub Actions workflow with actionlint's rules: the YAML syntax and
// the workflow schema, expressions and their types, job dependencies, the inputs of popular
// actions, runner labels, cron schedules, ... It is the library the actionlint command is built
// on, linked into this binary, so the check needs neither the command nor a network. Its two
// integrations with external linters (shellcheck for run: scripts, pyflakes for Python ones) stay
// off: a reader's machine may lack them.
//
// name is the file's name as the report shows it (relative to the chapter's folder).
func GitHubWorkflow(name string, content []byte) (string, error) {
	l, err := actionlint.NewLinter(io.Discard, &actionlint.LinterOptions{})
	if err != nil {
		return "", fmt.Errorf("github-workflow: %v", err)
	}
	// The name is not a path on this machine (the series may be the embedded one), so actionlint
	// finds no repository around it and lints with its defaults.
	errs, err := l.Lint(path.Join("<chapter>", name), content, nil)
	if err != nil {
		return "", fmt.Errorf("github-workflow: %s: %v", name, err)
	}
	if len(errs) > 0 {
		lines := make([]string, 0, len(errs))
		for _, e := range errs {
			lines = append(lines, fmt.Sprintf("  %s:%d:%d: %s [%s]", name, e.Line, e.Column, e.Message, e.Kind))
		}
		return "", fmt.Errorf("github-workflow: actionlint%s found %d problem(s) in %s:\n%s",
			actionlintVersion(), len(errs), name, strings.Join(lines, "\n"))
	}
	w, _ := actionlint.Parse(content) // parsed without errors above
	jobs := make([]string, 0, len(w.Jobs))
	steps := 0
	for id, j := range w.Jobs {
		jobs = append(jobs, id)
		steps += len(j.Steps)
	}
	sort.Strings(jobs)
	title := ""
	if w.Name != nil && w.Name.Value != "" {
		title = fmt.Sprintf(" %q", w.Name.Value)
	}
	return fmt.Sprintf("%s: workflow%s valid under actionlint%s: %d job(s) (%s), %d step(s)",
		name, title, actionlintVersion(), len(jobs), strings.Join(jobs, ", "), steps), nil
}

// actionlintVersion is " vX.Y.Z", the version of actionlint linked into this binary, or "" when
// the build carries no module information (go test of this package).
func actionlintVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	for _, d := range bi.Deps {
		if d.Path == actionlintModule && d.Version != "" && d.Version != "(devel)" {
			return " " + d.Version
		}
	}
	return ""
}
