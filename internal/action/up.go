package action

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/mlops-series/mlops-series/internal/check"
	"github.com/mlops-series/mlops-series/internal/cluster"
	"github.com/mlops-series/mlops-series/internal/deploy"
	"github.com/mlops-series/mlops-series/internal/i18n"
	"github.com/mlops-series/mlops-series/internal/series"
	"github.com/mlops-series/mlops-series/internal/ui"
)

// UpOptions tune `up`.
type UpOptions struct {
	// Timeout bounds each component's wait when its spec sets none (default 5m).
	Timeout time.Duration
	// SkipChecks leaves the chapter's checks out.
	SkipChecks bool
	// JUnit writes the checks' JUnit report to this file.
	JUnit string
	// Endpoints replace port-forwards for functional checks (NAME=URL).
	Endpoints map[string]string
	// SkipDoctor leaves out the environment checks that run first.
	SkipDoctor bool
	// Lock says how to wait for another run that holds the cluster lock.
	Lock LockOptions
}

// Up brings up a chapter and everything it requires, in dependency order, then runs its checks.
func (e *Env) Up(ctx context.Context, name string, o UpOptions) error {
	p, err := e.PlanChapter(name)
	if err != nil {
		return err
	}
	ch := p.Target
	e.header(ch)

	// preflight: what the closure asks of the cluster, from the rendered manifests.
	st := e.UI.Start(e.UI.T(i18n.PreflightStart, ch.ID()))
	_, total, err := p.render(ctx, nil)
	if err != nil {
		st.Fail(e.UI.T(i18n.PreflightFailed), "")
		return err
	}
	e.Metrics.Step(ch.ID(), "preflight", "ok", st.Elapsed())
	st.OK(e.UI.T(i18n.PreflightOK, len(p.Releases()), total.MiB(), total.MilliCPU()))
	if !o.SkipDoctor {
		if err := e.preflightDoctor(ctx, ch, total); err != nil {
			return err
		}
	}

	// cluster
	st = e.UI.Start(e.UI.T(i18n.ClusterStart, e.Provisioner.Name()))
	cl, err := e.Provisioner.Ensure(ctx)
	if err != nil {
		e.Metrics.Step(ch.ID(), "cluster", "failed", st.Elapsed())
		st.Fail(e.UI.T(i18n.ClusterFailed, e.Provisioner.Name()), "")
		return i18n.Errorf(i18n.WithRead, err, ch.Read(ch.Post.Section))
	}
	verb, text := "ready", i18n.ClusterReady
	if cl.Created {
		verb, text = "created", i18n.ClusterCreated
	}
	e.Metrics.Step(ch.ID(), "cluster", verb, st.Elapsed())
	st.OK(e.UI.T(text, cl.Name, cl.Provider, cl.Version))
	// A local cluster gets the closure's images that the local engine has and its node lacks, so
	// an up after `images pull` or `images load FILE` needs no registry.
	if l, ok := e.Provisioner.(cluster.ImageLoader); ok {
		if err := l.LoadImages(ctx, total.Images); err != nil {
			return err
		}
	}

	// From here on the cluster changes: one run at a time.
	lctx, unlock, err := e.lockCluster(ctx, cl.CS, "up "+ch.ID(), o.Lock)
	if err != nil {
		return err
	}
	err = e.upLocked(lctx, cl, p, o)
	unlock()
	if err != nil {
		return lockErr(lctx, err)
	}
	e.footer(ch)
	return nil
}

// upLocked installs the plan's chapters in order and runs the target's checks, under the lock.
func (e *Env) upLocked(ctx context.Context, cl *cluster.Cluster, p *Plan, o UpOptions) error {
	helm := deploy.NewHelm(cl.Kubeconfig, cl.Context, cl.CS)
	helm.Log = e.UI.LogWriter("helm") // the Helm SDK's log, shown with -v
	ledger := deploy.Ledger{CS: cl.CS}
	for _, c := range p.Chapters {
		if err := e.upChapter(ctx, cl, helm, ledger, c, p.Waves[c.ID()], o); err != nil {
			return err
		}
	}
	if !o.SkipChecks && len(p.Target.Checks) > 0 {
		return e.runChecks(ctx, cl, p.Target, o.Endpoints, o.JUnit)
	}
	return nil
}

// header names the chapter, in the run's language, and where to read about it; with -v its
// summary follows.
func (e *Env) header(ch *series.Chapter) {
	where := i18n.T(i18n.HeaderPost, ch.Post.URL)
	if ch.Post.URL == "" {
		where = i18n.T(i18n.HeaderDocs, ch.Read(""))
	}
	e.UI.Say(i18n.Header, ch.Number, ch.Title, where)
	if s := ch.Summary.Lang(string(e.UI.Lang)); s != "" {
		e.UI.Debugf("%s", s)
	}
}

func (e *Env) footer(ch *series.Chapter) {
	for _, o := range ch.Open {
		e.UI.Say(i18n.FooterOpen, o.Name)
	}
	e.UI.Say(i18n.FooterRead, ch.Read(ch.Post.Section))
	if next, ok, avail := e.Lib.Next(ch.ID()); ok {
		if avail {
			e.UI.Say(i18n.FooterNext, next.ID())
		} else {
			e.UI.Say(i18n.FooterComing, next.ID(), next.Title)
		}
	}
}

func (e *Env) upChapter(ctx context.Context, cl *cluster.Cluster, helm *deploy.Helm, ledger deploy.Ledger, ch *series.Chapter, waves [][]*deploy.Release, o UpOptions) error {
	entries, err := ledger.Read(ctx)
	if err != nil {
		return err
	}
	entry, had := entries[ch.ID()]
	entry.Chapter = ch.ID()
	if !had {
		entry.InstalledAt = time.Now().UTC()
	}
	entry.Complete = false
	byName := map[string]deploy.ComponentEntry{}
	for _, c := range entry.Components {
		byName[c.Namespace+"/"+c.Name] = c
	}
	for _, w := range waves {
		for _, r := range w {
			if _, ok := byName[r.Key()]; !ok {
				byName[r.Key()] = deploy.ComponentEntry{Name: r.Name(), Namespace: r.Namespace(), Chart: r.Chart.Metadata.Name, Version: r.Version()}
			}
		}
	}
	// Namespaces: create the missing ones and remember that this chapter created them.
	for _, w := range waves {
		for _, r := range w {
			created, err := helm.EnsureNamespace(ctx, r.Namespace(), ch.ID())
			if err != nil {
				return err
			}
			if created && !contains(entry.Namespaces, r.Namespace()) {
				entry.Namespaces = append(entry.Namespaces, r.Namespace())
			}
		}
	}
	entry.Components = sortedComponents(byName)
	// Record the intent before acting, so an interrupted up is visible to status and down.
	if err := ledger.Put(ctx, entry); err != nil {
		return err
	}
	var failed []string
	for _, w := range waves {
		var wg sync.WaitGroup
		var mu sync.Mutex
		errs := make([]error, len(w))
		for i, r := range w {
			wg.Add(1)
			go func(i int, r *deploy.Release) {
				defer wg.Done()
				timeout := r.Component.Timeout.Or(o.Timeout)
				if timeout == 0 {
					timeout = 5 * time.Minute
				}
				st := e.UI.Start(e.UI.T(i18n.InstallStart, r.Name(), r.Version(), r.Namespace()))
				if about := r.Component.About.Lang(string(e.UI.Lang)); about != "" {
					e.UI.Debugf("%s: %s", r.Name(), about)
				}
				out, err := helm.Apply(ctx, r, timeout)
				result := out.Action
				if err != nil {
					result = "failed"
				}
				e.Metrics.Step(ch.ID(), r.Name(), result, st.Elapsed())
				if err != nil {
					st.Fail(e.UI.T(i18n.InstallFailed, r.Name(), r.Version(), r.Namespace()), "")
					errs[i] = i18n.Errorf(i18n.WithRead, err, ch.Read(r.Component.Section))
					return
				}
				mu.Lock()
				c := byName[r.Key()]
				c.Digest, c.Revision, c.Version = r.Digest, out.Revision, r.Version()
				byName[r.Key()] = c
				mu.Unlock()
				done := map[string]i18n.Key{"installed": i18n.Installed, "upgraded": i18n.Upgraded, "unchanged": i18n.Unchanged}[out.Action]
				text := e.UI.T(done, r.Name(), r.Version(), r.Namespace(), out.Revision)
				if out.Action == "unchanged" {
					st.Skip(text)
				} else {
					st.OK(text)
				}
				if out.Note != "" {
					e.UI.Say(i18n.Note, out.Note)
				}
				if r.Component.Publish != nil {
					if _, err := e.publish(ctx, cl, ch, r.Component, o.Endpoints, publishMessage(ch, r.Component.Publish.Dir)); err != nil {
						errs[i] = err
					}
				}
			}(i, r)
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				failed = append(failed, w[i].Name())
			}
		}
		if len(failed) > 0 {
			entry.Components = sortedComponents(byName)
			if perr := ledger.Put(context.WithoutCancel(ctx), entry); perr != nil {
				e.UI.Errorf("%s", e.UI.T(i18n.LedgerNotUpdated, perr))
			}
			e.UI.Errorf("%s", e.UI.T(i18n.PartlyInstalled, ch.ID(), strings.Join(failed, ", "), ch.ID(), ch.ID()))
			return fmt.Errorf("up %s: %w", ch.ID(), errors.Join(errs...))
		}
	}
	entry.Components = sortedComponents(byName)
	entry.Complete = true
	return ledger.Put(ctx, entry)
}

func sortedComponents(m map[string]deploy.ComponentEntry) []deploy.ComponentEntry {
	out := make([]deploy.ComponentEntry, 0, len(m))
	for _, c := range m {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Namespace+"/"+out[i].Name < out[j].Namespace+"/"+out[j].Name })
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (e *Env) runChecks(ctx context.Context, cl *cluster.Cluster, ch *series.Chapter, endpoints map[string]string, junit string) error {
	r, err := e.newRunner(ctx, cl, ch, endpoints)
	if err != nil {
		return err
	}
	st := e.UI.Start(e.UI.T(i18n.ChecksStart, ch.ID(), len(ch.Checks)))
	results := r.Run(ctx, ch)
	e.recordChecks(results)
	passed, failed, skipped := check.Summary(results)
	summary := e.UI.T(i18n.ChecksPassed, passed, len(results)-skipped)
	if skipped > 0 {
		summary += e.UI.T(i18n.ChecksSkipped, skipped)
	}
	names := make([]string, 0, len(results))
	for _, res := range results {
		names = append(names, res.Name)
	}
	if failed == 0 {
		st.OK(summary + ": " + strings.Join(names, ", "))
	} else {
		st.Fail(summary, "")
	}
	e.printResults(ch, results)
	if junit != "" {
		if err := check.WriteJUnit(junit, results); err != nil {
			return err
		}
	}
	if failed > 0 {
		var bad []string
		for _, res := range results {
			if !res.Passed {
				bad = append(bad, res.Name)
			}
		}
		return &ExitError{Code: ExitCheckFailed, Err: i18n.Errorf(i18n.ChecksFailed, ch.ID(), failed, len(results), strings.Join(bad, ", "))}
	}
	return nil
}

func (e *Env) recordChecks(results []check.Result) {
	for _, res := range results {
		if !res.Skipped {
			e.Metrics.Check(res.Chapter, res.Name, res.Passed)
			e.Metrics.Step(res.Chapter, "check "+res.Name, map[bool]string{true: "ok", false: "failed"}[res.Passed], res.Duration)
		}
	}
}

// printResults prints one line per check (sorted by name): what it proves, in the run's language
// (the spec's about), and its result under it; under a failure the whole message, what the
// libraries logged, how the service was reached and the post section to read. A check without an
// about shows its result in its line.
func (e *Env) printResults(ch *series.Chapter, results []check.Result) {
	about := map[string]string{}
	for _, c := range ch.Checks {
		about[c.Name] = c.About.Lang(string(e.UI.Lang))
	}
	for _, res := range results {
		text, result := res.Name+": "+about[res.Name], firstLine(res.Message)
		if about[res.Name] == "" {
			text, result = res.Name+": "+result, ""
		}
		switch {
		case res.Skipped:
			e.UI.Printf("    ↷ %s\n", text)
		case res.Passed:
			e.UI.Printf("    ✓ %s%s%.1fs\n", text, pad(text, 66), res.Duration.Seconds())
		default:
			e.UI.Errorf("    ✗ %s%s%.1fs\n", text, pad(text, 66), res.Duration.Seconds())
			if result != "" {
				e.UI.Errorf("      %s\n", result)
			}
			if rest := restLines(res.Message); rest != "" {
				e.UI.Errorf("%s\n", indentLines(rest, "      "))
			}
			if s := ui.LogSummary(res.Log); s != "" {
				e.UI.Errorf("      %s\n", s)
			}
			if res.Via != "" {
				e.UI.Errorf("%s", e.UI.T(i18n.CheckVia, res.Via))
			}
			e.UI.Errorf("%s", e.UI.T(i18n.CheckRead, res.Read))
			continue
		}
		if result != "" {
			e.UI.Printf("      %s\n", result)
		}
	}
}

// pad is the spaces that bring s to n terminal columns (at least one).
func pad(s string, n int) string {
	return strings.Repeat(" ", max(n-ui.Width(s), 1))
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func restLines(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return strings.TrimRight(s[i+1:], "\n")
	}
	return ""
}

func indentLines(s, pre string) string {
	lines := strings.Split(s, "\n")
	for i := range lines {
		lines[i] = pre + lines[i]
	}
	return strings.Join(lines, "\n")
}
