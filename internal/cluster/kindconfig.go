package cluster

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
	yaml "go.yaml.in/yaml/v3"
	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"

	"github.com/mlops-series/mlops-series/internal/images"
)

// The kind cluster config API that --kind-config files must use.
const (
	kindConfigKind       = "Cluster"
	kindConfigAPIVersion = "kind.x-k8s.io/v1alpha4"
)

// LoadKindConfig reads the kind cluster config at path and merges it over base (the embedded
// kind-config.yaml), then validates the result. See MergeKindConfig for the rules.
func LoadKindConfig(base []byte, path string) (merged []byte, notes []string, err error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("--kind-config: read %w", err)
	}
	return MergeKindConfig(base, raw, path)
}

// MergeKindConfig merges the kind cluster config overlay (named file in errors) over base:
//   - nodes are merged by index: the fields an overlay node sets replace the base node's, its
//     list fields (extraPortMappings, extraMounts, kubeadmConfigPatches*) are appended; nodes
//     beyond the base's are added;
//   - containerdConfigPatches*, kubeadmConfigPatches* are appended;
//   - maps (networking, featureGates, runtimeConfig, labels) are merged key by key;
//   - other fields replace the base's, except name: the cluster keeps the CLI's name (a note says
//     so when the overlay sets another).
//
// The overlay is decoded strictly (unknown fields are errors with file and line), and the result
// is checked as kind checks a config before creating a cluster. notes are informational lines.
func MergeKindConfig(base, overlay []byte, file string) (merged []byte, notes []string, err error) {
	ov, err := decodeKindConfig(overlay, file)
	if err != nil {
		return nil, nil, err
	}
	if ov.Kind != kindConfigKind || ov.APIVersion != kindConfigAPIVersion {
		return nil, nil, fmt.Errorf("--kind-config %s: want kind: %s and apiVersion: %s (a kind cluster config), got kind %q, apiVersion %q",
			file, kindConfigKind, kindConfigAPIVersion, ov.Kind, ov.APIVersion)
	}
	var bm, om map[string]any
	if err := yaml.Unmarshal(base, &bm); err != nil {
		return nil, nil, fmt.Errorf("embedded kind-config.yaml: %w", err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(overlay, &root); err != nil {
		return nil, nil, fmt.Errorf("--kind-config %w", yamlErr(err, file))
	}
	if err := root.Decode(&om); err != nil {
		return nil, nil, fmt.Errorf("--kind-config %w", yamlErr(err, file))
	}
	if bm == nil {
		bm = map[string]any{}
	}
	if name, ok := om["name"]; ok && name != bm["name"] {
		notes = append(notes, fmt.Sprintf("--kind-config %s: name %v ignored: the cluster is named %v", file, name, bm["name"]))
		delete(om, "name")
	}
	out := mergeMap(bm, om, clusterLists)
	merged, err = yaml.Marshal(out)
	if err != nil {
		return nil, nil, fmt.Errorf("merge --kind-config %s: %w", file, err)
	}
	cfg, err := decodeKindConfig(merged, file+" (merged over kind-config.yaml)")
	if err != nil {
		return nil, nil, err
	}
	if errs := validateKindConfig(cfg); len(errs) > 0 {
		lines := make([]string, len(errs))
		for i, e := range errs {
			at := file
			if l := overlayLine(&root, e.path); l > 0 {
				at += ":" + strconv.Itoa(l)
			}
			lines[i] = at + ": " + e.String()
		}
		return nil, nil, fmt.Errorf("--kind-config %s, merged over the embedded kind-config.yaml, is not a valid kind cluster config (nothing was changed):\n%s",
			file, strings.Join(lines, "\n"))
	}
	return merged, notes, nil
}

// overlayLine returns the line in the overlay document of the deepest part of path (as
// validateKindConfig writes it: "nodes[0].extraPortMappings[1].hostPort") that the overlay sets
// and that keeps its place in the merge; 0 when the overlay does not set it.
func overlayLine(root *yaml.Node, path string) int {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	line := 0
	for _, part := range strings.Split(path, ".") {
		key, idx, indexed := strings.Cut(part, "[")
		if n.Kind != yaml.MappingNode {
			return line
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				line, next = n.Content[i].Line, n.Content[i+1]
			}
		}
		if next == nil {
			return line
		}
		n = next
		if !indexed {
			continue
		}
		// Only nodes merge by index; appended lists shift their items.
		i, err := strconv.Atoi(strings.TrimSuffix(idx, "]"))
		if key != "nodes" || err != nil || n.Kind != yaml.SequenceNode || i >= len(n.Content) {
			return line
		}
		n = n.Content[i]
		line = n.Line
	}
	return line
}

// ValidateKindConfig decodes a complete kind cluster config strictly and checks it as kind does
// before creating a cluster.
func ValidateKindConfig(raw []byte, file string) error {
	cfg, err := decodeKindConfig(raw, file)
	if err != nil {
		return err
	}
	if cfg.Kind != kindConfigKind || cfg.APIVersion != kindConfigAPIVersion {
		return fmt.Errorf("%s: want kind: %s and apiVersion: %s", file, kindConfigKind, kindConfigAPIVersion)
	}
	if errs := validateKindConfig(cfg); len(errs) > 0 {
		lines := make([]string, len(errs))
		for i, e := range errs {
			lines[i] = e.String()
		}
		return fmt.Errorf("%s is not a valid kind cluster config:\n%s", file, strings.Join(lines, "\n"))
	}
	return nil
}

// KindNodeImages returns the node images a kind config names (kind's default for a node
// without one is not listed).
func KindNodeImages(raw []byte) []string {
	var c v1alpha4.Cluster
	if err := yaml.Unmarshal(raw, &c); err != nil {
		return nil
	}
	var out []string
	for _, n := range c.Nodes {
		if n.Image != "" && !slices.Contains(out, n.Image) {
			out = append(out, n.Image)
		}
	}
	return out
}

// The list fields that are appended rather than replaced, for the cluster and for a node.
var (
	clusterLists = map[string]bool{
		"containerdConfigPatches": true, "containerdConfigPatchesJSON6902": true,
		"kubeadmConfigPatches": true, "kubeadmConfigPatchesJSON6902": true,
	}
	nodeLists = map[string]bool{
		"extraPortMappings": true, "extraMounts": true,
		"kubeadmConfigPatches": true, "kubeadmConfigPatchesJSON6902": true,
	}
)

// mergeMap returns base with overlay merged over it; lists names the list fields to append.
// "nodes" merges by index.
func mergeMap(base, overlay map[string]any, lists map[string]bool) map[string]any {
	out := make(map[string]any, len(base)+len(overlay))
	for k, v := range base {
		out[k] = v
	}
	for k, ov := range overlay {
		bv, had := out[k]
		switch {
		case !had || bv == nil:
			out[k] = ov
		case k == "nodes":
			out[k] = mergeNodes(asList(bv), asList(ov))
		case lists[k]:
			out[k] = append(slices.Clone(asList(bv)), asList(ov)...)
		default:
			bm, bok := bv.(map[string]any)
			om, ook := ov.(map[string]any)
			if bok && ook {
				out[k] = mergeMap(bm, om, nil)
			} else {
				out[k] = ov
			}
		}
	}
	return out
}

func mergeNodes(base, overlay []any) []any {
	out := slices.Clone(base)
	for i, on := range overlay {
		om, _ := on.(map[string]any)
		if i >= len(out) {
			out = append(out, on)
			continue
		}
		bm, _ := out[i].(map[string]any)
		if bm == nil || om == nil {
			out[i] = on
			continue
		}
		out[i] = mergeMap(bm, om, nodeLists)
	}
	return out
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

// decodeKindConfig decodes one kind config document strictly.
func decodeKindConfig(raw []byte, file string) (*v1alpha4.Cluster, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, fmt.Errorf("--kind-config %s: the file is empty; want a kind cluster config (kind: %s, apiVersion: %s)", file, kindConfigKind, kindConfigAPIVersion)
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	var c v1alpha4.Cluster
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("--kind-config %w", yamlErr(err, file))
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("--kind-config %s: more than one YAML document; want one kind cluster config", file)
	}
	return &c, nil
}

var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// yamlErr rewrites go-yaml's errors as "FILE:LINE: message" lines, and names the fields a type
// accepts when a field is unknown.
func yamlErr(err error, file string) error {
	var lines []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		lines = te.Errors
	} else {
		lines = []string{err.Error()}
	}
	for i, l := range lines {
		l = strings.TrimSpace(l)
		if m := yamlLine.FindStringSubmatch(l); m != nil {
			l = file + ":" + m[1] + ": " + m[2] + knownFields(m[2])
		} else {
			l = file + ": " + strings.TrimPrefix(l, "yaml: ")
		}
		lines[i] = l
	}
	return errors.New(strings.Join(lines, "\n"))
}

var unknownField = regexp.MustCompile(`^field (\S+) not found in type v1alpha4\.(\w+)$`)

// knownFields returns " (NAME fields: a, b, ...)" for go-yaml's "field X not found in type
// v1alpha4.T" message, from T's yaml tags.
func knownFields(msg string) string {
	m := unknownField.FindStringSubmatch(msg)
	if m == nil {
		return ""
	}
	types := map[string]reflect.Type{
		"Cluster": reflect.TypeFor[v1alpha4.Cluster](), "Node": reflect.TypeFor[v1alpha4.Node](),
		"Networking": reflect.TypeFor[v1alpha4.Networking](), "Mount": reflect.TypeFor[v1alpha4.Mount](),
		"PortMapping": reflect.TypeFor[v1alpha4.PortMapping](), "PatchJSON6902": reflect.TypeFor[v1alpha4.PatchJSON6902](),
	}
	t, ok := types[m[2]]
	if !ok {
		return ""
	}
	var names []string
	var walk func(reflect.Type)
	walk = func(t reflect.Type) {
		for f := range t.Fields() {
			tag := f.Tag.Get("yaml")
			name, opts, _ := strings.Cut(tag, ",")
			if strings.Contains(opts, "inline") {
				walk(f.Type)
				continue
			}
			if name != "" && name != "-" {
				names = append(names, name)
			}
		}
	}
	walk(t)
	return fmt.Sprintf(" (a %s has: %s)", strings.ToLower(m[2][:1])+m[2][1:], strings.Join(names, ", "))
}

var clusterNameRE = regexp.MustCompile(`^[a-z0-9.-]+$`)

// fieldErr is one problem of a kind config, at a field path ("nodes[0].image").
type fieldErr struct{ path, msg string }

func (e fieldErr) String() string { return e.path + ": " + e.msg }

// validateKindConfig checks a complete config as kind does before it creates a cluster (name,
// networking, node roles and images, port mappings), plus what would only fail once the node
// container runs: kubeadm and containerd patches that do not parse.
func validateKindConfig(in *v1alpha4.Cluster) []fieldErr {
	c := in.DeepCopy()
	v1alpha4.SetDefaultsCluster(c)
	var errs []fieldErr
	add := func(path, format string, a ...any) { errs = append(errs, fieldErr{path, fmt.Sprintf(format, a...)}) }
	if !clusterNameRE.MatchString(c.Name) {
		add("name", "%q: want lowercase letters, digits, '.' and '-'", c.Name)
	}
	n := c.Networking
	if !validPort(n.APIServerPort) {
		add("networking.apiServerPort", "%d is not a port (want -1 to 65535; 0 picks one)", n.APIServerPort)
	}
	if net.ParseIP(n.APIServerAddress) == nil {
		add("networking.apiServerAddress", "%q is not an IP address", n.APIServerAddress)
	}
	if !slices.Contains([]v1alpha4.ClusterIPFamily{v1alpha4.IPv4Family, v1alpha4.IPv6Family, v1alpha4.DualStackFamily}, n.IPFamily) {
		add("networking.ipFamily", "%q, want ipv4, ipv6 or dual", n.IPFamily)
	}
	for _, s := range []struct{ name, v string }{{"podSubnet", n.PodSubnet}, {"serviceSubnet", n.ServiceSubnet}} {
		if err := validateSubnets(s.v, n.IPFamily); err != nil {
			add("networking."+s.name, "%v", err)
		}
	}
	if !slices.Contains([]v1alpha4.ProxyMode{v1alpha4.IPTablesProxyMode, v1alpha4.IPVSProxyMode, v1alpha4.NFTablesProxyMode, "none"}, n.KubeProxyMode) {
		add("networking.kubeProxyMode", "%q, want iptables, ipvs, nftables or none", n.KubeProxyMode)
	}
	controlPlanes := 0
	for i, node := range c.Nodes {
		where := fmt.Sprintf("nodes[%d]", i)
		switch node.Role {
		case v1alpha4.ControlPlaneRole:
			controlPlanes++
		case v1alpha4.WorkerRole:
		default:
			add(where+".role", "%q, want control-plane or worker", node.Role)
		}
		for j, pm := range node.ExtraPortMappings {
			pw := fmt.Sprintf("%s.extraPortMappings[%d]", where, j)
			if !validPort(pm.HostPort) {
				add(pw+".hostPort", "%d is not a port (want -1 to 65535)", pm.HostPort)
			}
			if pm.ContainerPort < 1 || pm.ContainerPort > 65535 {
				add(pw+".containerPort", "%d is not a port (want 1 to 65535)", pm.ContainerPort)
			}
			if pm.ListenAddress != "" && net.ParseIP(pm.ListenAddress) == nil {
				add(pw+".listenAddress", "%q is not an IP address", pm.ListenAddress)
			}
			if pm.Protocol != "" && !slices.Contains([]v1alpha4.PortMappingProtocol{v1alpha4.PortMappingProtocolTCP, v1alpha4.PortMappingProtocolUDP, v1alpha4.PortMappingProtocolSCTP}, pm.Protocol) {
				add(pw+".protocol", "%q, want TCP, UDP or SCTP", pm.Protocol)
			}
		}
		if err := duplicatePorts(node.ExtraPortMappings); err != nil {
			add(where+".extraPortMappings", "%v", err)
		}
		for j, m := range node.ExtraMounts {
			mw := fmt.Sprintf("%s.extraMounts[%d]", where, j)
			if m.HostPath == "" || m.ContainerPath == "" {
				add(mw, "hostPath and containerPath are required")
			}
			if m.Propagation != "" && !slices.Contains([]v1alpha4.MountPropagation{v1alpha4.MountPropagationNone, v1alpha4.MountPropagationHostToContainer, v1alpha4.MountPropagationBidirectional}, m.Propagation) {
				add(mw+".propagation", "%q, want None, HostToContainer or Bidirectional", m.Propagation)
			}
		}
		errs = append(errs, kubeadmPatchErrs(where+".", node.KubeadmConfigPatches, node.KubeadmConfigPatchesJSON6902)...)
	}
	if controlPlanes == 0 {
		add("nodes", "no node has role control-plane; kind needs one")
	}
	errs = append(errs, kubeadmPatchErrs("", c.KubeadmConfigPatches, c.KubeadmConfigPatchesJSON6902)...)
	for i, p := range c.ContainerdConfigPatches {
		var v map[string]any
		if _, err := toml.Decode(p, &v); err != nil {
			add(fmt.Sprintf("containerdConfigPatches[%d]", i), "not TOML: %v", err)
		}
	}
	for i, p := range c.ContainerdConfigPatchesJSON6902 {
		if !jsonPatchOps(p) {
			add(fmt.Sprintf("containerdConfigPatchesJSON6902[%d]", i), "want a list of JSON patch operations (op, path, value)")
		}
	}
	return errs
}

// kubeadmPatchErrs checks that every kubeadm patch is YAML naming the kind of document it patches
// (kind applies it to the documents of that kind), and that JSON 6902 patches name their target.
func kubeadmPatchErrs(prefix string, patches []string, json6902 []v1alpha4.PatchJSON6902) []fieldErr {
	var errs []fieldErr
	for i, p := range patches {
		path := fmt.Sprintf("%skubeadmConfigPatches[%d]", prefix, i)
		docs, err := yamlDocs(p)
		if err != nil {
			errs = append(errs, fieldErr{path, "not YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")})
			continue
		}
		for _, d := range docs {
			if k, _ := d["kind"].(string); k == "" {
				errs = append(errs, fieldErr{path, "no kind: say which document it patches (ClusterConfiguration, InitConfiguration, JoinConfiguration, KubeletConfiguration or KubeProxyConfiguration)"})
			}
		}
	}
	for i, p := range json6902 {
		path := fmt.Sprintf("%skubeadmConfigPatchesJSON6902[%d]", prefix, i)
		if p.Kind == "" || p.Version == "" {
			errs = append(errs, fieldErr{path, "version and kind are required"})
		}
		if !jsonPatchOps(p.Patch) {
			errs = append(errs, fieldErr{path + ".patch", "want a list of JSON patch operations (op, path, value)"})
		}
	}
	return errs
}

// jsonPatchOps tells whether s is a non-empty YAML/JSON list of operations, each with op and path.
func jsonPatchOps(s string) bool {
	var ops []map[string]any
	if err := yaml.Unmarshal([]byte(s), &ops); err != nil || len(ops) == 0 {
		return false
	}
	for _, op := range ops {
		if op["op"] == nil || op["path"] == nil {
			return false
		}
	}
	return true
}

// yamlDocs decodes every document of a multi-document YAML string.
func yamlDocs(s string) ([]map[string]any, error) {
	dec := yaml.NewDecoder(strings.NewReader(s))
	var out []map[string]any
	for {
		var m map[string]any
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if m != nil {
			out = append(out, m)
		}
	}
}

func validPort(p int32) bool { return p >= -1 && p <= 65535 }

// validateSubnets checks a comma-separated CIDR list against the IP family (empty: ipv4).
func validateSubnets(s string, family v1alpha4.ClusterIPFamily) error {
	var v4, v6 int
	for _, part := range strings.Split(s, ",") {
		ip, _, err := net.ParseCIDR(strings.TrimSpace(part))
		if err != nil {
			return fmt.Errorf("%q is not a CIDR", part)
		}
		if ip.To4() != nil {
			v4++
		} else {
			v6++
		}
	}
	switch family {
	case v1alpha4.DualStackFamily:
		if v4 > 1 || v6 > 1 {
			return fmt.Errorf("%q: want one CIDR, or one IPv4 and one IPv6 CIDR for dual-stack", s)
		}
	case v1alpha4.IPv6Family:
		if v4 > 0 || v6 != 1 {
			return fmt.Errorf("%q: want one IPv6 CIDR for ipFamily ipv6", s)
		}
	default:
		if v6 > 0 || v4 != 1 {
			return fmt.Errorf("%q: want one IPv4 CIDR for ipFamily ipv4", s)
		}
	}
	return nil
}

// duplicatePorts finds two mappings binding the same host port and protocol on the same (or the
// wildcard) address; kind refuses them. Ports 0 and -1 pick a random port and never clash.
func duplicatePorts(pms []v1alpha4.PortMapping) error {
	seen := map[string][]string{}
	for _, pm := range pms {
		if pm.HostPort <= 0 {
			continue
		}
		proto := string(pm.Protocol)
		if proto == "" {
			proto = "TCP"
		}
		addr := "0.0.0.0"
		if pm.ListenAddress != "" {
			if ip := net.ParseIP(pm.ListenAddress); ip != nil && !ip.IsUnspecified() {
				addr = ip.String()
			}
		}
		key := strconv.Itoa(int(pm.HostPort)) + "/" + proto
		for _, a := range seen[key] {
			if a == addr || a == "0.0.0.0" || addr == "0.0.0.0" {
				return fmt.Errorf("host port %s is mapped twice on %s", key, addr)
			}
		}
		seen[key] = append(seen[key], addr)
	}
	return nil
}

// kubeletCgroupV1Patch lets kubelet 1.35+ start on a cgroup v1 host; it refuses otherwise.
const kubeletCgroupV1Patch = "kind: KubeletConfiguration\nfailCgroupV1: false\n"

// withCgroupV1Patch returns cfg with kubeletCgroupV1Patch added to its kubeadmConfigPatches when
// the engine runs containers on cgroup v1 (cgroupVersion "1" from docker, "v1" from podman) and
// no patch of cfg sets failCgroupV1 already (whatever the value: the user's word stands).
func withCgroupV1Patch(cfg []byte, cgroupVersion string) ([]byte, bool, error) {
	if strings.TrimPrefix(strings.TrimSpace(cgroupVersion), "v") != "1" {
		return cfg, false, nil
	}
	var c v1alpha4.Cluster
	if err := yaml.Unmarshal(cfg, &c); err != nil {
		return nil, false, fmt.Errorf("read kind config: %w", err)
	}
	patches := slices.Clone(c.KubeadmConfigPatches)
	j6902 := slices.Clone(c.KubeadmConfigPatchesJSON6902)
	for _, n := range c.Nodes {
		patches = append(patches, n.KubeadmConfigPatches...)
		j6902 = append(j6902, n.KubeadmConfigPatchesJSON6902...)
	}
	for _, p := range patches {
		docs, _ := yamlDocs(p)
		for _, d := range docs {
			if _, set := d["failCgroupV1"]; set && d["kind"] == "KubeletConfiguration" {
				return cfg, false, nil
			}
		}
	}
	for _, p := range j6902 {
		if p.Kind == "KubeletConfiguration" && strings.Contains(p.Patch, "/failCgroupV1") {
			return cfg, false, nil
		}
	}
	var m map[string]any
	if err := yaml.Unmarshal(cfg, &m); err != nil {
		return nil, false, fmt.Errorf("read kind config: %w", err)
	}
	m["kubeadmConfigPatches"] = append(asList(m["kubeadmConfigPatches"]), kubeletCgroupV1Patch)
	out, err := yaml.Marshal(m)
	if err != nil {
		return nil, false, fmt.Errorf("write kind config: %w", err)
	}
	return out, true, nil
}

// withShareMount returns cfg with share's host folder mounted read-only at its NodeDir in every
// node that does not mount something there already (the user's mount stands).
func withShareMount(cfg []byte, share images.Share) ([]byte, error) {
	var m map[string]any
	if err := yaml.Unmarshal(cfg, &m); err != nil {
		return nil, fmt.Errorf("read kind config: %w", err)
	}
	ns := asList(m["nodes"])
	if len(ns) == 0 {
		// kind's default: one control-plane node.
		ns = []any{map[string]any{"role": "control-plane"}}
	}
	for i, n := range ns {
		node, ok := n.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("read kind config: nodes[%d] is not a mapping", i)
		}
		mounts := asList(node["extraMounts"])
		taken := false
		for _, mt := range mounts {
			if mm, ok := mt.(map[string]any); ok && mm["containerPath"] == share.NodeDir {
				taken = true
			}
		}
		if !taken {
			node["extraMounts"] = append(mounts, map[string]any{"hostPath": share.HostDir, "containerPath": share.NodeDir, "readOnly": true})
		}
		ns[i] = node
	}
	m["nodes"] = ns
	out, err := yaml.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("write kind config: %w", err)
	}
	return out, nil
}
