package nativetest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// debianInstallHint is what to run when a Debian-packaged tool is missing.
const debianInstallHint = "run `bash hack/install-debian.sh` (apt-get installs prometheus and prometheus-pushgateway)"

// DebianTool returns the path of a program installed from a Debian package (/usr/bin/NAME, or NAME
// on PATH), skipping (or, under CI=true, failing) t without it.
func DebianTool(t testing.TB, name string) string {
	t.Helper()
	SkipShort(t)
	for _, p := range []string{filepath.Join("/usr/bin", name), name} {
		if found, err := exec.LookPath(p); err == nil {
			return found
		}
	}
	msg := fmt.Sprintf("%s not found: %s", name, debianInstallHint)
	if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
		t.Fatalf("%s; CI=true, so this is a failure, not a skip", msg)
	}
	t.Skip(msg)
	return ""
}

// Prometheus starts Debian's Prometheus server (2.42; its /api/v1 query API is the one of the 3.x
// server the chart runs) on a free 127.0.0.1 port with its database in a temp folder, and waits
// until /-/ready answers. It scrapes every second: itself as job "prometheus", then the jobs of
// scrapeConfigYAML, the YAML list that goes under scrape_configs: (empty for none), such as
// `- {job_name: pushgateway, honor_labels: true, static_configs: [{targets: ["127.0.0.1:9091"]}]}`.
// The server is stopped in t.Cleanup; its log is Server.Log.
func Prometheus(t testing.TB, scrapeConfigYAML string) *Server {
	t.Helper()
	bin := DebianTool(t, "prometheus")
	dir := t.TempDir()
	port := FreePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n")
	fmt.Fprintf(&cfg, "scrape_configs:\n  - job_name: prometheus\n    static_configs:\n      - targets: [%q]\n", addr)
	if s := strings.TrimRight(scrapeConfigYAML, "\n \t"); strings.TrimSpace(s) != "" {
		for _, line := range strings.Split(s, "\n") {
			cfg.WriteString("  " + line + "\n")
		}
	}
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	base := "http://" + addr
	s := Start(t, "prometheus", dir, base+"/-/ready", nil,
		bin,
		"--config.file="+cfgPath,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--storage.tsdb.retention.time=1h",
		"--web.listen-address="+addr)
	s.URL, s.Port = base, port
	return s
}

// Pushgateway starts Debian's Pushgateway (1.5) on a free 127.0.0.1 port and waits until /-/ready
// answers. It is stopped in t.Cleanup. Debian's build persists to /var/lib/prometheus/pushgateway.data
// by default, which would carry metrics from one test (and one CI run) to the next: its persistence
// file goes to the test's temp folder instead.
func Pushgateway(t testing.TB) *Server {
	t.Helper()
	bin := DebianTool(t, "prometheus-pushgateway")
	dir := t.TempDir()
	port := FreePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	base := "http://" + addr
	s := Start(t, "pushgateway", dir, base+"/-/ready", nil, bin, "--web.listen-address="+addr,
		"--persistence.file="+filepath.Join(dir, "pushgateway.data"))
	s.URL, s.Port = base, port
	return s
}
