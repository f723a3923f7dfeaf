package action

import (
	"context"
	"fmt"
	"os"
	"path"
	"strings"
	"time"

	"k8s.io/client-go/dynamic"

	"github.com/mlops-series/mlops-series/internal/check"
	"github.com/mlops-series/mlops-series/internal/cluster"
	"github.com/mlops-series/mlops-series/internal/gitops"
	"github.com/mlops-series/mlops-series/internal/i18n"
	"github.com/mlops-series/mlops-series/internal/series"
)

// publish pushes the Publish folder of component comp of ch to its Git server, through the
// component's --endpoint or a port-forward to its Service, with a step line. A folder the
// repository already holds is not pushed again.
func (e *Env) publish(ctx context.Context, cl *cluster.Cluster, ch *series.Chapter, comp series.Component, endpoints map[string]string, message string) (gitops.Result, error) {
	pub := comp.Publish
	target := pub.Repository + ".git"
	st := e.UI.Start(e.UI.T(i18n.PublishStart, pub.Dir, target))
	res, err := e.publishOnce(ctx, cl, ch, comp, endpoints, message)
	e.Metrics.Step(ch.ID(), comp.Name+"/publish", map[bool]string{true: "pushed", false: "unchanged"}[res.Changed], st.Elapsed())
	if err != nil {
		st.Fail(e.UI.T(i18n.PublishFailed, pub.Dir, target), "")
		return res, i18n.Errorf(i18n.WithRead, err, ch.Read(comp.Section))
	}
	if res.Changed {
		st.OK(e.UI.T(i18n.Published, pub.Dir, target, res.Revision, res.Files))
	} else {
		st.Skip(e.UI.T(i18n.PublishUnchanged, pub.Dir, target, res.Revision, res.Files))
	}
	return res, nil
}

func (e *Env) publishOnce(ctx context.Context, cl *cluster.Cluster, ch *series.Chapter, comp series.Component, endpoints map[string]string, message string) (gitops.Result, error) {
	pub := comp.Publish
	files, err := gitops.ReadDir(e.Lib.FS, path.Join(ch.Dir, pub.Dir))
	if err != nil {
		return gitops.Result{}, err
	}
	base, stop, err := gitServer(ctx, cl, comp, endpoints)
	if err != nil {
		return gitops.Result{}, err
	}
	defer stop()
	pctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	return gitops.Publish(pctx, base+"/"+pub.Repository+".git", files, message)
}

// gitServer is the base URL of a component's Git server: its --endpoint, or a port-forward to
// the Service its Publish names.
func gitServer(ctx context.Context, cl *cluster.Cluster, comp series.Component, endpoints map[string]string) (string, func(), error) {
	if u, ok := endpoints[comp.Name]; ok {
		return strings.TrimSuffix(u, "/"), func() {}, nil
	}
	if cl == nil {
		return "", nil, fmt.Errorf("no endpoint for %s: pass --endpoint %s=URL, or run against a cluster", comp.Name, comp.Name)
	}
	fw, err := check.ForwardService(ctx, cl.CS, cl.REST, comp.Namespace, comp.Publish.ServiceName(comp.Name), comp.Publish.Port)
	if err != nil {
		return "", nil, fmt.Errorf("reach the Git server %s/%s: %w", comp.Namespace, comp.Publish.ServiceName(comp.Name), err)
	}
	return fw.URL(), fw.Close, nil
}

// publishMessage is the commit message of up's push.
func publishMessage(ch *series.Chapter, dir string) string {
	return fmt.Sprintf("%s: %s/ as `mlops-series up %s` found it", ch.ID(), dir, ch.ID())
}

// GitopsPushOptions tune `gitops push`.
type GitopsPushOptions struct {
	// Message is the commit message (default: says where the files came from).
	Message string
	// Dir pushes this folder of the machine instead of the chapter's own.
	Dir string
	// NoWait returns after the push, without waiting for Flux to apply it.
	NoWait bool
	// Timeout bounds the wait for Flux (default 3m).
	Timeout time.Duration
	// Endpoints replace port-forwards (NAME=URL), as for up and check.
	Endpoints map[string]string
	// Lock says how to wait for another run that holds the cluster lock.
	Lock LockOptions
}

// GitopsPush commits a chapter's GitOps folder (or Dir) to the repository of its Git server, then
// asks Flux to fetch and apply it at once and waits until the cluster holds that commit. name may
// be empty when one chapter publishes a folder.
func (e *Env) GitopsPush(ctx context.Context, name string, o GitopsPushOptions) error {
	ch, comp, err := e.publisher(name)
	if err != nil {
		return err
	}
	cl, err := e.Provisioner.Connect(ctx)
	if err != nil {
		return err
	}
	ctx = e.withLibLog(ctx)
	lctx, unlock, err := e.lockCluster(ctx, cl.CS, "gitops push "+ch.ID(), o.Lock)
	if err != nil {
		return err
	}
	defer unlock()
	err = e.gitopsPushLocked(lctx, cl, ch, comp, o)
	return lockErr(lctx, err)
}

func (e *Env) gitopsPushLocked(ctx context.Context, cl *cluster.Cluster, ch *series.Chapter, comp series.Component, o GitopsPushOptions) error {
	pub := comp.Publish
	var files map[string][]byte
	var err error
	from := path.Join(ch.Dir, pub.Dir)
	if o.Dir != "" {
		files, err = gitops.ReadDir(os.DirFS(o.Dir), ".")
		from = o.Dir
	} else {
		files, err = gitops.ReadDir(e.Lib.FS, from)
	}
	if err != nil {
		return err
	}
	base, stop, err := gitServer(ctx, cl, comp, o.Endpoints)
	if err != nil {
		return fmt.Errorf("%w (is %s up? `mlops-series status %s`)", err, ch.ID(), ch.ID())
	}
	defer stop()
	url := base + "/" + pub.Repository + ".git"
	msg := o.Message
	if msg == "" {
		msg = fmt.Sprintf("%s/ pushed with `mlops-series gitops push`", from)
	}
	target := pub.Repository + ".git"
	st := e.UI.Start(e.UI.T(i18n.PublishStart, from, target))
	pctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	res, err := gitops.Publish(pctx, url, files, msg)
	cancel()
	if err != nil {
		st.Fail(e.UI.T(i18n.PublishFailed, from, target), "")
		return i18n.Errorf(i18n.WithRead, err, ch.Read(comp.Section))
	}
	if res.Changed {
		st.OK(e.UI.T(i18n.Published, from, target, res.Revision, res.Files))
	} else {
		st.Skip(e.UI.T(i18n.PublishUnchanged, from, target, res.Revision, res.Files))
	}
	if o.NoWait {
		return nil
	}
	ks := ""
	for _, c := range ch.Checks {
		if c.Type == check.TypeFluxSync && c.Component == comp.Name && c.Params[check.FluxParamRepository] == pub.Repository {
			ks = c.Params[check.FluxParamKustomization]
		}
	}
	if ks == "" {
		return nil // nothing in the chapter says which Kustomization applies the repository
	}
	ns, ksName, err := check.SplitRef(ks)
	if err != nil {
		return err
	}
	dyn, err := dynamic.NewForConfig(cl.REST)
	if err != nil {
		return err
	}
	timeout := o.Timeout
	if timeout == 0 {
		timeout = 3 * time.Minute
	}
	st = e.UI.Start(e.UI.T(i18n.GitopsWaitStart, ks, res.Revision))
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	msgApplied, err := check.FluxSync{GitURL: url, Namespace: ns, Name: ksName}.Run(wctx, dyn)
	if err != nil {
		st.Fail(e.UI.T(i18n.GitopsWaitFailed, ks, res.Revision), "")
		return i18n.Errorf(i18n.WithRead, err, ch.Read(comp.Section))
	}
	st.OK(e.UI.T(i18n.GitopsApplied, ks, res.Revision))
	e.UI.Debugf("%s", msgApplied)
	return nil
}

// publisher finds the chapter (name, or the only one) with a component that publishes a folder.
func (e *Env) publisher(name string) (*series.Chapter, series.Component, error) {
	var found []string
	for _, id := range e.Lib.IDs() {
		for _, c := range e.Lib.Chapters[id].Components {
			if c.Publish != nil {
				found = append(found, id)
				break
			}
		}
	}
	if name == "" {
		if len(found) != 1 {
			return nil, series.Component{}, fmt.Errorf("name the chapter: %d chapters publish a GitOps folder (%s)", len(found), strings.Join(found, ", "))
		}
		name = found[0]
	}
	ch, err := e.Lib.Chapter(name)
	if err != nil {
		return nil, series.Component{}, err
	}
	for _, c := range ch.Components {
		if c.Publish != nil {
			return ch, c, nil
		}
	}
	return nil, series.Component{}, fmt.Errorf("%s publishes no GitOps folder (chapters that do: %s)", ch.ID(), strings.Join(found, ", "))
}
