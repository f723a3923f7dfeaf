package check

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// A loaded machine: the first attempt sees the cluster's problem; the next is refused by client-go's
// rate limiter because its wait would end after the deadline (stop 17's warm CI run, where
// TestClusterChecks reported the limiter instead of the NotReady nodes). What the reader needs is
// the problem seen.
func TestPollKeepsWhatItSawOverDeadlineErrors(t *testing.T) {
	for _, late := range []error{
		fmt.Errorf("list nodes: client rate limiter Wait returned an error: %w", errors.New("rate: Wait(n=1) would exceed context deadline")),
		fmt.Errorf("list nodes: %w", context.DeadlineExceeded),
	} {
		ctx, cancel := context.WithTimeout(t.Context(), 3*pollInterval)
		calls := 0
		_, err := poll(ctx, func(context.Context) (string, []string, error) {
			calls++
			if calls == 1 {
				return "", []string{"node broken-node is NotReady"}, nil
			}
			return "", nil, late
		})
		cancel()
		if err == nil || err.Error() != "node broken-node is NotReady" {
			t.Errorf("after %q: got %v, want the problem the first attempt saw", late, err)
		}
	}
}

// An error from the cluster itself (not from the deadline) is what the reader sees last.
func TestPollReportsTheClustersError(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 3*pollInterval)
	defer cancel()
	calls := 0
	start := time.Now()
	_, err := poll(ctx, func(context.Context) (string, []string, error) {
		calls++
		if calls == 1 {
			return "", []string{"node broken-node is NotReady"}, nil
		}
		return "", nil, errors.New(`list nodes: nodes is forbidden: User "reader" cannot list resource "nodes"`)
	})
	if err == nil || !strings.Contains(err.Error(), "forbidden") {
		t.Errorf("got %v, want the API's error", err)
	}
	if time.Since(start) < 2*pollInterval {
		t.Errorf("poll returned after %s, before its deadline", time.Since(start))
	}
}

func TestPollPassesWhenTheProblemGoes(t *testing.T) {
	calls := 0
	msg, err := poll(t.Context(), func(context.Context) (string, []string, error) {
		calls++
		if calls < 3 {
			return "", []string{"1 of 1 nodes not Ready"}, nil
		}
		return "1 node Ready: n", nil, nil
	})
	if err != nil || msg != "1 node Ready: n" || calls != 3 {
		t.Errorf("poll = %q, %v after %d calls", msg, err, calls)
	}
}
