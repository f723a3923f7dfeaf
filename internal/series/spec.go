// Package series holds the chapter model: the versioned chapter spec (chapter.yaml), the series
// table of contents (series.yaml), strict decoding, validation and the resolution of requires.
package series

import (
	"fmt"
	"sort"
	"time"

	yaml "go.yaml.in/yaml/v3"
)

// APIVersion and Kind identify a chapter spec document.
const (
	APIVersion  = "mlops-series/v1alpha1"
	KindChapter = "Chapter"
	KindSeries  = "Series"
)

// Localized is a text in the two languages of the series.
type Localized struct {
	Ko string `yaml:"ko"`
	En string `yaml:"en"`
}

// Lang returns the text in lang ("ko" or "en"), falling back to the other language.
func (l Localized) Lang(lang string) string {
	if lang == "ko" && l.Ko != "" {
		return l.Ko
	}
	if l.En != "" {
		return l.En
	}
	return l.Ko
}

// Chapter is one chapter spec: series/chapter-N-slug/chapter.yaml.
type Chapter struct {
	APIVersion string    `yaml:"apiVersion"`
	Kind       string    `yaml:"kind"`
	Number     int       `yaml:"number"`
	Slug       string    `yaml:"slug"`
	Title      Localized `yaml:"title"`
	// Summary is the hand-written lead of the chapter's docs page.
	Summary    Localized   `yaml:"summary"`
	Post       Post        `yaml:"post"`
	Requires   []string    `yaml:"requires"`
	Components []Component `yaml:"components"`
	Checks     []Check     `yaml:"checks"`
	// Open lists what `open` and the final hint of `up` point the reader at.
	Open []Open `yaml:"open"`
	// Provisioner is the cluster provisioner `up` uses by default for this chapter ("kind" or
	// "terraform"); empty means kind. --provisioner and --context override it.
	Provisioner string `yaml:"provisioner"`

	// Dir is the chapter folder, relative to the series root (set by the loader).
	Dir string `yaml:"-"`
	// File is the spec's path as shown in errors (set by the loader).
	File string `yaml:"-"`
	// node is the decoded document, for the lines of problems found across files.
	node *yaml.Node
}

// ID is the chapter's identifier, "chapter-N".
func (c *Chapter) ID() string { return fmt.Sprintf("chapter-%d", c.Number) }

// Component finds one of the chapter's components by name.
func (c *Chapter) Component(name string) (Component, bool) {
	for _, comp := range c.Components {
		if comp.Name == name {
			return comp, true
		}
	}
	return Component{}, false
}

// Post points at the blog post the chapter belongs to.
type Post struct {
	// URL of the post, once it is published; section anchors are appended to it. Left out, the
	// CLI and the docs link the chapter's generated page instead (see Chapter.Read).
	URL string `yaml:"url"`
	// Section is the anchor of the post's introduction (used for the cluster and preflight steps).
	Section string `yaml:"section"`
	// Date is the post's publication date, YYYY-MM-DD: the date of its Jekyll draft
	// (`docs --jekyll`), which names the file YYYY-MM-DD-slug.md. Optional.
	Date string `yaml:"date"`
}

// PostDateLayout is the layout of Post.Date (time.Parse).
const PostDateLayout = "2006-01-02"

// Link returns the post URL with an anchor ("#x" or "x"); an empty anchor gives the post itself.
func (p Post) Link(anchor string) string {
	if anchor == "" {
		return p.URL
	}
	if anchor[0] != '#' {
		anchor = "#" + anchor
	}
	return p.URL + anchor
}

// DocsDir is the folder, relative to the repository root, where `mlops-series docs` writes the
// generated pages (ko/ and en/).
const DocsDir = "docs"

// ReadLang is the language of the generated page that Read links: the series' readers are Korean.
const ReadLang = "ko"

// DocsPage is the path of the chapter's generated page in lang, relative to DocsDir.
func (c *Chapter) DocsPage(lang string) string { return lang + "/" + c.ID() + ".md" }

// Read is where the CLI sends a reader for one section of the chapter (anchor "#x" or "x"; empty:
// the whole chapter): the post when the spec sets its URL; otherwise the section on the chapter's
// generated Korean page, as a path from the repository root, e.g. docs/ko/chapter-6.md#registry.
// That page lists every section a step points at, and `docs --check` fails when a linked file or
// anchor is missing, so the link always leads somewhere.
func (c *Chapter) Read(anchor string) string {
	if c.Post.URL != "" {
		return c.Post.Link(anchor)
	}
	return Post{URL: DocsDir + "/" + c.DocsPage(ReadLang)}.Link(anchor)
}

// Component is one Helm release of the project's own charts.
type Component struct {
	Name      string `yaml:"name"`
	Chart     string `yaml:"chart"`
	Namespace string `yaml:"namespace"`
	// Values are files relative to the chapter folder, merged in order over the chart's defaults.
	Values    []string  `yaml:"values"`
	DependsOn []string  `yaml:"dependsOn"`
	Section   string    `yaml:"section"`
	About     Localized `yaml:"about"`
	// Timeout bounds the wait for the release to become ready (default 5m).
	Timeout Duration `yaml:"timeout"`
	// Credentials say where the login of the component's web UI is kept (`mlops-series creds`).
	Credentials *Credentials `yaml:"credentials"`
	// Publish makes the component a Git server that `up` pushes a folder of the chapter to, once
	// the release is ready (chapter 2: the repository Flux syncs from).
	Publish *Publish `yaml:"publish"`
}

// Publish names a folder of the chapter and the repository of a component's Git server that
// holds it: `up` and `mlops-series gitops push` commit the folder to the repository's main branch
// over HTTP (a port-forward to Service:Port, or the component's --endpoint).
type Publish struct {
	// Dir is the folder, relative to the chapter's.
	Dir string `yaml:"dir"`
	// Repository is the repository's name: the server serves it as /<name>.git.
	Repository string `yaml:"repository"`
	// Service is the Git server's Service (default: the component's name) and Port its port.
	Service string `yaml:"service"`
	Port    int    `yaml:"port"`
}

// ServiceName is the Service the folder is pushed through.
func (p Publish) ServiceName(component string) string {
	if p.Service != "" {
		return p.Service
	}
	return component
}

// Credentials name the Secret, in the component's namespace, that the chart generates with the login
// of the tool's web UI: the password under PasswordKey, and the user name either under UsernameKey
// or given literally as Username (exactly one of the two).
type Credentials struct {
	Secret      string `yaml:"secret"`
	Username    string `yaml:"username"`
	UsernameKey string `yaml:"usernameKey"`
	PasswordKey string `yaml:"passwordKey"`
}

// Check is one smoke check of a chapter.
type Check struct {
	Name string `yaml:"name"`
	// Type names an entry of the check types table (internal/check).
	Type string `yaml:"type"`
	// Component the check targets (for pods: empty means every component of the chapter).
	Component string `yaml:"component"`
	// Service and Port name what to reach inside the cluster (Service defaults to the component name).
	Service string `yaml:"service"`
	Port    int    `yaml:"port"`
	// Path and Expect are for http checks.
	Path    string    `yaml:"path"`
	Expect  Expect    `yaml:"expect"`
	Section string    `yaml:"section"`
	About   Localized `yaml:"about"`
	Timeout Duration  `yaml:"timeout"`
	// Params are the check type's own settings (CheckType.Required and Optional), e.g. the DAG an airflow-dag-run
	// triggers. A "...Secret" param names "secret/key" in the component's namespace.
	Params map[string]string `yaml:"params"`
}

// Expect is what an http check wants back.
type Expect struct {
	Status int    `yaml:"status"`
	Body   string `yaml:"body"`
}

// Open is a named web UI of the chapter.
type Open struct {
	Name      string `yaml:"name"`
	Component string `yaml:"component"`
	Service   string `yaml:"service"`
	Port      int    `yaml:"port"`
	Path      string `yaml:"path"`
}

// CheckType is what validation knows of a check type. The table of check types is internal/check's
// (check.Types, which also holds how each runs); whoever loads specs to run them hands it to Load
// or DecodeChapter with WithCheckTypes, so that a check type is declared in one place.
type CheckType struct {
	// Endpoint says the check talks to a Service of a component (so component and port are
	// required, and --endpoint NAME=URL can replace the port-forward); otherwise it only talks to
	// the Kubernetes API.
	Endpoint bool
	// Required and Optional are the params it takes; any other key is an error.
	Required, Optional []string
	// Validate reports the type's own rules for check ck of chapter ch (optional).
	Validate func(ch *Chapter, ck Check) []FieldProblem
}

// FieldProblem is a problem with one field of a check: Field is relative to the check
// ("path", "component", "params.query").
type FieldProblem struct{ Field, Message string }

// CheckTypes maps a check type's name to its declaration.
type CheckTypes map[string]CheckType

// Names returns the type names, sorted.
func (t CheckTypes) Names() []string {
	names := make([]string, 0, len(t))
	for n := range t {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Option tunes Load and DecodeChapter.
type Option func(*options)

type options struct{ checkTypes CheckTypes }

// WithCheckTypes validates each check against the table of check types: its type must be in it,
// and its params, component and port must fit the type. Without it only the spec's own form is
// validated (names, sections, the components named), as when the specs are read for docs.
func WithCheckTypes(t CheckTypes) Option { return func(o *options) { o.checkTypes = t } }

func newOptions(opts []Option) options {
	var o options
	for _, f := range opts {
		f(&o)
	}
	return o
}

// ServiceName is the Service the check reaches.
func (c Check) ServiceName() string {
	if c.Service != "" {
		return c.Service
	}
	return c.Component
}

// Duration is a time.Duration written as "90s" or "5m" in YAML.
type Duration struct{ time.Duration }

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("invalid duration %q (use e.g. 90s or 5m)", string(b))
	}
	d.Duration = v
	return nil
}

// MarshalText writes the duration as a Go duration string.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Or returns d, or def when d is zero.
func (d Duration) Or(def time.Duration) time.Duration {
	if d.Duration == 0 {
		return def
	}
	return d.Duration
}

// Series is the table of contents: series/series.yaml.
type Series struct {
	APIVersion string    `yaml:"apiVersion"`
	Kind       string    `yaml:"kind"`
	Title      Localized `yaml:"title"`
	Chapters   []Entry   `yaml:"chapters"`
}

// Entry is one line of the table of contents.
type Entry struct {
	Number int       `yaml:"number"`
	Slug   string    `yaml:"slug"`
	Title  Localized `yaml:"title"`
	Tools  string    `yaml:"tools"`
}

// ID is "chapter-N".
func (e Entry) ID() string { return fmt.Sprintf("chapter-%d", e.Number) }
