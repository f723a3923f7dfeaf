package check

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Load is a bounded load: Requests POSTs of Body (JSON) to Path, Concurrency at a time. It passes
// only when every request answered 2xx; the latency percentiles and the rate are reported, not
// asserted (they measure the reader's machine and the port-forward as much as the server).
type Load struct {
	Path        string
	Body        []byte
	Requests    int
	Concurrency int
}

// Load's defaults and bounds: enough requests for a p99, few enough for a laptop and a
// port-forward.
const (
	LoadDefaultRequests    = 500
	LoadDefaultConcurrency = 8
	loadMaxRequests        = 20000
	loadMaxConcurrency     = 64
)

// LoadResult is what a Load measured.
type LoadResult struct {
	Requests, Errors int
	P50, P99, Max    time.Duration
	Elapsed          time.Duration
	// FirstError is the first failure seen (nil when Errors is 0).
	FirstError error
}

// Rate is the requests per second over the whole run.
func (r LoadResult) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

func (r LoadResult) String() string {
	return fmt.Sprintf("%d requests, %d errors, p50 %s, p99 %s, max %s, %.0f req/s",
		r.Requests, r.Errors, roundLatency(r.P50), roundLatency(r.P99), roundLatency(r.Max), r.Rate())
}

func roundLatency(d time.Duration) time.Duration {
	switch {
	case d >= 100*time.Millisecond:
		return d.Round(time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(100 * time.Microsecond)
	default:
		return d.Round(time.Microsecond)
	}
}

// validate says what is wrong with l's settings.
func (l Load) validate() error {
	if err := l.validatePath(); err != nil {
		return err
	}
	return l.validateCounts()
}

func (l Load) validatePath() error {
	if !strings.HasPrefix(l.Path, "/") {
		return fmt.Errorf("path must start with /, got %q", l.Path)
	}
	return nil
}

func (l Load) validateCounts() error {
	if l.Requests < 1 || l.Requests > loadMaxRequests {
		return fmt.Errorf("requests must be 1..%d, got %d", loadMaxRequests, l.Requests)
	}
	if l.Concurrency < 1 || l.Concurrency > loadMaxConcurrency {
		return fmt.Errorf("concurrency must be 1..%d, got %d", loadMaxConcurrency, l.Concurrency)
	}
	return nil
}

// Measure sends the load and returns what it measured; an error only for bad settings or a
// cancelled ctx (failed requests are counted in the result).
func (l Load) Measure(ctx context.Context, hc *http.Client, base string) (LoadResult, error) {
	if err := l.validate(); err != nil {
		return LoadResult{}, err
	}
	target := strings.TrimSuffix(base, "/") + l.Path
	latencies := make([]time.Duration, l.Requests)
	errs := make([]error, l.Requests)
	next := make(chan int)
	var wg sync.WaitGroup
	start := time.Now()
	for range l.Concurrency {
		wg.Go(func() {
			for i := range next {
				t0 := time.Now()
				errs[i] = l.one(ctx, hc, target)
				latencies[i] = time.Since(t0)
			}
		})
	}
feed:
	for i := range l.Requests {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	elapsed := time.Since(start)
	if ctx.Err() != nil {
		return LoadResult{}, fmt.Errorf("load on %s stopped: %w", l.Path, context.Cause(ctx))
	}
	res := LoadResult{Requests: l.Requests, Elapsed: elapsed}
	for _, err := range errs {
		if err != nil {
			res.Errors++
			if res.FirstError == nil {
				res.FirstError = err
			}
		}
	}
	slices.Sort(latencies)
	res.P50 = percentile(latencies, 50)
	res.P99 = percentile(latencies, 99)
	res.Max = latencies[len(latencies)-1]
	return res, nil
}

// Run is Measure as a check: it fails when any request failed.
func (l Load) Run(ctx context.Context, hc *http.Client, base string) (string, error) {
	res, err := l.Measure(ctx, hc, base)
	if err != nil {
		return "", err
	}
	if res.Errors > 0 {
		return "", fmt.Errorf("POST %s: %s; first error: %w", l.Path, res, res.FirstError)
	}
	return fmt.Sprintf("POST %s: %s", l.Path, res), nil
}

// percentile is the nearest-rank p-th percentile of sorted (not empty).
func percentile(sorted []time.Duration, p int) time.Duration {
	rank := (p*len(sorted) + 99) / 100 // ceil(p/100 * n)
	if rank < 1 {
		rank = 1
	}
	return sorted[rank-1]
}

var errLoadStatus = errors.New("non-2xx answer")

func (l Load) one(ctx context.Context, hc *http.Client, target string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(l.Body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("%w: %s: %s", errLoadStatus, resp.Status, trimBody(body))
	}
	return nil
}
