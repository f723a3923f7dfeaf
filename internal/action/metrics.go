package action

import (
	"context"
	"fmt"
	"strings"

	"github.com/mlops-series/mlops-series/internal/check"
	"github.com/mlops-series/mlops-series/internal/cluster"
	"github.com/mlops-series/mlops-series/internal/deploy"
	"github.com/mlops-series/mlops-series/internal/series"
)

// MetricsOptions say where a run's metrics go.
type MetricsOptions struct {
	// File is a textfile to write (Prometheus text format).
	File string
	// Push is a Pushgateway URL, or "auto": the monitoring chapter's Pushgateway, reached by
	// port-forward (the series' `open` entry named "pushgateway").
	Push string
}

// EmitMetrics writes and/or pushes the recorded metrics. It is called after the command, whatever
// its outcome, so that failed runs show on the dashboard too.
func (e *Env) EmitMetrics(ctx context.Context, o MetricsOptions) error {
	if e.Metrics == nil {
		return nil
	}
	if o.File != "" {
		if err := e.Metrics.WriteFile(o.File); err != nil {
			return err
		}
	}
	if o.Push == "" {
		return nil
	}
	url := o.Push
	if url == "auto" {
		ch, entry, err := e.findOpen("pushgateway")
		if err != nil {
			return fmt.Errorf("--push-metrics: no Pushgateway in the series: %w", err)
		}
		cl, err := e.Provisioner.Connect(ctx)
		if err != nil {
			return fmt.Errorf("--push-metrics: %w", err)
		}
		_, comp, err := e.Lib.ClosureComponent(ch.ID(), entry.Component)
		if err != nil {
			return fmt.Errorf("--push-metrics: %w", err)
		}
		svc := entry.Service
		if svc == "" {
			svc = entry.Component
		}
		fw, err := check.ForwardService(e.withLibLog(ctx), cl.CS, cl.REST, comp.Namespace, svc, entry.Port)
		if err != nil {
			return fmt.Errorf("--push-metrics: the Pushgateway of %s is not reachable (is it up? `mlops-series up %s`): %w", ch.ID(), ch.ID(), err)
		}
		defer fw.Close()
		url = fw.URL()
	}
	if !strings.HasPrefix(url, "http://") && !strings.HasPrefix(url, "https://") {
		return fmt.Errorf("--push-metrics %q: want a URL (http://host:9091) or auto", o.Push)
	}
	if err := e.Metrics.Push(url); err != nil {
		return err
	}
	e.UI.Debugf("metrics pushed to %s", url)
	return nil
}

// scrapedNamespaces lists the namespaces of the installed chapters' components whose pods ask to
// be scraped (prometheus.io/scrape: "true" in their rendered manifests): where a promql check
// expects targets that are up.
func (e *Env) scrapedNamespaces(ctx context.Context, cl *cluster.Cluster) ([]string, error) {
	entries, err := deploy.Ledger{CS: cl.CS}.Read(ctx)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []string
	for _, id := range deploy.Installed(entries) {
		ch, ok := e.Lib.Chapters[id]
		if !ok {
			continue
		}
		waves, err := deploy.PrepareChapter(e.Charts, e.Lib.FS, ch)
		if err != nil {
			return nil, err
		}
		for _, w := range waves {
			for _, r := range w {
				m, err := deploy.Render(ctx, r)
				if err != nil {
					return nil, err
				}
				if strings.Contains(m, `prometheus.io/scrape: "true"`) && !seen[r.Namespace()] {
					seen[r.Namespace()] = true
					out = append(out, r.Namespace())
				}
			}
		}
	}
	return out, nil
}

func hasCheck(ch *series.Chapter, typ string) bool {
	for _, c := range ch.Checks {
		if c.Type == typ {
			return true
		}
	}
	return false
}

// newRunner prepares the check runner for a chapter: the cluster (if any), endpoints, the series
// folder, and for promql checks the namespaces whose targets must be up.
func (e *Env) newRunner(ctx context.Context, cl *cluster.Cluster, ch *series.Chapter, endpoints map[string]string) (*check.Runner, error) {
	r := &check.Runner{Endpoints: endpoints, SeriesFS: e.Lib.FS, Lib: e.Lib, UI: e.UI,
		NoCluster: "no cluster contacted: every service was given by --endpoint (add --context to check the cluster too)"}
	if cl == nil {
		return r, nil
	}
	r.CS, r.REST = cl.CS, cl.REST
	if hasCheck(ch, check.TypePromQL) {
		if _, viaEndpoint := endpoints["prometheus"]; !viaEndpoint {
			ns, err := e.scrapedNamespaces(ctx, cl)
			if err != nil {
				return nil, err
			}
			r.ScrapedNamespaces = ns
		}
	}
	return r, nil
}
