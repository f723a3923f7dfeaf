// Package doctor answers "is this machine fit for `up CHAPTER`?": it looks at the container engine
// (memory and CPUs it gives containers, its cgroup version), free disk, the kernel's inotify
// limits, the host ports that kind-config.yaml maps, the architecture of the chapter's images and,
// for --context, the cluster. For the local kind cluster it also starts probe containers, from an
// image the engine holds, to see whether kind's node can run (--privileged, oom_score_adj), and
// finds the chapter's images in the engine, on the node or in a registry that answers.
// Each look is a Finding (ok, skip = not checked, warn, fail) with a fix for a reader on a laptop. Run never returns an
// error: what it cannot find out becomes a finding too. Mapping Failed() to exit code 3 is the caller's.
package doctor

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/mlops-series/mlops-series/internal/i18n"
)

// Status is the verdict of one finding.
type Status string

// The statuses, from good to bad; Skip is a check that could not be made (not checked).
const (
	OK   Status = "ok"
	Skip Status = "skip"
	Warn Status = "warn"
	Fail Status = "fail"
)

// Finding is one look at the machine.
type Finding struct {
	// Name is the check: engine, memory, cpus, cgroup, privileged, oom_score_adj, images, disk,
	// inotify, ports, arch, cluster.
	Name   string `json:"name"`
	Status Status `json:"status"`
	// Message and Fix are shown in the reader's language; -o json|yaml gives them in English.
	Message i18n.Text `json:"message"`
	// Fix says what to do (warn and fail only); it may span lines.
	Fix i18n.Text `json:"fix,omitzero"`
	// Section is the post link to read (Input.Read), set on warn and fail.
	Section string `json:"section,omitempty"`
}

// Report is every finding, in the order the checks ran.
type Report struct {
	Findings []Finding `json:"findings"`
}

// Failed tells whether any finding failed: the machine is unfit.
func (r Report) Failed() bool {
	for _, f := range r.Findings {
		if f.Status == Fail {
			return true
		}
	}
	return false
}

// HostPort is a port kind binds on the host for the cluster (kind-config.yaml extraPortMappings).
type HostPort struct {
	// ListenAddress defaults to 0.0.0.0, like kind.
	ListenAddress string `json:"listenAddress"`
	Port          int    `json:"hostPort"`
	// Protocol is TCP (default), UDP or SCTP; SCTP is not probed.
	Protocol string `json:"protocol"`
}

// Engine is what the container engine tells about the machine it runs containers on (for Docker
// Desktop and Podman machine: the VM, not the laptop).
type Engine struct {
	Name, Version, Arch string
	MemoryBytes         uint64
	CPUs                int
	// CgroupVersion is the cgroup version containers get: "1", "2", or "" when not reported.
	CgroupVersion string
}

// Input is what doctor looks at; zero values take the defaults documented on each field.
type Input struct {
	// EngineProbe asks the container engine (see DockerProbe). Nil means no local kind cluster
	// (--context): the engine, memory, cpus, disk and inotify checks are skipped.
	EngineProbe func(ctx context.Context) (Engine, error)
	// RequestedMemory and RequestedCPU are what the chapter's closure requests (from the render).
	RequestedMemory, RequestedCPU resource.Quantity
	// Images the closure uses, and the architectures known for each, keyed by full reference or
	// by repository without tag or digest ("ghcr.io/kubeflow/kfp-api-server"). An image missing
	// from the map is unknown: a warning when the target is not amd64.
	Images     []string
	ImageArchs map[string][]string
	// Built are the images of Images the series builds itself (`images build`): no registry has
	// them, so a missing one is never looked for there.
	Built []string
	// Arch is the target architecture; default the engine's (aarch64→arm64, x86_64→amd64), else
	// runtime.GOARCH.
	Arch string
	// HostPorts kind binds on the host; KindConfig adds those of its nodes' extraPortMappings.
	HostPorts  []HostPort
	KindConfig []byte
	// ClusterExists: the kind cluster is up and holds its host ports already; ports are not probed.
	ClusterExists bool
	// ProcRoot is where sys/fs/inotify and sys/fs/file-max are read (default "/proc").
	ProcRoot string
	// DiskPath is where free disk is measured (default the user cache dir). MinFreeDisk is the
	// recommended free space (default 10 GiB): below it warns, below a fifth of it fails.
	DiskPath    string
	MinFreeDisk uint64
	// Kind is the local kind cluster (cluster.Kind): with it, doctor starts probe containers to
	// see whether kind's node can run (--privileged, lowering oom_score_adj; only while the cluster
	// does not exist), and finds the closure's images in the engine and on the node. Nil skips that.
	Kind KindCluster
	// RegistryAnswers tells whether a registry host answers (default: HTTPS GET /v2/ within 5s);
	// asked only for the registries of images neither the engine nor the node holds.
	RegistryAnswers func(ctx context.Context, host string) bool
	// Cluster, for --context, asks the cluster for its version; nil skips the check. Context names
	// the kubeconfig context in the fix.
	Cluster func(ctx context.Context) (version string, err error)
	Context string
	// Headroom is the factor over the requested memory that runs comfortably (default 1.5); the
	// kind node's own ~1 GiB comes on top.
	Headroom float64
	// Read is the post link to read for what fails (the chapter's post and preflight section).
	Read string
	// Timeout bounds each probe of the engine and the cluster (default 20s).
	Timeout time.Duration
}

const (
	gib = uint64(1) << 30
	// kindNodeMemory is what the kind node (kubelet, etcd, apiserver, ...) uses beside the chapter.
	kindNodeMemory = gib
	// kindNodeMilliCPU is what kind's own pods request: apiserver 250m, controller-manager 200m,
	// scheduler 100m, etcd 100m, coredns 2×100m, kindnet 100m.
	kindNodeMilliCPU = 950
)

// Run looks at everything Input asks for and reports; it never fails itself.
func Run(ctx context.Context, in Input) Report {
	if in.Timeout <= 0 {
		in.Timeout = 20 * time.Second
	}
	var r Report
	add := func(fs ...Finding) {
		for _, f := range fs {
			if f.Status == Warn || f.Status == Fail {
				f.Section = in.Read
			}
			r.Findings = append(r.Findings, f)
		}
	}
	arch := in.Arch
	if in.EngineProbe != nil {
		pctx, cancel := context.WithTimeout(ctx, in.Timeout)
		eng, err := in.EngineProbe(pctx)
		cancel()
		if err != nil {
			add(Finding{Name: "engine", Status: Fail, Message: i18n.Err(err), Fix: i18n.T(i18n.EngineFix)})
		} else {
			add(engineFinding(eng), memoryFinding(eng, in), cpuFinding(eng, in))
			if eng.CgroupVersion != "" {
				add(cgroupFinding(eng))
			}
			if arch == "" {
				arch = normArch(eng.Arch)
			}
			if in.Kind != nil {
				add(containerFindings(ctx, in)...)
			}
		}
		add(diskFinding(in), inotifyFinding(in))
	}
	if arch == "" {
		arch = runtime.GOARCH
	}
	if !in.ClusterExists {
		add(portFindings(in)...)
	}
	add(archFindings(in, normArch(arch))...)
	if in.Cluster != nil {
		add(clusterFinding(ctx, in))
	}
	return r
}

const (
	green  = "\x1b[32m"
	yellow = "\x1b[33m"
	red    = "\x1b[31m"
	reset  = "\x1b[0m"
)

// Print writes one line per finding (✓ ok, ↷ not checked, ! warn, ✗ fail), then "fix:" and
// "read:" lines for the warnings and failures, in lang. color paints the marks.
func (r Report) Print(w io.Writer, color bool, lang i18n.Lang) {
	for _, f := range r.Findings {
		mark, c := "✓", green
		switch f.Status {
		case Skip:
			mark, c = "↷", yellow
		case Warn:
			mark, c = "!", yellow
		case Fail:
			mark, c = "✗", red
		}
		if color {
			mark = c + mark + reset
		}
		fmt.Fprintf(w, "%s %s: %s\n", mark, f.Name, f.Message.In(lang))
		if f.Status == OK || f.Status == Skip && f.Fix.IsZero() {
			continue
		}
		if !f.Fix.IsZero() {
			fmt.Fprint(w, i18n.T(i18n.DoctorFix, strings.ReplaceAll(f.Fix.In(lang), "\n", "\n        ")).In(lang))
		}
		if f.Section != "" {
			fmt.Fprint(w, i18n.T(i18n.DoctorRead, f.Section).In(lang))
		}
	}
}

// gibs formats bytes as GiB with one decimal.
func gibs(b uint64) string { return fmt.Sprintf("%.1f GiB", float64(b)/float64(gib)) }
