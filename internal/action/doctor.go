package action

import (
	"context"
	"os"
	"path/filepath"

	mlopsseries "github.com/mlops-series/mlops-series"
	"github.com/mlops-series/mlops-series/internal/cluster"
	"github.com/mlops-series/mlops-series/internal/deploy"
	"github.com/mlops-series/mlops-series/internal/doctor"
	"github.com/mlops-series/mlops-series/internal/i18n"
	"github.com/mlops-series/mlops-series/internal/series"
)

// DoctorOptions tune `doctor`.
type DoctorOptions struct {
	// ProcRoot replaces /proc (tests).
	ProcRoot string
}

// Doctor checks that this machine (or the --context cluster) is fit for a chapter: the container
// engine, its memory and CPUs against what the chapter's closure requests (the numbers render
// shows), disk, inotify limits, kind's host ports, image architectures, cluster reachability.
// name may be empty: every available chapter together.
func (e *Env) Doctor(ctx context.Context, name string, o DoctorOptions) (doctor.Report, error) {
	var total deploy.Footprint
	read := ""
	ids := e.Lib.IDs()
	if name != "" {
		ch, err := e.chapter(name)
		if err != nil {
			return doctor.Report{}, err
		}
		ids = []string{ch.ID()}
		read = ch.Read(ch.Post.Section)
	}
	seen := map[string]bool{}
	for _, id := range ids {
		per, _, err := e.Render(ctx, id, nil)
		if err != nil {
			return doctor.Report{}, err
		}
		for _, p := range per {
			if key := p.Namespace + "/" + p.Component; !seen[key] {
				seen[key] = true
				total.Add(p.Footprint)
			}
		}
	}
	return e.doctor(ctx, total, read, o), nil
}

// doctor runs the checks for a measured footprint; read is the post link shown with problems.
func (e *Env) doctor(ctx context.Context, total deploy.Footprint, read string, o DoctorOptions) doctor.Report {
	cache, _ := os.UserCacheDir()
	in := doctor.Input{
		RequestedMemory: total.Memory, RequestedCPU: total.CPU, Images: total.Images,
		ImageArchs: e.Lib.Archs(), Built: e.builtImages(), Read: read, ProcRoot: o.ProcRoot,
		DiskPath: filepath.Join(cache, "mlops-series"),
	}
	switch p := e.Provisioner.(type) {
	case *cluster.Existing:
		in.Context = p.Context
		in.Cluster = func(ctx context.Context) (string, error) {
			c, err := p.Connect(ctx)
			if err != nil {
				return "", err
			}
			return c.Version, nil
		}
	case *cluster.Kind:
		// The config the cluster is made from: the embedded one with --kind-config merged over it.
		in.KindConfig = p.Config
		in.Kind = p
		engine, err := p.Engine(ctx)
		if err != nil {
			in.EngineProbe = func(context.Context) (doctor.Engine, error) { return doctor.Engine{}, err }
		} else {
			in.EngineProbe = doctor.DockerProbe(engine, nil)
			if exists, err := p.Exists(ctx); err == nil {
				in.ClusterExists = exists
			}
		}
	default:
		in.KindConfig = mlopsseries.KindConfig()
		in.EngineProbe = doctor.DockerProbe("docker", nil)
	}
	return doctor.Run(ctx, in)
}

// preflightDoctor runs doctor before up, on the footprint up's preflight measured, and turns a
// failed report into exit code 3.
func (e *Env) preflightDoctor(ctx context.Context, ch *series.Chapter, total deploy.Footprint) error {
	name := ch.ID()
	st := e.UI.Start(e.UI.T(i18n.DoctorStart, name))
	rep := e.doctor(ctx, total, ch.Read(ch.Post.Section), DoctorOptions{})
	warn := 0
	for _, f := range rep.Findings {
		if f.Status == doctor.Warn {
			warn++
		}
	}
	if rep.Failed() {
		st.Fail(e.UI.T(i18n.DoctorNotFit), "")
		rep.Print(e.UI.Err, e.UI.Color, e.UI.Lang)
		return &ExitError{Code: ExitUnfit, Err: i18n.Errorf(i18n.DoctorUnfitFor, name)}
	}
	text := e.UI.T(i18n.DoctorPassed, len(rep.Findings)-warn)
	if warn > 0 {
		text += e.UI.T(i18n.DoctorWarnings, warn, name)
	}
	st.OK(text)
	return nil
}

// builtImages are the series' own images (images.yaml entries with a build).
func (e *Env) builtImages() []string {
	var out []string
	for _, img := range e.Lib.Builds("") {
		out = append(out, img.Ref)
	}
	return out
}
