package cluster

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v3"
	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"

	mlopsseries "github.com/mlops-series/mlops-series"
	"github.com/mlops-series/mlops-series/internal/images"
)

// The overlay hack/kind writes for the machines without a registry (issue 7).
const offlineOverlay = `kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
networking: {disableDefaultCNI: false}
nodes:
  - role: control-plane
    image: mlops-series.local/kind-node:v1.37.2
containerdConfigPatches:
  - |-
    [plugins."io.containerd.cri.v1.runtime"]
      restrict_oom_score_adj = true
kubeadmConfigPatches:
  - |
    kind: KubeletConfiguration
    failCgroupV1: false
`

const testBase = `kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
name: mlops-series
networking:
  apiServerAddress: 127.0.0.1
featureGates: {A: true}
nodes:
  - role: control-plane
    image: kindest/node:v1.37.0
    labels: {tier: base}
    extraPortMappings:
      - {containerPort: 30080, hostPort: 30080, listenAddress: 127.0.0.1}
kubeadmConfigPatches:
  - |
    kind: ClusterConfiguration
    apiServer: {extraArgs: {v: "2"}}
`

func decode(t *testing.T, b []byte) v1alpha4.Cluster {
	t.Helper()
	var c v1alpha4.Cluster
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatalf("merged config does not decode: %v\n%s", err, b)
	}
	return c
}

// The embedded kind-config.yaml is valid, and the offline overlay merges over it as issue 7 needs:
// the node image replaced, the patches added, the rest (name) kept.
func TestMergeOfflineOverlayOverEmbedded(t *testing.T) {
	base := mlopsseries.KindConfig()
	if err := ValidateKindConfig(base, "kind-config.yaml"); err != nil {
		t.Fatalf("embedded kind-config.yaml: %v", err)
	}
	merged, notes, err := MergeKindConfig(base, []byte(offlineOverlay), "overlay.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(notes) != 0 {
		t.Errorf("notes = %v", notes)
	}
	c := decode(t, merged)
	if c.Name != "mlops-series" || len(c.Nodes) != 1 || c.Nodes[0].Image != "mlops-series.local/kind-node:v1.37.2" || c.Nodes[0].Role != "control-plane" {
		t.Errorf("merged = %+v", c)
	}
	if len(c.ContainerdConfigPatches) != 1 || !strings.Contains(c.ContainerdConfigPatches[0], "restrict_oom_score_adj = true") {
		t.Errorf("containerdConfigPatches = %q", c.ContainerdConfigPatches)
	}
	if len(c.KubeadmConfigPatches) != 1 || !strings.Contains(c.KubeadmConfigPatches[0], "failCgroupV1: false") {
		t.Errorf("kubeadmConfigPatches = %q", c.KubeadmConfigPatches)
	}
	if err := ValidateKindConfig(merged, "merged"); err != nil {
		t.Error(err)
	}
	if got := KindNodeImages(merged); len(got) != 1 || got[0] != "mlops-series.local/kind-node:v1.37.2" {
		t.Errorf("KindNodeImages = %v", got)
	}
	// Loaded from a file, the same.
	path := filepath.Join(t.TempDir(), "kind-config.yaml")
	if err := os.WriteFile(path, []byte(offlineOverlay), 0o600); err != nil {
		t.Fatal(err)
	}
	fromFile, _, err := LoadKindConfig(base, path)
	if err != nil || string(fromFile) != string(merged) {
		t.Errorf("LoadKindConfig = %v\n%s", err, fromFile)
	}
}

func TestMergeRules(t *testing.T) {
	tests := []struct {
		name    string
		overlay string
		check   func(t *testing.T, c v1alpha4.Cluster)
		note    string
	}{
		{"node fields override, lists append, maps merge", `kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
nodes:
  - image: local/node:1
    labels: {disk: ssd}
    extraPortMappings:
      - {containerPort: 30443, hostPort: 30443, listenAddress: 127.0.0.1}
    extraMounts:
      - {hostPath: /tmp, containerPath: /host-tmp}
`, func(t *testing.T, c v1alpha4.Cluster) {
			n := c.Nodes[0]
			if n.Image != "local/node:1" || n.Role != "control-plane" {
				t.Errorf("node = %+v", n)
			}
			if n.Labels["tier"] != "base" || n.Labels["disk"] != "ssd" {
				t.Errorf("labels = %v", n.Labels)
			}
			if len(n.ExtraPortMappings) != 2 || n.ExtraPortMappings[0].HostPort != 30080 || n.ExtraPortMappings[1].HostPort != 30443 {
				t.Errorf("extraPortMappings = %+v", n.ExtraPortMappings)
			}
			if len(n.ExtraMounts) != 1 || n.ExtraMounts[0].ContainerPath != "/host-tmp" {
				t.Errorf("extraMounts = %+v", n.ExtraMounts)
			}
		}, ""},
		{"extra nodes are added", `kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
nodes:
  - {}
  - {role: worker, image: local/node:1}
`, func(t *testing.T, c v1alpha4.Cluster) {
			if len(c.Nodes) != 2 || c.Nodes[0].Image != "kindest/node:v1.37.0" || c.Nodes[1].Role != "worker" {
				t.Errorf("nodes = %+v", c.Nodes)
			}
		}, ""},
		{"patches append, scalars and maps override", `kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
networking: {disableDefaultCNI: true, podSubnet: 10.250.0.0/16}
featureGates: {B: false}
kubeadmConfigPatches:
  - |
    kind: KubeletConfiguration
    maxPods: 50
containerdConfigPatches:
  - |-
    [plugins."io.containerd.grpc.v1.cri".registry]
      config_path = "/etc/containerd/certs.d"
`, func(t *testing.T, c v1alpha4.Cluster) {
			if !c.Networking.DisableDefaultCNI || c.Networking.PodSubnet != "10.250.0.0/16" || c.Networking.APIServerAddress != "127.0.0.1" {
				t.Errorf("networking = %+v", c.Networking)
			}
			if !c.FeatureGates["A"] || c.FeatureGates["B"] {
				t.Errorf("featureGates = %v", c.FeatureGates)
			}
			if len(c.KubeadmConfigPatches) != 2 || !strings.Contains(c.KubeadmConfigPatches[0], "ClusterConfiguration") || !strings.Contains(c.KubeadmConfigPatches[1], "maxPods") {
				t.Errorf("kubeadmConfigPatches = %q", c.KubeadmConfigPatches)
			}
			if len(c.ContainerdConfigPatches) != 1 {
				t.Errorf("containerdConfigPatches = %q", c.ContainerdConfigPatches)
			}
		}, ""},
		{"the cluster keeps the CLI's name", `kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
name: other
`, func(t *testing.T, c v1alpha4.Cluster) {
			if c.Name != "mlops-series" {
				t.Errorf("name = %q", c.Name)
			}
		}, "name other ignored: the cluster is named mlops-series"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			merged, notes, err := MergeKindConfig([]byte(testBase), []byte(tt.overlay), "o.yaml")
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, decode(t, merged))
			if got := strings.Join(notes, "\n"); !strings.Contains(got, tt.note) || (tt.note == "" && got != "") {
				t.Errorf("notes = %q, want %q", got, tt.note)
			}
		})
	}
}

// A bad overlay is refused with the file, the line where it can be told, the field and what is
// wanted; nothing comes out.
func TestMergeErrors(t *testing.T) {
	const head = "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\n"
	tests := []struct {
		name    string
		overlay string
		want    []string
	}{
		{"empty", "\n", []string{"o.yaml: the file is empty"}},
		{"not a kind config", "kind: Pod\napiVersion: v1\n", []string{"want kind: Cluster and apiVersion: kind.x-k8s.io/v1alpha4", `got kind "Pod"`}},
		{"no apiVersion", "kind: Cluster\n", []string{"want kind: Cluster and apiVersion"}},
		{"unknown top-level field", head + "node:\n  - role: worker\n", []string{"o.yaml:3: field node not found in type v1alpha4.Cluster", "a cluster has: kind, apiVersion, name, nodes"}},
		{"unknown node field", head + "nodes:\n  - role: control-plane\n    imag: x\n", []string{"o.yaml:5: field imag not found in type v1alpha4.Node", "a node has: role, image, labels"}},
		{"syntax", head + "nodes: [\n", []string{"o.yaml:"}},
		{"wrong type", head + "nodes: {role: worker}\n", []string{"o.yaml:3: cannot unmarshal"}},
		{"two documents", head + "---\n" + head, []string{"more than one YAML document"}},
		{"bad role", head + "nodes:\n  - role: master\n", []string{`o.yaml:4: nodes[0].role: "master", want control-plane or worker`, "no node has role control-plane"}},
		{"duplicate host port", head + "nodes:\n  - extraPortMappings:\n      - {containerPort: 80, hostPort: 30080}\n",
			[]string{"o.yaml:4: nodes[0].extraPortMappings: host port 30080/TCP is mapped twice"}},
		{"bad port", head + "nodes:\n  - extraPortMappings:\n      - {containerPort: 0, hostPort: 70000}\n",
			[]string{"nodes[0].extraPortMappings[1].hostPort: 70000 is not a port", "nodes[0].extraPortMappings[1].containerPort: 0 is not a port"}},
		{"bad subnet", head + "networking:\n  podSubnet: 10.0.0.0/33\n", []string{`o.yaml:4: networking.podSubnet: "10.0.0.0/33" is not a CIDR`}},
		{"bad proxy mode", head + "networking: {kubeProxyMode: userspace}\n", []string{`networking.kubeProxyMode: "userspace"`}},
		{"containerd patch not TOML", head + "containerdConfigPatches:\n  - '[plugins'\n", []string{"o.yaml:3: containerdConfigPatches[0]: not TOML"}},
		{"kubeadm patch without kind", head + "kubeadmConfigPatches:\n  - |\n    failCgroupV1: false\n", []string{"kubeadmConfigPatches[1]: no kind: say which document it patches"}},
		{"kubeadm patch not YAML", head + "kubeadmConfigPatches:\n  - 'a: [b'\n", []string{"kubeadmConfigPatches[1]: not YAML"}},
		{"json6902 without target", head + "kubeadmConfigPatchesJSON6902:\n  - {group: kubeadm.k8s.io, patch: '- {op: add, path: /x, value: 1}'}\n",
			[]string{"kubeadmConfigPatchesJSON6902[0]: version and kind are required"}},
		{"mount without paths", head + "nodes:\n  - extraMounts:\n      - {hostPath: /tmp}\n", []string{"nodes[0].extraMounts[0]: hostPath and containerPath are required"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			merged, _, err := MergeKindConfig([]byte(testBase), []byte(tt.overlay), "o.yaml")
			if err == nil {
				t.Fatalf("no error; merged:\n%s", merged)
			}
			if merged != nil {
				t.Errorf("a config came out with the error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			if !strings.Contains(err.Error(), "--kind-config o.yaml") {
				t.Errorf("error does not name the flag and file:\n%v", err)
			}
		})
	}
	if _, _, err := LoadKindConfig([]byte(testBase), filepath.Join(t.TempDir(), "missing.yaml")); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("missing file: %v", err)
	}
}

// The cgroup v1 decision: only on a cgroup v1 engine, and only when no patch of the config says
// failCgroupV1 already (whatever it says).
func TestCgroupV1PatchDecision(t *testing.T) {
	withPatch := func(p string) string {
		return testBase + "  - |\n" + indent(p, "    ")
	}
	tests := []struct {
		name    string
		cfg     string
		version string
		add     bool
	}{
		{"cgroup v2 docker", testBase, "2", false},
		{"cgroup v2 podman", testBase, "v2", false},
		{"unknown", testBase, "", false},
		{"cgroup v1 docker", testBase, "1", true},
		{"cgroup v1 podman", testBase, "v1", true},
		{"already false", withPatch("kind: KubeletConfiguration\nfailCgroupV1: false\n"), "1", false},
		{"user says true", withPatch("kind: KubeletConfiguration\nfailCgroupV1: true\n"), "1", false},
		{"in a second document", withPatch("kind: ClusterConfiguration\n---\nkind: KubeletConfiguration\nfailCgroupV1: false\n"), "1", false},
		{"other kubelet settings only", withPatch("kind: KubeletConfiguration\nmaxPods: 50\n"), "1", true},
		{"the field on another kind", withPatch("kind: InitConfiguration\nfailCgroupV1: false\n"), "1", true},
		{"on a node", strings.Replace(testBase, "    labels: {tier: base}\n", "    labels: {tier: base}\n    kubeadmConfigPatches:\n      - |\n        kind: KubeletConfiguration\n        failCgroupV1: false\n", 1), "1", false},
		{"as a JSON 6902 patch", testBase + "kubeadmConfigPatchesJSON6902:\n  - {group: kubelet.config.k8s.io, version: v1beta1, kind: KubeletConfiguration, patch: '- {op: add, path: /failCgroupV1, value: false}'}\n", "1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := ValidateKindConfig([]byte(tt.cfg), "cfg"); err != nil {
				t.Fatalf("test config invalid: %v", err)
			}
			out, added, err := withCgroupV1Patch([]byte(tt.cfg), tt.version)
			if err != nil {
				t.Fatal(err)
			}
			if added != tt.add {
				t.Fatalf("added = %v, want %v", added, tt.add)
			}
			if !added {
				if string(out) != tt.cfg {
					t.Errorf("config changed without a patch")
				}
				return
			}
			c := decode(t, out)
			last := c.KubeadmConfigPatches[len(c.KubeadmConfigPatches)-1]
			if last != kubeletCgroupV1Patch || len(c.KubeadmConfigPatches) != len(decode(t, []byte(tt.cfg)).KubeadmConfigPatches)+1 {
				t.Errorf("patches = %q", c.KubeadmConfigPatches)
			}
			if err := ValidateKindConfig(out, "patched"); err != nil {
				t.Error(err)
			}
			// Applying it twice adds nothing.
			if _, again, _ := withCgroupV1Patch(out, tt.version); again {
				t.Error("the patch was added twice")
			}
		})
	}
}

func indent(s, pre string) string {
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = pre + l
	}
	return strings.Join(lines, "\n") + "\n"
}

// Ensure creates from the config with the patch the probe asks for, and says so; a probe that
// cannot answer leaves the config as it is.
func TestCreateConfig(t *testing.T) {
	tests := []struct {
		name    string
		version string
		err     error
		patched bool
		say     string
	}{
		{"cgroup v1", "1", nil, true, "adding the kubelet setting failCgroupV1: false"},
		{"cgroup v2", "2", nil, false, ""},
		{"probe failed", "", errors.New("boom"), false, "could not read the engine's cgroup version (boom)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var said []string
			k := &Kind{Config: []byte(testBase), Progress: func(s string) { said = append(said, s) },
				CgroupVersion: func(context.Context) (string, error) { return tt.version, tt.err }}
			cfg, err := k.createConfig(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Contains(string(cfg), "failCgroupV1"); got != tt.patched {
				t.Errorf("patched = %v, want %v", got, tt.patched)
			}
			if got := strings.Join(said, "\n"); !strings.Contains(got, tt.say) || (tt.say == "" && got != "") {
				t.Errorf("said %q, want %q", got, tt.say)
			}
			if string(k.Config) != testBase {
				t.Error("Config was modified")
			}
		})
	}
}

// With a share, every node of the created cluster mounts the host folder read-only at its node
// path (the folder is created first); a node that mounts something there already keeps its mount.
func TestCreateConfigMountsTheShare(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "kind-share")
	share := &images.Share{HostDir: dir, NodeDir: ShareNodeDir}
	two := "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nname: mlops-series\nnodes:\n  - role: control-plane\n" +
		"  - role: worker\n    extraMounts:\n      - {hostPath: /srv/mine, containerPath: " + ShareNodeDir + "}\n"
	k := &Kind{Config: []byte(two), Share: share, CgroupVersion: func(context.Context) (string, error) { return "2", nil }}
	cfg, err := k.createConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var c v1alpha4.Cluster
	if err := yaml.Unmarshal(cfg, &c); err != nil {
		t.Fatal(err)
	}
	if len(c.Nodes) != 2 {
		t.Fatalf("nodes: %+v", c.Nodes)
	}
	want := v1alpha4.Mount{HostPath: dir, ContainerPath: ShareNodeDir, Readonly: true}
	if got := c.Nodes[0].ExtraMounts; len(got) != 1 || got[0] != want {
		t.Errorf("control plane's mounts: %+v, want %+v", got, want)
	}
	if got := c.Nodes[1].ExtraMounts; len(got) != 1 || got[0].HostPath != "/srv/mine" {
		t.Errorf("the worker's own mount was replaced: %+v", got)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		t.Errorf("share folder not created: %v", err)
	}
	if err := ValidateKindConfig(cfg, "created"); err != nil {
		t.Errorf("created config does not validate: %v", err)
	}
}
