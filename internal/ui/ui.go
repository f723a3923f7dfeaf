// Package ui prints progress: one line per step (✓ ✗ • ↷), a spinner only on a terminal, NO_COLOR
// respected, -q and -v. Progress goes to stderr; program output (list, status -o json) to stdout.
package ui

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-isatty"

	"github.com/mlops-series/mlops-series/internal/i18n"
)

// Level is the verbosity.
type Level int

// Verbosity levels.
const (
	Quiet Level = iota - 1
	Normal
	Verbose
)

// Streams are a run's output streams: Out for program output (data), Err for progress and logs.
// main builds them once (StdStreams); tests give buffers.
type Streams struct {
	Out, Err io.Writer
	// TTY says Err is a terminal: steps show a spinner, redrawn in place. Color says colours are
	// wanted there too.
	TTY, Color bool
	// Lang is the language the locale environment asks for (empty: English); --lang overrides it.
	Lang i18n.Lang
}

// StdStreams are the process's stdout and stderr: a spinner when stderr is a terminal, colours
// unless NO_COLOR is set or TERM is dumb, the language of LC_ALL, LC_MESSAGES or LANG.
func StdStreams() Streams {
	tty := isatty.IsTerminal(os.Stderr.Fd())
	_, noColor := os.LookupEnv("NO_COLOR")
	return Streams{Out: os.Stdout, Err: os.Stderr, TTY: tty, Color: tty && !noColor && os.Getenv("TERM") != "dumb",
		Lang: i18n.FromEnv(os.Getenv)}
}

// UI writes progress to Err and data to Out. One UI serves a whole run: steps may run in
// parallel (a wave of releases), and on a terminal one spinner line shows all that are running.
type UI struct {
	Out, Err io.Writer
	Level    Level
	Color    bool
	TTY      bool
	// Lang is the language of what the reader is told (empty: English).
	Lang i18n.Lang
	// Now is the clock (tests replace it to get stable output).
	Now func() time.Time
	mu  sync.Mutex
	// active are the running steps, in start order; spinning says the spinner goroutine runs;
	// drawn says its line is on the terminal now (to be cleared before any other output).
	active   []*Step
	spinning bool
	drawn    bool
}

// New returns the UI of a run on s, speaking lang.
func New(s Streams, level Level, lang i18n.Lang) *UI {
	return &UI{Out: s.Out, Err: s.Err, Level: level, TTY: s.TTY, Color: s.Color, Lang: lang, Now: time.Now}
}

// T is the catalog's message key with args, in the run's language.
func (u *UI) T(key i18n.Key, args ...any) string { return i18n.T(key, args...).In(u.Lang) }

// Say writes a progress line from the catalog (suppressed by -q).
func (u *UI) Say(key i18n.Key, args ...any) { u.Printf("%s", u.T(key, args...)) }

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
	u.clearSpinner()
	fmt.Fprintf(u.Err, format, a...)
}

// Debugf writes only with -v.
func (u *UI) Debugf(format string, a ...any) {
	if u.Level < Verbose {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	u.clearSpinner()
	fmt.Fprintf(u.Err, "   "+u.paint(dim, format)+"\n", a...)
}

// Errorf always writes (even with -q).
func (u *UI) Errorf(format string, a ...any) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.clearSpinner()
	fmt.Fprintf(u.Err, format, a...)
}

// Step is a running step.
type Step struct {
	u     *UI
	text  string
	start time.Time
	once  sync.Once
}

// spinnerTick is how often the spinner line is redrawn.
const spinnerTick = 120 * time.Millisecond

// Start begins a step: on a terminal the spinner line shows it (with the other running steps);
// elsewhere a "•" line is printed so that long waits in CI logs show what is going on.
func (u *UI) Start(text string) *Step {
	s := &Step{u: u, text: text, start: u.now()}
	if u.Level < Normal {
		return s
	}
	if !u.TTY {
		u.Printf(" • %s\n", text)
		return s
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	u.active = append(u.active, s)
	if !u.spinning {
		u.spinning = true
		go u.spin()
	}
	return s
}

// spin redraws the spinner line until no step runs.
func (u *UI) spin() {
	frames := []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}
	t := time.NewTicker(spinnerTick)
	defer t.Stop()
	for i := 0; ; i++ {
		u.mu.Lock()
		if len(u.active) == 0 {
			u.clearSpinner()
			u.spinning = false
			u.mu.Unlock()
			return
		}
		texts := make([]string, len(u.active))
		for j, s := range u.active {
			texts[j] = s.text
		}
		// The oldest running step's time: how long this wait has lasted.
		d := u.now().Sub(u.active[0].start)
		fmt.Fprintf(u.Err, "\r\x1b[2K %s %s %s", frames[i%len(frames)], strings.Join(texts, " · "), u.paint(dim, fmtDur(d)))
		u.drawn = true
		u.mu.Unlock()
		<-t.C
	}
}

// clearSpinner erases the spinner line, if drawn, so that other output starts on a clean line;
// the next tick draws it again below. The caller holds u.mu.
func (u *UI) clearSpinner() {
	if u.drawn {
		fmt.Fprint(u.Err, "\r\x1b[2K")
		u.drawn = false
	}
}

func (s *Step) end(mark, color, text string) {
	s.once.Do(func() {
		u := s.u
		u.mu.Lock()
		for i, a := range u.active {
			if a == s {
				u.active = append(u.active[:i:i], u.active[i+1:]...)
				break
			}
		}
		u.mu.Unlock()
		if text == "" {
			text = s.text
		}
		u.line(u.paint(color, mark), text, u.now().Sub(s.start))
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
	pad := max(72-Width(text), 1)
	u.mu.Lock()
	defer u.mu.Unlock()
	u.clearSpinner()
	fmt.Fprintf(u.Err, " %s %s%s%s\n", mark, text, strings.Repeat(" ", pad), fmtDur(d))
}

// Width is how many terminal columns s takes: Hangul, CJK and full-width forms take two.
func Width(s string) int {
	n := 0
	for _, r := range s {
		n++
		if wide(r) {
			n++
		}
	}
	return n
}

func wide(r rune) bool {
	return r >= 0x1100 && r <= 0x115F || r >= 0x2E80 && r <= 0xA4CF || r >= 0xAC00 && r <= 0xD7A3 ||
		r >= 0xF900 && r <= 0xFAFF || r >= 0xFE30 && r <= 0xFE4F || r >= 0xFF00 && r <= 0xFF60 || r >= 0xFFE0 && r <= 0xFFE6
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

// LogWriter returns a writer for a library's or a tool's own log (the Helm SDK's, Terraform's
// output): with -v each line is shown dimmed, prefixed with name; otherwise it is dropped.
func (u *UI) LogWriter(name string) io.Writer {
	if u.Level < Verbose {
		return io.Discard
	}
	return &logWriter{u: u, name: name}
}

// logWriter splits what it is given into lines for Debugf; a partial line waits for its end.
type logWriter struct {
	u    *UI
	name string
	mu   sync.Mutex
	buf  []byte
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		if line := strings.TrimRight(string(w.buf[:i]), "\r "); line != "" {
			w.u.Debugf("%s: %s", w.name, line)
		}
		w.buf = w.buf[i+1:]
	}
	return len(p), nil
}
