// Command mlops-series brings up, checks and documents the chapters of the series.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/mlops-series/mlops-series/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Execute(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
