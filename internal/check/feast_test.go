package check

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mlops-series/mlops-series/internal/nativetest"
	"github.com/mlops-series/mlops-series/internal/series"
)

// feastChapterDir is chapter 8's folder: its chapter.yaml holds the check's params, its examples/
// the feature repository and the expected values.
const feastChapterDir = "../../series/chapter-8-feature-store"

// feastChapterParams returns the params of chapter 8's feast-online-features check, as the spec
// declares them.
func feastChapterParams(t *testing.T) map[string]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(feastChapterDir, series.SpecFile))
	if err != nil {
		t.Fatal(err)
	}
	ch, err := series.DecodeChapter("chapter-8/chapter.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range ch.Checks {
		if c.Type == TypeFeastOnlineFeatures {
			return c.Params
		}
	}
	t.Fatalf("chapter 8 has no %s check", TypeFeastOnlineFeatures)
	return nil
}

// feastReadChapterFile reads a file relative to chapter 8's folder, as the core resolves params.expected.
func feastReadChapterFile(p string) ([]byte, error) {
	return os.ReadFile(filepath.Join(feastChapterDir, p))
}

func feastParse(t *testing.T, params map[string]string) FeastOnlineFeatures {
	t.Helper()
	f, err := ParseFeastParams(params, feastReadChapterFile)
	if err != nil {
		t.Fatalf("ParseFeastParams: %v", err)
	}
	return f
}

func feastWantErr(t *testing.T, err error, wants ...string) {
	t.Helper()
	if err == nil {
		t.Fatal("want an error")
	}
	t.Logf("error: %v", err)
	for _, w := range wants {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
}

// TestFeastOnlineFeatures runs against a real Feast feature server (the venv's, the chart's
// version) over chapter 8's own feature repository: dataset script, feast apply, feast
// materialize-incremental into a real redis-server, feast serve. Started once for all subtests.
func TestFeastOnlineFeatures(t *testing.T) {
	srv := nativetest.Feast(t, filepath.Join(feastChapterDir, "examples", "feature_repo"))
	hc := &http.Client{Timeout: 30 * time.Second}
	params := feastChapterParams(t)

	t.Run("the chapter's check passes", func(t *testing.T) {
		f := feastParse(t, params)
		start := time.Now()
		summary, err := f.Run(t.Context(), hc, srv.URL)
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		t.Logf("passed in %s: %s", time.Since(start).Round(time.Millisecond), summary)
		want := "Feast at " + srv.URL + ": 3 features × 3 entities (driver_id=1001,1002,1003) PRESENT with the expected values"
		if summary != want {
			t.Errorf("summary:\n got %q\nwant %q", summary, want)
		}
	})

	t.Run("every driver of the expected file", func(t *testing.T) {
		p := map[string]string{}
		for k, v := range params {
			p[k] = v
		}
		p[FeastParamEntities] = "driver_id=1005,1004,1003,1002,1001"
		f := feastParse(t, p)
		if _, err := f.Run(t.Context(), hc, srv.URL); err != nil {
			t.Fatalf("Run: %v", err)
		}
	})

	t.Run("a wrong expectation names feature, entity, got and want", func(t *testing.T) {
		f := feastParse(t, params)
		f.Expected["driver_stats:conv_rate"] = []any{0.35, 0.99, 0.55}
		f.Expected["driver_stats:avg_daily_trips"] = []any{150, 250, 351}
		_, err := f.Run(t.Context(), hc, srv.URL)
		feastWantErr(t, err,
			"feast-online-features: get online features: POST /get-online-features on "+srv.URL+": ",
			// Float32 0.45 comes back widened to a double.
			"driver_stats:conv_rate for driver_id=1002: got 0.44999998807907104, want 0.99",
			"driver_stats:avg_daily_trips for driver_id=1003: got 350, want 351")
		if strings.Contains(err.Error(), "driver_id=1001") {
			t.Errorf("error names a matching entity: %v", err)
		}
	})

	t.Run("an unknown entity is reported as not found", func(t *testing.T) {
		f := FeastOnlineFeatures{
			Features: []string{"driver_stats:conv_rate"},
			Entities: map[string][]any{"driver_id": {int64(1001), int64(9999)}},
			Expected: map[string][]any{"driver_stats:conv_rate": {0.35, 0.5}},
		}
		_, err := f.Run(t.Context(), hc, srv.URL)
		feastWantErr(t, err, "driver_stats:conv_rate for driver_id=9999: no value (null), want 0.5 (NOT_FOUND: the online store has no row for this entity")
		if strings.Contains(err.Error(), "driver_id=1001") {
			t.Errorf("error names the entity that is present: %v", err)
		}
		// From the spec, an entity the expected file does not list fails before any request.
		p := map[string]string{}
		for k, v := range params {
			p[k] = v
		}
		p[FeastParamEntities] = "driver_id=1001,9999"
		_, err = ParseFeastParams(p, feastReadChapterFile)
		feastWantErr(t, err, "feast-online-features: params.expected: examples/expected_features.json: no row for driver_id=9999")
	})

	t.Run("an unknown feature is the server's error", func(t *testing.T) {
		f := FeastOnlineFeatures{
			Features: []string{"driver_stats:nope"},
			Entities: map[string][]any{"driver_id": {int64(1001)}},
			Expected: map[string][]any{"driver_stats:nope": {1}},
		}
		_, err := f.Run(t.Context(), hc, srv.URL)
		feastWantErr(t, err, "feast-online-features: get online features: POST /get-online-features: 500 Internal Server Error: 'Feature nope not found in projection driver_stats'")

		f = FeastOnlineFeatures{
			Features: []string{"nope:conv_rate"},
			Entities: map[string][]any{"driver_id": {int64(1001)}},
			Expected: map[string][]any{"nope:conv_rate": {1}},
		}
		_, err = f.Run(t.Context(), hc, srv.URL)
		feastWantErr(t, err, "feast-online-features: get online features: POST /get-online-features: 404 Not Found: FeatureViewNotFoundException: Feature view nope does not exist in project drivers")
	})
}

func TestFeastOnlineFeaturesUnreachable(t *testing.T) {
	base := "http://127.0.0.1:" + strconv.Itoa(nativetest.FreePort(t)) // closed again: nothing listens
	f := FeastOnlineFeatures{
		Features: []string{"v:f"},
		Entities: map[string][]any{"id": {int64(1)}},
		Expected: map[string][]any{"v:f": {1}},
	}
	_, err := f.Run(t.Context(), nil, base)
	feastWantErr(t, err, "feast-online-features: health: GET /health: Feast feature server unreachable at "+base, "port-forward", "connection refused")
}

// TestFeastOnlineFeaturesReportsProblems uses fake servers on purpose: they produce answers a
// healthy Feast 0.66 with Redis does not give (503 before the registry loads, NOT_FOUND and
// OUTSIDE_MAX_AGE statuses, which other online stores and versions use, malformed answers), to test
// how they are reported.
func TestFeastOnlineFeaturesReportsProblems(t *testing.T) {
	f := FeastOnlineFeatures{
		Features: []string{"driver_stats:conv_rate", "driver_stats:acc_rate"},
		Entities: map[string][]any{"driver_id": {int64(1001), int64(1002)}},
		Expected: map[string][]any{"driver_stats:conv_rate": {0.35, 0.45}, "driver_stats:acc_rate": {0.925, 0.875}},
	}
	answer := func(body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/health" {
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, body)
		}
	}
	cases := []struct {
		name    string
		handler http.HandlerFunc
		want    []string
	}{{
		name:    "registry not loaded",
		handler: func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) },
		want:    []string{"feast-online-features: health: GET /health: 503 Service Unavailable (the feature server has not loaded its registry yet"},
	}, {
		name:    "not Feast",
		handler: func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) },
		want:    []string{"feast-online-features: health: GET /health: 404 Not Found: 404 page not found"},
	}, {
		name: "statuses other than PRESENT",
		handler: answer(`{"metadata": {"feature_names": ["driver_id", "driver_stats__acc_rate", "driver_stats__conv_rate"]},
			"results": [{"values": [1001, 1002], "statuses": ["PRESENT", "PRESENT"]},
			            {"values": [0.925, 0.8], "statuses": ["PRESENT", "OUTSIDE_MAX_AGE"]},
			            {"values": [null, 0.45], "statuses": ["NOT_FOUND", "PRESENT"]}]}`),
		want: []string{
			"driver_stats:conv_rate for driver_id=1001: status NOT_FOUND, value null, want 0.35 (the online store has no row for this entity",
			"driver_stats:acc_rate for driver_id=1002: status OUTSIDE_MAX_AGE, value 0.8, want 0.875 (the stored value is older than the feature view's ttl",
		},
	}, {
		name: "a feature missing from the answer",
		handler: answer(`{"metadata": {"feature_names": ["driver_id", "driver_stats__conv_rate"]},
			"results": [{"values": [1001, 1002], "statuses": ["PRESENT", "PRESENT"]},
			            {"values": [0.35, 0.45], "statuses": ["PRESENT", "PRESENT"]}]}`),
		want: []string{"driver_stats:acc_rate: not in the answer (columns: driver_id, driver_stats__conv_rate)"},
	}, {
		name:    "not JSON",
		handler: answer(`<html>proxy error</html>`),
		want:    []string{"feast-online-features: get online features: POST /get-online-features: not the expected JSON"},
	}, {
		name: "Feast's validation error",
		handler: func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/health" {
				return
			}
			w.WriteHeader(http.StatusUnprocessableEntity)
			_, _ = io.WriteString(w, `{"detail":[{"type":"missing","loc":["body","entities"],"msg":"Field required"}]}`)
		},
		want: []string{"POST /get-online-features: 422 Unprocessable Entity: body.entities: Field required"},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			_, err := f.Run(t.Context(), srv.Client(), srv.URL)
			feastWantErr(t, err, tc.want...)
		})
	}
}

// The request the check sends: the features, the entities column-wise, full feature names.
func TestFeastOnlineFeaturesRequest(t *testing.T) {
	var got atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" {
			return
		}
		b, _ := io.ReadAll(r.Body)
		got.Store(r.Method + " " + r.URL.Path + " " + r.Header.Get("Content-Type") + " " + string(b))
		_, _ = io.WriteString(w, `{"metadata": {"feature_names": ["driver_id", "v__f"]},
			"results": [{"values": [7], "statuses": ["PRESENT"]}, {"values": ["7"], "statuses": ["PRESENT"]}]}`)
	}))
	defer srv.Close()
	f := FeastOnlineFeatures{
		Features: []string{"v:f"},
		Entities: map[string][]any{"driver_id": {int64(7)}},
		Expected: map[string][]any{"v:f": {7}}, // an Int64 written as a string by protobuf's JSON mapping
	}
	if _, err := f.Run(t.Context(), nil, srv.URL+"/"); err != nil {
		t.Fatal(err)
	}
	want := `POST /get-online-features application/json {"entities":{"driver_id":[7]},"features":["v:f"],"full_feature_names":true}`
	if got.Load() != want {
		t.Errorf("request:\n got %s\nwant %s", got.Load(), want)
	}
}

func TestFeastOnlineFeaturesHonoursContext(t *testing.T) {
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		<-r.Context().Done()
	}))
	defer srv.Close()
	f := FeastOnlineFeatures{Features: []string{"v:f"}, Entities: map[string][]any{"id": {1}}, Expected: map[string][]any{"v:f": {1}}}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := f.Run(ctx, nil, srv.URL); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: want context.Canceled, got %v", err)
	}
	if n := requests.Load(); n != 0 {
		t.Errorf("cancelled context: %d requests sent, want none", n)
	}
	ctx, cancel = context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	_, err := f.Run(ctx, nil, srv.URL)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "health: GET /health") {
		t.Errorf("deadline: want context.DeadlineExceeded at the health step, got %v", err)
	}
}

func TestFeastOnlineFeaturesInvalid(t *testing.T) {
	ok := FeastOnlineFeatures{Features: []string{"v:f"}, Entities: map[string][]any{"id": {1}}, Expected: map[string][]any{"v:f": {1}}}
	for _, u := range []string{"localhost:6566", "", "ftp://x"} {
		if _, err := ok.Run(t.Context(), nil, u); err == nil || !strings.Contains(err.Error(), "invalid Feast feature server URL") {
			t.Errorf("%q: want an invalid URL error, got %v", u, err)
		}
	}
	for name, tc := range map[string]struct {
		f    FeastOnlineFeatures
		want string
	}{
		"no features":   {FeastOnlineFeatures{Entities: ok.Entities}, "no features to request"},
		"no entities":   {FeastOnlineFeatures{Features: ok.Features}, "no entities to request"},
		"bad reference": {FeastOnlineFeatures{Features: []string{"f"}, Entities: ok.Entities}, `feature "f" is not a feature reference view:feature`},
		"ragged entities": {FeastOnlineFeatures{Features: ok.Features, Entities: map[string][]any{"a": {1}, "b": {1, 2}}},
			"entity lists are empty or of different lengths: a: 1, b: 2"},
		"missing expectation": {FeastOnlineFeatures{Features: ok.Features, Entities: ok.Entities}, "no expected values for feature v:f"},
		"short expectation": {FeastOnlineFeatures{Features: ok.Features, Entities: map[string][]any{"id": {1, 2}}, Expected: ok.Expected},
			"feature v:f: 1 expected values for 2 entity rows"},
	} {
		_, err := tc.f.Run(t.Context(), nil, "http://127.0.0.1:1")
		if err == nil || !strings.Contains(err.Error(), "feast-online-features: invalid check: "+tc.want) {
			t.Errorf("%s: want %q, got %v", name, tc.want, err)
		}
	}
}

func TestParseFeastParams(t *testing.T) {
	file := `{"rows": [
		{"driver_id": 1001, "region": "eu", "v:a": 0.5, "v:b": "x"},
		{"driver_id": 1002, "region": "us", "v:a": 1, "v:b": null},
		{"driver_id": 1003, "region": "eu", "v:a": 2},
		{"driver_id": 1003, "region": "eu", "v:a": 3}
	]}`
	read := func(p string) ([]byte, error) {
		if p == "exp.json" {
			return []byte(file), nil
		}
		return nil, &os.PathError{Op: "open", Path: p, Err: os.ErrNotExist}
	}

	f, err := ParseFeastParams(map[string]string{
		"features": " v:a , v:b,v:a ",
		"entities": "driver_id=1002, 1001 ; region=us,eu",
		"expected": "./exp.json",
	}, read)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(f.Features, ",") != "v:a,v:b" {
		t.Errorf("features = %v", f.Features)
	}
	if d := f.Entities["driver_id"]; len(d) != 2 || d[0] != int64(1002) || d[1] != int64(1001) {
		t.Errorf("driver_id = %#v", d)
	}
	if r := f.Entities["region"]; len(r) != 2 || r[0] != "us" || r[1] != "eu" {
		t.Errorf("region = %#v", r)
	}
	if a := f.Expected["v:a"]; feastFormat(a) != "[1,0.5]" {
		t.Errorf("v:a = %s", feastFormat(a))
	}
	if b := f.Expected["v:b"]; feastFormat(b) != `[null,"x"]` {
		t.Errorf("v:b = %s", feastFormat(b))
	}

	for name, tc := range map[string]struct {
		params map[string]string
		want   []string
	}{
		"nothing": {map[string]string{}, []string{"params.features: needs", "params.entities: needs", "params.expected: needs"}},
		"bad reference": {map[string]string{"features": "v:a,b", "entities": "driver_id=1", "expected": "exp.json"},
			[]string{`params.features: "b" is not a feature reference view:feature`}},
		"bad entities": {map[string]string{"features": "v:a", "entities": "driver_id", "expected": "exp.json"},
			[]string{`params.entities: "driver_id" is not join_key=value,value,...`}},
		"ragged entities": {map[string]string{"features": "v:a", "entities": "driver_id=1,2;region=eu", "expected": "exp.json"},
			[]string{"params.entities: every join key needs the same number of values"}},
		"missing file": {map[string]string{"features": "v:a", "entities": "driver_id=1001", "expected": "nope.json"},
			[]string{"params.expected: open nope.json"}},
		"entity not in the file": {map[string]string{"features": "v:a", "entities": "driver_id=1001,4242", "expected": "exp.json"},
			[]string{"exp.json: no row for driver_id=4242"}},
		"feature not in the row": {map[string]string{"features": "v:a,v:c", "entities": "driver_id=1001", "expected": "exp.json"},
			[]string{"the row of driver_id=1001 has no v:c"}},
		"two rows": {map[string]string{"features": "v:a", "entities": "driver_id=1003", "expected": "exp.json"},
			[]string{"2 rows for driver_id=1003"}},
	} {
		_, err := ParseFeastParams(tc.params, read)
		if err == nil {
			t.Errorf("%s: want an error", name)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not contain %q", name, err, w)
			}
		}
	}

	// The chapter's own params and file parse, and name the expected values of the spec's entities.
	f = feastParse(t, feastChapterParams(t))
	if got := feastFormat(f.Expected["driver_stats:conv_rate"]); got != "[0.35,0.45,0.55]" {
		t.Errorf("chapter 8 conv_rate expectations = %s", got)
	}
}

func TestFeastEqual(t *testing.T) {
	for _, tc := range []struct {
		got, want any
		eq        bool
	}{
		{0.3499999940395355, 0.35, true}, // float32 widened
		{0.351, 0.35, false},
		{"150", 150, true}, // int64 as a protobuf JSON string
		{150.0, int64(150), true},
		{1e12 + 1, 1e12, true}, // relative tolerance
		{"x", "x", true},
		{"x", "y", false},
		{"1", "x", false},
		{true, true, true},
		{nil, nil, true},
		{nil, 0, false},
		{[]any{1.0, 2.0}, []any{1, 2}, true},
	} {
		if got := feastEqual(tc.got, tc.want); got != tc.eq {
			t.Errorf("feastEqual(%#v, %#v) = %v, want %v", tc.got, tc.want, got, tc.eq)
		}
	}
}
