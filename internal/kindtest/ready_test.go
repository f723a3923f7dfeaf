//go:build kind

package kindtest

import (
	"testing"
	"time"
)

func TestStartedSince(t *testing.T) {
	since := time.Date(2026, 12, 2, 7, 44, 0, 0, time.UTC)
	for _, tc := range []struct {
		column []string
		since  time.Time
		want   bool
	}{
		{[]string{"2026-12-02T07:44:03Z"}, since, true},
		{[]string{"2026-12-02T07:44:00Z,2026-12-02T07:45:10Z"}, since, true},
		{[]string{"2026-12-02T07:44:03Z,2026-12-02T07:31:00Z"}, since, false}, // one container from before
		{[]string{"2026-12-02T07:31:00Z"}, since, false},
		{[]string{"<none>"}, since, false}, // not running yet
		{nil, since, false},
		{[]string{"2026-12-02T07:31:00Z"}, time.Time{}, true}, // no restart to wait for
		{nil, time.Time{}, true},
	} {
		if got := startedSince(tc.column, tc.since); got != tc.want {
			errorf(t, "startedSince(%q, %s) = %v, want %v", tc.column, tc.since, got, tc.want)
		}
	}
}
