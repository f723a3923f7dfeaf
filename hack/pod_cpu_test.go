package hack

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
)

// hack/kind/pod-cpu.py sums, per node container and per pod, the CPU time its cgroups used while
// the command ran. Here on a cgroup v1 tree of its own (a kind node container with the systemd
// driver's pod folders) whose counters the command raises: only the increases count, and a pod
// whose folder goes away keeps what it used before.
func TestPodCPU(t *testing.T) {
	root := t.TempDir()
	node := "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	slice := filepath.Join(root, node, "kubelet.slice", "kubelet-kubepods.slice", "kubelet-kubepods-burstable.slice")
	podA := filepath.Join(slice, "kubelet-kubepods-burstable-pod11111111_2222_3333_4444_555555555555.slice")
	podB := filepath.Join(slice, "kubelet-kubepods-burstable-pod66666666_7777_8888_9999_000000000000.slice")
	set := func(dir, ns string) string {
		return "mkdir -p " + dir + " && echo " + ns + " > " + filepath.Join(dir, "cpuacct.usage")
	}
	for _, d := range []string{filepath.Join(root, node), slice, podA, podB} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "cpuacct.usage"), []byte("1000000000\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A folder that is not a container's is not read.
	if err := os.MkdirAll(filepath.Join(root, "not-a-container"), 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "samples.jsonl")
	// Each step waits until the tool has written a sample after it, however loaded the machine.
	sampled := "n=$(wc -l < " + out + "); until [ $(wc -l < " + out + ") -gt $n ]; do sleep 0.05; done"
	script := sampled + "; " + set(filepath.Join(root, node), "9000000000") + "; " + set(podA, "3500000000") + "; " +
		set(podB, "2000000000") + "; " + sampled + "; rm -r " + podB + "; " + sampled
	cmd := exec.Command("python3", "kind/pod-cpu.py", "-i", "0.2", "-o", out, "--no-names", "--root", root, "--", "sh", "-c", script)
	got, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("pod-cpu.py: %v\n%s", err, got)
	}
	t.Logf("\n%s", got)
	for _, want := range []string{
		`(?m)^\s+8\.0  node 0123456789ab$`,
		`(?m)^\s+3\.5  all pods$`,
		`(?m)^\s+2\.5  pod 11111111-2222-3333-4444-555555555555$`,
		`(?m)^\s+1\.0  pod 66666666-7777-8888-9999-000000000000$`,
	} {
		if !regexp.MustCompile(want).Match(got) {
			t.Errorf("report lacks %s", want)
		}
	}
	if regexp.MustCompile(`not-a-container`).Match(got) {
		t.Error("a folder that is not a container's was read")
	}
	// --report prints the same from the file.
	again, err := exec.Command("python3", "kind/pod-cpu.py", "--report", out).CombinedOutput()
	if err != nil || !regexp.MustCompile(`(?m)^\s+2\.5  pod 11111111`).Match(again) {
		t.Errorf("--report: %v\n%s", err, again)
	}
}
