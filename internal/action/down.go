package action

import (
	"context"
	"errors"
	"sort"
	"strings"
	"time"

	"github.com/mlops-series/mlops-series/internal/cluster"
	"github.com/mlops-series/mlops-series/internal/deploy"
	"github.com/mlops-series/mlops-series/internal/i18n"
)

// DownOptions tune `down`.
type DownOptions struct {
	// All removes every installed chapter, then the cluster if its provisioner says mlops-series
	// created it (kind: the marker; terraform: its state).
	All     bool
	Timeout time.Duration
	// Lock says how to wait for another run that holds the cluster lock.
	Lock LockOptions
}

// Down removes exactly what a chapter installed: its releases, their PVCs, and the namespaces it
// created (when no other installed chapter uses them). It refuses while another installed chapter
// requires it.
func (e *Env) Down(ctx context.Context, name string, o DownOptions) error {
	if o.Timeout == 0 {
		o.Timeout = 3 * time.Minute
	}
	if !o.All && name == "" {
		return i18n.Errorf(i18n.DownNoTarget)
	}
	if o.All && name != "" {
		return i18n.Errorf(i18n.DownBoth)
	}
	target := ""
	if name != "" {
		ch, err := e.chapter(name)
		if err != nil {
			return err
		}
		target = ch.ID()
	}
	cl, err := e.Provisioner.Connect(ctx)
	if err != nil {
		if o.All && errors.Is(err, cluster.ErrNotExist) {
			e.UI.Say(i18n.NothingToDo, err)
			return nil
		}
		return err
	}
	command := "down " + target
	if o.All {
		command = "down --all"
	}
	lctx, unlock, err := e.lockCluster(ctx, cl.CS, command, o.Lock)
	if err != nil {
		return err
	}
	defer unlock() // with --all the lease goes with the cluster: releasing it then finds nothing
	return lockErr(lctx, e.downLocked(lctx, cl, target, o))
}

// downLocked removes the chapters, under the lock.
func (e *Env) downLocked(ctx context.Context, cl *cluster.Cluster, target string, o DownOptions) error {
	ledger := deploy.Ledger{CS: cl.CS}
	entries, err := ledger.Read(ctx)
	if err != nil {
		return err
	}
	installed := deploy.Installed(entries)
	var order []string
	if o.All {
		order = installed
		// Dependents first: a chapter goes before the chapters it requires.
		sort.SliceStable(order, func(i, j int) bool {
			return len(e.Lib.RequiredBy(order[i], order)) < len(e.Lib.RequiredBy(order[j], order))
		})
	} else {
		if _, ok := entries[target]; !ok {
			e.UI.Say(i18n.NotInstalled, target, cl.Name)
			return nil
		}
		if deps := e.Lib.RequiredBy(target, installed); len(deps) > 0 {
			return i18n.Errorf(plural(len(deps), i18n.DownRefusedOne, i18n.DownRefusedMany), target, strings.Join(deps, ", "), deps[0])
		}
		order = []string{target}
	}
	if o.All {
		// A kind cluster this tool created goes with everything on it: uninstalling first would
		// only make down --all slower (about 45 s with every chapter up).
		if d, ok := e.Provisioner.(cluster.Disposable); ok {
			whole, err := d.Disposable(ctx, cl)
			if err != nil {
				return err
			}
			if whole {
				for _, id := range order {
					e.UI.Say(i18n.RemovedWithCluster, id)
				}
				return e.deleteCluster(ctx, cl)
			}
		}
	}
	helm := deploy.NewHelm(cl.Kubeconfig, cl.Context, cl.CS)
	helm.Log = e.UI.LogWriter("helm") // the Helm SDK's log, shown with -v
	for _, id := range order {
		if err := e.downChapter(ctx, helm, ledger, entries, id, o.Timeout); err != nil {
			return err
		}
		delete(entries, id)
	}
	if o.All {
		return e.deleteCluster(ctx, cl)
	}
	return nil
}

// deleteCluster deletes the cluster when its provisioner's record says mlops-series created it
// (kind: the marker ConfigMap; terraform: its state); a cluster it did not create is left as it is.
func (e *Env) deleteCluster(ctx context.Context, cl *cluster.Cluster) error {
	what := i18n.T(i18n.ClusterWhat, cl.Name, e.Provisioner.Name())
	st := e.UI.Start(e.UI.T(i18n.DeleteStart, what))
	err := e.Provisioner.Delete(ctx)
	switch {
	case errors.Is(err, cluster.ErrNotCreated):
		st.Skip(e.UI.T(i18n.ClusterLeft, what, err))
		return nil
	case err != nil:
		st.Fail(e.UI.T(i18n.ClusterKept, what), "")
		return err
	}
	st.OK(e.UI.T(i18n.ClusterDeleted, what))
	return nil
}

func (e *Env) downChapter(ctx context.Context, helm *deploy.Helm, ledger deploy.Ledger, entries map[string]deploy.Entry, id string, timeout time.Duration) error {
	en := entries[id]
	e.UI.Say(i18n.Removing, id)
	comps := append([]deploy.ComponentEntry(nil), en.Components...)
	// Reverse install order: dependents first. The ledger keeps components sorted; use the spec order when known.
	if ch, ok := e.Lib.Chapters[id]; ok {
		pos := map[string]int{}
		for i, c := range ch.Components {
			pos[c.Namespace+"/"+c.Name] = i
		}
		sort.SliceStable(comps, func(i, j int) bool {
			return pos[comps[i].Namespace+"/"+comps[i].Name] > pos[comps[j].Namespace+"/"+comps[j].Name]
		})
	}
	for _, c := range comps {
		st := e.UI.Start(e.UI.T(i18n.UninstallStart, c.Name, c.Namespace))
		claims, err := helm.PVCs(ctx, c.Namespace, c.Name)
		if err != nil {
			st.Fail(e.UI.T(i18n.VolumesFailed, c.Name), "")
			return err
		}
		had, err := helm.Uninstall(ctx, c.Namespace, c.Name, timeout)
		if err != nil {
			st.Fail(e.UI.T(i18n.UninstallFailed, c.Name), "")
			return err
		}
		n, err := helm.DeletePVCs(ctx, c.Namespace, c.Name, claims)
		if err != nil {
			st.Fail(e.UI.T(i18n.VolumesFailed, c.Name), "")
			return err
		}
		volumes := ""
		if n > 0 {
			volumes = e.UI.T(plural(n, i18n.VolumeDeleted, i18n.VolumesDeleted), n)
		}
		done := i18n.Uninstalled
		if !had {
			done = i18n.WasNotInstalled
		}
		st.OK(e.UI.T(done, c.Name, c.Namespace, volumes))
	}
	for _, ns := range en.Namespaces {
		if user := namespaceUser(entries, id, ns); user != "" {
			e.UI.Say(i18n.NamespaceKept, ns, user)
			continue
		}
		st := e.UI.Start(e.UI.T(i18n.NamespaceDeleteStart, ns))
		if err := helm.DeleteNamespace(ctx, ns, timeout); err != nil {
			st.Fail(e.UI.T(i18n.NamespaceNotDeleted, ns), "")
			return err
		}
		st.OK(e.UI.T(i18n.NamespaceDeleted, ns, id))
	}
	return ledger.Remove(ctx, id)
}

func namespaceUser(entries map[string]deploy.Entry, except, ns string) string {
	for id, en := range entries {
		if id == except {
			continue
		}
		for _, c := range en.Components {
			if c.Namespace == ns {
				return id
			}
		}
	}
	return ""
}

func plural[T any](n int, one, many T) T {
	if n == 1 {
		return one
	}
	return many
}
