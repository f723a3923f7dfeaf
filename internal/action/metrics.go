package action

import (
	"context"
	"fmt"
	"strings"

	"github.com/mlops-series/mlops-series/internal/check"
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
		comp, _ := componentOf(ch, entry.Component)
		svc := entry.Service
		if svc == "" {
			svc = entry.Component
		}
		fw, err := check.ForwardService(ctx, cl.CS, cl.REST, comp.Namespace, svc, entry.Port)
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
