package nativetest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
)

// No real Grafana can run where these tests run (AGPL-licensed, not packaged for Debian, no
// container engine). GrafanaReplay stands in for it: an HTTP server that replays answers recorded
// from Grafana's documented HTTP API (internal/check/testdata/grafana, whose README names the
// Grafana version and pages), routed as Grafana routes them. Tests that use it say so.

// GrafanaRecording is one recorded answer.
type GrafanaRecording struct {
	Request string          `json:"request"`
	Status  int             `json:"status"`
	Body    json.RawMessage `json:"body"`
}

// LoadGrafanaRecording reads internal/check/testdata/grafana/NAME.json.
func LoadGrafanaRecording(t testing.TB, name string) GrafanaRecording {
	t.Helper()
	var r GrafanaRecording
	path := loadRecording(t, "grafana", name, &r)
	if r.Status == 0 || len(r.Body) == 0 {
		t.Fatalf("%s: no status or body", path)
	}
	return r
}

// loadRecording decodes internal/check/testdata/TOOL/NAME.json into v and returns its path.
func loadRecording(t testing.TB, tool, name string, v any) string {
	t.Helper()
	path := RepoFile(t, "internal", "check", "testdata", tool, name+".json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return path
}

// GrafanaReplay serves /api/health (no login) with the recording named health, and the data
// source health route, with the right basic-auth credentials and for uid "prometheus", with the
// recording named datasource (other requests get Grafana's recorded 401 and unknown-uid answers).
func GrafanaReplay(t testing.TB, health, datasource, user, password string) *httptest.Server {
	t.Helper()
	recs := map[string]GrafanaRecording{}
	for _, name := range []string{health, datasource, "unauthorized-no-credentials", "unauthorized-wrong-password", "datasource-unknown-uid"} {
		recs[name] = LoadGrafanaRecording(t, name)
	}
	reply := func(w http.ResponseWriter, name string) {
		rec := recs[name]
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(rec.Status)
		_, _ = w.Write(rec.Body)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/health", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			t.Errorf("/api/health called with credentials: it needs none")
		}
		reply(w, health)
	})
	mux.HandleFunc("GET /api/datasources/uid/{uid}/health", func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		switch {
		case !ok:
			reply(w, "unauthorized-no-credentials")
		case u != user || p != password:
			reply(w, "unauthorized-wrong-password")
		case r.PathValue("uid") != "prometheus":
			reply(w, "datasource-unknown-uid")
		default:
			reply(w, datasource)
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}
