package action

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/mlops-series/mlops-series/internal/deploy"
	"github.com/mlops-series/mlops-series/internal/series"
)

// Plan is a chapter's closure, prepared: every release in install order.
type Plan struct {
	Target   *series.Chapter
	Chapters []*series.Chapter
	// Waves per chapter, keyed by chapter ID.
	Waves map[string][][]*deploy.Release
}

// Releases returns every release of the plan in install order.
func (p *Plan) Releases() []*deploy.Release {
	var out []*deploy.Release
	for _, ch := range p.Chapters {
		for _, w := range p.Waves[ch.ID()] {
			out = append(out, w...)
		}
	}
	return out
}

// PlanChapter resolves the closure of a chapter and prepares its releases.
func (e *Env) PlanChapter(name string) (*Plan, error) {
	ch, err := e.chapter(name)
	if err != nil {
		return nil, err
	}
	closure, err := e.Lib.Closure(ch.ID())
	if err != nil {
		return nil, err
	}
	p := &Plan{Target: ch, Chapters: closure, Waves: map[string][][]*deploy.Release{}}
	for _, c := range closure {
		waves, err := deploy.PrepareChapter(e.Charts, e.Lib.FS, c)
		if err != nil {
			return nil, err
		}
		p.Waves[c.ID()] = waves
	}
	return p, nil
}

// ReleaseFootprint is one release's share of a plan's footprint.
type ReleaseFootprint struct {
	Chapter   string           `json:"chapter"`
	Component string           `json:"component"`
	Namespace string           `json:"namespace"`
	Version   string           `json:"version"`
	Footprint deploy.Footprint `json:"footprint"`
}

// Render writes every manifest `up` would apply for the chapter's closure and returns the footprint.
func (e *Env) Render(ctx context.Context, name string, w io.Writer) ([]ReleaseFootprint, deploy.Footprint, error) {
	p, err := e.PlanChapter(name)
	if err != nil {
		return nil, deploy.Footprint{}, err
	}
	return p.render(ctx, w)
}

// render renders every release of the plan (writing the manifests to w when it is not nil) and
// measures what each requests.
func (p *Plan) render(ctx context.Context, w io.Writer) ([]ReleaseFootprint, deploy.Footprint, error) {
	var per []ReleaseFootprint
	var total deploy.Footprint
	for _, r := range p.Releases() {
		m, err := deploy.Render(ctx, r)
		if err != nil {
			return nil, total, err
		}
		f, err := deploy.Measure(m)
		if err != nil {
			return nil, total, fmt.Errorf("%s: %w", r.Key(), err)
		}
		per = append(per, ReleaseFootprint{Chapter: r.Chapter.ID(), Component: r.Name(), Namespace: r.Namespace(), Version: r.Version(), Footprint: f})
		total.Add(f)
		if w != nil {
			fmt.Fprintf(w, "# %s · %s (chart %s %s, namespace %s, digest %s)\n", r.Chapter.ID(), r.Name(),
				r.Chart.Metadata.Name, r.Chart.Metadata.Version, r.Namespace(), r.Digest)
			fmt.Fprintf(w, "%s\n", strings.TrimRight(m, "\n"))
			if !strings.HasSuffix(strings.TrimSpace(m), "---") {
				fmt.Fprintln(w, "---")
			}
		}
	}
	return per, total, nil
}
