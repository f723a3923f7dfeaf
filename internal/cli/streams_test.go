package cli

import (
	"bytes"
	"testing"

	"github.com/mlops-series/mlops-series/internal/cluster"
	"github.com/mlops-series/mlops-series/internal/ui"
)

// One set of streams, built by main, and one UI per run: the env of every action and the
// provisioner's progress share it, and it is a terminal's when the streams say so (a test can ask
// for one). With -v Terraform's output goes to that UI.
func TestOneUIPerRun(t *testing.T) {
	var out, errw bytes.Buffer
	g := &Globals{Streams: ui.Streams{Out: &out, Err: &errw, TTY: true}, Verbose: true, Provisioner: "terraform", Output: "text"}
	e1, err := g.env()
	if err != nil {
		t.Fatal(err)
	}
	e2, err := g.envFor("chapter-1")
	if err != nil {
		t.Fatal(err)
	}
	if e1.UI != e2.UI || e1.UI != g.ui() {
		t.Fatal("a run made more than one UI")
	}
	if !e1.UI.TTY || e1.UI.Out != &out || e1.UI.Err != &errw || e1.UI.Level != ui.Verbose {
		t.Fatalf("UI %+v does not follow the run's streams and flags", e1.UI)
	}
	tf, ok := e1.Provisioner.(*cluster.Terraform)
	if !ok {
		t.Fatalf("provisioner %T, want terraform", e1.Provisioner)
	}
	if _, err := tf.Stdout.Write([]byte("Apply complete!\n")); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(errw.Bytes(), []byte("terraform: Apply complete!")) {
		t.Errorf("terraform's output with -v: %q", errw.String())
	}
}
