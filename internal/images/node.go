package images

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"sigs.k8s.io/kind/pkg/cluster/nodes"
	"sigs.k8s.io/kind/pkg/cluster/nodeutils"
)

// NodeImages lists what a kind node's containerd holds (`crictl images` inside the node).
func NodeImages(ctx context.Context, n nodes.Node) (Catalog, error) {
	var out, stderr bytes.Buffer
	if err := n.CommandContext(ctx, "crictl", "images", "-o", "json").SetStdout(&out).SetStderr(&stderr).Run(); err != nil {
		return Catalog{}, nodeErr(ctx, "list images in node "+n.String()+" (crictl images)", stderr.String(), err)
	}
	imgs, err := parseCrictlImages(out.Bytes())
	if err != nil {
		return Catalog{}, fmt.Errorf("read crictl images of node %s: %w", n.String(), err)
	}
	return NewCatalog(imgs), nil
}

// parseCrictlImages reads `crictl images -o json`.
func parseCrictlImages(b []byte) ([]Image, error) {
	var doc struct {
		Images []struct {
			ID          string   `json:"id"`
			RepoTags    []string `json:"repoTags"`
			RepoDigests []string `json:"repoDigests"`
		} `json:"images"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	var out []Image
	for _, im := range doc.Images {
		tags := im.RepoTags
		if len(tags) == 0 {
			tags = []string{""}
		}
		for _, t := range tags {
			out = append(out, Image{Ref: t, ID: withSHA(im.ID), Digests: im.RepoDigests})
		}
	}
	return out, nil
}

// ImportArchive imports a docker-save archive into the node's containerd (kind's
// nodeutils.LoadImageArchive: `ctr images import` in the k8s.io namespace, with the node's
// snapshotter). The kind library's node commands take no context: when ctx ends, the archive
// stops and the import fails.
func ImportArchive(ctx context.Context, n nodes.Node, archive io.Reader) error {
	r := &ctxReader{ctx: ctx, r: archive}
	if err := nodeutils.LoadImageArchive(n, r); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("import images into node %s: interrupted: %w", n.String(), ctx.Err())
		}
		return fmt.Errorf("import images into node %s: %w", n.String(), err)
	}
	return nil
}

// ctxReader ends a read when its context is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

func nodeErr(ctx context.Context, what, stderr string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%s: interrupted: %w", what, ctx.Err())
	}
	if msg := lastLines(stderr, 3); msg != "" && !strings.Contains(err.Error(), msg) {
		return fmt.Errorf("%s: %s (%w)", what, msg, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}
