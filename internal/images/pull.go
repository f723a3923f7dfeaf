package images

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// PullResult is what PullMissing did.
type PullResult struct {
	Pulled  []string `json:"pulled"`
	Present []string `json:"present"`
	Failed  []string `json:"failed"`
}

// String is the summary line: "images: pulled 2, 3 already in the local engine, 1 failed".
func (r PullResult) String() string {
	s := fmt.Sprintf("images: pulled %d", len(r.Pulled))
	if len(r.Present) > 0 {
		s += fmt.Sprintf(", %d already in the local engine", len(r.Present))
	}
	if len(r.Failed) > 0 {
		s += fmt.Sprintf(", %d failed", len(r.Failed))
	}
	return s
}

// PullMissing pulls, one after the other, the refs the local engine lacks (every ref with
// refresh). step wraps each pull to show progress (nil: none); the engine's own output goes to w.
// A failed pull does not stop the others; the error names every failure.
func PullMissing(ctx context.Context, eng *Engine, refs []string, refresh bool, step func(ref string, pull func() error) error, w io.Writer) (PullResult, error) {
	var res PullResult
	local, err := eng.Images(ctx)
	if err != nil {
		return res, err
	}
	if step == nil {
		step = func(_ string, pull func() error) error { return pull() }
	}
	var errs []error
	for _, r := range uniqueNormalized(refs) {
		if _, ok := local.Lookup(r); ok && !refresh {
			res.Present = append(res.Present, r)
			continue
		}
		err := step(r, func() error { return eng.Pull(ctx, r, w) })
		if ctx.Err() != nil {
			return res, fmt.Errorf("pull %s: interrupted: %w", r, ctx.Err())
		}
		if err != nil {
			res.Failed = append(res.Failed, r)
			errs = append(errs, err)
			continue
		}
		res.Pulled = append(res.Pulled, r)
	}
	if len(errs) > 0 {
		return res, fmt.Errorf("%d of %d images could not be pulled:\n%w", len(res.Failed), len(res.Failed)+len(res.Pulled), errors.Join(errs...))
	}
	return res, nil
}
