package check

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mlops-series/mlops-series/internal/series"
)

// credentials reads params.username (default user) and the password from params.passwordSecret
// ("secret/key" in the component's namespace). With an --endpoint, or without a passwordSecret,
// both are empty unless set, and the checks fall back to the endpoint URL's userinfo.
func (r *Runner) credentials(ctx context.Context, ch *series.Chapter, c series.Check, user string) (string, string, error) {
	if u := c.Params["username"]; u != "" {
		user = u
	}
	ref := c.Params["passwordSecret"]
	if _, viaEndpoint := r.Endpoints[c.Component]; viaEndpoint || ref == "" || r.CS == nil {
		return "", "", nil
	}
	pass, err := r.secretValue(ctx, ch, c.Component, "passwordSecret", ref)
	if err != nil {
		return "", "", err
	}
	return user, pass, nil
}

// promFreshFor is how old the last up sample of a target may be for the target to count in the
// ScrapedNamespaces queries: three scrape intervals of the chart (server.scrapeInterval, 30 s).
const promFreshFor = 90 * time.Second

// promQL builds the queries of a promql check: params.query if given (default "up"); and, when
// ScrapedNamespaces is set (the installed chapters' namespaces whose components expose metrics),
// every target there must be up and every one of those namespaces must have a target.
func (r *Runner) promQL(c series.Check) ([]PromQL, error) {
	q := PromQL{Query: strings.TrimSpace(c.Params["query"])}
	if v := c.Params["minSeries"]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("params.minSeries %q: want a number", v)
		}
		q.MinSeries = n
	}
	if q.Query == "" {
		q.Query = "up"
	}
	qs := []PromQL{q}
	if len(r.ScrapedNamespaces) > 0 {
		ns := append([]string(nil), r.ScrapedNamespaces...)
		sort.Strings(ns)
		up := fmt.Sprintf(`up{namespace=~"%s"}`, strings.Join(ns, "|"))
		// Only targets scraped lately count. A Prometheus killed with its node (a laptop's
		// sleep, a restart of the kind node) writes no staleness marker for the pods it was
		// scraping; their last up sample, often 0 as the pod went down, answers every query for
		// the 5-minute lookback although the pod is gone and its successor is scraped under a
		// new address.
		sel := fmt.Sprintf("%s and (time() - timestamp(%s) < %d)", up, up, int(promFreshFor/time.Second))
		qs = append(qs,
			PromQL{Query: sel, MinSeries: len(ns)},
			// One series per namespace that has targets, valued 1: fewer than len(ns) means a
			// chapter whose metrics are not scraped at all.
			PromQL{Query: fmt.Sprintf("clamp_max(count by (namespace) (%s), 1)", sel), MinSeries: len(ns)})
	}
	return qs, nil
}

// chapterFile reads a file a check names (an expectation, a request sample) from its chapter's
// folder in the series.
func (r *Runner) chapterFile(ch *series.Chapter, p string) ([]byte, error) {
	if r.SeriesFS == nil {
		return nil, fmt.Errorf("no series folder to read %s from", p)
	}
	return fs.ReadFile(r.SeriesFS, path.Join(ch.Dir, p))
}
