// Command mlops-series brings up, checks and documents the chapters of the series.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/go-logr/logr"
	"k8s.io/klog/v2"

	"github.com/mlops-series/mlops-series/internal/cli"
	"github.com/mlops-series/mlops-series/internal/ui"
)

func main() {
	silenceKlog()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// The run's one set of streams: stdout for data, stderr for progress, and whether it is a terminal.
	code := cli.Execute(ctx, os.Args[1:], ui.StdStreams())
	stop()
	os.Exit(code)
}

// silenceKlog keeps client-go's global log (klog) off the terminal: the CLI reports errors itself,
// and what client-go logs through a context (a port-forward's errors) goes to the CLI's output
// (shown with -v, summarised under a failing check). klog writes errors to stderr whatever its
// output is set to, unless a logger takes them.
func silenceKlog() { klog.SetLogger(logr.Discard()) }
