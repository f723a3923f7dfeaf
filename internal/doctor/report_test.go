package doctor

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/mlops-series/mlops-series/internal/i18n"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// A report with a finding of every kind a small laptop meets, printed in Korean and in English:
// messages, fixes and read lines in the reader's language, names and commands as they are.
func TestReportGolden(t *testing.T) {
	proc := t.TempDir()
	for name, v := range map[string]string{"sys/fs/inotify/max_user_watches": "8192", "sys/fs/inotify/max_user_instances": "128"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(proc, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(proc, name), []byte(v+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	small := Engine{Name: "docker", Version: "28.3.2 (Docker Desktop)", Arch: "aarch64", MemoryBytes: 3 * gib, CPUs: 1, CgroupVersion: "1"}
	in := Input{
		RequestedMemory: resource.MustParse("2Gi"), RequestedCPU: resource.MustParse("500m"),
		Images:     []string{"ghcr.io/kubeflow/kfp-api-server:2.5.0", "quay.io/example/unknown:1"},
		ImageArchs: map[string][]string{"ghcr.io/kubeflow/kfp-api-server": {"amd64"}},
		ProcRoot:   proc, Read: "docs/ko/chapter-5.md#overview", Context: "lab",
		Cluster: func(context.Context) (string, error) { return "", errors.New("dial tcp 10.0.0.1:6443: i/o timeout") },
	}
	var r Report
	r.Findings = append(r.Findings, engineFinding(small), memoryFinding(small, in), cpuFinding(small, in), cgroupFinding(small), inotifyFinding(in))
	r.Findings = append(r.Findings, archFindings(in, normArch(small.Arch))...)
	r.Findings = append(r.Findings, Finding{Name: "ports", Status: Fail, Message: i18n.T(i18n.PortsBusy, i18n.T(i18n.PortInUse, "127.0.0.1:5000", "tcp")),
		Fix: portFix("darwin", 5000)}, clusterFinding(context.Background(), Input{Cluster: in.Cluster, Context: in.Context, Timeout: time.Second}))
	for i := range r.Findings {
		if r.Findings[i].Status != OK {
			r.Findings[i].Section = in.Read
		}
	}
	for _, lang := range []i18n.Lang{i18n.Ko, i18n.En} {
		var b bytes.Buffer
		r.Print(&b, false, lang)
		path := filepath.Join("testdata", "report."+string(lang)+".golden")
		if *update {
			if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (go test ./internal/doctor -update writes it)", err)
		}
		if b.String() != string(want) {
			t.Errorf("%s differs (go test ./internal/doctor -update if intended):\n--- got\n%s\n--- want\n%s", path, b.String(), want)
		}
	}
}
