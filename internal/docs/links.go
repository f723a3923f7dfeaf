package docs

import (
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

var (
	// linkRe finds the target of a Markdown link or image: ](target). The pages use no titles.
	linkRe = regexp.MustCompile(`\]\(([^()\s]*)\)`)
	// headingRe is an ATX heading; idRe an explicit HTML anchor.
	headingRe = regexp.MustCompile(`^ {0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$`)
	idRe      = regexp.MustCompile(`<a\s+(?:id|name)="([^"]+)"`)
	tagRe     = regexp.MustCompile(`<[^>]*>`)
	inlineRe  = regexp.MustCompile("`[^`]*`")
	textRe    = regexp.MustCompile(`!?\[([^\]]*)\]\([^)]*\)`)
)

// BrokenLinksError lists the relative links of the pages whose file or anchor does not exist.
type BrokenLinksError struct {
	Dir   string
	Links []string // "page: link: what is wrong", sorted by page
}

func (e *BrokenLinksError) Error() string {
	return fmt.Sprintf("docs in %s link what does not exist:\n  %s", e.Dir, strings.Join(e.Links, "\n  "))
}

// checkLinks checks every relative link of the generated pages: its file is a generated page, or
// a file on disk (relative to dir), and its anchor is a heading of that page (as GitHub names it)
// or an explicit <a id>, and only one. Links with a scheme (the published posts) are not fetched.
func checkLinks(dir string, files map[string][]byte) error {
	anchors := map[string]map[string]int{}
	anchorsOf := func(name string) (map[string]int, error) {
		if a, ok := anchors[name]; ok {
			return a, nil
		}
		content, ok := files[name]
		if !ok {
			b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
			if err != nil {
				return nil, err
			}
			content = b
		}
		anchors[name] = markdownAnchors(string(content))
		return anchors[name], nil
	}
	var broken []string
	for _, name := range sortedKeys(files) {
		for _, target := range markdownLinks(string(files[name])) {
			if u, err := url.Parse(target); err != nil || u.Scheme != "" {
				if err != nil {
					broken = append(broken, fmt.Sprintf("%s: link %s: %v", name, target, err))
				}
				continue
			}
			file, frag, _ := strings.Cut(target, "#")
			dest := name
			if file != "" {
				dest = path.Join(path.Dir(name), file)
			}
			if _, ok := files[dest]; !ok {
				if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(dest))); err != nil {
					broken = append(broken, fmt.Sprintf("%s: link %s: no file %s", name, target, dest))
					continue
				}
			}
			if frag == "" {
				continue
			}
			if !strings.HasSuffix(dest, ".md") {
				broken = append(broken, fmt.Sprintf("%s: link %s: an anchor into %s, which is not a page", name, target, dest))
				continue
			}
			a, err := anchorsOf(dest)
			if err != nil {
				broken = append(broken, fmt.Sprintf("%s: link %s: %v", name, target, err))
				continue
			}
			if f, err := url.PathUnescape(frag); err == nil {
				frag = f
			}
			switch a[frag] {
			case 0:
				broken = append(broken, fmt.Sprintf("%s: link %s: %s has no anchor #%s", name, target, dest, frag))
			case 1:
			default:
				broken = append(broken, fmt.Sprintf("%s: link %s: %s has %d anchors #%s", name, target, dest, a[frag], frag))
			}
		}
	}
	if len(broken) > 0 {
		return &BrokenLinksError{Dir: dir, Links: broken}
	}
	return nil
}

// markdownLinks returns the link targets of a page, outside code.
func markdownLinks(page string) []string {
	var out []string
	for _, line := range proseLines(page) {
		for _, m := range linkRe.FindAllStringSubmatch(inlineRe.ReplaceAllString(line, ""), -1) {
			out = append(out, m[1])
		}
	}
	return out
}

// markdownAnchors counts the anchors of a page: each heading's (numbered -1, -2 ... when a slug
// repeats, as GitHub does) and each explicit <a id="..."> or <a name="...">.
func markdownAnchors(page string) map[string]int {
	out := map[string]int{}
	seen := map[string]int{}
	for _, line := range proseLines(page) {
		for _, m := range idRe.FindAllStringSubmatch(line, -1) {
			out[m[1]]++
		}
		m := headingRe.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		s := slug(m[1])
		if n := seen[s]; n > 0 {
			seen[s]++
			s += "-" + strconv.Itoa(n)
		} else {
			seen[s] = 1
		}
		out[s]++
	}
	return out
}

// proseLines returns the lines of a page that are not inside a fenced code block.
func proseLines(page string) []string {
	lines := strings.Split(page, "\n")
	var out []string
	for _, i := range proseIndexes(lines) {
		out = append(out, lines[i])
	}
	return out
}

// proseIndexes returns the indexes of the lines that are not inside a fenced code block (nor a
// fence line itself).
func proseIndexes(lines []string) []int {
	var out []int
	fence := ""
	for i, line := range lines {
		trimmed := strings.TrimLeft(line, " ")
		if fence != "" {
			if strings.HasPrefix(trimmed, fence) {
				fence = ""
			}
			continue
		}
		if strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~") {
			fence = trimmed[:3]
			continue
		}
		out = append(out, i)
	}
	return out
}

// slug is the anchor GitHub gives a heading: its text (without tags, code marks and link
// targets) in lower case, with every character that is not a letter, mark, digit, space, hyphen
// or underscore removed, and each space turned into a hyphen.
func slug(heading string) string {
	text := textRe.ReplaceAllString(heading, "$1")
	text = tagRe.ReplaceAllString(text, "")
	text = strings.ReplaceAll(text, "`", "")
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(text)) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.IsMark(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}
