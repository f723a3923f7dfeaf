package cli

import "github.com/mlops-series/mlops-series/internal/series"

func chartOf(ch *series.Chapter, component string) string {
	if ch == nil {
		return ""
	}
	for _, c := range ch.Components {
		if c.Name == component {
			return c.Chart
		}
	}
	return ""
}
