package mlopsseries

import (
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// Every file of the series checkout that the binary needs is embedded: the folder pattern skips
// names starting with '_' or '.', and a Python package's __init__.py must not be lost that way
// (images build copies the embedded series into the build context).
func TestSeriesEmbedsEveryTrackedSourceFile(t *testing.T) {
	embedded := Series()
	err := filepath.WalkDir("series", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() && (name == "__pycache__" || strings.HasPrefix(name, ".")) {
			return filepath.SkipDir
		}
		if d.IsDir() || strings.HasPrefix(name, ".") {
			return nil
		}
		rel := filepath.ToSlash(strings.TrimPrefix(p, "series"+string(filepath.Separator)))
		if _, err := fs.Stat(embedded, rel); err != nil {
			t.Errorf("series/%s is not embedded: %v", rel, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
