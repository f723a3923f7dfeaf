package testenv

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// process is one control-plane binary running in its own process group, its output in a log
// file (and, when Options.Log is set, copied there line by line with a prefix).
type process struct {
	name    string
	logPath string
	logFile *os.File
	done    chan struct{} // closed when the process has exited (and is not restarted)
	err     error         // exit error, valid after done

	// restartIf, when set, is asked with the log's last lines after the process exited on its
	// own: true starts it again (at most maxRestarts times), and done stays open.
	restartIf func(logTail string) bool
	newCmd    func() *exec.Cmd

	mu       sync.Mutex // guards cmd, stopping and restarts
	cmd      *exec.Cmd
	stopping bool
	restarts int
}

// maxRestarts bounds the restarts of a process with restartIf.
const maxRestarts = 5

// startProcess starts bin with args. The process is not tied to any context: it runs until
// stop, so a cancelled test context still leaves Env.Stop something to stop. restartIf (nil: never)
// decides from the log's last lines whether an exit the process made on its own is restarted.
func startProcess(name, bin string, args, env []string, dir string, log io.Writer, restartIf func(logTail string) bool) (*process, error) {
	logPath := dir + "/" + name + ".log"
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("start %s: open log: %w", name, err)
	}
	fmt.Fprintf(f, "+ %s %s\n", bin, strings.Join(args, " "))

	var out io.Writer = f
	if log != nil {
		out = io.MultiWriter(f, &prefixWriter{prefix: "[" + name + "] ", w: log})
	}
	newCmd := func() *exec.Cmd {
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		cmd.Env = env
		cmd.Stdout, cmd.Stderr = out, out
		cmd.WaitDelay = 5 * time.Second // output copying must not outlive the process for long
		setProcessGroup(cmd)
		return cmd
	}
	cmd := newCmd()
	if err := cmd.Start(); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, newCmd: newCmd, restartIf: restartIf, logPath: logPath, logFile: f, done: make(chan struct{})}
	go p.wait(cmd)
	return p, nil
}

// wait waits for cmd, then either restarts the process (restartIf says so, it was not stopped,
// restarts remain) or marks it exited.
func (p *process) wait(cmd *exec.Cmd) {
	for {
		err := cmd.Wait()
		p.mu.Lock()
		again := p.restartIf != nil && !p.stopping && p.restarts < maxRestarts && p.restartIf(p.tail(40))
		if again {
			next := p.newCmd()
			if serr := next.Start(); serr == nil {
				p.restarts++
				p.cmd, cmd = next, next
				fmt.Fprintf(p.logFile, "+ restarted (%d of at most %d) after: %v\n", p.restarts, maxRestarts, err)
				p.mu.Unlock()
				continue
			}
		}
		p.mu.Unlock()
		p.err = err
		close(p.done)
		return
	}
}

// exited reports whether the process has exited, and why.
func (p *process) exited() (bool, error) {
	select {
	case <-p.done:
		if p.err == nil {
			return true, fmt.Errorf("%s exited", p.name)
		}
		return true, fmt.Errorf("%s exited: %w", p.name, p.err)
	default:
		return false, nil
	}
}

// stop sends SIGTERM to the process group, then SIGKILL after grace, and waits.
func (p *process) stop(grace time.Duration) error {
	defer p.logFile.Close()
	p.mu.Lock()
	p.stopping = true
	cmd := p.cmd
	p.mu.Unlock()
	select {
	case <-p.done:
		return nil
	default:
	}
	if err := signalGroup(cmd, false); err != nil {
		return fmt.Errorf("stop %s: %w", p.name, err)
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(grace):
	}
	if err := signalGroup(cmd, true); err != nil {
		return fmt.Errorf("kill %s: %w", p.name, err)
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("kill %s: process %d did not exit", p.name, cmd.Process.Pid)
	}
}

// tail returns the last n lines of the process's log.
func (p *process) tail(n int) string {
	return tailFile(p.logPath, n)
}

func tailFile(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(read %s: %v)", path, err)
	}
	data = bytes.TrimRight(data, "\n")
	lines := bytes.Split(data, []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// withTail appends the tail of p's log to err.
func withTail(err error, p *process) error {
	if p == nil {
		return err
	}
	return fmt.Errorf("%w\n--- last lines of the %s log ---\n%s", err, p.name, p.tail(40))
}

// lockedWriter serialises the writes of several processes' prefixWriters to one destination.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (lw *lockedWriter) Write(b []byte) (int, error) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	return lw.w.Write(b)
}

// prefixWriter writes complete lines to w, each with a prefix, in one Write call per chunk.
type prefixWriter struct {
	prefix string
	w      io.Writer
	buf    []byte
}

func (pw *prefixWriter) Write(b []byte) (int, error) {
	pw.buf = append(pw.buf, b...)
	var out bytes.Buffer
	for {
		i := bytes.IndexByte(pw.buf, '\n')
		if i < 0 {
			break
		}
		out.WriteString(pw.prefix)
		out.Write(pw.buf[:i+1])
		pw.buf = pw.buf[i+1:]
	}
	if out.Len() == 0 {
		return len(b), nil
	}
	// A failing Options.Log must not stop the copy into the log file: ignore its errors.
	_, _ = pw.w.Write(out.Bytes())
	return len(b), nil
}
