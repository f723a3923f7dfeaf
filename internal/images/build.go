package images

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// InputsLabel is the label an image built by Build carries: the digest of its build context and
// build arguments, so an unchanged image is not built again.
const InputsLabel = "io.mlops-series.inputs"

// Build is one image the series builds from a folder of its own (a chapter's serving app, its
// notebook image): the reference it is tagged with, the build context, the Dockerfile in it.
type Build struct {
	Ref string
	// Context is the build context; Dockerfile a path in it ("" is "Dockerfile").
	Context    fs.FS
	Dockerfile string
	// Include lists the files and folders of Context the image is built from (nil: all of it);
	// only they are hashed and sent to the engine, so a change elsewhere rebuilds nothing.
	Include []string
	// Args are the --build-arg values.
	Args map[string]string
	// Files are added to the build context (name in the context -> content), e.g. a CA bundle
	// that a build argument names; they count in the inputs.
	Files map[string][]byte
}

// roots are the paths of Context the build reads: the Dockerfile and Include (or everything).
func (b Build) roots() []string {
	if len(b.Include) == 0 {
		return []string{"."}
	}
	return append([]string{b.dockerfile()}, b.Include...)
}

// walk calls fn for every file and folder of the build context, in a stable order.
func (b Build) walk(fn func(p string, d fs.DirEntry) error) error {
	seen := map[string]bool{}
	for _, root := range b.roots() {
		if err := checkRelative(root); err != nil {
			return err
		}
		err := fs.WalkDir(b.Context, root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if seen[p] {
				return nil
			}
			seen[p] = true
			return fn(p, d)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// Inputs is the digest of b's context (every file's path, mode and content) and build arguments.
func (b Build) Inputs() (string, error) {
	h := sha256.New()
	err := b.walk(func(p string, d fs.DirEntry) error {
		info, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%o\x00", p, info.Mode()&(fs.ModeDir|0o111))
		if d.Type().IsRegular() {
			data, err := fs.ReadFile(b.Context, p)
			if err != nil {
				return err
			}
			fmt.Fprintf(h, "%d\x00", len(data))
			h.Write(data)
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("read build context of %s: %w", b.Ref, err)
	}
	for _, k := range slices.Sorted(maps.Keys(b.Args)) {
		fmt.Fprintf(h, "arg\x00%s=%s\x00", k, b.Args[k])
	}
	for _, n := range slices.Sorted(maps.Keys(b.Files)) {
		fmt.Fprintf(h, "file\x00%s\x00%d\x00", n, len(b.Files[n]))
		h.Write(b.Files[n])
	}
	fmt.Fprintf(h, "dockerfile\x00%s", b.dockerfile())
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

func (b Build) dockerfile() string {
	if b.Dockerfile == "" {
		return "Dockerfile"
	}
	return b.Dockerfile
}

// Label returns the value of label on ref in the engine ("" when ref or the label is missing).
func (e *Engine) Label(ctx context.Context, ref, label string) string {
	var out bytes.Buffer
	format := fmt.Sprintf(`{{index .Config.Labels %q}}`, label)
	if err := e.command(ctx, nil, &out, "image", "inspect", "--format", format, ref); err != nil {
		return ""
	}
	v := strings.TrimSpace(out.String())
	if v == "<no value>" {
		return ""
	}
	return v
}

// UpToDate says whether the engine holds b.Ref built from b's current inputs.
func (e *Engine) UpToDate(ctx context.Context, b Build) (bool, error) {
	inputs, err := b.Inputs()
	if err != nil {
		return false, err
	}
	return e.Label(ctx, b.Ref, InputsLabel) == inputs, nil
}

// Build builds b with the engine, writing the engine's output to w. The context is copied to a
// temporary folder first (the series may be the binary's embedded copy) and removed afterwards;
// a failed build leaves the engine's previous image of that reference as it was.
func (e *Engine) Build(ctx context.Context, b Build, w io.Writer) error {
	if err := checkRelative(b.dockerfile()); err != nil {
		return fmt.Errorf("build %s: dockerfile: %w", b.Ref, err)
	}
	if _, err := fs.Stat(b.Context, b.dockerfile()); err != nil {
		return fmt.Errorf("build %s: no %s in its build context: %w", b.Ref, b.dockerfile(), err)
	}
	inputs, err := b.Inputs()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "mlops-series-build-*")
	if err != nil {
		return fmt.Errorf("build %s: %w", b.Ref, err)
	}
	defer func() { _ = os.RemoveAll(dir) }()
	if err := b.copyTo(dir); err != nil {
		return fmt.Errorf("build %s: copy its build context: %w", b.Ref, err)
	}
	args := []string{"build", "--tag", b.Ref, "--label", InputsLabel + "=" + inputs,
		"--file", filepath.Join(dir, filepath.FromSlash(b.dockerfile()))}
	for _, k := range slices.Sorted(maps.Keys(b.Args)) {
		args = append(args, "--build-arg", k+"="+b.Args[k])
	}
	args = append(args, dir)
	var tail bytes.Buffer
	cmd := exec.CommandContext(ctx, e.bin(), args...)
	out := io.MultiWriter(w, &tail)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("build %s: %w", b.Ref, e.cmdErr(ctx, args, tail.String(), err))
	}
	return nil
}

// checkRelative refuses a path that leaves its folder.
func checkRelative(p string) error {
	if !fs.ValidPath(p) || path.IsAbs(p) {
		return fmt.Errorf("%q is not a path inside the build context", p)
	}
	return nil
}

// copyTo writes the build context (the roots and Files) into dir.
func (b Build) copyTo(dir string) error {
	err := b.walk(func(p string, d fs.DirEntry) error {
		dst := filepath.Join(dir, filepath.FromSlash(p))
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		data, err := fs.ReadFile(b.Context, p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.WriteFile(dst, data, 0o644|info.Mode()&0o111)
	})
	if err != nil {
		return err
	}
	for n, data := range b.Files {
		if err := checkRelative(n); err != nil {
			return err
		}
		dst := filepath.Join(dir, filepath.FromSlash(n))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
