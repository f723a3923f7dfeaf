package docs

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// Write writes files under dir (creating folders as needed; unchanged files are left alone) and
// removes the *.md files under dir/ko and dir/en that files does not hold, so a removed chapter
// leaves no stale page behind. Other files are never touched.
func Write(dir string, files map[string][]byte) error {
	if err := checkPaths(files); err != nil {
		return fmt.Errorf("write docs to %s: %w", dir, err)
	}
	for _, name := range sortedKeys(files) {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if old, err := os.ReadFile(p); err == nil && bytes.Equal(old, files[name]) {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("write docs %s: %w", p, err)
		}
		if err := writeFile(p, files[name]); err != nil {
			return fmt.Errorf("write docs %s: %w", p, err)
		}
	}
	extra, err := extraPages(dir, files)
	if err != nil {
		return fmt.Errorf("write docs to %s: %w", dir, err)
	}
	for _, name := range extra {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.Remove(p); err != nil {
			return fmt.Errorf("remove stale docs %s: %w", p, err)
		}
	}
	return nil
}

// writeFile replaces p through a temporary file in the same folder, so a reader never sees half a page.
func writeFile(p string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(p), "."+filepath.Base(p)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, p); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// OutOfDateError is what Check returns when dir does not match the generated files. Each list holds
// paths relative to dir, with forward slashes, sorted.
type OutOfDateError struct {
	Dir string
	// Stale files differ from what would be generated.
	Stale []string
	// Missing files would be generated but are not in dir.
	Missing []string
	// Extra pages are *.md files under ko/ or en/ that would not be generated.
	Extra []string
	// firstDiff holds the first differing line of each stale file.
	firstDiff map[string]int
}

func (e *OutOfDateError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "docs in %s are out of date; run `mlops-series docs` and commit the result", e.Dir)
	for _, s := range e.Stale {
		fmt.Fprintf(&b, "\n  stale:   %s (differs from line %d)", s, e.firstDiff[s])
	}
	for _, s := range e.Missing {
		fmt.Fprintf(&b, "\n  missing: %s", s)
	}
	for _, s := range e.Extra {
		fmt.Fprintf(&b, "\n  extra:   %s (no chapter generates it)", s)
	}
	return b.String()
}

// Check compares dir with files without writing anything, and checks the pages' links. It returns
// an *OutOfDateError listing every stale, missing and extra file and/or a *BrokenLinksError
// listing every relative link to a missing file or anchor, or nil when dir is up to date and
// every link leads somewhere.
func Check(dir string, files map[string][]byte) error {
	if err := checkPaths(files); err != nil {
		return fmt.Errorf("check docs in %s: %w", dir, err)
	}
	e := &OutOfDateError{Dir: dir, firstDiff: map[string]int{}}
	for _, name := range sortedKeys(files) {
		p := filepath.Join(dir, filepath.FromSlash(name))
		got, err := os.ReadFile(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			e.Missing = append(e.Missing, name)
		case err != nil:
			return fmt.Errorf("check docs %s: %w", p, err)
		case !bytes.Equal(got, files[name]):
			e.Stale = append(e.Stale, name)
			e.firstDiff[name] = firstDiffLine(got, files[name])
		}
	}
	extra, err := extraPages(dir, files)
	if err != nil {
		return fmt.Errorf("check docs in %s: %w", dir, err)
	}
	e.Extra = extra
	links := checkLinks(dir, files)
	if len(e.Stale)+len(e.Missing)+len(e.Extra) == 0 {
		return links
	}
	return errors.Join(e, links)
}

// extraPages lists the *.md files under dir/ko and dir/en (at any depth) that files does not hold.
func extraPages(dir string, files map[string][]byte) ([]string, error) {
	var extra []string
	for _, lang := range langs() {
		root := filepath.Join(dir, lang)
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) && p == root {
					return fs.SkipDir
				}
				return err
			}
			if d.IsDir() || !strings.HasSuffix(d.Name(), ".md") {
				return nil
			}
			rel, err := filepath.Rel(dir, p)
			if err != nil {
				return err
			}
			if name := filepath.ToSlash(rel); !hasKey(files, name) {
				extra = append(extra, name)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	sort.Strings(extra)
	return extra, nil
}

// checkPaths rejects names that would land outside the docs folder.
func checkPaths(files map[string][]byte) error {
	var errs []error
	for _, name := range sortedKeys(files) {
		if name == "" || !filepath.IsLocal(filepath.FromSlash(name)) || path.Clean(name) != name {
			errs = append(errs, fmt.Errorf("invalid docs path %q: must be a clean relative path inside the docs folder", name))
		}
	}
	return errors.Join(errs...)
}

// firstDiffLine is the 1-based number of the first line where a and b differ.
func firstDiffLine(a, b []byte) int {
	la := strings.SplitAfter(string(a), "\n")
	lb := strings.SplitAfter(string(b), "\n")
	for i := 0; i < len(la) && i < len(lb); i++ {
		if la[i] != lb[i] {
			return i + 1
		}
	}
	return min(len(la), len(lb)) + 1
}
