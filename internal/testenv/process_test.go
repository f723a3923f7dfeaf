package testenv

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A process whose exit matches restartIf is started again and stays "running"; another exit, an
// exhausted restart budget, or stop ends it for good.
func TestProcessRestartsOnAKnownCrash(t *testing.T) {
	dir := t.TempDir()
	crashes := filepath.Join(dir, "crashes")
	// Crashes with KWOK's known message the first two times, then runs until stopped.
	script := filepath.Join(dir, "flaky.sh")
	body := "#!/bin/sh\nn=$(cat " + crashes + " 2>/dev/null || echo 0)\n" +
		"if [ \"$n\" -lt 2 ]; then echo $((n+1)) > " + crashes + "; echo 'fatal error: concurrent map writes'; echo 'github.com/wzshiming/easycel@v0.6.0/types.go:137'; exit 2; fi\n" +
		"echo serving; exec sleep 60\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	p, err := startProcess("flaky", script, nil, os.Environ(), dir, nil, kwokKnownCrash)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(p.tail(5), "serving") {
		if exited, err := p.exited(); exited {
			t.Fatalf("exited although its crash is known: %v\n%s", err, p.tail(20))
		}
		if time.Now().After(deadline) {
			t.Fatalf("not serving after 20s:\n%s", p.tail(20))
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.mu.Lock()
	restarts := p.restarts
	p.mu.Unlock()
	if restarts != 2 || !strings.Contains(p.tail(20), "+ restarted (2 of at most 5)") {
		t.Fatalf("restarts %d, want 2:\n%s", restarts, p.tail(20))
	}
	if err := p.stop(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	if exited, _ := p.exited(); !exited {
		t.Fatal("still running after stop")
	}

	// Any other exit is final.
	other := filepath.Join(dir, "other.sh")
	if err := os.WriteFile(other, []byte("#!/bin/sh\necho 'panic: something else'\nexit 2\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	q, err := startProcess("other", other, nil, os.Environ(), dir, nil, kwokKnownCrash)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-q.done:
	case <-time.After(10 * time.Second):
		t.Fatal("an unknown crash was restarted")
	}
	if q.restarts != 0 || q.err == nil {
		t.Fatalf("restarts %d, err %v", q.restarts, q.err)
	}
	_ = q.stop(time.Second)

	// The budget ends restarts of a process that always crashes.
	always := filepath.Join(dir, "always.sh")
	if err := os.WriteFile(always, []byte("#!/bin/sh\necho 'fatal error: concurrent map writes in easycel'\nexit 2\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	r, err := startProcess("always", always, nil, os.Environ(), dir, nil, kwokKnownCrash)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-r.done:
	case <-time.After(20 * time.Second):
		t.Fatal("restarted forever")
	}
	if r.restarts != maxRestarts {
		t.Fatalf("restarts %d, want %d", r.restarts, maxRestarts)
	}
	_ = r.stop(time.Second)
}
