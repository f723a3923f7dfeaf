package check

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"

	"github.com/mlops-series/mlops-series/internal/ready"
)

// Forward is a running port-forward from 127.0.0.1 to a pod.
type Forward struct {
	LocalPort uint16
	// Via describes the forward for messages.
	Via    string
	cancel context.CancelFunc
}

// URL is the local base URL.
func (f *Forward) URL() string { return fmt.Sprintf("http://127.0.0.1:%d", f.LocalPort) }

// Close stops the forward.
func (f *Forward) Close() { f.cancel() }

// ForwardService port-forwards a local port to servicePort of the Service: it picks a Ready pod
// behind the Service and resolves the port's targetPort (number or container port name).
func ForwardService(ctx context.Context, cs kubernetes.Interface, cfg *rest.Config, namespace, service string, servicePort int) (*Forward, error) {
	return ForwardServiceOn(ctx, cs, cfg, namespace, service, servicePort, 0)
}

// ForwardServiceOn is ForwardService on a chosen local port (0: any free port).
func ForwardServiceOn(ctx context.Context, cs kubernetes.Interface, cfg *rest.Config, namespace, service string, servicePort, localPort int) (*Forward, error) {
	svc, err := cs.CoreV1().Services(namespace).Get(ctx, service, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("get service %s/%s: %w", namespace, service, err)
	}
	var sp *corev1.ServicePort
	for i := range svc.Spec.Ports {
		if int(svc.Spec.Ports[i].Port) == servicePort {
			sp = &svc.Spec.Ports[i]
		}
	}
	if sp == nil {
		return nil, fmt.Errorf("service %s/%s has no port %d", namespace, service, servicePort)
	}
	if len(svc.Spec.Selector) == 0 {
		return nil, fmt.Errorf("service %s/%s has no selector to find a pod by", namespace, service)
	}
	pods, err := cs.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(svc.Spec.Selector).String()})
	if err != nil {
		return nil, fmt.Errorf("list pods of service %s/%s: %w", namespace, service, err)
	}
	var pod *corev1.Pod
	for i := range pods.Items {
		p := &pods.Items[i]
		if p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning && ready.PodReady(p) {
			pod = p
			break
		}
	}
	if pod == nil {
		return nil, fmt.Errorf("no Ready pod behind service %s/%s (%d pods)", namespace, service, len(pods.Items))
	}
	target, err := targetPort(pod, sp.TargetPort, servicePort)
	if err != nil {
		return nil, fmt.Errorf("service %s/%s port %d: %w", namespace, service, servicePort, err)
	}
	return ForwardPodOn(ctx, cs, cfg, namespace, pod.Name, target, localPort)
}

func targetPort(pod *corev1.Pod, tp intstr.IntOrString, servicePort int) (int, error) {
	switch {
	case tp.Type == intstr.Int && tp.IntVal != 0:
		return int(tp.IntVal), nil
	case tp.Type == intstr.String && tp.StrVal != "":
		for _, c := range pod.Spec.Containers {
			for _, p := range c.Ports {
				if p.Name == tp.StrVal {
					return int(p.ContainerPort), nil
				}
			}
		}
		return 0, fmt.Errorf("pod %s has no container port named %q", pod.Name, tp.StrVal)
	}
	return servicePort, nil
}

// ForwardPod port-forwards a free local port on 127.0.0.1 to the pod's port.
func ForwardPod(ctx context.Context, cs kubernetes.Interface, cfg *rest.Config, namespace, pod string, port int) (*Forward, error) {
	return ForwardPodOn(ctx, cs, cfg, namespace, pod, port, 0)
}

// ForwardPodOn is ForwardPod on a chosen local port (0: any free port). The forward runs until
// Close or the end of ctx, and logs its errors (a connection the pod refused, ...) through ctx's
// logger (klog.FromContext).
func ForwardPodOn(ctx context.Context, cs kubernetes.Interface, cfg *rest.Config, namespace, pod string, port, localPort int) (*Forward, error) {
	transport, upgrader, err := spdy.RoundTripperFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("port-forward %s/%s: %w", namespace, pod, err)
	}
	u := cs.CoreV1().RESTClient().Post().Resource("pods").Namespace(namespace).Name(pod).SubResource("portforward").URL()
	dialer := spdy.NewDialer(upgrader, &http.Client{Transport: transport}, http.MethodPost, u)
	fctx, cancel := context.WithCancel(ctx)
	readyCh := make(chan struct{})
	fw, err := portforward.NewOnAddressesWithContext(fctx, dialer, []string{"127.0.0.1"}, []string{strconv.Itoa(localPort) + ":" + strconv.Itoa(port)}, readyCh, io.Discard, io.Discard)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("port-forward %s/%s: %w", namespace, pod, err)
	}
	failed := make(chan error, 1)
	go func() { failed <- fw.ForwardPorts() }()
	f := &Forward{cancel: cancel, Via: fmt.Sprintf("port-forward pod/%s %d", pod, port)}
	select {
	case <-readyCh:
	case err := <-failed:
		f.Close()
		return nil, fmt.Errorf("port-forward %s/%s %d: %w", namespace, pod, port, err)
	case <-ctx.Done():
		f.Close()
		return nil, fmt.Errorf("port-forward %s/%s %d: %w", namespace, pod, port, ctx.Err())
	}
	ports, err := fw.GetPorts()
	if err != nil || len(ports) == 0 {
		f.Close()
		return nil, fmt.Errorf("port-forward %s/%s %d: no local port: %v", namespace, pod, port, err)
	}
	f.LocalPort = ports[0].Local
	return f, nil
}
