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
// the first left running. The second head's raylet starts at nice -5 when the test runs as root
// (CI) and at 0 otherwise, and every process of the head is back at 0 once it is ready.
func TestRayReplacesAHeadThatEndsBeforeReady(t *testing.T) {
	var first string
	killed := make(chan string, 1)
	startNice := make(chan string, 1)
	// The hook runs before Ray looks at the head: the raylet is dead before any readiness test.
	rayLaunched = func(attempt int, tmp string) {
		if attempt == 2 {
			startNice <- rayletNice(tmp)
			return
		}
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
	want := "0"
	if os.Geteuid() == 0 {
		want = strconv.Itoa(rayStartNice)
	}
	if got := <-startNice; got != want {
		t.Errorf("the second head's raylet started at nice %q, want %s", got, want)
	}
	for _, pid := range markedPIDs([]byte(rayMarker + "=" + head.TempDir + "\x00")) {
		if n := procNice(pid); n != "0" {
			t.Errorf("process %d of the ready head runs at nice %s, want 0", pid, n)
		}
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

// rayletNice waits (up to startWait) for the raylet of the head whose temp folder is tmp and
// returns its niceness ("" if it never appeared).
func rayletNice(tmp string) string {
	needle := []byte(rayMarker + "=" + tmp + "\x00")
	for deadline := time.Now().Add(startWait); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		for _, pid := range markedPIDs(needle) {
			comm, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "comm"))
			if strings.TrimSpace(string(comm)) == "raylet" {
				return procNice(pid)
			}
		}
	}
	return ""
}

// procNice is a process's niceness (field 19 of /proc/PID/stat), or "" when it is gone.
func procNice(pid int) string {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return ""
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 17 {
		return ""
	}
	return fields[16]
}
