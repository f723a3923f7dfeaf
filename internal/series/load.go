package series

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/mlops-series/mlops-series/internal/i18n"
)

// TOCFile is the table of contents at the root of a series folder.
const TOCFile = "series.yaml"

// SpecFile is the chapter spec inside each chapter folder.
const SpecFile = "chapter.yaml"

// Library is a loaded, validated series: the table of contents and the chapters that have a spec.
type Library struct {
	TOC      *Series
	Chapters map[string]*Chapter // by ID ("chapter-6")
	// Images is images.yaml: every image the charts run and its architectures (nil when absent).
	Images *Images
	// FS is the series folder (chapter folders are relative to it).
	FS fs.FS
	// Origin says where the series came from ("embedded" or a folder path), for messages.
	Origin string
}

// Load reads series.yaml and every chapter-*/chapter.yaml under fsys, decoding strictly and
// validating everything (checks against the table WithCheckTypes gives); all problems are returned
// together.
func Load(fsys fs.FS, origin string, opts ...Option) (*Library, error) {
	var errs []error
	lib := &Library{FS: fsys, Origin: origin, Chapters: map[string]*Chapter{}}

	data, err := fs.ReadFile(fsys, TOCFile)
	if err != nil {
		return nil, fmt.Errorf("load series from %s: %w", origin, err)
	}
	toc, err := DecodeSeries(TOCFile, data)
	if err != nil {
		errs = append(errs, err)
	}
	lib.TOC = toc
	if lib.Images, err = loadImages(fsys); err != nil {
		errs = append(errs, err)
	}

	// Chapters whose spec did not decode at all: requiring them is not a second problem.
	broken := map[string]bool{}
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("load series from %s: %w", origin, err)
	}
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), "chapter-") {
			continue
		}
		file := path.Join(e.Name(), SpecFile)
		b, err := fs.ReadFile(fsys, file)
		if errors.Is(err, fs.ErrNotExist) {
			// The folder of a chapter the TOC lists may come before its spec (examples written
			// first): the chapter stays coming until its chapter.yaml is there. Any other chapter
			// folder without a spec is a mistake (a typo in the name, a renamed chapter).
			if !toc.listsFolder(e.Name()) {
				errs = append(errs, fmt.Errorf("%s: missing %s (and series.yaml lists no chapter with this folder name)", e.Name(), SpecFile))
			}
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", file, err))
			continue
		}
		ch, err := DecodeChapter(file, b, opts...)
		if err != nil {
			errs = append(errs, err)
		}
		if ch == nil {
			if n, ok := folderNumber(e.Name()); ok {
				broken[fmt.Sprintf("chapter-%d", n)] = true
			}
			continue
		}
		ch.Dir = e.Name()
		if want := fmt.Sprintf("chapter-%d-%s", ch.Number, ch.Slug); ch.Number > 0 && ch.Slug != "" && e.Name() != want {
			errs = append(errs, fmt.Errorf("%s: folder name must be %q (from number and slug)", file, want))
		}
		if other, dup := lib.Chapters[ch.ID()]; dup {
			errs = append(errs, fmt.Errorf("%s: chapter number %d is also used by %s", file, ch.Number, other.File))
			continue
		}
		lib.Chapters[ch.ID()] = ch
	}
	errs = append(errs, lib.crossCheck(broken)...)
	if len(errs) > 0 {
		return lib, errors.Join(errs...)
	}
	return lib, nil
}

// crossCheck validates what spans files: the TOC lists every chapter, requires exist and have no
// cycle, checks and open entries name a component of the chapter's closure, values files exist and
// every file under values/ is used. It runs even when single specs have problems, so that all
// problems are reported at once; broken lists the chapters whose spec did not decode.
func (l *Library) crossCheck(broken map[string]bool) []error {
	var errs []error
	inTOC := map[string]Entry{}
	if l.TOC != nil {
		for _, e := range l.TOC.Chapters {
			inTOC[e.ID()] = e
		}
	}
	requiresOK := true
	for _, id := range l.IDs() {
		ch := l.Chapters[id]
		var ps []problem
		add := func(p, f string, a ...any) { ps = append(ps, problem{p, fmt.Sprintf(f, a...)}) }
		if l.TOC != nil {
			if e, ok := inTOC[id]; !ok {
				add("number", "%s is not listed in %s", id, TOCFile)
			} else if e.Slug != ch.Slug {
				add("slug", "%q differs from %s's %q", ch.Slug, TOCFile, e.Slug)
			}
		}
		for i, r := range ch.Requires {
			if _, ok := l.Chapters[r]; ok {
				continue
			}
			requiresOK = false
			if broken[r] {
				continue // its own problems are reported
			}
			if _, listed := inTOC[r]; listed {
				add(fmt.Sprintf("requires[%d]", i), "%s has no spec yet (no %s in its folder)", r, SpecFile)
			} else {
				add(fmt.Sprintf("requires[%d]", i), "unknown chapter %q", r)
			}
		}
		ps = append(ps, l.valuesProblems(ch)...)
		if closure, err := l.Closure(id); err == nil {
			ps = append(ps, componentProblems(ch, closure)...)
		}
		if len(ps) > 0 {
			errs = append(errs, located(ch.File, ch.node, ps))
		}
	}
	if !requiresOK {
		return errs
	}
	for _, id := range l.IDs() {
		if _, err := l.Closure(id); err != nil {
			return append(errs, err)
		}
	}
	return errs
}

// componentProblems checks that every check and open entry of ch names a component of its closure.
func componentProblems(ch *Chapter, closure []*Chapter) []problem {
	var ps []problem
	for i, ck := range ch.Checks {
		if ck.Component == "" {
			continue
		}
		if _, _, err := closureComponent(closure, ck.Component); err != nil {
			ps = append(ps, problem{fmt.Sprintf("checks[%d].component", i), err.Error()})
		}
	}
	for i, o := range ch.Open {
		if o.Component == "" {
			continue
		}
		if _, _, err := closureComponent(closure, o.Component); err != nil {
			ps = append(ps, problem{fmt.Sprintf("open[%d].component", i), err.Error()})
		}
	}
	return ps
}

// valuesProblems checks that every values file a component lists exists, and that every file under
// the chapter's values/ folder is listed by a component (or named by a check's params).
func (l *Library) valuesProblems(ch *Chapter) []problem {
	var ps []problem
	used := map[string]bool{}
	for i, c := range ch.Components {
		for j, v := range c.Values {
			used[path.Clean(v)] = true
			if _, err := fs.Stat(l.FS, path.Join(ch.Dir, v)); err != nil {
				ps = append(ps, problem{fmt.Sprintf("components[%d].values[%d]", i, j), fmt.Sprintf("%s: not found in %s", v, ch.Dir)})
			}
		}
	}
	for _, ck := range ch.Checks {
		for _, v := range ck.Params {
			used[path.Clean(v)] = true
		}
	}
	for i, c := range ch.Components {
		if c.Publish == nil || c.Publish.Dir == "" || !fs.ValidPath(c.Publish.Dir) {
			continue
		}
		if fi, err := fs.Stat(l.FS, path.Join(ch.Dir, c.Publish.Dir)); err != nil || !fi.IsDir() {
			ps = append(ps, problem{fmt.Sprintf("components[%d].publish.dir", i), fmt.Sprintf("%s: no such folder in %s", c.Publish.Dir, ch.Dir)})
		}
	}
	_ = fs.WalkDir(l.FS, path.Join(ch.Dir, ValuesDir), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil // no values/ folder is fine
		}
		rel := strings.TrimPrefix(p, ch.Dir+"/")
		if !used[rel] {
			ps = append(ps, problem{"components", fmt.Sprintf("%s is in the chapter folder but no component lists it in values: use it or delete it", rel)})
		}
		return nil
	})
	return ps
}

// ValuesDir is the folder of a chapter that holds its components' values files.
const ValuesDir = "values"

// listsFolder says whether the TOC lists a chapter whose folder is dir ("chapter-N-slug").
func (s *Series) listsFolder(dir string) bool {
	if s == nil {
		return false
	}
	for _, e := range s.Chapters {
		if fmt.Sprintf("chapter-%d-%s", e.Number, e.Slug) == dir {
			return true
		}
	}
	return false
}

// folderNumber reads N from a chapter folder name "chapter-N-slug".
func folderNumber(dir string) (int, bool) {
	rest, ok := strings.CutPrefix(dir, "chapter-")
	if !ok {
		return 0, false
	}
	num, _, _ := strings.Cut(rest, "-")
	n, err := strconv.Atoi(num)
	return n, err == nil
}

// ClosureComponent finds the component that a check or open entry of chapter id names: the
// chapter's own, else the one chapter of its closure that has it. It returns the chapter that
// owns the component.
func (l *Library) ClosureComponent(id, name string) (*Chapter, Component, error) {
	closure, err := l.Closure(id)
	if err != nil {
		return nil, Component{}, err
	}
	return closureComponent(closure, name)
}

// closureComponent looks name up in a closure (requirements first, the chapter itself last).
func closureComponent(closure []*Chapter, name string) (*Chapter, Component, error) {
	target := closure[len(closure)-1]
	if c, ok := target.Component(name); ok {
		return target, c, nil
	}
	var owners []string
	var owner *Chapter
	var comp Component
	var all []string
	for _, ch := range closure {
		for _, c := range ch.Components {
			all = append(all, c.Name)
		}
		if c, ok := ch.Component(name); ok && ch != target {
			owners, owner, comp = append(owners, ch.ID()), ch, c
		}
	}
	switch len(owners) {
	case 1:
		return owner, comp, nil
	case 0:
		sort.Strings(all)
		known := strings.Join(slices.Compact(all), ", ")
		if known == "" {
			known = "none"
		}
		return nil, Component{}, i18n.Errorf(i18n.NoComponent, target.ID(), name, target.ID(), known)
	}
	return nil, Component{}, fmt.Errorf("component %q is ambiguous: %s each have one", name, strings.Join(owners, " and "))
}

// IDs returns the available chapter IDs in chapter order.
func (l *Library) IDs() []string {
	ids := make([]string, 0, len(l.Chapters))
	for id := range l.Chapters {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return l.Chapters[ids[i]].Number < l.Chapters[ids[j]].Number })
	return ids
}

// Chapter finds an available chapter by "chapter-6", "6" or "model-registry".
func (l *Library) Chapter(name string) (*Chapter, error) {
	id := name
	if n, err := strconv.Atoi(name); err == nil {
		id = fmt.Sprintf("chapter-%d", n)
	}
	if ch, ok := l.Chapters[id]; ok {
		return ch, nil
	}
	for _, ch := range l.Chapters {
		if ch.Slug == name || ch.Dir == name {
			return ch, nil
		}
	}
	if l.TOC != nil {
		for _, e := range l.TOC.Chapters {
			if e.ID() == id || e.Slug == name {
				return nil, i18n.Errorf(i18n.ComingChapter, e.ID(), e.Title, strings.Join(l.IDs(), ", "))
			}
		}
	}
	return nil, i18n.Errorf(i18n.UnknownChapter, name, strings.Join(l.IDs(), ", "))
}

// Closure returns the chapter and everything it requires, transitively, in dependency order
// (requirements first). Cycles and unknown chapters are errors.
func (l *Library) Closure(id string) ([]*Chapter, error) {
	var order []*Chapter
	state := map[string]int{} // 0 new, 1 visiting, 2 done
	var visit func(id string, stack []string) error
	visit = func(id string, stack []string) error {
		ch, ok := l.Chapters[id]
		if !ok {
			return fmt.Errorf("resolve requires: unknown chapter %q (via %s)", id, strings.Join(stack, " -> "))
		}
		switch state[id] {
		case 1:
			return fmt.Errorf("resolve requires: cycle %s -> %s", strings.Join(stack, " -> "), id)
		case 2:
			return nil
		}
		state[id] = 1
		for _, r := range ch.Requires {
			if err := visit(r, append(stack, id)); err != nil {
				return err
			}
		}
		state[id] = 2
		order = append(order, ch)
		return nil
	}
	if err := visit(id, nil); err != nil {
		return nil, err
	}
	return order, nil
}

// RequiredBy lists the chapters (among ids) whose closure includes id, other than id itself.
func (l *Library) RequiredBy(id string, ids []string) []string {
	var out []string
	for _, other := range ids {
		if other == id {
			continue
		}
		cl, err := l.Closure(other)
		if err != nil {
			continue
		}
		for _, c := range cl {
			if c.ID() == id {
				out = append(out, other)
				break
			}
		}
	}
	return out
}

// Entry returns the table-of-contents line of a chapter.
func (l *Library) Entry(id string) (Entry, bool) {
	if l.TOC == nil {
		return Entry{}, false
	}
	for _, e := range l.TOC.Chapters {
		if e.ID() == id {
			return e, true
		}
	}
	return Entry{}, false
}

// Next returns the chapter after id in the TOC, if any, and whether it is available.
func (l *Library) Next(id string) (Entry, bool, bool) {
	if l.TOC == nil {
		return Entry{}, false, false
	}
	for i, e := range l.TOC.Chapters {
		if e.ID() == id && i+1 < len(l.TOC.Chapters) {
			n := l.TOC.Chapters[i+1]
			_, avail := l.Chapters[n.ID()]
			return n, true, avail
		}
	}
	return Entry{}, false, false
}

// DecodeChapter strictly decodes and validates one chapter spec; file names it in errors.
// It returns the chapter even when invalid (for reporting), with all problems joined.
func DecodeChapter(file string, data []byte, opts ...Option) (*Chapter, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("%s: %w", file, yamlErr(err))
	}
	if len(root.Content) == 0 {
		return nil, fmt.Errorf("%s: empty document", file)
	}
	var ch Chapter
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&ch); err != nil {
		return nil, fmt.Errorf("%s: %w", file, yamlErr(err))
	}
	ch.File, ch.node = file, root.Content[0]
	if problems := validateChapter(&ch, newOptions(opts)); len(problems) > 0 {
		return &ch, located(file, root.Content[0], problems)
	}
	return &ch, nil
}

// DecodeSeries strictly decodes and validates the table of contents.
func DecodeSeries(file string, data []byte) (*Series, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("%s: %w", file, yamlErr(err))
	}
	if len(root.Content) == 0 {
		return nil, fmt.Errorf("%s: empty document", file)
	}
	var s Series
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("%s: %w", file, yamlErr(err))
	}
	if problems := validateSeries(&s); len(problems) > 0 {
		return &s, located(file, root.Content[0], problems)
	}
	return &s, nil
}

// yamlErr turns the decoder's multi-line "unmarshal errors" into a readable error.
func yamlErr(err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return errors.New(strings.Join(te.Errors, "; "))
	}
	return errors.New(strings.TrimPrefix(err.Error(), "yaml: "))
}
