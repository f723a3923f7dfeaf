package nativetest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// logRecorder is a testing.TB that keeps what is logged.
type logRecorder struct {
	testing.TB
	logs []string
}

func (r *logRecorder) Logf(format string, args ...any) {
	r.logs = append(r.logs, fmt.Sprintf(format, args...))
}
func (r *logRecorder) Helper() {}

// A head whose raylet died: the failed test shows the fatal line, which a stack trace of more
// than 15 lines pushes out of the log's tail (stop 18's warm run 10).
func TestLogRayTailsNamesTheFatalLine(t *testing.T) {
	tmp := t.TempDir()
	logs := filepath.Join(tmp, "session_latest", "logs")
	if err := os.MkdirAll(logs, 0o755); err != nil {
		t.Fatal(err)
	}
	raylet := "[2026-12-02 18:31:20,001 I 1 1] (raylet) main.cc:10: starting\n" +
		"[2026-12-02 18:31:21,002 C 26830 26830] (raylet) main.cc:300: Check failed: status.ok() Failed to get the internal config\n" +
		strings.Repeat("/venv/raylet(+0x6a304a) [0x5605a457004a] frame\n", 30)
	if err := os.WriteFile(filepath.Join(logs, "raylet.err"), []byte(raylet), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "ray-head.log"), []byte("Some Ray subprocesses exited unexpectedly:\n  raylet [exit code=1]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := &logRecorder{TB: t}
	logRayTails(r, tmp)
	all := strings.Join(r.logs, "\n")
	for _, want := range []string{
		"ray start (last lines):\nSome Ray subprocesses exited unexpectedly:",
		"ray head log raylet.err (why a process ended):\n[2026-12-02 18:31:21,002 C 26830 26830] (raylet) main.cc:300: Check failed",
		"ray head log raylet.err (last lines):",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("logs lack %q:\n%s", want, all)
		}
	}
	if strings.Contains(all, "main.cc:10: starting") {
		t.Errorf("an info line was taken for a fatal one:\n%s", all)
	}
}
