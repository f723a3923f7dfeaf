package action

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/mlops-series/mlops-series/internal/cluster"
	"github.com/mlops-series/mlops-series/internal/deploy"
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
		return fmt.Errorf("down: name a chapter (e.g. `mlops-series down chapter-6`) or pass --all")
	}
	if o.All && name != "" {
		return fmt.Errorf("down: give a chapter or --all, not both")
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
			e.UI.Printf("nothing to do: %v\n", err)
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
			e.UI.Printf("%s is not installed on cluster %s: nothing to do\n", target, cl.Name)
			return nil
		}
		if deps := e.Lib.RequiredBy(target, installed); len(deps) > 0 {
			return fmt.Errorf("down %s: refused: installed %s %s it; run `mlops-series down %s` first",
				target, strings.Join(deps, ", "), plural(len(deps), "requires", "require"), deps[0])
		}
		order = []string{target}
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
	what := fmt.Sprintf("cluster %s (%s)", cl.Name, e.Provisioner.Name())
	st := e.UI.Start("delete " + what)
	err := e.Provisioner.Delete(ctx)
	switch {
	case errors.Is(err, cluster.ErrNotCreated):
		st.Skip(fmt.Sprintf("%s left as it is: %v", what, err))
		return nil
	case err != nil:
		st.Fail(what+" kept", "")
		return err
	}
	st.OK(what + " deleted (it was created by mlops-series)")
	return nil
}

func (e *Env) downChapter(ctx context.Context, helm *deploy.Helm, ledger deploy.Ledger, entries map[string]deploy.Entry, id string, timeout time.Duration) error {
	en := entries[id]
	e.UI.Printf("removing %s\n", id)
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
		st := e.UI.Start(fmt.Sprintf("uninstall %s (namespace %s)", c.Name, c.Namespace))
		had, err := helm.Uninstall(ctx, c.Namespace, c.Name, timeout)
		if err != nil {
			st.Fail("uninstall "+c.Name+" failed", "")
			return err
		}
		n, err := helm.DeletePVCs(ctx, c.Namespace, c.Name)
		if err != nil {
			st.Fail("delete volumes of "+c.Name+" failed", "")
			return err
		}
		text := fmt.Sprintf("%s uninstalled (namespace %s", c.Name, c.Namespace)
		if !had {
			text = fmt.Sprintf("%s was not installed (namespace %s", c.Name, c.Namespace)
		}
		if n > 0 {
			text += fmt.Sprintf(", %d %s deleted", n, plural(n, "volume claim", "volume claims"))
		}
		st.OK(text + ")")
	}
	for _, ns := range en.Namespaces {
		if user := namespaceUser(entries, id, ns); user != "" {
			e.UI.Printf("   namespace %s kept: %s uses it\n", ns, user)
			continue
		}
		st := e.UI.Start("delete namespace " + ns)
		if err := helm.DeleteNamespace(ctx, ns, timeout); err != nil {
			st.Fail("namespace "+ns+" not deleted", "")
			return err
		}
		st.OK("namespace " + ns + " deleted (created by " + id + ")")
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

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
