package series

import (
	"strings"
	"testing"
)

// post.date is optional; when set it is a calendar date, YYYY-MM-DD (it names the Jekyll draft).
func TestPostDate(t *testing.T) {
	for date, wantErr := range map[string]bool{
		"":              false,
		"2027-02-08":    false,
		"2027-2-8":      true,
		"2027-02-30":    true,
		"08.02.2027":    true,
		"2027-02-08T10": true,
	} {
		spec := validChapter
		if date != "" {
			spec = strings.Replace(spec, `post: {section: "#overview"}`, `post: {section: "#overview", date: "`+date+`"}`, 1)
		}
		c, err := DecodeChapter("c.yaml", []byte(spec))
		switch {
		case wantErr && err == nil:
			t.Errorf("date %q: accepted", date)
		case wantErr && !strings.Contains(err.Error(), "c.yaml:6: post.date: must be the post's date as YYYY-MM-DD"):
			t.Errorf("date %q: error %q does not name the field and its format", date, err)
		case !wantErr && err != nil:
			t.Errorf("date %q: %v", date, err)
		case !wantErr && c.Post.Date != date:
			t.Errorf("date %q: decoded as %q", date, c.Post.Date)
		}
	}
}
