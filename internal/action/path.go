package action

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/mlops-series/mlops-series/internal/check"
	"github.com/mlops-series/mlops-series/internal/cluster"
	"github.com/mlops-series/mlops-series/internal/i18n"
)

// PathName is what `check` takes for the whole path instead of a chapter.
const PathName = "path"

// CheckPath runs the series' whole path (check.PathHops) against the installed chapters: each
// hop is printed when it ends, with the post section that explains it. Nothing is installed; a
// chapter that is not up is reported before anything runs.
func (e *Env) CheckPath(ctx context.Context, o CheckOptions) error {
	comps := map[string]bool{}
	var chapters, names []string
	for _, hop := range check.PathHops {
		comps[hop.Component] = true
		names = append(names, hop.Component)
		chapters = append(chapters, strings.TrimPrefix(hop.Chapter, "chapter-"))
	}
	for k := range o.Endpoints {
		if !comps[k] {
			sort.Strings(names)
			return i18n.Errorf(i18n.PathEndpoint, k, strings.Join(names, ", "))
		}
	}
	e.UI.Printf("%s", e.UI.T(i18n.PathHeader, "chapter "+strings.Join(chapters, " → ")))

	var cl *cluster.Cluster
	if o.ClusterRequested || len(o.Endpoints) < len(comps) {
		var err error
		if cl, err = e.Provisioner.Connect(ctx); err != nil {
			return err
		}
	}
	first, err := e.chapter(check.PathHops[0].Chapter)
	if err != nil {
		return err
	}
	r, err := e.newRunner(ctx, cl, first, o.Endpoints)
	if err != nil {
		return err
	}
	missing, err := r.PathNotUp(ctx)
	if err != nil {
		return err
	}
	if len(missing) > 0 {
		return i18n.Errorf(i18n.PathNotUp, strings.Join(chapters, ", "), strings.Join(missing, ", "))
	}
	p, stop, err := r.Path(ctx)
	if err != nil {
		return err
	}
	defer stop()

	var results []check.Result
	failedAt := ""
	n := len(check.PathHops)
	passed := p.Run(ctx, nil, func(pr check.PathResult) {
		hop := pr.Hop
		i := len(results) + 1
		ch, _ := e.chapter(hop.Chapter)
		read := ""
		if ch != nil {
			read = ch.Read(hop.Section)
		}
		res := check.Result{Chapter: hop.Chapter, Name: "path-" + hop.Name, Type: "path", Passed: pr.Ran && pr.Err == nil,
			Duration: pr.Duration, Message: pr.Message, Read: read}
		text := fmt.Sprintf("%d/%d %s [%s]: %s", i, n, hop.Name, hop.Chapter, hop.About.Lang(string(e.UI.Lang)))
		switch {
		case !pr.Ran:
			res.Skipped, res.Message = true, "not run: an earlier hop failed"
			e.UI.Printf("%s", e.UI.T(i18n.PathNotRun, fmt.Sprintf("%d/%d %s [%s]", i, n, hop.Name, hop.Chapter)))
		case pr.Err != nil:
			res.Message = pr.Err.Error()
			failedAt = hop.Name
			e.UI.Errorf("    ✗ %s%s%.1fs\n", text, pad(text, 66), pr.Duration.Seconds())
			e.UI.Errorf("%s\n", indentLines(pr.Err.Error(), "      "))
			e.UI.Errorf("%s", e.UI.T(i18n.CheckRead, read))
		default:
			e.UI.Printf("    ✓ %s%s%.1fs\n", text, pad(text, 66), pr.Duration.Seconds())
			e.UI.Printf("      %s\n", pr.Message)
			e.UI.Printf("%s", e.UI.T(i18n.CheckRead, read))
		}
		results = append(results, res)
	})
	e.recordChecks(results)
	if o.JUnit != "" {
		if err := check.WriteJUnit(o.JUnit, results); err != nil {
			return err
		}
	}
	if failedAt != "" {
		return &ExitError{Code: ExitCheckFailed, Err: i18n.Errorf(i18n.PathFailed, passed, n, failedAt)}
	}
	e.UI.Say(i18n.PathPassed, n)
	return nil
}
