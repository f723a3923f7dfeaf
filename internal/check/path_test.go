package check

import (
	"os"
	"strings"
	"testing"

	"github.com/mlops-series/mlops-series/internal/series"
)

// TestPathHopsMatchTheSeries: every hop of `check path` names a chapter of the series, a component
// of it with that port (or a check of it on that component and port), and a post section the
// chapter's docs have (a section some step of the chapter points at).
func TestPathHopsMatchTheSeries(t *testing.T) {
	lib, err := series.Load(os.DirFS("../../series"), "series", Validation())
	if err != nil {
		t.Fatal(err)
	}
	if len(PathHops) != 5 {
		t.Fatalf("%d hops, want 5 (chapters 8, 5, 6, 7, 10)", len(PathHops))
	}
	r := &Runner{Lib: lib}
	for _, hop := range PathHops {
		ch, c, err := r.pathCheck(hop)
		if err != nil {
			t.Errorf("%s: %v", hop.Name, err)
			continue
		}
		if c.Component != hop.Component || c.Port != hop.Port {
			t.Errorf("%s: reaches %s:%d, the hop says %s:%d", hop.Name, c.Component, c.Port, hop.Component, hop.Port)
		}
		if _, ok := ch.Component(hop.Component); !ok {
			t.Errorf("%s: %s has no component %s", hop.Name, ch.ID(), hop.Component)
		}
		sections := map[string]bool{ch.Post.Section: true}
		for _, comp := range ch.Components {
			sections[comp.Section] = true
		}
		for _, ck := range ch.Checks {
			sections[ck.Section] = true
		}
		if !strings.HasPrefix(hop.Section, "#") || !sections[hop.Section] {
			t.Errorf("%s: section %q is not a section of %s's steps", hop.Name, hop.Section, ch.ID())
		}
		if hop.About.Ko == "" || hop.About.En == "" {
			t.Errorf("%s: about needs ko and en", hop.Name)
		}
	}
}
