package check

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// promqlListMax bounds how many series a failure message names.
const promqlListMax = 10

// PromQL runs an instant query against Prometheus' HTTP API (/api/v1/query) and expects every
// series it returns to have the value 1, as up and other health series do when all is well.
type PromQL struct {
	// Query is a PromQL expression, e.g. up{job="prometheus"}.
	Query string
	// MinSeries is how many series the query must return at least; 0 means 1 (an empty result
	// proves nothing).
	MinSeries int
	// Interval is the pause between attempts (0 means 5s). A Prometheus that has just started has
	// not scraped its targets yet (one scrape interval, 30 s in the chart), so a failed attempt is
	// repeated until ctx ends; the last attempt's error is returned.
	Interval time.Duration
}

// Run sends the query to the Prometheus at baseURL (http(s)://host:port[/prefix]) through hc (nil
// means a client with a 30 s timeout) and checks the result: at least MinSeries series, each with
// the value 1. A failure names the series whose value is not 1, with their labels, or says that
// there were too few.
func (p PromQL) Run(ctx context.Context, hc *http.Client, baseURL string) (string, error) {
	query := strings.TrimSpace(p.Query)
	if query == "" {
		return "", errors.New("promql: no query to run")
	}
	minSeries := p.MinSeries
	if minSeries < 1 {
		minSeries = 1
	}
	u, err := url.Parse(strings.TrimSpace(baseURL))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("promql: invalid Prometheus URL %q: want http(s)://host:port", baseURL)
	}
	u.RawQuery, u.Fragment = "", ""
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	client, err := api.NewClient(api.Config{Address: u.String(), Client: hc})
	if err != nil {
		return "", fmt.Errorf("promql: %w", err)
	}
	interval := p.Interval
	if interval <= 0 {
		interval = 5 * time.Second
	}
	papi, where := promv1.NewAPI(client), u.Redacted()
	for attempt := 1; ; attempt++ {
		msg, err := p.once(ctx, papi, where, query, minSeries)
		if err == nil {
			return msg, nil
		}
		// Stop when the next attempt could not finish before the deadline.
		if deadline, ok := ctx.Deadline(); !ok || time.Until(deadline) < interval {
			if attempt > 1 {
				err = fmt.Errorf("%w (%d attempts)", err, attempt)
			}
			return "", err
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("%w (%d attempts)", err, attempt)
		case <-time.After(interval):
		}
	}
}

// once runs the query one time and judges its result.
func (p PromQL) once(ctx context.Context, papi promv1.API, where, query string, minSeries int) (string, error) {
	value, warnings, _, err := papi.Query(ctx, query, time.Now())
	if err != nil {
		return "", promqlError(ctx, where, query, err)
	}
	samples, err := promqlSamples(value)
	if err != nil {
		return "", fmt.Errorf("promql: %s: %w", query, err)
	}

	var notOne []string
	for _, s := range samples {
		if s.Value != 1 {
			notOne = append(notOne, fmt.Sprintf("%s = %s", s.Metric, s.Value))
		}
	}
	sort.Strings(notOne)
	warn := ""
	if len(warnings) > 0 {
		warn = " (Prometheus warns: " + strings.Join(warnings, "; ") + ")"
	}
	switch {
	case len(samples) == 0:
		return "", fmt.Errorf("promql: %s returned no series, want at least %d: nothing matches yet "+
			"(is the target scraped? see %s/targets; a new target needs one scrape interval)%s",
			query, minSeries, strings.TrimRight(where, "/"), warn)
	case len(notOne) > 0:
		shown := notOne
		more := ""
		if len(shown) > promqlListMax {
			shown, more = shown[:promqlListMax], fmt.Sprintf("; and %d more", len(notOne)-promqlListMax)
		}
		return "", fmt.Errorf("promql: %s: %d of %d series are not 1: %s%s%s",
			query, len(notOne), len(samples), strings.Join(shown, "; "), more, warn)
	case len(samples) < minSeries:
		return "", fmt.Errorf("promql: %s returned %d series, want at least %d (all of them are 1)%s",
			query, len(samples), minSeries, warn)
	}
	noun := "series is"
	if len(samples) > 1 {
		noun = "series are"
	}
	return fmt.Sprintf("%s: %d %s 1%s", query, len(samples), noun, warn), nil
}

// promqlSample is one series of an instant query's result.
type promqlSample struct {
	Metric model.Metric
	Value  model.SampleValue
}

// promqlSamples flattens the result of an instant query: a vector gives its samples, a scalar one
// unlabelled sample. A range vector (a query such as up[5m]) is not a health value.
func promqlSamples(v model.Value) ([]promqlSample, error) {
	switch r := v.(type) {
	case model.Vector:
		out := make([]promqlSample, 0, len(r))
		for _, s := range r {
			out = append(out, promqlSample{Metric: model.Metric(s.Metric), Value: s.Value})
		}
		return out, nil
	case *model.Scalar:
		return []promqlSample{{Metric: model.Metric{}, Value: r.Value}}, nil
	case model.Matrix:
		return nil, errors.New("the result is a range vector: use an instant vector selector (no [range])")
	case nil:
		return nil, nil
	default:
		return nil, fmt.Errorf("unexpected result type %s, want an instant vector", v.Type())
	}
}

// promqlError explains a failed query: Prometheus refused it (bad PromQL, a timeout), answered
// something that is not its API, or could not be reached at all.
func promqlError(ctx context.Context, where, query string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("promql: %s: query %s: %w", where, query, context.Cause(ctx))
	}
	var apiErr *promv1.Error
	if errors.As(err, &apiErr) {
		switch apiErr.Type {
		case promv1.ErrBadData:
			return fmt.Errorf("promql: %s: Prometheus rejected the query %s: %s", where, query, apiErr.Msg)
		case promv1.ErrClient, promv1.ErrServer, promv1.ErrBadResponse:
			detail := trim([]byte(apiErr.Detail))
			if detail != "" {
				detail = ": " + detail
			}
			return fmt.Errorf("promql: %s: query %s: %s (is this Prometheus' address?)%s", where, query, apiErr.Msg, detail)
		default:
			return fmt.Errorf("promql: %s: query %s: %s", where, query, apiErr.Error())
		}
	}
	var netErr net.Error
	var urlErr *url.Error
	if errors.As(err, &netErr) || errors.As(err, &urlErr) {
		return fmt.Errorf("promql: %s: unreachable: %w", where, err)
	}
	return fmt.Errorf("promql: %s: query %s: %w", where, query, err)
}
