package series

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v3"
)

// problem is one validation finding at a field path such as "components[1].chart".
type problem struct {
	path string
	msg  string
}

var (
	dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	// dnsSubdomain is a Kubernetes object name such as a Secret's (at most 253 characters).
	dnsSubdomain = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
	// secretKey is a key of a Secret's data.
	secretKey = regexp.MustCompile(`^[-._a-zA-Z0-9]+$`)
	anchorRe  = regexp.MustCompile(`^#?[A-Za-z0-9_\-.%]+$`)
)

func validateChapter(c *Chapter, o options) []problem {
	var ps []problem
	add := func(p, f string, a ...any) { ps = append(ps, problem{p, fmt.Sprintf(f, a...)}) }
	if c.APIVersion != APIVersion {
		add("apiVersion", "must be %q, got %q", APIVersion, c.APIVersion)
	}
	if c.Kind != KindChapter {
		add("kind", "must be %q, got %q", KindChapter, c.Kind)
	}
	if c.Number < 1 || c.Number > 99 {
		add("number", "must be between 1 and 99, got %d", c.Number)
	}
	if !dnsLabel.MatchString(c.Slug) {
		add("slug", "must be lowercase letters, digits and dashes, got %q", c.Slug)
	}
	if c.Title.Ko == "" || c.Title.En == "" {
		add("title", "needs both ko and en")
	}
	if c.Post.URL != "" {
		if u, err := url.Parse(c.Post.URL); err != nil || u.Scheme != "https" || u.Host == "" {
			add("post.url", "must be the https URL of the published post (or left out until it is published), got %q", c.Post.URL)
		}
	}
	if c.Post.Date != "" {
		if _, err := time.Parse(PostDateLayout, c.Post.Date); err != nil {
			add("post.date", "must be the post's date as YYYY-MM-DD, got %q", c.Post.Date)
		}
	}
	checkAnchor := func(p, a string, required bool) {
		if a == "" {
			if required {
				add(p, "is required: the post section that explains this step")
			}
			return
		}
		if !anchorRe.MatchString(a) {
			add(p, "must be a section anchor like \"#registry\", got %q", a)
		}
	}
	checkAnchor("post.section", c.Post.Section, false)
	seenReq := map[string]bool{}
	for i, r := range c.Requires {
		p := fmt.Sprintf("requires[%d]", i)
		if !strings.HasPrefix(r, "chapter-") {
			add(p, "must name a chapter as chapter-N, got %q", r)
		} else if n, err := strconv.Atoi(strings.TrimPrefix(r, "chapter-")); err != nil || n < 1 {
			add(p, "must name a chapter as chapter-N, got %q", r)
		} else if n == c.Number {
			add(p, "a chapter cannot require itself")
		}
		if seenReq[r] {
			add(p, "%s is listed twice", r)
		}
		seenReq[r] = true
	}
	if len(c.Checks) == 0 {
		add("checks", "an available chapter must declare checks: they prove what `up` brought up (a chapter folder with a %s is available)", SpecFile)
	}
	switch c.Provisioner {
	case "", "kind", "terraform":
	default:
		add("provisioner", "must be kind or terraform, got %q", c.Provisioner)
	}
	comps := map[string]bool{}
	for i, comp := range c.Components {
		p := fmt.Sprintf("components[%d]", i)
		if !dnsLabel.MatchString(comp.Name) || len(comp.Name) > 40 {
			add(p+".name", "must be a DNS label of at most 40 characters, got %q", comp.Name)
		}
		if comps[comp.Name] {
			add(p+".name", "component %q is declared twice", comp.Name)
		}
		comps[comp.Name] = true
		if !dnsLabel.MatchString(comp.Chart) {
			add(p+".chart", "must name a chart folder under charts/, got %q", comp.Chart)
		}
		if !dnsLabel.MatchString(comp.Namespace) {
			add(p+".namespace", "must be a DNS label, got %q", comp.Namespace)
		}
		for j, v := range comp.Values {
			if v == "" || strings.HasPrefix(v, "/") || strings.Contains(v, "..") {
				add(fmt.Sprintf("%s.values[%d]", p, j), "must be a path inside the chapter folder, got %q", v)
			}
		}
		checkAnchor(p+".section", comp.Section, true)
		if comp.Credentials != nil {
			ps = append(ps, validateCredentials(p+".credentials", *comp.Credentials)...)
		}
		if pub := comp.Publish; pub != nil {
			if pub.Dir == "" || pub.Dir == "." || !fs.ValidPath(pub.Dir) {
				add(p+".publish.dir", "must be a folder inside the chapter's, relative and without ..; got %q", pub.Dir)
			}
			if !dnsLabel.MatchString(pub.Repository) {
				add(p+".publish.repository", "must name the repository as a DNS label (served as /<name>.git), got %q", pub.Repository)
			}
			if pub.Service != "" && !dnsLabel.MatchString(pub.Service) {
				add(p+".publish.service", "must be a Service name (DNS label), got %q", pub.Service)
			}
			if pub.Port < 1 || pub.Port > 65535 {
				add(p+".publish.port", "must be the Git server's Service port (1-65535), got %d", pub.Port)
			}
		}
	}
	for i, comp := range c.Components {
		for j, d := range comp.DependsOn {
			if !comps[d] {
				add(fmt.Sprintf("components[%d].dependsOn[%d]", i, j), "unknown component %q in this chapter", d)
			}
			if d == comp.Name {
				add(fmt.Sprintf("components[%d].dependsOn[%d]", i, j), "a component cannot depend on itself")
			}
		}
	}
	if _, err := c.ComponentOrder(); err != nil && len(ps) == 0 {
		add("components", "%v", err)
	}
	checks := map[string]bool{}
	for i, ck := range c.Checks {
		p := fmt.Sprintf("checks[%d]", i)
		if !dnsLabel.MatchString(ck.Name) {
			add(p+".name", "must be lowercase letters, digits and dashes, got %q", ck.Name)
		}
		if checks[ck.Name] {
			add(p+".name", "check %q is declared twice", ck.Name)
		}
		checks[ck.Name] = true
		if o.checkTypes != nil {
			typ, ok := o.checkTypes[ck.Type]
			if !ok {
				add(p+".type", "unknown check type %q (known: %s)", ck.Type, strings.Join(o.checkTypes.Names(), ", "))
			} else {
				ps = append(ps, validateCheck(p, c, ck, typ)...)
			}
		}
		if ck.Expect.Status != 0 && (ck.Expect.Status < 100 || ck.Expect.Status > 599) {
			add(p+".expect.status", "must be an HTTP status, got %d", ck.Expect.Status)
		}
		checkAnchor(p+".section", ck.Section, true)
	}
	for i, o := range c.Open {
		p := fmt.Sprintf("open[%d]", i)
		if !dnsLabel.MatchString(o.Name) {
			add(p+".name", "must be lowercase letters, digits and dashes, got %q", o.Name)
		}
		if o.Component == "" {
			add(p+".component", "is required: the component whose Service to open")
		}
		if o.Port < 1 || o.Port > 65535 {
			add(p+".port", "must be the Service port (1-65535), got %d", o.Port)
		}
	}
	return ps
}

func validateSeries(s *Series) []problem {
	var ps []problem
	add := func(p, f string, a ...any) { ps = append(ps, problem{p, fmt.Sprintf(f, a...)}) }
	if s.APIVersion != APIVersion {
		add("apiVersion", "must be %q, got %q", APIVersion, s.APIVersion)
	}
	if s.Kind != KindSeries {
		add("kind", "must be %q, got %q", KindSeries, s.Kind)
	}
	seen := map[int]bool{}
	for i, e := range s.Chapters {
		p := fmt.Sprintf("chapters[%d]", i)
		if e.Number != i+1 {
			add(p+".number", "chapters must be numbered 1, 2, ... in order; expected %d, got %d", i+1, e.Number)
		}
		if seen[e.Number] {
			add(p+".number", "number %d is used twice", e.Number)
		}
		seen[e.Number] = true
		if !dnsLabel.MatchString(e.Slug) {
			add(p+".slug", "must be lowercase letters, digits and dashes, got %q", e.Slug)
		}
		if e.Title.Ko == "" || e.Title.En == "" {
			add(p+".title", "needs both ko and en")
		}
	}
	return ps
}

// ComponentOrder returns the chapter's components in waves: each wave depends only on earlier
// waves, so a wave's components can be installed in parallel.
func (c *Chapter) ComponentOrder() ([][]Component, error) {
	done := map[string]bool{}
	var waves [][]Component
	left := append([]Component(nil), c.Components...)
	for len(left) > 0 {
		var wave, rest []Component
		for _, comp := range left {
			ready := true
			for _, d := range comp.DependsOn {
				if !done[d] {
					ready = false
				}
			}
			if ready {
				wave = append(wave, comp)
			} else {
				rest = append(rest, comp)
			}
		}
		if len(wave) == 0 {
			names := make([]string, len(rest))
			for i, r := range rest {
				names[i] = r.Name
			}
			return nil, fmt.Errorf("dependsOn forms a cycle among %s", strings.Join(names, ", "))
		}
		for _, w := range wave {
			done[w.Name] = true
		}
		waves = append(waves, wave)
		left = rest
	}
	return waves, nil
}

// validateCredentials checks a component's credentials: the Secret's name, the password's key, and
// the user as exactly one of a literal name and a key.
func validateCredentials(p string, c Credentials) []problem {
	var ps []problem
	add := func(f, format string, a ...any) { ps = append(ps, problem{p + f, fmt.Sprintf(format, a...)}) }
	switch {
	case c.Secret == "":
		add(".secret", "is required: the Secret, in the component's namespace, that holds the login")
	case len(c.Secret) > 253 || !dnsSubdomain.MatchString(c.Secret):
		add(".secret", "must be a Secret name (lowercase letters, digits, dashes and dots), got %q", c.Secret)
	}
	switch {
	case c.Username == "" && c.UsernameKey == "":
		add("", "needs the user: username (the name itself) or usernameKey (its key in the Secret)")
	case c.Username != "" && c.UsernameKey != "":
		add("", "username and usernameKey are both set: give the name itself or its key in the Secret, not both")
	case c.UsernameKey != "" && !secretKey.MatchString(c.UsernameKey):
		add(".usernameKey", "must be a key of the Secret (letters, digits, '-', '_', '.'), got %q", c.UsernameKey)
	}
	switch {
	case c.PasswordKey == "":
		add(".passwordKey", "is required: the key of the password in the Secret")
	case !secretKey.MatchString(c.PasswordKey):
		add(".passwordKey", "must be a key of the Secret (letters, digits, '-', '_', '.'), got %q", c.PasswordKey)
	}
	return ps
}

// validateCheck checks ck against its type: component and port when it needs an endpoint, its
// params, and the type's own rules.
func validateCheck(p string, ch *Chapter, ck Check, typ CheckType) []problem {
	var ps []problem
	add := func(f, format string, a ...any) { ps = append(ps, problem{p + f, fmt.Sprintf(format, a...)}) }
	// Whether the component exists is checked against the chapter's closure (Library.crossCheck).
	if typ.Endpoint {
		if ck.Component == "" {
			add(".component", "is required for a %s check", ck.Type)
		}
		if ck.Port < 1 || ck.Port > 65535 {
			add(".port", "must be the Service port (1-65535), got %d", ck.Port)
		}
	}
	known := append(append([]string{}, typ.Required...), typ.Optional...)
	if len(known) == 0 && len(ck.Params) > 0 {
		add(".params", "a %s check takes no params", ck.Type)
	}
	for _, k := range typ.Required {
		if strings.TrimSpace(ck.Params[k]) == "" {
			add(".params", "a %s check needs params.%s", ck.Type, k)
		}
	}
	keys := make([]string, 0, len(ck.Params))
	for k := range ck.Params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if len(known) > 0 && !slices.Contains(known, k) {
			add(".params."+k, "unknown param for a %s check (known: %s)", ck.Type, strings.Join(known, ", "))
		}
		if strings.HasSuffix(k, "Secret") {
			if name, key, ok := strings.Cut(ck.Params[k], "/"); !ok || !dnsLabel.MatchString(name) || key == "" {
				add(".params."+k, "must be \"secret-name/key\", got %q", ck.Params[k])
			}
		}
	}
	if typ.Validate != nil {
		for _, fp := range typ.Validate(ch, ck) {
			add("."+fp.Field, "%s", fp.Message)
		}
	}
	return ps
}

// located turns problems into one error, each line "file:line: path: message".
func located(file string, root *yaml.Node, ps []problem) error {
	errs := make([]error, 0, len(ps))
	for _, p := range ps {
		line := lineOf(root, p.path)
		errs = append(errs, fmt.Errorf("%s:%d: %s: %s", file, line, p.path, p.msg))
	}
	return errors.Join(errs...)
}

// lineOf finds the line of a field path ("components[1].chart") in a mapping node; when the exact
// field is absent it returns the line of the nearest ancestor that exists.
func lineOf(n *yaml.Node, p string) int {
	line := n.Line
	cur := n
	for _, part := range strings.Split(p, ".") {
		name, idx := part, -1
		if i := strings.IndexByte(part, '['); i >= 0 && strings.HasSuffix(part, "]") {
			name = part[:i]
			idx, _ = strconv.Atoi(part[i+1 : len(part)-1])
		}
		next := mapValue(cur, name)
		if next == nil {
			return line
		}
		cur, line = next, next.Line
		if idx >= 0 {
			if cur.Kind != yaml.SequenceNode || idx >= len(cur.Content) {
				return line
			}
			cur = cur.Content[idx]
			line = cur.Line
		}
	}
	return line
}

func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}
