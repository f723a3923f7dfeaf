package check

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"path"
	"sort"
	"strconv"
	"strings"
)

const (
	feastCheck         = "feast-online-features"
	feastOnlinePath    = "/get-online-features"
	feastHealthPath    = "/health"
	feastMaxMismatches = 10
	// feastTolerance is the relative tolerance (against max(1, |want|)) for numbers: Float32
	// features come back as the nearest float32 widened to a double (0.35 → 0.3499999940395355).
	feastTolerance = 1e-6
	// feastStatusPresent is the status of a value the online store has.
	feastStatusPresent = "PRESENT"
)

// FeastOnlineFeatures asks a Feast feature server for online features and compares every value
// with what the data must give.
//
// Entities holds the request's entity rows column-wise, as the feature server takes them: join key →
// one value per row (several join keys for a composite entity, all lists of the same length).
// Expected holds, per feature reference ("view:feature"), the wanted value of each row in the same
// order. Numbers compare with a small relative tolerance (feastTolerance), anything else exactly.
type FeastOnlineFeatures struct {
	Features []string
	Entities map[string][]any
	Expected map[string][]any
}

// Rows is the number of entity rows of the request (0 when Entities is empty or ragged).
func (f FeastOnlineFeatures) Rows() int {
	n := -1
	for _, vs := range f.Entities {
		if n >= 0 && len(vs) != n {
			return 0
		}
		n = len(vs)
	}
	return max(n, 0)
}

// validate reports a request that cannot be sent or judged.
func (f FeastOnlineFeatures) validate() error {
	if len(f.Features) == 0 {
		return errors.New("no features to request")
	}
	if len(f.Entities) == 0 {
		return errors.New("no entities to request")
	}
	rows := f.Rows()
	if rows == 0 {
		return fmt.Errorf("entity lists are empty or of different lengths: %s", f.entityLengths())
	}
	seen := map[string]bool{}
	for _, ref := range f.Features {
		if _, _, ok := splitFeatureRef(ref); !ok {
			return fmt.Errorf("feature %q is not a feature reference view:feature", ref)
		}
		if seen[ref] {
			return fmt.Errorf("feature %q is listed twice", ref)
		}
		seen[ref] = true
		want, ok := f.Expected[ref]
		if !ok {
			return fmt.Errorf("no expected values for feature %s", ref)
		}
		if len(want) != rows {
			return fmt.Errorf("feature %s: %d expected values for %d entity rows", ref, len(want), rows)
		}
	}
	return nil
}

func (f FeastOnlineFeatures) entityLengths() string {
	var parts []string
	for _, k := range f.joinKeys() {
		parts = append(parts, fmt.Sprintf("%s: %d", k, len(f.Entities[k])))
	}
	return strings.Join(parts, ", ")
}

func (f FeastOnlineFeatures) joinKeys() []string {
	keys := make([]string, 0, len(f.Entities))
	for k := range f.Entities {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// entity names row i in messages: "driver_id=1001" (or "a=1,b=x" for a composite key).
func (f FeastOnlineFeatures) entity(i int) string {
	var parts []string
	for _, k := range f.joinKeys() {
		parts = append(parts, fmt.Sprintf("%s=%v", k, f.Entities[k][i]))
	}
	return strings.Join(parts, ",")
}

// splitFeatureRef splits "view:feature".
func splitFeatureRef(ref string) (view, feature string, ok bool) {
	view, feature, ok = strings.Cut(ref, ":")
	return view, feature, ok && view != "" && feature != "" && !strings.Contains(feature, ":")
}

// feastResponse is the feature server's JSON answer. With full_feature_names the columns are
// named view__feature; the entity columns keep their join key names. The order of the columns
// is the server's, not the request's.
type feastResponse struct {
	Metadata struct {
		FeatureNames []string `json:"feature_names"`
	} `json:"metadata"`
	Results []struct {
		Values   []any    `json:"values"`
		Statuses []string `json:"statuses"`
	} `json:"results"`
}

// Run checks GET /health (200 once the server has loaded its registry), then POSTs the request to
// /get-online-features and compares every returned value with Expected. Every value must have status
// PRESENT and a value: Feast 0.66's Redis store answers PRESENT with a null value for an entity it
// has no row for, so a null counts as not found too. All mismatches are reported (up to 10), each
// naming the feature, the entity, what came back and what was wanted. A nil hc means a client with a
// 30 s timeout.
func (f FeastOnlineFeatures) Run(ctx context.Context, hc *http.Client, baseURL string) (string, error) {
	c, _, _, err := newAPIClient(feastServer, hc, baseURL)
	if err != nil {
		return "", err
	}
	if err := f.validate(); err != nil {
		return "", fmt.Errorf("%s: invalid check: %w", feastCheck, err)
	}

	if _, err := c.call(ctx, "health", http.MethodGet, feastHealthPath, "", nil, nil, nil); err != nil {
		if apiStatus(err) == http.StatusServiceUnavailable {
			return "", fmt.Errorf("%w (the feature server has not loaded its registry yet: was `feast apply` run, "+
				"and does feature_store.yaml's registry path point at its output?)", err)
		}
		return "", err
	}

	entities := map[string][]any{}
	for k, vs := range f.Entities {
		entities[k] = vs
	}
	body, err := c.call(ctx, "get online features", http.MethodPost, feastOnlinePath, "", nil, map[string]any{
		"features":           f.Features,
		"entities":           entities,
		"full_feature_names": true,
	}, nil)
	if err != nil {
		return "", err
	}
	var resp feastResponse
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&resp); err != nil {
		return "", fmt.Errorf("%s: get online features: POST %s: not the expected JSON (%v): %s",
			feastCheck, feastOnlinePath, err, trimBody(body))
	}
	if len(resp.Metadata.FeatureNames) != len(resp.Results) {
		return "", fmt.Errorf("%s: get online features: POST %s: %d column names for %d result columns: %s",
			feastCheck, feastOnlinePath, len(resp.Metadata.FeatureNames), len(resp.Results), trimBody(body))
	}
	column := map[string]int{}
	for i, name := range resp.Metadata.FeatureNames {
		column[name] = i
	}

	rows := f.Rows()
	var problems []string
	more := 0
	report := func(format string, a ...any) {
		if len(problems) < feastMaxMismatches {
			problems = append(problems, fmt.Sprintf(format, a...))
		} else {
			more++
		}
	}
	for _, ref := range f.Features {
		view, feature, _ := splitFeatureRef(ref)
		idx, ok := column[view+"__"+feature]
		if !ok {
			report("%s: not in the answer (columns: %s)", ref, strings.Join(resp.Metadata.FeatureNames, ", "))
			continue
		}
		res := resp.Results[idx]
		if len(res.Values) != rows || len(res.Statuses) != rows {
			report("%s: %d values and %d statuses for %d entity rows", ref, len(res.Values), len(res.Statuses), rows)
			continue
		}
		for i := range rows {
			got, status, want := res.Values[i], res.Statuses[i], f.Expected[ref][i]
			switch {
			case status != feastStatusPresent:
				report("%s for %s: status %s, value %s, want %s (%s)", ref, f.entity(i), status, feastFormat(got),
					feastFormat(want), feastStatusHint(status))
			case got == nil && want != nil:
				report("%s for %s: no value (null), want %s (NOT_FOUND: the online store has no row for this "+
					"entity: is it in the data, and did `feast materialize` cover its event time?)",
					ref, f.entity(i), feastFormat(want))
			case !feastEqual(got, want):
				report("%s for %s: got %s, want %s", ref, f.entity(i), feastFormat(got), feastFormat(want))
			}
		}
	}
	if len(problems) > 0 {
		if more > 0 {
			problems = append(problems, fmt.Sprintf("and %d more", more))
		}
		return "", fmt.Errorf("%s: get online features: POST %s on %s: %s",
			feastCheck, feastOnlinePath, c.redacted, strings.Join(problems, "; "))
	}
	var ents []string
	for _, k := range f.joinKeys() {
		vals := make([]string, len(f.Entities[k]))
		for i, v := range f.Entities[k] {
			vals[i] = fmt.Sprint(v)
		}
		ents = append(ents, k+"="+strings.Join(vals, ","))
	}
	return fmt.Sprintf("Feast at %s: %d features × %d entities (%s) PRESENT with the expected values",
		c.redacted, len(f.Features), rows, strings.Join(ents, " ")), nil
}

func feastStatusHint(status string) string {
	switch status {
	case "NOT_FOUND":
		return "the online store has no row for this entity: is it in the data, and did `feast materialize` cover its event time?"
	case "OUTSIDE_MAX_AGE":
		return "the stored value is older than the feature view's ttl: materialize newer data"
	case "NULL_VALUE":
		return "the stored value is null in the source data"
	default:
		return "want PRESENT"
	}
}

// feastEqual compares a returned value with the wanted one: numbers within feastTolerance, other
// values as JSON.
func feastEqual(got, want any) bool {
	g, gok := feastNumber(got)
	w, wok := feastNumber(want)
	if gok && wok {
		return math.Abs(g-w) <= feastTolerance*math.Max(1, math.Abs(w))
	}
	if gok != wok {
		return false
	}
	gb, err1 := json.Marshal(got)
	wb, err2 := json.Marshal(want)
	return err1 == nil && err2 == nil && bytes.Equal(gb, wb)
}

// feastNumber reads a JSON or Go number (int64 values may also come as decimal strings, as
// protobuf's JSON mapping writes them).
func feastNumber(v any) (float64, bool) {
	switch n := v.(type) {
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	case float64:
		return n, true
	case float32:
		return float64(n), true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case int32:
		return float64(n), true
	case string:
		if i, err := strconv.ParseInt(n, 10, 64); err == nil {
			return float64(i), true
		}
	}
	return 0, false
}

func feastFormat(v any) string {
	if v == nil {
		return "null"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// feastServer is the Feast feature server, as the API client names it and reads its errors.
var feastServer = apiTool{
	Check: feastCheck, Name: "Feast feature server", Server: "Feast feature server",
	ErrorBody: func(_ int, body []byte) (string, string) { return "", feastErrorMessage(body) },
}

// feastErrorMessage digs the message out of the feature server's error bodies, which come as a
// JSON string (sometimes holding a JSON object with class and message: Feast's own errors), or as
// FastAPI's {"detail": ...}; anything else is trimmed as is.
func feastErrorMessage(data []byte) string {
	var s string
	if json.Unmarshal(data, &s) == nil {
		var fe struct {
			Class   string `json:"class"`
			Message string `json:"message"`
		}
		if json.Unmarshal([]byte(s), &fe) == nil && fe.Message != "" {
			if fe.Class != "" {
				return trimBody([]byte(fe.Class + ": " + fe.Message))
			}
			return trimBody([]byte(fe.Message))
		}
		var inner string
		if json.Unmarshal([]byte(s), &inner) == nil {
			s = inner
		}
		return trimBody([]byte(s))
	}
	var d struct {
		Detail json.RawMessage `json:"detail"`
	}
	if json.Unmarshal(data, &d) == nil && len(d.Detail) > 0 {
		var msg string
		if json.Unmarshal(d.Detail, &msg) == nil {
			return trimBody([]byte(msg))
		}
		var items []struct {
			Loc []any  `json:"loc"`
			Msg string `json:"msg"`
		}
		if json.Unmarshal(d.Detail, &items) == nil && len(items) > 0 {
			parts := make([]string, 0, len(items))
			for _, it := range items {
				loc := make([]string, len(it.Loc))
				for i, l := range it.Loc {
					loc[i] = fmt.Sprint(l)
				}
				parts = append(parts, strings.Join(loc, ".")+": "+it.Msg)
			}
			return trimBody([]byte(strings.Join(parts, "; ")))
		}
	}
	return trimBody(data)
}

// Params of the feast-online-features check in chapter.yaml.
const (
	FeastParamFeatures = "features"
	FeastParamEntities = "entities"
	FeastParamExpected = "expected"
)

// ParseFeastParams builds the check from a chapter spec's params:
//
//	features: "driver_stats:conv_rate,driver_stats:acc_rate"   feature references, comma-separated
//	entities: "driver_id=1001,1002,1003"                       join key=values; several join keys
//	                                                           (a composite entity) separated by ";"
//	expected: examples/expected_features.json                  file (read with readFile, relative to
//	                                                           the chapter folder) of wanted values
//
// Entity values that are integers are sent as JSON numbers (Int64 join keys), others as strings.
// The expected file is {"rows": [{"driver_id": 1001, "driver_stats:conv_rate": 0.35, ...}, ...]}:
// keys with a colon are feature references, the others join keys. Each requested entity row must
// match exactly one row of the file, and that row must hold every requested feature. Which keys
// params may have is the check types table's (Builtin), which spec validation reads.
func ParseFeastParams(params map[string]string, readFile func(string) ([]byte, error)) (FeastOnlineFeatures, error) {
	var f FeastOnlineFeatures
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }

	known := map[string]bool{FeastParamFeatures: true, FeastParamEntities: true, FeastParamExpected: true}
	var unknown []string
	for k := range params {
		if !known[k] {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		bad("unknown param %q (known: %s, %s, %s)", k, FeastParamFeatures, FeastParamEntities, FeastParamExpected)
	}

	seen := map[string]bool{}
	for _, ref := range strings.Split(params[FeastParamFeatures], ",") {
		ref = strings.TrimSpace(ref)
		if ref == "" {
			continue
		}
		if _, _, ok := splitFeatureRef(ref); !ok {
			bad("params.features: %q is not a feature reference view:feature", ref)
			continue
		}
		if !seen[ref] {
			f.Features = append(f.Features, ref)
			seen[ref] = true
		}
	}
	if len(f.Features) == 0 && strings.TrimSpace(params[FeastParamFeatures]) == "" {
		bad("params.features: needs feature references, e.g. \"driver_stats:conv_rate,driver_stats:acc_rate\"")
	}

	f.Entities = map[string][]any{}
	parts := 0
	for _, part := range strings.Split(params[FeastParamEntities], ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		parts++
		key, list, ok := strings.Cut(part, "=")
		key = strings.TrimSpace(key)
		if !ok || key == "" || strings.TrimSpace(list) == "" {
			bad("params.entities: %q is not join_key=value,value,...", part)
			continue
		}
		if _, dup := f.Entities[key]; dup {
			bad("params.entities: join key %s is given twice", key)
			continue
		}
		var vals []any
		for _, v := range strings.Split(list, ",") {
			v = strings.TrimSpace(v)
			if v == "" {
				bad("params.entities: %s has an empty value", key)
				continue
			}
			vals = append(vals, feastEntityValue(v))
		}
		f.Entities[key] = vals
	}
	if parts == 0 {
		bad("params.entities: needs join_key=value,value,..., e.g. \"driver_id=1001,1002,1003\"")
	}
	if len(f.Entities) > 0 && f.Rows() == 0 {
		bad("params.entities: every join key needs the same number of values (%s)", f.entityLengths())
	}

	file := strings.TrimSpace(params[FeastParamExpected])
	if file == "" {
		bad("params.expected: needs the file of expected values, e.g. examples/expected_features.json")
	}
	if len(errs) > 0 {
		return f, fmt.Errorf("%s: %w", feastCheck, errors.Join(errs...))
	}

	data, err := readFile(path.Clean(file))
	if err != nil {
		return f, fmt.Errorf("%s: params.expected: %w", feastCheck, err)
	}
	var doc struct {
		Rows []map[string]any `json:"rows"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return f, fmt.Errorf("%s: params.expected: %s is not JSON of the form {\"rows\": [...]}: %w", feastCheck, file, err)
	}
	if len(doc.Rows) == 0 {
		return f, fmt.Errorf("%s: params.expected: %s has no rows", feastCheck, file)
	}

	rows := f.Rows()
	f.Expected = map[string][]any{}
	for _, ref := range f.Features {
		f.Expected[ref] = make([]any, rows)
	}
	for i := range rows {
		var match map[string]any
		n := 0
		for _, r := range doc.Rows {
			if feastRowMatches(r, f.Entities, i) {
				match = r
				n++
			}
		}
		switch {
		case n == 0:
			bad("no row for %s", f.entity(i))
			continue
		case n > 1:
			bad("%d rows for %s", n, f.entity(i))
			continue
		}
		for _, ref := range f.Features {
			v, ok := match[ref]
			if !ok {
				bad("the row of %s has no %s", f.entity(i), ref)
				continue
			}
			f.Expected[ref][i] = v
		}
	}
	if len(errs) > 0 {
		return f, fmt.Errorf("%s: params.expected: %s: %w", feastCheck, file, errors.Join(errs...))
	}
	return f, nil
}

// feastEntityValue types one entity value from the spec: integers become int64 (JSON numbers),
// anything else stays a string.
func feastEntityValue(s string) any {
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return i
	}
	return s
}

// feastRowMatches says whether an expected-file row has entity row i's value for every join key.
func feastRowMatches(r map[string]any, entities map[string][]any, i int) bool {
	for k, vals := range entities {
		v, ok := r[k]
		if !ok {
			return false
		}
		var s string
		switch x := v.(type) {
		case json.Number:
			s = x.String()
		case string:
			s = x
		default:
			return false
		}
		if feastEntityValue(s) != vals[i] {
			return false
		}
	}
	return true
}
