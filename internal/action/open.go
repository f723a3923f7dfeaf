package action

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"runtime"
	"strconv"
	"strings"

	"github.com/mlops-series/mlops-series/internal/check"
	"github.com/mlops-series/mlops-series/internal/series"
)

// OpenOptions tune `open`.
type OpenOptions struct {
	// Port is the local port (default: the service's port when free on 127.0.0.1, else any free port).
	Port int
	// Browser opens the URL in the default browser.
	Browser bool
	// Ready, if set, receives the URL once the port-forward runs (tests).
	Ready func(url string)
}

// Open port-forwards a chapter's web UI to 127.0.0.1 and keeps it open until ctx ends (Ctrl-C).
func (e *Env) Open(ctx context.Context, name string, o OpenOptions) error {
	ch, entry, err := e.findOpen(name)
	if err != nil {
		return err
	}
	cl, err := e.Provisioner.Connect(ctx)
	if err != nil {
		return err
	}
	ctx = e.withLibLog(ctx)
	_, comp, err := e.Lib.ClosureComponent(ch.ID(), entry.Component)
	if err != nil {
		return fmt.Errorf("open %s: %w", name, err)
	}
	service := entry.Service
	if service == "" {
		service = entry.Component
	}
	port := o.Port
	if port == 0 && portFree(entry.Port) {
		port = entry.Port
	}
	fw, err := check.ForwardServiceOn(ctx, cl.CS, cl.REST, comp.Namespace, service, entry.Port, port)
	if err != nil {
		return fmt.Errorf("open %s: %w (is %s up? `mlops-series status %s`)", name, err, ch.ID(), ch.ID())
	}
	defer fw.Close()
	url := fw.URL() + entry.Path
	e.UI.Printf("%s of %s: %s (via %s) · Ctrl-C to stop\n", entry.Name, ch.ID(), url, fw.Via)
	fmt.Fprintln(e.UI.Out, url)
	if o.Browser {
		if err := browse(url); err != nil {
			e.UI.Printf("could not open a browser (%v): open %s yourself\n", err, url)
		}
	}
	if o.Ready != nil {
		o.Ready(url)
	}
	<-ctx.Done()
	return nil
}

func (e *Env) findOpen(name string) (*series.Chapter, series.Open, error) {
	var names []string
	for _, id := range e.Lib.IDs() {
		ch := e.Lib.Chapters[id]
		for _, o := range ch.Open {
			if o.Name == name {
				return ch, o, nil
			}
			names = append(names, o.Name)
		}
	}
	return nil, series.Open{}, fmt.Errorf("nothing to open named %q; known: %s", name, strings.Join(names, ", "))
}

func portFree(port int) bool {
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return false
	}
	_ = l.Close()
	return true
}

func browse(url string) error {
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "darwin":
		cmd = exec.Command("open", url)
	case "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", url)
	default:
		cmd = exec.Command("xdg-open", url)
	}
	return cmd.Start()
}
