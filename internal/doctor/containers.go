package doctor

import (
	"context"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	yaml "go.yaml.in/yaml/v3"
	"sigs.k8s.io/kind/pkg/cluster/nodes"

	"github.com/mlops-series/mlops-series/internal/cluster"
	"github.com/mlops-series/mlops-series/internal/i18n"
	"github.com/mlops-series/mlops-series/internal/images"
)

// KindCluster is what doctor needs of the local kind cluster (cluster.Kind has it).
type KindCluster interface {
	// ImageEngine is the engine that answered, for images and probe containers.
	ImageEngine(ctx context.Context) (*images.Engine, error)
	// Nodes are the cluster's nodes; exists is false when there is no cluster.
	Nodes(ctx context.Context) (ns []nodes.Node, exists bool, err error)
}

func cgroupFinding(e Engine) Finding {
	if e.CgroupVersion != "1" {
		return Finding{Name: "cgroup", Status: OK, Message: i18n.T(i18n.CgroupOK, e.CgroupVersion)}
	}
	return Finding{Name: "cgroup", Status: Warn, Message: i18n.T(i18n.CgroupV1), Fix: i18n.T(i18n.CgroupV1Fix)}
}

// containerFindings are the probes that need the engine's containers and images: can kind's node
// run (privileged, lowering oom_score_adj) while the cluster is still to be made, and are the
// closure's images (and the node image) in the engine, on the node, or in a registry that answers.
func containerFindings(ctx context.Context, in Input) []Finding {
	eng, err := in.Kind.ImageEngine(ctx)
	if err != nil {
		return nil // the engine finding says it already
	}
	lctx, cancel := context.WithTimeout(ctx, in.Timeout)
	local, err := eng.Images(lctx)
	cancel()
	if err != nil {
		return []Finding{{Name: "images", Status: Warn, Message: i18n.T(i18n.ImagesCannotList, err)}}
	}
	var out []Finding
	if !in.ClusterExists {
		out = append(out, runtimeFindings(ctx, in, eng, local)...)
	}
	if f, ok := imagesFinding(ctx, in, local); ok {
		out = append(out, f)
	}
	return out
}

// probeImage picks an image the engine holds to start probe containers with: the kind node image
// when present, else the first by name. The probes never run its programs: they ask for an
// entrypoint that does not exist, so the runtime sets the container up and stops at exec.
func probeImage(local images.Catalog, kindConfig []byte) string {
	for _, r := range cluster.KindNodeImages(kindConfig) {
		if _, ok := local.Lookup(r); ok {
			return r
		}
	}
	if refs := local.Refs(); len(refs) > 0 {
		return refs[0]
	}
	return ""
}

// oomPatch is the kind config that lets kind's node start where oom_score_adj cannot be lowered.
const oomPatch = "containerdConfigPatches:\n" +
	"  - |-\n" +
	"    [plugins.\"io.containerd.cri.v1.runtime\"]\n" +
	"      restrict_oom_score_adj = true\n" +
	"(for containerd 1.x node images: [plugins.\"io.containerd.grpc.v1.cri\"])"

// runtimeFindings start two probe containers: one --privileged (kind's node is), one asking for
// oom_score_adj -998 (what the kubelet gives pod sandboxes inside the node).
func runtimeFindings(ctx context.Context, in Input, eng *images.Engine, local images.Catalog) []Finding {
	img := probeImage(local, in.KindConfig)
	if img == "" {
		why := i18n.T(i18n.ProbeNoImage)
		return []Finding{{Name: "privileged", Status: Skip, Message: why}, {Name: "oom_score_adj", Status: Skip, Message: why}}
	}
	run := func(args ...string) (reachedExec bool, msg string) {
		rctx, cancel := context.WithTimeout(ctx, in.Timeout)
		defer cancel()
		// As root, like kind's node; no network, never a pull.
		args = append([]string{"--rm", "--user", "0:0", "--network", "none", "--pull", "never"}, args...)
		err := eng.Run(rctx, append(args, "--entrypoint", "/mlops-series-doctor-probe", img)...)
		if err == nil {
			return true, ""
		}
		msg = err.Error()
		reached := strings.Contains(msg, "/mlops-series-doctor-probe") &&
			(strings.Contains(msg, "no such file") || strings.Contains(msg, "not found"))
		return reached, runtimeReason(msg)
	}
	var out []Finding
	ok, msg := run("--privileged")
	switch {
	case ok:
		out = append(out, Finding{Name: "privileged", Status: OK, Message: i18n.T(i18n.PrivilegedOK, img)})
	case strings.Contains(msg, "unable to apply caps"):
		out = append(out, Finding{Name: "privileged", Status: Fail, Message: i18n.T(i18n.PrivilegedFails, eng.Name), Fix: i18n.T(i18n.CapsFix)})
	default:
		out = append(out, Finding{Name: "privileged", Status: Warn, Message: i18n.T(i18n.PrivilegedUnknown, msg)})
	}
	ok, msg = run("--oom-score-adj=-998")
	switch {
	case ok:
		out = append(out, Finding{Name: "oom_score_adj", Status: OK, Message: i18n.T(i18n.OOMOK)})
	case restrictsOOMScoreAdj(in.KindConfig):
		out = append(out, Finding{Name: "oom_score_adj", Status: OK, Message: i18n.T(i18n.OOMRestricted)})
	default:
		out = append(out, Finding{Name: "oom_score_adj", Status: Fail, Message: i18n.T(i18n.OOMFails, msg), Fix: i18n.T(i18n.OOMFix, oomPatch)})
	}
	return out
}

// runtimeReason shortens an engine's error about a container that did not start to the runtime's
// reason ("unable to apply caps: operation not permitted").
func runtimeReason(msg string) string {
	_, after, ok := strings.Cut(msg, "unable to start container process: ")
	if !ok {
		return msg
	}
	after = exitStatus.ReplaceAllString(after, "")
	after = strings.TrimSuffix(strings.TrimSpace(after), ".")
	return strings.TrimSuffix(after, ": unknown")
}

var exitStatus = regexp.MustCompile(`\s*\(exit status \d+\)\s*$`)

// restrictsOOMScoreAdj tells whether a kind config's containerd patches set
// restrict_oom_score_adj = true.
func restrictsOOMScoreAdj(kindConfig []byte) bool {
	for _, p := range containerdPatches(kindConfig) {
		for _, l := range strings.Split(p, "\n") {
			k, v, ok := strings.Cut(l, "=")
			if ok && strings.TrimSpace(k) == "restrict_oom_score_adj" && strings.TrimSpace(v) == "true" {
				return true
			}
		}
	}
	return false
}

// setsMirrors tells whether a kind config points the node's containerd at registry mirrors (or a
// hosts folder): then the node may pull where the host cannot reach a registry.
func setsMirrors(kindConfig []byte) bool {
	for _, p := range containerdPatches(kindConfig) {
		if strings.Contains(p, "config_path") || strings.Contains(p, "mirrors") {
			return true
		}
	}
	return false
}

func containerdPatches(kindConfig []byte) []string {
	var c struct {
		Patches []string `yaml:"containerdConfigPatches"`
	}
	_ = yaml.Unmarshal(kindConfig, &c)
	return c.Patches
}

// imagesFinding looks for the closure's images (and, while the cluster is to be made, the kind
// node image) in the engine and on the node; for what neither holds, it asks whether the
// registries answer. ok is false when there is nothing to look for.
func imagesFinding(ctx context.Context, in Input, local images.Catalog) (Finding, bool) {
	refs := slices.Clone(in.Images)
	nodeImage := map[string]bool{}
	if !in.ClusterExists {
		for _, r := range cluster.KindNodeImages(in.KindConfig) {
			refs = append(refs, r)
			nodeImage[r] = true
		}
	}
	if len(refs) == 0 {
		return Finding{}, false
	}
	var onNode []images.Catalog
	if in.ClusterExists {
		nctx, cancel := context.WithTimeout(ctx, in.Timeout)
		ns, _, err := in.Kind.Nodes(nctx)
		for _, n := range ns {
			if err != nil {
				break
			}
			var c images.Catalog
			if c, err = images.NodeImages(nctx, n); err == nil {
				onNode = append(onNode, c)
			}
		}
		cancel()
		if err != nil {
			return Finding{Name: "images", Status: Warn, Message: i18n.T(i18n.ImagesCannotListNode, err)}, true
		}
	}
	var inEngine, nodeHas int
	var missing []string
	for _, r := range refs {
		if _, ok := local.Lookup(r); ok {
			inEngine++
			continue
		}
		all := len(onNode) > 0
		for _, c := range onNode {
			if _, ok := c.Lookup(r); !ok {
				all = false
			}
		}
		if all {
			nodeHas++
			continue
		}
		missing = append(missing, r)
	}
	what := i18n.T(i18n.ImagesInEngine, inEngine, len(refs))
	if nodeHas > 0 {
		what = i18n.Join("", what, i18n.T(i18n.ImagesOnNode, nodeHas))
	}
	if len(missing) == 0 {
		return Finding{Name: "images", Status: OK, Message: i18n.T(i18n.ImagesNothingToPull, what)}, true
	}
	var notBuilt []string
	missing = slices.DeleteFunc(missing, func(r string) bool {
		if slices.Contains(in.Built, r) {
			notBuilt = append(notBuilt, r)
			return true
		}
		return false
	})
	hosts := map[string][]string{}
	for _, r := range missing {
		hosts[images.Registry(r)] = append(hosts[images.Registry(r)], r)
	}
	answers := registriesAnswer(ctx, in, hosts)
	var silent []string
	for _, r := range missing {
		if !answers[images.Registry(r)] {
			silent = append(silent, r)
		}
	}
	if len(silent) == 0 && len(notBuilt) == 0 {
		return Finding{Name: "images", Status: OK, Message: i18n.T(i18n.ImagesToPull, what, len(missing))}, true
	}
	var closure, node []string
	for _, r := range silent {
		if nodeImage[r] {
			node = append(node, r)
		} else {
			closure = append(closure, r)
		}
	}
	var fixes []i18n.Text
	if len(notBuilt) > 0 {
		fixes = append(fixes, i18n.T(i18n.ImagesBuildFix))
	}
	if len(closure) > 0 {
		fixes = append(fixes, i18n.T(i18n.ImagesLoadFix))
	}
	if len(node) > 0 {
		fixes = append(fixes, i18n.T(i18n.ImagesNodeFix))
	}
	msg := i18n.T(i18n.ImagesMissing, what, strings.Join(silent, ", "))
	switch {
	case len(silent) == 0:
		msg = i18n.T(i18n.ImagesNotBuilt, what, strings.Join(notBuilt, ", "))
	case len(notBuilt) > 0:
		msg = i18n.T(i18n.ImagesNotBuilt, msg, strings.Join(notBuilt, ", "))
	}
	f := Finding{Name: "images", Status: Fail, Message: msg, Fix: i18n.Join("\n", fixes...)}
	if setsMirrors(in.KindConfig) && len(node) == 0 && len(notBuilt) == 0 {
		f.Status = Warn
		f.Message = i18n.T(i18n.ImagesMirrors, f.Message)
	}
	return f, true
}

// registriesAnswer asks each registry host, at the same time, whether it answers.
func registriesAnswer(ctx context.Context, in Input, hosts map[string][]string) map[string]bool {
	ask := in.RegistryAnswers
	if ask == nil {
		ask = RegistryAnswers
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	out := map[string]bool{}
	for h := range hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok := ask(ctx, h)
			mu.Lock()
			out[h] = ok
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

// RegistryAnswers tells whether the registry at host answers the registry API: GET /v2/ gives
// 200 or 401 (a proxy's error page does not count). Docker Hub's API is registry-1.docker.io.
func RegistryAnswers(ctx context.Context, host string) bool {
	if host == "docker.io" {
		host = "registry-1.docker.io"
	}
	return registryAPIAnswers(ctx, http.DefaultClient, "https://"+host)
}

func registryAPIAnswers(ctx context.Context, client *http.Client, base string) bool {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v2/", nil)
	if err != nil {
		return false
	}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized
}
