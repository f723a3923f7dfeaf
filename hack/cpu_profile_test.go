package hack

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
)

// hack/cpu-profile.py charges a process's CPU time to its label (an interpreter's label names
// what it runs), the CPU time of children too short-lived to be sampled to their parent's
// "(children)" line, and returns the command's exit code.
func TestCPUProfile(t *testing.T) {
	// One child runs long enough to be sampled; twenty end between samples. Work, not time, sets
	// how much CPU each burns, so a loaded machine changes the wall time, not the figures.
	script := `python3 -c 'sum(range(60_000_000))'
for i in $(seq 20); do python3 -c 'sum(range(1_000_000))'; done
exit 3`
	cmd := exec.Command("python3", "cpu-profile.py", "-i", "0.2", "--", "bash", "-c", script)
	out, err := cmd.Output()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Fatalf("cpu-profile.py returned %v, want the command's exit code 3:\n%s", err, out)
	}
	t.Logf("\n%s", out)
	cpu := func(label string) float64 {
		m := regexp.MustCompile(`(?m)^\s*([0-9.]+)\s+[0-9.]+%\s+` + regexp.QuoteMeta(label) + `$`).FindSubmatch(out)
		if m == nil {
			return 0
		}
		v, _ := strconv.ParseFloat(string(m[1]), 64)
		return v
	}
	if got := cpu("python3 -c"); got < 0.3 {
		t.Errorf("the sampled child: %.1f CPU-s under python3 -c, want at least 0.3", got)
	}
	if got := cpu("bash -c (children)") + cpu("python3 -c"); got < 0.5 {
		t.Errorf("the children that ended between samples are not charged to bash -c (children): %.1f CPU-s in all", got)
	}
	if !regexp.MustCompile(`machine busy \d+ CPU-s`).Match(out) {
		t.Errorf("no machine-wide figure:\n%s", out)
	}
}

// --group charges a process to the group its own command line names, or else the one its nearest
// ancestor's names: here a python3 whose code names group one, one under a shell naming two, and
// one under a shell naming three that stays a zombie for a second after it ended (its command
// line then reads empty, as a loaded machine shows when the parent is slow to reap it: CI charged
// such a child to its grandparent's group once).
func TestCPUProfileGroups(t *testing.T) {
	zombie := filepath.Join(t.TempDir(), "zombie.py")
	// The group's name is joined at run time so that this parent's own command line names none.
	code := `import os, subprocess, time
p = subprocess.Popen(["bash", "-c", "python3 -c 'sum(range(60_000_000))'; true  # grp-" + "three"])
os.waitid(os.P_PID, p.pid, os.WEXITED | os.WNOWAIT)
time.sleep(1)
p.wait()
`
	if err := os.WriteFile(zombie, []byte(code), 0o644); err != nil {
		t.Fatal(err)
	}
	script := `python3 -c 'sum(range(60_000_000))  # grp-one'
bash -c "python3 -c 'sum(range(60_000_000))'; true  # grp-two"
python3 ` + zombie
	out, err := exec.Command("python3", "cpu-profile.py", "-i", "0.2", "-g", `grp-(\w+)`, "--", "bash", "-c", script).Output()
	if err != nil {
		t.Fatalf("cpu-profile.py: %v\n%s", err, out)
	}
	t.Logf("\n%s", out)
	for _, g := range []string{"one", "two", "three"} {
		m := regexp.MustCompile(`(?m)^\s*([0-9.]+)\s+[0-9.]+%\s+` + g + `$`).FindSubmatch(out)
		if m == nil {
			t.Errorf("no group %s in the report", g)
			continue
		}
		if v, _ := strconv.ParseFloat(string(m[1]), 64); v < 0.3 {
			t.Errorf("group %s: %.1f CPU-s, want at least 0.3", g, v)
		}
	}
}
