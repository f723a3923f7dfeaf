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

	"github.com/mlops-series/mlops-series/internal/i18n"
)

func engineFinding(e Engine) Finding {
	return Finding{Name: "engine", Status: OK, Message: i18n.T(i18n.EngineOK, e.Name, e.Version, e.CPUs, gibs(e.MemoryBytes), e.Arch)}
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
	what := i18n.T(i18n.MemoryWhat, gibs(e.MemoryBytes), gibs(req))
	// What to set: the comfortable amount, rounded up to whole GiB.
	set := (want + gib - 1) / gib
	fix := i18n.T(i18n.MemoryFix, set, set*1024)
	switch {
	case e.MemoryBytes == 0:
		f.Status, f.Message, f.Fix = Warn, i18n.T(i18n.MemoryUnknown, gibs(want)), fix
	case e.MemoryBytes < need:
		f.Status, f.Message, f.Fix = Fail, i18n.T(i18n.MemoryTooLow, what, gibs(need)), fix
	case e.MemoryBytes < want:
		f.Status, f.Message, f.Fix = Warn, i18n.T(i18n.MemoryTight, what, gibs(want)), fix
	default:
		f.Status, f.Message = OK, what
	}
	return f
}

func cpuFinding(e Engine, in Input) Finding {
	req := max(in.RequestedCPU.MilliValue(), 0)
	f := Finding{Name: "cpus"}
	fix := i18n.T(i18n.CPUFix)
	what := i18n.T(i18n.CPUWhat, e.CPUs, req, kindNodeMilliCPU)
	switch {
	case e.CPUs < 1:
		f.Status, f.Message, f.Fix = Warn, i18n.T(i18n.CPUUnknown), fix
	case int64(e.CPUs)*1000 < req+kindNodeMilliCPU:
		f.Status, f.Message, f.Fix = Fail, i18n.T(i18n.CPUTooFew, what), fix
	case e.CPUs < 2:
		f.Status, f.Message, f.Fix = Warn, i18n.T(i18n.CPUOne, what), fix
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
			f.Status, f.Message = Warn, i18n.T(i18n.DiskNoCacheDir, err)
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
		f.Status, f.Message = Warn, i18n.T(i18n.DiskCannotMeasure, path, err)
		return f
	}
	fix := i18n.T(i18n.DiskFix)
	what := i18n.T(i18n.DiskWhat, gibs(free), path)
	switch {
	case free < want/5:
		f.Status, f.Message, f.Fix = Fail, i18n.T(i18n.DiskTooLow, what, gibs(want)), fix
	case free < want:
		f.Status, f.Message, f.Fix = Warn, i18n.T(i18n.DiskLow, what, gibs(want)), fix
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
		f.Status, f.Message = OK, i18n.T(i18n.InotifyNotLinux)
		return f
	}
	instances, err2 := read("sys/fs/inotify/max_user_instances")
	if err = errors.Join(err, err2); err != nil {
		f.Status, f.Message = Warn, i18n.T(i18n.InotifyCannotRead, err)
		return f
	}
	what := i18n.T(i18n.InotifyWhat, watches, instances).String()
	var low []string
	if watches < minWatches {
		low = append(low, fmt.Sprintf("fs.inotify.max_user_watches=%d", minWatches))
	}
	if instances < minInstances {
		low = append(low, fmt.Sprintf("fs.inotify.max_user_instances=%d", minInstances))
	}
	// file-max is rarely low; report it only when it is.
	if fileMax, err := read("sys/fs/file-max"); err == nil && fileMax < minFileMax {
		what += i18n.T(i18n.InotifyFileMax, fileMax).String()
		low = append(low, fmt.Sprintf("fs.file-max=%d", minFileMax))
	}
	if len(low) == 0 {
		f.Status, f.Message = OK, i18n.Raw(what)
		return f
	}
	f.Status = Warn
	f.Message = i18n.T(i18n.InotifyLow, what)
	f.Fix = i18n.T(i18n.InotifyFix, strings.Join(low, " "))
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
			return []Finding{{Name: "ports", Status: Fail, Message: i18n.Err(err), Fix: i18n.T(i18n.PortsFixConfig)}}
		}
		ports = append(ports, more...)
	}
	if len(ports) == 0 {
		return nil
	}
	var free []string
	var busy, fixes []i18n.Text
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
			reason := i18n.T(i18n.PortInUse, hp, proto)
			if !errors.Is(err, syscall.EADDRINUSE) {
				reason = i18n.T(i18n.PortCannotBind, hp, proto, err)
			}
			busy = append(busy, reason)
			if fix := portFix(runtime.GOOS, p.Port); !slices.ContainsFunc(fixes, func(f i18n.Text) bool { return f.String() == fix.String() }) {
				fixes = append(fixes, fix)
			}
			continue
		}
		free = append(free, hp)
	}
	if len(busy) == 0 {
		return []Finding{{Name: "ports", Status: OK, Message: i18n.T(i18n.PortsFree, strings.Join(free, ", "))}}
	}
	return []Finding{{Name: "ports", Status: Fail, Message: i18n.T(i18n.PortsBusy, i18n.Join("; ", busy...)), Fix: i18n.Join("\n", fixes...)}}
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

func portFix(goos string, port int) i18n.Text {
	if goos == "darwin" && (port == 5000 || port == 7000) {
		return i18n.Join("", i18n.T(i18n.PortFix, port), i18n.T(i18n.PortFixAirPlay, port))
	}
	return i18n.T(i18n.PortFix, port)
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
		msg := i18n.T(i18n.ArchOne, m.only, arch, m.image)
		if len(missing) > 1 {
			list := make([]string, len(missing))
			for i, m := range missing {
				list[i] = m.image + " (" + m.only + ")"
			}
			msg = i18n.T(i18n.ArchMany, arch, strings.Join(list, ", "))
		}
		fix := i18n.T(i18n.ArchFix)
		if arch == "arm64" {
			fix = i18n.T(i18n.ArchFixArm64)
		}
		out = append(out, Finding{Name: "arch", Status: Fail, Message: msg, Fix: fix})
	}
	if len(unknown) > 0 && arch != "amd64" {
		out = append(out, Finding{Name: "arch", Status: Warn,
			Message: i18n.T(i18n.ArchUnknown, arch, strings.Join(unknown, ", ")),
			Fix:     i18n.T(i18n.ArchUnknownFix, arch)})
	}
	if len(out) == 0 {
		msg := i18n.T(i18n.ArchAll, len(in.Images), arch)
		if len(unknown) > 0 {
			msg = i18n.T(i18n.ArchSome, arch, len(in.Images), len(in.Images)-len(unknown))
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
		return Finding{Name: "cluster", Status: Fail, Message: i18n.T(i18n.ClusterUnreachable, err),
			Fix: i18n.T(i18n.ClusterUnreachableFix, name)}
	}
	what := i18n.T(i18n.ClusterReachable, v)
	if in.Context != "" {
		what = i18n.T(i18n.ClusterReachableNamed, in.Context, v)
	}
	return Finding{Name: "cluster", Status: OK, Message: what}
}
