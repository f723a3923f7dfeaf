package deploy

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"helm.sh/helm/v4/pkg/action"
	release "helm.sh/helm/v4/pkg/release/v1"
)

// Render renders the release's manifests without contacting a cluster (like `helm template`).
// Hooks are included, each document preceded by a "# Source:" comment.
func Render(ctx context.Context, r *Release) (string, error) {
	cfg := action.NewConfiguration()
	cfg.SetLogger(slog.New(slog.NewTextHandler(io.Discard, nil)).Handler())
	in := action.NewInstall(cfg)
	in.DryRunStrategy = action.DryRunClient
	in.Replace = true
	in.ReleaseName = r.Name()
	in.Namespace = r.Namespace()
	in.IncludeCRDs = true
	in.DisableHooks = false
	rel, err := in.RunWithContext(ctx, r.Chart, r.Values)
	if err != nil {
		return "", fmt.Errorf("render %s: %w", r.Key(), err)
	}
	rl, ok := rel.(*release.Release)
	if !ok {
		return "", fmt.Errorf("render %s: unexpected release type %T", r.Key(), rel)
	}
	var b strings.Builder
	b.WriteString(strings.TrimSpace(rl.Manifest))
	b.WriteString("\n")
	for _, h := range rl.Hooks {
		fmt.Fprintf(&b, "---\n# Source: %s\n%s\n", h.Path, strings.TrimSpace(h.Manifest))
	}
	return b.String(), nil
}
