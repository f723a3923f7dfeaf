package images

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"sigs.k8s.io/kind/pkg/cluster/nodes"
)

// LoadResult is what LoadToNodes did with each reference.
type LoadResult struct {
	// Total is the number of distinct references asked for.
	Total int `json:"total"`
	// Loaded went from the local engine into the nodes.
	Loaded []string `json:"loaded"`
	// OnNode were on every node already, with the engine's image ID (or the engine lacks them).
	OnNode []string `json:"onNode"`
	// Missing are neither on the nodes nor in the local engine: the kubelet pulls them.
	Missing []string `json:"missing"`
	// Pinned are pinned by digest and missing from a node: an archive cannot carry the registry
	// digest, so the kubelet pulls them.
	Pinned []string `json:"pinned,omitempty"`
	// Through is the host folder the archive went through (Share.HostDir) when the nodes see it;
	// empty when it was streamed into them.
	Through string `json:"through,omitempty"`
}

// Share is a host folder that a kind node also sees, at NodeDir (an extraMount that `up` adds to
// the clusters it creates). Loading through it, the engine writes one archive per image into its
// archives folder (once: an archive is named by the image's reference and ID, and kept) and each
// node's ctr imports it from its own file system. Measured here on a 778 MB image: docker save 11
// CPU-s, streaming the archive through `docker exec` 8.6 more, ctr import 8.5; through the share
// a kept archive costs only the import. Archives of images the engine no longer holds under the
// same reference and ID are removed at each load, so the folder holds at most one archive per
// image of the engine that went into a node.
type Share struct {
	HostDir string
	NodeDir string
}

// String is the progress line: "images: loaded 3 of 5 from the local engine, 2 already on the node".
func (r LoadResult) String() string {
	s := fmt.Sprintf("images: loaded %d of %d from the local engine", len(r.Loaded), r.Total)
	if len(r.OnNode) > 0 {
		s += fmt.Sprintf(", %d already on the node", len(r.OnNode))
	}
	if n := len(r.Missing) + len(r.Pinned); n > 0 {
		s += fmt.Sprintf(", %d left to pull (not in the local engine: %s)", n, strings.Join(append(slices.Clone(r.Missing), r.Pinned...), ", "))
	}
	if r.Through != "" && len(r.Loaded) > 0 {
		s += " (through " + r.Through + ")"
	}
	return s
}

// LoadToNodes loads, into every node, the references the local engine holds and the node lacks
// (or holds under another image ID): one docker-save archive per node, written into share when
// the node sees it there (share may be nil), else streamed into the node; imported by the node's
// ctr, then listed again to confirm. References neither place holds are reported as Missing,
// not as an error: the kubelet may still pull them.
func LoadToNodes(ctx context.Context, eng *Engine, ns []nodes.Node, refs []string, share *Share) (LoadResult, error) {
	refs = uniqueNormalized(refs)
	res := LoadResult{Total: len(refs)}
	if len(refs) == 0 {
		return res, nil
	}
	if len(ns) == 0 {
		return res, errors.New("load images: the cluster has no nodes")
	}
	local, err := eng.Images(ctx)
	if err != nil {
		return res, fmt.Errorf("load images: %w", err)
	}
	perNode := make([][]string, len(ns))
	cats := make([]Catalog, len(ns))
	loaded := map[string]bool{}
	for i, n := range ns {
		if cats[i], err = NodeImages(ctx, n); err != nil {
			return res, err
		}
		for _, r := range refs {
			li, inEngine := local.Lookup(r)
			ni, onNode := cats[i].Lookup(r)
			switch {
			case onNode && (!inEngine || ni.ID == li.ID):
			case !inEngine:
			case digestOf(r) != "":
				// An archive carries tags, not registry digests: the node could not find it by digest.
			default:
				perNode[i] = append(perNode[i], r)
				loaded[r] = true
			}
		}
	}
	for i, n := range ns {
		if len(perNode[i]) == 0 {
			continue
		}
		through, err := shareToNode(ctx, eng, local, n, perNode[i], share)
		if err != nil {
			return res, err
		}
		if !through {
			if err := streamToNode(ctx, eng, n, perNode[i]); err != nil {
				return res, err
			}
		} else {
			res.Through = share.HostDir
		}
		if cats[i], err = NodeImages(ctx, n); err != nil {
			return res, err
		}
		var absent []string
		for _, r := range perNode[i] {
			if _, ok := cats[i].Lookup(r); !ok {
				absent = append(absent, r)
			}
		}
		if len(absent) > 0 {
			return res, fmt.Errorf("load images into node %s: imported, but the node does not list %s", n.String(), strings.Join(absent, ", "))
		}
	}
	for _, r := range refs {
		onAll := true
		for _, c := range cats {
			if _, ok := c.Lookup(r); !ok {
				onAll = false
			}
		}
		switch {
		case loaded[r]:
			res.Loaded = append(res.Loaded, r)
		case onAll:
			res.OnNode = append(res.OnNode, r)
		case digestOf(r) != "":
			res.Pinned = append(res.Pinned, r)
		default:
			res.Missing = append(res.Missing, r)
		}
	}
	return res, nil
}

// streamToNode pipes `docker save refs...` into the node's containerd.
func streamToNode(ctx context.Context, eng *Engine, n nodes.Node, refs []string) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pr, pw := io.Pipe()
	saved := make(chan error, 1)
	go func() {
		err := eng.SaveTo(ctx, pw, refs)
		pw.CloseWithError(err)
		saved <- err
	}()
	err := ImportArchive(ctx, n, pr)
	if err != nil {
		cancel()
		_ = pr.CloseWithError(err)
	}
	serr := <-saved
	if serr != nil {
		return fmt.Errorf("load %s into node %s: %w", strings.Join(refs, ", "), n.String(), serr)
	}
	if err != nil {
		return fmt.Errorf("load %s: %w", strings.Join(refs, ", "), err)
	}
	return nil
}

// shareToNode loads refs into the node through share when the node sees the share's host folder
// (a file written there shows under NodeDir in the node); false, and nothing done, when it does
// not (a cluster created without the mount, an engine on another machine).
func shareToNode(ctx context.Context, eng *Engine, local Catalog, n nodes.Node, refs []string, share *Share) (bool, error) {
	if share == nil || share.HostDir == "" || share.NodeDir == "" {
		return false, nil
	}
	dir := filepath.Join(share.HostDir, "archives")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, nil
	}
	name, err := randomName()
	if err != nil {
		return false, err
	}
	// A small file first: whether the node sees the folder is known before anything large is written.
	probe := filepath.Join(dir, name+".probe")
	if err := os.WriteFile(probe, nil, 0o644); err != nil {
		return false, nil
	}
	seen := n.CommandContext(ctx, "test", "-f", path.Join(share.NodeDir, "archives", name+".probe")).Run() == nil
	_ = os.Remove(probe)
	if !seen {
		return false, ctx.Err()
	}
	for _, r := range refs {
		im, _ := local.Lookup(r)
		file := filepath.Join(dir, archiveName(r, im.ID))
		kept := true
		if _, err := os.Stat(file); err != nil {
			kept = false
			if err := saveArchive(ctx, eng, file, r); err != nil {
				return false, fmt.Errorf("load %s into node %s: %w", r, n.String(), err)
			}
		}
		inNode := path.Join(share.NodeDir, "archives", filepath.Base(file))
		err := ImportArchiveFile(ctx, n, inNode)
		if err != nil && kept && ctx.Err() == nil {
			// A kept archive the node cannot import (damaged on disk): made again from the engine.
			_ = os.Remove(file)
			if err = saveArchive(ctx, eng, file, r); err == nil {
				err = ImportArchiveFile(ctx, n, inNode)
			}
		}
		if err != nil {
			_ = os.Remove(file)
			return false, fmt.Errorf("load %s: %w", r, err)
		}
	}
	pruneArchives(dir, local)
	return true, nil
}

// archiveName is the kept archive of ref with image ID id: the reference's hash (an archive
// carries the tag it was saved under) and the ID.
func archiveName(ref, id string) string {
	h := sha256.Sum256([]byte(Normalize(ref)))
	return hex.EncodeToString(h[:8]) + "-" + strings.TrimPrefix(id, "sha256:") + ".tar"
}

// saveArchive writes the archive of ref to file, through a temporary file in the same folder so
// that an interrupted save leaves no archive behind.
func saveArchive(ctx context.Context, eng *Engine, file, ref string) error {
	tmp, err := randomName()
	if err != nil {
		return err
	}
	tmp = filepath.Join(filepath.Dir(file), tmp+".tar.part")
	if err := eng.SaveFile(ctx, tmp, []string{ref}); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, file); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return nil
}

// pruneArchives removes the kept archives of dir that no image of the engine's catalog matches by
// reference and ID any more, and leftovers of interrupted saves.
func pruneArchives(dir string, local Catalog) {
	want := map[string]bool{}
	for _, r := range local.Refs() {
		if im, ok := local.Lookup(r); ok {
			want[archiveName(r, im.ID)] = true
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		name := e.Name()
		info, err := e.Info()
		if err != nil {
			continue
		}
		// Young files may be another load's, of an image newer than this catalog: left for later.
		age := time.Since(info.ModTime())
		if (strings.HasSuffix(name, ".tar") && !want[name] && age > 10*time.Minute) ||
			(strings.HasSuffix(name, ".tar.part") && age > time.Hour) {
			_ = os.Remove(filepath.Join(dir, name))
		}
	}
}

func randomName() (string, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("load images: %w", err)
	}
	return ".load-" + hex.EncodeToString(b), nil
}

func uniqueNormalized(refs []string) []string {
	var out []string
	for _, r := range refs {
		if n := Normalize(r); n != "" && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// Status is one image of a chapter's closure and where it is.
type Status struct {
	Ref string `json:"ref"`
	// Archs are the architectures it is published for (series/images.yaml).
	Archs []string `json:"archs"`
	// Local: the local engine holds it; ID is its image ID there.
	Local bool   `json:"local"`
	ID    string `json:"id,omitempty"`
	// Node: every node of the kind cluster holds it with that ID; nil when there is no cluster.
	Node *bool `json:"node,omitempty"`
}

// List says, for each reference, its architectures (from archs, keyed by reference as in
// series/images.yaml), whether the local engine holds it and, when nodes are given, whether
// every node holds the same image.
func List(ctx context.Context, eng *Engine, refs []string, archs map[string][]string, ns []nodes.Node) ([]Status, error) {
	local, err := eng.Images(ctx)
	if err != nil {
		return nil, err
	}
	var nodeCats []Catalog
	for _, n := range ns {
		c, err := NodeImages(ctx, n)
		if err != nil {
			return nil, err
		}
		nodeCats = append(nodeCats, c)
	}
	byNorm := map[string][]string{}
	for r, a := range archs {
		byNorm[Normalize(r)] = a
	}
	var out []Status
	for _, r := range uniqueNormalized(refs) {
		s := Status{Ref: r, Archs: byNorm[r]}
		li, ok := local.Lookup(r)
		s.Local, s.ID = ok, li.ID
		if len(ns) > 0 {
			all := true
			for _, c := range nodeCats {
				ni, ok := c.Lookup(r)
				if !ok || s.Local && ni.ID != li.ID {
					all = false
				}
			}
			s.Node = &all
		}
		out = append(out, s)
	}
	return out, nil
}
