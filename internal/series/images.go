package series

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"

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
		for _, a := range img.Archs {
			if a != "amd64" && a != "arm64" {
				errs = append(errs, fmt.Errorf("%s: images[%d]: unknown architecture %q (amd64, arm64)", ImagesFile, i, a))
			}
		}
	}
	return &im, errors.Join(errs...)
}
