// Package docs generates the chapter docs (docs/ko and docs/en) from the chapter specs and the
// rendered components, writes them, and checks that the committed docs are up to date.
//
// Everything here is a pure function of its input: no clock, no environment, maps are walked in
// sorted order, so `mlops-series docs --check` in CI compares byte for byte.
package docs

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/mlops-series/mlops-series/internal/deploy"
	"github.com/mlops-series/mlops-series/internal/series"
)

// ComponentInfo is what docs needs about one rendered component (filled by the caller from `render`).
type ComponentInfo struct {
	// Chapter is the ID of the chapter that declares the component ("chapter-6").
	Chapter string
	// Name and Namespace of the Helm release.
	Name      string
	Namespace string
	// Chart and Version name the chart from charts/ and its version.
	Chart   string
	Version string
	// Footprint is what the rendered manifests request.
	Footprint deploy.Footprint
}

// Generate renders every docs page: ko/index.md, en/index.md and, per available chapter,
// ko/chapter-N.md and en/chapter-N.md. info holds, per available chapter ID, the info of every
// component of the chapter's closure in install order. The result maps a path relative to docs/
// (with forward slashes) to the file's content.
func Generate(lib *series.Library, info map[string][]ComponentInfo) (map[string][]byte, error) {
	if lib == nil || lib.TOC == nil {
		return nil, errors.New("generate docs: the series has no table of contents")
	}
	pages := make([]*chapterPage, 0, len(lib.Chapters))
	var errs []error
	for _, id := range lib.IDs() {
		p, err := newChapterPage(lib, id, info[id], hasKey(info, id))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		pages = append(pages, p)
	}
	for _, id := range sortedKeys(info) {
		if _, ok := lib.Chapters[id]; !ok {
			errs = append(errs, fmt.Errorf("component info given for %s, which is not an available chapter (available: %s)",
				id, strings.Join(lib.IDs(), ", ")))
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("generate docs: %w", errors.Join(errs...))
	}

	files := map[string][]byte{}
	for _, lang := range langs() {
		t := textsFor(lang)
		files[lang+"/index.md"] = finish(renderIndex(lib, info, t))
		for _, p := range pages {
			files[p.ch.DocsPage(lang)] = finish(p.render(t))
		}
	}
	return files, nil
}

// chapterPage is a chapter with its closure and the info of the closure's components, checked
// against the specs.
type chapterPage struct {
	lib     *series.Library
	ch      *series.Chapter
	closure []*series.Chapter
	rows    []row
	// post renders the chapter as its own blog post (Jekyll): its sections are on the page itself.
	post bool
}

// row is one component of the closure: the spec and the rendered info.
type row struct {
	chapter *series.Chapter
	spec    series.Component
	info    ComponentInfo
}

func newChapterPage(lib *series.Library, id string, infos []ComponentInfo, given bool) (*chapterPage, error) {
	if !given {
		return nil, fmt.Errorf("%s: no component info (render the chapter first)", id)
	}
	closure, err := lib.Closure(id)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", id, err)
	}
	p := &chapterPage{lib: lib, ch: lib.Chapters[id], closure: closure}
	inClosure := map[string]*series.Chapter{}
	for _, c := range closure {
		inClosure[c.ID()] = c
	}
	var errs []error
	seen := map[string]bool{}
	for _, in := range infos {
		key := in.Chapter + "/" + in.Name
		c, ok := inClosure[in.Chapter]
		if !ok {
			errs = append(errs, fmt.Errorf("%s: component info %s: %s is not in the closure of %s", id, key, in.Chapter, id))
			continue
		}
		spec, ok := findComponent(c, in.Name)
		if !ok {
			errs = append(errs, fmt.Errorf("%s: component info %s: %s declares no component %q", id, key, in.Chapter, in.Name))
			continue
		}
		if seen[key] {
			errs = append(errs, fmt.Errorf("%s: component info %s is given twice", id, key))
			continue
		}
		seen[key] = true
		p.rows = append(p.rows, row{chapter: c, spec: spec, info: in})
	}
	for _, c := range closure {
		for _, comp := range c.Components {
			if key := c.ID() + "/" + comp.Name; !seen[key] {
				errs = append(errs, fmt.Errorf("%s: no component info for %s", id, key))
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return p, nil
}

func findComponent(c *series.Chapter, name string) (series.Component, bool) {
	for _, comp := range c.Components {
		if comp.Name == name {
			return comp, true
		}
	}
	return series.Component{}, false
}

// langs are the languages docs are generated in, each a folder under docs/.
func langs() []string { return []string{"ko", "en"} }

// finish ends a page with exactly one newline.
func finish(s string) []byte {
	return []byte(strings.TrimRight(s, "\n") + "\n")
}

func hasKey[V any](m map[string]V, k string) bool {
	_, ok := m[k]
	return ok
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
