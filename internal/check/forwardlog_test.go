package check

import (
	"bytes"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/mlops-series/mlops-series/internal/ready"
	"github.com/mlops-series/mlops-series/internal/series"
	"github.com/mlops-series/mlops-series/internal/testenv"
	"github.com/mlops-series/mlops-series/internal/ui"
)

// A check whose port-forward reaches a pod port nothing listens on fails; what client-go logs
// about it (`"An error occurred forwarding" ... connection refused`, raw on stderr before) is
// kept in the check's result, shown with -v, and never written to the process's stderr.
func TestPortForwardLogGoesToTheFailingCheck(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	const ns = "fwlog"
	env := testenv.Require(t, testenv.Options{PortForwards: []testenv.PortForward{{Namespace: ns, TargetPort: int32(closedPort)}}})
	cs := env.Client()
	ctx := t.Context()
	labels := map[string]string{"app.kubernetes.io/instance": "web"}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-0", Namespace: ns, Labels: labels},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "web:1",
			Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}}}}}
	if _, err := cs.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec: corev1.ServiceSpec{Selector: labels, Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromString("http")}}}}
	if _, err := cs.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(200 * time.Millisecond) {
		p, err := cs.CoreV1().Pods(ns).Get(ctx, "web-0", metav1.GetOptions{})
		if err == nil && ready.PodReady(p) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pod web-0 not Ready after a minute (%v)", err)
		}
	}
	ch := &series.Chapter{Number: 99, Slug: "fwlog",
		Components: []series.Component{{Name: "web", Namespace: ns}},
		Checks: []series.Check{{Name: "web-health", Type: TypeHTTP, Component: "web", Port: 80, Path: "/health",
			Timeout: series.Duration{Duration: 20 * time.Second}}}}

	// The process's stderr, where klog wrote before.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := os.Stderr
	os.Stderr = w
	restored := false
	restore := func() {
		if !restored {
			os.Stderr, restored = stderr, true
			_ = w.Close()
		}
	}
	t.Cleanup(restore)
	leaked := make(chan []byte, 1)
	go func() { b, _ := io.ReadAll(r); leaked <- b }()

	var errw bytes.Buffer
	u := &ui.UI{Out: io.Discard, Err: &errw, Level: ui.Normal}
	runner := &Runner{CS: cs, REST: env.RESTConfig, UI: u}
	res := runner.Run(ctx, ch)[0]
	if res.Passed {
		t.Fatalf("the check passed through a port-forward to a closed port: %+v", res)
	}
	if !strings.Contains(strings.Join(res.Log, "\n"), "An error occurred forwarding") {
		t.Errorf("the failed check kept no port-forward error; log %q, message %q", res.Log, res.Message)
	}
	if errw.Len() > 0 {
		t.Errorf("without -v the library log was printed:\n%s", errw.String())
	}

	u.Level = ui.Verbose
	res = runner.Run(ctx, ch)[0]
	if res.Passed || !strings.Contains(errw.String(), "client-go: An error occurred forwarding") {
		t.Errorf("with -v the port-forward error was not shown; output:\n%s", errw.String())
	}

	time.Sleep(200 * time.Millisecond) // port-forward goroutines that log late
	restore()
	if b := <-leaked; len(b) > 0 {
		t.Errorf("written to the process's stderr:\n%s", b)
	}
	t.Logf("failed check: %s; log: %q", res.Message, res.Log)
}
