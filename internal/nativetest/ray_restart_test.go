package nativetest

import (
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestRayReplacesAHeadThatEndsBeforeReady kills the first head's raylet as it starts (what Ray
// 2.60's raylet does to itself when its agents' port files come later than 30 s, on a machine
// starved of CPU): Ray logs that head, starts a second one and returns it ready, with nothing of
// the first left running.
func TestRayReplacesAHeadThatEndsBeforeReady(t *testing.T) {
	var first string
	killed := make(chan string, 1)
	// The hook runs before Ray looks at the head: the raylet is dead before any readiness test.
	rayLaunched = func(attempt int, tmp string) {
		if attempt != 1 {
			return
		}
		first = tmp
		needle := []byte(rayMarker + "=" + tmp + "\x00")
		deadline := time.Now().Add(startWait)
		for time.Now().Before(deadline) {
			for _, pid := range markedPIDs(needle) {
				comm, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "comm"))
				if strings.TrimSpace(string(comm)) == "raylet" && syscall.Kill(pid, syscall.SIGKILL) == nil {
					killed <- strconv.Itoa(pid)
					return
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
		killed <- ""
	}
	t.Cleanup(func() { rayLaunched = nil })
	rec := &logRecorder{TB: t}
	head := Ray(rec)
	if pid := <-killed; pid == "" {
		t.Fatal("the first head's raylet never appeared")
	} else {
		t.Logf("killed the first head's raylet (pid %s)", pid)
	}
	if head.TempDir == first {
		t.Fatalf("Ray returned the head whose raylet was killed (%s)", first)
	}
	if left := markedPIDs([]byte(rayMarker + "=" + first + "\x00")); len(left) > 0 {
		t.Errorf("processes of the first head still run: %v", left)
	}
	logs := strings.Join(rec.logs, "\n")
	if !strings.Contains(logs, "ray head 1 of 3 ended before it was ready") {
		t.Errorf("the replaced head was not logged:\n%s", logs)
	}
	resp, err := http.Get(head.URL + "/api/jobs/")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the second head's job API answered %s", resp.Status)
	}
}
