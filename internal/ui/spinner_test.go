package ui

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mlops-series/mlops-series/internal/i18n"
)

// lockedBuffer is a bytes.Buffer for a writer goroutine and the test's reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// screen is what a terminal shows after out: "\r" returns to the line start, "\x1b[2K" erases
// the line, "\n" ends it. It returns the finished lines and the current one.
func screen(out string) ([]string, string) {
	var lines []string
	cur := []rune{}
	col := 0
	for i := 0; i < len(out); {
		switch {
		case strings.HasPrefix(out[i:], "\x1b[2K"):
			cur, col = cur[:0], 0
			i += len("\x1b[2K")
			continue
		case out[i] == '\r':
			col = 0
		case out[i] == '\n':
			lines = append(lines, string(cur))
			cur, col = cur[:0], 0
		default:
			r := []rune(out[i:])[0]
			if col < len(cur) {
				cur[col] = r
			} else {
				cur = append(cur, r)
			}
			col++
			i += len(string(r))
			continue
		}
		i++
	}
	return lines, string(cur)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A wave installs several releases in parallel: on a terminal the one spinner line shows every
// running step, a finished step's line is printed whole above it, and nothing is left behind.
func TestSpinnerWithParallelSteps(t *testing.T) {
	var buf lockedBuffer
	u := New(Streams{Out: &buf, Err: &buf, TTY: true}, Normal, i18n.En)
	a := u.Start("install postgresql-with-a-long-name")
	b := u.Start("install redis")
	current := func() string { _, cur := screen(buf.String()); return cur }
	waitFor(t, "a spinner line with both steps", func() bool {
		c := current()
		return strings.Contains(c, "install postgresql-with-a-long-name") && strings.Contains(c, "install redis")
	})
	u.Printf("a progress line\n")
	a.OK("postgresql installed")
	waitFor(t, "a spinner line with the step still running", func() bool {
		c := current()
		return strings.Contains(c, "install redis") && !strings.Contains(c, "postgresql")
	})
	b.OK("redis installed")
	waitFor(t, "the spinner to stop", func() bool {
		u.mu.Lock()
		defer u.mu.Unlock()
		return !u.spinning
	})
	lines, cur := screen(buf.String())
	if cur != "" {
		t.Errorf("left on the terminal: %q", cur)
	}
	if len(lines) != 3 || lines[0] != "a progress line" || !strings.HasPrefix(lines[1], " ✓ postgresql installed ") || !strings.HasPrefix(lines[2], " ✓ redis installed ") {
		t.Errorf("screen:\n%s", strings.Join(lines, "\n"))
	}
}

// With -v the Helm SDK's log and Terraform's output are shown line by line; otherwise dropped.
func TestLogWriter(t *testing.T) {
	var buf bytes.Buffer
	u := New(Streams{Out: &buf, Err: &buf}, Verbose, i18n.En)
	w := u.LogWriter("terraform")
	_, _ = w.Write([]byte("Initializing the backend...\nApply comp"))
	_, _ = w.Write([]byte("lete! Resources: 1 added.\n\n"))
	want := "   terraform: Initializing the backend...\n   terraform: Apply complete! Resources: 1 added.\n"
	if buf.String() != want {
		t.Errorf("verbose: %q, want %q", buf.String(), want)
	}
	buf.Reset()
	_, _ = New(Streams{Out: &buf, Err: &buf}, Normal, i18n.En).LogWriter("helm").Write([]byte("level=DEBUG msg=x\n"))
	if buf.Len() != 0 {
		t.Errorf("not verbose: %q", buf.String())
	}
}
