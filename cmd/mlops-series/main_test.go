package main

import (
	"errors"
	"io"
	"os"
	"testing"

	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/klog/v2"
)

// What client-go logs globally never reaches the terminal: before, klog wrote error lines such as
// `E1201 ... portforward.go:549] "An error occurred forwarding" ...` to stderr although its
// output was discarded.
func TestKlogStaysOffStderr(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := os.Stderr
	os.Stderr = w
	t.Cleanup(func() { os.Stderr = stderr; klog.ClearLogger() })

	silenceKlog()
	utilruntime.HandleError(errors.New(`error forwarding port 5000 to pod mlflow-0, uid : connection refused`))
	klog.ErrorS(errors.New("boom"), "An error occurred forwarding", "localPort", 5000)
	klog.Error("plain error")
	klog.Info("plain info")
	klog.Flush()

	os.Stderr = stderr
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) > 0 {
		t.Fatalf("klog wrote to stderr:\n%s", out)
	}
}
