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
	cmd     *exec.Cmd
	logPath string
	logFile *os.File
	done    chan struct{} // closed when the process has exited
	err     error         // exit error, valid after done
}

// startProcess starts bin with args. The process is not tied to any context: it runs until
// stop, so a cancelled test context still leaves Env.Stop something to stop.
func startProcess(name, bin string, args, env []string, dir string, log io.Writer) (*process, error) {
	logPath := dir + "/" + name + ".log"
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("start %s: open log: %w", name, err)
	}
	fmt.Fprintf(f, "+ %s %s\n", bin, strings.Join(args, " "))

	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = env
	var out io.Writer = f
	if log != nil {
		out = io.MultiWriter(f, &prefixWriter{prefix: "[" + name + "] ", w: log})
	}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = 5 * time.Second // output copying must not outlive the process for long
	setProcessGroup(cmd)
	if err := cmd.Start(); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, logPath: logPath, logFile: f, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
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
	select {
	case <-p.done:
		return nil
	default:
	}
	if err := signalGroup(p.cmd, false); err != nil {
		return fmt.Errorf("stop %s: %w", p.name, err)
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(grace):
	}
	if err := signalGroup(p.cmd, true); err != nil {
		return fmt.Errorf("kill %s: %w", p.name, err)
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("kill %s: process %d did not exit", p.name, p.cmd.Process.Pid)
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
