package ui

import (
	"fmt"
	"strings"
	"sync"

	"github.com/go-logr/logr"
)

// maxLibLines bounds what a LibLog keeps (the first lines explain, the rest repeat them).
const maxLibLines = 50

// LibLog takes in the log of the libraries the CLI uses (client-go, through klog) instead of
// letting them write raw lines to the terminal: each line is printed, dimmed, with -v, and kept
// otherwise, so that the step it belongs to can summarise it when it fails (see LogSummary).
type LibLog struct {
	u       *UI
	mu      sync.Mutex
	lines   []string
	dropped int
}

// LibLog returns a new, empty library log on u (u may be nil: the lines are only kept).
func (u *UI) LibLog() *LibLog { return &LibLog{u: u} }

// Logger is the logr.Logger that feeds l: for klog.SetLogger, or klog.NewContext for the code
// that logs through its context (client-go's port-forward).
func (l *LibLog) Logger() logr.Logger { return logr.New(&libSink{log: l}) }

// Lines returns the lines kept so far.
func (l *LibLog) Lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := append([]string(nil), l.lines...)
	if l.dropped > 0 {
		out = append(out, fmt.Sprintf("(%d more lines)", l.dropped))
	}
	return out
}

func (l *LibLog) add(line string) {
	if l.u != nil {
		l.u.Debugf("client-go: %s", line)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.lines) < maxLibLines {
		l.lines = append(l.lines, line)
	} else {
		l.dropped++
	}
}

// LogSummary condenses library log lines into one line for a failed step: the first line (the
// later ones mostly repeat it) and how many more there were. Empty when there are none.
func LogSummary(lines []string) string {
	if len(lines) == 0 {
		return ""
	}
	first := lines[0]
	if r := []rune(first); len(r) > 240 {
		first = string(r[:240]) + "…"
	}
	s := "client-go: " + first
	if n := len(lines) - 1; n > 0 {
		s += fmt.Sprintf(" (+%d more; -v shows them)", n)
	}
	return s
}

// libSink is the logr.LogSink of a LibLog. Info lines of verbosity 0 and every error are taken;
// klog's V(n) detail is not.
type libSink struct {
	log    *LibLog
	values []any
}

func (s *libSink) Init(logr.RuntimeInfo)  {}
func (s *libSink) Enabled(level int) bool { return level <= 0 }

func (s *libSink) Info(_ int, msg string, kv ...any) { s.log.add(s.format(msg, nil, kv)) }

func (s *libSink) Error(err error, msg string, kv ...any) { s.log.add(s.format(msg, err, kv)) }

func (s *libSink) WithValues(kv ...any) logr.LogSink {
	c := *s
	c.values = append(append([]any(nil), s.values...), kv...)
	return &c
}

// WithName keeps the sink as it is: logger names ("UnhandledError") say nothing to a reader.
func (s *libSink) WithName(string) logr.LogSink { return s }

// format writes "msg: err (key=value ...)" on one line.
func (s *libSink) format(msg string, err error, kv []any) string {
	var b strings.Builder
	b.WriteString(strings.TrimSpace(msg))
	if err != nil {
		if b.Len() > 0 {
			b.WriteString(": ")
		}
		b.WriteString(err.Error())
	}
	all := append(append([]any(nil), s.values...), kv...)
	if len(all) > 0 {
		b.WriteString(" (")
		for i := 0; i < len(all); i += 2 {
			if i > 0 {
				b.WriteByte(' ')
			}
			if i+1 < len(all) {
				fmt.Fprintf(&b, "%v=%v", all[i], all[i+1])
			} else {
				fmt.Fprintf(&b, "%v", all[i])
			}
		}
		b.WriteByte(')')
	}
	return strings.Join(strings.Fields(b.String()), " ")
}
