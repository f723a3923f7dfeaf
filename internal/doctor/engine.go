package doctor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"strings"

	"github.com/mlops-series/mlops-series/internal/i18n"
)

// DockerProbe returns an EngineProbe that runs `docker|nerdctl info --format '{{json .}}'` or
// `podman info --format json` and reads the memory, CPUs, architecture and version the engine
// reports. look finds the binary (default exec.LookPath). When the daemon does not answer, the
// error says so with the engine's own message.
func DockerProbe(name string, look func(string) (string, error)) func(ctx context.Context) (Engine, error) {
	if look == nil {
		look = exec.LookPath
	}
	return func(ctx context.Context) (Engine, error) {
		bin, err := look(name)
		if err != nil {
			return Engine{}, i18n.Errorf(i18n.EngineNotInstalled, name, err)
		}
		args := []string{"info", "--format", "{{json .}}"}
		if name == "podman" {
			args = []string{"info", "--format", "json"}
		}
		var stdout, stderr bytes.Buffer
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			msg := firstLine(stderr.String())
			if msg == "" {
				msg = err.Error()
			}
			if ctx.Err() != nil {
				return Engine{}, i18n.Errorf(i18n.EngineNoAnswer, name, i18n.T(i18n.EngineNoAnswerInTime, ctx.Err()))
			}
			return Engine{}, i18n.Errorf(i18n.EngineNoAnswer, name, msg)
		}
		e, err := parseInfo(name, stdout.Bytes())
		if err != nil {
			return Engine{}, i18n.Errorf(i18n.EngineReadInfo, name, err)
		}
		return e, nil
	}
}

// dockerInfo is the part of `docker info --format '{{json .}}'` (also nerdctl's) that doctor reads.
type dockerInfo struct {
	ServerVersion   string
	OperatingSystem string
	Architecture    string
	NCPU            int
	MemTotal        uint64
	CgroupVersion   string
	ServerErrors    []string
}

// podmanInfo is the part of `podman info --format json` that doctor reads.
type podmanInfo struct {
	Host struct {
		Arch          string `json:"arch"`
		CPUs          int    `json:"cpus"`
		MemTotal      uint64 `json:"memTotal"`
		CgroupVersion string `json:"cgroupVersion"`
	} `json:"host"`
	Version struct {
		Version string `json:"Version"`
	} `json:"version"`
}

func parseInfo(name string, out []byte) (Engine, error) {
	if name == "podman" {
		var p podmanInfo
		if err := json.Unmarshal(out, &p); err != nil {
			return Engine{}, err
		}
		if p.Version.Version == "" {
			return Engine{}, errors.New("no version in the output: is podman's machine or service running?")
		}
		return Engine{Name: name, Version: p.Version.Version, Arch: normArch(p.Host.Arch), MemoryBytes: p.Host.MemTotal, CPUs: p.Host.CPUs,
			CgroupVersion: strings.TrimPrefix(p.Host.CgroupVersion, "v")}, nil
	}
	var d dockerInfo
	if err := json.Unmarshal(out, &d); err != nil {
		return Engine{}, err
	}
	if d.ServerVersion == "" {
		msg := i18n.T(i18n.EngineNoVersion)
		if len(d.ServerErrors) > 0 {
			msg = i18n.Raw(firstLine(d.ServerErrors[0]))
		}
		return Engine{}, i18n.Errorf(i18n.EngineNoAnswer, name, msg)
	}
	v := d.ServerVersion
	if d.OperatingSystem != "" {
		v += " (" + d.OperatingSystem + ")"
	}
	return Engine{Name: name, Version: v, Arch: normArch(d.Architecture), MemoryBytes: d.MemTotal, CPUs: d.NCPU, CgroupVersion: d.CgroupVersion}, nil
}

// normArch maps the kernel's and the platforms' names to Go's: x86_64→amd64, aarch64→arm64,
// "linux/arm64/v8"→arm64.
func normArch(a string) string {
	a = strings.ToLower(strings.TrimSpace(a))
	a = strings.TrimPrefix(a, "linux/")
	if i := strings.IndexByte(a, '/'); i >= 0 {
		a = a[:i]
	}
	switch a {
	case "x86_64", "x86-64", "x64":
		return "amd64"
	case "aarch64", "armv8":
		return "arm64"
	}
	return a
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = strings.TrimSpace(s[:i])
	}
	return s
}
