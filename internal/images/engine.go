package images

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// Image is an image held under one reference.
type Image struct {
	// Ref is the normalized reference ("docker.io/library/postgres:17"); empty for an image
	// known by ID only.
	Ref string `json:"ref"`
	// ID is the image ID: the digest of its config ("sha256:..."), the same in the engine and,
	// once loaded, in the kind node.
	ID string `json:"id"`
	// Digests are the registry digests it was pulled by ("docker.io/library/postgres@sha256:...").
	Digests []string `json:"digests,omitempty"`
}

// Catalog is what a place (the local engine, a kind node) holds, by reference.
type Catalog struct {
	byRef    map[string]Image
	byDigest map[string]Image
}

// NewCatalog indexes images by their normalized reference and registry digests.
func NewCatalog(imgs []Image) Catalog {
	c := Catalog{byRef: map[string]Image{}, byDigest: map[string]Image{}}
	for _, im := range imgs {
		if im.Ref != "" {
			im.Ref = Normalize(im.Ref)
			c.byRef[im.Ref] = im
		}
		for _, d := range im.Digests {
			c.byDigest[repository(d)+"@"+digestOf(d)] = im
		}
	}
	return c
}

// Lookup finds ref: by its registry digest when it is pinned by one, else by repository and tag.
func (c Catalog) Lookup(ref string) (Image, bool) {
	n := Normalize(ref)
	if d := digestOf(n); d != "" {
		im, ok := c.byDigest[repository(n)+"@"+d]
		return im, ok
	}
	im, ok := c.byRef[n]
	return im, ok
}

// Refs returns every reference the catalog holds, sorted.
func (c Catalog) Refs() []string {
	out := make([]string, 0, len(c.byRef))
	for r := range c.byRef {
		out = append(out, r)
	}
	slices.Sort(out)
	return out
}

// Len is the number of references held.
func (c Catalog) Len() int { return len(c.byRef) }

// Engine is the CLI of the local container engine.
type Engine struct {
	// Name is docker, podman or nerdctl.
	Name string
	// Bin is the executable to run (default: Name on PATH).
	Bin string
}

// NewEngine returns the engine of that name ("" is docker).
func NewEngine(name string) *Engine {
	if name == "" {
		name = "docker"
	}
	return &Engine{Name: name}
}

func (e *Engine) bin() string {
	if e.Bin != "" {
		return e.Bin
	}
	return e.Name
}

// command runs the engine with args; it returns stdout, and on failure an error naming the
// command with the engine's own message (the last lines of its stderr).
func (e *Engine) command(ctx context.Context, stdin io.Reader, stdout io.Writer, args ...string) error {
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, e.bin(), args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, &stderr
	if err := cmd.Run(); err != nil {
		return e.cmdErr(ctx, args, stderr.String(), err)
	}
	return nil
}

func (e *Engine) cmdErr(ctx context.Context, args []string, stderr string, err error) error {
	what := e.Name + " " + args[0]
	if ctx.Err() != nil {
		return fmt.Errorf("%s: interrupted: %w", what, ctx.Err())
	}
	if msg := lastLines(stderr, 3); msg != "" {
		return fmt.Errorf("%s: %s (%w)", what, msg, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// lastLines returns the last n non-empty lines of s, joined by "; ".
func lastLines(s string, n int) string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		// Skip the CLI's usage hint ("Run 'docker run --help' for more information").
		if l = strings.TrimSpace(l); l != "" && !strings.HasSuffix(l, "for more information") {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "; ")
}

// Images lists what the engine holds.
func (e *Engine) Images(ctx context.Context) (Catalog, error) {
	var out bytes.Buffer
	if e.Name == "podman" {
		if err := e.command(ctx, nil, &out, "images", "--format", "json"); err != nil {
			return Catalog{}, err
		}
		imgs, err := parsePodmanImages(out.Bytes())
		if err != nil {
			return Catalog{}, fmt.Errorf("read `podman images`: %w", err)
		}
		return NewCatalog(imgs), nil
	}
	if err := e.command(ctx, nil, &out, "image", "ls", "--no-trunc", "--digests", "--format", "{{json .}}"); err != nil {
		return Catalog{}, err
	}
	imgs, err := parseDockerImages(out.Bytes())
	if err != nil {
		return Catalog{}, fmt.Errorf("read `%s image ls`: %w", e.Name, err)
	}
	return NewCatalog(imgs), nil
}

// parseDockerImages reads `docker image ls --format '{{json .}}'`: one object a line, one line per
// repository and tag (docker's short names: "postgres", "<none>" for none).
func parseDockerImages(b []byte) ([]Image, error) {
	var out []Image
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var row struct{ Repository, Tag, Digest, ID string }
		if err := json.Unmarshal(line, &row); err != nil {
			return nil, err
		}
		im := Image{ID: withSHA(row.ID)}
		if row.Repository != "" && row.Repository != "<none>" {
			if row.Tag != "" && row.Tag != "<none>" {
				im.Ref = row.Repository + ":" + row.Tag
			}
			if row.Digest != "" && row.Digest != "<none>" {
				im.Digests = []string{row.Repository + "@" + row.Digest}
			}
		}
		out = append(out, im)
	}
	return out, sc.Err()
}

// parsePodmanImages reads `podman images --format json`: one object per image with every name.
func parsePodmanImages(b []byte) ([]Image, error) {
	var rows []struct {
		ID          string   `json:"Id"`
		Names       []string `json:"Names"`
		RepoDigests []string `json:"RepoDigests"`
	}
	if err := json.Unmarshal(b, &rows); err != nil {
		return nil, err
	}
	var out []Image
	for _, r := range rows {
		names := r.Names
		if len(names) == 0 {
			names = []string{""}
		}
		for _, n := range names {
			out = append(out, Image{Ref: n, ID: withSHA(r.ID), Digests: r.RepoDigests})
		}
	}
	return out, nil
}

func withSHA(id string) string {
	if id != "" && !strings.Contains(id, ":") {
		return "sha256:" + id
	}
	return id
}

// Pull pulls ref, writing the engine's progress to w.
func (e *Engine) Pull(ctx context.Context, ref string, w io.Writer) error {
	var tail bytes.Buffer
	cmd := exec.CommandContext(ctx, e.bin(), "pull", ref)
	out := io.MultiWriter(w, &tail)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("pull %s: %w", ref, e.cmdErr(ctx, []string{"pull"}, tail.String(), err))
	}
	return nil
}

// SaveTo writes one docker-save archive of refs to w.
func (e *Engine) SaveTo(ctx context.Context, w io.Writer, refs []string) error {
	args := []string{"save"}
	if e.Name == "podman" {
		args = append(args, "--multi-image-archive", "--format", "docker-archive")
	}
	return e.command(ctx, nil, w, append(args, refs...)...)
}

// SaveFile has the engine's CLI write one docker-save archive of refs to file (no copy through
// this process).
func (e *Engine) SaveFile(ctx context.Context, file string, refs []string) error {
	args := []string{"save", "-o", file}
	if e.Name == "podman" {
		args = append(args, "--multi-image-archive", "--format", "docker-archive")
	}
	return e.command(ctx, nil, io.Discard, append(args, refs...)...)
}

// Save writes one docker-save archive of refs to file; on failure no file is left behind. Refs
// the engine lacks are an *ErrNotInEngine, checked before anything is written.
func (e *Engine) Save(ctx context.Context, file string, refs []string) error {
	local, err := e.Images(ctx)
	if err != nil {
		return fmt.Errorf("save images to %s: %w", file, err)
	}
	if err := Missing(local, refs, ""); err != nil {
		return fmt.Errorf("save images to %s: %w", file, err)
	}
	f, err := os.CreateTemp(filepath.Dir(file), "."+filepath.Base(file)+".*")
	if err != nil {
		return fmt.Errorf("save images to %s: %w", file, err)
	}
	tmp := f.Name()
	err = e.SaveTo(ctx, f, refs)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, file)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("save images to %s: %w", file, err)
	}
	return nil
}

// Load loads a docker-save archive into the engine and returns the references it loaded.
func (e *Engine) Load(ctx context.Context, file string) ([]string, error) {
	if _, err := os.Stat(file); err != nil {
		return nil, fmt.Errorf("load images: %w", err)
	}
	var out bytes.Buffer
	if err := e.command(ctx, nil, &out, "load", "-i", file); err != nil {
		return nil, fmt.Errorf("load images from %s: %w", file, err)
	}
	return parseLoaded(out.String()), nil
}

// parseLoaded reads the references from `docker load` ("Loaded image: x:1") and `podman load`
// ("Loaded image: x:1" or "Loaded image(s): x:1,y:2"); images loaded by ID only are left out.
func parseLoaded(out string) []string {
	var refs []string
	for _, l := range strings.Split(out, "\n") {
		_, list, ok := strings.Cut(l, "Loaded image: ")
		if !ok {
			_, list, ok = strings.Cut(l, "Loaded image(s): ")
		}
		if !ok {
			continue
		}
		for _, r := range strings.Split(list, ",") {
			if r = strings.TrimSpace(r); r != "" && !strings.HasPrefix(r, "sha256:") {
				refs = append(refs, Normalize(r))
			}
		}
	}
	return refs
}

// Running says, for each container named, whether it is running. A container that does not
// exist (any more) is not running.
func (e *Engine) Running(ctx context.Context, names ...string) (map[string]bool, error) {
	out := make(map[string]bool, len(names))
	for _, n := range names {
		var b bytes.Buffer
		err := e.command(ctx, nil, &b, "inspect", "--type", "container", "--format", "{{.State.Running}}", n)
		switch {
		case err == nil:
			out[n] = strings.TrimSpace(b.String()) == "true"
		case ctx.Err() != nil:
			return nil, err
		default:
			// Gone between the listing and this question (a concurrent delete): not running.
			ok, lerr := e.exists(ctx, n)
			if lerr != nil || ok {
				return nil, err
			}
			out[n] = false
		}
	}
	return out, nil
}

// exists says whether a container of that name exists.
func (e *Engine) exists(ctx context.Context, name string) (bool, error) {
	var b bytes.Buffer
	if err := e.command(ctx, nil, &b, "ps", "-a", "--filter", "name=^"+name+"$", "--format", "{{.Names}}"); err != nil {
		return false, err
	}
	return strings.TrimSpace(b.String()) != "", nil
}

// Run runs a container and returns the engine's error output when it cannot: the doctor's probes
// of what kind needs from the engine.
func (e *Engine) Run(ctx context.Context, args ...string) error {
	return e.command(ctx, nil, io.Discard, append([]string{"run"}, args...)...)
}

// ErrNotInEngine lists images the local engine does not hold.
type ErrNotInEngine struct {
	Refs []string
	// Chapter is the CHAPTER argument to repeat in the advice ("" for all chapters).
	Chapter string
}

func (e *ErrNotInEngine) Error() string {
	arg := ""
	if e.Chapter != "" {
		arg = " " + e.Chapter
	}
	n := fmt.Sprintf("%d images are", len(e.Refs))
	if len(e.Refs) == 1 {
		n = "1 image is"
	}
	return fmt.Sprintf("%s not in the local engine: %s; run `mlops-series images pull%s` (needs a registry), "+
		"or `mlops-series images load FILE` with an archive `mlops-series images save FILE%s` wrote where a registry answers",
		n, strings.Join(e.Refs, ", "), arg, arg)
}

// Missing returns the refs the catalog lacks, as an *ErrNotInEngine (nil when none).
func Missing(local Catalog, refs []string, chapter string) error {
	var missing []string
	for _, r := range refs {
		if _, ok := local.Lookup(r); !ok {
			missing = append(missing, r)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return &ErrNotInEngine{Refs: missing, Chapter: chapter}
}

// IsNotInEngine tells whether err says images are missing from the engine.
func IsNotInEngine(err error) bool {
	var e *ErrNotInEngine
	return errors.As(err, &e)
}
