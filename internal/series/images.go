package series

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"

	yaml "go.yaml.in/yaml/v3"
)

// ImagesFile lists the series' images and their architectures.
const ImagesFile = "images.yaml"

// KindImages is the kind of images.yaml.
const KindImages = "Images"

// Images is images.yaml.
type Images struct {
	APIVersion string  `yaml:"apiVersion"`
	Kind       string  `yaml:"kind"`
	Images     []Image `yaml:"images"`
}

// Image is one pinned image.
type Image struct {
	Ref     string   `yaml:"ref"`
	Archs   []string `yaml:"archs"`
	Chapter string   `yaml:"chapter"`
	// Build is set for an image of the series' own, built from one of its folders by
	// `images build` rather than pulled.
	Build *ImageBuild `yaml:"build,omitempty"`
}

// ImageBuild says how the series builds one of its own images.
type ImageBuild struct {
	// Context is the build context, a folder of the series (e.g. chapter-7-model-serving/bento),
	// or "." (the series folder, for an image that copies files of two chapters) with Paths.
	Context string `yaml:"context"`
	// Dockerfile is a path in Context ("" is Dockerfile).
	Dockerfile string `yaml:"dockerfile,omitempty"`
	// Paths are the files and folders of Context the Dockerfile copies (empty: all of Context);
	// only they are sent to the engine, and only a change to them rebuilds the image.
	Paths []string `yaml:"paths,omitempty"`
}

// Archs maps each image reference to the architectures it is published for.
func (l *Library) Archs() map[string][]string {
	out := map[string][]string{}
	if l.Images == nil {
		return out
	}
	for _, i := range l.Images.Images {
		out[i.Ref] = i.Archs
	}
	return out
}

// loadImages reads images.yaml if present (a series without it declares no images).
func loadImages(fsys fs.FS) (*Images, error) {
	b, err := fs.ReadFile(fsys, ImagesFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ImagesFile, err)
	}
	var im Images
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&im); err != nil {
		return nil, fmt.Errorf("%s: %w", ImagesFile, yamlErr(err))
	}
	var errs []error
	if im.APIVersion != APIVersion || im.Kind != KindImages {
		errs = append(errs, fmt.Errorf("%s: want apiVersion %s and kind %s", ImagesFile, APIVersion, KindImages))
	}
	seen := map[string]bool{}
	for i, img := range im.Images {
		if img.Ref == "" || len(img.Archs) == 0 {
			errs = append(errs, fmt.Errorf("%s: images[%d]: ref and archs are required", ImagesFile, i))
		}
		if seen[img.Ref] {
			errs = append(errs, fmt.Errorf("%s: images[%d]: %s is listed twice", ImagesFile, i, img.Ref))
		}
		seen[img.Ref] = true
		if b := img.Build; b != nil {
			errs = append(errs, checkImageBuild(fsys, i, b)...)
		}
		for _, a := range img.Archs {
			if a != "amd64" && a != "arm64" {
				errs = append(errs, fmt.Errorf("%s: images[%d]: unknown architecture %q (amd64, arm64)", ImagesFile, i, a))
			}
		}
	}
	return &im, errors.Join(errs...)
}

// checkImageBuild checks that a build's context is a folder of the series holding its Dockerfile.
func checkImageBuild(fsys fs.FS, i int, b *ImageBuild) []error {
	where := fmt.Sprintf("%s: images[%d].build", ImagesFile, i)
	if !fs.ValidPath(b.Context) {
		return []error{fmt.Errorf("%s.context: %q: want a folder of the series, as a relative path", where, b.Context)}
	}
	if b.Context == "." && len(b.Paths) == 0 {
		// The whole series as a context: every change anywhere would rebuild the image.
		return []error{fmt.Errorf("%s.paths: a build whose context is the whole series (.) lists the paths its Dockerfile copies", where)}
	}
	df := b.Dockerfile
	if df == "" {
		df = "Dockerfile"
	}
	if !fs.ValidPath(df) {
		return []error{fmt.Errorf("%s.dockerfile: %q: want a path inside the context", where, b.Dockerfile)}
	}
	if st, err := fs.Stat(fsys, b.Context); err != nil || !st.IsDir() {
		return []error{fmt.Errorf("%s.context: %s is not a folder of the series", where, b.Context)}
	}
	if _, err := fs.Stat(fsys, path.Join(b.Context, df)); err != nil {
		return []error{fmt.Errorf("%s.dockerfile: %s has no %s", where, b.Context, df)}
	}
	var errs []error
	for j, p := range b.Paths {
		if !fs.ValidPath(p) || p == "." {
			errs = append(errs, fmt.Errorf("%s.paths[%d]: %q: want a path inside the context", where, j, p))
		} else if _, err := fs.Stat(fsys, path.Join(b.Context, p)); err != nil {
			errs = append(errs, fmt.Errorf("%s.paths[%d]: %s has no %s", where, j, b.Context, p))
		}
	}
	return errs
}

// Builds lists the images of the series' own (those with a build), in images.yaml's order; with
// chapter set, only those of that chapter.
func (l *Library) Builds(chapter string) []Image {
	var out []Image
	if l.Images == nil {
		return out
	}
	for _, i := range l.Images.Images {
		if i.Build != nil && (chapter == "" || i.Chapter == chapter) {
			out = append(out, i)
		}
	}
	return out
}
