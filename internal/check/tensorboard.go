package check

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// The params of a tensorboard-scalars check.
const (
	// TensorBoardParamRun is the run that must be there ("iris-sgd").
	TensorBoardParamRun = "run"
	// TensorBoardParamTags are the scalar tags it must have, comma-separated.
	TensorBoardParamTags = "tags"
)

var tensorBoardAPI = apiTool{Check: "tensorboard-scalars", Name: "TensorBoard", Server: "TensorBoard",
	NotJSONHint: "TensorBoard (port 6006)"}

// TensorBoardScalars checks TensorBoard through its scalars plugin's HTTP API (the one its web UI
// calls): GET /data/plugin/scalars/tags must list RunName with every tag of Tags, and GET
// /data/plugin/scalars/scalars must return points for each. TensorBoard finds new runs only every
// --reload_interval, and the run may still be being written: the check waits for it until ctx ends.
type TensorBoardScalars struct {
	RunName string
	Tags    []string
	// Poll is the interval between two looks (default 2 s).
	Poll time.Duration
}

// Run runs the check against the TensorBoard at baseURL.
func (t TensorBoardScalars) Run(ctx context.Context, hc *http.Client, baseURL string) (string, error) {
	if t.RunName == "" || len(t.Tags) == 0 {
		return "", fmt.Errorf("tensorboard-scalars: a run and its tags are required")
	}
	if t.Poll <= 0 {
		t.Poll = 2 * time.Second
	}
	c, _, _, err := newAPIClient(tensorBoardAPI, hc, baseURL)
	if err != nil {
		return "", err
	}
	// lacking says what the last answer lacked, once there was one.
	var lacking error
	for {
		// run -> tag -> {displayName, description}
		var tags map[string]map[string]any
		if err := c.do(ctx, "list the runs' scalar tags", http.MethodGet, "/data/plugin/scalars/tags", "", nil, &tags); err != nil {
			// A request cut short by the deadline says nothing new: report the last answer.
			if lacking != nil && ctx.Err() != nil && deadlineCaused(err) {
				return "", fmt.Errorf("%w: %w", lacking, context.Cause(ctx))
			}
			return "", err
		}
		var missing []string
		for _, tag := range t.Tags {
			if _, ok := tags[t.RunName][tag]; !ok {
				missing = append(missing, tag)
			}
		}
		if len(missing) == 0 {
			break
		}
		runs := make([]string, 0, len(tags))
		for r := range tags {
			runs = append(runs, r)
		}
		slices.Sort(runs)
		lacking = fmt.Errorf("tensorboard-scalars: run %q lacks tags %s (runs: %s; is the example Job done?)",
			t.RunName, strings.Join(missing, ", "), strings.Join(runs, ", "))
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("%w: %w", lacking, context.Cause(ctx))
		case <-time.After(t.Poll):
		}
	}
	var parts []string
	for _, tag := range t.Tags {
		// [[wall_time, step, value], ...]
		var points [][3]float64
		if _, err := c.call(ctx, "read the points of "+tag, http.MethodGet, "/data/plugin/scalars/scalars", "",
			url.Values{"run": {t.RunName}, "tag": {tag}}, nil, &points); err != nil {
			return "", err
		}
		if len(points) == 0 {
			return "", fmt.Errorf("tensorboard-scalars: %s of run %s has no points", tag, t.RunName)
		}
		last := points[len(points)-1]
		parts = append(parts, fmt.Sprintf("%s %d points (step %d: %.4g)", tag, len(points), int64(last[1]), last[2]))
	}
	return fmt.Sprintf("run %s: %s", t.RunName, strings.Join(parts, ", ")), nil
}
