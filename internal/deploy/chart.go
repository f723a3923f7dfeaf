// Package deploy installs the chapters' components as Helm releases of the project's own charts
// (Helm v4 SDK), keeps the ledger of what each chapter installed, and removes exactly that.
package deploy

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"helm.sh/helm/v4/pkg/chart/loader/archive"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"

	"github.com/mlops-series/mlops-series/internal/series"
)

// Label keys the series puts on Helm releases and on what it creates.
const (
	LabelDigest  = "mlops-series.dev/digest"
	LabelChapter = "mlops-series.dev/chapter"
	LabelManaged = "app.kubernetes.io/managed-by"
	// InstanceLabel is the standard label every chart of the series puts on its pods.
	InstanceLabel = "app.kubernetes.io/instance"
)

// Release is one component of a chapter, ready to render or install.
type Release struct {
	Chapter   *series.Chapter
	Component series.Component
	Chart     *chart.Chart
	Values    map[string]any
	// Digest identifies chart files + values: same digest, same release.
	Digest string
}

// Name is the Helm release name (the component name).
func (r *Release) Name() string { return r.Component.Name }

// Namespace is where the release lives.
func (r *Release) Namespace() string { return r.Component.Namespace }

// Key is "namespace/name", used in messages.
func (r *Release) Key() string { return r.Namespace() + "/" + r.Name() }

// Version is the chart's appVersion (the tool's version), or its chart version.
func (r *Release) Version() string {
	if r.Chart.Metadata.AppVersion != "" {
		return r.Chart.Metadata.AppVersion
	}
	return r.Chart.Metadata.Version
}

// Prepare loads the component's chart from charts (one folder per chart) and merges its values files,
// read from the chapter folder in seriesFS, in order.
func Prepare(charts, seriesFS fs.FS, ch *series.Chapter, comp series.Component) (*Release, error) {
	c, sum, err := LoadChart(charts, comp.Chart)
	if err != nil {
		return nil, fmt.Errorf("prepare %s/%s: %w", comp.Namespace, comp.Name, err)
	}
	vals := map[string]any{}
	h := sha256.New()
	h.Write(sum)
	for _, v := range comp.Values {
		file := path.Join(ch.Dir, v)
		b, err := fs.ReadFile(seriesFS, file)
		if err != nil {
			return nil, fmt.Errorf("prepare %s/%s: values %s: %w", comp.Namespace, comp.Name, file, err)
		}
		m, err := loader.LoadValues(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("prepare %s/%s: values %s: %w", comp.Namespace, comp.Name, file, err)
		}
		vals = loader.MergeMaps(vals, m)
	}
	canon, err := json.Marshal(vals) // map keys are sorted: a canonical form
	if err != nil {
		return nil, fmt.Errorf("prepare %s/%s: %w", comp.Namespace, comp.Name, err)
	}
	h.Write(canon)
	return &Release{
		Chapter:   ch,
		Component: comp,
		Chart:     c,
		Values:    vals,
		Digest:    hex.EncodeToString(h.Sum(nil))[:16],
	}, nil
}

// LoadChart reads the chart folder name from charts and returns it with a digest of its files.
func LoadChart(charts fs.FS, name string) (*chart.Chart, []byte, error) {
	var files []*archive.BufferedFile
	err := fs.WalkDir(charts, name, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		b, err := fs.ReadFile(charts, p)
		if err != nil {
			return err
		}
		files = append(files, &archive.BufferedFile{Name: strings.TrimPrefix(p, name+"/"), Data: b})
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("chart %s: %w", name, err)
	}
	if len(files) == 0 {
		return nil, nil, fmt.Errorf("chart %s: not found in charts/", name)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Name < files[j].Name })
	h := sha256.New()
	for _, f := range files {
		fmt.Fprintf(h, "%s\x00%d\x00", f.Name, len(f.Data))
		h.Write(f.Data)
	}
	c, err := loader.LoadFiles(files)
	if err != nil {
		return nil, nil, fmt.Errorf("chart %s: %w", name, err)
	}
	return c, h.Sum(nil), nil
}

// PrepareChapter prepares every component of a chapter, in install order (waves).
func PrepareChapter(charts, seriesFS fs.FS, ch *series.Chapter) ([][]*Release, error) {
	waves, err := ch.ComponentOrder()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ch.ID(), err)
	}
	out := make([][]*Release, 0, len(waves))
	for _, w := range waves {
		var rw []*Release
		for _, comp := range w {
			r, err := Prepare(charts, seriesFS, ch, comp)
			if err != nil {
				return nil, err
			}
			rw = append(rw, r)
		}
		out = append(out, rw)
	}
	return out, nil
}

func readFS(fsys fs.FS, name string) ([]byte, error) { return fs.ReadFile(fsys, name) }
