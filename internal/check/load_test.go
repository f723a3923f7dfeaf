package check

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestPercentileNearestRank(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	cases := []struct {
		in      []time.Duration
		p       int
		wantMS  int
		comment string
	}{
		{ms(7), 50, 7, "one sample"},
		{ms(1, 2, 3, 4), 50, 2, "even count: lower middle"},
		{ms(1, 2, 3, 4, 5), 50, 3, "odd count: middle"},
		{ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 99, 10, "p99 of 10 is the max"},
	}
	for _, c := range cases {
		if got := percentile(c.in, c.p); got != time.Duration(c.wantMS)*time.Millisecond {
			t.Errorf("%s: p%d = %s, want %dms", c.comment, c.p, got, c.wantMS)
		}
	}
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	if got := percentile(hundred, 99); got != 99*time.Millisecond {
		t.Errorf("p99 of 1..100 ms = %s, want 99ms", got)
	}
}

func TestLoadCountsEveryRequestAndBody(t *testing.T) {
	var n, inflight, peak atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cur := inflight.Add(1)
		defer inflight.Add(-1)
		for {
			p := peak.Load()
			if cur <= p || peak.CompareAndSwap(p, cur) {
				break
			}
		}
		b, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.URL.Path != "/predict" || string(b) != `{"x":1}` || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "unexpected request", http.StatusBadRequest)
			return
		}
		n.Add(1)
		time.Sleep(2 * time.Millisecond)
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	defer srv.Close()
	l := Load{Path: "/predict", Body: []byte(`{"x":1}`), Requests: 120, Concurrency: 6}
	msg, err := l.Run(context.Background(), srv.Client(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if n.Load() != 120 {
		t.Fatalf("server saw %d requests, want 120", n.Load())
	}
	if peak.Load() > 6 {
		t.Fatalf("%d requests in flight at once, want at most 6", peak.Load())
	}
	if !strings.Contains(msg, "120 requests, 0 errors, p50 ") || !strings.Contains(msg, "p99 ") {
		t.Fatalf("summary %q", msg)
	}
}

func TestLoadFailsOnAnyError(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if n.Add(1)%50 == 0 {
			http.Error(w, "model not loaded", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	l := Load{Path: "/predict", Body: []byte(`{}`), Requests: 200, Concurrency: 4}
	res, err := l.Measure(context.Background(), srv.Client(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if res.Errors != 4 || res.Requests != 200 {
		t.Fatalf("result %+v, want 4 errors of 200", res)
	}
	_, err = l.Run(context.Background(), srv.Client(), srv.URL)
	if err == nil || !strings.Contains(err.Error(), "503 Service Unavailable: model not loaded") || !strings.Contains(err.Error(), "errors") {
		t.Fatalf("Run error = %v", err)
	}
}

func TestLoadRejectsBadSettings(t *testing.T) {
	for _, l := range []Load{
		{Path: "predict", Requests: 1, Concurrency: 1},
		{Path: "/p", Requests: 0, Concurrency: 1},
		{Path: "/p", Requests: 1, Concurrency: 0},
		{Path: "/p", Requests: loadMaxRequests + 1, Concurrency: 1},
		{Path: "/p", Requests: 1, Concurrency: loadMaxConcurrency + 1},
	} {
		if _, err := l.Measure(context.Background(), http.DefaultClient, "http://127.0.0.1:1"); err == nil {
			t.Errorf("%+v: no error", l)
		}
	}
}

func TestLoadStopsWithContext(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release) // before Close, which waits for the handlers
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	l := Load{Path: "/slow", Body: []byte(`{}`), Requests: 100, Concurrency: 2}
	if _, err := l.Run(ctx, srv.Client(), srv.URL); err == nil || !strings.Contains(err.Error(), "stopped") {
		t.Fatalf("error = %v, want the load stopped by ctx", err)
	}
}
