package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// stoppedNode makes, in the real engine, a container that kind takes for the control-plane node
// of cluster name (kind finds nodes by these labels) and leaves it created, not running: what a
// kind node is after the machine restarted. Removed when the test ends.
func stoppedNode(t *testing.T, name string) string {
	t.Helper()
	if err := exec.Command("docker", "image", "inspect", "mlops-series/probe:busybox").Run(); err != nil {
		if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
			t.Fatalf("docker does not answer or lacks mlops-series/probe:busybox (%v); CI=true, so this is a failure, not a skip (hack/kind/docker-up.sh builds it)", err)
		}
		t.Skip("docker does not answer or lacks mlops-series/probe:busybox (hack/kind/docker-up.sh builds it)")
	}
	node := name + "-control-plane"
	out, err := exec.Command("docker", "create", "--name", node,
		"--label", "io.x-k8s.kind.cluster="+name, "--label", "io.x-k8s.kind.role=control-plane",
		"mlops-series/probe:busybox", "true").CombinedOutput()
	if err != nil {
		t.Fatalf("docker create: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("docker", "rm", "-f", node).Run() })
	return node
}

// A kind cluster whose node container is not running: up (Ensure), the commands that connect,
// and the image commands (Nodes) stop with the error that says how to start it, instead of an
// error from inside the node; a container gone meanwhile counts as not running.
func TestStoppedNodeSaysHowToStartIt(t *testing.T) {
	name := fmt.Sprintf("mlops-stopped-%d", time.Now().UnixNano()%1_000_000)
	node := stoppedNode(t, name)
	k := &Kind{ClusterName: name, StateDir: t.TempDir()}
	ctx := context.Background()
	want := []string{"kind cluster " + name + " exists but its node container " + node + " is not running",
		"`docker start " + node + "`", "`docker rm -f " + node + "`"}

	_, exists, err := k.Nodes(ctx)
	var stopped *NodeStoppedError
	if !exists || !errors.As(err, &stopped) || len(stopped.Nodes) != 1 || stopped.Nodes[0] != node {
		t.Fatalf("Nodes: exists %v, err %v; want a NodeStoppedError for %s", exists, err, node)
	}
	for _, call := range []struct {
		name string
		f    func() error
	}{
		{"Nodes", func() error { _, _, err := k.Nodes(ctx); return err }},
		{"Connect", func() error { _, err := k.Connect(ctx); return err }},
		{"Ensure", func() error { _, err := k.Ensure(ctx); return err }},
		{"Delete", func() error { return k.Delete(ctx) }},
	} {
		err := call.f()
		if err == nil {
			t.Errorf("%s: no error", call.name)
			continue
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error lacks %q: %v", call.name, w, err)
			}
		}
	}
	// Nothing was created or deleted: the node container is still there, still stopped.
	eng, err := k.ImageEngine(ctx)
	if err != nil {
		t.Fatal(err)
	}
	running, err := eng.Running(ctx, node, name+"-gone")
	if err != nil {
		t.Fatalf("Running: %v", err)
	}
	if running[node] || running[name+"-gone"] {
		t.Errorf("Running = %v, want both false", running)
	}
	if out, err := exec.Command("docker", "inspect", "--format", "{{.State.Status}}", node).Output(); err != nil || strings.TrimSpace(string(out)) != "created" {
		t.Errorf("the node container is %q (%v), want it left as it was (created)", out, err)
	}
}
