package check

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// A loaded TensorBoard: its first answer lists the runs without the one the check waits for, and
// its next answer comes after the deadline (stop 18's warm run 8, where the check reported "read
// answer: context deadline exceeded"). The reader needs what TensorBoard last said: which run
// lacks which tags, and which runs there are.
func TestTensorBoardReportsLastAnswerAtDeadline(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/data/plugin/scalars/tags" {
			http.NotFound(w, r)
			return
		}
		if calls.Add(1) > 1 {
			select { // slower than the deadline
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"iris-sgd": {"train/loss": {"displayName": "", "description": ""}}}`))
	}))
	defer srv.Close()

	ctx, cancel := context.WithTimeout(t.Context(), 1500*time.Millisecond)
	defer cancel()
	_, err := TensorBoardScalars{RunName: "no-such-run", Tags: []string{"train/loss"}, Poll: 100 * time.Millisecond}.
		Run(ctx, srv.Client(), srv.URL)
	want := `run "no-such-run" lacks tags train/loss (runs: iris-sgd;`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want it to contain %q", err, want)
	}
	if calls.Load() < 2 {
		t.Fatalf("%d request(s), want a second one cut by the deadline", calls.Load())
	}
}

// A TensorBoard that never answered in time is reported as such: there is no answer to report.
func TestTensorBoardFirstAnswerLate(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	_, err := TensorBoardScalars{RunName: "r", Tags: []string{"t"}}.Run(ctx, srv.Client(), srv.URL)
	if err == nil || !strings.Contains(err.Error(), "list the runs' scalar tags") {
		t.Fatalf("err = %v, want the failed request named", err)
	}
}
