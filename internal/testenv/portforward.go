package testenv

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"
)

// ForwardPort forwards a free local port on 127.0.0.1 to port of a pod, through the apiserver
// and KWOK's kubelet API, as `kubectl port-forward` does. It returns the local address and a
// function that ends the forward. A connection only reaches something if a PortForward rule
// covers the pod and port; otherwise KWOK closes it.
func (e *Env) ForwardPort(ctx context.Context, namespace, pod string, port int32) (addr string, stop func(), err error) {
	transport, upgrader, err := spdy.RoundTripperFor(e.RESTConfig)
	if err != nil {
		return "", nil, fmt.Errorf("port-forward %s/%s: %w", namespace, pod, err)
	}
	url := e.client.CoreV1().RESTClient().Post().
		Resource("pods").Namespace(namespace).Name(pod).SubResource("portforward").URL()
	dialer := spdy.NewDialer(upgrader, &http.Client{Transport: transport}, http.MethodPost, url)

	stopCh, readyCh := make(chan struct{}), make(chan struct{})
	errOut := logWriter(func(s string) { e.logf("port-forward %s/%s:%d: %s", namespace, pod, port, s) })
	fw, err := portforward.NewOnAddresses(dialer, []string{"127.0.0.1"},
		[]string{"0:" + strconv.Itoa(int(port))}, stopCh, readyCh, nil, errOut)
	if err != nil {
		return "", nil, fmt.Errorf("port-forward %s/%s: %w", namespace, pod, err)
	}
	done := make(chan error, 1)
	go func() { done <- fw.ForwardPorts() }()
	var once sync.Once
	stop = func() {
		once.Do(func() { close(stopCh) })
		<-done
		done <- nil // later calls of stop return at once
	}
	select {
	case <-readyCh:
	case err := <-done:
		return "", nil, fmt.Errorf("port-forward %s/%s: %w", namespace, pod, err)
	case <-ctx.Done():
		close(stopCh)
		return "", nil, fmt.Errorf("port-forward %s/%s: %w", namespace, pod, ctx.Err())
	}
	ports, err := fw.GetPorts()
	if err != nil {
		stop()
		return "", nil, fmt.Errorf("port-forward %s/%s: %w", namespace, pod, err)
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(int(ports[0].Local))), stop, nil
}

// logWriter hands each write, trimmed, to a log function.
type logWriter func(string)

func (w logWriter) Write(b []byte) (int, error) {
	w(strings.TrimSpace(string(b)))
	return len(b), nil
}
