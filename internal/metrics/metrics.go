// Package metrics records what a CLI run did (step durations, check results) with client_golang,
// for the monitoring chapter's Grafana dashboard: pushed to its Pushgateway (--push-metrics) or
// written as a textfile (--metrics-file) for CI.
package metrics

import (
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/push"
)

// Metric names (the Grafana dashboard "mlops-series CLI runs" queries these).
const (
	StepDuration = "mlops_series_step_duration_seconds"
	CheckResult  = "mlops_series_check_result"
	RunTimestamp = "mlops_series_run_timestamp_seconds"
	// Job is the Pushgateway job the CLI pushes under.
	Job = "mlops_series"
)

// Recorder collects one run's metrics. A nil *Recorder records nothing.
type Recorder struct {
	reg     *prometheus.Registry
	steps   *prometheus.GaugeVec
	checks  *prometheus.GaugeVec
	runs    *prometheus.GaugeVec
	mu      sync.Mutex
	command string
	chapter string
}

// New returns a recorder for one command ("up", "check") on one chapter.
func New(command, chapter string) *Recorder {
	r := &Recorder{
		reg: prometheus.NewRegistry(),
		steps: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: StepDuration, Help: "Duration of the last run of each step of mlops-series, by result.",
		}, []string{"chapter", "step", "result"}),
		checks: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: CheckResult, Help: "1 if the chapter's check passed in the last run, 0 if it failed.",
		}, []string{"chapter", "check"}),
		runs: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: RunTimestamp, Help: "Unix time of the last mlops-series run, by chapter and command.",
		}, []string{"chapter", "command"}),
		command: command,
		chapter: chapter,
	}
	r.reg.MustRegister(r.steps, r.checks, r.runs)
	r.runs.WithLabelValues(chapter, command).Set(float64(time.Now().Unix()))
	return r
}

// Step records a step's duration and result ("ok", "installed", "unchanged", "failed", ...).
func (r *Recorder) Step(chapter, step, result string, d time.Duration) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.steps.WithLabelValues(chapter, step, result).Set(d.Seconds())
}

// Check records a check result.
func (r *Recorder) Check(chapter, check string, passed bool) {
	if r == nil {
		return
	}
	v := 0.0
	if passed {
		v = 1
	}
	r.checks.WithLabelValues(chapter, check).Set(v)
}

// Gatherer exposes the registry (tests, custom outputs).
func (r *Recorder) Gatherer() prometheus.Gatherer { return r.reg }

// WriteFile writes the metrics in the Prometheus text format (node-exporter textfile collector).
func (r *Recorder) WriteFile(path string) error {
	if err := prometheus.WriteToTextfile(path, r.reg); err != nil {
		return fmt.Errorf("write metrics file %s: %w", path, err)
	}
	return nil
}

// Push sends the metrics to a Pushgateway at url, in a group per command and chapter (grouping
// label "run", e.g. "up-chapter-6") so that runs of different chapters and commands do not replace
// each other. (The metrics' own chapter and command labels cannot be grouping labels too.)
func (r *Recorder) Push(url string) error {
	p := push.New(url, Job).Gatherer(r.reg).Grouping("run", r.command+"-"+r.chapter)
	if err := p.Push(); err != nil {
		return fmt.Errorf("push metrics to %s: %w", url, err)
	}
	return nil
}
