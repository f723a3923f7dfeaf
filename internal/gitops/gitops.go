// Package gitops publishes a chapter's GitOps folder to a Git repository over HTTP, the one that
// Flux syncs the cluster from (chapter 2). It speaks Git itself (go-git), so a reader needs no git
// binary and no account anywhere: the repository is the chapter's own Git server in the cluster.
package gitops

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-billy/v5/memfs"
	"github.com/go-git/go-billy/v5/util"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage/memory"
)

// Branch is the branch the chapter's GitRepository follows.
const Branch = "main"

// Author signs the commits this package makes.
var Author = object.Signature{Name: "mlops-series", Email: "mlops-series@localhost"}

// Result says what a Publish did.
type Result struct {
	// Revision is the branch's commit after the push, as Flux writes it: "main@sha1:<hash>".
	Revision string
	// Commit is that commit's hash.
	Commit string
	// Previous is the branch's commit before, empty for a repository without it.
	Previous string
	// Changed is false when the branch already held exactly these files: nothing was pushed.
	Changed bool
	// Files is the number of files in the tree.
	Files int
}

// Revision formats a commit of the branch the way Flux's GitRepository status does.
func Revision(commit string) string { return Branch + "@sha1:" + commit }

// ReadDir returns the regular files under dir of fsys, by path relative to dir. Hidden files and
// folders (a name starting with ".") are left out, as are Python caches.
func ReadDir(fsys fs.FS, dir string) (map[string][]byte, error) {
	files := map[string][]byte{}
	err := fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if p != dir && (strings.HasPrefix(name, ".") || name == "__pycache__") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(p, strings.TrimSuffix(dir, "/")+"/")
		if dir == "." {
			rel = p
		}
		files[rel] = b
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", dir, err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s holds no files to publish", dir)
	}
	return files, nil
}

// Head returns the commit at the tip of the branch, or "" when the repository has none yet.
func Head(ctx context.Context, url string) (string, error) {
	rem := git.NewRemote(memory.NewStorage(), &config.RemoteConfig{Name: "origin", URLs: []string{url}})
	refs, err := rem.ListContext(ctx, &git.ListOptions{})
	if errors.Is(err, transport.ErrEmptyRemoteRepository) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("list %s: %w", url, err)
	}
	for _, r := range refs {
		if r.Name() == plumbing.NewBranchReferenceName(Branch) {
			return r.Hash().String(), nil
		}
	}
	return "", nil
}

// Publish makes the branch of the repository at url hold exactly files: it clones the branch,
// replaces its tree, and commits and pushes with message when the tree changed. Nothing is pushed
// when it did not. A push that loses a race with another one fails and says so; the branch is
// never force-pushed.
func Publish(ctx context.Context, url string, files map[string][]byte, message string) (Result, error) {
	wfs := memfs.New()
	repo, err := git.CloneContext(ctx, memory.NewStorage(), wfs, &git.CloneOptions{
		URL: url, ReferenceName: plumbing.NewBranchReferenceName(Branch), SingleBranch: true, Depth: 1,
	})
	var previous string
	switch {
	case errors.Is(err, transport.ErrEmptyRemoteRepository), isMissingBranch(err):
		repo, err = git.Init(memory.NewStorage(), wfs)
		if err != nil {
			return Result{}, err
		}
		if err := repo.Storer.SetReference(plumbing.NewSymbolicReference(plumbing.HEAD, plumbing.NewBranchReferenceName(Branch))); err != nil {
			return Result{}, err
		}
		if _, err := repo.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{url}}); err != nil {
			return Result{}, err
		}
	case err != nil:
		return Result{}, fmt.Errorf("clone %s: %w", url, err)
	default:
		h, err := repo.Head()
		if err != nil {
			return Result{}, err
		}
		previous = h.Hash().String()
	}
	wt, err := repo.Worktree()
	if err != nil {
		return Result{}, err
	}
	if err := replaceTree(wfs, files); err != nil {
		return Result{}, err
	}
	if err := wt.AddWithOptions(&git.AddOptions{All: true}); err != nil {
		return Result{}, fmt.Errorf("stage files: %w", err)
	}
	st, err := wt.Status()
	if err != nil {
		return Result{}, err
	}
	res := Result{Previous: previous, Files: len(files)}
	if st.IsClean() && previous != "" {
		res.Commit, res.Revision = previous, Revision(previous)
		return res, nil
	}
	sig := Author
	sig.When = time.Now()
	h, err := wt.Commit(message, &git.CommitOptions{Author: &sig, Committer: &sig, AllowEmptyCommits: previous == ""})
	if err != nil {
		return Result{}, fmt.Errorf("commit: %w", err)
	}
	refspec := config.RefSpec(fmt.Sprintf("refs/heads/%s:refs/heads/%s", Branch, Branch))
	if err := repo.PushContext(ctx, &git.PushOptions{RemoteName: "origin", RefSpecs: []config.RefSpec{refspec}}); err != nil {
		return Result{}, fmt.Errorf("push to %s: %w", url, err)
	}
	res.Commit, res.Revision, res.Changed = h.String(), Revision(h.String()), true
	return res, nil
}

// isMissingBranch: the repository has commits, but not on the branch.
func isMissingBranch(err error) bool {
	return err != nil && errors.Is(err, plumbing.ErrReferenceNotFound)
}

// replaceTree removes every file of the worktree and writes files in their place.
func replaceTree(wfs billy.Filesystem, files map[string][]byte) error {
	top, err := wfs.ReadDir("/")
	if err != nil {
		return err
	}
	for _, fi := range top {
		if fi.Name() == ".git" {
			continue
		}
		if err := util.RemoveAll(wfs, fi.Name()); err != nil {
			return err
		}
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if path.IsAbs(n) || n != path.Clean(n) || strings.HasPrefix(n, "../") || n == ".." {
			return fmt.Errorf("file %q is outside the repository", n)
		}
		if err := util.WriteFile(wfs, n, files[n], 0o644); err != nil {
			return err
		}
	}
	return nil
}
