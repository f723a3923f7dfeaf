package images

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/kind/pkg/cluster/nodes"
	kindexec "sigs.k8s.io/kind/pkg/exec"
)

func TestNormalize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"postgres", "docker.io/library/postgres:latest"},
		{"postgres:17", "docker.io/library/postgres:17"},
		{"prom/prometheus:v3", "docker.io/prom/prometheus:v3"},
		{"docker.io/library/redis:8", "docker.io/library/redis:8"},
		{"index.docker.io/library/redis:8", "docker.io/library/redis:8"},
		{"ghcr.io/mlflow/mlflow:v3.17.2-full", "ghcr.io/mlflow/mlflow:v3.17.2-full"},
		{"localhost:5000/x", "localhost:5000/x:latest"},
		{"localhost/x:1", "localhost/x:1"},
		{"mlops-series.local/kind-node:v1.37.2", "mlops-series.local/kind-node:v1.37.2"},
		{"mlops-series/probe:busybox", "docker.io/mlops-series/probe:busybox"},
		{"kindest/node:v1.37.0@sha256:abc", "docker.io/kindest/node:v1.37.0@sha256:abc"},
		{"redis@sha256:abc", "docker.io/library/redis@sha256:abc"},
		{" redis:8 ", "docker.io/library/redis:8"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := Normalize(tt.in); got != tt.want {
			t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := Registry("postgres:17"); got != "docker.io" {
		t.Errorf("Registry = %q", got)
	}
	if got := Registry("quay.io/feastdev/feature-server:0.66.0"); got != "quay.io" {
		t.Errorf("Registry = %q", got)
	}
}

func TestParsers(t *testing.T) {
	docker := `{"Containers":"N/A","Digest":"<none>","ID":"sha256:aaa","Repository":"postgres","Tag":"17.11-alpine3.24"}
{"Digest":"sha256:ddd","ID":"sha256:bbb","Repository":"prom/prometheus","Tag":"v3.13.2"}
{"Digest":"<none>","ID":"sha256:ccc","Repository":"<none>","Tag":"<none>"}
`
	podman := `[{"Id":"aaa","Names":["docker.io/library/postgres:17.11-alpine3.24","localhost/pg:1"],"RepoDigests":["docker.io/library/postgres@sha256:eee"]}]`
	crictl := `{"images":[{"id":"sha256:aaa","repoTags":["docker.io/library/postgres:17.11-alpine3.24"],"repoDigests":[],"size":"1"},{"id":"sha256:fff","repoTags":[],"repoDigests":["registry.k8s.io/pause@sha256:123"]}]}`
	tests := []struct {
		name  string
		parse func() ([]Image, error)
		find  map[string]string // ref → want ID ("" = absent)
	}{
		{"docker", func() ([]Image, error) { return parseDockerImages([]byte(docker)) }, map[string]string{
			"docker.io/library/postgres:17.11-alpine3.24": "sha256:aaa", "prom/prometheus:v3.13.2": "sha256:bbb",
			"docker.io/prom/prometheus@sha256:ddd": "sha256:bbb", "postgres:18": ""}},
		{"podman", func() ([]Image, error) { return parsePodmanImages([]byte(podman)) }, map[string]string{
			"postgres:17.11-alpine3.24": "sha256:aaa", "localhost/pg:1": "sha256:aaa", "postgres@sha256:eee": "sha256:aaa"}},
		{"crictl", func() ([]Image, error) { return parseCrictlImages([]byte(crictl)) }, map[string]string{
			"postgres:17.11-alpine3.24": "sha256:aaa", "registry.k8s.io/pause@sha256:123": "sha256:fff", "mlops-series.test/only-on-node:1": ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			imgs, err := tt.parse()
			if err != nil {
				t.Fatal(err)
			}
			c := NewCatalog(imgs)
			for ref, id := range tt.find {
				im, ok := c.Lookup(ref)
				if ok != (id != "") || im.ID != id {
					t.Errorf("Lookup(%q) = %q, %v; want %q", ref, im.ID, ok, id)
				}
			}
		})
	}
	if _, err := parseDockerImages([]byte("not json\n")); err == nil {
		t.Error("bad docker output parsed")
	}
	loaded := parseLoaded("Loaded image: postgres:17\nLoaded image ID: sha256:abc\nLoaded image(s): localhost/a:1,docker.io/b/c:2\n")
	if want := []string{"docker.io/library/postgres:17", "localhost/a:1", "docker.io/b/c:2"}; !slices.Equal(loaded, want) {
		t.Errorf("parseLoaded = %v, want %v", loaded, want)
	}
}

func TestLoadResultLine(t *testing.T) {
	tests := []struct {
		r    LoadResult
		want string
	}{
		{LoadResult{Total: 5, Loaded: []string{"a", "b", "c"}, OnNode: []string{"d", "e"}}, "images: loaded 3 of 5 from the local engine, 2 already on the node"},
		{LoadResult{Total: 2, OnNode: []string{"a", "b"}}, "images: loaded 0 of 2 from the local engine, 2 already on the node"},
		{LoadResult{Total: 3, Loaded: []string{"a"}, Missing: []string{"b"}, Pinned: []string{"c@sha256:1"}}, "images: loaded 1 of 3 from the local engine, 2 left to pull (not in the local engine: b, c@sha256:1)"},
	}
	for _, tt := range tests {
		if got := tt.r.String(); got != tt.want {
			t.Errorf("got  %q\nwant %q", got, tt.want)
		}
	}
}

func TestMissingError(t *testing.T) {
	c := NewCatalog([]Image{{Ref: "postgres:17", ID: "sha256:a"}})
	if err := Missing(c, []string{"docker.io/library/postgres:17"}, "chapter-6"); err != nil {
		t.Errorf("Missing = %v", err)
	}
	err := Missing(c, []string{"postgres:17", "ghcr.io/mlflow/mlflow:v3", "redis:8"}, "chapter-6")
	if !IsNotInEngine(err) {
		t.Fatalf("Missing = %v", err)
	}
	for _, w := range []string{"2 images are not in the local engine: ghcr.io/mlflow/mlflow:v3, redis:8", "mlops-series images pull chapter-6", "mlops-series images load FILE", "images save FILE chapter-6"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q: %v", w, err)
		}
	}
}

// probeImage is the busybox image hack/kind/docker-up.sh builds for tests.
const probeImage = "mlops-series/probe:busybox"

// needDocker returns the docker engine with the probe image; it skips without one, except under
// CI=true, where a missing engine or image fails the test.
func needDocker(t *testing.T) *Engine {
	t.Helper()
	skip := func(msg string) {
		t.Helper()
		if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
			t.Fatalf("%s; CI=true, so this is a failure, not a skip", msg)
		}
		t.Skip(msg)
	}
	if _, err := exec.LookPath("docker"); err != nil {
		skip("no docker CLI (hack/kind/docker-up.sh installs and starts Docker Engine)")
	}
	if err := exec.Command("docker", "image", "inspect", probeImage).Run(); err != nil {
		skip("docker does not answer or lacks " + probeImage + " (hack/kind/docker-up.sh builds it)")
	}
	return NewEngine("docker")
}

func TestMain(m *testing.M) {
	if tool := os.Getenv("MLOPS_FAKE_NODE_TOOL"); tool != "" {
		os.Exit(fakeNodeTool(tool, os.Getenv("MLOPS_FAKE_NODE_STATE"), os.Args[1:]))
	}
	os.Exit(m.Run())
}

// fakeNode is a kind node whose crictl, ctr and containerd are this test binary keeping the
// node's images in a state file: the archives it imports are real docker-save archives, and the
// image IDs it reports are computed from them as containerd does (the digest of the config).
type fakeNode struct{ state string }

func (n fakeNode) Command(name string, args ...string) kindexec.Cmd {
	return n.CommandContext(context.Background(), name, args...)
}

func (n fakeNode) CommandContext(ctx context.Context, name string, args ...string) kindexec.Cmd {
	self, _ := os.Executable()
	return kindexec.CommandContext(ctx, self, args...).SetEnv(append(os.Environ(),
		"MLOPS_FAKE_NODE_TOOL="+name, "MLOPS_FAKE_NODE_STATE="+n.state)...)
}
func (n fakeNode) String() string              { return "fake-control-plane" }
func (n fakeNode) Role() (string, error)       { return "control-plane", nil }
func (n fakeNode) IP() (string, string, error) { return "", "", nil }
func (n fakeNode) SerialLogs(io.Writer) error  { return nil }

func newFakeNode(t *testing.T) fakeNode {
	return fakeNode{state: filepath.Join(t.TempDir(), "images.json")}
}

// fromFiles counts the archives the node imported from a file of its own (not from stdin).
func (n fakeNode) fromFiles() int {
	b, _ := os.ReadFile(n.state + ".from-files")
	return len(b)
}

// imports counts the archives the node imported.
func (n fakeNode) imports() int {
	b, _ := os.ReadFile(n.state + ".imports")
	return len(b)
}

func (n fakeNode) put(ref, id string) {
	saveState(n.state, append(loadState(n.state), nodeImage{ID: id, RepoTags: []string{ref}}))
}

func (n fakeNode) ids() []string {
	var out []string
	for _, i := range loadState(n.state) {
		out = append(out, i.ID)
	}
	return out
}

func loadState(path string) []nodeImage {
	var imgs []nodeImage
	b, _ := os.ReadFile(path)
	_ = json.Unmarshal(b, &imgs)
	return imgs
}

func saveState(path string, imgs []nodeImage) {
	b, _ := json.Marshal(imgs)
	_ = os.WriteFile(path, b, 0o600)
}

func fail(format string, a ...any) int {
	fmt.Fprintf(os.Stderr, format+"\n", a...)
	return 1
}

func hexSHA(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

type nodeImage struct {
	ID       string   `json:"id"`
	RepoTags []string `json:"repoTags"`
}

func fakeNodeTool(tool, state string, args []string) int {
	switch {
	case tool == "crictl" && slices.Equal(args, []string{"images", "-o", "json"}):
		b, _ := json.Marshal(map[string]any{"images": loadState(state)})
		os.Stdout.Write(b)
		return 0
	case tool == "containerd" && slices.Equal(args, []string{"config", "dump"}):
		fmt.Println("version = 3\n[plugins.'io.containerd.cri.v1.images']\nsnapshotter = 'overlayfs'")
		return 0
	case tool == "ctr" && slices.Equal(args, []string{"images", "import", "--help"}):
		fmt.Println("   --local    Run import locally rather than through transfer API (default: false)")
		return 0
	case tool == "test" && len(args) == 2 && args[0] == "-f":
		if fi, err := os.Stat(args[1]); err != nil || !fi.Mode().IsRegular() {
			return 1
		}
		return 0
	case tool == "ctr" && slices.Contains(args, "import") && slices.Contains(args, "--snapshotter=overlayfs"):
		if !slices.Contains(args, "--local") {
			return fail("ctr: import without --local, which this ctr has: %v", args)
		}
		// The archive: stdin ("-") or a file of the node's (here the host's) file system.
		in := os.Stdin
		if last := args[len(args)-1]; last != "-" {
			f, err := os.Open(last)
			if err != nil {
				return fail("ctr: import: %v", err)
			}
			defer f.Close()
			in = f
			f2, _ := os.OpenFile(state+".from-files", os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
			f2.Write([]byte("x"))
			f2.Close()
		}
		// Read a docker-save archive: hash every file, then map manifest.json's configs to tags.
		sums := map[string]string{}
		var manifest []struct {
			Config   string
			RepoTags []string
		}
		tr := tar.NewReader(in)
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return fail("ctr: import: %v", err)
			}
			b, err := io.ReadAll(tr)
			if err != nil {
				return fail("ctr: import: %v", err)
			}
			sums[h.Name] = "sha256:" + hexSHA(b)
			if h.Name == "manifest.json" {
				if err := json.Unmarshal(b, &manifest); err != nil {
					return fail("ctr: import: manifest.json: %v", err)
				}
			}
		}
		if len(manifest) == 0 {
			return fail("ctr: import: no manifest.json")
		}
		imgs := loadState(state)
		for _, m := range manifest {
			for _, tag := range m.RepoTags {
				ref := Normalize(tag)
				imgs = slices.DeleteFunc(imgs, func(i nodeImage) bool { return slices.Contains(i.RepoTags, ref) })
				imgs = append(imgs, nodeImage{ID: sums[m.Config], RepoTags: []string{ref}})
			}
		}
		saveState(state, imgs)
		f, _ := os.OpenFile(state+".imports", os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
		f.Write([]byte("x"))
		f.Close()
		return 0
	}
	return fail("fake node: unexpected %s %v", tool, args)
}

// With the real engine and real archives: the first load imports what the node lacks and reports
// what neither place has; the second loads nothing (same image ID); an image the node holds under
// another ID is loaded again.
func TestLoadToNodes(t *testing.T) {
	eng := needDocker(t)
	ctx := context.Background()
	local, err := eng.Images(ctx)
	if err != nil {
		t.Fatal(err)
	}
	probe, ok := local.Lookup(probeImage)
	if !ok {
		t.Fatalf("engine catalog lacks %s: %v", probeImage, local.Refs())
	}
	n := newFakeNode(t)
	n.put("mlops-series.test/only-on-node:1", "sha256:feed")
	refs := []string{probeImage, "mlops-series.test/only-on-node:1", "docker.io/library/absent:1", "redis@sha256:0123"}

	steps := []struct {
		name    string
		before  func()
		loaded  []string
		onNode  []string
		imports int
	}{
		{"first up", nil, []string{"docker.io/mlops-series/probe:busybox"}, []string{"mlops-series.test/only-on-node:1"}, 1},
		{"second up", nil, nil, []string{"docker.io/mlops-series/probe:busybox", "mlops-series.test/only-on-node:1"}, 1},
		{"stale on the node", func() {
			saveState(n.state, slices.DeleteFunc(loadState(n.state), func(i nodeImage) bool { return i.ID == probe.ID }))
			n.put("docker.io/mlops-series/probe:busybox", "sha256:0ld")
		}, []string{"docker.io/mlops-series/probe:busybox"}, []string{"mlops-series.test/only-on-node:1"}, 2},
	}
	for _, s := range steps {
		if s.before != nil {
			s.before()
		}
		res, err := LoadToNodes(ctx, eng, []nodes.Node{n}, refs, nil)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if !slices.Equal(res.Loaded, s.loaded) || !slices.Equal(res.OnNode, s.onNode) || res.Total != 4 ||
			!slices.Equal(res.Missing, []string{"docker.io/library/absent:1"}) || !slices.Equal(res.Pinned, []string{"docker.io/library/redis@sha256:0123"}) {
			t.Errorf("%s: %+v", s.name, res)
		}
		if got := n.imports(); got != s.imports {
			t.Errorf("%s: %d imports, want %d", s.name, got, s.imports)
		}
		if !slices.Contains(n.ids(), probe.ID) {
			t.Errorf("%s: the node lacks image ID %s: %v", s.name, probe.ID, loadState(n.state))
		}
	}
	st, err := List(ctx, eng, []string{probeImage, "docker.io/library/absent:1"}, map[string][]string{"docker.io/library/absent:1": {"amd64"}}, []nodes.Node{n})
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != 2 || !st[0].Local || st[0].ID != probe.ID || !*st[0].Node || st[1].Local || *st[1].Node || !slices.Equal(st[1].Archs, []string{"amd64"}) {
		t.Errorf("List = %+v", st)
	}
	if st, _ := List(ctx, eng, []string{probeImage}, nil, nil); st[0].Node != nil {
		t.Error("List without nodes reports a node")
	}
}

// Through a share the node sees, the archive is written into the host folder's archives and
// imported from the node's path, and kept: the next load of the same image imports the kept
// archive without saving it again; an archive no image of the engine matches any more is removed.
// Through a share the node does not see (a cluster made without the mount, here a node path that
// is not the host folder), the archive is streamed as without a share and nothing is kept.
func TestLoadToNodesThroughShare(t *testing.T) {
	eng := needDocker(t)
	ctx := context.Background()
	local, err := eng.Images(ctx)
	if err != nil {
		t.Fatal(err)
	}
	probe, _ := local.Lookup(probeImage)
	dir := t.TempDir()
	archives := filepath.Join(dir, "archives")
	kept := filepath.Join(archives, archiveName(probeImage, probe.ID))
	stale := filepath.Join(archives, archiveName("mlops-series.test/gone:1", "sha256:0ld"))
	for i, c := range []struct {
		name      string
		share     Share
		through   string
		fromFiles int
	}{
		// The fake node runs its tools on the host: the node's path of the folder is the host's.
		{"seen", Share{HostDir: dir, NodeDir: dir}, dir, 1},
		{"seen again", Share{HostDir: dir, NodeDir: dir}, dir, 1},
		{"not seen", Share{HostDir: dir, NodeDir: filepath.Join(dir, "elsewhere")}, "", 0},
	} {
		var before os.FileInfo
		if i == 1 {
			before, _ = os.Stat(kept)
			if err := os.WriteFile(stale, []byte("x"), 0o600); err != nil {
				t.Fatal(err)
			}
			old := time.Now().Add(-time.Hour)
			_ = os.Chtimes(stale, old, old)
		}
		n := newFakeNode(t)
		res, err := LoadToNodes(ctx, eng, []nodes.Node{n}, []string{probeImage}, &c.share)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !slices.Equal(res.Loaded, []string{"docker.io/mlops-series/probe:busybox"}) || res.Through != c.through || n.imports() != 1 || n.fromFiles() != c.fromFiles {
			t.Errorf("%s: %+v, %d imports, %d from files", c.name, res, n.imports(), n.fromFiles())
		}
		if want := "(through " + dir + ")"; strings.Contains(res.String(), want) != (c.through != "") {
			t.Errorf("%s: line %q, through %q", c.name, res.String(), c.through)
		}
		if left, _ := os.ReadDir(archives); len(left) != 1 || left[0].Name() != filepath.Base(kept) {
			t.Errorf("%s: the archives folder holds %v, want only %s", c.name, left, filepath.Base(kept))
		}
		if before != nil {
			if after, err := os.Stat(kept); err != nil || !os.SameFile(before, after) || !after.ModTime().Equal(before.ModTime()) {
				t.Errorf("%s: the kept archive was written again", c.name)
			}
		}
	}
	// A kept archive the node cannot import is made again from the engine.
	if err := os.WriteFile(kept, []byte("damaged"), 0o600); err != nil {
		t.Fatal(err)
	}
	n := newFakeNode(t)
	res, err := LoadToNodes(ctx, eng, []nodes.Node{n}, []string{probeImage}, &Share{HostDir: dir, NodeDir: dir})
	if err != nil || res.Through != dir || n.imports() != 1 {
		t.Errorf("damaged archive: %+v, %v, %d imports", res, err, n.imports())
	}
	if fi, err := os.Stat(kept); err != nil || fi.Size() < 1024 {
		t.Errorf("damaged archive not made again: %v %v", fi, err)
	}
}

// Save then load: one archive, loaded back into the engine, names what it held; a failed save
// leaves no file; a pull from a registry that does not resolve fails with the engine's words.
func TestSaveLoadPull(t *testing.T) {
	eng := needDocker(t)
	ctx := context.Background()
	dir := t.TempDir()
	file := filepath.Join(dir, "images.tar")
	if err := eng.Save(ctx, file, []string{probeImage}); err != nil {
		t.Fatal(err)
	}
	refs, err := eng.Load(ctx, file)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(refs, []string{"docker.io/mlops-series/probe:busybox"}) {
		t.Errorf("Load = %v", refs)
	}
	bad := filepath.Join(dir, "bad.tar")
	err = eng.Save(ctx, bad, []string{probeImage, "mlops-series.invalid/absent:1"})
	if err == nil || !strings.Contains(err.Error(), "absent") {
		t.Errorf("Save of a missing image = %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("a failed save left files: %v", entries)
	}
	if _, err := eng.Load(ctx, filepath.Join(dir, "nope.tar")); err == nil || !strings.Contains(err.Error(), "nope.tar") {
		t.Errorf("Load of a missing file = %v", err)
	}
	var progress strings.Builder
	err = eng.Pull(ctx, "mlops-series.invalid/absent:1", &progress)
	if err == nil || !strings.Contains(err.Error(), "docker pull") {
		t.Errorf("Pull = %v", err)
	}
}

func TestParseSnapshotter(t *testing.T) {
	for _, c := range []struct{ name, config, want, err string }{
		{"containerd 2 (config version 3)", "version = 3\n[plugins.'io.containerd.cri.v1.images']\nsnapshotter = 'native'\n", "native", ""},
		{"containerd 2.2 (config version 4)", "version = 4\n[plugins]\n  [plugins.'io.containerd.cri.v1.images']\n    snapshotter = 'overlayfs'\n", "overlayfs", ""},
		{"containerd 1.7 (config version 2)", "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\".containerd]\nsnapshotter = \"fuse-overlayfs\"\n", "fuse-overlayfs", ""},
		{"unknown version", "version = 9\n", "", "only versions 2, 3 and 4"},
		{"no snapshotter", "version = 3\n[plugins.'io.containerd.cri.v1.images']\n", "", "no snapshotter at plugins.io.containerd.cri.v1.images.snapshotter"},
		{"not TOML", "version = = 3", "", "read containerd config"},
	} {
		got, err := parseSnapshotter(c.config)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: err %v, want %q", c.name, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%s: %q, %v; want %q", c.name, got, err, c.want)
		}
	}
}
