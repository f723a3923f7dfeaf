package action

import (
	"strings"

	"github.com/mlops-series/mlops-series/internal/i18n"
)

// ListItem is one chapter of the series, available or coming.
type ListItem struct {
	ID      string `json:"id"`
	Number  int    `json:"number"`
	Slug    string `json:"slug"`
	TitleKo string `json:"titleKo"`
	TitleEn string `json:"titleEn"`
	Tools   string `json:"tools"`
	// Post is the published post (empty until the chapter's spec sets it).
	Post string `json:"post,omitempty"`
	// Docs is the chapter's generated page in this repository (available chapters).
	Docs      string   `json:"docs,omitempty"`
	Available bool     `json:"available"`
	Requires  []string `json:"requires,omitempty"`
}

// List returns the whole series in order; only chapters with a spec are available.
func (e *Env) List() []ListItem {
	var out []ListItem
	for _, en := range e.Lib.TOC.Chapters {
		it := ListItem{ID: en.ID(), Number: en.Number, Slug: en.Slug, TitleKo: en.Title.Ko, TitleEn: en.Title.En,
			Tools: en.Tools}
		if ch, ok := e.Lib.Chapters[en.ID()]; ok {
			it.Available = true
			it.Requires = ch.Requires
			it.Post = ch.Post.URL
			it.Docs = ch.Read("")
		}
		out = append(out, it)
	}
	return out
}

// ParseEndpoints turns NAME=URL flags into a map.
func ParseEndpoints(flags []string) (map[string]string, error) {
	out := map[string]string{}
	for _, f := range flags {
		k, v, ok := strings.Cut(f, "=")
		if !ok || k == "" || !(strings.HasPrefix(v, "http://") || strings.HasPrefix(v, "https://")) {
			return nil, i18n.Errorf(i18n.BadEndpoint, f)
		}
		out[k] = v
	}
	return out, nil
}
