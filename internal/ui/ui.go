// Package ui prints progress: one line per step (✓ ✗ • ↷), a spinner only on a terminal, NO_COLOR
// respected, -q and -v. Progress goes to stderr; program output (list, status -o json) to stdout.
package ui

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-isatty"
)

// Level is the verbosity.
type Level int

// Verbosity levels.
const (
	Quiet Level = iota - 1
	Normal
	Verbose
)

// UI writes progress to Err and data to Out.
type UI struct {
	Out, Err io.Writer
	Level    Level
	Color    bool
	TTY      bool
	// Now is the clock (tests replace it to get stable output).
	Now func() time.Time
	mu  sync.Mutex
}

// New returns a UI on the process's stdout/stderr, detecting a terminal and NO_COLOR.
func New(level Level) *UI {
	tty := false
	if f, ok := any(os.Stderr).(*os.File); ok {
		tty = isatty.IsTerminal(f.Fd())
	}
	_, noColor := os.LookupEnv("NO_COLOR")
	return &UI{Out: os.Stdout, Err: os.Stderr, Level: level, TTY: tty, Color: tty && !noColor && os.Getenv("TERM") != "dumb", Now: time.Now}
}

func (u *UI) now() time.Time {
	if u.Now == nil {
		return time.Now()
	}
	return u.Now()
}

const (
	green  = "\x1b[32m"
	red    = "\x1b[31m"
	yellow = "\x1b[33m"
	dim    = "\x1b[2m"
	reset  = "\x1b[0m"
)

func (u *UI) paint(color, s string) string {
	if !u.Color {
		return s
	}
	return color + s + reset
}

// Printf writes a progress line (suppressed by -q).
func (u *UI) Printf(format string, a ...any) {
	if u.Level < Normal {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	fmt.Fprintf(u.Err, format, a...)
}

// Debugf writes only with -v.
func (u *UI) Debugf(format string, a ...any) {
	if u.Level < Verbose {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	fmt.Fprintf(u.Err, "   "+u.paint(dim, format)+"\n", a...)
}

// Errorf always writes (even with -q).
func (u *UI) Errorf(format string, a ...any) {
	u.mu.Lock()
	defer u.mu.Unlock()
	fmt.Fprintf(u.Err, format, a...)
}

// Step is a running step.
type Step struct {
	u     *UI
	text  string
	start time.Time
	stop  chan struct{}
	done  sync.WaitGroup
	once  sync.Once
}

// Start begins a step: on a terminal a spinner runs on its line; elsewhere a "•" line is printed
// so that long waits in CI logs show what is going on.
func (u *UI) Start(text string) *Step {
	s := &Step{u: u, text: text, start: u.now(), stop: make(chan struct{})}
	if u.Level < Normal {
		return s
	}
	if u.TTY {
		s.done.Add(1)
		go s.spin()
	} else {
		u.Printf(" • %s\n", text)
	}
	return s
}

func (s *Step) spin() {
	defer s.done.Done()
	frames := []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}
	t := time.NewTicker(120 * time.Millisecond)
	defer t.Stop()
	for i := 0; ; i++ {
		s.u.mu.Lock()
		fmt.Fprintf(s.u.Err, "\r %s %s %s", frames[i%len(frames)], s.text, s.u.paint(dim, fmtDur(s.u.now().Sub(s.start))))
		s.u.mu.Unlock()
		select {
		case <-s.stop:
			s.u.mu.Lock()
			fmt.Fprint(s.u.Err, "\r\x1b[2K")
			s.u.mu.Unlock()
			return
		case <-t.C:
		}
	}
}

func (s *Step) end(mark, color, text string) {
	s.once.Do(func() {
		close(s.stop)
		s.done.Wait()
		if text == "" {
			text = s.text
		}
		d := s.u.now().Sub(s.start)
		s.u.line(s.u.paint(color, mark), text, d)
	})
}

// Elapsed is the time since the step started.
func (s *Step) Elapsed() time.Duration { return s.u.now().Sub(s.start) }

// OK ends the step successfully, with a final text (empty: the start text).
func (s *Step) OK(text string) { s.end("✓", green, text) }

// Skip ends the step as skipped/unchanged.
func (s *Step) Skip(text string) { s.end("↷", yellow, text) }

// Fail ends the step as failed; details are printed indented below it.
func (s *Step) Fail(text, details string) {
	s.end("✗", red, text)
	if details = strings.TrimRight(details, "\n"); details != "" {
		s.u.Errorf("%s\n", indent(details, "   "))
	}
}

// Line prints a finished step line directly.
func (u *UI) Line(ok bool, text string, d time.Duration) {
	if ok {
		u.line(u.paint(green, "✓"), text, d)
	} else {
		u.line(u.paint(red, "✗"), text, d)
	}
}

func (u *UI) line(mark, text string, d time.Duration) {
	if u.Level < Normal && !strings.Contains(mark, "✗") {
		return
	}
	pad := 72 - len([]rune(text))
	if pad < 1 {
		pad = 1
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	fmt.Fprintf(u.Err, " %s %s%s%s\n", mark, text, strings.Repeat(" ", pad), fmtDur(d))
}

func fmtDur(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	return fmt.Sprintf("%.1fs", d.Seconds())
}

func indent(s, pre string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = pre + l
	}
	return strings.Join(lines, "\n")
}
