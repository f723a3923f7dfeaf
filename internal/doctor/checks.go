package doctor

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"sigs.k8s.io/yaml"
)

const engineFix = "start Docker Desktop / `sudo systemctl start docker` / `podman machine start`, " +
	"or deploy onto an existing cluster with --context NAME"

func engineFinding(e Engine) Finding {
	return Finding{Name: "engine", Status: OK, Message: fmt.Sprintf("%s %s answers: %d CPUs, %s memory, %s",
		e.Name, e.Version, e.CPUs, gibs(e.MemoryBytes), e.Arch)}
}

func memoryFinding(e Engine, in Input) Finding {
	headroom := in.Headroom
	if headroom <= 0 {
		headroom = 1.5
	}
	req := uint64(max(in.RequestedMemory.Value(), 0))
	need := req + kindNodeMemory
	want := uint64(math.Ceil(float64(req)*headroom)) + kindNodeMemory
	f := Finding{Name: "memory"}
	what := fmt.Sprintf("the engine gives containers %s; the chapter requests %s, plus ~1 GiB for the kind node",
		gibs(e.MemoryBytes), gibs(req))
	// What to set: the comfortable amount, rounded up to whole GiB.
	set := (want + gib - 1) / gib
	fix := fmt.Sprintf("give the engine at least %d GiB: Docker Desktop → Settings → Resources → Memory; "+
		"Podman: `podman machine stop && podman machine set --memory %d && podman machine start`. "+
		"Docker Engine on Linux uses the host's memory: close other programs", set, set*1024)
	switch {
	case e.MemoryBytes == 0:
		f.Status, f.Message, f.Fix = Warn, "the engine did not report its memory; the chapter needs "+gibs(want), fix
	case e.MemoryBytes < need:
		f.Status, f.Message, f.Fix = Fail, what+": pods will not fit (needs "+gibs(need)+")", fix
	case e.MemoryBytes < want:
		f.Status, f.Message, f.Fix = Warn, what+": tight, "+gibs(want)+" recommended", fix
	default:
		f.Status, f.Message = OK, what
	}
	return f
}

func cpuFinding(e Engine, in Input) Finding {
	req := max(in.RequestedCPU.MilliValue(), 0)
	f := Finding{Name: "cpus"}
	fix := "give the engine more CPUs: Docker Desktop → Settings → Resources → CPUs (4 is comfortable); " +
		"Podman: `podman machine stop && podman machine set --cpus 4 && podman machine start`"
	what := fmt.Sprintf("%d CPUs for %dm requested (+%dm for kind's own pods)", e.CPUs, req, kindNodeMilliCPU)
	switch {
	case e.CPUs < 1:
		f.Status, f.Message, f.Fix = Warn, "the engine did not report its CPUs", fix
	case int64(e.CPUs)*1000 < req+kindNodeMilliCPU:
		f.Status, f.Message, f.Fix = Fail, what+": pods would stay Pending (Insufficient cpu)", fix
	case e.CPUs < 2:
		f.Status, f.Message, f.Fix = Warn, what+": 1 CPU makes the cluster slow to start", fix
	default:
		f.Status, f.Message = OK, what
	}
	return f
}

func diskFinding(in Input) Finding {
	f := Finding{Name: "disk"}
	path := in.DiskPath
	if path == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			f.Status, f.Message = Warn, "cannot find the cache dir to measure free disk: "+err.Error()
			return f
		}
		path = dir
	}
	// The cache dir may not exist yet: measure the nearest existing parent.
	for {
		if _, err := os.Stat(path); err == nil || filepath.Dir(path) == path {
			break
		}
		path = filepath.Dir(path)
	}
	want := in.MinFreeDisk
	if want == 0 {
		want = 10 * gib
	}
	free, err := freeBytes(path)
	if err != nil {
		f.Status, f.Message = Warn, fmt.Sprintf("cannot measure free disk at %s: %v", path, err)
		return f
	}
	fix := "free disk space: `docker system prune` removes stopped containers and unused images " +
		"(`podman system prune` for Podman); Docker Desktop's disk limit is in Settings → Resources"
	what := fmt.Sprintf("%s free at %s", gibs(free), path)
	switch {
	case free < want/5:
		f.Status, f.Message, f.Fix = Fail, fmt.Sprintf("%s: images will not fit (%s recommended)", what, gibs(want)), fix
	case free < want:
		f.Status, f.Message, f.Fix = Warn, fmt.Sprintf("%s: %s recommended for the images", what, gibs(want)), fix
	default:
		f.Status, f.Message = OK, what
	}
	return f
}

const (
	minWatches   = 524288
	minInstances = 512
	minFileMax   = 65536
)

func inotifyFinding(in Input) Finding {
	root := in.ProcRoot
	if root == "" {
		root = "/proc"
	}
	f := Finding{Name: "inotify"}
	read := func(rel string) (int64, error) {
		b, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			return 0, err
		}
		return strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	}
	watches, err := read("sys/fs/inotify/max_user_watches")
	if errors.Is(err, os.ErrNotExist) {
		f.Status, f.Message = OK, "not Linux: Docker Desktop's VM manages it"
		return f
	}
	instances, err2 := read("sys/fs/inotify/max_user_instances")
	if err = errors.Join(err, err2); err != nil {
		f.Status, f.Message = Warn, "cannot read the inotify limits: "+err.Error()
		return f
	}
	what := fmt.Sprintf("max_user_watches %d, max_user_instances %d", watches, instances)
	var low []string
	if watches < minWatches {
		low = append(low, fmt.Sprintf("fs.inotify.max_user_watches=%d", minWatches))
	}
	if instances < minInstances {
		low = append(low, fmt.Sprintf("fs.inotify.max_user_instances=%d", minInstances))
	}
	// file-max is rarely low; report it only when it is.
	if fileMax, err := read("sys/fs/file-max"); err == nil && fileMax < minFileMax {
		what += fmt.Sprintf(", file-max %d", fileMax)
		low = append(low, fmt.Sprintf("fs.file-max=%d", minFileMax))
	}
	if len(low) == 0 {
		f.Status, f.Message = OK, what
		return f
	}
	f.Status = Warn
	f.Message = what + ": too low, kind's pods fail with \"too many open files\""
	f.Fix = "sudo sysctl " + strings.Join(low, " ") + "\n" +
		"to keep it after a reboot: printf '%s\\n' " + strings.Join(low, " ") + " | sudo tee /etc/sysctl.d/99-kind.conf"
	return f
}

// kindConfig is the part of a kind Cluster config doctor reads.
type kindConfig struct {
	Nodes []struct {
		ExtraPortMappings []HostPort `json:"extraPortMappings"`
	} `json:"nodes"`
}

// ParseKindConfig returns the host ports of a kind config's extraPortMappings, with kind's default
// listen address 0.0.0.0 and protocol TCP filled in; hostPort 0 (a random port) is left out.
func ParseKindConfig(b []byte) ([]HostPort, error) {
	var c kindConfig
	if err := yaml.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("read kind config: %w", err)
	}
	var out []HostPort
	for _, n := range c.Nodes {
		for _, p := range n.ExtraPortMappings {
			if p.Port == 0 {
				continue
			}
			out = append(out, p)
		}
	}
	return out, nil
}

func portFindings(in Input) []Finding {
	ports := slices.Clone(in.HostPorts)
	if len(in.KindConfig) > 0 {
		more, err := ParseKindConfig(in.KindConfig)
		if err != nil {
			return []Finding{{Name: "ports", Status: Fail, Message: err.Error(), Fix: "correct kind-config.yaml"}}
		}
		ports = append(ports, more...)
	}
	if len(ports) == 0 {
		return nil
	}
	var free, busy, fixes []string
	for _, p := range ports {
		addr := p.ListenAddress
		if addr == "" {
			addr = "0.0.0.0"
		}
		proto := strings.ToLower(p.Protocol)
		if proto == "" {
			proto = "tcp"
		}
		hp := net.JoinHostPort(addr, strconv.Itoa(p.Port))
		if err := tryBind(proto, hp); err != nil {
			reason := "in use"
			if !errors.Is(err, syscall.EADDRINUSE) {
				reason = "cannot be bound: " + err.Error()
			}
			busy = append(busy, fmt.Sprintf("%s/%s %s", hp, proto, reason))
			fixes = append(fixes, portFix(runtime.GOOS, p.Port))
			continue
		}
		free = append(free, hp)
	}
	if len(busy) == 0 {
		return []Finding{{Name: "ports", Status: OK, Message: "host ports free: " + strings.Join(free, ", ")}}
	}
	return []Finding{{Name: "ports", Status: Fail,
		Message: "host port " + strings.Join(busy, "; ") + " (kind-config.yaml maps it for the cluster)",
		Fix:     strings.Join(slices.Compact(fixes), "\n")}}
}

// tryBind binds the address like the engine would for a port mapping, and lets it go.
func tryBind(proto, addr string) error {
	switch proto {
	case "tcp":
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return err
		}
		return l.Close()
	case "udp":
		c, err := net.ListenPacket("udp", addr)
		if err != nil {
			return err
		}
		return c.Close()
	}
	return nil // sctp: not probed
}

func portFix(goos string, port int) string {
	fix := fmt.Sprintf("free port %d (`lsof -nP -i :%d` or `ss -ltnp 'sport = :%d'` shows who holds it), "+
		"or change its hostPort in kind-config.yaml", port, port, port)
	if goos == "darwin" && (port == 5000 || port == 7000) {
		fix += fmt.Sprintf("; on macOS, AirPlay Receiver holds %d: System Settings → General → AirDrop & Handoff → AirPlay Receiver off", port)
	}
	return fix
}

// imageRepo strips the digest and the tag from an image reference, keeping a registry's port.
func imageRepo(ref string) string {
	if i := strings.IndexByte(ref, '@'); i >= 0 {
		ref = ref[:i]
	}
	if i := strings.LastIndexByte(ref, ':'); i > strings.LastIndexByte(ref, '/') {
		ref = ref[:i]
	}
	return ref
}

// canonical makes Docker Hub's short names and long names compare equal ("postgres",
// "docker.io/library/postgres").
func canonical(ref string) string {
	ref = strings.TrimPrefix(ref, "docker.io/")
	ref = strings.TrimPrefix(ref, "index.docker.io/")
	return strings.TrimPrefix(ref, "library/")
}

// lookupArchs finds an image's architectures by full reference, then by reference without
// digest, then by repository.
func lookupArchs(m map[string][]string, image string) ([]string, bool) {
	index := make(map[string][]string, len(m))
	for k, v := range m {
		index[canonical(k)] = v
	}
	noDigest, _, _ := strings.Cut(image, "@")
	for _, k := range []string{image, noDigest, imageRepo(image)} {
		if v, ok := index[canonical(k)]; ok {
			return v, true
		}
	}
	return nil, false
}

func archFindings(in Input, arch string) []Finding {
	if len(in.Images) == 0 {
		return nil
	}
	type miss struct{ image, only string }
	var missing []miss
	var unknown []string
	for _, img := range in.Images {
		archs, ok := lookupArchs(in.ImageArchs, img)
		if !ok {
			unknown = append(unknown, img)
			continue
		}
		norm := make([]string, len(archs))
		for i, a := range archs {
			norm[i] = normArch(a)
		}
		if !slices.Contains(norm, arch) {
			missing = append(missing, miss{img, strings.Join(norm, "/") + "-only"})
		}
	}
	var out []Finding
	if len(missing) > 0 {
		m := missing[0]
		msg := fmt.Sprintf("%s image on %s: %s runs under emulation or not at all", m.only, arch, m.image)
		if len(missing) > 1 {
			list := make([]string, len(missing))
			for i, m := range missing {
				list[i] = m.image + " (" + m.only + ")"
			}
			msg = fmt.Sprintf("images not built for %s run under emulation or not at all: %s", arch, strings.Join(list, ", "))
		}
		fix := "run this chapter on a machine or cluster (--context NAME) of the image's architecture"
		if arch == "arm64" {
			fix = "run this chapter on an amd64 machine or cluster (--context NAME); on Apple silicon, Docker Desktop → " +
				"Settings → General → \"Use Rosetta for x86_64/amd64 emulation\" may run it, slowly"
		}
		out = append(out, Finding{Name: "arch", Status: Fail, Message: msg, Fix: fix})
	}
	if len(unknown) > 0 && arch != "amd64" {
		out = append(out, Finding{Name: "arch", Status: Warn,
			Message: fmt.Sprintf("unknown whether these images are built for %s: %s", arch, strings.Join(unknown, ", ")),
			Fix:     fmt.Sprintf("`docker manifest inspect IMAGE` lists its platforms; look for %s", arch)})
	}
	if len(out) == 0 {
		msg := fmt.Sprintf("all %d images are built for %s", len(in.Images), arch)
		if len(unknown) > 0 {
			msg = fmt.Sprintf("%d images on %s, %d of them with known platforms", len(in.Images), arch, len(in.Images)-len(unknown))
		}
		out = append(out, Finding{Name: "arch", Status: OK, Message: msg})
	}
	return out
}

func clusterFinding(ctx context.Context, in Input) Finding {
	ctx, cancel := context.WithTimeout(ctx, in.Timeout)
	defer cancel()
	v, err := in.Cluster(ctx)
	if err != nil {
		name := in.Context
		if name == "" {
			name = "NAME"
		}
		return Finding{Name: "cluster", Status: Fail, Message: "not reachable: " + err.Error(),
			Fix: fmt.Sprintf("`kubectl --context %s get nodes` must answer: check the context (`kubectl config get-contexts`), VPN and credentials", name)}
	}
	what := "reachable, Kubernetes " + v
	if in.Context != "" {
		what = in.Context + " " + what
	}
	return Finding{Name: "cluster", Status: OK, Message: what}
}
