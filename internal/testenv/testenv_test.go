package testenv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
)

// TestControlPlane starts one environment and runs workloads on it.
func TestControlPlane(t *testing.T) {
	logsFile := filepath.Join(t.TempDir(), "app.log")
	if err := AppendCRILog(logsFile, "hello from a fake container", "second line"); err != nil {
		t.Fatal(err)
	}
	env := Require(t, Options{
		Logs: []PodLogs{{Namespace: "logs", Selector: map[string]string{"app": "talker"}, LogsFile: logsFile}},
	})
	c := env.Client()

	t.Run("kubeconfig", func(t *testing.T) {
		cfg, err := clientcmd.LoadFromFile(env.Kubeconfig)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.CurrentContext != "testenv" || env.Context != "testenv" {
			t.Fatalf("current context %q, Env.Context %q, want testenv", cfg.CurrentContext, env.Context)
		}
		rc, err := clientcmd.NewDefaultClientConfig(*cfg, &clientcmd.ConfigOverrides{}).ClientConfig()
		if err != nil {
			t.Fatal(err)
		}
		kc := kubernetes.NewForConfigOrDie(rc)
		v, err := kc.Discovery().ServerVersion()
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("server version %s", v.GitVersion)
	})

	t.Run("storage", func(t *testing.T) {
		sc, err := c.StorageV1().StorageClasses().Get(t.Context(), "standard", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if sc.Annotations["storageclass.kubernetes.io/is-default-class"] != "true" {
			t.Errorf("storageclass standard is not the default")
		}
		pvs, err := c.CoreV1().PersistentVolumes().List(t.Context(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(pvs.Items) != 20 {
			t.Errorf("%d PVs, want 20", len(pvs.Items))
		}
	})

	t.Run("deployment", func(t *testing.T) {
		t.Parallel()
		ns := createNamespace(t, c, "deploy")
		labels := map[string]string{"app": "web"}
		d := &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: "web"},
			Spec: appsv1.DeploymentSpec{
				Replicas: ptr.To[int32](3),
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: podTemplate(labels),
			},
		}
		start := time.Now()
		if _, err := c.AppsV1().Deployments(ns).Create(t.Context(), d, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "deployment web Available", func(ctx context.Context) (bool, error) {
			d, err := c.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			for _, cond := range d.Status.Conditions {
				if cond.Type == appsv1.DeploymentAvailable && cond.Status == corev1.ConditionTrue {
					return d.Status.ReadyReplicas == 3, nil
				}
			}
			return false, nil
		})
		t.Logf("deployment Available with 3 ready replicas in %s", time.Since(start).Round(time.Millisecond))
	})

	t.Run("job", func(t *testing.T) {
		t.Parallel()
		ns := createNamespace(t, c, "job")
		tmpl := podTemplate(nil)
		tmpl.Spec.RestartPolicy = corev1.RestartPolicyNever
		j := &batchv1.Job{
			ObjectMeta: metav1.ObjectMeta{Name: "once"},
			Spec:       batchv1.JobSpec{Template: tmpl, BackoffLimit: ptr.To[int32](0)},
		}
		start := time.Now()
		if _, err := c.BatchV1().Jobs(ns).Create(t.Context(), j, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "job once Complete", func(ctx context.Context) (bool, error) {
			j, err := c.BatchV1().Jobs(ns).Get(ctx, "once", metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			for _, cond := range j.Status.Conditions {
				switch {
				case cond.Type == batchv1.JobComplete && cond.Status == corev1.ConditionTrue:
					return true, nil
				case cond.Type == batchv1.JobFailed && cond.Status == corev1.ConditionTrue:
					return false, fmt.Errorf("job failed: %s", cond.Message)
				}
			}
			return false, nil
		})
		t.Logf("job Complete in %s", time.Since(start).Round(time.Millisecond))
	})

	t.Run("statefulset", func(t *testing.T) {
		t.Parallel()
		ns := createNamespace(t, c, "sts")
		labels := map[string]string{"app": "db"}
		sts := &appsv1.StatefulSet{
			ObjectMeta: metav1.ObjectMeta{Name: "db"},
			Spec: appsv1.StatefulSetSpec{
				Replicas:    ptr.To[int32](2),
				ServiceName: "db",
				Selector:    &metav1.LabelSelector{MatchLabels: labels},
				Template:    podTemplate(labels),
				VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{
					ObjectMeta: metav1.ObjectMeta{Name: "data"},
					Spec: corev1.PersistentVolumeClaimSpec{
						AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
						Resources: corev1.VolumeResourceRequirements{
							Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("8Gi")},
						},
					},
				}},
			},
		}
		sts.Spec.Template.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}
		start := time.Now()
		if _, err := c.AppsV1().StatefulSets(ns).Create(t.Context(), sts, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "statefulset db ready", func(ctx context.Context) (bool, error) {
			s, err := c.AppsV1().StatefulSets(ns).Get(ctx, "db", metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			return s.Status.ReadyReplicas == 2 && s.Status.AvailableReplicas == 2, nil
		})
		t.Logf("statefulset ready in %s", time.Since(start).Round(time.Millisecond))
		pvcs, err := c.CoreV1().PersistentVolumeClaims(ns).List(t.Context(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(pvcs.Items) != 2 {
			t.Fatalf("%d PVCs, want 2", len(pvcs.Items))
		}
		var bound []string
		for _, pvc := range pvcs.Items {
			if pvc.Status.Phase != corev1.ClaimBound {
				t.Errorf("pvc %s is %s, want Bound", pvc.Name, pvc.Status.Phase)
			}
			if sc := ptr.Deref(pvc.Spec.StorageClassName, ""); sc != "standard" {
				t.Errorf("pvc %s has storage class %q, want the default, standard", pvc.Name, sc)
			}
			bound = append(bound, pvc.Spec.VolumeName)
		}

		// Deleting the PVCs hands their PVs back to the pool.
		if err := c.AppsV1().StatefulSets(ns).Delete(t.Context(), "db", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := c.CoreV1().PersistentVolumeClaims(ns).DeleteCollection(t.Context(), metav1.DeleteOptions{}, metav1.ListOptions{}); err != nil {
			t.Fatal(err)
		}
		start = time.Now()
		waitFor(t, "PVs of deleted PVCs Available again", func(ctx context.Context) (bool, error) {
			for _, name := range bound {
				pv, err := c.CoreV1().PersistentVolumes().Get(ctx, name, metav1.GetOptions{})
				if err != nil {
					return false, err
				}
				if pv.Status.Phase != corev1.VolumeAvailable {
					return false, nil
				}
			}
			return true, nil
		})
		t.Logf("PVs %v Available again in %s", bound, time.Since(start).Round(time.Millisecond))
	})

	t.Run("namespace deletion", func(t *testing.T) {
		t.Parallel()
		ns := createNamespace(t, c, "doomed")
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm"}, Data: map[string]string{"a": "b"}}
		if _, err := c.CoreV1().ConfigMaps(ns).Create(t.Context(), cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		labels := map[string]string{"app": "doomed"}
		d := &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: "doomed"},
			Spec: appsv1.DeploymentSpec{
				Replicas: ptr.To[int32](1),
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: podTemplate(labels),
			},
		}
		if _, err := c.AppsV1().Deployments(ns).Create(t.Context(), d, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "a running pod", func(ctx context.Context) (bool, error) {
			pods, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				return false, err
			}
			return len(pods.Items) == 1 && pods.Items[0].Status.Phase == corev1.PodRunning, nil
		})
		start := time.Now()
		if err := c.CoreV1().Namespaces().Delete(t.Context(), ns, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "namespace "+ns+" gone", func(ctx context.Context) (bool, error) {
			_, err := c.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return true, nil
			}
			return false, err
		})
		t.Logf("namespace deleted in %s", time.Since(start).Round(time.Millisecond))
	})

	t.Run("port-forward", func(t *testing.T) {
		t.Parallel()
		ns := createNamespace(t, c, "pf")
		// A local HTTP server stands in for the container's process.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "hello from %s", r.URL.Path)
		}), ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		t.Cleanup(func() { _ = srv.Close() })

		labels := map[string]string{"app": "api"}
		d := &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: "api"},
			Spec: appsv1.DeploymentSpec{
				Replicas: ptr.To[int32](1),
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: podTemplate(labels),
			},
		}
		if _, err := c.AppsV1().Deployments(ns).Create(t.Context(), d, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		pod := waitForReadyPod(t, c, ns, labels)

		// Added after start, and after the pod exists.
		err = env.AddPortForward(t.Context(), PortForward{
			Namespace:  ns,
			Selector:   labels,
			Ports:      []int32{8080},
			TargetPort: int32(ln.Addr().(*net.TCPAddr).Port),
		})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		var body string
		waitFor(t, "GET through port-forward", func(ctx context.Context) (bool, error) {
			b, err := getThroughForward(ctx, env, ns, pod, 8080, "/ping")
			if err != nil {
				t.Logf("not yet: %v", err)
				return false, nil
			}
			body = b
			return true, nil
		})
		if body != "hello from /ping" {
			t.Fatalf("body %q, want %q", body, "hello from /ping")
		}
		t.Logf("GET through port-forward in %s: %q", time.Since(start).Round(time.Millisecond), body)

		// A pod created later matches the rule too: the rule follows the label selector.
		if _, err := c.AppsV1().Deployments(ns).Patch(t.Context(), "api", "application/merge-patch+json",
			[]byte(`{"spec":{"replicas":2}}`), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		var second string
		waitFor(t, "second pod ready", func(ctx context.Context) (bool, error) {
			pods, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				return false, err
			}
			for _, p := range pods.Items {
				if p.Name != pod && isReady(&p) {
					second = p.Name
					return true, nil
				}
			}
			return false, nil
		})
		waitFor(t, "GET through port-forward to the second pod", func(ctx context.Context) (bool, error) {
			b, err := getThroughForward(ctx, env, ns, second, 8080, "/two")
			if err != nil {
				t.Logf("not yet: %v", err)
				return false, nil
			}
			body = b
			return true, nil
		})
		if body != "hello from /two" {
			t.Fatalf("body %q, want %q", body, "hello from /two")
		}

		// A port no rule covers is refused.
		if _, err := getThroughForward(t.Context(), env, ns, pod, 9999, "/"); err == nil {
			t.Errorf("GET through port-forward to uncovered port 9999 succeeded")
		}
	})

	t.Run("logs", func(t *testing.T) {
		t.Parallel()
		ns := createNamespace(t, c, "logs")
		labels := map[string]string{"app": "talker"}
		d := &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: "talker"},
			Spec: appsv1.DeploymentSpec{
				Replicas: ptr.To[int32](1),
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: podTemplate(labels),
			},
		}
		if _, err := c.AppsV1().Deployments(ns).Create(t.Context(), d, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		pod := waitForReadyPod(t, c, ns, labels)
		var logs string
		waitFor(t, "pod logs", func(ctx context.Context) (bool, error) {
			b, err := c.CoreV1().Pods(ns).GetLogs(pod, &corev1.PodLogOptions{Container: "app"}).DoRaw(ctx)
			if err != nil {
				t.Logf("not yet: %v", err)
				return false, nil
			}
			logs = string(b)
			return true, nil
		})
		if logs != "hello from a fake container\nsecond line\n" {
			t.Fatalf("logs %q, want the contents of %s", logs, logsFile)
		}
	})
}

// TestTwoEnvs runs two environments side by side.
func TestTwoEnvs(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	t.Parallel()
	var out syncBuffer
	a := Require(t, Options{Nodes: 2, PersistentVolumes: -1, Log: &out})
	b := Require(t, Options{PersistentVolumes: 1})
	if a.Server == b.Server {
		t.Fatalf("both envs on %s", a.Server)
	}
	nodes, err := a.Client().CoreV1().Nodes().List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes.Items) != 2 {
		t.Errorf("env a: %d nodes, want 2", len(nodes.Items))
	}
	for _, n := range nodes.Items {
		if len(n.Spec.Taints) != 0 {
			t.Errorf("node %s has taints %v", n.Name, n.Spec.Taints)
		}
	}
	pvs, err := b.Client().CoreV1().PersistentVolumes().List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(pvs.Items) != 1 {
		t.Errorf("env b: %d PVs, want 1", len(pvs.Items))
	}
	if err := a.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := a.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if _, err := os.Stat(a.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("dir %s still there after Stop: %v", a.Dir, err)
	}
	if _, err := b.Client().Discovery().ServerVersion(); err != nil {
		t.Errorf("env b after env a stopped: %v", err)
	}
	for _, want := range []string{"[etcd] ", "[kube-apiserver] ", "[kwok] ", "[testenv] "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("Options.Log got no line starting %q", want)
		}
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestMissingBinaries(t *testing.T) {
	_, err := Start(t.Context(), Options{BinDir: t.TempDir()})
	var missing *MissingBinariesError
	if !errors.As(err, &missing) {
		t.Fatalf("Start with an empty BinDir: %v, want a MissingBinariesError", err)
	}
	if len(missing.Missing) != 5 || !strings.Contains(err.Error(), "hack/build-testenv.sh") {
		t.Errorf("error %q", err)
	}
}

func podTemplate(l map[string]string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: l},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name:  "app",
			Image: "example.invalid/app:1",
			Ports: []corev1.ContainerPort{{ContainerPort: 8080}},
		}}},
	}
}

func createNamespace(t *testing.T, c kubernetes.Interface, prefix string) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: prefix}}
	if _, err := c.CoreV1().Namespaces().Create(t.Context(), ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Pods need the namespace's default ServiceAccount, made by kube-controller-manager.
	waitFor(t, "default ServiceAccount in "+prefix, func(ctx context.Context) (bool, error) {
		_, err := c.CoreV1().ServiceAccounts(prefix).Get(ctx, "default", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return err == nil, err
	})
	return prefix
}

func waitForReadyPod(t *testing.T, c kubernetes.Interface, ns string, l map[string]string) string {
	t.Helper()
	var name string
	waitFor(t, "a ready pod in "+ns, func(ctx context.Context) (bool, error) {
		pods, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(l).String()})
		if err != nil {
			return false, err
		}
		for _, p := range pods.Items {
			if isReady(&p) {
				name = p.Name
				return true, nil
			}
		}
		return false, nil
	})
	return name
}

func isReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// getThroughForward opens a port-forward to the pod and GETs path through it.
func getThroughForward(ctx context.Context, env *Env, ns, pod string, port int32, path string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	addr, stop, err := env.ForwardPort(ctx, ns, pod, port)
	if err != nil {
		return "", err
	}
	defer stop()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return string(b), nil
}

// waitFor polls cond for up to 30 seconds and fails t if it does not hold by then.
func waitFor(t *testing.T, what string, cond func(context.Context) (bool, error)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := poll(ctx, 100*time.Millisecond, cond); err != nil {
		t.Fatalf("wait for %s: %v", what, err)
	}
}
